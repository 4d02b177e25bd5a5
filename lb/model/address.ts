// IP addresses and prefixes: strict parsing, one canonical text form, and the checks that keep
// nonsensical addresses out of VIPs and backends. Canonical text matters beyond looks: it is the
// key of services and backends, so "2001:DB8::1" and "2001:db8:0::1" must be the same thing.
import { isIP } from 'node:net';
import { describeValue, invalid } from './errors.js';

export type AddressFamily = 4 | 6;

export interface IpAddress {
  family: AddressFamily;
  /** 4 bytes (IPv4) or 16 bytes (IPv6), network order. */
  bytes: Uint8Array;
  /** Canonical text: dotted quad, or RFC 5952 (lower case, longest zero run compressed). */
  text: string;
}

export interface IpPrefix {
  address: IpAddress;
  prefixLength: number;
  /** Canonical text, e.g. "10.0.0.0/8", "2001:db8::/32". */
  text: string;
}

/**
 * Parses an IPv4 or IPv6 address written without brackets, port or zone. Rejects everything
 * node:net's isIP rejects (leading zeros in IPv4, octal/hex forms, stray spaces) and zone ids
 * ("fe80::1%eth0": a load balancer's addresses are never link-scoped).
 */
// A dotted quad already in canonical form (no leading zeros): the common case, parsed without
// node:net and without formatting it again (thousands of backends per Apply).
const CANONICAL_V4 = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;

export function parseIp(text: unknown, field: string): IpAddress {
  if (typeof text === 'string') {
    const m = CANONICAL_V4.exec(text);
    if (m) return { family: 4, bytes: Uint8Array.of(+m[1]!, +m[2]!, +m[3]!, +m[4]!), text };
  }
  if (text === undefined || text === null || text === '') throw invalid(field, 'is required (an IPv4 or IPv6 address)');
  if (typeof text !== 'string') throw invalid(field, `expected an IP address string, got ${describeValue(text)}`);
  if (text.startsWith('[') && text.endsWith(']')) {
    throw invalid(field, `${describeValue(text)}: write the IPv6 address without brackets`);
  }
  if (text.includes('%')) throw invalid(field, `${describeValue(text)}: zone ids (%...) are not allowed`);
  const family = isIP(text);
  if (family === 4) {
    const bytes = Uint8Array.from(text.split('.').map(Number));
    return { family: 4, bytes, text: formatIp(bytes) };
  }
  if (family === 6) {
    const bytes = ipv6Bytes(text);
    return { family: 6, bytes, text: formatIp(bytes) };
  }
  throw invalid(field, `${describeValue(text)} is not a valid IPv4 or IPv6 address`);
}

