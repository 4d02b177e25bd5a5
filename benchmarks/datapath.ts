// Group 1 — what one packet costs in xlb's XDP program, measured with BPF_PROG_TEST_RUN.
//
// One packet per call, repeat = 1, many calls. The kernel times each call itself (net/bpf/
// test_run.c: ktime_get_ns() before the run loop and after the first iteration, divided by the
// iteration count, 1 here), so the figure covers the program run plus a fixed harness cost (two
// clock reads, bh disable/enable, the dispatcher call) and none of the syscall or the packet copy.
// The harness cost is removed by subtracting floor programs measured the same way, interleaved call
// by call with the cases: XDP_PASS for packets xlb passes, XDP_TX with a MAC swap for packets it
// forwards. repeat > 1 is not an option: later iterations would see the packet the previous one
// rewrote (already encapsulated), see /work/shared/platform-notes.md.
//
// This is the "mixed" mode. The hot-loop mode (datapath-hot.ts: each case back to back from C,
// pinned to one CPU) and the executed-instruction count of every case run in the same group and
// are reported beside it; both modes carry baseline rows, xlb as it was at 84970d5 (before the
// datapath work of issue #9) with the same services and packets, and the ratio to them.
//
// Recorder rows are differences between two xlb instances fed the same packets: one recording
// with one rule (matching the packet, or not) against the same case with no recording; and the
// inactive recorder against xlb_lb.c compiled with XLB_RECORDER_OFF (hooks compiled out). Each such
// comparison has an A/A row (a third, identical instance) that shows its resolution.
//
// Precision: the duration is in whole nanoseconds, but on the reference VM the clock advances in
// steps of about 10 ns (a floor call reads 100, 110 or 120 ns, nothing in between), and a single call
// can be hit by an interrupt. A median of such samples sits on the 10 ns grid, too coarse for a
// few-ns figure. The mean is not: the program starts at a random phase of the clock's step, so the
// quantisation averages out over many calls. Each run therefore takes, per case, the mean of its
// calls after dropping interrupted ones (samples above twice the median), and the report gives the
// median over several runs of (case − floor) with the runs' min–max as spread. The median-based
// difference is reported next to it, and an A/A row (the XDP_PASS floor against itself) shows how
// far apart two identical programs measure — the method's own noise. Cases are called in a new
// random order every round, so no case always follows the same other one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfObject, type BpfProgram } from '../bpf/libbpf-ts/index.js';
import { LbDatapath, type DatapathCounters } from '../lb/datapath/index.js';
import { bpfObjectPath } from '../bpf/objects.js';
import { Recorder } from '../recorder/index.js';
import { BASELINE_COMMIT, BaselineDatapath, ETH_P_IP, ETH_P_IPV6, ether, ipv4, ipv6, PROTO_TCP, PROTO_UDP, tcp, udp } from '../test/lab/index.js';
import { countInstructions, hotLoopMarkdown, runHotLoop, type HotCase, type HotLoopResult, type InstructionCount } from './datapath-hot.js';
import { loadAverage } from './lib/machine.js';
import { fmt, summarize, type Summary } from './lib/stats.js';
import { median, trimmedMean } from './lib/trimmed.js';
import { buildBaselineObject } from './recorder-cost.js';

const XDP_PASS = 2;
const XDP_TX = 3;
const IF_MAC = '02:00:00:00:00:01';
const GW_MAC = '02:00:00:00:00:02';
const CLIENT_MAC = '02:00:00:00:00:09';
const VIP4 = '10.100.0.10';
const VIP6 = 'fd00:100::10';
const NON_VIP4 = '10.200.0.1';
const DRAIN_EVERY = 500;

export const DATAPATH_TARGETS = { ipv4Established: 55, ipv4NewFlow: 120, recorderInactive: 3 } as const;

export interface DatapathBenchmarkOptions {
  /** Runs (each one interleaves every case call by call); default 5. */
  runs?: number;
  /** Calls per case and run; default 20000. */
  callsPerRun?: number;
  /** Unmeasured calls per case before the first run (JIT'd code and maps warm); default 2000. */
  warmupCalls?: number;
  /** Include the recorder rows (needs clang for the compiled-out baseline); default true. */
  recorder?: boolean;
  /** The hot-loop mode: runs, calls per case and run, warm-up calls; default 5 × 20000, 2000. */
  hotLoop?: { runs: number; callsPerRun: number; warmupCalls: number };
}

