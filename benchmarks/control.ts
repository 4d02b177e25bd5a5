// Group 4 — the control plane: the real xlbd (dist/lb/daemon/main.js) driving a real datapath on a
// veth, programmed over its gRPC API (unix socket) with the project's client (api/client).
//
//  * programming: CreateService × N (each with its B backends), one call after the other; the rate
//    is services per second of wall time, with each call's latency. Floor: the latency of GetStatus
//    (a round trip that changes nothing) measured in the same run.
//  * backend change: UpdateBackend drains (weight 0) and restores (weight 1) one backend of a service,
//    round trip per call; the daemon answers only after the datapath reflects the change, which is
//    checked after every call (outside the timing) by reading the service's Maglev table from the
//    pinned maps: the backend's id must be gone from it after a drain and back after a restore. Floor:
//    a GetStatus before every change.
//  * start to ready: spawn of the process → its "ready" log line, with N services restored from its
//    state file, warm (pinned datapath adopted: a restart or upgrade) and cold (no datapath: after a
//    reboot, every table built again). Floors: the same starts with an empty state.
import { LbDatapath } from '../lb/datapath/index.js';
import type { Service } from '../api/generated/xlb/v1/Service.js';
import { loadAverage } from './lib/machine.js';
import { summarize, type Summary } from './lib/stats.js';
import { VethPair } from './lib/veth-pair.js';
import { XlbdProcess } from './lib/xlbd.js';

export const CONTROL_TARGETS = { backendChangeP99Ms: 5 } as const;

export interface ControlBenchmarkOptions {
  /** Services to program; default 1000. */
  services?: number;
  /** Backends per service; default 16. */
  backendsPerService?: number;
  /** UpdateBackend calls (alternating drain / restore); default 100. */
  changes?: number;
  /** Measured warm restarts (and empty-state floor starts); default 3. */
  restarts?: number;
  /** Measured cold starts with the full state; default 1 (each rebuilds every table). */
  coldStarts?: number;
  /** Maglev table size; default 65537 (the daemon's default). */
  tableSize?: number;
}

export interface ControlBenchmarkResult {
  method: string;
  services: number;
  backendsPerService: number;
  tableSize: number;
  loadBefore: number;
  loadAfter: number;
  programming: {
    totalSeconds: number;
    servicesPerSecond: number;
    /** CreateService round trip, ms. */
    callMs: Summary;
    /** GetStatus round trip in the same run, ms. */
    floorMs: Summary;
  };
  backendChange: {
    /** UpdateBackend round trip, ms. */
    callMs: Summary;
    floorMs: Summary;
    /** p99 − floor p99 and p50 − floor p50, ms. */
    aboveFloorP50Ms: number;
    aboveFloorP99Ms: number;
    p99Ms: number;
    targetP99Ms: number;
    targetMet: boolean;
    /** Changes whose effect the Maglev table did not show right after the call returned. */
    notReflected: number;
  };
  startToReady: {
    /** ms per start; empty = the floor. */
    warmEmptyMs: Summary;
    warmFullMs: Summary;
    coldEmptyMs: Summary;
    coldFullMs: Summary;
  };
  problems: string[];
}

function pct(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  return s[lo]! + (s[Math.ceil(rank)]! - s[lo]!) * (rank - lo);
}

async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

function serviceSpec(i: number, backends: number): Service {
  return {
    vip: `10.100.${(i >> 8) & 255}.${i & 255}`,
    port: 80,
    protocol: 'PROTOCOL_TCP',
    backends: Array.from({ length: backends }, (_, j) => ({ address: `10.3.${j}.${(i % 250) + 1}`, weight: 1 })),
  } as Service;
}

