// Frames for the datapath fuzzer: plausible ones built with the one packet builder
// (test/lab/packets.ts) around the services under test — so that they reach deep into the program
// (flows, ICMP errors quoting them, too-big packets, VLAN stacks, options, fragments, extension
// headers) — and then mutated: a header field set to a boundary value, random bytes flipped, the
// frame cut short at a random byte or padded. A seeded Rng makes every run the same.
import {
  ETH_P_8021AD, ETH_P_8021Q, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP,
  ether, icmp4, icmp6, ipv4, ipv6, tcp, udp, type EthOpts,
} from '../lab/packets.js';
import { Rng } from './rng.js';

export interface FrameTargets {
  /** VIPs with their service ports (0 = all ports) per protocol. */
  vips4: string[];
  vips6: string[];
  clients4: string[];
  clients6: string[];
  /** Ports the services use, plus a few they do not. */
  ports: number[];
  /** The services (port 0: any port), so most flows reach one. */
  services: Array<{ vip: string; port: number; proto: number }>;
  lbMac: string;
  peerMac: string;
}

const TCP_FLAGS = [0x02, 0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x00, 0x03, 0x06, 0xff];
const ICMP4_TYPES = [3, 3, 11, 12, 0, 8, 5, 4, 255];
const ICMP6_TYPES = [1, 2, 2, 3, 4, 128, 129, 135, 136, 0, 255];
const ODD_PROTOS = [47, 132, 50, 51, 0, 4, 41, 255, 2];
const V6_EXT = [0, 43, 44, 60, 51, 135, 139, 140, 253, 254];

function vlanOpts(r: Rng, base: Omit<EthOpts, 'vlans'>): { eth: EthOpts; extraTag?: number } {
  const n = { none: 0, one: 1, two: 2, three: 3 }[r.weighted({ none: 10, one: 3, two: 2, three: 1 })];
  const vlans = Array.from({ length: n }, () => r.range(0, 4095));
  return { eth: { ...base, vlans: vlans.slice(0, 2) }, ...(vlans.length === 3 ? { extraTag: vlans[2]! } : {}) };
}

/** Ethernet + optional third tag (which the datapath treats as "not IP") around an IP packet. */
function frameOf(r: Rng, t: FrameTargets, type: number, payload: Buffer): Buffer {
  const { eth, extraTag } = vlanOpts(r, { dst: t.lbMac, src: t.peerMac });
  if (extraTag === undefined) return ether(eth, type, payload);
  const tag = Buffer.alloc(4);
  tag.writeUInt16BE(extraTag, 0);
  tag.writeUInt16BE(type, 2);
  return ether(eth, r.chance(0.5) ? ETH_P_8021Q : ETH_P_8021AD, Buffer.concat([tag, payload]));
}

/** Mostly small; sometimes empty; sometimes around the MTU (too big once encapsulated). */
function payloadLen(r: Rng): number {
  const k = r.weighted({ small: 12, zero: 3, big: 4 });
  return k === 'small' ? r.range(1, 120) : k === 'zero' ? 0 : r.range(1380, 1560);
}

function l4(r: Rng, proto: number, src: string, dst: string, sport: number, dport: number, len: number): Buffer {
  const payload = r.bytes(len);
  if (proto === PROTO_TCP) return tcp({ src, dst, sport, dport, payload, flags: r.pick(TCP_FLAGS), seq: r.u32() });
  return udp({ src, dst, sport, dport, payload });
}

function sport(r: Rng): number {
  return r.pick([40000, 40001, 40002, 55555, 1024, 65535, 0]);
}

/** A client's TCP/UDP packet to a VIP (or near one): most frames reach the flow table. */
function flowPacket(r: Rng, t: FrameTargets, v6: boolean): Buffer {
  const svc = r.chance(0.75) ? r.pick(t.services.filter((x) => x.vip.includes(':') === v6)) : undefined;
  const proto = svc?.proto ?? (r.chance(0.7) ? PROTO_TCP : PROTO_UDP);
  const src = r.pick(v6 ? t.clients6 : t.clients4);
  const dst = svc?.vip ?? (r.chance(0.9) ? r.pick(v6 ? t.vips6 : t.vips4) : v6 ? 'fd00:100::99' : '10.100.0.99');
  const dport = svc && svc.port !== 0 ? svc.port : r.pick(t.ports);
  const seg = l4(r, proto, src, dst, sport(r), dport, payloadLen(r));
  const ip = v6
    ? ipv6({ src, dst, nextHeader: proto, trafficClass: r.int(256), flowLabel: r.u32() & 0xfffff }, seg)
    : ipv4({ src, dst, proto, tos: r.int(256), df: r.chance(0.7), id: r.int(65536), ttl: r.range(1, 255) }, seg);
  return frameOf(r, t, v6 ? ETH_P_IPV6 : ETH_P_IP, ip);
}

