// Group 6 — health checks at scale: the real xlbd (dist/lb/daemon/main.js) on the lab's LB node,
// N services × B backends, every backend checked every interval through the probe tunnel (to VIP:80,
// encapsulated to the backend address). The B backend addresses live on one lab backend host (its
// eth0 has B addresses, its decap program unwraps for all of them, one minimal HTTP responder answers): xlbd
// sees B distinct backends, and the machine is not spent on B server processes. The figure is
// xlbd's CPU use while it keeps that up (user and system time from /proc, in % of one core), next
// to a floor measured in the same run: the same daemon with the same services and no checks. Its
// system time includes kernel work done in its context that a real deployment would not charge to
// it: veth transmit runs the receiving namespaces' stacks (the lab router's forwarding, the
// backend's decapsulation and TCP) in the sender's softirq. Rows for tcp checks and http checks;
// alongside: the probes per second achieved against the N·B/interval asked for, probes that had to
// wait for a free slot (health.max_concurrency) and the backends' states at the end (all up, or
// the probes were not doing their job).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { XlbClient } from '../api/client/index.js';
import type { Service } from '../api/generated/xlb/v1/Service.js';
import { Lab, repoRoot, type LabProcess } from '../test/lab/index.js';
import { probeCostMarkdown, runProbeCost, type ProbeCostResult } from './health-probe-cost.js';
import { loadAverage } from './lib/machine.js';
import { XLBD_MAIN } from './lib/xlbd.js';

/** The backend's web server: a fixed response per connection (see the script for why). */
const HTTP_RESPONDER = join(repoRoot, 'benchmarks', 'lib', 'http-responder.mjs');

export interface HealthBenchmarkOptions {
  services?: number;
  backendsPerService?: number;
  intervalMs?: number;
  kinds?: ('tcp' | 'http')[];
  /** After the checks are created, before measuring (every backend comes up). */
  warmupMs?: number;
  windowMs?: number;
  floorWindowMs?: number;
  /** Extra node options for xlbd (e.g. --cpu-prof --cpu-prof-dir=DIR to see where its time goes). */
  nodeArgs?: string[];
  /** The CPU-per-probe comparison (health-probe-cost.ts) after the lab phases; false: skipped. */
  probeCost?: Parameters<typeof runProbeCost>[0] | false;
}

export interface HealthPhase {
  kind: 'tcp' | 'http';
  /** N·B / interval */
  probesPerSecondAsked: number;
  probesPerSecond: number;
  failedPerSecond: number;
  /** % of one core over the window, user and system time. */
  userPercent: number;
  systemPercent: number;
  cpuPercent: number;
  /** The whole machine's busy time over the window, in % of one core (all processes: the lab's
   *  backend and router work, the benchmark itself, and whatever else runs on the machine). */
  machinePercent: number;
  lateProbes: number;
  states: { up: number; down: number; unknown: number };
  windowSeconds: number;
  problems: string[];
}

export interface HealthBenchmarkResult {
  method: string;
  services: number;
  backendsPerService: number;
  intervalMs: number;
  maxConcurrency: number;
  floor: { userPercent: number; systemPercent: number; cpuPercent: number; machinePercent: number };
  phases: HealthPhase[];
  loadBefore: number;
  loadAfter: number;
  problems: string[];
  /** CPU per probe, prober thread vs Node sockets, measured in the same run. */
  probeCost?: ProbeCostResult;
}

const VIP = '10.100.0.10';
const MAX_CONCURRENCY = 512;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

function cpuTicks(pid: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return { user: Number(fields[11]), system: Number(fields[12]) }; // utime, stime (fields 14, 15 of the line)
}

/** Busy ticks of the whole machine (every CPU, all but idle and iowait), from /proc/stat. */
function machineBusyTicks(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  return f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
}

interface CpuUse { userPercent: number; systemPercent: number; cpuPercent: number; machinePercent: number; seconds: number }

async function cpuOver(pid: number, ms: number): Promise<CpuUse> {
  const t0 = performance.now();
  const c0 = cpuTicks(pid);
  const m0 = machineBusyTicks();
  await sleep(ms);
  const seconds = (performance.now() - t0) / 1000;
  const c1 = cpuTicks(pid);
  const m1 = machineBusyTicks();
  const pct = (ticks: number) => (ticks / CLK_TCK / seconds) * 100;
  return {
    userPercent: pct(c1.user - c0.user), systemPercent: pct(c1.system - c0.system), cpuPercent: pct(c1.user + c1.system - c0.user - c0.system),
    machinePercent: pct(m1 - m0), seconds,
  };
}

