// The packet recorder's part of the XDP program's layout (bpf/lb/recorder.h): its constants, the
// structs of its maps and of a ring record, declared once with libbpf-ts's struct codec. The
// recorder (recorder/) reads and writes its maps only through these.
import { be16, bytes, pad, struct, u32, u64, u8, type ValueOf } from '../../bpf/libbpf-ts/index.js';

export const REC_MAX_RULES = 128;
export const REC_MAX_MASKS = REC_MAX_RULES;
/** The rule filter in front of the index: 2^REC_FILTER_LOG2 bits. */
export const REC_FILTER_LOG2 = 14;
export const REC_FILTER_BITS = 1 << REC_FILTER_LOG2;
export const REC_FILTER_WORDS = REC_FILTER_BITS / 64;
export const REC_MAX_RECORDINGS = 64;
export const REC_MAX_SNAPLEN = 4096;
/** Size of the inner ring template of rec_rings (REC_RING_BYTES), and the default size of each
 *  recording's ring: kernels before 6.7 accept only rings of exactly this size as inner maps. */
export const DEFAULT_RECORDER_RING_BYTES = 4 << 20;
/** A recording's ring: a power of two from a page (the kernel's minimum) to 1 GiB. */
export const MIN_RECORDER_RING_BYTES = 4096;
export const MAX_RECORDER_RING_BYTES = 1 << 30;

export const POINT_INGRESS = 1;
export const POINT_EGRESS = 2;
export type PointName = 'ingress' | 'egress';

/** rec_ctl.flags: record packets that are not for a VIP too. */
export const REC_F_HOST_TRAFFIC = 1;
/** rec_mask.fields: compared exactly (the others are wildcards). */
export const REC_M_SPORT = 1;
export const REC_M_DPORT = 2;
export const REC_M_PROTO = 4;

/** struct rec_mask: one rule shape. Prefix lengths from the first address bit; family 0 = either
 *  (then both prefix lengths are 0); fields REC_M_*. */
export const RecMask = struct('rec_mask', { srcPlen: u8, dstPlen: u8, family: u8, fields: u8 });
export type KernelMask = ValueOf<typeof RecMask>;

/** struct rec_shape: a shape as the filter applies it (masks over the tuple's words as loaded:
 *  first address word of each side, sport | dport << 16, proto | family << 8), then the mask. */
export const RecShape = struct('rec_shape', { src: u32, dst: u32, ports: u32, pf: u32, mask: RecMask.asField() });
export type KernelShape = ValueOf<typeof RecShape>;

/** struct rec_ctl, the value of the program's ".data.rec" section: shapes [0, nmasks) are searched
 *  (0 = the recorder is off); flags REC_F_*; the rule filter; the shapes. Mmapable: the recorder
 *  writes it in place, one aligned store per word. */
export const RecCtl = struct('rec_ctl', {
  nmasks: u32,
  flags: u32,
  pad: pad(56),
  filter: bytes(REC_FILTER_WORDS * 8, 8),
  shapes: bytes(REC_MAX_MASKS * RecShape.size, 4),
});
const ctlField = (name: string) => RecCtl.fields.find((f) => f.name === name)!.offset;
export const REC_CTL_FILTER_OFFSET = ctlField('filter');
export const REC_CTL_SHAPES_OFFSET = ctlField('shapes');

/** struct rec_key: a rule (or a packet's tuple under a mask), fields masked, with the mask's prefix
 *  lengths. Addresses 16 bytes, network order (IPv4 in the first 4); proto ICMP also stands for ICMPv6. */
export const RecKey = struct('rec_key', {
  src: bytes(16, 4),
  dst: bytes(16, 4),
  sport: be16,
  dport: be16,
  proto: u8,
  family: u8,
  srcPlen: u8,
  dstPlen: u8,
});
export type KernelKey = ValueOf<typeof RecKey>;

/** struct rec_recording: all zero while the slot is unused. */
export const RecRecording = struct('rec_recording', { id: u32, snaplen: u32, points: u32, wakeupBytes: u32 });
export type KernelRecording = ValueOf<typeof RecRecording>;

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

const keyField = (name: string) => RecKey.fields.find((f) => f.name === name)!.offset;
const KEY_SRC = keyField('src');
const KEY_DST = keyField('dst');
const KEY_SPORT = keyField('sport');
const KEY_DPORT = keyField('dport');
const KEY_PROTO = keyField('proto');
const KEY_FAMILY = keyField('family');

/** The first `plen` bits (counted up to 32) of a word in network order, as a little-endian load sees it. */
function leadingBitsLE(plen: number): number {
  const bits = Math.min(Math.max(plen, 0), 32);
  const b = Buffer.alloc(4);
  b.writeUInt32BE(bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);
  return b.readUInt32LE(0);
}

/** The filter's view of a shape (struct rec_shape), from the shape. */
export function recShape(mask: KernelMask): KernelShape {
  return {
    src: mask.family ? leadingBitsLE(mask.srcPlen) : 0,
    dst: mask.family ? leadingBitsLE(mask.dstPlen) : 0,
    ports: ((mask.fields & REC_M_SPORT ? 0xffff : 0) | (mask.fields & REC_M_DPORT ? 0xffff0000 : 0)) >>> 0,
    pf: (mask.fields & REC_M_PROTO ? 0xff : 0) | (mask.family ? 0xff00 : 0),
    mask,
  };
}

/** bpf/lb/recorder.h rec_filter_bit: the filter bit of a tuple's words under a shape (each word
 *  already masked; pf XORed with the shape's mask word). */
export function recFilterHash(src: number, dst: number, ports: number, pf: number): number {
  let h = Math.imul(src, 0x9e3779b1) ^ Math.imul(dst, 0x85ebca77) ^ Math.imul(ports, 0xc2b2ae3d) ^ Math.imul(pf, 0x27d4eb2f);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h >>> (32 - REC_FILTER_LOG2);
}

/** The filter bit of a rule, from its encoded key (struct rec_key) and its shape: what the datapath
 *  computes for every packet the rule matches. Words as a little-endian load sees them, like the
 *  datapath (x86, arm64). */
export function recFilterBit(key: Buffer, mask: KernelMask): number {
  const ports = key.readUInt16LE(KEY_SPORT) | (key.readUInt16LE(KEY_DPORT) << 16);
  const pf = (key[KEY_PROTO]! | (key[KEY_FAMILY]! << 8)) ^ RecMask.encode(mask).readUInt32LE(0);
  return recFilterHash(key.readUInt32LE(KEY_SRC), key.readUInt32LE(KEY_DST), ports, pf);
}

export function decodeRecord(b: Buffer): RingRecord {
  if (b.length < RecHdr.size) throw new RangeError(`ring record of ${b.length} bytes is shorter than its header`);
  const h = RecHdr.decode(b);
  if (RecHdr.size + h.caplen > b.length) {
    throw new RangeError(`ring record of ${b.length} bytes announces caplen ${h.caplen}`);
  }
  return { ...h, data: b.subarray(RecHdr.size, RecHdr.size + h.caplen) };
}
