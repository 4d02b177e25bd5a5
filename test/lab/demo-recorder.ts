// The demo's last act (issue 5): record a few requests inside the XDP program and show them with
// tshark. The demo drives LbDatapath directly (no xlbd), so the recorder is served here the way xlbd
// serves it — Recorder on the datapath, recorderHandlers on a gRPC unix socket — and the real
// `xlb record` CLI streams the recording into `tshark -r -`.
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadXlbProto } from '../../api/generated/load.js';
import { repoRoot } from '../../lb/paths.js';
import { recorderHandlers } from '../../recorder/grpc.js';
import { Recorder } from '../../recorder/recorder.js';
import type { LbNode } from '../e2e/lb-node.js';
import { LAB_SCRIPTS, LabProcess, type Lab } from './lab.js';

export interface RecordingDemoResult {
  ok: boolean;
  /** tshark's lines, one per recorded packet */
  lines: string[];
  command: string;
}

/** `xlb` as the demo runs: the compiled CLI next to a compiled demo, else the TypeScript source. */
function xlbArgv(): string[] {
  const compiled = fileURLToPath(import.meta.url).includes(`${join(repoRoot, 'dist')}/`);
  return compiled
    ? [process.execPath, join(repoRoot, 'dist', 'api', 'cli', 'main.js')]
    : [process.execPath, '--import', LAB_SCRIPTS.tsRegister, join(repoRoot, 'api', 'cli', 'main.ts')];
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Records `requests` HTTP requests from client c1 to `vip` (ingress and egress) for `seconds` and
 * returns what tshark printed. The recording stops by its --duration; everything is cleaned up.
 */
export async function recordRequests(lab: Lab, lb: LbNode, vip: string, requests: number, seconds = 3): Promise<RecordingDemoResult> {
  const c1 = lab.node('c1');
  const dir = mkdtempSync(join(tmpdir(), 'xlb-demo-rec-'));
  const socket = `unix://${join(dir, 'recorder.sock')}`;
  const recorder = Recorder.forDatapath(lb.dp);
  const server = new grpc.Server();
  let pipeline: LabProcess | undefined;
  try {
    server.addService(loadXlbProto().xlb.v1.Recorder.service, recorderHandlers(recorder));
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(socket, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())),
    );
    const filter = `${c1.ipv4} any -> ${vip} 80 tcp`;
    const args = ['--server', socket, 'record', filter, '--duration', `${seconds}s`, '--format', 'pcapng', '-w', '-', '-q'];
    // One line per packet: the observation point (pcapng interface), the IP addresses of every
    // layer (egress frames show the tunnel's outer ones first) and tshark's summary.
    const tshark = ['tshark', '-r', '-', '-o', 'tcp.analyze_sequence_numbers:FALSE', '-T', 'fields', '-E', 'separator=/s',
      '-e', 'frame.interface_name', '-e', 'ip.src', '-e', 'ip.dst', '-e', '_ws.col.Info'];
    const command = `xlb record "${filter}" --duration ${seconds}s --format pcapng -w - | ${tshark.join(' ')}`;
    pipeline = new LabProcess('xlb record | tshark', ['sh', '-c', `${[...xlbArgv(), ...args].map(quote).join(' ')} | ${tshark.map(quote).join(' ')} 2>/dev/null`]);
    const deadline = Date.now() + 30_000;
    while (recorder.tables.ruleLimit === 0) {
      if (!pipeline.running || Date.now() > deadline) throw new Error(`xlb record did not start\n${pipeline.tail()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    for (let i = 0; i < requests; i++) await lab.httpGet('c1', lab.url(vip));
    const st = await pipeline.exited;
    const lines = pipeline.stdout.split('\n').filter((l) => l.trim());
    // A request is at least SYN, ACK, GET, FIN in, and each goes out again encapsulated.
    return { ok: st.code === 0 && lines.length >= requests * 8, lines, command };
  } finally {
    pipeline?.killSync();
    server.forceShutdown();
    await recorder.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