export interface DatapathCaseResult {
  name: string;
  description: string;
  /** The case subtracted: 'floor.pass', 'floor.txSwap', or another case (recorder rows). */
  floor: string;
  floorDescription: string;
  /** ns per packet above the floor: median over runs of (case trimmed mean − floor trimmed mean). */
  aboveFloorNs: number;
  /** min and max over runs of the same difference. */
  aboveFloorMinNs: number;
  aboveFloorMaxNs: number;
  /** Median over runs of (case median − floor median): on the clock's step grid. */
  aboveFloorMedianNs: number;
  /** The case's own per-call durations over all runs, ns. */
  raw: Summary;
  targetNs: number | undefined;
  /** undefined when there is no target. */
  targetMet: boolean | undefined;
  /** 'within noise': above the target by less than the A/A noise of its comparison (the method
   *  cannot tell on this machine). undefined when there is no target. */
  targetVerdict: 'met' | 'not met' | 'within noise' | undefined;
  /** |A/A difference| of the comparison this row belongs to (instance-vs-instance rows), ns. */
  noiseNs: number | undefined;
  /** Why the measurement is not trusted (wrong verdict, counters not as expected); empty when fine. */
  problems: string[];
  /** xlb rows with a baseline row: this row's cost above its floor / the 84970d5 row's. */
  ratioToBaseline?: number;
}

export interface DatapathBenchmarkResult {
  method: string;
  runs: number;
  callsPerRun: number;
  warmupCalls: number;
  loadBefore: number;
  loadAfter: number;
  floors: { pass: Summary; txSwap: Summary };
  cases: DatapathCaseResult[];
  /** Cases that could not be measured, with the reason. */
  notMeasured: { name: string; reason: string }[];
  /** The hot-loop mode over the same packet kinds (datapath-hot.ts). */
  hotLoop?: HotLoopResult;
  /** Executed BPF instructions per packet kind, xlb and the 84970d5 baseline ('base.' names). */
  instructions?: InstructionCount[];
}

/** A program to call, and the xlb instance behind it (for counters and recordings). */
interface Subject {
  program: BpfProgram;
  dp?: LbDatapath;
  recorder?: Recorder;
  /** Records each call on this subject must produce (checked against the recorder's counters). */
  recordsPerCall?: number;
}

interface BenchCase {
  name: string;
  description: string;
  subject: Subject;
  /** Name of the case subtracted from this one; undefined for a floor. */
  floor: string | undefined;
  expectRetval: number;
  /** Counters (e.g. 'flow.hit') each call must raise by one on its xlb instance. */
  counters?: string[];
  targetNs?: number;
  /** The A/A case whose result bounds how precisely this one can be read. */
  noiseCase?: string;
  /** The i-th packet of the case (i counts every call, warm-up included). */
  frame(i: number): Buffer;
}

const TCP_ACK = 0x10; // an established connection's segment
const TCP_SYN = 0x02; // a new connection: no flow-table lookup, Maglev's choice is inserted

function tcp4(src: string, dst: string, sport: number, dport: number, flags = TCP_ACK): Buffer {
  const seg = tcp({ src, dst, sport, dport, flags });
  return ether({ dst: IF_MAC, src: CLIENT_MAC }, ETH_P_IP, ipv4({ src, dst, proto: PROTO_TCP }, seg));
}

function tcp6(src: string, dst: string, sport: number, dport: number): Buffer {
  const seg = tcp({ src, dst, sport, dport, flags: 0x10 });
  return ether({ dst: IF_MAC, src: CLIENT_MAC }, ETH_P_IPV6, ipv6({ src, dst, nextHeader: PROTO_TCP }, seg));
}

function udp4(src: string, dst: string, sport: number, dport: number): Buffer {
  const dgram = udp({ src, dst, sport, dport, payload: Buffer.alloc(18) });
  return ether({ dst: IF_MAC, src: CLIENT_MAC }, ETH_P_IP, ipv4({ src, dst, proto: PROTO_UDP }, dgram));
}

