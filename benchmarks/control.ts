// Group 4 — the control plane at scale: the real xlbd (dist/lb/daemon/main.js) driving a real
// datapath on a veth, programmed over its gRPC API (unix socket) with the project's client, and
// every target of the control-plane issue measured and judged (met / not met):
//
//  * Apply of N services × B backends from empty, in one call (N = 1000, and 10 000 in the large
//    phase); and `xlb apply -f FILE` (the CLI, a process per run) with N services.
//  * CreateService one at a time with N services present: services per second.
//  * Backend change (UpdateBackend drain/restore, AddBackend/RemoveBackend) with N × B present:
//    visible in the datapath = from sending the request until a worker thread that maps the
//    service's live Maglev table (the memory the XDP program reads) sees the first slot the change
//    moves — the last such slot in table order, so the write is done — take its new value;
//    acknowledged = the call's round trip, which also waits for the journal's fdatasync. Floors in
//    the same run: a GetStatus round trip, and fdatasync of a 600-byte append in the state directory.
//  * Start to ready (spawn → "ready" log line) with N services restored: restart (the pinned
//    datapath adopted) and cold (no datapath: every table built and written); 10 000 cold in the
//    large phase. Floors: the same starts with an empty state.
//  * Kernel memory: the kernel's own figure (fdinfo memlock) of one service's table at the default
//    M, and of every map and table with 10 000 services.
//  * /metrics with 10 000 services (metrics.cache_ms 0, so every scrape reads the datapath): one
//    scrape; and 20 concurrent scrapes while GetStatus calls run, whose latency is compared with
//    GetStatus alone.
import { execFile } from 'node:child_process';
import { closeSync, fdatasyncSync, openSync, readdirSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { BpfMap } from '../bpf/libbpf-ts/index.js';
import type { Service } from '../api/generated/xlb/v1/Service.js';
import { serviceSpec } from './lib/service-spec.js';
import type { Service__Output } from '../api/generated/xlb/v1/Service.js';
import { buildMaglevTable } from '../lb/maglev/index.js';
import { repoRoot } from '../test/lab/index.js';
import { loadAverage } from './lib/machine.js';
import { Scraper } from './lib/scrape-client.js';
import { SlotWatcher, wallNow } from './lib/slot-watch.js';
import { percentile, summarize, type Summary } from './lib/stats.js';
import { VethPair } from './lib/veth-pair.js';
import { XlbdProcess } from './lib/xlbd.js';

export const CONTROL_TARGETS = {
  backendChangeVisibleP50Ms: 2,
  backendChangeVisibleP99Ms: 5,
  createPerSecond: 300,
  apply1kSeconds: 2,
  apply10kSeconds: 20,
  adopt1kMs: 500,
  cold1kMs: 3000,
  cold10kMs: 30_000,
  tableMemoryPerServiceBytes: 128 << 10,
  memory10kBytes: 2 * 2 ** 30, // not 2 << 30: that overflows 32 bits to a negative number
  scrape10kMs: 100,
  scrapeDelayMs: 10,
} as const;

/** The default Maglev table size of xlbd (lb/config DEFAULTS.maglevTableSize). */
const DEFAULT_M = 16381;
const SEED = 7;

export interface ControlBenchmarkOptions {
  /** Services of the main phase; default 1000. */
  services?: number;
  /** Services of the large phase (Apply, metrics, memory, cold start); default 10 000 (or the
   *  environment's XLB_BENCH_CONTROL_LARGE); 0 = skip. */
  largeServices?: number;
  /** Backends per service; default 16. */
  backendsPerService?: number;
  /** UpdateBackend calls (drain / restore alternately); default 100. AddBackend/RemoveBackend: half as many of each. */
  changes?: number;
  /** Sequential CreateService calls with `services` present; default 300. */
  creates?: number;
  /** Measured restarts (adopt) and empty-state floor starts; default 3. */
  restarts?: number;
  /** Measured cold starts with the full state; default 1. */
  coldStarts?: number;
  /** Single scrapes measured; default 10. */
  scrapes?: number;
}

export interface TargetRow {
  figure: string;
  value: string;
  target: string;
  /** undefined: informative row (no target). */
  met: boolean | undefined;
}

export interface ControlBenchmarkResult {
  method: string;
  services: number;
  largeServices: number;
  backendsPerService: number;
  tableSize: number;
  loadBefore: number;
  loadAfter: number;
  apply: { fromEmptyMs: number; largeFromEmptyMs: number | undefined; cliMs: number; deleteAllMs: number };
  create: { callMs: Summary; perSecond: number };
  backendChange: {
    /** request sent → slot changed in the live table, ms */
    visibleMs: Summary;
    visibleP99Ms: number;
    /** request sent → answer (durable), ms */
    ackMs: Summary;
    ackP99Ms: number;
    /** Changes whose slot never changed (timeout): the figures are not trusted then. */
    notVisible: number;
    floorGetStatusMs: Summary;
    floorFsyncMs: Summary;
    floorFsyncP99Ms: number;
  };
  startToReady: {
    warmEmptyMs: Summary;
    warmFullMs: Summary;
    coldEmptyMs: Summary;
    coldFullMs: Summary;
    coldLargeMs: Summary | undefined;
  };
  memory: {
    /** fdinfo memlock of one service's table at the default M, bytes */
    tableBytes: number;
    /** every map and table of the datapath with `largeServices` (or `services`) services, bytes */
    totalBytes: number;
    servicesCounted: number;
  };
  metrics: {
    services: number;
    scrapeMs: Summary;
    bodyBytes: number;
    /** GetStatus alone, and while 20 scrapes run at once, ms */
    getStatusAloneMs: Summary;
    getStatusDuringMs: Summary;
    delayP50Ms: number;
    delayMaxMs: number;
    concurrentScrapeMs: Summary;
  };
  targets: TargetRow[];
  problems: string[];
}

const run = promisify(execFile);

function specs(from: number, n: number, backends: number): Service[] {
  return Array.from({ length: n }, (_, i) => serviceSpec(from + i, backends));
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** fdatasync of a 600-byte append in `dir`: the floor under an acknowledged change. */
function fsyncFloor(dir: string, n: number): number[] {
  const path = join(dir, `.bench-fsync-${process.pid}`);
  const fd = openSync(path, 'a');
  const buf = Buffer.alloc(600, 0x61);
  const out: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      writeSync(fd, buf);
      fdatasyncSync(fd);
      out.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
    unlinkSync(path);
  }
  return out;
}

/** memlock of every map pinned under `dir` (tables in dir/maglev included). */
function pinnedMemory(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, name.name);
    if (name.isDirectory()) {
      total += pinnedMemory(path);
      continue;
    }
    try {
      const m = BpfMap.openPinned(path);
      total += m.memlockBytes();
      m.close();
    } catch {
      // the program pin
    }
  }
  return total;
}

