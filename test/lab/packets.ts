// The one packet builder of the tests and benchmarks (BPF_PROG_TEST_RUN frames, expected outputs).
// It shares no code with lb/ (its own address parsing, its own RFC 1071 checksum), so an expected
// packet built here is an independent statement of what the wire bytes must be.
import { isIPv4 } from 'node:net';

export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;
export const PROTO_ICMP = 1;
export const PROTO_IPIP = 4;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_IPV6 = 41;
export const PROTO_ICMPV6 = 58;

/** RFC 1071 Internet checksum over `parts` as one byte string. */
export function inetChecksum(...parts: Buffer[]): number {
  const all = Buffer.concat(parts);
  let sum = 0;
  for (let i = 0; i + 1 < all.length; i += 2) sum += all.readUInt16BE(i);
  if (all.length % 2) sum += all[all.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function mac(text: string): Buffer {
  return Buffer.from(text.split(':').map((h) => parseInt(h, 16)));
}

export function ip4(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

export function ip6(text: string): Buffer {
  const out = Buffer.alloc(16);
  const [head, tail] = text.includes('::') ? text.split('::') : [text, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), 2 * i));
  return out;
}

export function ipBytes(text: string): Buffer {
  return isIPv4(text) ? ip4(text) : ip6(text);
}

export interface EthOpts {
  dst: string;
  src: string;
  /** VLAN ids, outermost first; two tags use 802.1ad for the outer one. */
  vlans?: number[];
}

export function ether(o: EthOpts, type: number, payload: Buffer): Buffer {
  const parts: Buffer[] = [mac(o.dst), mac(o.src)];
  const vlans = o.vlans ?? [];
  vlans.forEach((vid, i) => {
    const tag = Buffer.alloc(4);
    tag.writeUInt16BE(vlans.length === 2 && i === 0 ? ETH_P_8021AD : ETH_P_8021Q, 0);
    tag.writeUInt16BE(vid, 2);
    parts.push(tag);
  });
  const t = Buffer.alloc(2);
  t.writeUInt16BE(type);
  parts.push(t, payload);
  return Buffer.concat(parts);
}

export interface Ipv4Opts {
  src: string;
  dst: string;
  proto: number;
  tos?: number;
  id?: number;
  df?: boolean;
  mf?: boolean;
  fragOffset?: number; // in 8-byte units
  ttl?: number;
  options?: Buffer; // multiple of 4 bytes
  /** Override header fields to build malformed packets. */
  ihl?: number;
  totLen?: number;
  version?: number;
  /** A header checksum to write instead of the correct one. */
  checksum?: number;
}

export function ipv4(o: Ipv4Opts, payload: Buffer): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  const h = Buffer.alloc(20 + opts.length);
  h[0] = ((o.version ?? 4) << 4) | (o.ihl ?? h.length / 4);
  h[1] = o.tos ?? 0;
  h.writeUInt16BE(o.totLen ?? h.length + payload.length, 2);
  h.writeUInt16BE(o.id ?? 0, 4);
  h.writeUInt16BE(((o.df ?? true) ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | (o.fragOffset ?? 0), 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.proto;
  ip4(o.src).copy(h, 12);
  ip4(o.dst).copy(h, 16);
  opts.copy(h, 20);
  h.writeUInt16BE(o.checksum ?? inetChecksum(h), 10);
  return Buffer.concat([h, payload]);
}

export interface Ipv6Opts {
  src: string;
  dst: string;
  nextHeader: number;
  trafficClass?: number;
  flowLabel?: number;
  hopLimit?: number;
  payloadLen?: number;
}

export function ipv6(o: Ipv6Opts, payload: Buffer): Buffer {
  const h = Buffer.alloc(40);
  const tc = o.trafficClass ?? 0;
  h.writeUInt32BE(((6 << 28) | (tc << 20) | ((o.flowLabel ?? 0) & 0xfffff)) >>> 0, 0);
  h.writeUInt16BE(o.payloadLen ?? payload.length, 4);
  h[6] = o.nextHeader;
  h[7] = o.hopLimit ?? 64;
  ip6(o.src).copy(h, 8);
  ip6(o.dst).copy(h, 24);
  return Buffer.concat([h, payload]);
}

function pseudoHeader(src: string, dst: string, proto: number, len: number): Buffer {
  if (isIPv4(src)) {
    const p = Buffer.alloc(12);
    ip4(src).copy(p, 0);
    ip4(dst).copy(p, 4);
    p[9] = proto;
    p.writeUInt16BE(len, 10);
    return p;
  }
  const p = Buffer.alloc(40);
  ip6(src).copy(p, 0);
  ip6(dst).copy(p, 16);
  p.writeUInt32BE(len, 32);
  p[39] = proto;
  return p;
}

export interface L4Opts {
  src: string; // addresses, for the pseudo-header checksum
  dst: string;
  sport: number;
  dport: number;
  payload?: Buffer;
}

export function tcp(o: L4Opts & { seq?: number; flags?: number }): Buffer {
  const payload = o.payload ?? Buffer.alloc(0);
  const h = Buffer.alloc(20);
  h.writeUInt16BE(o.sport, 0);
  h.writeUInt16BE(o.dport, 2);
  h.writeUInt32BE(o.seq ?? 1, 4);
  h[12] = 5 << 4;
  h[13] = o.flags ?? 0x02; // SYN
  h.writeUInt16BE(65535, 14);
  const seg = Buffer.concat([h, payload]);
  seg.writeUInt16BE(inetChecksum(pseudoHeader(o.src, o.dst, PROTO_TCP, seg.length), seg), 16);
  return seg;
}

export function udp(o: L4Opts): Buffer {
  const payload = o.payload ?? Buffer.alloc(0);
  const h = Buffer.alloc(8);
  h.writeUInt16BE(o.sport, 0);
  h.writeUInt16BE(o.dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  const seg = Buffer.concat([h, payload]);
  seg.writeUInt16BE(inetChecksum(pseudoHeader(o.src, o.dst, PROTO_UDP, seg.length), seg) || 0xffff, 6);
  return seg;
}

/** ICMPv4 message: type, code, 4 "rest of header" bytes, data. */
export function icmp4(type: number, code: number, rest: Buffer, data: Buffer): Buffer {
  const m = Buffer.concat([Buffer.from([type, code, 0, 0]), rest, data]);
  m.writeUInt16BE(inetChecksum(m), 2);
  return m;
}

export function icmp6(src: string, dst: string, type: number, code: number, rest: Buffer, data: Buffer): Buffer {
  const m = Buffer.concat([Buffer.from([type, code, 0, 0]), rest, data]);
  m.writeUInt16BE(inetChecksum(pseudoHeader(src, dst, PROTO_ICMPV6, m.length), m), 2);
  return m;
}

export function be16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export function be32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** An IP packet of the addresses' family carrying `payload` as protocol `proto`. */
export function ipPacket(src: string, dst: string, proto: number, payload: Buffer): Buffer {
  return isIPv4(dst) ? ipv4({ src, dst, proto }, payload) : ipv6({ src, dst, nextHeader: proto }, payload);
}

/** `inner` (an IP packet) in an outer header of the outer addresses' family: IPIP, IP6IP6, 4in6, 6in4. */
export function encapsulate(outerSrc: string, outerDst: string, inner: Buffer, o: Partial<Ipv4Opts> = {}): Buffer {
  const proto = inner[0]! >> 4 === 4 ? PROTO_IPIP : PROTO_IPV6;
  return isIPv4(outerDst) ? ipv4({ ...o, src: outerSrc, dst: outerDst, proto }, inner) : ipv6({ src: outerSrc, dst: outerDst, nextHeader: proto }, inner);
}

/** Ethernet type of an IP packet. */
export function ethTypeOf(ip: Buffer): number {
  return ip[0]! >> 4 === 4 ? ETH_P_IP : ETH_P_IPV6;
}

/** Deterministic filler so payload bytes are recognisable in diffs. */
export function pattern(len: number, start = 0): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (start + i) & 0xff;
  return b;
}
