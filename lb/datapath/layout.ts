// The byte layout of every map key and value of the XDP load balancer, mirrored from
// bpf/lb/maps.h and bpf/lb/counters.h. This is the only file that knows offsets: everything
// else in xlb reads and writes the maps through these encoders. A test compares the sizes below
// with the key/value sizes of the loaded object, so a struct change on one side fails loudly.
import { formatAddress, type Family } from './addr.js';

/** Bump together with LB_LAYOUT_VERSION in maps.h; adopt() refuses pins of another version. */
export const LAYOUT_VERSION = 2; // 2: the recorder's maps joined the pinned set

export const MAP = {
  services: 'services',
  vips: 'vips',
  backends: 'backends',
  maglevOuter: 'maglev_outer',
  flows: 'flows',
  config: 'lb_config',
  meta: 'lb_meta',
  stats: 'stats',
  serviceStats: 'service_stats',
  backendStats: 'backend_stats',
  // The packet recorder's maps (bpf/lb/recorder.h). Their value layouts live in
  // recorder/layout.ts, the recorder's only door to them; here they are pinned, adopted and
  // size-checked with the rest.
  recCtl: 'rec_ctl',
  recRules: 'rec_rules',
  recRecordings: 'rec_recordings',
  recStats: 'rec_stats',
  recScratch: 'rec_scratch',
  recRing: 'rec_ring',
} as const;
export type MapName = (typeof MAP)[keyof typeof MAP];
/** The recorder's maps, handed to it by LbDatapath.recorderMaps(). */
export const REC_MAP_NAMES = [MAP.recCtl, MAP.recRules, MAP.recRecordings, MAP.recStats, MAP.recScratch, MAP.recRing] as const;
export type RecorderMapName = (typeof REC_MAP_NAMES)[number];

export const PROGRAM_NAME = 'xlb_lb';

/** Key and value sizes in bytes, per map. */
export const SIZES: Record<MapName, { key: number; value: number }> = {
  services: { key: 20, value: 8 },
  vips: { key: 20, value: 4 },
  backends: { key: 4, value: 24 },
  maglev_outer: { key: 4, value: 4 },
  flows: { key: 40, value: 16 },
  lb_config: { key: 4, value: 44 },
  lb_meta: { key: 4, value: 20 },
  stats: { key: 4, value: 16 },
  service_stats: { key: 4, value: 16 },
  backend_stats: { key: 4, value: 16 },
  rec_ctl: { key: 4, value: 4 },
  rec_rules: { key: 4, value: 72 },
  rec_recordings: { key: 4, value: 12 },
  rec_stats: { key: 4, value: 16 },
  rec_scratch: { key: 4, value: 4128 },
  rec_ring: { key: 0, value: 0 }, // BPF ring buffer: no keys or values
};

/** Slots in the global stats map (maps.h); STAT_NAMES uses the first STAT_NAMES.length. */
export const STATS_SLOTS = 64;

export const IPPROTO = { tcp: 6, udp: 17 } as const;
export type Protocol = keyof typeof IPPROTO;

export const SERVICE_F_HASH_SRC_IP_ONLY = 1 << 0;
export const BACKEND_F_ACTIVE = 1 << 0;
export const BACKEND_F_DRAINING = 1 << 1;
export const CONFIG_F_MACS = 1 << 0;
export const CONFIG_F_SRC_V4 = 1 << 1;
export const CONFIG_F_SRC_V6 = 1 << 2;
/** Load-time flag (cfg_flags): no flow table, placement by Maglev alone. */
export const LOAD_F_NO_FLOW_TABLE = 1 << 0;
/** Load-time flag (cfg_flags): the recorder hooks are compiled away by the verifier (kernels
 *  without bpf_xdp_load_bytes). A flag meaning "off" so that pins from before it read as "on". */
export const LOAD_F_NO_RECORDER = 1 << 1;
/** lb/maglev's MAGLEV_NO_BACKEND, as the datapath reads it from a table slot. */
export const TABLE_NO_BACKEND = 0xffffffff;

/** Names of the load-time constants in .rodata (bpf/lb/config.h). */
export const CONST = {
  hashSeed: 'cfg_hash_seed',
  maglevSize: 'cfg_maglev_size',
  mtu: 'cfg_mtu',
  flags: 'cfg_flags',
} as const;

/**
 * enum lb_stat (counters.h), in index order: [group, name]. Verdicts and one reason (pass / tx /
 * drop) are counted once per packet; flow and event slots count things along the way.
 */
export const STAT_NAMES = [
  ['verdict', 'pass'],
  ['verdict', 'tx'],
  ['verdict', 'drop'],
  ['pass', 'notIp'],
  ['pass', 'l3Short'],
  ['pass', 'notVip'],
  ['pass', 'noService'],
  ['pass', 'vipIcmp'],
  ['tx', 'ipip'],
  ['tx', 'ip6ip6'],
  ['tx', 'ip4in6'],
  ['tx', 'ip6in4'],
  ['tx', 'icmpFragNeeded'],
  ['tx', 'icmp6PacketTooBig'],
  ['drop', 'malformed'],
  ['drop', 'fragment'],
  ['drop', 'ipOptions'],
  ['drop', 'ipv6ExtHeader'],
  ['drop', 'unsupportedProtocol'],
  ['drop', 'noBackend'],
  ['drop', 'tooBig'],
  ['drop', 'noConfig'],
  ['drop', 'xdpAdjust'],
  ['flow', 'hit'],
  ['flow', 'miss'],
  ['flow', 'reselect'],
  ['flow', 'new'],
  ['event', 'icmpForwarded'],
  ['event', 'encapOverMtu'],
  ['event', 'vlan'],
] as const;

