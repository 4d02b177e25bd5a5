// The packet recorder's part of the XDP program's layout (bpf/lb/recorder.h): its constants, the
// structs of its maps and of a ring record, declared once with libbpf-ts's struct codec. The
// recorder (recorder/) reads and writes its maps only through these.
import { be16, bytes, pad, struct, u32, u64, u8, type ValueOf } from '../../bpf/libbpf-ts/index.js';

export const REC_MAX_RULES = 128;
export const REC_MAX_RECORDINGS = 64;
export const REC_MAX_SNAPLEN = 4096;
/** Default ring size (bytes) of bpf/lb/recorder.h; the loader may choose another power of two. */
export const REC_RING_DEFAULT_BYTES = 4 << 20;

export const POINT_INGRESS = 1;
export const POINT_EGRESS = 2;
export type PointName = 'ingress' | 'egress';

/** struct rec_rule. Addresses and masks are 16 bytes, network order (IPv4 in the first 4); a zero
 *  port or proto is a wildcard; family 0 = either; proto ICMP also stands for ICMPv6. */
export const RecRule = struct('rec_rule', {
  src: bytes(16, 4),
  srcMask: bytes(16, 4),
  dst: bytes(16, 4),
  dstMask: bytes(16, 4),
  sport: be16,
  dport: be16,
  proto: u8,
  family: u8,
  slot: u8,
  active: u8,
});
export type KernelRule = ValueOf<typeof RecRule>;

/** struct rec_recording: all zero while the slot is unused. */
export const RecRecording = struct('rec_recording', { id: u32, snaplen: u32, points: u32 });
export type KernelRecording = ValueOf<typeof RecRecording>;

export const RecCtl = struct('rec_ctl', { ruleLimit: u32 });

/** struct rec_counter, per recording slot and CPU. */
export const RecCounter = struct('rec_counter', { matched: u64, lost: u64 });

/** struct rec_hdr: the header of every ring record; caplen bytes of the frame follow it. */
export const RecHdr = struct('rec_hdr', {
  tstampNs: u64,
  recordingId: u32,
  len: u32,
  caplen: u32,
  ifindex: u32,
  point: u8,
  pad: pad(7),
});

export const RecScratch = struct('rec_scratch', { hdr: RecHdr.asField(), data: bytes(REC_MAX_SNAPLEN) });

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
  if (b.length < RecHdr.size) throw new RangeError(`ring record of ${b.length} bytes is shorter than its header`);
  const h = RecHdr.decode(b);
  if (RecHdr.size + h.caplen > b.length) {
    throw new RangeError(`ring record of ${b.length} bytes announces caplen ${h.caplen}`);
  }
  return { ...h, data: b.subarray(RecHdr.size, RecHdr.size + h.caplen) };
}
