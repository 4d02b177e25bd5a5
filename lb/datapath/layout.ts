// The byte layout of the XDP load balancer's maps (bpf/lb/maps.h, bpf/lb/counters.h, and the
// recorder's in recorder-layout.ts), declared once with libbpf-ts's struct codec: every map's name,
// key and value, the load-time constants and the counter names. Everything else in xlb reads and
// writes the maps through these declarations; a test compares each declared struct, member by
// member, with the object's BTF, and the loader compares key/value sizes with the loaded maps.
import { bytes, pad, struct, u16, u32, u64, u8, be16, type Struct, type ValueOf } from '../../bpf/libbpf-ts/index.js';
import type { Family } from './addr.js';
import { RecCounter, RecCtl, RecHdr, RecKey, RecMask, RecRecording, RecScratch, RecShape } from './recorder-layout.js';

/** Bump together with LB_LAYOUT_VERSION in maps.h; adopt() refuses pins of another version. */
// 2: the recorder's maps joined the pinned set; 3: per-service table size, packed mmapable tables;
// 4: lb_config with the VIP filter (mmapable, MACs in Ethernet order), flow_key reordered, the global counters in one
// per-CPU value, service_stats only for packets no backend received; 5: xlb's own flow table (4-way buckets);
// 6: icmp_budget, lb_meta records the ICMP rate and the SYN takeover idle time;
// 7: the recorder's rule index (rec_masks, rec_index), a ring per recording (rec_rings), .data.rec;
// 8: the recorder's shapes and rule filter in .data.rec (no rec_masks)
export const LAYOUT_VERSION = 8;

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
/** After src, laid out like ServiceKey (dst, dport, proto, family): the datapath looks up a flow's
 *  exact service with &flow.dst as the key. */
export const FlowKey = struct('flow_key', { src: addr16(), dst: addr16(), dport: be16, proto: u8, family: u8, sport: be16, pad: pad(2) });
/** Entries per bucket of the flow table (FLOW_WAYS). */
export const FLOW_WAYS = 4;
/** One way of a flow-table bucket. lastSeenNs: CLOCK_MONOTONIC_COARSE nanoseconds of the last packet;
 *  tag 0 = the way is free. */
export const FlowEntry = struct('flow_entry', {
  key: FlowKey.asField(),
  backendId: u32,
  serviceId: u32,
  lastSeenNs: u64,
  tag: u32,
  pad: pad(4),
});
/** flows[bucket]: FLOW_WAYS entries. */
export const FlowBucket = struct('flow_bucket', { way: bytes(FLOW_WAYS * FlowEntry.size, 8) });
/** Bits of the VIP filter (VIP_FILTER_BITS in maps.h); bit vipFilterBit(address) is set for every VIP. */
export const VIP_FILTER_BITS = 16384;
export const VIP_FILTER_WORDS = VIP_FILTER_BITS / 64;
/** lb_config[0]: the runtime settings, then the VIP filter. The MACs in Ethernet order (the datapath
 *  copies the 12 bytes into the frame). Host masks are big-endian masks the datapath ANDs with the
 *  flow hash. The map is mmapable: lb/datapath writes the settings and the filter words in place. */
export const LbConfig = struct('lb_config', {
  gwMac: bytes(6),
  ifMac: bytes(6),
  srcV4: bytes(4, 4),
  srcV4Hostmask: bytes(4, 4),
  srcV6: addr16(),
  srcV6Hostmask: bytes(4, 4),
  flags: u32,
  ipipSum: u32,
  pad: pad(16),
  vipFilter: bytes(VIP_FILTER_WORDS * 8, 8),
});
const configField = (name: string) => LbConfig.fields.find((f) => f.name === name)!;
/** Bytes of lb_config that hold the settings (everything before the padding and the filter). ipipSum:
 *  the one's-complement sum of the fixed part of an IPIP outer header for DF packets (encap.h). */
export const CONFIG_SETTINGS_BYTES = configField('pad').offset;
/** Where the VIP filter's words start in lb_config (8-byte aligned). */
export const VIP_FILTER_OFFSET = configField('vipFilter').offset;
/** Slots per element of an inner Maglev table (MAGLEV_GROUP_SLOTS in maps.h): one 64-byte element
 *  (struct maglev_group, u32 slot[16]; the kernel checks the size when a table is swapped in). */
export const MAGLEV_GROUP_SLOTS = 16;
export const MAGLEV_GROUP_BYTES = MAGLEV_GROUP_SLOTS * 4;
/** lb_meta[0]: the load-time constants, recorded for a daemon that adopts the pins. maglevSize is the
 *  default table size (services may choose their own). */
export const LbMeta = struct('lb_meta', {
  layoutVersion: u32, hashSeed: u32, maglevSize: u32, mtu: u32, flags: u32, flowTableSize: u32, icmpRate: u32, icmpBurst: u32, synIdleMs: u32,
});
/** icmp_budget[0], per CPU: the ICMP too-big reply budget (bpf/lb/icmp.h). */
export const IcmpBudget = struct('icmp_budget', { creditNs: u64, lastNs: u64 });
/** Every per-CPU counter slot (stats, service_stats, backend_stats). */
export const LbCounter = struct('lb_counter', { packets: u64, bytes: u64 });
/** Slots of struct lb_stats (LB_STATS_SLOTS); STAT_NAMES uses the first STAT_NAMES.length. */
export const STATS_SLOTS = 64;
/** stats[0]: every global counter of one CPU, indexed by enum lb_stat. */
export const LbStats = struct('lb_stats', { c: bytes(STATS_SLOTS * LbCounter.size, 8) });