/** A client address and source port that differ for every i < 2^30: a fresh 5-tuple per call. */
function freshClient(i: number): { src: string; sport: number } {
  const host = (i >>> 14) & 0xffff;
  return { src: `10.${1 + (host >> 8)}.${host & 255}.7`, sport: 1024 + (i & 0x3fff) };
}

/** xlb with one IPv4 and one IPv6 TCP service on port 80, 16 backends each. */
export function configuredDatapath(o: { stateless?: boolean; flowTableSize: number; objectPath?: string }): LbDatapath {
  // Sized like a production datapath (default Maglev M = 65537).
  const dp = LbDatapath.load({
    seed: 0x5eed,
    maxServices: 1024,
    maxBackends: 4096,
    flowTableSize: o.flowTableSize,
    stateless: o.stateless ?? false,
    ...(o.objectPath ? { objectPath: o.objectPath } : {}),
  });
  try {
    dp.setConfig({ ifMac: IF_MAC, gatewayMac: GW_MAC, sourceV4: '10.255.0.1', sourceV6: 'fd00:ff::1' });
    dp.upsertService({ id: 1, vip: VIP4, port: 80, protocol: 'tcp' });
    dp.upsertService({ id: 2, vip: VIP6, port: 80, protocol: 'tcp' });
    const backends = (base: number, v6: boolean) =>
      Array.from({ length: 16 }, (_, i) => ({ id: base + i, address: v6 ? `fd00:3::${i + 2}` : `10.3.0.${i + 2}`, weight: 1 }));
    dp.setBackends(1, backends(100, false));
    dp.setBackends(2, backends(200, true));
    return dp;
  } catch (e) {
    dp.close();
    throw e;
  }
}

/** xlb at 84970d5 (test/lab/baseline.ts) with the same services, backends, seed and Maglev size. */
function baselineDatapath(flowTableSize: number): BaselineDatapath {
  const b = BaselineDatapath.load({ seed: 0x5eed, tableSize: 65537, maxServices: 1024, maxBackends: 4096, flowTableSize });
  try {
    b.setConfig({ ifMac: IF_MAC, gatewayMac: GW_MAC, sourceV4: '10.255.0.1', sourceV6: 'fd00:ff::1' });
    const backends = (base: number, v6: boolean) => Array.from({ length: 16 }, (_, i) => ({ id: base + i, address: v6 ? `fd00:3::${i + 2}` : `10.3.0.${i + 2}` }));
    b.addService({ id: 1, vip: VIP4, port: 80, protocol: 'tcp', backends: backends(100, false) });
    b.addService({ id: 2, vip: VIP6, port: 80, protocol: 'tcp', backends: backends(200, true) });
    return b;
  } catch (e) {
    b.close();
    throw e;
  }
}

function globalPackets(c: DatapathCounters, path: string): number {
  const [group, name] = path.split('.') as [keyof DatapathCounters, string];
  return ((c[group] as unknown as Record<string, { packets: number }>)[name]?.packets) ?? 0;
}

/** The packet kinds every xlb variant is measured with. */
function packetKinds(): { name: string; description: string; expectRetval: number; counters: string[]; targetNs?: number; frame(i: number): Buffer }[] {
  const est4 = tcp4('10.1.0.2', VIP4, 40000, 80);
  const est6 = tcp6('fd00:1::2', VIP6, 40000, 80);
  const nonVip = udp4('10.1.0.2', NON_VIP4, 40000, 53);
  return [
    {
      name: 'ipv4Established', description: 'IPv4 TCP, established flow (flow-table hit) → IPIP',
      expectRetval: XDP_TX, counters: ['flow.hit', 'tx.ipip'], targetNs: DATAPATH_TARGETS.ipv4Established, frame: () => est4,
    },
    {
      name: 'ipv4NewFlow', description: 'IPv4 TCP SYN, new connection (fresh 5-tuple every call: Maglev, flow insert) → IPIP',
      expectRetval: XDP_TX, counters: ['flow.new', 'tx.ipip'], targetNs: DATAPATH_TARGETS.ipv4NewFlow,
      frame: (i) => {
        const c = freshClient(i);
        return tcp4(c.src, VIP4, c.sport, 80, TCP_SYN);
      },
    },
    { name: 'ipv6Established', description: 'IPv6 TCP, established flow → IP6IP6', expectRetval: XDP_TX, counters: ['flow.hit', 'tx.ip6ip6'], frame: () => est6 },
    { name: 'nonVipPass', description: 'IPv4 UDP to an address that is not a VIP → XDP_PASS', expectRetval: XDP_PASS, counters: ['pass.notVip'], frame: () => nonVip },
  ];
}