export async function runControlBenchmark(opts: ControlBenchmarkOptions = {}): Promise<ControlBenchmarkResult> {
  const services = opts.services ?? 1000;
  const backendsPerService = opts.backendsPerService ?? 16;
  const changes = opts.changes ?? 100;
  const restarts = opts.restarts ?? 3;
  const coldStarts = opts.coldStarts ?? 1;
  const tableSize = opts.tableSize ?? 65537;
  for (const [k, v, min] of [
    ['services', services, 1], ['backendsPerService', backendsPerService, 1], ['changes', changes, 2],
    ['restarts', restarts, 1], ['coldStarts', coldStarts, 1],
  ] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`${k}: ${v} is not an integer ≥ ${min}`);
  }
  const loadBefore = loadAverage()[0];
  const problems: string[] = [];
  const pair = VethPair.create();
  let daemon: XlbdProcess | undefined;
  try {
    const addrs = pair.addAddresses();
    daemon = new XlbdProcess(pair, addrs.gen, {
      maglev: { table_size: tableSize, seed: 7 },
      maps: { services: Math.max(64, services + 24), backends: 2 ** Math.ceil(Math.log2(services * backendsPerService + 64)), flows: 65536 },
      limits: { max_backends_per_service: Math.max(backendsPerService, 16) },
    });
    const d = daemon;

    // Floors for start to ready: empty state, cold (each stop detaches and unpins) then warm.
    const coldEmpty: number[] = [];
    for (let i = 0; i < restarts; i++) {
      coldEmpty.push(await d.start(['--detach-on-exit']));
      await d.stop();
    }
    await d.start(); // loads and pins; the next starts adopt it
    await d.stop();
    const warmEmpty: number[] = [];
    for (let i = 0; i < restarts; i++) {
      warmEmpty.push(await d.start());
      if (i < restarts - 1) await d.stop();
    }

    // Programming.
    const client = d.client;
    const floorProg: number[] = [];
    for (let i = 0; i < 50; i++) await client.getStatus(); // channel up, JIT warm
    for (let i = 0; i < 200; i++) floorProg.push(await timeAsync(() => client.getStatus()));
    const created: { id: string; datapathId: number; backend: { address: string; datapathId: number } }[] = [];
    const createMs: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < services; i++) {
      let svc: Awaited<ReturnType<typeof client.createService>> | undefined;
      createMs.push(await timeAsync(async () => (svc = await client.createService(serviceSpec(i, backendsPerService)))));
      const b = svc!.backends[0]!;
      created.push({ id: svc!.id, datapathId: svc!.datapathId, backend: { address: b.address, datapathId: b.datapathId } });
    }
    const totalSeconds = (performance.now() - t0) / 1000;

    // Backend changes, checked against the pinned maps.
    const view = LbDatapath.adopt(d.pinDir);
    const changeMs: number[] = [];
    const floorChange: number[] = [];
    let notReflected = 0;
    try {
      for (let k = 0; k < changes; k++) {
        const svc = created[Math.floor(k / 2) % created.length]!;
        const drain = k % 2 === 0;
        floorChange.push(await timeAsync(() => client.getStatus()));
        changeMs.push(await timeAsync(() => client.updateBackend(svc.id, svc.backend.address, { weight: drain ? 0 : 1 })));
        const inTable = view.maglevTable(svc.datapathId)?.includes(svc.backend.datapathId) ?? false;
        if (inTable === drain) {
          notReflected++;
          if (notReflected <= 3) problems.push(`change ${k} (${drain ? 'drain' : 'restore'} ${svc.backend.address} in ${svc.id}) not in the Maglev table when the call returned`);
        }
      }
    } finally {
      view.close();
    }

    // Start to ready with the full state: warm (adopt), then cold (the last warm start detaches on stop).
    await d.stop();
    const warmFull: number[] = [];
    for (let i = 0; i < restarts; i++) {
      warmFull.push(await d.start(i === restarts - 1 ? ['--detach-on-exit'] : []));
      const status = await d.client.getStatus();
      if (status.services !== services) problems.push(`warm start ${i}: ${status.services} services restored, expected ${services}`);
      await d.stop();
    }
    const coldFull: number[] = [];
    for (let i = 0; i < coldStarts; i++) {
      coldFull.push(await d.start(['--detach-on-exit']));
      const status = await d.client.getStatus();
      if (status.services !== services) problems.push(`cold start ${i}: ${status.services} services restored, expected ${services}`);
      if (status.adoptedDatapath) problems.push(`cold start ${i}: the daemon adopted a datapath (not cold)`);
      await d.stop();
    }

    const callMs = summarize(changeMs);
    const floorMs = summarize(floorChange);
    const p99Ms = pct(changeMs, 99);
    return {
      method:
        'xlbd (dist/lb/daemon/main.js) on a veth in its own netns, API on a unix socket, api/client XlbClient; ' +
        'calls one after the other; floors: GetStatus round trips and empty-state starts in the same run',
      services,
      backendsPerService,
      tableSize,
      loadBefore,
      loadAfter: loadAverage()[0],
      programming: { totalSeconds, servicesPerSecond: services / totalSeconds, callMs: summarize(createMs), floorMs: summarize(floorProg) },
      backendChange: {
        callMs,
        floorMs,
        aboveFloorP50Ms: callMs.median - floorMs.median,
        aboveFloorP99Ms: p99Ms - pct(floorChange, 99),
        p99Ms,
        targetP99Ms: CONTROL_TARGETS.backendChangeP99Ms,
        targetMet: p99Ms <= CONTROL_TARGETS.backendChangeP99Ms,
        notReflected,
      },
      startToReady: {
        warmEmptyMs: summarize(warmEmpty),
        warmFullMs: summarize(warmFull),
        coldEmptyMs: summarize(coldEmpty),
        coldFullMs: summarize(coldFull),
      },
      problems,
    };
  } catch (e) {
    const tail = daemon ? `\nxlbd output:\n${daemon.tail(20)}` : '';
    throw new Error(`${(e as Error).message}${tail}`);
  } finally {
    await daemon?.dispose();
    pair.destroy();
  }
}

