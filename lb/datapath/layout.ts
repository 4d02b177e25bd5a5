// The byte layout of the XDP load balancer's maps (bpf/lb/maps.h, bpf/lb/counters.h, and the
// recorder's in recorder-layout.ts), declared once with libbpf-ts's struct codec: every map's name,
// key and value, the load-time constants and the counter names. Everything else in xlb reads and
// writes the maps through these declarations; a test compares each declared struct, member by
// member, with the object's BTF, and the loader compares key/value sizes with the loaded maps.
import { bytes, pad, struct, u16, u32, u64, u8, be16, type Struct, type ValueOf } from '../../bpf/libbpf-ts/index.js';
import type { Family } from './addr.js';
import { RecCounter, RecCtl, RecHdr, RecRecording, RecRule, RecScratch } from './recorder-layout.js';

/** Bump together with LB_LAYOUT_VERSION in maps.h; adopt() refuses pins of another version. */
export const LAYOUT_VERSION = 3; // 2: the recorder's maps joined the pinned set; 3: per-service table size, packed mmapable tables

export const PROGRAM_NAME = 'xlb_lb';

// ---- structs -------------------------------------------------------------------------------

/** 16-byte address fields are `__be32 x[4]` in C: 4-byte aligned. */
const addr16 = () => bytes(16, 4);

/** services key: (VIP, port, protocol); port 0 = every port of the VIP. */
export const ServiceKey = struct('service_key', { addr: addr16(), port: be16, proto: u8, family: u8 });
/** tableSize: M of the service's Maglev table (the datapath reads it with the service). */
export const ServiceValue = struct('service_value', { serviceId: u32, flags: u32, tableSize: u32 });
export const VipKey = struct('vip_key', { addr: addr16(), family: u8, pad: pad(3) });
export const VipValue = struct('vip_value', { services: u32 });
/** backends[id]; family 0 means "gone" to the datapath. */
export const BackendValue = struct('backend_value', { addr: addr16(), family: u8, flags: u8, weight: u16, serviceId: u32 });
export const FlowKey = struct('flow_key', { src: addr16(), dst: addr16(), sport: be16, dport: be16, proto: u8, family: u8, pad: pad(2) });
/** lastSeenNs: CLOCK_MONOTONIC nanoseconds of the last packet. */
export const FlowValue = struct('flow_value', { backendId: u32, serviceId: u32, lastSeenNs: u64 });
/** lb_config[0]: the runtime settings. Host masks are big-endian masks the datapath ANDs with the flow hash. */
export const LbConfig = struct('lb_config', {
  ifMac: bytes(6),
  gwMac: bytes(6),
  srcV4: bytes(4, 4),
  srcV4Hostmask: bytes(4, 4),
  srcV6: addr16(),
  srcV6Hostmask: bytes(4, 4),
  flags: u32,
});
/** Slots per element of an inner Maglev table (MAGLEV_GROUP_SLOTS in maps.h): one 64-byte element
 *  (struct maglev_group, u32 slot[16]; the kernel checks the size when a table is swapped in). */
export const MAGLEV_GROUP_SLOTS = 16;
export const MAGLEV_GROUP_BYTES = MAGLEV_GROUP_SLOTS * 4;
/** lb_meta[0]: the load-time constants, recorded for a daemon that adopts the pins. maglevSize is the
 *  default table size (services may choose their own). */
export const LbMeta = struct('lb_meta', { layoutVersion: u32, hashSeed: u32, maglevSize: u32, mtu: u32, flags: u32 });
/** Every per-CPU counter slot (stats, service_stats, backend_stats). */
export const LbCounter = struct('lb_counter', { packets: u64, bytes: u64 });

/** Every struct declared here and in recorder-layout.ts: the BTF layout test checks each one. */
export const LB_STRUCTS: readonly Struct<unknown>[] = [
  ServiceKey, ServiceValue, VipKey, VipValue, BackendValue, FlowKey, FlowValue, LbConfig, LbMeta, LbCounter,
  RecRule, RecRecording, RecCtl, RecCounter, RecHdr, RecScratch,
];

