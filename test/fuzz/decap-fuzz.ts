// Differential fuzzing of the backend decap program (bpf/decap/xlb_decap.c) against its model
// (decap-model.ts): seeded tunnel frames (IPIP, IP6IP6, 4in6, 6in4) from allowed and other
// sources, to this host and others, carrying plain packets, tunnels and packets for other hosts,
// mutated at header edges and cut at every byte; plus what is not a tunnel at all. Per frame the
// verdict and the frame the stack gets; per block of frames every counter. Between blocks the
// allowed sources change (a list, none, any), forwarding is switched, the inner-destination check is
// switched (cfg_allow_forwarded_inner, a load-time constant: a program of its own per setting), and
// both ways of changing the family are run (the 6.3+ adjust_room flags and the older
// bpf_skb_change_proto path).
// Runs inside a network namespace of its own (test/decap/netns.ts): the program asks its routing
// table whether the inner destination is local.
import { BpfObject, withNetns, type BpfMap, type BpfProgram } from '../../bpf/libbpf-ts/index.js';
import { bpfObjectPath } from '../../bpf/objects.js';
import {
  ANY_SOURCE, counterKey, DECAP_COUNTER_NAMES, DecapAddrVal, DecapSourceVal, encodeAddrKey, encodeSourceKey, sumCounter,
} from '../../lb/decap/layout.js';
import { DecapNetns } from '../decap/netns.js';
import {
  ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, PROTO_ICMP, PROTO_IPIP, PROTO_IPV6, PROTO_TCP, PROTO_UDP,
  ether, ethTypeOf, icmp4, ipBytes, ipv4, ipv6, tcp, udp,
} from '../lab/packets.js';
import { modelDecap, type DecapCounter, type DecapModelState, type DecapPrefix } from './decap-model.js';
import { mutate } from './lb-frames.js';
import { Rng } from './rng.js';

export interface DecapFuzzOptions {
  cases: number;
  seed: number;
  blockSize?: number;
  maxMismatches?: number;
}

export interface DecapFuzzReport {
  cases: number;
  seed: number;
  mismatches: Array<{ caseNo: number; what: string; frame: string; detail: string }>;
  /** Outcomes by counter ('untouched' for frames the program leaves alone). */
  outcomes: Record<string, number>;
  crashes: number;
  /** Cases run with cfg_allow_forwarded_inner = 1, and those among them that it let through
   *  (the model says innerNotLocal without it). */
  allowForwardedInner: { cases: number; accepted: number };
}

const TC_ACT_OK = 0;
const TC_ACT_SHOT = 2;
const L2 = { dst: '02:00:00:00:0b:01', src: '02:00:00:00:00:01' };
const ENDPOINT4 = '10.3.1.2';
const ENDPOINT6 = 'fd00:3:1::2';
const VIPS4 = ['10.100.0.10', '10.100.0.11'];
const VIPS6 = ['fd00:100::10', 'fd00:100::11'];
const LB4 = ['10.2.1.2', '10.2.2.2'];
const LB6 = ['fd00:2:1::2', 'fd00:2:2::2'];
const STRANGERS4 = ['198.51.100.7', '10.1.1.2', '0.0.0.0'];
const STRANGERS6 = ['2001:db8:666::7', 'fd00:1:1::2', '::ffff:a02:102'];
const OTHER4 = ['192.0.2.1', '10.3.2.2', '224.0.0.1', '255.255.255.255', '127.0.0.1', '0.1.2.3', '240.0.0.1'];
const OTHER6 = ['2001:db8::1', 'fd00:3:2::2', 'ff02::1', '::1', 'fe80::1', '::ffff:a64:a', '::'];
const SOURCE_SETS: string[][] = [['10.2.0.0/16', 'fd00:2::/32'], ['10.2.1.2', 'fd00:2:1::/48', '198.51.100.0/24'], [], [...ANY_SOURCE]];

/** BPF_PROG_TEST_RUN for skb programs refuses IP frames shorter than their base header
 *  (EINVAL: the kernel pulls it before running the program); on a real link the program sees them
 *  and passes them (nothing to strip). Those frames are not run. */
function runnable(f: Buffer): boolean {
  const type = f.length >= 14 ? f.readUInt16BE(12) : 0;
  return !((type === ETH_P_IP && f.length < 34) || (type === ETH_P_IPV6 && f.length < 54));
}

function prefixOf(cidr: string): DecapPrefix {
  const [a, l] = cidr.split('/');
  const addr = ipBytes(a!);
  return { family: addr.length === 4 ? 4 : 6, addr, len: l === undefined ? addr.length * 8 : Number(l) };
}