/** Every struct declared here and in recorder-layout.ts: the BTF layout test checks each one. */
export const LB_STRUCTS: readonly Struct<unknown>[] = [
  ServiceKey, ServiceValue, VipKey, VipValue, BackendValue, FlowKey, FlowEntry, FlowBucket, LbConfig, LbMeta, LbCounter, LbStats, IcmpBudget,
  RecMask, RecShape, RecKey, RecRecording, RecCtl, RecCounter, RecHdr, RecScratch,
];

export type ServiceKeyValue = ValueOf<typeof ServiceKey>;
export type FlowKeyValue = ValueOf<typeof FlowKey>;
export type BackendEntry = ValueOf<typeof BackendValue>;
export type FlowEntryValue = ValueOf<typeof FlowEntry>;
export type ConfigValue = ValueOf<typeof LbConfig>;
export type MetaValue = ValueOf<typeof LbMeta>;

// ---- maps ----------------------------------------------------------------------------------

/** A key or value that is a plain integer (array indexes, ids). */
type Scalar = { readonly size: number };
const U32: Scalar = { size: 4 };
const U64: Scalar = { size: 8 };

interface MapShape {
  readonly key: Struct<unknown> | Scalar;
  readonly value: Struct<unknown> | Scalar;
  /** File name of its pin when it is not the map's name (bpffs refuses names with dots). */
  readonly pin?: string;
}

/** Every map of the object: name → key and value layout. */
export const MAPS = {
  services: { key: ServiceKey, value: ServiceValue },
  vips: { key: VipKey, value: VipValue },
  backends: { key: U32, value: BackendValue },
  maglev_outer: { key: U32, value: U32 }, // value: the inner table's map id
  flows: { key: U32, value: FlowBucket },
  lb_config: { key: U32, value: LbConfig },
  lb_meta: { key: U32, value: LbMeta },
  stats: { key: U32, value: LbStats },
  icmp_budget: { key: U32, value: IcmpBudget },
  service_stats: { key: U32, value: LbCounter },
  backend_stats: { key: U32, value: LbCounter },
  // The packet recorder's maps (recorder-layout.ts): pinned, adopted and size-checked with the rest.
  // '.data.rec' is the program's own data section holding the global rec_ctl (read without a map
  // lookup on every packet), with the rule shapes and the rule filter; libbpf names the section's
  // map after it. bpffs refuses dots in names, so its pin is called rec_ctl.
  '.data.rec': { key: U32, value: RecCtl, pin: 'rec_ctl' },
  rec_index: { key: RecKey, value: U64 }, // value: the recordings (slot bits) that have the rule
  rec_recordings: { key: U32, value: RecRecording },
  rec_stats: { key: U32, value: RecCounter },
  rec_scratch: { key: U32, value: RecScratch },
  rec_rings: { key: U32, value: U32 }, // array of maps: each recording's ring buffer (value: its map id)
} as const satisfies Record<string, MapShape>;

export type MapName = keyof typeof MAPS;
export const MAP_NAMES = Object.keys(MAPS) as MapName[];

/** The name of a map in the object where it differs from its pin name: lb_config is a global in its
 *  own data section, which libbpf turns into a map named after the section. */
export function objectMapName(n: MapName): string {
  return n === 'lb_config' ? '.data.lb_config' : n;
}

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
  icmpBudget: 'icmp_budget',
  serviceStats: 'service_stats',
  backendStats: 'backend_stats',
  recCtl: '.data.rec',
  recIndex: 'rec_index',
  recRecordings: 'rec_recordings',
  recStats: 'rec_stats',
  recScratch: 'rec_scratch',
  recRings: 'rec_rings',
} as const satisfies Record<string, MapName>;

/** The recorder's maps, handed to it by LbDatapath.recorderMaps(). */
export const REC_MAP_NAMES = [MAP.recCtl, MAP.recIndex, MAP.recRecordings, MAP.recStats, MAP.recScratch, MAP.recRings] as const;
export type RecorderMapName = (typeof REC_MAP_NAMES)[number];

/** The file name of a map's pin in the pin directory. */
export function pinNameOf(name: MapName): string {
  const shape: MapShape = MAPS[name];
  return shape.pin ?? name;
}

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
/** Outer headers of the family can be built (MACs and that family's source): 1 << family. */
export const CONFIG_F_READY_V4 = 1 << 4;
export const CONFIG_F_READY_V6 = 1 << 6;
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
  flowShift: 'cfg_flow_shift',
  icmpCostNs: 'cfg_icmp_cost_ns',
  icmpCapNs: 'cfg_icmp_cap_ns',
  synIdleNs: 'cfg_syn_idle_ns',
} as const;

// ---- counters ------------------------------------------------------------------------------

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
  ['drop', 'icmpRateLimited'],
  ['drop', 'icmpBadSource'],
  ['flow', 'synKept'],
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

/** Slot `index` of struct lb_stats in each CPU's value of stats[0], summed over CPUs. */
export function sumStatsSlot(perCpu: readonly Buffer[], index: number): Counter {
  const at = index * LbCounter.size;
  return sumCounter(perCpu.map((v) => v.subarray(at, at + LbCounter.size)));
}

/** The VIP filter bit of a 16-byte address (bpf/lb/service.h vip_filter_test): the address's four
 *  little-endian words XORed, times 0x9e3779b1, top 14 bits. */
export function vipFilterBit(addr16: Buffer): number {
  const a = addr16.readUInt32LE(0) ^ addr16.readUInt32LE(4) ^ addr16.readUInt32LE(8) ^ addr16.readUInt32LE(12);
  return Math.imul(a, 0x9e3779b1) >>> 18;
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
