// Load-time options of the datapath and their validation. They become .rodata constants and map
// sizes, so they are checked here, before anything is loaded, with errors naming the option.
import { ALLOWED_TABLE_SIZES, DEFAULT_TABLE_SIZE } from '../maglev/index.js';
import { invalid, ValidationError } from '../model/index.js';
import { FLOW_WAYS } from './layout.js';
import { recorderSupport } from './recorder-probe.js';

export interface LoadOptions {
  /** uint32 flow-hash seed; identical on every LB node of one ECMP group. */
  seed: number;
  /** Maglev table size M, one of lb/maglev ALLOWED_TABLE_SIZES (default 65537). */
  tableSize?: number;
  /** Largest IP packet towards the backends (bytes, 1320 … 65535). Default 1500. */
  mtu?: number;
  /** Service ids are 0 … maxServices−1. */
  maxServices: number;
  /** Backend ids are 0 … maxBackends−1. */
  maxBackends: number;
  /** Flows the flow table holds at least: buckets of FLOW_WAYS entries, a power of two of them
   *  (flowTableBuckets); memory 64 bytes per entry. */
  flowTableSize: number;
  /** Place every packet by the Maglev table alone (no flow table). Default false. */
  stateless?: boolean;
  /** ICMP too-big replies (frag-needed / Packet Too Big) per second and CPU, 1 … 1000000. Default 200. */
  icmpTooBigRate?: number;
  /** Replies a CPU may send at once after a quiet spell, 1 … 1000000. Default 50. */
  icmpTooBigBurst?: number;
  /**
   * A TCP SYN for a 5-tuple the flow table holds takes a new backend only when the entry's backend
   * is gone or the entry has seen no packet for this long, in ms (0 … 86400000; 0 = always).
   * Default 60000: a spoofed SYN cannot move a connection that was active in the last minute.
   */
  synTakeoverIdleMs?: number;
  /** Size of the packet recorder's ring buffer in bytes: a power of two, 4 KiB … 1 GiB. Default 4 MiB. */
  recorderRingBytes?: number;
  /**
   * The packet recorder's hooks in the program. Default (undefined): on when the kernel has the
   * helpers they call (bpf_xdp_load_bytes, 5.18; probed once, see recorder-probe.ts), else off.
   * false: off — the verifier prunes them and the program needs only 5.15's helpers. true: on, or
   * FAILED_PRECONDITION on a kernel without those helpers. The recorder's maps exist either way.
   */
  recorder?: boolean;
  /** The compiled object; default build/bpf/xlb_lb.o. */
  objectPath?: string;
}

export type ResolvedLoadOptions = Required<Omit<LoadOptions, 'objectPath'>>;

/**
 * 1320 = 1280 + 40: the IPv6 minimum MTU plus the largest encapsulation header. Below it an IPv6
 * client could not be told a Packet Too Big MTU it is allowed to use, and ICMP replies could not
 * quote their fixed lengths (bpf/lb/icmp.h).
 */
export const MIN_MTU = 1320;
export const MAX_MTU = 65535;
export const MAX_SERVICES = 65536;
export const MAX_BACKENDS = 1 << 20;
export const MIN_FLOW_TABLE = 64;
export const MAX_FLOW_TABLE = 1 << 27;
export const DEFAULT_RECORDER_RING_BYTES = 4 << 20;
export const MIN_RECORDER_RING_BYTES = 4096; // a page: the kernel's minimum
export const MAX_RECORDER_RING_BYTES = 1 << 30;

/** Buckets of a flow table of at least `flows` entries: the power of two ≥ flows / FLOW_WAYS. */
export function flowTableBuckets(flows: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, Math.ceil(flows / FLOW_WAYS))));
}

const KNOWN = new Set([
  'seed', 'tableSize', 'mtu', 'maxServices', 'maxBackends', 'flowTableSize', 'stateless', 'icmpTooBigRate', 'icmpTooBigBurst',
  'synTakeoverIdleMs', 'recorderRingBytes', 'recorder', 'objectPath',
]);
export const DEFAULT_ICMP_TOO_BIG_RATE = 200;
export const DEFAULT_ICMP_TOO_BIG_BURST = 50;
export const MAX_ICMP_TOO_BIG = 1_000_000;
export const DEFAULT_SYN_TAKEOVER_IDLE_MS = 60_000;
export const MAX_SYN_TAKEOVER_IDLE_MS = 86_400_000;

function integerIn(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `${JSON.stringify(value)} is not an integer ${min} … ${max}`);
  }
  return value;
}

/** The `recorder` load option made definite: undefined = what the kernel supports. */
export function resolveRecorderOption(value: unknown): boolean {
  if (value !== undefined && typeof value !== 'boolean') {
    throw invalid('recorder', `${JSON.stringify(value)} must be true, false or absent (absent = on when the kernel supports it)`);
  }
  if (value === false) return false;
  const support = recorderSupport();
  if (value === true && !support.available) {
    throw new ValidationError('FAILED_PRECONDITION', 'recorder', `cannot be on: ${support.reason}; leave it unset (auto) or false`);
  }
  return support.available;
}

export function resolveLoadOptions(o: LoadOptions): ResolvedLoadOptions {
  if (typeof o !== 'object' || o === null) throw invalid('options', 'expected an object');
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) throw invalid(k, `unknown option; known: ${[...KNOWN].join(', ')}`);
  const tableSize = o.tableSize ?? DEFAULT_TABLE_SIZE;
  if (!ALLOWED_TABLE_SIZES.includes(tableSize)) {
    throw invalid('tableSize', `${JSON.stringify(tableSize)} is not one of ${ALLOWED_TABLE_SIZES.join(', ')}`);
  }
  if (o.stateless !== undefined && typeof o.stateless !== 'boolean') throw invalid('stateless', 'must be a boolean');
  const ring = integerIn(o.recorderRingBytes ?? DEFAULT_RECORDER_RING_BYTES, 'recorderRingBytes', MIN_RECORDER_RING_BYTES, MAX_RECORDER_RING_BYTES);
  if ((ring & (ring - 1)) !== 0) throw invalid('recorderRingBytes', `${ring} is not a power of two`);
  return {
    seed: integerIn(o.seed, 'seed', 0, 0xffffffff),
    tableSize,
    mtu: integerIn(o.mtu ?? 1500, 'mtu', MIN_MTU, MAX_MTU),
    maxServices: integerIn(o.maxServices, 'maxServices', 1, MAX_SERVICES),
    maxBackends: integerIn(o.maxBackends, 'maxBackends', 1, MAX_BACKENDS),
    flowTableSize: integerIn(o.flowTableSize, 'flowTableSize', MIN_FLOW_TABLE, MAX_FLOW_TABLE),
    stateless: o.stateless ?? false,
    icmpTooBigRate: integerIn(o.icmpTooBigRate ?? DEFAULT_ICMP_TOO_BIG_RATE, 'icmpTooBigRate', 1, MAX_ICMP_TOO_BIG),
    icmpTooBigBurst: integerIn(o.icmpTooBigBurst ?? DEFAULT_ICMP_TOO_BIG_BURST, 'icmpTooBigBurst', 1, MAX_ICMP_TOO_BIG),
    synTakeoverIdleMs: integerIn(o.synTakeoverIdleMs ?? DEFAULT_SYN_TAKEOVER_IDLE_MS, 'synTakeoverIdleMs', 0, MAX_SYN_TAKEOVER_IDLE_MS),
    recorderRingBytes: ring,
    recorder: resolveRecorderOption(o.recorder),
  };
}