export function controlMarkdown(r: ControlBenchmarkResult): string {
  const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  const p = r.programming;
  const b = r.backendChange;
  const s = r.startToReady;
  const range = (x: Summary) => `${ms(x.min)} – ${ms(x.max)}`;
  const lines = [
    `Control plane: xlbd over gRPC (unix socket), ${r.services} services × ${r.backendsPerService} backends, Maglev M = ${r.tableSize}. ` +
      `Load average ${r.loadBefore.toFixed(2)} → ${r.loadAfter.toFixed(2)}.`,
    '',
    '| figure | measured | floor (same run) | target | |',
    '|:---|:---|:---|:---|:---|',
    `| programming ${r.services} services × ${r.backendsPerService} backends (CreateService, sequential) | ` +
      `${p.servicesPerSecond.toFixed(1)} services/s (${p.totalSeconds.toFixed(1)} s); per call p50 ${ms(p.callMs.median)} ms, p90 ${ms(p.callMs.p90)} ms | ` +
      `GetStatus p50 ${ms(p.floorMs.median)} ms | | |`,
    `| backend change → datapath (UpdateBackend, ${b.callMs.n} calls) | p50 ${ms(b.callMs.median)} ms, p99 ${ms(b.p99Ms)} ms ` +
      `(above floor: p50 ${ms(b.aboveFloorP50Ms)}, p99 ${ms(b.aboveFloorP99Ms)}) | GetStatus p50 ${ms(b.floorMs.median)} ms | ` +
      `p99 ≤ ${b.targetP99Ms} ms | ${b.notReflected ? `not trusted: ${b.notReflected} changes not reflected` : b.targetMet ? 'met' : 'not met'} |`,
    `| start → ready, ${r.services} services restored, datapath adopted (restart) | ${ms(s.warmFullMs.median)} ms (${range(s.warmFullMs)}, ${s.warmFullMs.n} runs) | ` +
      `empty state ${ms(s.warmEmptyMs.median)} ms (${range(s.warmEmptyMs)}) | | |`,
    `| start → ready, ${r.services} services restored, no datapath (cold, every table rebuilt) | ${ms(s.coldFullMs.median)} ms (${range(s.coldFullMs)}, ${s.coldFullMs.n} run(s)) | ` +
      `empty state ${ms(s.coldEmptyMs.median)} ms (${range(s.coldEmptyMs)}) | | |`,
  ];
  if (r.problems.length) lines.push('', `Problems: ${r.problems.join('; ')}`);
  return lines.join('\n');
}
