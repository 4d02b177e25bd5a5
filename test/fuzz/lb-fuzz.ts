// Differential fuzzing of the XDP load balancer: seeded random and mutated frames (lb-frames.ts)
// through the real program (BPF_PROG_TEST_RUN on a loaded xlb_lb.o) and through the reference
// model (lb-model.ts); both must agree on every frame. Per frame: the XDP verdict and the output
// frame. Per block of frames (reading per-CPU counters costs milliseconds here): every global
// counter (verdicts, reasons, flow and other events), every service and backend counter, and the
// whole flow table (entries, chosen backends, last-seen times). Between blocks the control plane
// changes things under the traffic (drains, removals, weights, table sizes, lb_config, cleared flows).
//
// runLbFuzz is used by the CI test (test/fuzz/lb.kernel.test.ts, a fixed seed and case count) and
// by the soak script's long mode (scripts/soak.ts, via test/lab/index.ts).
import { ipBytes } from '../lab/packets.js';
import { LbDatapath, RecCtl, type DatapathBackend, type DatapathConfig, type DatapathCounters, type DatapathService } from '../../lb/datapath/index.js';
import { MAP, u32Key } from '../../lb/datapath/layout.js';
import { BEHAVIOUR_NOW, flowKeyBytes, frameMatches, modelLb, type LbModelBehaviour, type ModelState, type Outcome } from './lb-model.js';
import { mutate, randomFrame, sweepFrames, type FrameTargets } from './lb-frames.js';
import { Rng } from './rng.js';

export interface LbFuzzOptions {
  cases: number;
  seed: number;
  /** Frames between counter and flow-table comparisons (and control-plane changes). */
  blockSize?: number;
  /** Compare counters after every frame (slow; to locate a block mismatch). */
  perFrameCounters?: boolean;
  behaviour?: LbModelBehaviour;
  /** Stop after this many mismatches (default 10). */
  maxMismatches?: number;
  objectPath?: string;
  /** A recording is armed (rec_ctl.nmasks 1) but matches nothing, so no frame is recorded: the
   *  program then takes its general path for every frame instead of the one-pass parse of plain
   *  untagged IPv4 TCP/UDP it uses while no recording runs. Both must give the same answers. */
  recorderArmed?: boolean;
  /** Progress callback (long runs). */
  onProgress?: (done: number, mismatches: number) => void;
}

export interface LbMismatch {
  caseNo: number;
  what: string;
  frame: string;
  detail: string;
}

export interface LbFuzzReport {
  cases: number;
  seed: number;
  mismatches: LbMismatch[];
  /** Outcomes seen, by reason counter: shows the cases reached every branch. */
  reasons: Record<string, number>;
  /** Events seen (flow hits, misses, reselections, ICMP forwarding, ...). */
  events: Record<string, number>;
  /** Control-plane changes made during the run. */
  changes: number;
  /** Frames that made the program fail (test-run error) instead of returning a verdict. */
  crashes: number;
}

const MAC_LB = '02:00:00:00:00:01';
const MAC_GW = '02:00:00:00:00:02';
const MAC_PEER = '02:00:00:00:00:09';
const SEED = 0x5eed;
const MTU = 1500;

const V = {
  a4: '10.100.0.10', b4: '10.100.0.11', c4: '10.100.0.12', d4: '10.100.0.13', e4: '10.100.0.14',
  a6: 'fd00:100::10', b6: 'fd00:100::11', c6: 'fd00:100::12',
};

interface ServicePlan {
  svc: DatapathService;
  backends: DatapathBackend[];
}

const be4 = (n: number) => `10.3.${n >> 8}.${n & 0xff}`;
const be6 = (n: number) => `fd00:3::${n.toString(16)}`;