/** An ICMP error sent to a VIP, quoting a packet the VIP sent to a client (or something else). */
function icmpError(r: Rng, t: FrameTargets, v6: boolean): Buffer {
  const svc = r.chance(0.7) ? r.pick(t.services.filter((x) => x.vip.includes(':') === v6)) : undefined;
  const vip = svc?.vip ?? r.pick(v6 ? t.vips6 : t.vips4);
  const client = r.pick(v6 ? t.clients6 : t.clients4);
  const router = v6 ? 'fd00:1:1::1' : '10.1.1.1';
  const qp = svc && r.chance(0.8) ? svc.proto : { tcp: PROTO_TCP, udp: PROTO_UDP, icmp: v6 ? PROTO_ICMPV6 : PROTO_ICMP }[r.weighted({ tcp: 5, udp: 3, icmp: 1 })];
  const vipPort = svc && svc.port !== 0 ? svc.port : r.pick(t.ports);
  const qSeg = qp === PROTO_TCP || qp === PROTO_UDP ? l4(r, qp, vip, client, vipPort, sport(r), r.int(40)) : Buffer.alloc(8);
  let quoted = v6
    ? ipv6({ src: vip, dst: client, nextHeader: qp }, qSeg)
    : ipv4({ src: vip, dst: client, proto: qp, mf: r.chance(0.05), fragOffset: r.chance(0.05) ? r.range(1, 100) : 0 }, qSeg);
  if (r.chance(0.3)) quoted = quoted.subarray(0, r.int(quoted.length + 1)); // routers quote only the start
  const rest = Buffer.alloc(4);
  if (r.chance(0.5)) rest.writeUInt32BE(r.range(0, 1500), 0);
  const msg = v6
    ? icmp6(router, vip, r.pick(ICMP6_TYPES), r.int(5), rest, quoted)
    : icmp4(r.pick(ICMP4_TYPES), r.int(16), rest, quoted);
  const ip = v6
    ? ipv6({ src: router, dst: vip, nextHeader: PROTO_ICMPV6 }, msg)
    : ipv4({ src: router, dst: vip, proto: PROTO_ICMP, df: r.chance(0.5) }, msg);
  return frameOf(r, t, v6 ? ETH_P_IPV6 : ETH_P_IP, ip);
}

/** What a VIP must not balance: options, fragments, extension headers, other protocols. */
function oddL3(r: Rng, t: FrameTargets, v6: boolean): Buffer {
  const src = r.pick(v6 ? t.clients6 : t.clients4);
  const dst = r.pick(v6 ? t.vips6 : t.vips4);
  const seg = l4(r, PROTO_TCP, src, dst, sport(r), r.pick(t.ports), r.int(60));
  let ip: Buffer;
  if (v6) {
    const kind = r.weighted({ ext: 3, proto: 2 });
    if (kind === 'ext') {
      const nh = r.pick(V6_EXT);
      const ext = Buffer.concat([Buffer.from([PROTO_TCP, 0, 0, 0, 0, 0, 0, 0]), seg]);
      ip = ipv6({ src, dst, nextHeader: nh }, ext);
    } else {
      ip = ipv6({ src, dst, nextHeader: r.pick([...ODD_PROTOS, PROTO_ICMP]) }, seg);
    }
  } else {
    const kind = r.weighted({ options: 2, fragment: 2, proto: 2 });
    if (kind === 'options') ip = ipv4({ src, dst, proto: PROTO_TCP, options: Buffer.alloc(4 * r.range(1, 10), 1) }, seg);
    else if (kind === 'fragment') ip = ipv4({ src, dst, proto: PROTO_TCP, mf: r.chance(0.5), fragOffset: r.int(2) ? r.range(1, 8191) : 0, df: false }, seg);
    else ip = ipv4({ src, dst, proto: r.pick([...ODD_PROTOS, PROTO_ICMPV6]) }, seg);
  }
  return frameOf(r, t, v6 ? ETH_P_IPV6 : ETH_P_IP, ip);
}

/** Traffic that is not the load balancer's business. */
function other(r: Rng, t: FrameTargets): Buffer {
  const kind = r.weighted({ notVip4: 3, notVip6: 2, arp: 1, ethertype: 1, short: 1 });
  if (kind === 'arp') return ether({ dst: 'ff:ff:ff:ff:ff:ff', src: t.peerMac }, ETH_P_ARP, r.bytes(28));
  if (kind === 'ethertype') return ether({ dst: t.lbMac, src: t.peerMac }, r.int(65536), r.bytes(r.int(80)));
  if (kind === 'short') return r.bytes(r.range(14, 40));
  const v6 = kind === 'notVip6';
  const src = r.pick(v6 ? t.clients6 : t.clients4);
  const dst = v6 ? 'fd00:2:1::2' : '10.2.1.2';
  const ip = v6 ? ipv6({ src, dst, nextHeader: PROTO_TCP }, l4(r, PROTO_TCP, src, dst, 22, 40000, r.int(50))) : ipv4({ src, dst, proto: PROTO_UDP }, l4(r, PROTO_UDP, src, dst, 53, 40000, r.int(50)));
  return frameOf(r, t, v6 ? ETH_P_IPV6 : ETH_P_IP, ip);
}

