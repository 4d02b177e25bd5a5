// Byte layout of the recorder's maps and ring records, mirrored from bpf/lb/recorder.h. The only
// file in recorder/ that knows offsets; a test compares it with the object's BTF.

export const REC_MAX_RULES = 128;
export const REC_MAX_RECORDINGS = 64;
export const REC_MAX_SNAPLEN = 4096;
/** Default ring size (bytes) of bpf/lb/recorder.h; the loader may choose another power of two. */
export const REC_RING_DEFAULT_BYTES = 4 << 20;

export const REC_MAP = {
  ctl: 'rec_ctl',
  rules: 'rec_rules',
  recordings: 'rec_recordings',
  stats: 'rec_stats',
  scratch: 'rec_scratch',
  ring: 'rec_ring',
} as const;
export type RecMapName = (typeof REC_MAP)[keyof typeof REC_MAP];

export const REC_SIZES: Record<RecMapName, { key: number; value: number }> = {
  rec_ctl: { key: 4, value: 4 },
  rec_rules: { key: 4, value: 72 },
  rec_recordings: { key: 4, value: 12 },
  rec_stats: { key: 4, value: 16 },
  rec_scratch: { key: 4, value: 32 + REC_MAX_SNAPLEN },
  rec_ring: { key: 0, value: 0 },
};

export const POINT_INGRESS = 1;
export const POINT_EGRESS = 2;
export type PointName = 'ingress' | 'egress';

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** struct rec_rule. Addresses and masks are 16 bytes, network order (IPv4 in the first 4). */
export interface KernelRule {
  family: 0 | 4 | 6;
  src: Uint8Array;
  srcMask: Uint8Array;
  dst: Uint8Array;
  dstMask: Uint8Array;
  /** 0 = any */
  sport: number;
  dport: number;
  /** 0 = any; IPPROTO_ICMP also stands for ICMPv6 in IPv6 packets */
  proto: number;
  slot: number;
}

export function encodeRule(r: KernelRule): Buffer {
  const b = Buffer.alloc(REC_SIZES.rec_rules.value);
  b.set(r.src, 0);
  b.set(r.srcMask, 16);
  b.set(r.dst, 32);
  b.set(r.dstMask, 48);
  b.writeUInt16BE(r.sport, 64);
  b.writeUInt16BE(r.dport, 66);
  b.writeUInt8(r.proto, 68);
  b.writeUInt8(r.family, 69);
  b.writeUInt8(r.slot, 70);
  b.writeUInt8(1, 71); // active
  return b;
}

export function emptyRule(): Buffer {
  return Buffer.alloc(REC_SIZES.rec_rules.value);
}

export function isRuleActive(b: Buffer): boolean {
  return b.readUInt8(71) !== 0;
}

export interface KernelRecording {
  id: number;
  snaplen: number;
  /** POINT_* bits */
  points: number;
}

export function encodeRecording(r: KernelRecording): Buffer {
  const b = Buffer.alloc(REC_SIZES.rec_recordings.value);
  b.writeUInt32LE(r.id, 0);
  b.writeUInt32LE(r.snaplen, 4);
  b.writeUInt32LE(r.points, 8);
  return b;
}

export function decodeRecording(b: Buffer): KernelRecording {
  return { id: b.readUInt32LE(0), snaplen: b.readUInt32LE(4), points: b.readUInt32LE(8) };
}

export function encodeCtl(ruleLimit: number): Buffer {
  const b = Buffer.alloc(REC_SIZES.rec_ctl.value);
  b.writeUInt32LE(ruleLimit, 0);
  return b;
}

export function decodeCtl(b: Buffer): { ruleLimit: number } {
  return { ruleLimit: b.readUInt32LE(0) };
}

/** Sum of one rec_stats slot over CPUs. */
export function sumRecCounter(perCpu: readonly Buffer[]): { matched: bigint; lost: bigint } {
  let matched = 0n;
  let lost = 0n;
  for (const v of perCpu) {
    matched += v.readBigUInt64LE(0);
    lost += v.readBigUInt64LE(8);
  }
  return { matched, lost };
}

export function zeroRecCounters(cpus: number): Buffer[] {
  return Array.from({ length: cpus }, () => Buffer.alloc(REC_SIZES.rec_stats.value));
}

export const REC_HDR_LEN = 32;

/** One ring record: struct rec_hdr followed by caplen bytes of the frame. */
export interface RingRecord {
  /** CLOCK_BOOTTIME nanoseconds */
  tstampNs: bigint;
  recordingId: number;
  len: number;
  caplen: number;
  ifindex: number;
  point: number;
  /** view into the batch buffer: copy it if you keep it beyond the batch callback */
  data: Buffer;
}

export function decodeRecord(b: Buffer): RingRecord {
  if (b.length < REC_HDR_LEN) throw new RangeError(`ring record of ${b.length} bytes is shorter than its header`);
  const caplen = b.readUInt32LE(16);
  if (REC_HDR_LEN + caplen > b.length) {
    throw new RangeError(`ring record of ${b.length} bytes announces caplen ${caplen}`);
  }
  return {
    tstampNs: b.readBigUInt64LE(0),
    recordingId: b.readUInt32LE(8),
    len: b.readUInt32LE(12),
    caplen,
    ifindex: b.readUInt32LE(20),
    point: b.readUInt8(24),
    data: b.subarray(REC_HDR_LEN, REC_HDR_LEN + caplen),
  };
}