function plan(): ServicePlan[] {
  const list: Array<[DatapathService, 'v4' | 'v6' | 'none' | 'draining', number]> = [
    [{ id: 1, vip: V.a4, port: 80, protocol: 'tcp', tableSize: 251 }, 'v4', 3],
    [{ id: 2, vip: V.a4, port: 53, protocol: 'udp', tableSize: 509 }, 'v4', 2],
    [{ id: 3, vip: V.a4, port: 0, protocol: 'tcp', tableSize: 251 }, 'v4', 2],
    [{ id: 4, vip: V.b4, port: 443, protocol: 'tcp', sourceHash: true, tableSize: 1021 }, 'v4', 3],
    [{ id: 5, vip: V.b4, port: 0, protocol: 'udp', sourceHash: true, tableSize: 251 }, 'v4', 2],
    [{ id: 6, vip: V.c4, port: 80, protocol: 'tcp' }, 'none', 0],
    [{ id: 7, vip: V.d4, port: 80, protocol: 'tcp', tableSize: 251 }, 'draining', 2],
    [{ id: 8, vip: V.e4, port: 80, protocol: 'tcp', tableSize: 509 }, 'v6', 2],
    [{ id: 9, vip: V.a6, port: 80, protocol: 'tcp', tableSize: 251 }, 'v6', 3],
    [{ id: 10, vip: V.a6, port: 0, protocol: 'udp', tableSize: 251 }, 'v6', 2],
    [{ id: 11, vip: V.b6, port: 443, protocol: 'tcp', sourceHash: true, tableSize: 509 }, 'v6', 2],
    [{ id: 12, vip: V.c6, port: 80, protocol: 'tcp', tableSize: 251 }, 'v4', 2],
  ];
  return list.map(([svc, kind, n]) => ({
    svc,
    backends: Array.from({ length: n }, (_, i) => {
      const id = svc.id * 16 + i;
      const address = kind === 'v6' ? be6(id) : be4(id);
      return { id, address, weight: 10 + i * 7, ...(kind === 'draining' ? { state: 'draining' as const } : {}) };
    }),
  }));
}

const CONFIGS: DatapathConfig[] = [
  { ifMac: MAC_LB, gatewayMac: MAC_GW, sourceCidrV4: '10.255.0.0/24', sourceV6: 'fd00:ff::1' },
  { ifMac: MAC_LB, gatewayMac: MAC_GW, sourceV4: '10.255.0.1', sourceCidrV6: 'fd00:ff::/112' },
  { ifMac: MAC_LB, gatewayMac: MAC_GW, sourceV4: '10.255.0.1' },
  { ifMac: MAC_LB, gatewayMac: MAC_GW, sourceV6: 'fd00:ff::1' },
];

export const LB_FUZZ_TARGETS: FrameTargets = {
  vips4: [V.a4, V.b4, V.c4, V.d4, V.e4],
  vips6: [V.a6, V.b6, V.c6],
  clients4: ['10.1.1.2', '10.1.1.3', '10.1.2.2', '192.0.2.7', '10.1.1.4'],
  clients6: ['fd00:1:1::2', 'fd00:1:1::3', 'fd00:1:2::2', '2001:db8::7'],
  ports: [80, 80, 53, 443, 22, 8080, 0, 65535],
  services: plan().map((p) => ({ vip: p.svc.vip, port: p.svc.port, proto: p.svc.protocol === 'tcp' ? 6 : 17 })),
  lbMac: MAC_LB,
  peerMac: MAC_PEER,
};

function modelConfig(c: DatapathConfig | undefined): ModelState['config'] {
  if (!c) return undefined;
  const src = (fixed: string | undefined, cidr: string | undefined, bits: number) => {
    if (fixed) return { base: ipBytes(fixed), hostBits: 0 };
    if (!cidr) return undefined;
    const [a, len] = cidr.split('/');
    return { base: ipBytes(a!), hostBits: bits - Number(len) };
  };
  const v4 = src(c.sourceV4, c.sourceCidrV4, 32);
  const v6 = src(c.sourceV6, c.sourceCidrV6, 128);
  const mac = (m: string) => Buffer.from(m.split(':').map((h) => parseInt(h, 16)));
  return {
    ifMac: mac(c.ifMac), gwMac: mac(c.gatewayMac),
    ...(v4 ? { srcV4: v4.base } : {}), srcV4HostBits: v4?.hostBits ?? 0,
    ...(v6 ? { srcV6: v6.base } : {}), srcV6HostBits: v6?.hostBits ?? 0,
  };
}