/** Canonical text of 4 or 16 address bytes. */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new Error(`formatIp: ${bytes.length} bytes is neither IPv4 nor IPv6`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952 §5: IPv4-mapped addresses keep the dotted quad, it is what people recognise.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${Array.from(bytes.subarray(12)).join('.')}`;
  }
  // RFC 5952 §4.2: compress the longest run of ≥ 2 zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

// Only called on text that isIP() accepted as IPv6, so the syntax is known to be valid.
function ipv6Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(16);
  let body = text;
  let tail: number[] = [];
  const lastColon = body.lastIndexOf(':');
  if (body.indexOf('.', lastColon) >= 0) {
    // Embedded IPv4 in the last 32 bits (e.g. ::ffff:192.0.2.1).
    const v4 = body.slice(lastColon + 1).split('.').map(Number);
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    // Two placeholder groups keep the group count right for the '::' expansion below.
    body = body.slice(0, lastColon + 1) + '0:0';
  }
  const parseGroups = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  let groups: number[];
  const dbl = body.indexOf('::');
  if (dbl >= 0) {
    const head = parseGroups(body.slice(0, dbl));
    const rest = parseGroups(body.slice(dbl + 2));
    groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  } else {
    groups = parseGroups(body);
  }
  if (tail.length) groups.splice(6, 2, ...tail);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** Is `addr` inside prefix `base`/`len` (same family assumed by the caller)? */
function inPrefix(addr: Uint8Array, base: readonly number[], len: number): boolean {
  for (let bit = 0; bit < len; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if ((addr[byte]! & mask) !== ((base[byte] ?? 0) & mask)) return false;
  }
  return true;
}

/**
 * Why this address cannot be a VIP, a backend or an encapsulation source, or null when it can.
 * The rule is "a routable unicast address": traffic to or from the others either never reaches
 * the load balancer or cannot be answered.
 */
export function unusableAddressReason(ip: IpAddress, options: { allowLinkLocal?: boolean } = {}): string | null {
  const b = ip.bytes;
  const linkLocalOk = options.allowLinkLocal === true;
  if (ip.family === 4) {
    if (inPrefix(b, [0], 8)) return 'is in 0.0.0.0/8 ("this network", unspecified)';
    if (inPrefix(b, [127], 8)) return 'is a loopback address (127.0.0.0/8)';
    if (!linkLocalOk && inPrefix(b, [169, 254], 16)) return 'is a link-local address (169.254.0.0/16)';
    if (inPrefix(b, [224], 4)) return 'is a multicast address (224.0.0.0/4)';
    if (b.every((x) => x === 255)) return 'is the limited broadcast address';
    // "Class E": not routed by the Internet or by most stacks, and no host answers from it.
    if (inPrefix(b, [240], 4)) return 'is reserved (240.0.0.0/4)';
    return null;
  }
  if (b.every((x) => x === 0)) return 'is the unspecified address (::)';
  if (inPrefix(b, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 128)) return 'is the loopback address (::1)';
  if (inPrefix(b, [0xff], 8)) return 'is a multicast address (ff00::/8)';
  if (!linkLocalOk && inPrefix(b, [0xfe, 0x80], 10)) return 'is a link-local address (fe80::/10)';
  if (inPrefix(b, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 96)) {
    return `is an IPv4-mapped IPv6 address; write the IPv4 address ${Array.from(b.subarray(12)).join('.')} instead`;
  }
  if (inPrefix(b, [], 96)) return 'is an IPv4-compatible IPv6 address (::/96, deprecated by RFC 4291)';
  return null;
}

/**
 * parseIp plus the unicast rule; `role` words the message ("VIP", "backend address", ...).
 * allowLinkLocal: for a next-hop gateway, where fe80::1 is the normal case.
 */
export function parseUnicastIp(text: unknown, field: string, role: string, options: { allowLinkLocal?: boolean } = {}): IpAddress {
  const ip = parseIp(text, field);
  const reason = unusableAddressReason(ip, options);
  if (reason) throw invalid(field, `${ip.text} ${reason}; a ${role} must be a routable unicast address`);
  return ip;
}

/**
 * Parses "ADDRESS/LEN" (or a bare address when `allowBare`, meaning /32 or /128). Host bits must
 * be zero: "10.1.2.3/8" is almost always a typo for one of two different things.
 */
export function parsePrefix(text: unknown, field: string, options: { allowBare?: boolean } = {}): IpPrefix {
  if (typeof text !== 'string') throw invalid(field, `expected a prefix like 10.0.0.0/8, got ${describeValue(text)}`);
  const slash = text.indexOf('/');
  if (slash < 0) {
    if (!options.allowBare) throw invalid(field, `${describeValue(text)} has no prefix length (/N)`);
    const address = parseIp(text, field);
    const len = address.family === 4 ? 32 : 128;
    return { address, prefixLength: len, text: `${address.text}/${len}` };
  }
  const address = parseIp(text.slice(0, slash), field);
  const lenText = text.slice(slash + 1);
  const max = address.family === 4 ? 32 : 128;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText) || Number(lenText) > max) {
    throw invalid(field, `${describeValue(text)}: prefix length must be an integer 0..${max}`);
  }
  const prefixLength = Number(lenText);
  for (let bit = prefixLength; bit < max; bit++) {
    if (address.bytes[bit >> 3]! & (0x80 >> (bit & 7))) {
      const network = maskBytes(address.bytes, prefixLength);
      throw invalid(field, `${describeValue(text)} has host bits set; the network is ${formatIp(network)}/${prefixLength}`);
    }
  }
  return { address, prefixLength, text: `${address.text}/${prefixLength}` };
}

function maskBytes(bytes: Uint8Array, len: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let bit = len; bit < out.length * 8; bit++) out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return out;
}

/** Is `ip` inside `prefix` (false for another family)? */
export function prefixContains(prefix: IpPrefix, ip: IpAddress): boolean {
  return prefix.address.family === ip.family && inPrefix(ip.bytes, Array.from(prefix.address.bytes), prefix.prefixLength);
}

/** Orders addresses IPv4 first, then by bytes: the order lists are shown in. */
export function compareIp(a: IpAddress, b: IpAddress): number {
  if (a.family !== b.family) return a.family - b.family;
  for (let i = 0; i < a.bytes.length; i++) if (a.bytes[i] !== b.bytes[i]) return a.bytes[i]! - b.bytes[i]!;
  return 0;
}

/** 16-byte form used by the datapath's keys: IPv4 in the first 4 bytes, the rest zero. */
export function toDatapathBytes(ip: IpAddress): Uint8Array {
  const out = new Uint8Array(16);
  out.set(ip.bytes, 0);
  return out;
}
