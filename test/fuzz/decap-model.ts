// A reference model of the backend decap program (bpf/decap/xlb_decap.c): for one frame at tc
// ingress, the verdict (TC_ACT_OK / TC_ACT_SHOT), the counter, and the frame the stack then sees.
// Independent of the C: its own parsing and prefix matching, test/lab/packets.ts's checksum. The
// routing question the program asks (bpf_fib_lookup: would the host forward the inner
// destination?) is answered from the fuzzer's network namespace: `local` addresses on lo, a
// default route for everything else, forwarding on or off.
import { inetChecksum } from '../lab/packets.js';

export type DecapCounter =
  | 'ipip' | 'ip6ip6' | 'ip4in6' | 'ip6in4' | 'notLocal' | 'malformed' | 'failed' | 'sourceDenied' | 'innerTunnel' | 'innerNotLocal';

export interface DecapPrefix {
  family: 4 | 6;
  /** 4 or 16 bytes, host bits zero. */
  addr: Buffer;
  len: number;
}

export interface DecapModelState {
  /** Outer destinations decapsulated for (decap_addrs), as address bytes. */
  tunnelEndpoints: Buffer[];
  /** Allowed outer sources (decap_sources). */
  sources: DecapPrefix[];
  /** The namespace's local addresses (lo). */
  local: Buffer[];
  /** Forwarding on the receiving interface. */
  forwarding: boolean;
  /** cfg_allow_forwarded_inner (--allow-forwarded-inner): destinations the host forwards are accepted. */
  allowForwardedInner: boolean;
}

export interface DecapOutcome {
  verdict: 'ok' | 'shot';
  /** undefined: not a tunnel packet, passed untouched and uncounted. */
  counter?: DecapCounter;
  /** The frame after the program (for 'ok'). */
  frame?: Buffer;
}

const TUNNEL_PROTOS = new Set([4, 41, 47, 97, 137]);
const IPV6_HIDING = new Set([0, 43, 44, 60, 51, 135, 139, 140, 253, 254]);

function inPrefix(p: DecapPrefix, family: 4 | 6, addr: Buffer): boolean {
  if (p.family !== family) return false;
  for (let bit = 0; bit < p.len; bit++) {
    const m = 0x80 >> (bit & 7);
    if ((addr[bit >> 3]! & m) !== (p.addr[bit >> 3]! & m)) return false;
  }
  return true;
}

function neverLocal4(a: Buffer): boolean {
  return a[0] === 0 || a[0] === 127 || a[0]! >= 224;
}

function neverLocal6(a: Buffer): boolean {
  if (a[0] === 0xff || (a[0] === 0xfe && (a[1]! & 0xc0) === 0x80)) return true;
  const zero = (from: number, to: number) => a.subarray(from, to).every((b) => b === 0);
  if (zero(0, 10) && a[10] === 0xff && a[11] === 0xff) return true; // IPv4-mapped
  return zero(0, 15) && a[15]! <= 1; // :: and ::1
}

/** Is the inner destination one the host delivers locally (or at least never forwards)? */
function innerDstLocal(s: DecapModelState, family: 4 | 6, dst: Buffer): boolean {
  if (family === 4 ? neverLocal4(dst) : neverLocal6(dst)) return false;
  if (s.allowForwardedInner) return true; // the routing table is not asked
  if (!s.forwarding) return true; // the helper answers "forwarding disabled"; the stack never forwards
  return s.local.some((l) => l.equals(dst));
}

/** IPv4 header checks of lib/parse.h ipv4_check, as far as "malformed". */
function ipv4Malformed(f: Buffer, at: number, avail: number): boolean {
  const ihl = f[at]! & 0xf;
  const totLen = f.readUInt16BE(at + 2);
  return f[at]! >> 4 !== 4 || ihl * 4 < 20 || totLen < ihl * 4 || totLen > avail;
}

function ipv6Malformed(f: Buffer, at: number, avail: number): boolean {
  return f[at]! >> 4 !== 6 || 40 + f.readUInt16BE(at + 4) > avail;
}

function strip(f: Buffer, outerLen: number, ethType?: number): Buffer {
  const out = Buffer.concat([f.subarray(0, 14), f.subarray(14 + outerLen)]);
  if (ethType !== undefined) out.writeUInt16BE(ethType, 12);
  return out;
}

export function modelDecap(s: DecapModelState, f: Buffer): DecapOutcome {
  const untouched: DecapOutcome = { verdict: 'ok', frame: f };
  const shot = (counter: DecapCounter): DecapOutcome => ({ verdict: 'shot', counter });
  if (f.length < 14) return untouched;
  const type = f.readUInt16BE(12);
  const len = f.length;

  if (type === 0x0800) {
    if (len < 14 + 20) return untouched;
    const proto = f[14 + 9]!;
    if (f[14]! >> 4 !== 4 || (proto !== 4 && proto !== 41)) return untouched;
    const outerLen = (f[14]! & 0xf) * 4;
    const totLen = f.readUInt16BE(16);
    if (outerLen < 20 || f.readUInt16BE(20) & 0x3fff || totLen < outerLen || totLen > len - 14) return shot('malformed');
    const avail = totLen - outerLen;
    const dst = f.subarray(30, 34);
    if (!s.tunnelEndpoints.some((a) => a.equals(dst))) return shot('notLocal');
    if (!s.sources.some((p) => inPrefix(p, 4, f.subarray(26, 30)))) return shot('sourceDenied');
    if (inetChecksum(f.subarray(14, 14 + outerLen)) !== 0) return shot('malformed');
    return inner(s, f, 14 + outerLen, proto === 4 ? 4 : 6, avail, proto === 4 ? 'ipip' : 'ip6in4', outerLen, proto === 4 ? undefined : 0x86dd);
  }
  if (type === 0x86dd) {
    if (len < 14 + 40) return untouched;
    const nh = f[14 + 6]!;
    if (f[14]! >> 4 !== 6 || (nh !== 4 && nh !== 41)) return untouched;
    const avail = f.readUInt16BE(18);
    if (avail > len - 14 - 40) return shot('malformed');
    if (!s.tunnelEndpoints.some((a) => a.equals(f.subarray(38, 54)))) return shot('notLocal');
    if (!s.sources.some((p) => inPrefix(p, 6, f.subarray(22, 38)))) return shot('sourceDenied');
    return inner(s, f, 54, nh === 41 ? 6 : 4, avail, nh === 41 ? 'ip6ip6' : 'ip4in6', 40, nh === 41 ? undefined : 0x0800);
  }
  return untouched;
}

function inner(s: DecapModelState, f: Buffer, at: number, family: 4 | 6, avail: number, ok: DecapCounter, outerLen: number, ethType: number | undefined): DecapOutcome {
  const shot = (counter: DecapCounter): DecapOutcome => ({ verdict: 'shot', counter });
  if (family === 4) {
    if (at + 20 > f.length || ipv4Malformed(f, at, avail)) return shot('malformed');
    if (TUNNEL_PROTOS.has(f[at + 9]!)) return shot('innerTunnel');
    if (!innerDstLocal(s, 4, f.subarray(at + 16, at + 20))) return shot('innerNotLocal');
  } else {
    if (at + 40 > f.length || ipv6Malformed(f, at, avail)) return shot('malformed');
    const nh = f[at + 6]!;
    if (TUNNEL_PROTOS.has(nh) || IPV6_HIDING.has(nh)) return shot('innerTunnel');
    if (!innerDstLocal(s, 6, f.subarray(at + 24, at + 40))) return shot('innerNotLocal');
  }
  return { verdict: 'ok', counter: ok, frame: strip(f, outerLen, ethType) };
}
