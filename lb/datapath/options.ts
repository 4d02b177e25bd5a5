// Load-time options of the datapath and their validation. They become .rodata constants and map
// sizes, so they are checked here, before anything is loaded, with errors naming the option.
import { ALLOWED_TABLE_SIZES, DEFAULT_TABLE_SIZE } from '../maglev/index.js';
import { invalid, ValidationError } from '../model/index.js';
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
  /** Flow table entries (split into per-CPU LRU lists; the kernel rounds to a multiple of the CPU count). */
  flowTableSize: number;
  /** Place every packet by the Maglev table alone (no flow table). Default false. */
  stateless?: boolean;
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

const KNOWN = new Set(['seed', 'tableSize', 'mtu', 'maxServices', 'maxBackends', 'flowTableSize', 'stateless', 'recorder', 'objectPath']);

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
  return {
    seed: integerIn(o.seed, 'seed', 0, 0xffffffff),
    tableSize,
    mtu: integerIn(o.mtu ?? 1500, 'mtu', MIN_MTU, MAX_MTU),
    maxServices: integerIn(o.maxServices, 'maxServices', 1, MAX_SERVICES),
    maxBackends: integerIn(o.maxBackends, 'maxBackends', 1, MAX_BACKENDS),
    flowTableSize: integerIn(o.flowTableSize, 'flowTableSize', MIN_FLOW_TABLE, MAX_FLOW_TABLE),
    stateless: o.stateless ?? false,
    recorder: resolveRecorderOption(o.recorder),
  };
}
