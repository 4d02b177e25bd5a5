// Group 1, second mode — the hot loop, and the executed-instruction count of every case.
//
// Hot loop: one case at a time, `callsPerRun` BPF_PROG_TEST_RUN calls back to back from C
// (BpfProgram.testRunLoop: repeat = 1 per call, no JavaScript, allocation or copy-out between
// calls), the thread pinned to one CPU. The kernel's own duration of each call is kept; per run and
// case, the mean of the calls ≤ 2 × their median (trimmedMean). The XDP_PASS and XDP_TX (+ MAC swap)
// floors are measured the same way in the same runs, and every run calls the cases in a new random
// order. This is the steady state of one packet kind — the program, its maps and the packet stay in
// the CPU's caches — so it shows the instruction path's cost with little cache-miss noise. The mixed
// mode (datapath.ts) interleaves every case call by call from JavaScript: each call pays for what
// the other cases evicted, closer to real traffic of several kinds.
//
// The baseline rows run xlb as it was at 84970d5 (test/lab/baseline.ts, a fixed object file) with
// the same services, backends, Maglev size and packets, so every xlb figure also has a ratio to
// "today's" code measured in the same run.
//
// Executed instructions: every case's packet through an interpreter of the program's xlated code
// (benchmarks/lib/bpf-interp.ts) against its live maps; the verdict and output frame must equal what
// the kernel returned for the same packet. Machine-independent: a regression shows even where timing
// is noise.
import { cpus } from 'node:os';
import type { BpfProgram } from '../bpf/libbpf-ts/index.js';
import { Machine } from './lib/bpf-interp.js';
import { summarize, type Summary } from './lib/stats.js';
import { trimmedMean } from './lib/trimmed.js';

export interface HotCase {
  name: string;
  description: string;
  program: BpfProgram;
  expectRetval: number;
  /** The packet; with mutateOffset, the call number (big-endian u32) is written there per call. */
  data: Buffer;
  mutateOffset?: number;
  /** 'floor.pass' / 'floor.txSwap' for a floor itself; else the case it is compared with (baseline). */
  role: 'floor.pass' | 'floor.txSwap' | 'case';
  /** The baseline case (84970d5) this one is compared with. */
  baseline?: string;
}

export interface HotCaseResult {
  name: string;
  description: string;
  /** Median over runs of the case's trimmed mean, ns per call. */
  nsPerCall: number;
  /** Median over runs of (case − XDP_PASS floor of the same run), and min–max over runs. */
  abovePassNs: number;
  abovePassMinNs: number;
  abovePassMaxNs: number;
  /** Median over runs of (case − XDP_TX floor of the same run). */
  aboveTxNs: number;
  /** Median over runs of (case − pass) / (baseline − pass): the 84970d5 ratio. */
  ratioToBaseline: number | undefined;
  baseline: string | undefined;
  /** Calls that returned another verdict (must be 0). */
  mismatches: number;
}

export interface HotLoopResult {
  method: string;
  cpu: number;
  runs: number;
  callsPerRun: number;
  floors: { pass: Summary; txSwap: Summary };
  cases: HotCaseResult[];
}

