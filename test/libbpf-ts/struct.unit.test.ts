// libbpf-ts's struct codec on its own: C layout rules (alignment padding, trailing padding, nested
// structs), byte order of each field type, round trips, per-CPU sums and the errors for bad values.
// The declared xlb structs are checked against real BTF in test/datapath/maps.kernel.test.ts.
import { describe, expect, it } from 'vitest';
import { be16, be32, bytes, cNameOf, pad, struct, u16, u32, u64, u8 } from '../../bpf/libbpf-ts/index.js';

describe('struct codec', () => {
  it('places fields like a C compiler: each at a multiple of its alignment, size a multiple of the largest', () => {
    const s = struct('mixed', { a: u8, b: u32, c: u16, d: u64, e: u8 });
    expect(s.fields.map((f) => [f.cName, f.offset])).toEqual([['a', 0], ['b', 4], ['c', 8], ['d', 16], ['e', 24]]);
    expect(s.size).toBe(32);
    expect(s.align).toBe(8);
    const packed = struct('packed_bytes', { a: u8, mac: bytes(6), b: u8 });
    expect(packed.size).toBe(8);
    const aligned = struct('addr', { family: u8, addr: bytes(16, 4) });
    expect(aligned.fields[1]!.offset).toBe(4);
    expect(aligned.size).toBe(20);
  });

  it('writes little-endian integers, network-order be16/be32, bytes as given; decode reads them back', () => {
    const s = struct('k', { port: be16, proto: u8, family: u8, id: u32, ip: be32, n: u64, raw: bytes(3), p: pad(1) });
    const v = { port: 0x1234, proto: 6, family: 4, id: 0x01020304, ip: 0x0a000001, n: 0x1122334455667788n, raw: Buffer.from([9, 8, 7]) };
    const b = s.encode(v);
    expect(b.length).toBe(s.size);
    expect([...b.subarray(0, 2)]).toEqual([0x12, 0x34]);
    expect([...b.subarray(4, 8)]).toEqual([4, 3, 2, 1]);
    expect([...b.subarray(8, 12)]).toEqual([10, 0, 0, 1]);
    expect(b.readBigUInt64LE(16)).toBe(0x1122334455667788n);
    expect(s.decode(b)).toEqual(v);
    expect(s.decode(Buffer.concat([Buffer.alloc(5), b]), 5)).toEqual(v);
  });

  it('nests structs with their own alignment', () => {
    const inner = struct('hdr', { t: u64, id: u32, point: u8, pad: pad(3) });
    const outer = struct('scratch', { hdr: inner.asField(), data: bytes(10) });
    expect(inner.size).toBe(16);
    expect(outer.size).toBe(32);
    const v = { hdr: { t: 5n, id: 7, point: 2 }, data: Buffer.alloc(10, 1) };
    expect(outer.decode(outer.encode(v))).toEqual(v);
  });

  it('sums per-CPU values field by field', () => {
    const c = struct('counter', { packets: u64, bytes: u64 });
    const perCpu = [c.encode({ packets: 1n, bytes: 100n }), c.encode({ packets: 2n, bytes: 50n }), c.encode({ packets: 0n, bytes: 1n })];
    expect(c.sum(perCpu)).toEqual({ packets: 3n, bytes: 151n });
    expect(c.sum([])).toEqual({ packets: 0n, bytes: 0n });
  });

  it('names C members in snake_case unless told otherwise', () => {
    expect(cNameOf('srcV4Hostmask')).toBe('src_v4_hostmask');
    expect(struct('x', { lastSeenNs: u64, weird: u8 }, { weird: 'Weird_' }).fields.map((f) => f.cName)).toEqual(['last_seen_ns', 'Weird_']);
  });

  it('refuses values that do not fit, naming the struct and field, and short buffers', () => {
    const s = struct('v', { a: u16, mac: bytes(6) });
    expect(() => s.encode({ a: 70000, mac: Buffer.alloc(6) })).toThrow(/struct v\.a:/);
    expect(() => s.encode({ a: 1, mac: Buffer.alloc(5) })).toThrow(/struct v\.mac: expected 6 bytes, got 5/);
    expect(() => s.encode({ a: 1 } as never)).toThrow(/struct v: field mac is missing/);
    expect(() => s.decode(Buffer.alloc(3))).toThrow(/struct v: 3 bytes, need 8/);
  });
});
