// What the packet recorder costs per packet in xlb's XDP program (when no recording is active the
// capture path must cost (almost) nothing per packet).
//
// Method: the one of benchmarks/datapath.ts — BPF_PROG_TEST_RUN, repeat = 1, one IPv4 TCP packet
// of an established flow per call (→ IPIP, XDP_TX), kernel-reported duration per call, all cases
// interleaved call by call, per run the mean of calls ≤ 2 × median, reported as the median over
// runs (min–max). The baseline is the same xlb_lb.c compiled with -DXLB_RECORDER_OFF (the two hook
// calls compiled out, maps kept), loaded and configured identically; every case is reported as ns
// above that baseline. Each case has its own datapath instance, so each has its own recorder state
// (rules, recordings) while the calls interleave. The ring is drained between calls (outside the
// measured time) so "matching" cases measure a successful copy to the ring, and the kernel's
// matched / lost counters are checked afterwards.
//
//   node --import ./test/lab/ts-register.mjs benchmarks/recorder-cost.ts [--runs 5] [--calls 20000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LbDatapath } from '../lb/datapath/index.js';
import { compileBpfVariant, ETH_P_IP, ether, ipv4, PROTO_TCP, tcp } from '../test/lab/index.js';
import { Recorder, type RecordingRequest, type RecordingSession } from '../recorder/index.js';
import { trimmedMean } from './lib/trimmed.js';
import { describeMachine, loadAverage, machineLine } from './lib/machine.js';
import { fmt, summarize, type Summary } from './lib/stats.js';

const XDP_TX = 3;
const IF_MAC = '02:00:00:00:00:01';
const GW_MAC = '02:00:00:00:00:02';
const CLIENT_MAC = '02:00:00:00:00:09';
const VIP4 = '10.100.0.10';
const CLIENT = '10.1.0.2';

export interface RecorderBenchmarkOptions {
  runs?: number;
  callsPerRun?: number;
  warmupCalls?: number;
  /** Drain the ring every this many calls per case (outside the measured time); default 500. */
  drainEvery?: number;
}

export interface RecorderCaseResult {
  name: string;
  description: string;
  /** ns per packet above the recorder-compiled-out baseline: median over runs (min–max). */
  aboveBaselineNs: number;
  minNs: number;
  maxNs: number;
  raw: Summary;
  problems: string[];
}

export interface RecorderBenchmarkResult {
  method: string;
  runs: number;
  callsPerRun: number;
  loadBefore: number;
  loadAfter: number;
  baseline: Summary;
  cases: RecorderCaseResult[];
}

interface Instance {
  dp: LbDatapath;
  recorder: Recorder;
  sessions: RecordingSession[];
}

function frame(payload: number): Buffer {
  const seg = tcp({ src: CLIENT, dst: VIP4, sport: 40000, dport: 80, flags: 0x10, payload: Buffer.alloc(payload, 0x61) });
  return ether({ dst: IF_MAC, src: CLIENT_MAC }, ETH_P_IP, ipv4({ src: CLIENT, dst: VIP4, proto: PROTO_TCP }, seg));
}

/** xlb_lb.c with the recorder hooks compiled out, built like bpf/Makefile builds the real one
 *  (also the baseline of benchmarks/datapath.ts's inactive-recorder figure). */
export function buildBaselineObject(dir: string): string {
  return compileBpfVariant('lb/xlb_lb.c', join(dir, 'xlb_lb_recorder_off.o'), ['-DXLB_RECORDER_OFF']);
}

function instance(objectPath: string | undefined): Instance {
  const dp = LbDatapath.load({ seed: 0x5eed, maxServices: 64, maxBackends: 256, flowTableSize: 1 << 16, ...(objectPath ? { objectPath } : {}) });
  try {
    dp.setConfig({ ifMac: IF_MAC, gatewayMac: GW_MAC, sourceV4: '10.255.0.1' });
    dp.upsertService({ id: 1, vip: VIP4, port: 80, protocol: 'tcp' });
    dp.setBackends(1, Array.from({ length: 16 }, (_, i) => ({ id: 100 + i, address: `10.3.0.${i + 2}`, weight: 1 })));
    const recorder = Recorder.forDatapath(dp, { statsIntervalMs: 3_600_000, settleMs: 1 });
    return { dp, recorder, sessions: [] };
  } catch (e) {
    dp.close();
    throw e;
  }
}