/** The model's view of what the control plane has put into the maps. */
function readState(dp: LbDatapath, config: DatapathConfig | undefined, flows: ModelState['flows']): ModelState {
  const services = dp.services().map((s) => ({
    id: s.id,
    family: (s.vip.includes(':') ? 6 : 4) as 4 | 6,
    vip: ipBytes(s.vip),
    port: s.port,
    proto: s.protocol === 'tcp' ? 6 : 17,
    sourceHash: s.sourceHash === true,
  }));
  const backends: ModelState['backends'] = new Map();
  const tables: ModelState['tables'] = new Map();
  for (const s of services) {
    for (const b of dp.backends(s.id)) {
      backends.set(b.id, { id: b.id, serviceId: s.id, family: b.address.includes(':') ? 6 : 4, addr: ipBytes(b.address), state: b.state ?? 'active' });
    }
    const t = dp.maglevTable(s.id);
    if (t) tables.set(s.id, t);
  }
  return { seed: dp.options.seed, mtu: dp.options.mtu, stateless: dp.options.stateless, services, backends, tables, config: modelConfig(config), flows };
}

type Tally = Map<string, { packets: number; bytes: number }>;

function add(t: Tally, key: string, bytes: number): void {
  const c = t.get(key) ?? { packets: 0, bytes: 0 };
  c.packets++;
  c.bytes += bytes;
  t.set(key, c);
}

function tallyOf(o: Outcome, bytes: number, t: Tally): void {
  add(t, `verdict.${o.verdict}`, bytes);
  add(t, o.reason, bytes);
  for (const e of o.events) add(t, e, bytes);
  if (o.serviceId !== undefined) add(t, `service#${o.serviceId}`, bytes);
  if (o.backendId !== undefined) add(t, `backend#${o.backendId}`, bytes);
}

function counterTally(before: DatapathCounters, after: DatapathCounters): Tally {
  const t: Tally = new Map();
  for (const group of ['verdict', 'pass', 'tx', 'drop', 'flow', 'event'] as const) {
    const a = after[group] as Record<string, { packets: number; bytes: number }>;
    const b = before[group] as Record<string, { packets: number; bytes: number }>;
    for (const name of Object.keys(a)) {
      const d = { packets: a[name]!.packets - b[name]!.packets, bytes: a[name]!.bytes - b[name]!.bytes };
      if (d.packets || d.bytes) t.set(`${group}.${name}`, d);
    }
  }
  for (const [kind, m] of [['service', 'services'], ['backend', 'backends']] as const) {
    for (const [id, c] of after[m]) {
      const p = before[m].get(id) ?? { packets: 0, bytes: 0 };
      const d = { packets: c.packets - p.packets, bytes: c.bytes - p.bytes };
      if (d.packets || d.bytes) t.set(`${kind}#${id}`, d);
    }
  }
  return t;
}

function tallyDiff(expected: Tally, actual: Tally): string[] {
  const out: string[] = [];
  for (const k of new Set([...expected.keys(), ...actual.keys()])) {
    const e = expected.get(k) ?? { packets: 0, bytes: 0 };
    const a = actual.get(k) ?? { packets: 0, bytes: 0 };
    if (e.packets !== a.packets || e.bytes !== a.bytes) out.push(`${k}: model ${e.packets}/${e.bytes} B, datapath ${a.packets}/${a.bytes} B`);
  }
  return out.sort();
}

// CLOCK_MONOTONIC_COARSE advances once per scheduler tick (10 ms at HZ=100); on a loaded machine
// the tick that updates it can itself run late, so allow two ticks (seen: 10.07 ms at load ≈ 9).
const COARSE_CLOCK_SLACK_NS = 20_000_000n;

