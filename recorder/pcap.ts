// Capture file writers: classic pcap with nanosecond timestamps and pcapng. No npm package writes
// pcap (platform notes), and both formats are small: a file header, then one record per packet.
//   pcap   — https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html
//   pcapng — https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html
// Everything is written little-endian (the byte-order magic tells readers).
import type { PointName } from '../lb/datapath/index.js';

export type CaptureFormat = 'pcap' | 'pcapng';

export interface CapturedPacket {
  /** Wall-clock (CLOCK_REALTIME) nanoseconds since the epoch. */
  tsNs: bigint;
  point: PointName;
  /** Original frame length. */
  len: number;
  /** The captured bytes (≤ snaplen). */
  data: Buffer;
}

export interface CaptureWriter {
  readonly format: CaptureFormat;
  /** The bytes a file starts with. */
  header(): Buffer;
  /** One packet record. */
  packet(p: CapturedPacket): Buffer;
}

export const LINKTYPE_ETHERNET = 1;
/** pcap magic for nanosecond timestamps (microsecond files use a1b2c3d4). */
export const PCAP_MAGIC_NS = 0xa1b23c4d;

const NS_PER_S = 1_000_000_000n;

export function pcapWriter(snaplen: number): CaptureWriter {
  return {
    format: 'pcap',
    header() {
      const b = Buffer.alloc(24);
      b.writeUInt32LE(PCAP_MAGIC_NS, 0);
      b.writeUInt16LE(2, 4); // version 2.4
      b.writeUInt16LE(4, 6);
      b.writeInt32LE(0, 8); // thiszone: timestamps are UTC
      b.writeUInt32LE(0, 12); // sigfigs
      b.writeUInt32LE(snaplen, 16);
      b.writeUInt32LE(LINKTYPE_ETHERNET, 20);
      return b;
    },
    packet(p) {
      const b = Buffer.alloc(16 + p.data.length);
      b.writeUInt32LE(Number(p.tsNs / NS_PER_S), 0);
      b.writeUInt32LE(Number(p.tsNs % NS_PER_S), 4);
      b.writeUInt32LE(p.data.length, 8);
      b.writeUInt32LE(p.len, 12);
      p.data.copy(b, 16);
      return b;
    },
  };
}

// ---- pcapng ------------------------------------------------------------------------------------

const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 0x00000001;
const BT_EPB = 0x00000006;
const OPT_COMMENT = 1;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;
const EPB_FLAGS = 2;
/** epb_flags bits 0–1: direction (1 inbound, 2 outbound). Wireshark: frame.packet_flags_direction. */
const DIRECTION: Record<PointName, number> = { ingress: 1, egress: 2 };
/** Interface ids in every xlb pcapng file: one IDB per observation point. */
export const PCAPNG_INTERFACE: Record<PointName, number> = { ingress: 0, egress: 1 };
export const PCAPNG_INTERFACE_NAME: Record<PointName, string> = { ingress: 'xlb-ingress', egress: 'xlb-egress' };

const pad4 = (n: number) => (4 - (n % 4)) % 4;

function option(code: number, value: Buffer): Buffer {
  const b = Buffer.alloc(4 + value.length + pad4(value.length));
  b.writeUInt16LE(code, 0);
  b.writeUInt16LE(value.length, 2);
  value.copy(b, 4);
  return b;
}

function options(list: Buffer[]): Buffer {
  return list.length ? Buffer.concat([...list, Buffer.alloc(4) /* opt_endofopt */]) : Buffer.alloc(0);
}

/** type, total length, body, total length again. */
function block(type: number, body: Buffer): Buffer {
  const total = 12 + body.length;
  const b = Buffer.alloc(total);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(total, 4);
  body.copy(b, 8);
  b.writeUInt32LE(total, total - 4);
  return b;
}

const text = (s: string) => Buffer.from(s, 'utf8');

export interface PcapngOptions {
  snaplen: number;
  /** Section comment (e.g. the recording id and its filters). */
  comment?: string;
}

export function pcapngWriter(o: PcapngOptions): CaptureWriter {
  return {
    format: 'pcapng',
    header() {
      const shb = Buffer.alloc(16);
      shb.writeUInt32LE(0x1a2b3c4d, 0); // byte-order magic
      shb.writeUInt16LE(1, 4); // version 1.0
      shb.writeUInt16LE(0, 6);
      shb.writeBigInt64LE(-1n, 8); // section length unknown (streamed)
      const shbOpts = [option(SHB_USERAPPL, text('xlb recorder'))];
      if (o.comment) shbOpts.push(option(OPT_COMMENT, text(o.comment)));
      const blocks = [block(BT_SHB, Buffer.concat([shb, options(shbOpts)]))];
      for (const point of ['ingress', 'egress'] as const) {
        const idb = Buffer.alloc(8);
        idb.writeUInt16LE(LINKTYPE_ETHERNET, 0);
        idb.writeUInt32LE(o.snaplen, 4);
        const desc = point === 'ingress' ? 'frames as xlb received them' : 'frames as xlb sent them (XDP_TX)';
        const opts = options([
          option(IF_NAME, text(PCAPNG_INTERFACE_NAME[point])),
          option(IF_DESCRIPTION, text(desc)),
          option(IF_TSRESOL, Buffer.from([9])), // 10^-9 s
        ]);
        blocks.push(block(BT_IDB, Buffer.concat([idb, opts])));
      }
      return Buffer.concat(blocks);
    },
    packet(p) {
      const dataLen = p.data.length;
      const flags = Buffer.alloc(4);
      flags.writeUInt32LE(DIRECTION[p.point]);
      const opts = options([option(EPB_FLAGS, flags)]);
      const body = Buffer.alloc(20 + dataLen + pad4(dataLen) + opts.length);
      body.writeUInt32LE(PCAPNG_INTERFACE[p.point], 0);
      body.writeUInt32LE(Number(p.tsNs >> 32n), 4);
      body.writeUInt32LE(Number(p.tsNs & 0xffffffffn), 8);
      body.writeUInt32LE(dataLen, 12);
      body.writeUInt32LE(p.len, 16);
      p.data.copy(body, 20);
      opts.copy(body, 20 + dataLen + pad4(dataLen));
      return block(BT_EPB, body);
    },
  };
}

export function captureWriter(format: CaptureFormat, o: PcapngOptions): CaptureWriter {
  return format === 'pcapng' ? pcapngWriter(o) : pcapWriter(o.snaplen);
}
