// The benchmark groups `npm run bench` knows, their full and quick (smoke) settings, and what each
// needs before it can run. A group that cannot run on this machine says why instead of a number.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { bpfObjectPath } from '../bpf/objects.js';
import { runDatapathBenchmark, type DatapathBenchmarkResult } from './datapath.js';
import { runMaglevBenchmark, type MaglevBenchmarkResult } from './maglev.js';
import { runThroughputBenchmark, type ThroughputBenchmarkResult } from './throughput.js';
import { runControlBenchmark, type ControlBenchmarkResult } from './control.js';
import { XLB_CLI_MAIN, XLBD_MAIN } from './lib/xlbd.js';
import { runCaptureBenchmark, type CaptureBenchmarkResult } from './recorder.js';
import { runHealthBenchmark, type HealthBenchmarkResult } from './health.js';

export const GROUP_NAMES = ['datapath', 'throughput', 'maglev', 'control', 'recorder', 'health'] as const;
export type GroupName = (typeof GROUP_NAMES)[number];

export interface GroupResults {
  datapath: DatapathBenchmarkResult;
  throughput: ThroughputBenchmarkResult;
  maglev: MaglevBenchmarkResult;
  control: ControlBenchmarkResult;
  recorder: CaptureBenchmarkResult;
  health: HealthBenchmarkResult;
}

export type GroupOutcome<T> =
  | { status: 'measured'; seconds: number; result: T }
  | { status: 'not measured'; reason: string }
  | { status: 'failed'; seconds: number; error: string };

export type Outcomes = { [G in GroupName]?: GroupOutcome<GroupResults[G]> };

function onPath(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function missingObjects(names: string[]): string | undefined {
  const missing = names.filter((n) => !existsSync(bpfObjectPath(n)));
  return missing.length ? `BPF objects missing (${missing.join(', ')}): run npm run build first` : undefined;
}

function needsRoot(): string | undefined {
  return process.getuid?.() === 0 ? undefined : 'needs root (BPF programs, network namespaces)';
}

interface GroupSpec<T> {
  title: string;
  /** Why it cannot run here, or undefined. */
  unavailable(): string | undefined;
  run(quick: boolean): Promise<T> | T;
}

export const GROUPS: { [G in GroupName]: GroupSpec<GroupResults[G]> } = {
  datapath: {
    title: '1. Datapath cost per packet (BPF_PROG_TEST_RUN)',
    unavailable: () => needsRoot() ?? missingObjects(['xlb_lb', 'xdp_pass', 'bench_xdp_tx_swap']),
    // The recorder rows need clang (the recorder-off baseline is compiled at run time).
    run: (quick) =>
      runDatapathBenchmark({
        ...(quick ? { runs: 2, callsPerRun: 200, warmupCalls: 50, hotLoop: { runs: 2, callsPerRun: 500, warmupCalls: 100 } } : {}),
        recorder: onPath('clang'),
      }),
  },
  throughput: {
    title: '2. End-to-end forwarding rate (trafgen, veth, native XDP)',
    unavailable: () =>
      needsRoot() ??
      missingObjects(['xlb_lb', 'bench_xdp_tx_swap', 'bench_xdp_tx_encap', 'bench_xdp_count_drop']) ??
      (onPath('trafgen') ? undefined : 'trafgen not found (Debian package netsniff-ng)'),
    run: (quick) =>
      runThroughputBenchmark(
        quick ? { rounds: 1, windowMs: 200, settleMs: 50, backendCounts: [16], serviceCounts: [1, 3] } : {},
      ),
  },
  maglev: {
    title: '3. Maglev table build',
    unavailable: () => undefined,
    run: (quick) => runMaglevBenchmark(quick ? { runs: 2, warmup: 1, sizes: [16381], backendCounts: [10], weights: ['equal'] } : {}),
  },
  control: {
    title: '4. Control plane (xlbd over gRPC)',
    unavailable: () =>
      needsRoot() ??
      missingObjects(['xlb_lb']) ??
      (existsSync(XLBD_MAIN) ? undefined : `${XLBD_MAIN} missing: run npm run build first`),
    run: (quick) =>
      runControlBenchmark(quick ? { services: 20, largeServices: 40, backendsPerService: 4, changes: 4, creates: 5, restarts: 1, coldStarts: 1, scrapes: 2 } : {}),
  },
  recorder: {
    title: '5. Recorder: zero-loss capture rate, compared with xdpdump',
    unavailable: () =>
      needsRoot() ??
      missingObjects(['xlb_lb', 'bench_xdp_count_drop']) ??
      (existsSync(XLBD_MAIN) ? undefined : `${XLBD_MAIN} missing: run npm run build first`) ??
      (existsSync(XLB_CLI_MAIN) ? undefined : `${XLB_CLI_MAIN} missing: run npm run build first`) ??
      (onPath('trafgen') ? undefined : 'trafgen not found (Debian package netsniff-ng)') ??
      (onPath('tshark') ? undefined : 'tshark not found (Debian package tshark; the live row)') ??
      (onPath('xdpdump') ? undefined : 'xdpdump not found (Debian package xdp-tools)') ??
      (onPath('clang') ? undefined : 'clang not found (builds the recorder-off baseline)'),
    run: (quick) =>
      runCaptureBenchmark(
        quick
          ? {
              trialMs: 100, startPps: 2000, maxPps: 4000, bisectSteps: 0, snaplens: [128], fullSpeedFrames: 20_000,
              perPacket: { runs: 1, callsPerRun: 20, warmupCalls: 5, instances: 1 },
            }
          : {},
      ),
  },
  health: {
    title: '6. Health checks at scale (xlbd CPU)',
    unavailable: () =>
      needsRoot() ??
      missingObjects(['xlb_lb', 'xlb_health', 'xlb_decap', 'xdp_pass']) ??
      (existsSync(XLBD_MAIN) ? undefined : `${XLBD_MAIN} missing: run npm run build first`),
    run: (quick) =>
      runHealthBenchmark(quick ? { services: 10, backendsPerService: 2, intervalMs: 500, warmupMs: 2000, windowMs: 2000, floorWindowMs: 1000, probeCost: { services: 10, warmupMs: 1000, windowMs: 1000 } } : {}),
  },
};

export async function runGroup<G extends GroupName>(name: G, quick: boolean): Promise<GroupOutcome<GroupResults[G]>> {
  const spec = GROUPS[name];
  const reason = spec.unavailable();
  if (reason) return { status: 'not measured', reason };
  const t0 = performance.now();
  try {
    const result = await spec.run(quick);
    return { status: 'measured', seconds: (performance.now() - t0) / 1000, result };
  } catch (e) {
    return { status: 'failed', seconds: (performance.now() - t0) / 1000, error: (e as Error).stack ?? String(e) };
  }
}