/** The backend addresses: the lab backend's own, and more on the same link (10.3.1.3 …). */
async function backendAddresses(lab: Lab, n: number): Promise<string[]> {
  const b = lab.backends[0]!;
  const extra = Array.from({ length: n - 1 }, (_, i) => `10.3.1.${i + 3}`);
  for (const a of extra) await lab.exec(b.name, ['ip', 'addr', 'add', `${a}/24`, 'dev', 'eth0']);
  const all = [b.ipv4, ...extra];
  await lab.attachBackendDecap(b.name, { addresses: all });
  return all;
}

export async function runHealthBenchmark(o: HealthBenchmarkOptions = {}): Promise<HealthBenchmarkResult> {
  const services = o.services ?? 1000;
  const backends = o.backendsPerService ?? 16;
  const intervalMs = o.intervalMs ?? 2000;
  const kinds = o.kinds ?? ['tcp', 'http'];
  const warmupMs = o.warmupMs ?? 3 * intervalMs + 2000;
  const windowMs = o.windowMs ?? 20_000;
  const floorWindowMs = o.floorWindowMs ?? 10_000;
  const problems: string[] = [];
  const loadBefore = loadAverage()[0];
  const dir = mkdtempSync(join(tmpdir(), 'xbench-health-'));
  let lab: Lab | undefined;
  let proc: LabProcess | undefined;
  let client: XlbClient | undefined;
  try {
    lab = await Lab.create({ backends: 1, lbNodes: 1, clients: 1, ipv6: false, vips4: [VIP], http: false });
    const addresses = await backendAddresses(lab, backends);
    const responder = lab.spawnNode(lab.backends[0]!.name, HTTP_RESPONDER, ['--port', String(lab.httpPort)]);
    await responder.waitForOutput(/^listening /, 15_000);
    const ctx = lab.lbContext('lb1');
    const socket = join(dir, 'xlb.sock');
    const config = join(dir, 'xlb.yaml');
    writeFileSync(config, stringify({
      instance: `xbh${process.pid}`,
      interfaces: ['eth0'],
      gateway: ctx.gatewayIpv4,
      maglev: { table_size: 4093, seed: 7 },
      maps: { services: Math.max(64, services + 1), backends: Math.max(256, services * backends + 1), flows: 16384 },
      limits: { max_backends_per_service: Math.max(16, backends) },
      api: { listen: `unix://${socket}` },
      metrics: { listen: `127.0.0.1:${9700 + Math.floor(Math.random() * 200)}` },
      state_dir: join(dir, 'state'),
      bpffs_dir: join(lab.pinDir, 'xlbd-health-bench'),
      health: { max_concurrency: MAX_CONCURRENCY },
    }));
    proc = lab.spawn('lb1', [process.execPath, ...(o.nodeArgs ?? []), XLBD_MAIN, '--config', config, '--detach-on-exit'], { keepMounts: true, description: 'xlbd (health benchmark)' });
    await proc.waitForOutput(/ready: /, 120_000);
    client = XlbClient.connect({ server: `unix://${socket}`, timeoutMs: 300_000 });
    const servicesWith = (kind: 'tcp' | 'http' | undefined): Service[] =>
      Array.from({ length: services }, (_, i) => ({
        id: `${VIP}:${1000 + i}/tcp`,
        backends: addresses.map((address) => ({ address })),
        // Every service checks port 80 (the backend's responder) through the tunnel.
        ...(kind ? { healthCheck: { kind, path: kind === 'http' ? '/health' : '', interval: `${intervalMs}ms`, timeout: `${Math.floor(intervalMs / 2)}ms`, port: 80 } } : {}),
      }));
    await client.apply(servicesWith(undefined));
    await sleep(1000);
    const f = await cpuOver(proc.pid!, floorWindowMs);
    const phases: HealthPhase[] = [];
    for (const kind of kinds) {
      await client.apply(servicesWith(undefined)); // every state starts unknown
      await client.apply(servicesWith(kind));
      await sleep(warmupMs);
      const s0 = (await client.getStatus()).health!;
      const cpu = await cpuOver(proc.pid!, windowMs);
      const h = (await client.getStatus()).health!;
      const done = (x: typeof h) => Number(x.probesOk) + Number(x.probesFailed);
      const phaseProblems: string[] = [];
      if (h.checkedBackends !== services * backends) phaseProblems.push(`${h.checkedBackends} backends checked, expected ${services * backends}`);
      if (h.down || h.unknown) phaseProblems.push(`${h.down} backends down and ${h.unknown} unknown at the end (every backend is healthy)`);
      if (h.tunnelError) phaseProblems.push(`tunnel: ${h.tunnelError}`);
      phases.push({
        kind,
        probesPerSecondAsked: (services * backends * 1000) / intervalMs,
        probesPerSecond: (done(h) - done(s0)) / cpu.seconds,
        failedPerSecond: (Number(h.probesFailed) - Number(s0.probesFailed)) / cpu.seconds,
        userPercent: cpu.userPercent,
        systemPercent: cpu.systemPercent,
        cpuPercent: cpu.cpuPercent,
        machinePercent: cpu.machinePercent,
        lateProbes: Number(h.lateProbes) - Number(s0.lateProbes),
        states: { up: h.up, down: h.down, unknown: h.unknown },
        windowSeconds: cpu.seconds,
        problems: phaseProblems,
      });
    }
    client.close();
    client = undefined;
    await proc.stop('SIGTERM', 30_000);
    proc = undefined;
    const probeCost = o.probeCost === false ? undefined : await runProbeCost(o.probeCost);
    return {
      ...(probeCost ? { probeCost } : {}),
      method: `xlbd with ${services} services × ${backends} backends (${backends} addresses of one lab backend host), checks every ${intervalMs} ms ` +
        `through the probe tunnel, health.max_concurrency ${MAX_CONCURRENCY}; CPU = user and system time of the xlbd process over ${(windowMs / 1000).toFixed(0)} s, ` +
        'in % of one core (system time includes the lab\'s router and backend kernel work run in its context by veth); floor: the same services without checks',
      services,
      backendsPerService: backends,
      intervalMs,
      maxConcurrency: MAX_CONCURRENCY,
      floor: { userPercent: f.userPercent, systemPercent: f.systemPercent, cpuPercent: f.cpuPercent, machinePercent: f.machinePercent },
      phases,
      loadBefore,
      loadAfter: loadAverage()[0],
      problems,
    };
  } finally {
    client?.close();
    await proc?.stop('SIGTERM', 30_000);
    await lab?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function healthMarkdown(r: HealthBenchmarkResult): string {
  const pct = (x: { userPercent: number; systemPercent: number; cpuPercent: number }) =>
    `${x.cpuPercent.toFixed(1)} % of one core (user ${x.userPercent.toFixed(1)}, system ${x.systemPercent.toFixed(1)})`;
  // Above the floor, per probe done: the figure that survives a busy machine (the rate does not).
  const perProbe = (p: HealthPhase) =>
    p.probesPerSecond > 0 ? `${((((p.cpuPercent - r.floor.cpuPercent) / 100) * 1e6) / p.probesPerSecond).toFixed(0)} µs` : '';
  const lines = [
    `${r.method}. Load average ${r.loadBefore.toFixed(2)} → ${r.loadAfter.toFixed(2)}.`,
    '',
    '| checks | xlbd CPU | xlbd CPU per probe | machine CPU | probes per second | waited for a slot | backends at the end |',
    '|:---|:---|:---|:---|:---|:---|:---|',
    `| none (floor) | ${pct(r.floor)} | | ${r.floor.machinePercent.toFixed(0)} % | | | |`,
    ...r.phases.map(
      (p) =>
        `| ${p.kind}, ${r.services} × ${r.backendsPerService} every ${r.intervalMs / 1000} s | ${pct(p)} | ${perProbe(p)} | ${p.machinePercent.toFixed(0)} % | ${p.probesPerSecond.toFixed(0)} of ${p.probesPerSecondAsked.toFixed(0)} ` +
        `(${p.failedPerSecond.toFixed(1)}/s failed) | ${p.lateProbes} | ${p.states.up} up, ${p.states.down} down, ${p.states.unknown} unknown |`,
    ),
  ];
  const problems = [...r.problems, ...r.phases.flatMap((p) => p.problems.map((x) => `${p.kind}: ${x}`))];
  if (problems.length) lines.push('', `Problems: ${problems.join('; ')}`);
  if (r.probeCost) lines.push('', probeCostMarkdown(r.probeCost));
  return lines.join('\n');
}
