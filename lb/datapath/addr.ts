// Address text ↔ the byte forms the datapath stores. IP parsing and canonical text come from
// lb/model (one parser, one canonical form across xlb: Maglev keys are built from that text, so
// every node must format addresses identically); this file adds the 16-byte datapath form and MACs.
import { formatIp, invalid, parseIp, parsePrefix } from '../model/index.js';

export type Family = 4 | 6;

export interface DatapathAddress {
  family: Family;
  /** 16 bytes, network order; IPv4 in bytes 0–3, the rest zero (bpf/lb/maps.h). */
  bytes: Buffer;
  /** Canonical text (dotted quad / RFC 5952). */
  text: string;
}

/** Parses an IPv4 or IPv6 address; ValidationError naming `field` if it is not one. */
export function parseAddress(text: unknown, field: string): DatapathAddress {
  const ip = parseIp(text, field);
  const bytes = Buffer.alloc(16);
  bytes.set(ip.bytes);
  return { family: ip.family, bytes, text: ip.text };
}

/** Canonical text of a 16-byte datapath address. */
export function formatAddress(family: Family, bytes: Uint8Array): string {
  return formatIp(bytes.subarray(0, family === 4 ? 4 : 16));
}

export interface DatapathCidr extends DatapathAddress {
  prefix: number;
}

/** "10.0.0.0/24" or "2001:db8::/120"; host bits must be zero. */
export function parseCidr(text: unknown, field: string): DatapathCidr {
  const p = parsePrefix(text, field);
  const bytes = Buffer.alloc(16);
  bytes.set(p.address.bytes);
  return { family: p.address.family, bytes, text: p.text, prefix: p.prefixLength };
}

/** "aa:bb:cc:dd:ee:ff" → 6 bytes. */
export function parseMac(text: unknown, field: string): Buffer {
  if (typeof text !== 'string' || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(text)) {
    throw invalid(field, `${JSON.stringify(text)} is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  }
  return Buffer.from(text.split(':').map((h) => parseInt(h, 16)));
}

export function formatMac(bytes: Uint8Array): string {
  return [...bytes.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
