// The write path of the control plane, measured alone and quickly (a tool for issue #10's work,
// not a benchmark group): the real xlbd on a veth pair with N services × B backends applied, then
//   - floors: a tiny round trip (GetService of one service), GetStatus, fdatasync of an append;
//   - backend changes (UpdateBackend drain/restore): visible (a worker thread mapping the live
//     table sees the last slot that moves change) and acknowledged (the call's round trip);
//   - CreateService one at a time with N present: services/s and per-call times.
// With --cpu-prof DIR, xlbd is restarted under `node --cpu-prof` after the Apply (a restart adopts
// the pinned datapath: no program load, which the profiler's signals would interrupt with EAGAIN)
// and the top self-time functions of the measured part are printed. --strace FILE runs xlbd under
// `strace -f -T -e bpf,fdatasync,fsync,...` for the measured part.
//
//   node dist/benchmarks/control-profile.js [--services 1000] [--changes 100] [--creates 300] [--cpu-prof DIR] [--strace FILE]
import { spawn } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdirSync, openSync, readdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { serviceSpec } from './lib/service-spec.js';
import type { Service__Output } from '../api/generated/xlb/v1/Service.js';
import { buildMaglevTable } from '../lb/maglev/index.js';
import { repoRoot } from '../test/lab/index.js';
import { cpuTicks, topSelf } from './recorder-profile.js';
import { SlotWatcher, wallNow } from './lib/slot-watch.js';
import { percentile, summarize } from './lib/stats.js';
import { VethPair } from './lib/veth-pair.js';
import { XlbdProcess } from './lib/xlbd.js';

const SEED = 7;

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const f = (v: number) => v.toFixed(2);
function line(name: string, xs: number[]): string {
  const s = summarize(xs);
  return `${name.padEnd(34)} n ${String(s.n).padStart(4)}  p50 ${f(s.median)}  p90 ${f(s.p90)}  p99 ${f(percentile([...xs].sort((a, b) => a - b), 99))}  max ${f(s.max)} ms`;
}

function maglevInput(backends: readonly { address: string; datapathId: number; weight: number; active: boolean }[]) {
  return backends.map((b) => ({ key: b.address, id: b.datapathId, weight: b.active ? b.weight : 0 }));
}

