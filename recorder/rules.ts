// Capture filters: validation of what a client asks for (the shape of the proto's CaptureFilter,
// field names as in the proto) and their translation into the datapath's rule encoding. Errors are
// ValidationErrors naming the field, e.g. `filters[1].dst_port: 70000 is not a port 0..65535`.
import { IPPROTO, ValidationError, invalid, parsePrefix, toDatapathBytes, type IpPrefix } from '../lb/model/index.js';
import { REC_MAX_SNAPLEN, REC_M_DPORT, REC_M_PROTO, REC_M_SPORT, type KernelKey, type KernelMask } from '../lb/datapath/index.js';

export type CaptureProto = 'any' | 'tcp' | 'udp' | 'icmp';
export const CAPTURE_PROTOS: readonly CaptureProto[] = ['any', 'tcp', 'udp', 'icmp'];

/** One capture filter as a client writes it (empty CIDR = any address of either family; port 0 = any). */
export interface FilterSpec {
  srcCidr?: string;
  dstCidr?: string;
  srcPort?: number;
  dstPort?: number;
  proto?: CaptureProto;
}

/** A validated filter: canonical text plus the kernel encoding (without its recording slot). */
export interface CaptureRule {
  family: 0 | 4 | 6;
  src: IpPrefix | undefined;
  dst: IpPrefix | undefined;
  srcPort: number;
  dstPort: number;
  proto: CaptureProto;
  /** Canonical filter text in the CLI grammar, e.g. `10.0.0.0/8 any -> 10.100.0.10 80 tcp`. */
  text: string;
}

/** Filters per recording (the proto's limit). The datapath's total is REC_MAX_RULES. */
export const MAX_FILTERS_PER_RECORDING = 64;
export const MIN_SNAPLEN = 1;
export const MAX_SNAPLEN = REC_MAX_SNAPLEN;

const PROTO_NUMBER: Record<CaptureProto, number> = { any: 0, ...IPPROTO };

function port(value: unknown, field: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw invalid(field, `${JSON.stringify(value)} is not a port 0..65535 (0 = any)`);
  }
  return value;
}

function prefix(value: unknown, field: string): IpPrefix | undefined {
  if (value === undefined || value === '') return undefined;
  return parsePrefix(value, field, { allowBare: true });
}

function prefixText(p: IpPrefix | undefined): string {
  if (!p) return 'any';
  const full = p.prefixLength === (p.address.family === 4 ? 32 : 128);
  const addr = p.address.family === 6 ? `[${p.address.text}]` : p.address.text;
  return full ? addr : `${addr}/${p.prefixLength}`;
}

/** Canonical text of a validated rule in the CLI grammar (parseFilter(formatRule(r)) gives r back). */
export function formatRule(r: Omit<CaptureRule, 'text'>): string {
  const p = (n: number) => (n === 0 ? 'any' : String(n));
  return `${prefixText(r.src)} ${p(r.srcPort)} -> ${prefixText(r.dst)} ${p(r.dstPort)} ${r.proto}`;
}

/** Validates one filter; `field` is its path, e.g. `filters[2]`. */
export function validateFilter(f: FilterSpec, field: string): CaptureRule {
  if (typeof f !== 'object' || f === null) throw invalid(field, 'expected a filter object');
  const src = prefix(f.srcCidr, `${field}.src_cidr`);
  const dst = prefix(f.dstCidr, `${field}.dst_cidr`);
  if (src && dst && src.address.family !== dst.address.family) {
    throw invalid(
      `${field}.dst_cidr`,
      `${JSON.stringify(f.dstCidr)} is IPv${dst.address.family} but src_cidr ${JSON.stringify(f.srcCidr)} is IPv${src.address.family}`,
    );
  }
  const proto = f.proto ?? 'any';
  if (!CAPTURE_PROTOS.includes(proto)) throw invalid(`${field}.proto`, `${JSON.stringify(proto)} is not one of ${CAPTURE_PROTOS.join(', ')}`);
  const srcPort = port(f.srcPort, `${field}.src_port`);
  const dstPort = port(f.dstPort, `${field}.dst_port`);
  if (proto === 'icmp' && (srcPort || dstPort)) {
    throw invalid(`${field}.${srcPort ? 'src_port' : 'dst_port'}`, 'ICMP has no ports: must be 0 (any) with proto icmp');
  }
  const family = (src?.address.family ?? dst?.address.family ?? 0) as 0 | 4 | 6;
  const rule = { family, src, dst, srcPort, dstPort, proto };
  return { ...rule, text: formatRule(rule) };
}

export function validateFilters(filters: readonly FilterSpec[] | undefined, field = 'filters'): CaptureRule[] {
  if (!Array.isArray(filters) || filters.length === 0) {
    throw invalid(field, `at least one filter is required (1..${MAX_FILTERS_PER_RECORDING})`);
  }
  if (filters.length > MAX_FILTERS_PER_RECORDING) {
    throw invalid(field, `${filters.length} filters; a recording takes at most ${MAX_FILTERS_PER_RECORDING}`);
  }
  return filters.map((f, i) => validateFilter(f, `${field}[${i}]`));
}

/** 0 = default (the largest). */
export function validateSnaplen(value: unknown, field = 'snaplen'): number {
  if (value === undefined || value === 0) return MAX_SNAPLEN;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_SNAPLEN || value > MAX_SNAPLEN) {
    throw invalid(field, `${JSON.stringify(value)} is out of range ${MIN_SNAPLEN}..${MAX_SNAPLEN} (0 = ${MAX_SNAPLEN})`);
  }
  return value;
}

/** A rule as the datapath indexes it: its shape (mask) and its fields under that shape (key). */
export interface KernelRuleEncoding {
  mask: KernelMask;
  key: KernelKey;
}

/** The datapath's encoding of a rule (bpf/lb/recorder.h: rec_ctl.shapes, rec_index). */
export function kernelRule(r: CaptureRule): KernelRuleEncoding {
  const addr = (p: IpPrefix | undefined) => (p ? Buffer.from(toDatapathBytes(p.address)) : Buffer.alloc(16));
  const proto = PROTO_NUMBER[r.proto];
  const mask: KernelMask = {
    srcPlen: r.src?.prefixLength ?? 0,
    dstPlen: r.dst?.prefixLength ?? 0,
    family: r.family,
    fields: (r.srcPort ? REC_M_SPORT : 0) | (r.dstPort ? REC_M_DPORT : 0) | (proto ? REC_M_PROTO : 0),
  };
  // Prefixes are validated without host bits, so the addresses are already masked.
  const key: KernelKey = {
    src: addr(r.src),
    dst: addr(r.dst),
    sport: r.srcPort,
    dport: r.dstPort,
    proto,
    family: r.family,
    srcPlen: mask.srcPlen,
    dstPlen: mask.dstPlen,
  };
  return { mask, key };
}

/** FAILED_PRECONDITION: a valid request the recorder's current state cannot take. */
export function limitReached(field: string, problem: string): ValidationError {
  return new ValidationError('FAILED_PRECONDITION', field, problem);
}