/** Backend set of a service as the API returned it → lb/maglev input. */
function maglevInput(backends: readonly { address: string; datapathId: number; weight: number; active: boolean }[]) {
  return backends.map((b) => ({ key: b.address, id: b.datapathId, weight: b.active ? b.weight : 0 }));
}

/** The last slot (in table order) whose owner differs between two tables, or -1. */
function lastChangedSlot(a: Uint32Array, b: Uint32Array): number {
  for (let s = a.length - 1; s >= 0; s--) if (a[s] !== b[s]) return s;
  return -1;
}

export async function runControlBenchmark(opts: ControlBenchmarkOptions = {}): Promise<ControlBenchmarkResult> {
  const services = opts.services ?? 1000;
  // XLB_BENCH_CONTROL_LARGE=N: the large phase with N services (0 skips it), for a shorter run.
  const largeFromEnv = process.env.XLB_BENCH_CONTROL_LARGE === undefined ? undefined : Number(process.env.XLB_BENCH_CONTROL_LARGE);
  const largeServices = opts.largeServices ?? largeFromEnv ?? 10_000;
  const B = opts.backendsPerService ?? 16;
  const changes = opts.changes ?? 100;
  const creates = opts.creates ?? 300;
  const restarts = opts.restarts ?? 3;
  const coldStarts = opts.coldStarts ?? 1;
  const scrapes = opts.scrapes ?? 10;
  for (const [k, v, min] of [
    ['services', services, 1], ['largeServices', largeServices, 0], ['backendsPerService', B, 2], ['changes', changes, 2],
    ['creates', creates, 1], ['restarts', restarts, 1], ['coldStarts', coldStarts, 1], ['scrapes', scrapes, 1],
  ] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`${k}: ${v} is not an integer ≥ ${min}`);
  }
  const biggest = Math.max(services + creates, largeServices);
  const loadBefore = loadAverage()[0];
  const problems: string[] = [];
  const pair = VethPair.create();
  let daemon: XlbdProcess | undefined;
  let watcher: SlotWatcher | undefined;
  let scraper: Scraper | undefined;
  try {
    const addrs = pair.addAddresses();
    daemon = new XlbdProcess(pair, addrs.gen, {
      maglev: { seed: SEED },
      maps: { services: 2 ** Math.ceil(Math.log2(biggest + 64)), backends: 2 ** Math.ceil(Math.log2(biggest * (B + 1) + 64)), flows: 65536 },
      limits: { max_backends_per_service: Math.max(B + 1, 16) },
      metrics: { cache_ms: 0 },
    });
    const d = daemon;

    // ---- empty-state floors: cold (each stop detaches and unpins), then warm -----------------------
    const coldEmpty: number[] = [];
    for (let i = 0; i < restarts; i++) {
      coldEmpty.push(await d.start(['--detach-on-exit']));
      await d.stop();
    }
    await d.start();
    await d.stop();
    const warmEmpty: number[] = [];
    for (let i = 0; i < restarts; i++) {
      warmEmpty.push(await d.start());
      if (i < restarts - 1) await d.stop();
    }
    const client = d.client;
    for (let i = 0; i < 50; i++) await client.getStatus(); // channel up, JIT warm

    // ---- Apply of N from empty ------------------------------------------------------------------
    const base = specs(0, services, B);
    const fromEmptyMs = await time(() => client.apply(base));
    if ((await client.getStatus()).services !== services) problems.push(`Apply of ${services}: the daemon does not report ${services} services`);
    const listed = await client.listServices();
    const byId = new Map(listed.map((s) => [s.id, s]));

    // ---- backend changes with N × B present --------------------------------------------------------
    watcher = new SlotWatcher(join(repoRoot, 'dist'));
    const floorGetStatus: number[] = [];
    const floorFsync = fsyncFloor(d.stateDir, 100);
    const visible: number[] = [];
    const ack: number[] = [];
    let notVisible = 0;
    const current = (s: Service__Output) =>
      s.backends.map((b) => ({ address: b.address, datapathId: b.datapathId, weight: b.weight ?? 0, active: b.state === 'BACKEND_STATE_ACTIVE' }));
    /** One change, timed: `expectTable` is the table after it (built here, as every node would). */
    const timedChange = async (svc: Service__Output, after: Uint32Array, call: () => Promise<Service__Output>, what: string) => {
      const path = join(d.pinDir, 'maglev', String(svc.datapathId));
      const m = BpfMap.openPinned(path);
      const mapping = m.mmap();
      const live = new Uint32Array(mapping.buffer, 0, svc.tableSize).slice();
      mapping.unmap();
      m.close();
      const before = buildMaglevTable({ backends: maglevInput(current(svc)), size: svc.tableSize, seed: SEED }).table;
      if (lastChangedSlot(live, before) >= 0) problems.push(`${what}: the live table of ${svc.id} is not the one lb/maglev builds`);
      const slot = lastChangedSlot(live, after);
      if (slot < 0) throw new Error(`${what}: the change moves no slot`);
      floorGetStatus.push(await time(() => client.getStatus()));
      const w = watcher!.watch({ path, size: svc.tableSize, slot, old: live[slot]!, timeoutMs: 5000 });
      await w.ready;
      const t0 = wallNow();
      const res = await call();
      const t1 = wallNow();
      const seenAt = await w.seen;
      ack.push(t1 - t0);
      if (seenAt === undefined) {
        notVisible++;
        if (notVisible <= 3) problems.push(`${what}: slot ${slot} of ${svc.id} never changed`);
      } else visible.push(seenAt - t0);
      return res;
    };
    for (let k = 0; k < changes; k++) {
      const svc = byId.get(base[Math.floor(k / 2) % base.length]!.vip + ':80/tcp')!;
      const drain = k % 2 === 0;
      const target = svc.backends[Math.floor(k / 2) % B]!;
      const next = current(svc).map((b) => (b.address === target.address ? { ...b, active: !drain, weight: drain ? 0 : 1 } : b));
      const after = buildMaglevTable({ backends: maglevInput(next), size: svc.tableSize, seed: SEED }).table;
      const res = await timedChange(svc, after, async () => (await client.updateBackend(svc.id, target.address, { weight: drain ? 0 : 1 })).service, drain ? 'drain' : 'restore');
      byId.set(res.id, res);
    }
    for (let k = 0; k < Math.max(1, changes >> 1); k++) {
      const svc = byId.get(base[(k + 7) % base.length]!.vip + ':80/tcp')!;
      const extra = { address: `10.4.${k >> 8}.${(k & 255) + 1}`, datapathId: 0xfffffff0, weight: 1, active: true };
      const withExtra = buildMaglevTable({ backends: maglevInput([...current(svc), extra]), size: svc.tableSize, seed: SEED }).table;
      const added = await timedChange(svc, withExtra, () => client.addBackend(svc.id, { address: extra.address, weight: 1 }), 'add');
      const without = buildMaglevTable({ backends: maglevInput(current(svc)), size: svc.tableSize, seed: SEED }).table;
      const removed = await timedChange(added, without, () => client.removeBackend(svc.id, extra.address), 'remove');
      byId.set(removed.id, removed);
    }

    // ---- CreateService one at a time with N present ----------------------------------------------
    const createMs: number[] = [];
    const t0 = performance.now();
    for (const s of specs(services, creates, B)) createMs.push(await time(() => client.createService(s)));
    const createSeconds = (performance.now() - t0) / 1000;

    // ---- delete everything, then `xlb apply -f` with N from empty ------------------------------------
    const deleteAllMs = await time(() => client.apply([]));
    const file = join(d.dir, 'services.yaml');
    writeFileSync(
      file,
      stringify({
        services: base.map((s) => ({ vip: s.vip, port: 80, protocol: 'tcp', backends: s.backends!.map((b) => ({ address: b.address, weight: 1 })) })),
      }),
    );
    const cli = join(repoRoot, 'dist', 'api', 'cli', 'main.js');
    const cliStart = performance.now();
    await run(process.execPath, [cli, '--server', `unix://${d.socket}`, 'apply', '-f', file], { maxBuffer: 64 << 20 });
    const cliMs = performance.now() - cliStart;
    if ((await client.getStatus()).services !== services) problems.push(`xlb apply -f: the daemon does not report ${services} services`);

    // ---- metrics and memory at N (the large phase repeats them at 10 000) ---------------------------
    scraper = new Scraper(pair.netnsPath(pair.lbNs), d.metricsUrl);
    const tableBytes = (() => {
      const first = readdirSync(join(d.pinDir, 'maglev'))[0]!;
      const m = BpfMap.openPinned(join(d.pinDir, 'maglev', first));
      const bytes = m.memlockBytes();
      m.close();
      return bytes;
    })();
    // d.client, not `client`: the large phase measures again after restarts, each with a new client.
    const measureMetrics = async (n: number) => {
      await scraper!.scrape(2); // warm
      const single = await scraper!.scrape(scrapes);
      const alone: number[] = [];
      for (let i = 0; i < 50; i++) alone.push(await time(() => d.client.getStatus()));
      const during: number[] = [];
      let done = false;
      const burst = scraper!.scrape(20, true).finally(() => (done = true));
      while (!done) during.push(await time(() => d.client.getStatus()));
      const concurrent = await burst;
      const a = summarize(alone);
      const dr = summarize(during);
      return {
        services: n,
        scrapeMs: summarize(single.ms),
        bodyBytes: single.bytes,
        getStatusAloneMs: a,
        getStatusDuringMs: dr,
        delayP50Ms: dr.median - a.median,
        delayMaxMs: dr.max - a.median,
        concurrentScrapeMs: summarize(concurrent.ms),
      };
    };
    let metrics = await measureMetrics(services);
    let memory = { tableBytes, totalBytes: pinnedMemory(d.pinDir), servicesCounted: services };

    // ---- start to ready with N: warm (adopt), then cold ------------------------------------------
    await d.stop();
    const warmFull: number[] = [];
    for (let i = 0; i < restarts; i++) {
      warmFull.push(await d.start(i === restarts - 1 ? ['--detach-on-exit'] : []));
      const status = await d.client.getStatus();
      if (status.services !== services) problems.push(`restart ${i}: ${status.services} services restored, expected ${services}`);
      if (!status.adoptedDatapath) problems.push(`restart ${i}: the datapath was not adopted`);
      await d.stop();
    }
    const coldFull: number[] = [];
    for (let i = 0; i < coldStarts; i++) {
      coldFull.push(await d.start(['--detach-on-exit']));
      const status = await d.client.getStatus();
      if (status.services !== services) problems.push(`cold start ${i}: ${status.services} services restored, expected ${services}`);
      if (status.adoptedDatapath) problems.push(`cold start ${i}: the daemon adopted a datapath (not cold)`);
      if (i < coldStarts - 1) await d.stop();
    }

    // ---- the large phase: Apply of 10 000 from empty, metrics, memory, cold start ----------------------
    let largeFromEmptyMs: number | undefined;
    let coldLarge: number[] | undefined;
    if (largeServices > 0) {
      await d.client.apply([]);
      const large = specs(0, largeServices, B);
      largeFromEmptyMs = await time(() => d.client.apply(large));
      if ((await d.client.getStatus()).services !== largeServices) problems.push(`Apply of ${largeServices}: wrong service count`);
      metrics = await measureMetrics(largeServices);
      memory = { tableBytes, totalBytes: pinnedMemory(d.pinDir), servicesCounted: largeServices };
      await d.stop();
      coldLarge = [];
      for (let i = 0; i < coldStarts; i++) {
        coldLarge.push(await d.start(['--detach-on-exit']));
        if ((await d.client.getStatus()).services !== largeServices) problems.push(`cold start of ${largeServices}: wrong service count`);
        await d.stop();
      }
    } else {
      await d.stop();
    }

    const visibleMs = summarize(visible.length ? visible : [NaN]);
    const ackSummary = summarize(ack);
    const result: ControlBenchmarkResult = {
      method:
        'xlbd (dist/lb/daemon/main.js) on a veth in its own netns, API on a unix socket, api/client XlbClient; calls one after ' +
        'the other; visibility from a worker thread mapping the live Maglev table; scrapes from a process in the netns; floors ' +
        '(GetStatus, fdatasync of a 600-byte append in the state directory, empty-state starts) in the same run',
      services,
      largeServices,
      backendsPerService: B,
      tableSize: DEFAULT_M,
      loadBefore,
      loadAfter: loadAverage()[0],
      apply: { fromEmptyMs, largeFromEmptyMs, cliMs, deleteAllMs },
      create: { callMs: summarize(createMs), perSecond: creates / createSeconds },
      backendChange: {
        visibleMs,
        visibleP99Ms: visible.length ? percentile([...visible].sort((a, b) => a - b), 99) : NaN,
        ackMs: ackSummary,
        ackP99Ms: percentile([...ack].sort((a, b) => a - b), 99),
        notVisible,
        floorGetStatusMs: summarize(floorGetStatus),
        floorFsyncMs: summarize(floorFsync),
        floorFsyncP99Ms: percentile([...floorFsync].sort((a, b) => a - b), 99),
      },
      startToReady: {
        warmEmptyMs: summarize(warmEmpty),
        warmFullMs: summarize(warmFull),
        coldEmptyMs: summarize(coldEmpty),
        coldFullMs: summarize(coldFull),
        coldLargeMs: coldLarge ? summarize(coldLarge) : undefined,
      },
      memory,
      metrics,
      targets: [],
      problems,
    };
    result.targets = controlTargets(result);
    return result;
  } catch (e) {
    const tail = daemon ? `\nxlbd output:\n${daemon.tail(20)}` : '';
    throw new Error(`${(e as Error).message}${tail}`);
  } finally {
    scraper?.close();
    await watcher?.close();
    await daemon?.dispose();
    pair.destroy();
  }
}