export type ServiceKeyValue = ValueOf<typeof ServiceKey>;
export type FlowKeyValue = ValueOf<typeof FlowKey>;
export type BackendEntry = ValueOf<typeof BackendValue>;
export type ConfigValue = ValueOf<typeof LbConfig>;
export type MetaValue = ValueOf<typeof LbMeta>;

// ---- maps ----------------------------------------------------------------------------------

/** A key or value that is a plain integer (array indexes, ids). */
type Scalar = { readonly size: number };
const U32: Scalar = { size: 4 };
const NONE: Scalar = { size: 0 };

interface MapShape {
  readonly key: Struct<unknown> | Scalar;
  readonly value: Struct<unknown> | Scalar;
}

/** Every map of the object: name → key and value layout. */
export const MAPS = {
  services: { key: ServiceKey, value: ServiceValue },
  vips: { key: VipKey, value: VipValue },
  backends: { key: U32, value: BackendValue },
  maglev_outer: { key: U32, value: U32 }, // value: the inner table's map id
  flows: { key: FlowKey, value: FlowValue },
  lb_config: { key: U32, value: LbConfig },
  lb_meta: { key: U32, value: LbMeta },
  stats: { key: U32, value: LbCounter },
  service_stats: { key: U32, value: LbCounter },
  backend_stats: { key: U32, value: LbCounter },
  // The packet recorder's maps (recorder-layout.ts): pinned, adopted and size-checked with the rest.
  rec_ctl: { key: U32, value: RecCtl },
  rec_rules: { key: U32, value: RecRule },
  rec_recordings: { key: U32, value: RecRecording },
  rec_stats: { key: U32, value: RecCounter },
  rec_scratch: { key: U32, value: RecScratch },
  rec_ring: { key: NONE, value: NONE }, // BPF ring buffer: no keys or values
} as const satisfies Record<string, MapShape>;

export type MapName = keyof typeof MAPS;
export const MAP_NAMES = Object.keys(MAPS) as MapName[];

/** The names code refers to, e.g. MAP.maglevOuter. */
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
  recCtl: 'rec_ctl',
  recRules: 'rec_rules',
  recRecordings: 'rec_recordings',
  recStats: 'rec_stats',
  recScratch: 'rec_scratch',
  recRing: 'rec_ring',
} as const satisfies Record<string, MapName>;

/** The recorder's maps, handed to it by LbDatapath.recorderMaps(). */
export const REC_MAP_NAMES = [MAP.recCtl, MAP.recRules, MAP.recRecordings, MAP.recStats, MAP.recScratch, MAP.recRing] as const;
export type RecorderMapName = (typeof REC_MAP_NAMES)[number];

/** Key and value sizes in bytes of a map, from its declaration. */
export function mapSizes(name: MapName): { key: number; value: number } {
  return { key: MAPS[name].key.size, value: MAPS[name].value.size };
}

// ---- flags and constants -------------------------------------------------------------------

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
  mtu: 'cfg_mtu',
  flags: 'cfg_flags',
} as const;

// ---- counters ------------------------------------------------------------------------------

/** Slots in the global stats map (maps.h); STAT_NAMES uses the first STAT_NAMES.length. */
export const STATS_SLOTS = 64;

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

/** One per-CPU counter slot summed over CPUs, as numbers. */
export function sumCounter(perCpu: readonly Buffer[]): Counter {
  const c = LbCounter.sum(perCpu);
  return { packets: Number(c.packets), bytes: Number(c.bytes) };
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

/** The family byte of a key or entry; a value other than 4 or 6 is a corrupt map. */
export function familyOf(byte: number, what: string): Family {
  if (byte === 4 || byte === 6) return byte;
  throw new RangeError(`${what}: family byte ${byte} is neither 4 nor 6`);
}

/** undefined for an empty (gone) backends slot. */
export function decodeBackendValue(b: Buffer): BackendEntry | undefined {
  const v = BackendValue.decode(b);
  if (v.family === 0) return undefined;
  familyOf(v.family, 'backend');
  return v;
}