function innerPacket(r: Rng, v6: boolean): Buffer {
  const src = v6 ? r.pick(['fd00:1:1::2', '2001:db8::9']) : r.pick(['10.1.1.2', '192.0.2.9']);
  const dst = r.chance(0.7) ? r.pick(v6 ? [...VIPS6, ENDPOINT6] : [...VIPS4, ENDPOINT4]) : r.pick(v6 ? OTHER6 : OTHER4);
  const kind = r.weighted({ udp: 4, tcp: 4, icmp: 1, tunnel: 1, ext: v6 ? 1 : 0 });
  const payload = r.bytes(r.int(60));
  if (kind === 'udp') return v6 ? ipv6({ src, dst, nextHeader: PROTO_UDP }, udp({ src, dst, sport: 40000, dport: 53, payload })) : ipv4({ src, dst, proto: PROTO_UDP }, udp({ src, dst, sport: 40000, dport: 53, payload }));
  if (kind === 'tcp') return v6 ? ipv6({ src, dst, nextHeader: PROTO_TCP }, tcp({ src, dst, sport: 40000, dport: 80, payload })) : ipv4({ src, dst, proto: PROTO_TCP }, tcp({ src, dst, sport: 40000, dport: 80, payload }));
  if (kind === 'icmp') return v6 ? ipv6({ src, dst, nextHeader: 58 }, Buffer.concat([Buffer.from([128, 0, 0, 0]), payload])) : ipv4({ src, dst, proto: PROTO_ICMP }, icmp4(8, 0, Buffer.alloc(4), payload));
  if (kind === 'tunnel') {
    const nested = innerPacket(r, r.chance(0.5));
    const proto = r.pick([PROTO_IPIP, PROTO_IPV6, 47, 97, 137]);
    return v6 ? ipv6({ src, dst, nextHeader: proto }, nested) : ipv4({ src, dst, proto }, nested);
  }
  return ipv6({ src, dst, nextHeader: r.pick([0, 43, 44, 60, 51, 135]) }, Buffer.concat([Buffer.from([PROTO_UDP, 0, 0, 0, 0, 0, 0, 0]), payload]));
}

function tunnelFrame(r: Rng): Buffer {
  const outerV6 = r.chance(0.5);
  const innerV6 = r.chance(0.5);
  const inner = innerPacket(r, innerV6);
  const src = r.chance(0.75) ? r.pick(outerV6 ? LB6 : LB4) : r.pick(outerV6 ? STRANGERS6 : STRANGERS4);
  const dst = r.chance(0.85) ? (outerV6 ? ENDPOINT6 : ENDPOINT4) : outerV6 ? 'fd00:3:2::2' : '10.3.2.2';
  const proto = innerV6 ? PROTO_IPV6 : PROTO_IPIP;
  const outer = outerV6
    ? ipv6({ src, dst, nextHeader: proto, trafficClass: r.int(256) }, inner)
    : ipv4({ src, dst, proto, tos: r.int(256), df: r.chance(0.8), ...(r.chance(0.1) ? { options: Buffer.alloc(4 * r.range(1, 4), 1) } : {}) }, inner);
  return ether(L2, outerV6 ? ETH_P_IPV6 : ETH_P_IP, outer);
}

function otherFrame(r: Rng): Buffer {
  switch (r.weighted({ plain: 3, arp: 1, vlan: 1, junk: 1 })) {
    case 'plain': {
      const p = innerPacket(r, r.chance(0.5));
      return ether(L2, ethTypeOf(p), p);
    }
    case 'arp':
      return ether(L2, ETH_P_ARP, r.bytes(28));
    case 'vlan':
      return ether({ ...L2, vlans: [r.int(4096)] }, ETH_P_IP, ipv4({ src: LB4[0]!, dst: ENDPOINT4, proto: PROTO_IPIP }, innerPacket(r, false)));
    default:
      return ether(L2, r.pick([ETH_P_IP, ETH_P_IPV6, 0x1234]), r.bytes(r.int(120)));
  }
}