const ms = (v: number) => (!Number.isFinite(v) ? '–' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;

/** Every target of the issue, with the figure measured and whether it is met. */
export function controlTargets(r: ControlBenchmarkResult): TargetRow[] {
  const T = CONTROL_TARGETS;
  const b = r.backendChange;
  const s = r.startToReady;
  const m = r.metrics;
  const N = r.services;
  const L = r.largeServices;
  const trusted = b.notVisible === 0;
  const rows: TargetRow[] = [
    {
      figure: `backend change visible in the datapath, ${N} × ${r.backendsPerService} present (${b.ackMs.n} changes)`,
      value: `p50 ${ms(b.visibleMs.median)} ms, p99 ${ms(b.visibleP99Ms)} ms${trusted ? '' : ` (${b.notVisible} never seen)`}`,
      target: `p50 ≤ ${T.backendChangeVisibleP50Ms} ms, p99 ≤ ${T.backendChangeVisibleP99Ms} ms`,
      met: trusted && b.visibleMs.median <= T.backendChangeVisibleP50Ms && b.visibleP99Ms <= T.backendChangeVisibleP99Ms,
    },
    {
      figure: 'backend change acknowledged (durable: includes the journal fdatasync)',
      value: `p50 ${ms(b.ackMs.median)} ms, p99 ${ms(b.ackP99Ms)} ms; floors: GetStatus p50 ${ms(b.floorGetStatusMs.median)} ms, fdatasync p50 ${ms(b.floorFsyncMs.median)} ms / p99 ${ms(b.floorFsyncP99Ms)} ms`,
      target: '',
      met: undefined,
    },
    {
      figure: `CreateService one at a time, ${N} present`,
      value: `${r.create.perSecond.toFixed(0)} services/s (p50 ${ms(r.create.callMs.median)} ms per call)`,
      target: `≥ ${T.createPerSecond} services/s`,
      met: r.create.perSecond >= T.createPerSecond,
    },
    {
      figure: `Apply of ${N} × ${r.backendsPerService} from empty`,
      value: `${(r.apply.fromEmptyMs / 1000).toFixed(2)} s`,
      target: N === 1000 ? `≤ ${T.apply1kSeconds} s` : '',
      met: N === 1000 ? r.apply.fromEmptyMs <= T.apply1kSeconds * 1000 : undefined,
    },
    {
      figure: `\`xlb apply -f\` with ${N} services from empty (CLI process included)`,
      value: `${(r.apply.cliMs / 1000).toFixed(2)} s`,
      target: 'seconds',
      met: r.apply.cliMs <= 10_000,
    },
    {
      figure: `start → ready, ${N} services, restart (datapath adopted)`,
      value: `${ms(s.warmFullMs.median)} ms (empty state ${ms(s.warmEmptyMs.median)} ms)`,
      target: N === 1000 ? `≤ ${T.adopt1kMs} ms` : '',
      met: N === 1000 ? s.warmFullMs.median <= T.adopt1kMs : undefined,
    },
    {
      figure: `start → ready, ${N} services, cold (no datapath)`,
      value: `${ms(s.coldFullMs.median)} ms (empty state ${ms(s.coldEmptyMs.median)} ms)`,
      target: N === 1000 ? `≤ ${T.cold1kMs} ms` : '',
      met: N === 1000 ? s.coldFullMs.median <= T.cold1kMs : undefined,
    },
    {
      figure: `kernel memory of one service's table at the default M = ${r.tableSize}`,
      value: kib(r.memory.tableBytes),
      target: `≤ ${kib(T.tableMemoryPerServiceBytes)}`,
      met: r.memory.tableBytes <= T.tableMemoryPerServiceBytes,
    },
    {
      figure: `kernel memory of every map and table, ${r.memory.servicesCounted} services × ${r.backendsPerService} backends`,
      value: `${mib(r.memory.totalBytes)} (${kib(r.memory.totalBytes / r.memory.servicesCounted)} per service)`,
      target: r.memory.servicesCounted >= 10_000 ? '10 000 services in ≤ 2 GiB' : '',
      met: r.memory.servicesCounted >= 10_000 ? r.memory.totalBytes <= T.memory10kBytes : undefined,
    },
    {
      figure: `/metrics scrape, ${m.services} services (${mib(m.bodyBytes)} of text)`,
      value: `p50 ${ms(m.scrapeMs.median)} ms (max ${ms(m.scrapeMs.max)})`,
      target: m.services >= 10_000 ? `≤ ${T.scrape10kMs} ms` : '',
      met: m.services >= 10_000 ? m.scrapeMs.median <= T.scrape10kMs : undefined,
    },
    {
      figure: `GetStatus while 20 scrapes run at once, ${m.services} services`,
      value: `delay p50 ${ms(m.delayP50Ms)} ms, max ${ms(m.delayMaxMs)} ms (GetStatus alone p50 ${ms(m.getStatusAloneMs.median)} ms; the 20 scrapes took p50 ${ms(m.concurrentScrapeMs.median)} ms)`,
      target: `≤ ${T.scrapeDelayMs} ms`,
      met: m.services >= 10_000 ? m.delayMaxMs <= T.scrapeDelayMs : undefined,
    },
  ];
  if (L > 0) {
    rows.splice(4, 0, {
      figure: `Apply of ${L} × ${r.backendsPerService} from empty`,
      value: r.apply.largeFromEmptyMs === undefined ? '–' : `${(r.apply.largeFromEmptyMs / 1000).toFixed(2)} s`,
      target: L === 10_000 ? `≤ ${T.apply10kSeconds} s` : '',
      met: L === 10_000 && r.apply.largeFromEmptyMs !== undefined ? r.apply.largeFromEmptyMs <= T.apply10kSeconds * 1000 : undefined,
    });
    const cl = s.coldLargeMs;
    rows.splice(rows.findIndex((x) => x.figure.startsWith('kernel memory of one')), 0, {
      figure: `start → ready, ${L} services, cold (no datapath)`,
      value: cl ? `${ms(cl.median)} ms` : '–',
      target: L === 10_000 ? `≤ ${T.cold10kMs / 1000} s` : '',
      met: L === 10_000 && cl ? cl.median <= T.cold10kMs : undefined,
    });
  }
  return rows;
}

export function controlMarkdown(r: ControlBenchmarkResult): string {
  const verdict = (t: TargetRow) => (t.met === undefined ? '' : t.met ? 'met' : 'not met');
  const lines = [
    `Control plane: xlbd over gRPC (unix socket), ${r.services} services (large phase: ${r.largeServices || 'skipped'}) × ${r.backendsPerService} backends, ` +
      `Maglev M = ${r.tableSize} (the default). Load average ${r.loadBefore.toFixed(2)} → ${r.loadAfter.toFixed(2)}.`,
    '',
    '| figure | measured | target | |',
    '|:---|:---|:---|:---|',
    ...r.targets.map((t) => `| ${t.figure} | ${t.value} | ${t.target} | ${verdict(t)} |`),
  ];
  if (r.problems.length) lines.push('', `Problems: ${r.problems.join('; ')}`);
  return lines.join('\n');
}
