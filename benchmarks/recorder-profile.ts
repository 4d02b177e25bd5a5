// Where a whole-frame recording's time goes: xlbd (and optionally `xlb record`) run with
// --cpu-prof while trafgen sends a fixed stream to a VIP and the CLI records it to a file (--tunables
// VALUE runs xlbd with GLIBC_TUNABLES=VALUE, for malloc experiments). Prints
// the CPU time of both processes, the recording's figures and the top self-time functions of each
// profile. A tool for the recorder's performance work (docs/recorder.md), not a benchmark group.
//
//   node --import ./test/lab/ts-register.mjs benchmarks/recorder-profile.ts --pps 50000 --seconds 4 [--snaplen 0] [--out /tmp/p]
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BpfObject } from '../bpf/libbpf-ts/index.js';
import { bpfObjectPath } from '../bpf/objects.js';
import { repoRoot } from '../test/lab/index.js';
import { Trafgen } from './lib/trafgen.js';
import { VethPair } from './lib/veth-pair.js';
import { XlbdProcess } from './lib/xlbd.js';

const VIP = '10.100.0.10';
const PORT = 10000;
const CLI = join(repoRoot, 'dist', 'api', 'cli', 'main.js');
const HZ = 100; // USER_HZ of /proc/<pid>/stat

export function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime + stime (fields 14, 15)
}

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export function topSelf(profilePath: string, n = 25): { total: number; rows: [string, number][] } {
  const p = JSON.parse(readFileSync(profilePath, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const node = byId.get(id)!;
    const cf = node.callFrame;
    const url = cf.url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/');
    const key = `${cf.functionName || '(anonymous)'} ${url ? `${url}:${cf.lineNumber + 1}` : ''}`;
    const dt = p.timeDeltas[i] ?? 0;
    if (cf.functionName !== '(idle)') total += dt;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  const rows = [...self.entries()].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, n);
  return { total, rows };
}

function newest(dir: string): string | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  files.sort((a, b) => statSync(join(dir, b)).mtimeMs - statSync(join(dir, a)).mtimeMs);
  return files[0] ? join(dir, files[0]) : undefined;
}

