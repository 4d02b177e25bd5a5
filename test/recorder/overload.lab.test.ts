// Overload: a datapath loaded with the smallest ring buffer (one page) and a client
// flooding the VIP with trafgen at several hundred thousand packets per second. The recorder is
// served by recorder/grpc.ts on a test gRPC server (xlbd has no knob for the ring size) and driven
// by the real `xlb record` CLI. Every packet the datapath counted for the service matched the
// recording; each either reached the file or was counted lost — captured + lost = matched — and
// the CLI says so.
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadXlbProto } from '../../api/generated/load.js';
import { recorderHandlers } from '../../api/server/recorder.js';
import { Recorder } from '../../recorder/recorder.js';
import { Lab } from '../lab/lab.js';
import { backendsOf, configureService, startLbNode, type LbNode } from '../e2e/lb-node.js';
import { spawnXlb } from './cli.js';
import { tsharkRead } from './tshark.js';

const VIP4 = '10.100.0.10';
const PORT = 9000;
const FLOOD = 100_000;

describe('recorder overload: 4 KiB ring, trafgen flood', () => {
  let lab: Lab;
  let lb: LbNode;
  let recorder: Recorder;
  let server: grpc.Server;
  let scratch: string;
  let target: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), `xlb-rec-overload-${process.pid}-`));
    lab = await Lab.create({ backends: 1, clients: 1, lbNodes: 1, ipv6: false, http: false, vips4: [VIP4] });
    lb = await startLbNode(lab, 'lb1');
    configureService([lb], { id: 1, vip: VIP4, port: PORT, protocol: 'udp' }, backendsOf(1, [{ node: lab.node('b1') }], 4));
    recorder = Recorder.forDatapath(lb.dp, { ringBytes: 4096 });
    server = new grpc.Server();
    server.addService(loadXlbProto().xlb.v1.Recorder.service, recorderHandlers(recorder));
    target = `unix://${join(scratch, 'rec.sock')}`;
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())),
    );
  }, 120_000);

  afterAll(async () => {
    try {
      server?.forceShutdown();
      await recorder?.close();
      lb?.stop();
      await lab?.destroy();
    } finally {
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('captured + lost = matched = what the datapath counted, and the CLI reports the loss', async () => {
    expect(recorder.ringBytes).toBe(4096);
    const c1 = lab.node('c1');
    const conf = join(scratch, 'flood.cfg');
    writeFileSync(
      conf,
      `{ eth(da=${lab.mac('r', c1.routerIfname)}, sa=${lab.mac('c1')}), ipv4(sa=${c1.ipv4}, da=${VIP4}, ttl=64, df), ` +
        `udp(sp=40000, dp=${PORT}), fill(0x41, 1000) }\n`,
    );
    const file = join(scratch, 'flood.pcap');
    const before = lb.dp.readCounters().services.get(1)?.packets ?? 0;
    const cli = spawnXlb(target, ['record', `${c1.ipv4} any -> ${VIP4} ${PORT} udp`, '--point', 'ingress', '--snaplen', '64', '-w', file]);
    try {
      await cli.waitForOutput(/^recording \d+ to /, 30_000);
      const tg = await lab.exec('c1', ['trafgen', '--dev', 'eth0', '--conf', conf, '--num', String(FLOOD), '--cpus', '1'], { timeoutMs: 60_000 });
      expect(tg.code).toBe(0);
      await new Promise((r) => setTimeout(r, 500));
      cli.child.kill('SIGINT');
      expect((await cli.exited).code).toBe(0);
    } finally {
      cli.killSync();
    }
    const counted = (lb.dp.readCounters().services.get(1)?.packets ?? 0) - before;
    const m = /(\d+) matched, (\d+) captured \((\d+) bytes\), (\d+) lost — stopped/.exec(cli.stderr);
    expect(m, cli.stderr).not.toBeNull();
    const [matched, captured, bytes, lost] = m!.slice(1).map(Number) as [number, number, number, number];
    // Most of the flood reached the LB (the router may drop some under this rate).
    expect(counted).toBeGreaterThan(FLOOD / 2);
    expect(matched).toBe(counted);
    expect(captured + lost).toBe(matched);
    expect(lost).toBeGreaterThan(0);
    expect(captured).toBeGreaterThan(0);
    expect(cli.stderr).toContain(`xlb: warning: ${lost} of ${matched} matched packets were lost (ring buffer full or output too slow)`);
    // The file holds exactly the captured packets, cut at the snaplen.
    const got = tsharkRead(file);
    expect(got.length).toBe(captured);
    expect(bytes).toBe(captured * 64);
    expect(got.every((p) => p.capLen === 64 && p.len === 1042 && p.src[0] === c1.ipv4)).toBe(true);
    expect(recorder.tables.indexEntries()).toEqual([]);
  });
});
