// Reading recorder output with the real tshark: one object per packet with the fields the recorder
// tests look at. A file tshark cannot read fails the test (tshark exits non-zero).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TsharkPacket {
  epochNs: bigint;
  len: number;
  capLen: number;
  /** IP sources / destinations per IP layer, outermost first (IPv4 and IPv6 layers in stack order) */
  src: string[];
  dst: string[];
  protocols: string;
  srcPort?: number;
  dstPort?: number;
  /** pcapng only */
  interfaceName?: string;
  /** pcapng epb_flags direction: 1 inbound, 2 outbound */
  direction?: number;
  /** protocol / next header of each IP layer, outermost first */
  ipProto: number[];
  /** TCP of the innermost layer: raw sequence / acknowledgement numbers and flags (hex) */
  tcpSeq?: number;
  tcpAck?: number;
  tcpFlags?: string;
}

const FIELDS = [
  'frame.time_epoch',
  'frame.len',
  'frame.cap_len',
  'ip.src',
  'ip.dst',
  'ipv6.src',
  'ipv6.dst',
  'frame.protocols',
  'tcp.srcport',
  'tcp.dstport',
  'udp.srcport',
  'udp.dstport',
  'frame.interface_name',
  'frame.packet_flags_direction',
  'ip.proto',
  'ipv6.nxt',
  'tcp.seq_raw',
  'tcp.ack_raw',
  'tcp.flags',
];

const list = (s: string | undefined) => (s ? s.split(',').filter(Boolean) : []);

/** "1763781234.123456789" → ns, exactly (no floating point). */
export function epochToNs(text: string): bigint {
  const [s, frac = ''] = text.split('.');
  return BigInt(s!) * 1_000_000_000n + BigInt((frac + '000000000').slice(0, 9));
}

export function tsharkRead(path: string, displayFilter?: string): TsharkPacket[] {
  const args = ['-r', path, '-T', 'fields', '-E', 'occurrence=a', ...FIELDS.flatMap((f) => ['-e', f])];
  if (displayFilter) args.push('-Y', displayFilter);
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20 });
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((line) => {
      const [time, len, capLen, ip4s, ip4d, ip6s, ip6d, protocols = '', ts, td, us, ud, ifname, dir, ipProto, ip6nxt, seq, ack, flags] =
        line.split('\t');
      // Order address layers as they appear in the protocol stack (4in6 / 6in4 mix families).
      const layers = protocols.split(':').filter((p) => p === 'ip' || p === 'ipv6');
      const v4s = list(ip4s);
      const v4d = list(ip4d);
      const v6s = list(ip6s);
      const v6d = list(ip6d);
      const v4p = list(ipProto).map(Number);
      const v6p = list(ip6nxt).map(Number);
      const src: string[] = [];
      const dst: string[] = [];
      const protos: number[] = [];
      for (const l of layers) {
        if (l === 'ip') {
          src.push(v4s.shift()!);
          dst.push(v4d.shift()!);
          protos.push(v4p.shift()!);
        } else {
          src.push(v6s.shift()!);
          dst.push(v6d.shift()!);
          protos.push(v6p.shift()!);
        }
      }
      const sport = list(ts || us).at(-1);
      const dport = list(td || ud).at(-1);
      return {
        epochNs: epochToNs(time!),
        len: Number(len),
        capLen: Number(capLen),
        src,
        dst,
        protocols,
        ...(sport ? { srcPort: Number(sport) } : {}),
        ...(dport ? { dstPort: Number(dport) } : {}),
        ...(ifname ? { interfaceName: ifname } : {}),
        ...(dir ? { direction: Number(dir) } : {}),
        ipProto: protos,
        ...(seq ? { tcpSeq: Number(list(seq).at(-1)) } : {}),
        ...(ack ? { tcpAck: Number(list(ack).at(-1)) } : {}),
        ...(flags ? { tcpFlags: list(flags).at(-1)! } : {}),
      };
    });
}

/** Writes `bytes` to a temporary file, reads it with tshark, removes it. */
export function tsharkReadBytes(bytes: Buffer, displayFilter?: string): TsharkPacket[] {
  const dir = mkdtempSync(join(tmpdir(), 'xlb-rec-'));
  try {
    const path = join(dir, 'capture');
    writeFileSync(path, bytes);
    return tsharkRead(path, displayFilter);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Frame bytes of every record of a classic pcap file (tshark checks the format; this only
 *  slices the records out for byte comparisons). */
export function pcapFrames(file: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let off = 24; off < file.length; ) {
    const incl = file.readUInt32LE(off + 8);
    frames.push(file.subarray(off + 16, off + 16 + incl));
    off += 16 + incl;
  }
  return frames;
}