/** One field of the frame's IP (or transport) header set to a value at an edge. */
function mutateField(r: Rng, f: Buffer): Buffer {
  const b = Buffer.from(f);
  let l3 = 14;
  while (l3 + 4 <= b.length && (b.readUInt16BE(l3 - 2) === ETH_P_8021Q || b.readUInt16BE(l3 - 2) === ETH_P_8021AD)) l3 += 4;
  if (l3 + 20 > b.length) return b;
  const type = b.readUInt16BE(l3 - 2);
  const edge16 = (cur: number) => r.pick([0, 1, 19, 20, 39, 40, cur - 1, cur + 1, cur + 8, 0xffff, r.int(65536)]) & 0xffff;
  if (type === ETH_P_IP) {
    switch (r.int(7)) {
      case 0: b.writeUInt16BE(edge16(b.readUInt16BE(l3 + 2)), l3 + 2); break; // total length
      case 1: b[l3] = (b[l3]! & 0xf0) | r.int(16); break; // IHL
      case 2: b[l3] = (r.int(16) << 4) | (b[l3]! & 0x0f); break; // version
      case 3: b.writeUInt16BE(r.pick([0x2000, 0x0001, 0x4000, 0x1fff, 0x3fff, 0]), l3 + 6); break; // flags/offset
      case 4: b[l3 + 9] = r.int(256); break; // protocol
      default: {
        const at = l3 + 20 + r.int(24); // transport header bytes (ports, flags, ICMP type, quote)
        if (at < b.length) b[at] = r.int(256);
      }
    }
  } else if (type === ETH_P_IPV6 && l3 + 40 <= b.length) {
    switch (r.int(5)) {
      case 0: b.writeUInt16BE(edge16(b.readUInt16BE(l3 + 4)), l3 + 4); break; // payload length
      case 1: b[l3 + 6] = r.pick([0, 4, 6, 17, 41, 43, 44, 58, 60, 255, r.int(256)]); break; // next header
      case 2: b[l3] = (r.int(16) << 4) | (b[l3]! & 0x0f); break; // version
      default: {
        const at = l3 + 40 + r.int(48);
        if (at < b.length) b[at] = r.int(256);
      }
    }
  }
  return b;
}

/** A random change: a field at an edge, flipped bytes, a cut, or trailing padding. */
export function mutate(r: Rng, f: Buffer): Buffer {
  switch (r.weighted({ field: 5, flip: 3, cut: 3, pad: 1 })) {
    case 'field':
      return mutateField(r, f);
    case 'flip': {
      const b = Buffer.from(f);
      for (let i = r.range(1, 3); i > 0; i--) b[r.int(b.length)] = r.int(256);
      return b;
    }
    case 'cut':
      return f.subarray(0, Math.max(14, r.int(f.length + 1)));
    default:
      return Buffer.concat([f, r.bytes(r.range(1, 40))]);
  }
}

export type FrameKind = 'flow' | 'icmpError' | 'oddL3' | 'other' | 'random';

/** One frame: a kind at random, then (often) mutated. Frames stay within XDP's one-page limit. */
export function randomFrame(r: Rng, t: FrameTargets): { kind: FrameKind; mutated: boolean; frame: Buffer } {
  const kind = r.weighted<FrameKind>({ flow: 45, icmpError: 18, oddL3: 10, other: 10, random: 2 });
  const v6 = r.chance(0.45);
  let frame: Buffer;
  if (kind === 'flow') frame = flowPacket(r, t, v6);
  else if (kind === 'icmpError') frame = icmpError(r, t, v6);
  else if (kind === 'oddL3') frame = oddL3(r, t, v6);
  else if (kind === 'other') frame = other(r, t);
  else frame = ether({ dst: t.lbMac, src: t.peerMac }, v6 ? ETH_P_IPV6 : ETH_P_IP, r.bytes(r.range(0, 200)));
  const mutated = r.chance(0.35);
  if (mutated) frame = mutate(r, frame);
  return { kind, mutated, frame: frame.subarray(0, 3000) };
}

/** Base frames the sweep cuts at every length (every header boundary inside them). */
export function sweepFrames(r: Rng, t: FrameTargets): Buffer[] {
  return [flowPacket(r, t, false), flowPacket(r, t, true), icmpError(r, t, false), icmpError(r, t, true)].map((f) => f.subarray(0, 400));
}