export function runHotLoop(cases: HotCase[], o: { runs: number; callsPerRun: number; warmupCalls: number; cpu?: number }): HotLoopResult {
  const cpu = o.cpu ?? cpus().length - 1;
  const pass = cases.find((c) => c.role === 'floor.pass');
  const tx = cases.find((c) => c.role === 'floor.txSwap');
  if (!pass || !tx) throw new Error('runHotLoop: needs an XDP_PASS and an XDP_TX floor case');
  // Every call of a mutating case gets a number of its own across warm-up and runs (a fresh 5-tuple).
  const next = new Map<string, number>(cases.map((c) => [c.name, 0x0b000000]));
  const mismatches = new Map<string, number>(cases.map((c) => [c.name, 0]));
  const loop = (c: HotCase, count: number): Uint32Array => {
    const start = next.get(c.name)!;
    next.set(c.name, start + count);
    const r = c.program.testRunLoop({
      data: c.data, count, expectRetval: c.expectRetval, cpu, ...(c.mutateOffset !== undefined ? { mutateOffset: c.mutateOffset, mutateStart: start } : {}),
    });
    mismatches.set(c.name, mismatches.get(c.name)! + r.mismatches);
    return r.durations;
  };
  for (const c of cases) if (o.warmupCalls > 0) loop(c, o.warmupCalls);
  for (const c of cases) mismatches.set(c.name, 0);

  let seed = 0x51ed270b;
  const random = () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
  const perRun = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let run = 0; run < o.runs; run++) {
    const order = [...cases];
    for (let j = order.length - 1; j > 0; j--) {
      const k = Math.floor(random() * (j + 1));
      [order[j], order[k]] = [order[k]!, order[j]!];
    }
    for (const c of order) perRun.get(c.name)!.push(trimmedMean(Array.from(loop(c, o.callsPerRun))));
  }

  const runsOf = (name: string) => perRun.get(name)!;
  const passRuns = runsOf(pass.name);
  const txRuns = runsOf(tx.name);
  const results: HotCaseResult[] = [];
  for (const c of cases) {
    if (c.role !== 'case') continue;
    const mine = runsOf(c.name);
    const abovePass = summarize(mine.map((v, r) => v - passRuns[r]!));
    const base = c.baseline ? runsOf(c.baseline) : undefined;
    results.push({
      name: c.name,
      description: c.description,
      nsPerCall: summarize(mine).median,
      abovePassNs: abovePass.median,
      abovePassMinNs: abovePass.min,
      abovePassMaxNs: abovePass.max,
      aboveTxNs: summarize(mine.map((v, r) => v - txRuns[r]!)).median,
      ratioToBaseline: base ? summarize(mine.map((v, r) => (v - passRuns[r]!) / (base[r]! - passRuns[r]!))).median : undefined,
      baseline: c.baseline,
      mismatches: mismatches.get(c.name)!,
    });
  }
  return {
    method:
      `BpfProgram.testRunLoop: ${o.callsPerRun} BPF_PROG_TEST_RUN calls (repeat=1) back to back from C per case and run, ` +
      `pinned to CPU ${cpu}; per run: mean of the calls ≤ 2 × median; floors measured the same way in the same runs; ` +
      'reported: median over runs of (case − floor), and of (case − pass) / (baseline − pass)',
    cpu,
    runs: o.runs,
    callsPerRun: o.callsPerRun,
    floors: { pass: summarize(passRuns), txSwap: summarize(txRuns) },
    cases: results,
  };
}

export interface InstructionCount {
  name: string;
  /** Executed BPF instructions for the packet (xlated code; an ld_imm64 counts once). */
  executed: number;
  /** Size of the program's xlated code (all paths). */
  xlated: number;
  /** The interpreter's verdict and frame equal the kernel's for the same packet. */
  agrees: boolean;
}

/**
 * Executed instructions of each packet. `warm`: sent through the kernel first (e.g. the same
 * established segment, so the flow entry exists); the counted packet then runs in the interpreter
 * and, for the comparison, in the kernel.
 */
export function countInstructions(
  program: BpfProgram,
  packets: { name: string; frame: Buffer; warm?: Buffer }[],
): InstructionCount[] {
  const m = new Machine(program.id);
  try {
    return packets.map((p) => {
      if (p.warm) program.testRun({ data: p.warm, repeat: 1 });
      const r = m.run(p.frame);
      const k = program.testRun({ data: p.frame, repeat: 1 });
      return { name: p.name, executed: r.instructions, xlated: m.insns.length, agrees: r.retval === k.retval && r.frame.equals(k.data) };
    });
  } finally {
    m.close();
  }
}

export function hotLoopMarkdown(h: HotLoopResult, instructions: Map<string, InstructionCount>): string {
  const lines = [
    `Hot loop: ${h.runs} runs × ${h.callsPerRun} back-to-back calls per case from C (repeat=1), pinned to CPU ${h.cpu}; ` +
      `floors measured the same way: XDP_PASS ${h.floors.pass.median.toFixed(1)} ns, XDP_TX+swap ${h.floors.txSwap.median.toFixed(1)} ns per call (median over runs).`,
    '',
    '| case | ns above XDP_PASS | runs min–max | ns above XDP_TX | × 84970d5 (above XDP_PASS) | executed insns | |',
    '|:---|---:|---:|---:|---:|---:|:---|',
  ];
  for (const c of h.cases) {
    const n = instructions.get(c.name);
    const problems = [c.mismatches ? `${c.mismatches} calls with another verdict` : '', n && !n.agrees ? 'interpreter disagrees with the kernel' : '']
      .filter(Boolean)
      .join('; ');
    lines.push(
      `| ${c.description} | ${c.abovePassNs.toFixed(1)} | ${c.abovePassMinNs.toFixed(1)} – ${c.abovePassMaxNs.toFixed(1)} | ${c.aboveTxNs.toFixed(1)} | ` +
        `${c.ratioToBaseline === undefined ? '' : c.ratioToBaseline.toFixed(2)} | ${n ? n.executed : ''} | ${problems ? `not trusted: ${problems}` : ''} |`,
    );
  }
  return lines.join('\n');
}
