// A reference model of the XDP load balancer's decisions (bpf/lb/xlb_lb.c and its headers),
// written from the documented behaviour in straightforward TypeScript: for one frame and the maps'
// contents it says the verdict, the reason counter and the events, the service and backend that
// are counted, the flow-table write, and the exact output frame. The differential fuzzer
// (lb-fuzz.ts) runs every frame through BPF_PROG_TEST_RUN too and demands the same answer.
//
// It shares no code with lb/ or bpf/: its own parsing, its own flow hash, its own header
// building (with test/lab/packets.ts's checksum). Its inputs are the state the control plane put
// into the maps (services, backends, Maglev tables as read back, lb_config, load-time constants)
// plus a shadow of the flow table that the model itself keeps.
//
// Behaviour that issue 13 changes in the datapath (items 2 and 4, done in bpf/lb by another
// branch) is a parameter (LbModelBehaviour), so the model follows the datapath as it lands.
import { inetChecksum } from '../lab/packets.js';

export const ETH_P = { ip: 0x0800, ipv6: 0x86dd, q: 0x8100, ad: 0x88a8 } as const;
const PROTO = { icmp: 1, tcp: 6, udp: 17, icmp6: 58, ipip: 4, ipv6: 41 } as const;
const L2_MAX_LEN = 22;
const NO_BACKEND = 0xffffffff;
const ICMP4_QUOTE = 548;
const ICMP6_QUOTE = 1232;

export interface LbModelBehaviour {
  /** The flow hash: 'murmur3' (before datapath-speed) or 'multiplicative' (bpf/lb/hash.h since 06fa351). */
  hash?: 'murmur3' | 'multiplicative';
  /** Ethernet padding after the IP packet stays behind the encapsulated packet (datapath-speed). */
  keepsPadding?: boolean;
  /** ICMP too-big replies never go to multicast/broadcast/unspecified/loopback/0/8/240/4 sources
   *  (issue 13 item 2; the rate limit is set out of reach by the fuzzer's load options). */
  icmpSourceFilter?: boolean;
  /** A TCP SYN skips the flow-table lookup and overwrites the entry (issue 13 item 4 changes this). */
  synOverwritesEntry: boolean;
  /** The MTU check runs after the backend choice, so a too-big packet inserts a flow first (item 2). */
  mtuCheckAfterFlowInsert: boolean;
}

/** The datapath as of commit 4b32cc8 (before items 2 and 4). */
export const BEHAVIOUR_BEFORE_ITEMS_2_4: LbModelBehaviour = { synOverwritesEntry: true, mtuCheckAfterFlowInsert: true };

/** The datapath with items 2 and 4 and the datapath-speed work (issue 9): what bpf/lb does now. A SYN
 *  for a live entry keeps it (the fuzzer loads synTakeoverIdleMs far beyond its run time). */
export const BEHAVIOUR_NOW: LbModelBehaviour = {
  synOverwritesEntry: false, mtuCheckAfterFlowInsert: false, hash: 'multiplicative', keepsPadding: true, icmpSourceFilter: true,
};

export interface ModelService {
  id: number;
  family: 4 | 6;
  /** 4 or 16 address bytes. */
  vip: Buffer;
  /** 0 = all ports. */
  port: number;
  proto: number;
  sourceHash: boolean;
}

export interface ModelBackend {
  id: number;
  serviceId: number;
  family: 4 | 6;
  addr: Buffer;
  state: 'active' | 'draining';
}

export interface ModelConfig {
  ifMac: Buffer;
  gwMac: Buffer;
  /** Base address (a fixed source, or the network of a source CIDR). */
  srcV4?: Buffer;
  srcV4HostBits: number;
  srcV6?: Buffer;
  srcV6HostBits: number;
}

export interface ModelState {
  seed: number;
  mtu: number;
  stateless: boolean;
  services: ModelService[];
  backends: Map<number, ModelBackend>;
  /** Maglev tables by service id (absent: no table). */
  tables: Map<number, Uint32Array>;
  /** undefined: lb_config never written (no MACs). */
  config: ModelConfig | undefined;
  /** The model's own flow table: key (hex of struct flow_key) → choice. */
  flows: Map<string, { backendId: number; serviceId: number }>;
}

export type Verdict = 'pass' | 'tx' | 'drop';

