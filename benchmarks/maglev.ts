// How long building a Maglev table takes on the control plane's hot path (a backend changes →
// every node rebuilds the service's table). Reported as median and p10/p90 over many runs, and as a
// ratio to a floor measured in the same run: filling a Uint32Array of M entries round-robin —
// touching the table once — so the figure stays comparable across machines.
//
//   npx tsc -p tsconfig.json && node dist/benchmarks/maglev.js [--runs 21] [--json]
import { cpus, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { buildMaglevTable, type MaglevBackend } from '../lb/maglev/index.js';
import { fmt, summarize, timeOnce, type Summary } from './lib/stats.js';

export type WeightPattern = 'equal' | 'mixed' | 'wide';

export interface MaglevBenchmarkOptions {
  /** Table sizes; default 16381, 65537, 131071. */
  sizes?: number[];
  /** Backend counts; default 10, 100, 1000. */
  backendCounts?: number[];
  /** Weight patterns; default all three. 'mixed' cycles weights 1, 2, 3, 5 (the turn pattern
   *  repeats and is replayed); 'wide' spreads weights over 100 … 999 (with 1000 backends its
   *  period is longer than the table, so every turn is sorted: the slower path). */
  weights?: WeightPattern[];
  /** Measured runs per case (after warm-up); default 21, at least 15 recommended. */
  runs?: number;
  /** Unmeasured runs per case first, so the JIT has compiled the code; default 5. */
  warmup?: number;
}

export interface MaglevBenchmarkRow {
  size: number;
  backends: number;
  weights: WeightPattern;
  /** buildMaglevTable, ms */
  build: Summary;
  /** fill a preallocated Uint32Array(size) round-robin, ms */
  floor: Summary;
  /** build median / floor median */
  ratioMedian: number;
  /** build p10 and p90 over the floor median */
  ratioP10: number;
  ratioP90: number;
}

export interface MaglevBenchmarkResult {
  node: string;
  platform: string;
  cpu: string;
  /** 1-minute load average before and after: on a shared machine, read the figures with it. */
  loadBefore: number;
  loadAfter: number;
  runs: number;
  warmup: number;
  rows: MaglevBenchmarkRow[];
}

function weightOf(pattern: WeightPattern, i: number): number {
  if (pattern === 'equal') return 1;
  if (pattern === 'mixed') return [1, 2, 3, 5][i % 4]!;
  return 100 + ((i * 7919) % 900);
}

function backendsOf(n: number, pattern: WeightPattern): MaglevBackend[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    id: i,
    weight: weightOf(pattern, i),
  }));
}

let sink = 0; // keeps the floor loop's result observable so it is not optimised away

// The floor writes into a table allocated once per case: a fresh large allocation costs page
// faults whose price swings with the allocator's state and made the floor itself the noisiest
// number in the report.
function floorFill(table: Uint32Array, ids: number): void {
  const size = table.length;
  for (let slot = 0, id = 0; slot < size; slot++) {
    table[slot] = id;
    if (++id === ids) id = 0;
  }
  sink ^= table[size - 1]!;
}

export function runMaglevBenchmark(opts: MaglevBenchmarkOptions = {}): MaglevBenchmarkResult {
  const sizes = opts.sizes ?? [16381, 65537, 131071];
  const counts = opts.backendCounts ?? [10, 100, 1000];
  const patterns = opts.weights ?? (['equal', 'mixed', 'wide'] as WeightPattern[]);
  const runs = opts.runs ?? 21;
  const warmup = opts.warmup ?? 5;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs: ${runs} is not a positive integer`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`warmup: ${warmup} is not a non-negative integer`);
  const loadBefore = loadavg()[0]!;
  const rows: MaglevBenchmarkRow[] = [];

  for (const weights of patterns) {
    for (const size of sizes) {
      for (const n of counts) {
        const backends = backendsOf(n, weights);
        const floorTable = new Uint32Array(size);
        for (let i = 0; i < warmup; i++) {
          floorFill(floorTable, n);
          sink ^= buildMaglevTable({ backends, size }).table[0]!;
        }
        // Interleave floor and build samples so both see the same machine conditions.
        const floorSamples: number[] = [];
        const buildSamples: number[] = [];
        for (let i = 0; i < runs; i++) {
          floorSamples.push(timeOnce(() => floorFill(floorTable, n)));
          buildSamples.push(timeOnce(() => (sink ^= buildMaglevTable({ backends, size }).table[0]!)));
        }
        const build = summarize(buildSamples);
        const floor = summarize(floorSamples);
        rows.push({
          size,
          backends: n,
          weights,
          build,
          floor,
          ratioMedian: build.median / floor.median,
          ratioP10: build.p10 / floor.median,
          ratioP90: build.p90 / floor.median,
        });
      }
    }
  }
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    loadBefore,
    loadAfter: loadavg()[0]!,
    runs,
    warmup,
    rows,
  };
}

export function toMarkdown(result: MaglevBenchmarkResult): string {
  const lines = [
    `Maglev table build, ${result.node} ${result.platform}, ${result.cpu}, ${result.runs} runs after ` +
      `${result.warmup} warm-up; load average ${result.loadBefore.toFixed(2)} → ${result.loadAfter.toFixed(2)}`,
    '',
    '| M | N | weights | build median ms | p10 ms | p90 ms | floor median ms | × floor (median) | × floor (p10–p90) |',
    '|---:|---:|:---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of result.rows) {
    lines.push(
      `| ${r.size} | ${r.backends} | ${r.weights} | ${fmt(r.build.median)} | ${fmt(r.build.p10)} | ${fmt(r.build.p90)} | ` +
        `${fmt(r.floor.median)} | ${fmt(r.ratioMedian)} | ${fmt(r.ratioP10)}–${fmt(r.ratioP90)} |`,
    );
  }
  return lines.join('\n');
}

function flagValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const runsFlag = flagValue(args, '--runs');
  const runs = runsFlag === undefined ? undefined : Number(runsFlag);
  if (runs !== undefined && !(Number.isInteger(runs) && runs >= 1)) {
    console.error(`--runs: ${runsFlag} is not a positive integer`);
    process.exit(2);
  }
  const result = runMaglevBenchmark({ runs });
  console.log(args.includes('--json') ? JSON.stringify(result, null, 2) : toMarkdown(result));
}