/** The packet kinds of the hot loop: one frame each (a SYN gets a new client address per call), and
 *  the frame whose instructions are counted. */
export function hotKinds(): (Omit<HotCase, 'program' | 'role'> & { countFrame: Buffer; warm?: Buffer })[] {
  const est4 = tcp4('10.1.0.2', VIP4, 40000, 80);
  const est6 = tcp6('fd00:1::2', VIP6, 40000, 80);
  const nonVip = udp4('10.1.0.2', NON_VIP4, 40000, 53);
  const IPV4_SRC = 14 + 12;
  return [
    { name: 'ipv4Established', description: 'IPv4 TCP, established flow (flow-table hit) → IPIP', expectRetval: XDP_TX, data: est4, countFrame: est4, warm: est4 },
    {
      name: 'ipv4NewFlow', description: 'IPv4 TCP SYN, new connection (new client address every call) → IPIP', expectRetval: XDP_TX,
      data: tcp4('10.1.0.2', VIP4, 40000, 80, TCP_SYN), mutateOffset: IPV4_SRC, countFrame: tcp4('10.9.0.2', VIP4, 40001, 80, TCP_SYN),
    },
    { name: 'ipv6Established', description: 'IPv6 TCP, established flow → IP6IP6', expectRetval: XDP_TX, data: est6, countFrame: est6, warm: est6 },
    { name: 'nonVipPass', description: 'IPv4 UDP to an address that is not a VIP → XDP_PASS', expectRetval: XDP_PASS, data: nonVip, countFrame: nonVip },
  ];
}

