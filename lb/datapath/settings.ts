// lb_config: the runtime settings (MACs, outer sources) between their API form (DatapathConfig)
// and the map value. Validation happens here so a bad setting never reaches the map.
import { invalid } from '../model/index.js';
import { formatAddress, formatMac, parseAddress, parseCidr, parseMac, type Family } from './addr.js';
import { CONFIG_F_MACS, CONFIG_F_READY_V4, CONFIG_F_READY_V6, CONFIG_F_SRC_V4, CONFIG_F_SRC_V6, CONFIG_SETTINGS_BYTES, LbConfig, VIP_FILTER_WORDS } from './layout.js';

/** The datapath stores host bits as a big-endian mask it ANDs with the flow hash. */
function hostMask(bits: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(bits >= 32 ? 0xffffffff : (2 ** bits - 1) >>> 0);
  return b;
}

function hostBits(mask: Buffer): number {
  const m = mask.readUInt32BE(0);
  return m === 0 ? 0 : 32 - Math.clz32(m);
}
import type { DatapathConfig } from './types.js';

const KNOWN = new Set(['ifMac', 'gatewayMac', 'sourceV4', 'sourceV6', 'sourceCidrV4', 'sourceCidrV6']);

/**
 * The fixed part of an outer IPv4 header for an IPv4 packet with DF (bpf/lb/encap.h
 * write_outer_v4): version/IHL 0x45, DF, TTL 64 and protocol 4, the source — summed as the
 * datapath sums, 32-bit little-endian words, the carry folded back in.
 */
export function ipipSum(source: Buffer): number {
  const s = 0x45 + 0x00400000 + (64 | (4 << 8)) + source.readUInt32LE(0);
  return (s % 0x1_0000_0000) + Math.floor(s / 0x1_0000_0000);
}

/** DatapathConfig → the settings bytes at the start of lb_config (the VIP filter after them is not
 *  part of it); ValidationError naming the setting if it is wrong. */
export function encodeSettings(c: DatapathConfig): Buffer {
  if (typeof c !== 'object' || c === null) throw invalid('config', 'expected an object');
  for (const k of Object.keys(c)) if (!KNOWN.has(k)) throw invalid(k, `unknown setting; known: ${[...KNOWN].join(', ')}`);
  const ifMac = parseMac(c.ifMac, 'ifMac');
  const gwMac = parseMac(c.gatewayMac, 'gatewayMac');
  const v4 = sourceSetting(c.sourceV4, c.sourceCidrV4, 4);
  const v6 = sourceSetting(c.sourceV6, c.sourceCidrV6, 6);
  return LbConfig.encode({
    ifMac,
    gwMac,
    srcV4: v4 ? v4.base.subarray(0, 4) : Buffer.alloc(4),
    srcV4Hostmask: hostMask(v4?.hostBits ?? 0),
    srcV6: v6 ? v6.base : Buffer.alloc(16),
    srcV6Hostmask: hostMask(v6?.hostBits ?? 0),
    flags: CONFIG_F_MACS | (v4 ? CONFIG_F_SRC_V4 | CONFIG_F_READY_V4 : 0) | (v6 ? CONFIG_F_SRC_V6 | CONFIG_F_READY_V6 : 0),
    ipipSum: v4 ? ipipSum(v4.base) : 0,
    vipFilter: Buffer.alloc(VIP_FILTER_WORDS * 8),
  }).subarray(0, CONFIG_SETTINGS_BYTES);
}

/** lb_config value (or its settings bytes) → DatapathConfig, or undefined while it was never set. */
export function decodeSettings(value: Buffer): DatapathConfig | undefined {
  const whole = Buffer.alloc(LbConfig.size);
  value.copy(whole, 0, 0, Math.min(value.length, CONFIG_SETTINGS_BYTES));
  const raw = LbConfig.decode(whole);
  const c = { ...raw, srcV4HostBits: hostBits(raw.srcV4Hostmask), srcV6HostBits: hostBits(raw.srcV6Hostmask) };
  if (!(c.flags & CONFIG_F_MACS)) return undefined;
  const out: DatapathConfig = { ifMac: formatMac(c.ifMac), gatewayMac: formatMac(c.gwMac) };
  if (c.flags & CONFIG_F_SRC_V4) {
    if (c.srcV4HostBits === 0) out.sourceV4 = formatAddress(4, c.srcV4);
    else out.sourceCidrV4 = `${formatAddress(4, c.srcV4)}/${32 - c.srcV4HostBits}`;
  }
  if (c.flags & CONFIG_F_SRC_V6) {
    if (c.srcV6HostBits === 0) out.sourceV6 = formatAddress(6, c.srcV6);
    else out.sourceCidrV6 = `${formatAddress(6, c.srcV6)}/${128 - c.srcV6HostBits}`;
  }
  return out;
}

function sourceSetting(
  fixed: string | undefined,
  cidr: string | undefined,
  family: Family,
): { base: Buffer; hostBits: number } | undefined {
  const fixedField = family === 4 ? 'sourceV4' : 'sourceV6';
  const cidrField = family === 4 ? 'sourceCidrV4' : 'sourceCidrV6';
  if (fixed !== undefined && cidr !== undefined) throw invalid(cidrField, `give ${fixedField} or ${cidrField}, not both`);
  if (fixed !== undefined) {
    const a = parseAddress(fixed, fixedField);
    if (a.family !== family) throw invalid(fixedField, `${a.text} is not an IPv${family} address`);
    return { base: a.bytes, hostBits: 0 };
  }
  if (cidr === undefined) return undefined;
  const c = parseCidr(cidr, cidrField);
  if (c.family !== family) throw invalid(cidrField, `${c.text} is not an IPv${family} prefix`);
  const hostBits = (family === 4 ? 32 : 128) - c.prefix;
  if (hostBits > 32) {
    throw invalid(cidrField, `/${c.prefix} is too short: the flow hash varies at most the last 32 bits; use /96 or longer`);
  }
  return { base: c.bytes, hostBits };
}