const nullSink = { data: () => {}, stats: () => {}, end: () => {} };

function startRecording(inst: Instance, req: RecordingRequest): void {
  inst.sessions.push(inst.recorder.start(req, nullSink));
}

/** n filters that never match CLIENT (other /24s). */
const missing = (n: number) => Array.from({ length: n }, (_, i) => ({ srcCidr: `10.${200 + (i >> 8)}.${i & 255}.0/24` }));

interface Case {
  name: string;
  description: string;
  inst: Instance;
  packet: Buffer;
  /** records each call should produce (checked against the kernel's counters) */
  recordsPerCall: number;
}

export async function runRecorderBenchmark(o: RecorderBenchmarkOptions = {}): Promise<RecorderBenchmarkResult> {
  const runs = o.runs ?? 5;
  const callsPerRun = o.callsPerRun ?? 20000;
  const warmupCalls = o.warmupCalls ?? 2000;
  const drainEvery = o.drainEvery ?? 500;
  const dir = mkdtempSync(join(tmpdir(), 'xlb-bench-rec-'));
  const instances: Instance[] = [];
  const make = (objectPath?: string) => {
    const i = instance(objectPath);
    instances.push(i);
    return i;
  };
  try {
    const loadBefore = loadAverage()[0];
    const small = frame(0); // 54-byte ACK
    const big = frame(1000);
    const baselineObj = buildBaselineObject(dir);
    const baseline = { name: 'baseline', inst: make(baselineObj), packet: small };
    const aa = make(baselineObj);
    const off = make();
    const scan1 = make();
    startRecording(scan1, { filters: missing(1) });
    const scan128 = make();
    startRecording(scan128, { filters: missing(64) });
    startRecording(scan128, { filters: missing(64) });
    const match64 = make();
    startRecording(match64, { filters: [{ srcCidr: CLIENT }], snaplen: 64, points: 'ingress' });
    const matchFull = make();
    startRecording(matchFull, { filters: [{ srcCidr: CLIENT }], points: 'ingress' });
    const matchBoth = make();
    startRecording(matchBoth, { filters: [{ srcCidr: CLIENT }], points: 'both' });
    const cases: Case[] = [
      { name: 'aa', description: 'A/A: the baseline measured as a case (method noise, ideally 0)', inst: aa, packet: small, recordsPerCall: 0 },
      { name: 'off', description: 'recorder built in, no recording active', inst: off, packet: small, recordsPerCall: 0 },
      { name: 'scan1', description: '1 rule active, not matching', inst: scan1, packet: small, recordsPerCall: 0 },
      { name: 'scan128', description: '128 rules active (2 recordings), none matching', inst: scan128, packet: small, recordsPerCall: 0 },
      { name: 'match64', description: 'matching, ingress, snaplen 64 (54-byte frame)', inst: match64, packet: small, recordsPerCall: 1 },
      { name: 'matchFull1k', description: 'matching, ingress, whole 1054-byte frame', inst: matchFull, packet: big, recordsPerCall: 1 },
      { name: 'matchBoth1k', description: 'matching, ingress + egress, whole frames (1054 + 1074 bytes)', inst: matchBoth, packet: big, recordsPerCall: 2 },
    ];
    const all = [{ ...baseline, description: 'baseline', recordsPerCall: 0 }, ...cases];
    const reversed = [...all].reverse();
    const problems = new Map<string, string[]>(all.map((c) => [c.name, []]));
    const call = (c: (typeof all)[number]): number => {
      const r = c.inst.dp.program.testRun({ data: c.packet, repeat: 1 });
      if (r.retval !== XDP_TX) {
        const p = problems.get(c.name)!;
        if (p.length < 3) p.push(`verdict ${r.retval}, expected XDP_TX`);
      }
      return r.durationNs;
    };
    for (let i = 0; i < warmupCalls; i++) {
      for (const c of all) call(c);
      if (i % drainEvery === 0) for (const c of all) c.inst.recorder.drain();
    }
    for (const c of all) c.inst.recorder.drain();
    const countersBefore = cases.map((c) => c.inst.sessions.map((s) => c.inst.recorder.tables.counters(slotOf(c.inst, s))));
    const samples = new Map<string, number[][]>(all.map((c) => [c.name, []]));
    for (let run = 0; run < runs; run++) {
      const perRun = new Map<string, number[]>(all.map((c) => [c.name, new Array<number>(callsPerRun)]));
      for (let i = 0; i < callsPerRun; i++) {
        // Alternate the order: a case's position in the round would otherwise bias it (the first
        // call after the previous round's last differs measurably from the others).
        for (const c of i % 2 ? all : reversed) perRun.get(c.name)![i] = call(c);
        if (i % drainEvery === drainEvery - 1) for (const c of all) c.inst.recorder.drain();
      }
      for (const c of all) samples.get(c.name)!.push(perRun.get(c.name)!);
    }
    for (const c of all) c.inst.recorder.drain();
    // The kernel's account: every call of a matching case was recorded, none lost.
    cases.forEach((c, ci) => {
      let matched = 0n;
      let lost = 0n;
      c.inst.sessions.forEach((s, si) => {
        const now = c.inst.recorder.tables.counters(slotOf(c.inst, s));
        matched += now.matched - countersBefore[ci]![si]!.matched;
        lost += now.lost - countersBefore[ci]![si]!.lost;
      });
      const want = BigInt(runs * callsPerRun * c.recordsPerCall);
      if (matched !== want) problems.get(c.name)!.push(`kernel matched ${matched} records, expected ${want}`);
      if (lost !== 0n) problems.get(c.name)!.push(`${lost} records lost (ring full between drains)`);
    });

    const base = samples.get('baseline')!;
    return {
      method:
        'BPF_PROG_TEST_RUN, repeat=1, IPv4 TCP established flow → IPIP; baseline = xlb_lb built with -DXLB_RECORDER_OFF; ' +
        'cases interleaved call by call in alternating order, one datapath instance each; per run: case mean − baseline mean over calls ≤ 2 × median; ' +
        'reported: median over runs (min–max)',
      runs,
      callsPerRun,
      loadBefore,
      loadAfter: loadAverage()[0],
      baseline: summarize(base.flat()),
      cases: cases.map((c) => {
        const d = summarize(samples.get(c.name)!.map((s, r) => trimmedMean(s) - trimmedMean(base[r]!)));
        return {
          name: c.name,
          description: c.description,
          aboveBaselineNs: d.median,
          minNs: d.min,
          maxNs: d.max,
          raw: summarize(samples.get(c.name)!.flat()),
          problems: problems.get(c.name)!,
        };
      }),
    };
  } finally {
    for (const i of instances) {
      try {
        await i.recorder.close();
      } finally {
        i.dp.close();
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The kernel slot of a session (the benchmark reads the per-slot counters directly). */
function slotOf(inst: Instance, s: RecordingSession): number {
  return inst.recorder.slotOf(s.id)!;
}

export function recorderMarkdown(r: RecorderBenchmarkResult): string {
  const lines = [
    `Recorder cost per packet, BPF_PROG_TEST_RUN (repeat=1), ${r.runs} runs × ${r.callsPerRun} calls per case; ` +
      `baseline (recorder compiled out) ${fmt(r.baseline.median)} ns per call (median). Load average ${r.loadBefore.toFixed(2)} → ${r.loadAfter.toFixed(2)}.`,
    '',
    '| case | ns above baseline | runs min–max | |',
    '|:---|---:|---:|:---|',
  ];
  for (const c of r.cases) {
    lines.push(`| ${c.description} | ${c.aboveBaselineNs.toFixed(1)} | ${c.minNs.toFixed(1)} – ${c.maxNs.toFixed(1)} | ${c.problems.length ? `not trusted: ${c.problems.join('; ')}` : ''} |`);
  }
  return lines.join('\n');
}

// Run directly: print the table (and the JSON with --json).
if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, calls: { type: 'string' }, json: { type: 'boolean' } } });
  const r = await runRecorderBenchmark({
    ...(values.runs ? { runs: Number(values.runs) } : {}),
    ...(values.calls ? { callsPerRun: Number(values.calls) } : {}),
  });
  const machine = describeMachine();
  process.stdout.write(values.json ? `${JSON.stringify({ machine, ...r }, null, 2)}\n` : `${machineLine(machine)}\n\n${recorderMarkdown(r)}\n`);
}