export async function runDatapathBenchmark(opts: DatapathBenchmarkOptions = {}): Promise<DatapathBenchmarkResult> {
  const runs = opts.runs ?? 5;
  const callsPerRun = opts.callsPerRun ?? 20000;
  const warmupCalls = opts.warmupCalls ?? 2000;
  const withRecorder = opts.recorder ?? true;
  for (const [k, v, min] of [['runs', runs, 1], ['callsPerRun', callsPerRun, 1], ['warmupCalls', warmupCalls, 0]] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`${k}: ${v} is not an integer ≥ ${min}`);
  }
  const loadBefore = loadAverage()[0];
  // Room for every new flow of the run, so the new-flow case measures insertion, not LRU eviction.
  const flowTableSize = Math.max(1 << 16, 2 ** Math.ceil(Math.log2((warmupCalls + runs * callsPerRun) * 2)));
  const objects: BpfObject[] = [];
  const datapaths: LbDatapath[] = [];
  const recorders: Recorder[] = [];
  const baselines: BaselineDatapath[] = [];
  const scratch = mkdtempSync(join(tmpdir(), 'xbench-dp-'));
  const floorProgram = (name: string): BpfProgram => {
    const obj = BpfObject.open(bpfObjectPath(name));
    objects.push(obj);
    obj.load();
    return obj.program(name);
  };
  const xlb = (o: { stateless?: boolean; objectPath?: string } = {}): LbDatapath => {
    const dp = configuredDatapath({ flowTableSize, ...o });
    datapaths.push(dp);
    return dp;
  };
  try {
    const pass: Subject = { program: floorProgram('xdp_pass') };
    const txSwap: Subject = { program: floorProgram('bench_xdp_tx_swap') };
    const mainDp = xlb();
    const main: Subject = { program: mainDp.program, dp: mainDp };
    // The same service in a datapath loaded stateless (Maglev only): splits the established-flow
    // cost into flow-table work and everything else.
    const statelessDp = xlb({ stateless: true });
    const kinds = packetKinds();
    const est4 = kinds[0]!;
    const base = baselineDatapath(flowTableSize);
    baselines.push(base);
    const baseSubject: Subject = { program: base.program };

    const cases: BenchCase[] = [
      { name: 'floor.pass', description: 'XDP_PASS floor', subject: pass, floor: undefined, expectRetval: XDP_PASS, frame: est4.frame },
      {
        name: 'aa.pass', description: 'A/A check: XDP_PASS floor measured as a case (method noise, ideally 0)',
        subject: pass, floor: 'floor.pass', expectRetval: XDP_PASS, frame: est4.frame,
      },
      { name: 'floor.txSwap', description: 'XDP_TX + MAC swap floor', subject: txSwap, floor: undefined, expectRetval: XDP_TX, frame: est4.frame },
      ...kinds.map((k) => ({
        name: k.name, description: k.description, subject: main, expectRetval: k.expectRetval, counters: k.counters,
        floor: k.expectRetval === XDP_PASS ? 'floor.pass' : 'floor.txSwap', frame: k.frame, ...(k.targetNs ? { targetNs: k.targetNs } : {}),
      })),
      // The same packets through xlb at 84970d5 (verdicts checked; its counters are another layout).
      ...kinds.map((k) => ({
        name: `base.${k.name}`, description: `${BASELINE_COMMIT} baseline: ${k.description}`, subject: baseSubject, expectRetval: k.expectRetval,
        floor: k.expectRetval === XDP_PASS ? 'floor.pass' : 'floor.txSwap', frame: k.frame,
      })),
      {
        name: 'ipv4Stateless', description: 'IPv4 TCP, datapath loaded stateless (Maglev only, no flow table) → IPIP',
        subject: { program: statelessDp.program, dp: statelessDp }, floor: 'floor.txSwap', expectRetval: XDP_TX, counters: ['tx.ipip'], frame: est4.frame,
      },
    ];

    if (withRecorder) {
      // Recorder rows compare two xlb instances. Instances differ by more than their program: where
      // their maps landed and what traffic warmed them (a first run of this benchmark compared
      // instances with different packet mixes and saw ±50 ns). So every instance compared here
      // gets exactly the same calls as its counterpart, and an A/A twin — an identical instance
      // with the same calls — shows how far apart two copies of the same thing measure.
      const aaDescription = 'A/A check: an identical instance, same packets (instance-to-instance noise)';
      const offObject = buildBaselineObject(scratch);
      const inactiveDp = xlb();
      const inactive: Subject = { program: inactiveDp.program, dp: inactiveDp };
      const inactiveTwinDp = xlb();
      const offDp = xlb({ objectPath: offObject });
      const est4Case = { expectRetval: XDP_TX, counters: ['flow.hit', 'tx.ipip'], frame: est4.frame };
      cases.push(
        {
          name: 'recorderOff', description: 'IPv4 established, recorder compiled out (XLB_RECORDER_OFF)',
          subject: { program: offDp.program, dp: offDp }, floor: undefined, ...est4Case,
        },
        {
          name: 'recorderInactive', description: 'IPv4 established, recorder built in, no recording active (vs. compiled out)',
          subject: inactive, floor: 'recorderOff', noiseCase: 'aa.recorderInactive', targetNs: DATAPATH_TARGETS.recorderInactive, ...est4Case,
        },
        {
          name: 'aa.recorderInactive', description: `${aaDescription}: recorder built in, inactive, twice`,
          subject: { program: inactiveTwinDp.program, dp: inactiveTwinDp }, floor: 'recorderInactive', ...est4Case,
        },
      );

      const withRecording = (filter: Record<string, unknown> | undefined, recordsPerCall: number): Subject => {
        const dp = xlb();
        if (!filter) return { program: dp.program, dp };
        // hostTraffic: the rule that matches every packet must match the non-VIP kind too
        // (recordings see VIP traffic only by default).
        const recorder = Recorder.forDatapath(dp, { statsIntervalMs: 3_600_000, settleMs: 1, hostTraffic: true });
        recorders.push(recorder);
        recorder.start({ filters: [filter], snaplen: 128, points: 'ingress' }, { data: () => {}, stats: () => {}, end: () => {} });
        return { program: dp.program, dp, recorder, recordsPerCall };
      };
      // The main instance has no recording; one rule that matches every packet (no field set); one
      // that matches none of them (a port nobody uses) but is scanned for every packet all the same;
      // and the A/A twin. All four get the same calls (the four packet kinds).
      const matching = withRecording({}, 1);
      const missing = withRecording({ dstPort: 9 }, 0);
      const twin = withRecording(undefined, 0);
      for (const k of kinds) {
        const base = k.name;
        const common = { expectRetval: k.expectRetval, counters: k.counters, frame: k.frame };
        cases.push(
          { name: `${k.name}.recMiss`, description: `${k.description}: one recorder rule active, not matching`, subject: missing, floor: base, noiseCase: `aa.${k.name}`, ...common },
          {
            name: `${k.name}.recMatch`, description: `${k.description}: one recorder rule active, matching (ingress, snaplen 128)`,
            subject: matching, floor: base, noiseCase: `aa.${k.name}`, ...common,
          },
          { name: `aa.${k.name}`, description: `${aaDescription}: ${k.description}`, subject: twin, floor: base, ...common },
        );
      }
    }
    const result = measure(cases, { runs, callsPerRun, warmupCalls, loadBefore });
    for (const c of result.cases) {
      const b = result.cases.find((x) => x.name === `base.${c.name}`);
      if (b) c.ratioToBaseline = c.aboveFloorNs / b.aboveFloorNs;
    }

    // The hot loop, on instances of its own (the mixed mode's flow tables stay as they were).
    const hot = opts.hotLoop ?? { runs: 5, callsPerRun: 20000, warmupCalls: 2000 };
    const hotFlows = Math.max(1 << 16, 2 ** Math.ceil(Math.log2((hot.warmupCalls + hot.runs * hot.callsPerRun) * 2)));
    const hotDp = configuredDatapath({ flowTableSize: hotFlows });
    datapaths.push(hotDp);
    const hotBase = baselineDatapath(hotFlows);
    baselines.push(hotBase);
    const HOT_KINDS = hotKinds();
    const hotCases: HotCase[] = [
      { name: 'floor.pass', description: 'XDP_PASS floor', program: pass.program, expectRetval: XDP_PASS, data: HOT_KINDS[0]!.data, role: 'floor.pass' },
      { name: 'floor.txSwap', description: 'XDP_TX + MAC swap floor', program: txSwap.program, expectRetval: XDP_TX, data: HOT_KINDS[0]!.data, role: 'floor.txSwap' },
      ...HOT_KINDS.flatMap((k): HotCase[] => [
        { ...k, program: hotDp.program, role: 'case', baseline: `base.${k.name}` },
        { ...k, name: `base.${k.name}`, description: `${BASELINE_COMMIT} baseline: ${k.description}`, program: hotBase.program, role: 'case' },
      ]),
    ];
    result.hotLoop = runHotLoop(hotCases, hot);
    // Executed instructions per packet kind, on the mixed mode's instances (warmed: the established
    // flows exist).
    const counted = (program: BpfProgram, prefix: string) =>
      countInstructions(program, HOT_KINDS.map((k) => ({ name: `${prefix}${k.name}`, frame: k.countFrame, ...(k.warm ? { warm: k.warm } : {}) })));
    result.instructions = [...counted(mainDp.program, ''), ...counted(base.program, 'base.')];
    if (!withRecorder) result.notMeasured.push({ name: 'recorder rows', reason: 'clang not found (the recorder-off baseline is compiled at run time)' });
    return result;
  } finally {
    for (const r of recorders) await r.close();
    for (const dp of datapaths) dp.close();
    for (const b of baselines) b.close();
    for (const o of objects) o.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

function measure(
  cases: BenchCase[],
  o: { runs: number; callsPerRun: number; warmupCalls: number; loadBefore: number },
): DatapathBenchmarkResult {
  const problems = new Map<string, string[]>(cases.map((c) => [c.name, []]));
  const callIndex = new Map<string, number>(cases.map((c) => [c.name, 0]));
  const subjects = [...new Set(cases.map((c) => c.subject))];
  const drainAll = () => subjects.forEach((s) => s.recorder?.drain());
  const call = (c: BenchCase): number => {
    const i = callIndex.get(c.name)!;
    callIndex.set(c.name, i + 1);
    const r = c.subject.program.testRun({ data: c.frame(i), repeat: 1 });
    if (r.retval !== c.expectRetval) {
      const p = problems.get(c.name)!;
      if (p.length < 3) p.push(`call ${i}: verdict ${r.retval}, expected ${c.expectRetval}`);
    }
    return r.durationNs;
  };
  // A fresh random order every round: a call pays for what the previous call left in the caches
  // (a recorded packet evicts more than a passed one), so a fixed order would bias each case by its
  // predecessor. Shuffled, every case sees the same mix of predecessors.
  let seed = 0x9e3779b9;
  const random = () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
  const order = [...cases];
  const shuffled = () => {
    for (let j = order.length - 1; j > 0; j--) {
      const k = Math.floor(random() * (j + 1));
      [order[j], order[k]] = [order[k]!, order[j]!];
    }
    return order;
  };
  for (let i = 0; i < o.warmupCalls; i++) {
    for (const c of shuffled()) call(c);
    if (i % DRAIN_EVERY === DRAIN_EVERY - 1) drainAll();
  }
  drainAll();

  const recordsOf = (s: Subject) => {
    let matched = 0n;
    let lost = 0n;
    for (const session of s.recorder?.sessions() ?? []) {
      const c = s.recorder!.tables.counters(s.recorder!.slotOf(session.id)!);
      matched += c.matched;
      lost += c.lost;
    }
    return { matched, lost };
  };
  const before = new Map(subjects.map((s) => [s, { counters: s.dp?.readCounters(), records: recordsOf(s) }]));
  const samples = new Map<string, number[][]>(cases.map((c) => [c.name, []]));
  for (let run = 0; run < o.runs; run++) {
    const perRun = new Map<string, number[]>(cases.map((c) => [c.name, new Array<number>(o.callsPerRun)]));
    for (let i = 0; i < o.callsPerRun; i++) {
      for (const c of shuffled()) perRun.get(c.name)![i] = call(c);
      if (i % DRAIN_EVERY === DRAIN_EVERY - 1) drainAll();
    }
    for (const c of cases) samples.get(c.name)!.push(perRun.get(c.name)!);
  }
  drainAll();

  // The counters say whether the packets took the intended path (a flow hit is not a new flow), and
  // the recorder's whether every matching packet was recorded.
  const measured = o.runs * o.callsPerRun;
  for (const s of subjects) {
    const mine = cases.filter((c) => c.subject === s);
    if (s.dp) {
      const after = s.dp.readCounters();
      const want = new Map<string, number>();
      for (const c of mine) for (const k of c.counters ?? []) want.set(k, (want.get(k) ?? 0) + measured);
      for (const [counter, n] of want) {
        const got = globalPackets(after, counter) - globalPackets(before.get(s)!.counters!, counter);
        if (got !== n) problems.get(mine.find((c) => c.counters?.includes(counter))!.name)!.push(`counter ${counter} grew by ${got}, expected ${n}`);
      }
    }
    if (s.recorder) {
      const now = recordsOf(s);
      const matched = now.matched - before.get(s)!.records.matched;
      const lost = now.lost - before.get(s)!.records.lost;
      const want = BigInt(measured * mine.length * (s.recordsPerCall ?? 0));
      if (matched !== want) problems.get(mine[0]!.name)!.push(`recorder matched ${matched} packets, expected ${want}`);
      if (lost !== 0n) problems.get(mine[0]!.name)!.push(`recorder lost ${lost} records`);
    }
  }

  const byName = new Map(cases.map((c) => [c.name, c]));
  const results: DatapathCaseResult[] = [];
  for (const c of cases) {
    if (c.floor === undefined) continue;
    const caseRuns = samples.get(c.name)!;
    const fRuns = samples.get(c.floor)!;
    const d = summarize(caseRuns.map((s, r) => trimmedMean(s) - trimmedMean(fRuns[r]!)));
    const medianDiffs = caseRuns.map((s, r) => median(s) - median(fRuns[r]!));
    results.push({
      name: c.name,
      description: c.description,
      floor: c.floor,
      floorDescription: byName.get(c.floor)!.description,
      aboveFloorNs: d.median,
      aboveFloorMinNs: d.min,
      aboveFloorMaxNs: d.max,
      aboveFloorMedianNs: summarize(medianDiffs).median,
      raw: summarize(caseRuns.flat()),
      targetNs: c.targetNs,
      targetMet: c.targetNs === undefined ? undefined : d.median <= c.targetNs,
      noiseNs: undefined,
      targetVerdict: c.targetNs === undefined ? undefined : d.median <= c.targetNs ? 'met' : 'not met',
      problems: [...problems.get(c.name)!, ...problems.get(c.floor)!],
    });
  }
  for (const r of results) {
    const noiseCase = byName.get(r.name)!.noiseCase;
    const aa = noiseCase === undefined ? undefined : results.find((x) => x.name === noiseCase);
    if (!aa) continue;
    r.noiseNs = Math.max(Math.abs(aa.aboveFloorNs), Math.abs(aa.aboveFloorMinNs), Math.abs(aa.aboveFloorMaxNs));
    if (r.targetVerdict === 'not met' && r.aboveFloorNs - r.noiseNs <= r.targetNs!) r.targetVerdict = 'within noise';
  }
  return {
    method:
      'BPF_PROG_TEST_RUN, repeat=1, one packet per call; kernel-reported duration per call; cases and floors ' +
      'interleaved call by call (random order per round); per run: case mean − floor mean, each over calls ≤ 2 × its median; ' +
      'reported: median over runs (min–max)',
    runs: o.runs,
    callsPerRun: o.callsPerRun,
    warmupCalls: o.warmupCalls,
    loadBefore: o.loadBefore,
    loadAfter: loadAverage()[0],
    floors: { pass: summarize(samples.get('floor.pass')!.flat()), txSwap: summarize(samples.get('floor.txSwap')!.flat()) },
    cases: results,
    notMeasured: [],
  };
}

export function datapathMarkdown(r: DatapathBenchmarkResult): string {
  const floorLabel = (c: DatapathCaseResult) =>
    c.floor === 'floor.pass' ? 'XDP_PASS' : c.floor === 'floor.txSwap' ? 'XDP_TX+swap' : c.floor === 'recorderOff' ? 'recorder compiled out' : c.name.startsWith('aa.') ? 'first instance' : 'same packet, no recording';
  const lines = [
    `Per-packet cost, BPF_PROG_TEST_RUN (repeat=1), ${r.runs} runs × ${r.callsPerRun} calls per case; ` +
      `floors: XDP_PASS ${fmt(r.floors.pass.median)} ns, XDP_TX+swap ${fmt(r.floors.txSwap.median)} ns per call (median). ` +
      `Load average ${r.loadBefore.toFixed(2)} → ${r.loadAfter.toFixed(2)}.`,
    '',
    '| case | ns above floor | runs min–max | median-based | floor | × 84970d5 | target | |',
    '|:---|---:|---:|---:|:---|---:|---:|:---|',
  ];
  for (const c of r.cases) {
    const target = c.targetNs === undefined ? '' : `≤ ${c.targetNs}`;
    const noise = c.noiseNs === undefined ? '' : `A/A ±${c.noiseNs.toFixed(1)} ns`;
    const verdict = c.problems.length
      ? `not trusted: ${c.problems.join('; ')}`
      : [c.targetVerdict ?? '', noise].filter(Boolean).join(', ');
    lines.push(
      `| ${c.description} | ${c.aboveFloorNs.toFixed(1)} | ${c.aboveFloorMinNs.toFixed(1)} – ${c.aboveFloorMaxNs.toFixed(1)} | ` +
        `${c.aboveFloorMedianNs.toFixed(1)} | ${floorLabel(c)} | ${c.ratioToBaseline === undefined ? '' : c.ratioToBaseline.toFixed(2)} | ${target} | ${verdict} |`,
    );
  }
  for (const n of r.notMeasured) lines.push(`| ${n.name} | not measured | | | | | | ${n.reason} |`);
  const counts = new Map((r.instructions ?? []).map((n) => [n.name, n]));
  if (r.hotLoop) lines.push('', hotLoopMarkdown(r.hotLoop, counts));
  if (r.instructions?.length) {
    lines.push('', 'Executed BPF instructions per packet (interpreter of the xlated code; verdict and frame checked against the kernel):', '',
      '| packet | xlb | 84970d5 | xlb xlated size | 84970d5 xlated size |', '|:---|---:|---:|---:|---:|');
    for (const n of r.instructions.filter((x) => !x.name.startsWith('base.'))) {
      const b = counts.get(`base.${n.name}`);
      const flag = (x: InstructionCount | undefined) => (x ? `${x.executed}${x.agrees ? '' : ' (disagrees with the kernel)'}` : '');
      lines.push(`| ${n.name} | ${flag(n)} | ${flag(b)} | ${n.xlated} | ${b?.xlated ?? ''} |`);
    }
  }
  return lines.join('\n');
}