type StatEntry = (typeof STAT_NAMES)[number];
type NamesOf<G extends StatEntry[0]> = Extract<StatEntry, readonly [G, string]>[1];
export type StatGroup = StatEntry[0];
export interface Counter {
  packets: number;
  bytes: number;
}
/** Global counters grouped as in counters.h, e.g. counters.drop.fragment.packets. */
export type GlobalCounters = { [G in StatGroup]: Record<NamesOf<G>, Counter> };

/** Index of a global counter, e.g. statIndex('drop', 'fragment'). */
export function statIndex<G extends StatGroup>(group: G, name: NamesOf<G>): number {
  const i = STAT_NAMES.findIndex(([g, n]) => g === group && n === name);
  if (i < 0) throw new RangeError(`unknown counter ${group}.${String(name)}`);
  return i;
}

// ---- small helpers -------------------------------------------------------------------------

export function u32Key(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

/** A u32 key or value: array indexes, Maglev slots (backend ids), map-in-map values (map ids). */
export function decodeU32(b: Buffer): number {
  return b.readUInt32LE(0);
}

/**
 * Keys 0 … size−1 of an inner Maglev table as one packed u32 array in host byte order (the
 * kernel's), to pair with the table itself (also a Uint32Array) in a packed batch update.
 */
export function slotKeys(size: number): Uint32Array {
  const keys = new Uint32Array(size);
  for (let i = 0; i < size; i++) keys[i] = i;
  return keys;
}

function familyOf(byte: number, what: string): Family {
  if (byte === 4 || byte === 6) return byte;
  throw new RangeError(`${what}: family byte ${byte} is neither 4 nor 6`);
}

// ---- services ------------------------------------------------------------------------------

export interface ServiceKey {
  family: Family;
  addr: Buffer; // 16 bytes
  port: number; // 0 = all ports
  proto: number; // IPPROTO
}

export function encodeServiceKey(k: ServiceKey): Buffer {
  const b = Buffer.alloc(SIZES.services.key);
  k.addr.copy(b, 0, 0, 16);
  b.writeUInt16BE(k.port, 16);
  b.writeUInt8(k.proto, 18);
  b.writeUInt8(k.family, 19);
  return b;
}

export function decodeServiceKey(b: Buffer): ServiceKey {
  return {
    addr: Buffer.from(b.subarray(0, 16)),
    port: b.readUInt16BE(16),
    proto: b.readUInt8(18),
    family: familyOf(b.readUInt8(19), 'service key'),
  };
}

export interface ServiceValue {
  serviceId: number;
  flags: number;
}

export function encodeServiceValue(v: ServiceValue): Buffer {
  const b = Buffer.alloc(SIZES.services.value);
  b.writeUInt32LE(v.serviceId, 0);
  b.writeUInt32LE(v.flags, 4);
  return b;
}

export function decodeServiceValue(b: Buffer): ServiceValue {
  return { serviceId: b.readUInt32LE(0), flags: b.readUInt32LE(4) };
}

export function encodeVipKey(family: Family, addr: Buffer): Buffer {
  const b = Buffer.alloc(SIZES.vips.key);
  addr.copy(b, 0, 0, 16);
  b.writeUInt8(family, 16);
  return b;
}

export function encodeVipValue(services: number): Buffer {
  return u32Key(services);
}

export function decodeVipValue(b: Buffer): number {
  return b.readUInt32LE(0);
}

// ---- backends ------------------------------------------------------------------------------

export interface BackendValue {
  family: Family;
  addr: Buffer;
  flags: number;
  weight: number;
  serviceId: number;
}

export function encodeBackendValue(v: BackendValue): Buffer {
  const b = Buffer.alloc(SIZES.backends.value);
  v.addr.copy(b, 0, 0, 16);
  b.writeUInt8(v.family, 16);
  b.writeUInt8(v.flags, 17);
  b.writeUInt16LE(v.weight, 18);
  b.writeUInt32LE(v.serviceId, 20);
  return b;
}

/** An all-zero entry: family 0 means "gone" to the datapath. */
export function emptyBackendValue(): Buffer {
  return Buffer.alloc(SIZES.backends.value);
}

/** undefined for an empty (gone) slot. */
export function decodeBackendValue(b: Buffer): BackendValue | undefined {
  if (b.readUInt8(16) === 0) return undefined;
  return {
    addr: Buffer.from(b.subarray(0, 16)),
    family: familyOf(b.readUInt8(16), 'backend'),
    flags: b.readUInt8(17),
    weight: b.readUInt16LE(18),
    serviceId: b.readUInt32LE(20),
  };
}

// ---- flows ---------------------------------------------------------------------------------

export interface FlowKey {
  family: Family;
  src: Buffer; // 16 bytes
  dst: Buffer;
  sport: number;
  dport: number;
  proto: number;
}

export function encodeFlowKey(k: FlowKey): Buffer {
  const b = Buffer.alloc(SIZES.flows.key);
  k.src.copy(b, 0, 0, 16);
  k.dst.copy(b, 16, 0, 16);
  b.writeUInt16BE(k.sport, 32);
  b.writeUInt16BE(k.dport, 34);
  b.writeUInt8(k.proto, 36);
  b.writeUInt8(k.family, 37);
  return b;
}

export function decodeFlowKey(b: Buffer): FlowKey {
  return {
    src: Buffer.from(b.subarray(0, 16)),
    dst: Buffer.from(b.subarray(16, 32)),
    sport: b.readUInt16BE(32),
    dport: b.readUInt16BE(34),
    proto: b.readUInt8(36),
    family: familyOf(b.readUInt8(37), 'flow key'),
  };
}

export interface FlowValue {
  backendId: number;
  serviceId: number;
  /** CLOCK_MONOTONIC nanoseconds of the last packet. */
  lastSeenNs: bigint;
}

export function decodeFlowValue(b: Buffer): FlowValue {
  return { backendId: b.readUInt32LE(0), serviceId: b.readUInt32LE(4), lastSeenNs: b.readBigUInt64LE(8) };
}

export function encodeFlowValue(v: FlowValue): Buffer {
  const b = Buffer.alloc(SIZES.flows.value);
  b.writeUInt32LE(v.backendId, 0);
  b.writeUInt32LE(v.serviceId, 4);
  b.writeBigUInt64LE(v.lastSeenNs, 8);
  return b;
}

// ---- lb_config / lb_meta -------------------------------------------------------------------

export interface ConfigValue {
  ifMac: Buffer; // 6
  gwMac: Buffer; // 6
  srcV4: Buffer; // 4, network order
  /** Low bits of the source the flow hash fills (0 = fixed source), 0 … 32. */
  srcV4HostBits: number;
  srcV6: Buffer; // 16
  /** As srcV4HostBits, within the last 32 bits of srcV6. */
  srcV6HostBits: number;
  flags: number;
}

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

export function encodeConfig(c: ConfigValue): Buffer {
  const b = Buffer.alloc(SIZES.lb_config.value);
  c.ifMac.copy(b, 0, 0, 6);
  c.gwMac.copy(b, 6, 0, 6);
  c.srcV4.copy(b, 12, 0, 4);
  hostMask(c.srcV4HostBits).copy(b, 16);
  c.srcV6.copy(b, 20, 0, 16);
  hostMask(c.srcV6HostBits).copy(b, 36);
  b.writeUInt32LE(c.flags, 40);
  return b;
}

export function decodeConfig(b: Buffer): ConfigValue {
  return {
    ifMac: Buffer.from(b.subarray(0, 6)),
    gwMac: Buffer.from(b.subarray(6, 12)),
    srcV4: Buffer.from(b.subarray(12, 16)),
    srcV4HostBits: hostBits(b.subarray(16, 20)),
    srcV6: Buffer.from(b.subarray(20, 36)),
    srcV6HostBits: hostBits(b.subarray(36, 40)),
    flags: b.readUInt32LE(40),
  };
}

export interface MetaValue {
  layoutVersion: number;
  hashSeed: number;
  maglevSize: number;
  mtu: number;
  flags: number;
}

export function encodeMeta(m: MetaValue): Buffer {
  const b = Buffer.alloc(SIZES.lb_meta.value);
  b.writeUInt32LE(m.layoutVersion, 0);
  b.writeUInt32LE(m.hashSeed >>> 0, 4);
  b.writeUInt32LE(m.maglevSize, 8);
  b.writeUInt32LE(m.mtu, 12);
  b.writeUInt32LE(m.flags, 16);
  return b;
}

export function decodeMeta(b: Buffer): MetaValue {
  return {
    layoutVersion: b.readUInt32LE(0),
    hashSeed: b.readUInt32LE(4),
    maglevSize: b.readUInt32LE(8),
    mtu: b.readUInt32LE(12),
    flags: b.readUInt32LE(16),
  };
}

// ---- counters ------------------------------------------------------------------------------

/** Sum of one per-CPU counter slot across CPUs. */
export function sumCounter(perCpu: readonly Buffer[]): Counter {
  let packets = 0n;
  let bytes = 0n;
  for (const v of perCpu) {
    packets += v.readBigUInt64LE(0);
    bytes += v.readBigUInt64LE(8);
  }
  return { packets: Number(packets), bytes: Number(bytes) };
}

export function zeroCounters(cpus: number): Buffer[] {
  return Array.from({ length: cpus }, () => Buffer.alloc(SIZES.stats.value));
}

/** Human-readable address of a 16-byte field. */
export function addrText(family: Family, addr: Buffer): string {
  return formatAddress(family, addr);
}