async function main() {
  const { values: a } = parseArgs({
    options: {
      services: { type: 'string', default: '1000' },
      backends: { type: 'string', default: '16' },
      changes: { type: 'string', default: '100' },
      creates: { type: 'string', default: '300' },
      'cpu-prof': { type: 'string' },
      strace: { type: 'string' },
    },
  });
  const N = Number(a.services);
  const B = Number(a.backends);
  const pair = VethPair.create();
  let d: XlbdProcess | undefined;
  let watcher: SlotWatcher | undefined;
  try {
    const addrs = pair.addAddresses();
    const biggest = N + Number(a.creates);
    d = new XlbdProcess(pair, addrs.gen, {
      maglev: { seed: SEED },
      maps: { services: 2 ** Math.ceil(Math.log2(biggest + 64)), backends: 2 ** Math.ceil(Math.log2(biggest * (B + 1) + 64)), flows: 65536 },
      limits: { max_backends_per_service: Math.max(B + 1, 16) },
      metrics: { cache_ms: 0 },
    });
    await d.start();
    const base = Array.from({ length: N }, (_, i) => serviceSpec(i, B));
    console.log(`apply ${N} × ${B}: ${f(await time(() => d!.client.apply(base)))} ms`);
    let strace: ReturnType<typeof spawn> | undefined;
    if (a['cpu-prof'] || a.strace) {
      await d.stop();
      if (a['cpu-prof']) {
        mkdirSync(a['cpu-prof'], { recursive: true });
        d.nodeArgs = ['--cpu-prof', '--cpu-prof-dir', a['cpu-prof'], '--cpu-prof-interval', '100'];
      }
      console.log(`restart (adopt): ${f(await d.start())} ms`);
      if (a.strace) {
        strace = spawn('strace', ['-f', '-T', '-tt', '-o', a.strace, '-e', 'trace=bpf,fdatasync,fsync,write,pwrite64,openat,close,unlink,mkdir,mmap,munmap', '-p', String(d.pid)], { stdio: 'ignore' });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    const client = d.client;
    for (let i = 0; i < 100; i++) await client.getStatus();
    const listed = await client.listServices();
    const byId = new Map(listed.map((s) => [s.id, s]));
    const one = listed[0]!.id;

    // floors
    const getService: number[] = [];
    const getStatus: number[] = [];
    for (let i = 0; i < 200; i++) getService.push(await time(() => client.getService(one)));
    for (let i = 0; i < 100; i++) getStatus.push(await time(() => client.getStatus()));
    const fsync: number[] = [];
    {
      const path = join(d.stateDir, `.fsync-${process.pid}`);
      const fd = openSync(path, 'a');
      for (let i = 0; i < 100; i++) {
        const t0 = performance.now();
        writeSync(fd, Buffer.alloc(600, 0x61));
        fdatasyncSync(fd);
        fsync.push(performance.now() - t0);
      }
      closeSync(fd);
      unlinkSync(path);
    }

    // backend changes
    watcher = new SlotWatcher(join(repoRoot, 'dist'));
    const visible: number[] = [];
    const ack: number[] = [];
    const current = (s: Service__Output) =>
      s.backends.map((b) => ({ address: b.address, datapathId: b.datapathId, weight: b.weight ?? 0, active: b.state === 'BACKEND_STATE_ACTIVE' }));
    const changes = Number(a.changes);
    const pid = d.pid!;
    const cpu0 = cpuTicks(pid);
    for (let k = 0; k < changes; k++) {
      const svc = byId.get(base[Math.floor(k / 2) % N]!.vip + ':80/tcp')!;
      const drain = k % 2 === 0;
      const target = svc.backends[Math.floor(k / 2) % B]!;
      const next = current(svc).map((b) => (b.address === target.address ? { ...b, active: !drain, weight: drain ? 0 : 1 } : b));
      const before = buildMaglevTable({ backends: maglevInput(current(svc)), size: svc.tableSize, seed: SEED }).table;
      const after = buildMaglevTable({ backends: maglevInput(next), size: svc.tableSize, seed: SEED }).table;
      let slot = -1;
      for (let s = after.length - 1; s >= 0; s--) if (after[s] !== before[s]) { slot = s; break; }
      const w = watcher.watch({ path: join(d.pinDir, 'maglev', String(svc.datapathId)), size: svc.tableSize, slot, old: before[slot]!, timeoutMs: 5000 });
      await w.ready;
      const t0 = wallNow();
      const res = await client.updateBackend(svc.id, target.address, { weight: drain ? 0 : 1 });
      ack.push(wallNow() - t0);
      const seen = await w.seen;
      if (seen !== undefined) visible.push(seen - t0);
      byId.set(res.service.id, res.service);
    }

    const cpuChanges = cpuTicks(pid) - cpu0;
    // creates
    const cpu1 = cpuTicks(pid);
    const createMs: number[] = [];
    const c0 = performance.now();
    for (let i = 0; i < Number(a.creates); i++) createMs.push(await time(() => client.createService(serviceSpec(N + i, B))));
    const perSecond = createMs.length / ((performance.now() - c0) / 1000);
    const cpuCreates = cpuTicks(pid) - cpu1;

    console.log(line('floor GetService (one service)', getService));
    console.log(line('floor GetStatus', getStatus));
    console.log(line('floor fdatasync 600 B append', fsync));
    console.log(line('backend change visible', visible.length ? visible : [NaN]));
    console.log(line('backend change acknowledged', ack));
    console.log(line('CreateService call', createMs));
    console.log(`CreateService rate: ${perSecond.toFixed(0)} services/s`);
    // CPU time of xlbd per call (user + system, 10 ms ticks): less disturbed by other load than
    // wall-clock figures on a shared machine.
    console.log(`xlbd CPU per backend change: ${((cpuChanges * 10) / changes).toFixed(2)} ms; per CreateService: ${((cpuCreates * 10) / createMs.length).toFixed(2)} ms`);
    if (strace) {
      strace.kill('SIGINT');
      await new Promise((r) => strace!.on('exit', r));
    }
    await d.stop();
    if (a['cpu-prof']) {
      const files = readdirSync(a['cpu-prof']).filter((x) => x.endsWith('.cpuprofile'));
      files.sort((x, y) => statSync(join(a['cpu-prof']!, y)).mtimeMs - statSync(join(a['cpu-prof']!, x)).mtimeMs);
      const { total, rows } = topSelf(join(a['cpu-prof'], files[0]!), 40);
      console.log(`xlbd CPU (profile, non-idle): ${(total / 1000).toFixed(0)} ms`);
      for (const [k, us] of rows) console.log(`${(us / 1000).toFixed(1).padStart(9)} ms  ${k}`);
    }
  } finally {
    await watcher?.close();
    await d?.dispose();
    pair.destroy();
  }
}

await main();