/** An output frame with byte ranges whose value the model cannot know (random IP ids). */
export interface ExpectedFrame {
  bytes: Buffer;
  /** [start, end) ranges not compared; `ipv4HeaderAt` says which IPv4 header must still check out. */
  dontCare: Array<[number, number]>;
  ipv4HeaderAt?: number;
}

export interface Outcome {
  verdict: Verdict;
  /** Reason counter, e.g. 'drop.malformed', 'tx.ipip'. */
  reason: string;
  /** Event counters, in order, e.g. 'flow.miss', 'flow.new', 'event.vlan'. */
  events: string[];
  serviceId?: number;
  /** Counted on the backend (TX of an encapsulated packet). */
  backendId?: number;
  /** Output frame for pass and tx. */
  frame?: ExpectedFrame;
  /** Flow entries written or refreshed (their last-seen time is now). */
  flowsTouched: string[];
}

// ---- MurmurHash3 x86_32 over little-endian 32-bit words (as the datapath reads its struct) ----

function rotl(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

export function murmur3Words(bytes: Buffer, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i + 4 <= bytes.length; i += 4) {
    let k = bytes.readUInt32LE(i);
    k = Math.imul(k, 0xcc9e2d51) >>> 0;
    k = rotl(k, 15);
    k = Math.imul(k, 0x1b873593) >>> 0;
    h = (h ^ k) >>> 0;
    h = rotl(h, 13);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  h = (h ^ bytes.length) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

// ---- the multiplicative flow hash (bpf/lb/hash.h): 64-bit words of the flow key ----------------

const K1 = 0x9e3779b97f4a7c15n;
const K2 = 0xc2b2ae3d27d4eb4fn;
const M64 = (1n << 64n) - 1n;

/** The 64-bit hash of a 40-byte flow key: IPv4 two words ((src << 32 | dst) and the word at byte
 *  32), IPv6 five; client-only: the client address alone; first word XOR seed, × K1 / K2 alternating. */
export function mulHash64(key: Buffer, seed: number, clientOnly: boolean): bigint {
  let words: bigint[];
  if (key[35] === 4) {
    const src = BigInt(key.readUInt32LE(0));
    words = clientOnly ? [src] : [(src << 32n) | BigInt(key.readUInt32LE(16)), key.readBigUInt64LE(32)];
  } else {
    words = [0, 8, 16, 24, 32].map((at) => key.readBigUInt64LE(at));
    if (clientOnly) words = words.slice(0, 2);
  }
  let h = 0n;
  words.forEach((w, i) => {
    h += (i === 0 ? w ^ BigInt(seed >>> 0) : w) * (i % 2 ? K2 : K1);
  });
  return h & M64;
}

/** struct flow_key since layout 4 (datapath-speed): src[16] dst[16] dport proto family sport pad[2]. */
export function flowKeyBytesV4(f: Flow): Buffer {
  const b = Buffer.alloc(40);
  addr16(f.src).copy(b, 0);
  addr16(f.dst).copy(b, 16);
  b.writeUInt16BE(f.dport, 32);
  b[34] = f.proto;
  b[35] = f.family;
  b.writeUInt16BE(f.sport, 36);
  return b;
}

/** The 32-bit hash that places a flow and varies its outer source and flow label. */
export function mulHash32(key: Buffer, seed: number, clientOnly: boolean): number {
  const h = mulHash64(key, seed, clientOnly);
  return Number((((h ^ (h >> 32n)) * K2) & M64) >> 32n);
}

// ---- the flow key (struct flow_key: src[16] dst[16] sport dport proto family pad[2]) -----------

export interface Flow {
  family: 4 | 6;
  src: Buffer;
  dst: Buffer;
  sport: number;
  dport: number;
  proto: number;
}

function addr16(a: Buffer): Buffer {
  const out = Buffer.alloc(16);
  a.copy(out, 0, 0, Math.min(16, a.length));
  return out;
}

export function flowKeyBytes(f: Flow): Buffer {
  const b = Buffer.alloc(40);
  addr16(f.src).copy(b, 0);
  addr16(f.dst).copy(b, 16);
  b.writeUInt16BE(f.sport, 32);
  b.writeUInt16BE(f.dport, 34);
  b[36] = f.proto;
  b[37] = f.family;
  return b;
}

// ---- parsing ----------------------------------------------------------------------------------

type L3Status = 'ok' | 'malformed' | 'fragment' | 'options' | 'exthdr';

interface Packet {
  frameLen: number;
  l3Off: number;
  vlanTags: number;
  flow: Flow;
  tos: number;
  df: boolean;
  l3Status: L3Status;
  l3Len: number;
  l4Off: number;
  tcpSyn: boolean;
}

const IPV6_EXT = new Set([0, 43, 60, 51, 135, 139, 140, 253, 254]);

type ParseResult = { pass: string } | { pkt: Packet };

function parse(f: Buffer): ParseResult {
  if (f.length < 14) return { pass: 'pass.notIp' };
  let proto = f.readUInt16BE(12);
  let off = 14;
  let tags = 0;
  for (let i = 0; i < 2; i++) {
    if (proto !== ETH_P.q && proto !== ETH_P.ad) break;
    if (off + 4 > f.length) return { pass: 'pass.notIp' };
    proto = f.readUInt16BE(off + 2);
    off += 4;
    tags++;
  }
  const l3 = off;
  const avail = f.length - l3;
  if (proto === ETH_P.ip) {
    if (avail < 20) return { pass: 'pass.l3Short' };
    const ver = f[l3]! >> 4;
    const ihl = f[l3]! & 0xf;
    const totLen = f.readUInt16BE(l3 + 2);
    const frag = f.readUInt16BE(l3 + 6);
    let status: L3Status = 'ok';
    if (ver !== 4 || ihl * 4 < 20 || totLen < ihl * 4 || totLen > avail) status = 'malformed';
    else if (frag & 0x3fff) status = 'fragment';
    else if (ihl !== 5) status = 'options';
    return {
      pkt: {
        frameLen: f.length, l3Off: l3, vlanTags: tags, tos: f[l3 + 1]!, df: (frag & 0x4000) !== 0, l3Status: status,
        l3Len: totLen, l4Off: l3 + ihl * 4, tcpSyn: false,
        flow: { family: 4, src: f.subarray(l3 + 12, l3 + 16), dst: f.subarray(l3 + 16, l3 + 20), proto: f[l3 + 9]!, sport: 0, dport: 0 },
      },
    };
  }
  if (proto === ETH_P.ipv6) {
    if (avail < 40) return { pass: 'pass.l3Short' };
    const ver = f[l3]! >> 4;
    const payload = f.readUInt16BE(l3 + 4);
    const nh = f[l3 + 6]!;
    let status: L3Status = 'ok';
    if (ver !== 6 || 40 + payload > avail) status = 'malformed';
    else if (nh === 44) status = 'fragment';
    else if (IPV6_EXT.has(nh)) status = 'exthdr';
    return {
      pkt: {
        frameLen: f.length, l3Off: l3, vlanTags: tags, tos: ((f[l3]! & 0xf) << 4) | (f[l3 + 1]! >> 4), df: false,
        l3Status: status, l3Len: 40 + payload, l4Off: l3 + 40, tcpSyn: false,
        flow: { family: 6, src: f.subarray(l3 + 8, l3 + 24), dst: f.subarray(l3 + 24, l3 + 40), proto: nh, sport: 0, dport: 0 },
      },
    };
  }
  return { pass: 'pass.notIp' };
}

const L3_REASON: Record<Exclude<L3Status, 'ok'>, string> = {
  malformed: 'drop.malformed',
  fragment: 'drop.fragment',
  options: 'drop.ipOptions',
  exthdr: 'drop.ipv6ExtHeader',
};

// ---- the model --------------------------------------------------------------------------------

class Run {
  readonly events: string[] = [];
  readonly flowsTouched: string[] = [];
  serviceId: number | undefined;
  backendId: number | undefined;

  constructor(readonly s: ModelState, readonly b: LbModelBehaviour, readonly frame: Buffer) {}

  out(verdict: Verdict, reason: string, frame?: ExpectedFrame): Outcome {
    const o: Outcome = { verdict, reason, events: this.events, flowsTouched: this.flowsTouched };
    if (this.serviceId !== undefined) o.serviceId = this.serviceId;
    if (this.backendId !== undefined) o.backendId = this.backendId;
    if (frame) o.frame = frame;
    return o;
  }

  isVip(flow: Flow): boolean {
    return this.s.services.some((v) => v.family === flow.family && v.vip.equals(flow.dst));
  }

  service(flow: Flow): { svc: ModelService; port: number } | undefined {
    const match = (port: number) =>
      this.s.services.find((v) => v.family === flow.family && v.vip.equals(flow.dst) && v.proto === flow.proto && v.port === port);
    const exact = match(flow.dport);
    if (exact) return { svc: exact, port: flow.dport };
    const all = match(0);
    return all ? { svc: all, port: 0 } : undefined;
  }

  backend(id: number, serviceId: number): ModelBackend | undefined {
    const be = this.s.backends.get(id);
    return be && be.serviceId === serviceId ? be : undefined;
  }
}

/** What the datapath does with `frame` given `state`. Updates state.flows like the datapath. */
export function modelLb(state: ModelState, behaviour: LbModelBehaviour, frame: Buffer): Outcome {
  const run = new Run(state, behaviour, frame);
  const parsed = parse(frame);
  if ('pass' in parsed) return run.out('pass', parsed.pass, pass(frame));
  const p = parsed.pkt;
  if (!run.isVip(p.flow)) return run.out('pass', 'pass.notVip', pass(frame));
  if (p.vlanTags) run.events.push('event.vlan');
  if (p.l3Status !== 'ok') return run.out('drop', L3_REASON[p.l3Status]);
  const proto = p.flow.proto;
  const icmp = p.flow.family === 4 ? PROTO.icmp : PROTO.icmp6;
  if (proto !== PROTO.tcp && proto !== PROTO.udp && proto !== icmp) return run.out('drop', 'drop.unsupportedProtocol');
  // lb_parse_l4: the transport header's minimum inside the IP packet, the ports inside the frame.
  const need = proto === PROTO.tcp ? 20 : 8;
  if (p.l4Off + need > p.l3Off + p.l3Len || p.l4Off > L2_MAX_LEN + 40 || p.l4Off + 4 > frame.length) {
    return run.out('drop', 'drop.malformed');
  }
  if (proto === PROTO.tcp || proto === PROTO.udp) {
    p.flow.sport = frame.readUInt16BE(p.l4Off);
    p.flow.dport = frame.readUInt16BE(p.l4Off + 2);
  }
  if (proto === PROTO.tcp) {
    if (p.l4Off + 13 >= frame.length) return run.out('drop', 'drop.malformed');
    p.tcpSyn = (frame[p.l4Off + 13]! & 0x12) === 0x02;
  }
  if (proto === icmp) {
    const e = p.flow.family === 4 ? icmp4ErrorFlow(frame, p) : icmp6ErrorFlow(frame, p);
    if ('reason' in e) return run.out(e.reason.startsWith('pass') ? 'pass' : 'drop', e.reason, e.reason.startsWith('pass') ? pass(frame) : undefined);
    return balance(run, p, e.flow, true);
  }
  return balance(run, p, p.flow, false);
}

function pass(frame: Buffer): ExpectedFrame {
  return { bytes: Buffer.from(frame), dontCare: [] };
}

type ErrorFlow = { flow: Flow } | { reason: string };

function icmp4ErrorFlow(f: Buffer, p: Packet): ErrorFlow {
  const l3End = p.l3Off + p.l3Len;
  const end = Math.min(f.length, l3End);
  const icmp = p.l4Off;
  if (icmp > L2_MAX_LEN + 20 || icmp + 8 > end) return { reason: 'drop.malformed' };
  const type = f[icmp]!;
  if (type !== 3 && type !== 11 && type !== 12) return { reason: 'pass.vipIcmp' };
  const q = icmp + 8;
  if (q + 20 > end) return { reason: 'drop.malformed' };
  if (f[q]! >> 4 !== 4 || (f[q]! & 0xf) < 5) return { reason: 'drop.malformed' };
  const qProto = f[q + 9]!;
  if ((qProto !== PROTO.tcp && qProto !== PROTO.udp) || (f.readUInt16BE(q + 6) & 0x1fff)) return { reason: 'pass.vipIcmp' };
  const ports = q + (f[q]! & 0xf) * 4;
  if (ports + 4 > end) return { reason: 'drop.malformed' };
  return {
    flow: {
      family: 4, src: f.subarray(q + 16, q + 20), dst: f.subarray(q + 12, q + 16),
      sport: f.readUInt16BE(ports + 2), dport: f.readUInt16BE(ports), proto: qProto,
    },
  };
}

function icmp6ErrorFlow(f: Buffer, p: Packet): ErrorFlow {
  const end = Math.min(f.length, p.l3Off + p.l3Len);
  const icmp = p.l4Off;
  if (icmp > L2_MAX_LEN + 40 || icmp + 8 > end) return { reason: 'drop.malformed' };
  const type = f[icmp]!;
  if (type < 1 || type > 4) return { reason: 'pass.vipIcmp' };
  const q = icmp + 8;
  if (q + 40 > end) return { reason: 'drop.malformed' };
  if (f[q]! >> 4 !== 6) return { reason: 'drop.malformed' };
  const qProto = f[q + 6]!;
  if (qProto !== PROTO.tcp && qProto !== PROTO.udp) return { reason: 'pass.vipIcmp' };
  const ports = q + 40;
  if (ports + 4 > end) return { reason: 'drop.malformed' };
  return {
    flow: {
      family: 6, src: f.subarray(q + 24, q + 40), dst: f.subarray(q + 8, q + 24),
      sport: f.readUInt16BE(ports + 2), dport: f.readUInt16BE(ports), proto: qProto,
    },
  };
}

function balance(run: Run, p: Packet, flow: Flow, isError: boolean): Outcome {
  const s = run.s;
  const found = run.service(flow);
  if (!found) return run.out('pass', isError ? 'pass.vipIcmp' : 'pass.noService', pass(run.frame));
  const { svc, port } = found;
  run.serviceId = svc.id;
  const clientOnly = svc.sourceHash;
  const key = flowKeyBytes(clientOnly ? { ...flow, sport: 0, dport: port } : flow).toString('hex');
  const hash = run.b.hash === 'multiplicative'
    ? mulHash32(flowKeyBytesV4(flow), s.seed, clientOnly)
    : clientOnly ? murmur3Words(addr16(flow.src), s.seed) : murmur3Words(flowKeyBytes(flow), s.seed);

  // Today the flow entry is written before the MTU rule is applied (issue 13 item 2 moves it after).
  const insertFirst = run.b.mtuCheckAfterFlowInsert || isError;
  const choice = selectBackend(run, key, svc, hash, !isError, p.tcpSyn && !clientOnly, insertFirst);
  if (!choice) return run.out('drop', 'drop.noBackend');
  const be = choice.be;
  const cfg = s.config;
  const overhead = be.family === 4 ? 20 : 40;
  if (!cfg || !(be.family === 4 ? cfg.srcV4 : cfg.srcV6)) return run.out('drop', 'drop.noConfig');
  if (!isError) {
    const r = mtuCheck(run, p, overhead);
    if (r) return r;
    choice.commit();
  } else if (p.l3Len + overhead > s.mtu) {
    run.events.push('event.encapOverMtu');
  }
  run.backendId = be.id;
  if (choice.hit && run.b.keepsPadding) run.flowsTouched.push(key);
  if (isError) run.events.push('event.icmpForwarded');
  return encapsulate(run, p, be, cfg, hash);
}

interface Choice {
  be: ModelBackend;
  /** Writes the flow entry if it was deferred (no-op otherwise). */
  commit(): void;
  /** A data packet's flow-table hit. */
  hit?: boolean;
}

function selectBackend(
  run: Run, key: string, svc: ModelService, hash: number, update: boolean, newConn: boolean, insertNow: boolean,
): Choice | undefined {
  const s = run.s;
  const done = () => {};
  const useTable = !s.stateless;
  if (useTable) {
    const skipLookup = newConn && run.b.synOverwritesEntry;
    const fv = skipLookup ? undefined : s.flows.get(key);
    if (fv) {
      const be = fv.serviceId === svc.id ? run.backend(fv.backendId, svc.id) : undefined;
      // A SYN leaves an entry of a draining backend (flow.h): a drain takes no new connection.
      const synLeavesDraining = newConn && !run.b.synOverwritesEntry && be?.state === 'draining';
      if (be && !synLeavesDraining) {
        if (update) {
          // Before datapath-speed a hit refreshed the entry at once; since, only a packet that is
          // sent on (not one dropped for noConfig or answered with ICMP) refreshes it.
          if (!run.b.keepsPadding) run.flowsTouched.push(key);
          run.events.push('flow.hit');
          if (newConn) run.events.push('flow.synKept');
        }
        return { be, commit: done, hit: update };
      }
      if (update) run.events.push(be ? 'flow.miss' : 'flow.reselect');
    } else if (update) {
      run.events.push('flow.miss');
    }
  }
  const table = s.tables.get(svc.id);
  if (!table) return undefined;
  const slot = Math.floor((hash * table.length) / 0x1_0000_0000);
  const id = table[slot]!;
  if (id === NO_BACKEND) return undefined;
  const be = run.backend(id, svc.id);
  if (!be) return undefined;
  const write = () => {
    s.flows.set(key, { backendId: id, serviceId: svc.id });
    run.flowsTouched.push(key);
    run.events.push('flow.new');
  };
  if (!useTable || !update) return { be, commit: done };
  if (insertNow) {
    write();
    return { be, commit: done };
  }
  return { be, commit: write };
}

/** Step 4: undefined when the packet may be sent, else the outcome (an ICMP reply or a drop). */
function mtuCheck(run: Run, p: Packet, overhead: number): Outcome | undefined {
  const mtu = run.s.mtu;
  if (p.l3Len + overhead <= mtu) return undefined;
  if (run.b.icmpSourceFilter && (p.flow.family === 6 || p.df) && !icmpSourceOk(p.flow)) return run.out('drop', 'drop.icmpBadSource');
  if (p.flow.family === 6) return tooBig6(run, p, mtu - overhead);
  if (p.df) return tooBig4(run, p, mtu - overhead);
  if (overhead === 40) return run.out('drop', 'drop.tooBig');
  run.events.push('event.encapOverMtu');
  return undefined;
}

/** RFC 1812 4.3.2.7 / RFC 4443 2.4(e): no ICMP error to 0/8, 127/8, 224/4, 240/4, ::, ::1, ff00::/8. */
function icmpSourceOk(flow: Flow): boolean {
  const a = flow.src;
  if (flow.family === 4) return a[0] !== 0 && a[0] !== 127 && a[0]! < 224;
  if (a[0] === 0xff) return false;
  return !(a.subarray(0, 15).every((x) => x === 0) && a[15]! <= 1);
}

/** The L2 header of a reply: the frame's own, MACs swapped, VLAN tags kept. */
function replyL2(f: Buffer, l3Off: number): Buffer {
  const l2 = Buffer.from(f.subarray(0, l3Off));
  f.copy(l2, 0, 6, 12);
  f.copy(l2, 6, 0, 6);
  return l2;
}

function tooBig4(run: Run, p: Packet, mtu: number): Outcome {
  if (p.l3Len < ICMP4_QUOTE) return run.out('drop', 'drop.tooBig');
  const f = run.frame;
  const quote = f.subarray(p.l3Off, p.l3Off + ICMP4_QUOTE);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + ICMP4_QUOTE, 2);
  ip[8] = 64;
  ip[9] = PROTO.icmp;
  Buffer.from(p.flow.dst).copy(ip, 12);
  Buffer.from(p.flow.src).copy(ip, 16);
  ip.writeUInt16BE(inetChecksum(ip), 10);
  const icmp = Buffer.alloc(8);
  icmp[0] = 3;
  icmp[1] = 4;
  icmp.writeUInt16BE(mtu, 6);
  icmp.writeUInt16BE(inetChecksum(icmp, quote), 2);
  return run.out('tx', 'tx.icmpFragNeeded', { bytes: Buffer.concat([replyL2(f, p.l3Off), ip, icmp, quote]), dontCare: [] });
}

function tooBig6(run: Run, p: Packet, mtu: number): Outcome {
  if (p.l3Len < ICMP6_QUOTE || mtu < 1280) return run.out('drop', 'drop.tooBig');
  const f = run.frame;
  const quote = f.subarray(p.l3Off, p.l3Off + ICMP6_QUOTE);
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip.writeUInt16BE(8 + ICMP6_QUOTE, 4);
  ip[6] = PROTO.icmp6;
  ip[7] = 64;
  Buffer.from(p.flow.dst).copy(ip, 8);
  Buffer.from(p.flow.src).copy(ip, 24);
  const icmp = Buffer.alloc(8);
  icmp[0] = 2;
  icmp.writeUInt32BE(mtu, 4);
  const pseudo = Buffer.alloc(40);
  ip.copy(pseudo, 0, 8, 40);
  pseudo.writeUInt32BE(8 + ICMP6_QUOTE, 32);
  pseudo[39] = PROTO.icmp6;
  icmp.writeUInt16BE(inetChecksum(pseudo, icmp, quote), 2);
  return run.out('tx', 'tx.icmp6PacketTooBig', { bytes: Buffer.concat([replyL2(f, p.l3Off), ip, icmp, quote]), dontCare: [] });
}

/** The outer source: base | (hash & host mask), the mask applying to the last 32 bits. */
function outerSource(base: Buffer, hostBits: number, hash: number): Buffer {
  const out = Buffer.from(base);
  const mask = hostBits >= 32 ? 0xffffffff : (2 ** hostBits - 1) >>> 0;
  const tail = out.length - 4;
  out.writeUInt32BE((out.readUInt32BE(tail) | (hash & mask)) >>> 0, tail);
  return out;
}

function encapsulate(run: Run, p: Packet, be: ModelBackend, cfg: ModelConfig, hash: number): Outcome {
  const f = run.frame;
  const innerV4 = p.flow.family === 4;
  // Padding beyond the IP packet: trimmed before datapath-speed, kept behind it since.
  const inner = f.subarray(p.l3Off, run.b.keepsPadding ? f.length : p.l3Off + p.l3Len);
  const l2 = Buffer.from(f.subarray(0, p.l3Off));
  cfg.gwMac.copy(l2, 0);
  cfg.ifMac.copy(l2, 6);
  l2.writeUInt16BE(be.family === 4 ? ETH_P.ip : ETH_P.ipv6, p.l3Off - 2);
  const dontCare: Array<[number, number]> = [];
  let outer: Buffer;
  let ipv4HeaderAt: number | undefined;
  if (be.family === 4) {
    const df = innerV4 ? p.df : true;
    outer = Buffer.alloc(20);
    outer[0] = 0x45;
    outer[1] = p.tos;
    outer.writeUInt16BE(p.l3Len + 20, 2);
    outer.writeUInt16BE(df ? 0x4000 : 0, 6);
    outer[8] = 64;
    outer[9] = innerV4 ? PROTO.ipip : PROTO.ipv6;
    outerSource(cfg.srcV4!, cfg.srcV4HostBits, hash).copy(outer, 12);
    be.addr.copy(outer, 16, 0, 4);
    outer.writeUInt16BE(inetChecksum(outer), 10);
    if (!df) {
      // A random IP id (fragments of different packets must not mix at the backend).
      dontCare.push([p.l3Off + 4, p.l3Off + 6], [p.l3Off + 10, p.l3Off + 12]);
      ipv4HeaderAt = p.l3Off;
    }
  } else {
    outer = Buffer.alloc(40);
    outer[0] = 0x60 | (p.tos >> 4);
    outer[1] = ((p.tos & 0x0f) << 4) | ((hash >>> 16) & 0x0f);
    outer[2] = (hash >>> 8) & 0xff;
    outer[3] = hash & 0xff;
    outer.writeUInt16BE(p.l3Len, 4);
    outer[6] = innerV4 ? PROTO.ipip : PROTO.ipv6;
    outer[7] = 64;
    outerSource(cfg.srcV6!, cfg.srcV6HostBits, hash).copy(outer, 8);
    be.addr.copy(outer, 24, 0, 16);
  }
  const reason = be.family === 4 ? (innerV4 ? 'tx.ipip' : 'tx.ip6in4') : innerV4 ? 'tx.ip4in6' : 'tx.ip6ip6';
  const frame: ExpectedFrame = { bytes: Buffer.concat([l2, outer, inner]), dontCare };
  if (ipv4HeaderAt !== undefined) frame.ipv4HeaderAt = ipv4HeaderAt;
  return run.out('tx', reason, frame);
}

/** Does `actual` match the expected frame (don't-care ranges skipped, IPv4 checksum re-checked)? */
export function frameMatches(expected: ExpectedFrame, actual: Buffer): boolean {
  if (expected.bytes.length !== actual.length) return false;
  const masked = (b: Buffer) => {
    const c = Buffer.from(b);
    for (const [s, e] of expected.dontCare) c.fill(0, s, e);
    return c;
  };
  if (!masked(expected.bytes).equals(masked(actual))) return false;
  if (expected.ipv4HeaderAt !== undefined) {
    return inetChecksum(actual.subarray(expected.ipv4HeaderAt, expected.ipv4HeaderAt + 20)) === 0;
  }
  return true;
}