async function main() {
  const { values } = parseArgs({
    options: {
      pps: { type: 'string', default: '50000' },
      seconds: { type: 'string', default: '4' },
      snaplen: { type: 'string', default: '0' },
      frame: { type: 'string', default: '1024' },
      out: { type: 'string', default: '/tmp/xlb-recprof' },
      write: { type: 'string' },
      'cli-prof': { type: 'boolean', default: false },
      perf: { type: 'boolean', default: false },
      tunables: { type: 'string' },
    },
  });
  const pps = Number(values.pps);
  const seconds = Number(values.seconds);
  const dir = values.out!;
  mkdirSync(join(dir, 'xlbd'), { recursive: true });
  mkdirSync(join(dir, 'cli'), { recursive: true });
  const pair = VethPair.create('xbprof');
  const sinkObj = BpfObject.open(bpfObjectPath('bench_xdp_count_drop'));
  let daemon: XlbdProcess | undefined;
  try {
    const addrs = pair.addAddresses();
    pair.pinGatewayNeighbour(addrs.gen);
    sinkObj.load();
    pair.attach('gen', sinkObj.program('bench_xdp_count_drop'));
    daemon = new XlbdProcess(pair, addrs.gen, { maglev: { table_size: 4093, seed: 7 }, maps: { services: 64, backends: 1024, flows: 65536 } });
    // The profiler starts once the daemon is up (SIGUSR2, lib/cpu-prof-preload.mjs): its sampling
    // signals would interrupt the verifier while the daemon loads its program.
    if (values.tunables) process.env.GLIBC_TUNABLES = values.tunables;
    daemon.nodeArgs = ['--import', join(repoRoot, 'benchmarks', 'lib', 'cpu-prof-preload.mjs')];
    process.env.XLB_PROF_DIR = join(dir, 'xlbd');
    await daemon.start();
    process.kill(daemon.pid!, 'SIGUSR2');
    await daemon.client.createService({ vip: VIP, port: PORT, protocol: 'PROTOCOL_UDP', backends: [{ address: '10.3.0.2', weight: 1 }] });
    const out = values.write ?? join(dir, 'cap.pcap');
    const cliArgs = [...(values['cli-prof'] ? ['--cpu-prof', '--cpu-prof-dir', join(dir, 'cli')] : []), CLI, '--server', `unix://${daemon.socket}`,
      'record', `any -> ${VIP} ${PORT} udp`, '--point', 'ingress', '--snaplen', values.snaplen === '0' ? '4096' : values.snaplen!, '-w', out];
    const cli = spawn(process.execPath, cliArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    cli.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const cliExit = new Promise<void>((r) => cli.on('exit', () => r()));
    for (let i = 0; !/recording \d+ to/.test(err); i++) {
      if (i > 200) throw new Error(`xlb record did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const perfs = values.perf
      ? [['xlbd', daemon.pid!], ['cli', cli.pid!]].map(([who, pid]) =>
          spawn('perf', ['record', '-q', '-e', 'cpu-clock', '-F', '997', '-g', '-p', String(pid), '-o', join(dir, `${who}.perf.data`)], { stdio: 'ignore' }),
        )
      : [];
    const d0 = cpuTicks(daemon.pid!);
    const c0 = cpuTicks(cli.pid!);
    const t0 = performance.now();
    const before = pair.counters('gen').txPackets;
    const gen = Trafgen.start(pair.genNs, pair.genIf, { kind: 'udp', dstMac: pair.lbMac, srcMac: '02:00:00:00:00:09', vip: VIP, firstPort: PORT, ports: 1, frameBytes: Number(values.frame) },
      { ratePps: pps, count: Math.round(pps * seconds) });
    await gen.exited;
    await gen.stop();
    const sent = pair.counters('gen').txPackets - before;
    await new Promise((r) => setTimeout(r, 500));
    const wall = (performance.now() - t0) / 1000;
    const d1 = cpuTicks(daemon.pid!);
    const c1 = cpuTicks(cli.pid!);
    process.kill(daemon.pid!, 'SIGUSR2');
    for (const p of perfs) p.kill('SIGINT');
    await Promise.all(perfs.map((p) => new Promise((r) => p.on('exit', r))));
    cli.kill('SIGINT');
    await cliExit;
    await new Promise((r) => setTimeout(r, 500)); // the profile is written
    await daemon.stop();
    console.log(daemon.output.split('\n').filter((l) => /DEBUG|ended/.test(l)).join('\n'));
    console.log(`sent ${sent} frames (${(sent / seconds / 1000).toFixed(1)} kpps requested ${pps}), wall ${wall.toFixed(2)} s`);
    const mb = Number([...err.matchAll(/\((\d+) bytes\)/g)].at(-1)?.[1] ?? 0) / 1e6;
    console.log(`CPU: xlbd ${(((d1 - d0) / HZ / wall) * 100).toFixed(1)} % (${(((d1 - d0) * 10) / mb).toFixed(2)} ms/MB), xlb record ${(((c1 - c0) / HZ / wall) * 100).toFixed(1)} % (${(((c1 - c0) * 10) / mb).toFixed(2)} ms/MB)`);
    console.log(`xlb record: ${err.trim().split('\n').slice(-2).join(' | ')}`);
    for (const who of ['xlbd', 'cli']) {
      const f = newest(join(dir, who));
      if (!f) continue;
      const { total, rows } = topSelf(f);
      console.log(`\n${who}: ${f}, busy ${(total / 1000).toFixed(0)} ms`);
      for (const [k, v] of rows) console.log(`  ${((v / total) * 100).toFixed(1).padStart(5)} %  ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}`);
    }
  } finally {
    await daemon?.dispose();
    pair.destroy();
    sinkObj.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