export function runDecapFuzz(o: DecapFuzzOptions): DecapFuzzReport {
  const blockSize = o.blockSize ?? 100;
  const maxMismatches = o.maxMismatches ?? 10;
  const r = new Rng(o.seed);
  const report: DecapFuzzReport = { cases: 0, seed: o.seed, mismatches: [], outcomes: {}, crashes: 0, allowForwardedInner: { cases: 0, accepted: 0 } };
  const local = [ENDPOINT4, ENDPOINT6, ...VIPS4, ...VIPS6];
  const ns = DecapNetns.create({ local });
  const objects: BpfObject[] = [];
  try {
    // Both ways of changing the family × both settings of the inner-destination check, each with
    // its own maps: index = legacy + 2 * allowForwardedInner.
    const programs = [[false, false], [true, false], [false, true], [true, true]].map(([legacy, allowForwarded]) => {
      const obj = BpfObject.open(bpfObjectPath('xlb_decap'));
      objects.push(obj);
      obj.setConst('cfg_legacy_cross_family', legacy ? 1 : 0);
      obj.setConst('cfg_allow_forwarded_inner', allowForwarded ? 1 : 0);
      obj.load();
      const addrs = obj.map('decap_addrs');
      for (const a of [ENDPOINT4, ENDPOINT6]) addrs.update(encodeAddrKey(a), DecapAddrVal.encode({ flags: 1 }));
      return { prog: obj.program('xlb_decap') as BpfProgram, sources: obj.map('decap_sources'), stats: obj.map('decap_stats') };
    });
    const state: DecapModelState = {
      tunnelEndpoints: [ipBytes(ENDPOINT4), ipBytes(ENDPOINT6)],
      sources: [],
      local: local.map(ipBytes),
      forwarding: true,
      allowForwardedInner: false,
    };
    const setSources = (cidrs: string[]) => {
      for (const p of programs) {
        for (const k of [...p.sources.keys()]) p.sources.delete(k);
        for (const c of cidrs) p.sources.update(encodeSourceKey(c), DecapSourceVal.encode({ flags: 1 }));
      }
      state.sources = cidrs.map(prefixOf);
    };
    setSources(SOURCE_SETS[0]!);
    const counters = (stats: BpfMap) => DECAP_COUNTER_NAMES.map((_, i) => sumCounter(stats.lookupPerCpu(counterKey(i))!));
    const mismatch = (caseNo: number, what: string, frame: Buffer, detail: string) => {
      if (report.mismatches.length < maxMismatches) report.mismatches.push({ caseNo, what, frame: frame.toString('hex'), detail });
    };

    const sweep = [tunnelFrame(r), tunnelFrame(r), tunnelFrame(r), tunnelFrame(r)]
      .flatMap((f) => Array.from({ length: f.length - 13 }, (_, i) => f.subarray(0, 14 + i)))
      .filter(runnable);
    let legacy = 0;
    const current = () => programs[legacy + (state.allowForwardedInner ? 2 : 0)]!;
    let expected = new Map<DecapCounter, { packets: number; bytes: number }>();
    let before = counters(current().stats);
    let last: Buffer = Buffer.alloc(0);
    for (let caseNo = 0; caseNo < o.cases && report.mismatches.length < maxMismatches; caseNo++) {
      let frame: Buffer;
      if (caseNo < sweep.length) frame = sweep[caseNo]!;
      else {
        do {
          frame = r.chance(0.85) ? tunnelFrame(r) : otherFrame(r);
          if (r.chance(0.35)) frame = mutate(r, frame);
        } while (!runnable(frame));
      }
      const want = modelDecap(state, frame);
      const p = current();
      let got;
      try {
        got = withNetns(ns.path, () => p.prog.testRun({ data: frame }));
      } catch (e) {
        report.crashes++;
        mismatch(caseNo, 'test run failed', frame, (e as Error).message);
        continue;
      }
      report.cases++;
      if (state.allowForwardedInner) {
        report.allowForwardedInner.cases++;
        if (want.verdict === 'ok' && want.counter && modelDecap({ ...state, allowForwardedInner: false }, frame).counter === 'innerNotLocal') {
          report.allowForwardedInner.accepted++;
        }
      }
      last = frame;
      const name = want.counter ?? 'untouched';
      report.outcomes[name] = (report.outcomes[name] ?? 0) + 1;
      if (want.counter) {
        const c = expected.get(want.counter) ?? { packets: 0, bytes: 0 };
        c.packets++;
        c.bytes += frame.length;
        expected.set(want.counter, c);
      }
      const verdict = got.retval === TC_ACT_OK ? 'ok' : got.retval === TC_ACT_SHOT ? 'shot' : `retval ${got.retval}`;
      if (verdict !== want.verdict) mismatch(caseNo, 'verdict', frame, `model ${want.verdict} (${name}), program ${verdict}`);
      else if (want.frame && !got.data.equals(want.frame)) mismatch(caseNo, 'frame', frame, `${name}: model ${want.frame.toString('hex')}, program ${got.data.toString('hex')}`);

      if ((caseNo + 1) % blockSize === 0 || caseNo + 1 === o.cases) {
        const after = counters(p.stats);
        const diff: string[] = [];
        DECAP_COUNTER_NAMES.forEach((n, i) => {
          const d = { packets: after[i]!.packets - before[i]!.packets, bytes: after[i]!.bytes - before[i]!.bytes };
          const e = expected.get(n) ?? { packets: 0, bytes: 0 };
          if (d.packets !== e.packets || d.bytes !== e.bytes) diff.push(`${n}: model ${e.packets}/${e.bytes} B, program ${d.packets}/${d.bytes} B`);
        });
        if (diff.length) mismatch(caseNo, 'counters', last, diff.join('; '));
        // Every few blocks: other allowed sources, forwarding switched, the inner-destination check
        // switched, the other way of changing the family.
        const blockNo = (caseNo + 1) / blockSize;
        if (blockNo % 3 === 0) setSources(r.pick(SOURCE_SETS));
        if (blockNo % 7 === 0) {
          state.forwarding = !state.forwarding;
          ns.forwarding(state.forwarding);
        }
        if (blockNo % 4 === 0) state.allowForwardedInner = !state.allowForwardedInner;
        if (blockNo % 5 === 0) legacy = 1 - legacy;
        expected = new Map();
        before = counters(current().stats);
      }
    }
    return report;
  } finally {
    for (const obj of objects) obj.close();
    ns.destroy();
  }
}
