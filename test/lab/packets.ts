// Byte-exact packet builders for BPF_PROG_TEST_RUN tests (no scapy round trip needed when the
// program runs on a buffer). Addresses as text; checksums filled in where the kernel would check.
import { isIPv4 } from 'node:net';
import { encodeAddrKey } from '../../lb/decap/layout.js';

export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_ARP = 0x0806;
export const IPPROTO_IPIP = 4;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;

function addrBytes(a: string): Buffer {
  const key = encodeAddrKey(a);
  return isIPv4(a) ? key.subarray(12) : key;
}

export function internetChecksum(buf: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2) sum += buf[buf.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function ether(dst: string, src: string, ethType: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(14);
  Buffer.from(dst.replace(/:/g, ''), 'hex').copy(h, 0);
  Buffer.from(src.replace(/:/g, ''), 'hex').copy(h, 6);
  h.writeUInt16BE(ethType, 12);
  return Buffer.concat([h, payload]);
}

export interface Ipv4Options {
  /** IP options (multiple of 4 bytes) */
  options?: Buffer;
  /** flags+fragment offset field, e.g. 0x2000 for MF */
  fragField?: number;
  /** added to the correct total length */
  totLenDelta?: number;
  badChecksum?: boolean;
}

export function ipv4(src: string, dst: string, proto: number, payload: Buffer, o: Ipv4Options = {}): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  const h = Buffer.alloc(20 + opts.length);
  h[0] = 0x40 | (h.length / 4);
  h.writeUInt16BE(h.length + payload.length + (o.totLenDelta ?? 0), 2);
  h.writeUInt16BE(0x1234, 4);
  h.writeUInt16BE(o.fragField ?? 0x4000 /* DF */, 6);
  h[8] = 64;
  h[9] = proto;
  addrBytes(src).copy(h, 12);
  addrBytes(dst).copy(h, 16);
  opts.copy(h, 20);
  h.writeUInt16BE(o.badChecksum ? 0xbad1 : internetChecksum(h), 10);
  return Buffer.concat([h, payload]);
}

export function ipv6(src: string, dst: string, nextHeader: number, payload: Buffer, o: { payloadLenDelta?: number } = {}): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32BE(0x60000000, 0);
  h.writeUInt16BE(payload.length + (o.payloadLenDelta ?? 0), 4);
  h[6] = nextHeader;
  h[7] = 64;
  addrBytes(src).copy(h, 8);
  addrBytes(dst).copy(h, 24);
  return Buffer.concat([h, payload]);
}

/** UDP with checksum 0 (legal for IPv4; the tests that use IPv6 inner packets never reach a socket). */
export function udp(sport: number, dport: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

/** An IP packet of either family carrying `payload` with `proto`. */
export function ipPacket(src: string, dst: string, proto: number, payload: Buffer): Buffer {
  return isIPv4(dst) ? ipv4(src, dst, proto, payload) : ipv6(src, dst, proto, payload);
}

/** Wraps an inner IP packet into an outer IP header of the outer addresses' family. */
export function encapsulate(outerSrc: string, outerDst: string, inner: Buffer, o: Ipv4Options = {}): Buffer {
  const innerIsV4 = inner[0]! >> 4 === 4;
  const proto = innerIsV4 ? IPPROTO_IPIP : IPPROTO_IPV6;
  return isIPv4(outerDst) ? ipv4(outerSrc, outerDst, proto, inner, o) : ipv6(outerSrc, outerDst, proto, inner);
}