export function runLbFuzz(o: LbFuzzOptions): LbFuzzReport {
  const behaviour = o.behaviour ?? BEHAVIOUR_NOW;
  const blockSize = o.blockSize ?? 100;
  const maxMismatches = o.maxMismatches ?? 10;
  const r = new Rng(o.seed);
  const report: LbFuzzReport = { cases: 0, seed: o.seed, mismatches: [], reasons: {}, events: {}, changes: 0, crashes: 0 };
  const dp = LbDatapath.load({
    seed: SEED, tableSize: 1021, mtu: MTU, maxServices: 64, maxBackends: 256,
    // Big enough that no 4-way bucket ever fills (the model's table has no eviction); the ICMP
    // budget out of reach and entries never idle for a SYN (both are time-based: covered by
    // test/datapath/hardening.kernel.test.ts).
    flowTableSize: 1 << 20, icmpTooBigRate: 1_000_000, icmpTooBigBurst: 1_000_000, synTakeoverIdleMs: 86_400_000,
    ...(o.objectPath ? { objectPath: o.objectPath } : {}),
  });
  try {
    // One all-wildcard shape (zeroed), every filter bit set and an empty rule index: every frame
    // passes the filter, is looked up, and none matches.
    if (o.recorderArmed) {
      const ctl = { nmasks: 1, flags: 0, filter: Buffer.alloc(RecCtl.fields.find((f) => f.name === 'filter')!.size, 0xff), shapes: Buffer.alloc(RecCtl.fields.find((f) => f.name === 'shapes')!.size) };
      dp.recorderMaps()[MAP.recCtl].update(u32Key(0), RecCtl.encode(ctl));
    }
    const services = plan();
    for (const p of services) {
      dp.upsertService(p.svc);
      dp.setBackends(p.svc.id, p.backends);
    }
    let config: DatapathConfig | undefined; // the first block runs without lb_config (noConfig)
    const flows: ModelState['flows'] = new Map();
    const touched = new Map<string, [bigint, bigint]>();
    let state = readState(dp, config, flows);

    const mismatch = (caseNo: number, what: string, frame: Buffer, detail: string) => {
      if (report.mismatches.length < maxMismatches) report.mismatches.push({ caseNo, what, frame: frame.toString('hex'), detail });
      else report.mismatches.length = maxMismatches;
    };

    const changeControlPlane = () => {
      report.changes++;
      const p = r.pick(services);
      switch (r.weighted({ config: 2, drain: 2, remove: 2, restore: 3, weights: 2, tableSize: 1, clear: 1 })) {
        case 'config':
          config = r.pick(CONFIGS);
          dp.setConfig(config);
          break;
        case 'drain': {
          const cur = dp.backends(p.svc.id);
          const victim = r.int(cur.length);
          if (cur.length) dp.setBackends(p.svc.id, cur.map((b, i) => (i === victim ? { ...b, state: 'draining' as const } : b)));
          break;
        }
        case 'remove': {
          const cur = dp.backends(p.svc.id);
          const victim = r.int(cur.length);
          if (cur.length) dp.setBackends(p.svc.id, cur.filter((_, i) => i !== victim));
          break;
        }
        case 'restore':
          dp.setBackends(p.svc.id, p.backends);
          break;
        case 'weights':
          dp.setBackends(p.svc.id, dp.backends(p.svc.id).map((b) => ({ ...b, weight: b.state === 'draining' ? b.weight : r.range(1, 100) })));
          break;
        case 'tableSize':
          dp.upsertService({ ...p.svc, tableSize: r.pick([251, 509, 1021]) });
          break;
        default:
          dp.clearFlows();
          flows.clear();
          touched.clear();
      }
      state = readState(dp, config, flows);
    };

    const checkBlock = (caseNo: number, expected: Tally, before: DatapathCounters, lastFrame: Buffer) => {
      const diff = tallyDiff(expected, counterTally(before, dp.readCounters()));
      if (diff.length) mismatch(caseNo, 'counters', lastFrame, diff.join('; '));
      const kernel = new Map(
        dp.flows().map((e) => [
          flowKeyBytes({ family: e.src.includes(':') ? 6 : 4, src: ipBytes(e.src), dst: ipBytes(e.dst), sport: e.sport, dport: e.dport, proto: e.protocol === 'tcp' ? 6 : 17 }).toString('hex'),
          e,
        ]),
      );
      const problems: string[] = [];
      for (const [k, v] of flows) {
        const e = kernel.get(k);
        if (!e) problems.push(`missing ${k}`);
        else if (e.backendId !== v.backendId || e.serviceId !== v.serviceId) problems.push(`${k}: model backend ${v.backendId}/service ${v.serviceId}, datapath ${e.backendId}/${e.serviceId}`);
        else {
          const [t0, t1] = touched.get(k) ?? [0n, 0n];
          // The entry's clock is CLOCK_MONOTONIC_COARSE (bpf_ktime_get_coarse_ns): it lags the
          // fine clock by up to a scheduler tick (see COARSE_CLOCK_SLACK_NS).
          if (e.lastSeenNs < t0 - COARSE_CLOCK_SLACK_NS || e.lastSeenNs > t1) problems.push(`${k}: last seen ${e.lastSeenNs} outside [${t0}, ${t1}]`);
        }
      }
      for (const k of kernel.keys()) if (!flows.has(k)) problems.push(`unexpected entry ${k}`);
      if (problems.length) mismatch(caseNo, 'flow table', lastFrame, problems.slice(0, 5).join('; '));
    };

    // The cases: the truncation sweep first (every length of a few base frames), then random ones.
    const sweep = sweepFrames(r, LB_FUZZ_TARGETS).flatMap((f) => Array.from({ length: f.length - 13 }, (_, i) => f.subarray(0, 14 + i)));
    let expected: Tally = new Map();
    let before = dp.readCounters();
    let last: Buffer = Buffer.alloc(0);
    for (let caseNo = 0; caseNo < o.cases && report.mismatches.length < maxMismatches; caseNo++) {
      const frame = caseNo < sweep.length ? sweep[caseNo]! : randomFrame(r, LB_FUZZ_TARGETS).frame;
      const out = modelLb(state, behaviour, frame);
      const t0 = process.hrtime.bigint();
      let actual;
      try {
        actual = dp.testRun(frame);
      } catch (e) {
        report.crashes++;
        mismatch(caseNo, 'test run failed', frame, (e as Error).message);
        continue;
      }
      const t1 = process.hrtime.bigint();
      for (const k of out.flowsTouched) touched.set(k, [t0, t1]);
      report.cases++;
      report.reasons[out.reason] = (report.reasons[out.reason] ?? 0) + 1;
      for (const e of out.events) report.events[e] = (report.events[e] ?? 0) + 1;
      tallyOf(out, frame.length, expected);
      last = frame;
      if (actual.verdict !== out.verdict) {
        mismatch(caseNo, 'verdict', frame, `model ${out.verdict} (${out.reason}), datapath ${actual.verdict}`);
      } else if (out.frame && !frameMatches(out.frame, actual.frame)) {
        mismatch(caseNo, 'output frame', frame, `${out.reason}: model ${out.frame.bytes.toString('hex')}, datapath ${actual.frame.toString('hex')}`);
      }
      const blockEnd = (caseNo + 1) % blockSize === 0;
      if (o.perFrameCounters || blockEnd || caseNo + 1 === o.cases) {
        checkBlock(caseNo, expected, before, last);
        if (blockEnd) {
          // Until one block of random frames has run, there is no lb_config (everything balanced
          // is noConfig); then the control plane changes something every few blocks.
          if (!config && caseNo + 1 >= sweep.length + blockSize) {
            config = CONFIGS[0]!;
            dp.setConfig(config);
            state = readState(dp, config, flows);
          } else if (config && ((caseNo + 1) / blockSize) % 3 === 0) {
            changeControlPlane();
          }
          o.onProgress?.(caseNo + 1, report.mismatches.length);
        }
        expected = new Map();
        before = dp.readCounters();
      }
    }
    return report;
  } finally {
    dp.close();
  }
}

/** A mutated copy of a frame (for reproducing one case by hand). */
export { mutate };
