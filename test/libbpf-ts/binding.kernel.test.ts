// libbpf-ts against the real kernel: object loading and configuration, map operations (plain,
// per-CPU, batch, map-in-map), BPF_PROG_TEST_RUN, verifier log on failure, argument checking.
import { afterEach, describe, expect, it } from 'vitest';
import { BpfError, BpfMap, BpfObject } from '../../bpf/libbpf-ts/index.js';
import { bpfObjectPath } from '../../bpf/objects.js';

const XDP_ABORTED = 0;
const XDP_DROP = 1;
const XDP_PASS = 2;
const XDP_TX = 3;

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
};

/** Frame for ts_basic: 16+ bytes, slot index at [8, 12). */
function basicFrame(slot: number): Buffer {
  const f = Buffer.alloc(64);
  f.writeUInt32LE(slot, 8);
  return f;
}

const toClose: { close(): void }[] = [];
function track<T extends { close(): void }>(x: T): T {
  toClose.push(x);
  return x;
}
afterEach(() => {
  for (const x of toClose.splice(0)) x.close();
});

describe('BpfObject', () => {
  it('loads a program, lists programs and maps, reports program info', () => {
    const obj = track(BpfObject.open(bpfObjectPath('ts_basic')));
    expect(obj.programNames()).toEqual(['xdp_basic']);
    expect(obj.mapNames()).toEqual(expect.arrayContaining(['slots', 'runs']));
    obj.load();
    const prog = obj.program('xdp_basic');
    expect(prog.type).toBe('xdp');
    expect(prog.id).toBeGreaterThan(0);
    expect(prog.tag).toMatch(/^[0-9a-f]{16}$/);
    expect(obj.program('xdp_basic')).toBe(prog);
    const r = prog.testRun({ data: basicFrame(1) });
    expect(r.retval).toBe(XDP_PASS);
    expect(r.data.length).toBe(64);
  });

  it('setConst changes behaviour observed through testRun (u32 number and u64 bigint)', () => {
    const run = (verdict?: number, stamp?: bigint) => {
      const obj = track(BpfObject.open(bpfObjectPath('ts_basic')));
      if (verdict !== undefined) obj.setConst('verdict', verdict);
      if (stamp !== undefined) obj.setConst('stamp', stamp);
      obj.load();
      return obj.program('xdp_basic').testRun({ data: basicFrame(0) });
    };
    const defaults = run();
    expect(defaults.retval).toBe(XDP_PASS);
    expect(defaults.data.readBigUInt64LE(0)).toBe(0n);

    const changed = run(XDP_TX, 0x1122334455667788n);
    expect(changed.retval).toBe(XDP_TX);
    expect(changed.data.readBigUInt64LE(0)).toBe(0x1122334455667788n);
  });

  it('setConst accepts a Buffer of exactly the variable size and rejects anything else, naming the variable', () => {
    const obj = track(BpfObject.open(bpfObjectPath('ts_basic')));
    expect(obj.constInfo('stamp')).toEqual({ section: '.rodata', offset: expect.any(Number), size: 8 });
    obj.setConst('verdict', u32(XDP_DROP));
    expect(() => obj.setConst('verdict', Buffer.alloc(8))).toThrow(/"verdict".*4 bytes/);
    expect(() => obj.setConst('verdict', 2 ** 32)).toThrow(RangeError);
    expect(() => obj.setConst('verdict', 1.5)).toThrow(TypeError);
    expect(() => obj.setConst('no_such_var', 1)).toThrow(/no_such_var/);
    obj.load();
    // the rejected writes changed nothing: the Buffer write (XDP_DROP) is what the program sees
    expect(obj.program('xdp_basic').testRun({ data: basicFrame(0) }).retval).toBe(XDP_DROP);
    expect(() => obj.setConst('verdict', 1)).toThrow(/already loaded/);
  });

  it('setMapMaxEntries resizes a map before load (observable in the program and in map info)', () => {
    const small = track(BpfObject.open(bpfObjectPath('ts_basic')));
    small.load();
    expect(small.map('slots').maxEntries).toBe(4);
    // slot 10 is out of range for 4 entries: the program's update fails → XDP_DROP
    expect(small.program('xdp_basic').testRun({ data: basicFrame(10) }).retval).toBe(XDP_DROP);

    const big = track(BpfObject.open(bpfObjectPath('ts_basic')));
    big.setMapMaxEntries('slots', 64);
    big.load();
    const slots = big.map('slots');
    expect(slots.maxEntries).toBe(64);
    expect(big.program('xdp_basic').testRun({ data: basicFrame(10) }).retval).toBe(XDP_PASS);
    expect(slots.lookup(u32(10))?.readUInt32LE(0)).toBe(11);
    expect(() => big.setMapMaxEntries('slots', 8)).toThrow(BpfError);
  });

  it('names what is missing: unknown program, unknown map, map before load', () => {
    const obj = track(BpfObject.open(bpfObjectPath('ts_basic')));
    expect(() => obj.map('slots')).toThrow(/not loaded yet/);
    expect(() => obj.setMapMaxEntries('nope', 4)).toThrow(/map "nope" not found.*slots/);
    obj.load();
    expect(() => obj.program('nope')).toThrow(/program "nope" not found.*xdp_basic/);
  });

  it('open of a missing file throws BpfError ENOENT naming the path', () => {
    const err = captureError(() => BpfObject.open('/nonexistent/x.o'));
    expect(err).toBeInstanceOf(BpfError);
    expect((err as BpfError).code).toBe('ENOENT');
    expect((err as BpfError).message).toContain('/nonexistent/x.o');
  });

  it('a program the verifier rejects throws BpfError with errno name and the verifier log', () => {
    const obj = track(BpfObject.open(bpfObjectPath('ts_bad')));
    const err = captureError(() => obj.load()) as BpfError;
    expect(err).toBeInstanceOf(BpfError);
    expect(err.code).toBe('EACCES');
    expect(err.errno).toBe(13);
    expect(err.verifierLog).toMatch(/invalid access to packet/);
    expect(err.message).toMatch(/invalid access to packet/); // the verdict is in the message too
    expect(err.message).toContain('ts_bad.o');
    expect(() => obj.program('xdp_oob')).toThrow(/failed to load/);
  });

  it('close is idempotent and closes the programs and maps handed out', () => {
    const obj = BpfObject.open(bpfObjectPath('ts_basic'));
    obj.load();
    const prog = obj.program('xdp_basic');
    const map = obj.map('slots');
    obj.close();
    obj.close();
    expect(prog.closed && map.closed).toBe(true);
    const err = captureError(() => map.lookup(u32(0))) as BpfError;
    expect(err.code).toBe('EBADF');
    expect(err.message).toContain('"slots" is closed');
  });
});

describe('BpfMap', () => {
  it('CRUD on a hash map with update flags and key iteration', () => {
    const m = track(BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 16, name: 'crud' }));
    expect(m).toMatchObject({ name: 'crud', type: 'hash', keySize: 4, valueSize: 8, maxEntries: 16, isPerCpu: false });
    expect(m.id).toBeGreaterThan(0);
    expect(m.lookup(u32(1))).toBeUndefined();
    m.update(u32(1), u64(100n));
    m.update(u32(2), u64(200n), 'noexist');
    expect(m.lookup(u32(1))?.readBigUInt64LE(0)).toBe(100n);
    expect(captureError(() => m.update(u32(1), u64(1n), 'noexist'))).toMatchObject({ code: 'EEXIST' });
    expect(captureError(() => m.update(u32(9), u64(1n), 'exist'))).toMatchObject({ code: 'ENOENT' });
    m.update(u32(1), u64(101n), 'exist');
    expect(m.lookup(u32(1))?.readBigUInt64LE(0)).toBe(101n);
    expect([...m.keys()].map((k) => k.readUInt32LE(0)).sort()).toEqual([1, 2]);
    expect(m.delete(u32(1))).toBe(true);
    expect(m.delete(u32(1))).toBe(false);
    expect(m.lookup(u32(1))).toBeUndefined();
    expect(m.nextKey()?.readUInt32LE(0)).toBe(2);
    expect(m.nextKey(u32(2))).toBeUndefined();
  });

  it('a full map throws E2BIG naming the map and the operation', () => {
    const m = track(BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 2, name: 'flows' }));
    m.update(u32(1), u32(1));
    m.update(u32(2), u32(2));
    const err = captureError(() => m.update(u32(3), u32(3))) as BpfError;
    expect(err).toBeInstanceOf(BpfError);
    expect(err.code).toBe('E2BIG');
    expect(err.message).toMatch(/^map "flows" update: E2BIG/);
  });

  it('wrong key/value sizes or types are TypeErrors naming the argument and change nothing', () => {
    const m = track(BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 }));
    expect(() => m.update(Buffer.alloc(3), u64(1n))).toThrow(TypeError);
    expect(() => m.update(Buffer.alloc(3), u64(1n))).toThrow(/^key: .*4-byte keys, got 3/);
    expect(() => m.update(u32(1), Buffer.alloc(4))).toThrow(/^value: .*8-byte values, got 4/);
    expect(() => m.lookup('abcd' as unknown as Buffer)).toThrow(/key must be a Buffer/);
    expect(() => m.update(u32(1), u64(1n), 'sometimes' as never)).toThrow(/flags/);
    expect([...m.keys()]).toEqual([]);
    expect(() => BpfMap.create({ type: 'nonsense' as never, keySize: 4, valueSize: 4, maxEntries: 1 })).toThrow(/unknown map type 'nonsense'/);
    expect(() => BpfMap.create({ type: 'hash', keySize: -1, valueSize: 4, maxEntries: 1 })).toThrow(/keySize/);
  });

  it('per-CPU values: one Buffer per possible CPU, value size rounded up to 8 per CPU', () => {
    const cpus = BpfMap.possibleCpus;
    expect(cpus).toBeGreaterThanOrEqual(1);
    // 12-byte values: the kernel's per-CPU slots are 16 bytes apart
    const m = track(BpfMap.create({ type: 'percpu_hash', keySize: 4, valueSize: 12, maxEntries: 8 }));
    expect(m.isPerCpu).toBe(true);
    const values = Array.from({ length: cpus }, (_, cpu) => Buffer.alloc(12, 0x10 + cpu));
    m.update(u32(7), values);
    const got = m.lookupPerCpu(u32(7));
    expect(got).toHaveLength(cpus);
    got!.forEach((v, cpu) => expect(v).toEqual(values[cpu]));
    m.update(u32(8), Buffer.alloc(12, 0xee)); // one value for every CPU
    expect(m.lookupPerCpu(u32(8))!.every((v) => v.equals(Buffer.alloc(12, 0xee)))).toBe(true);
    expect(() => m.lookup(u32(7))).toThrow(/per-CPU: use lookupPerCpu/);
    expect(() => m.update(u32(7), values.slice(1))).toThrow(/needs \d+ values/);
    expect(m.lookupPerCpu(u32(99))).toBeUndefined();
    const batch = m.lookupBatchPerCpu();
    expect(batch.keys.map((k) => k.readUInt32LE(0)).sort()).toEqual([7, 8]);
    const at7 = batch.values[batch.keys.findIndex((k) => k.readUInt32LE(0) === 7)];
    expect(at7).toEqual(values);
  });

  it('per-CPU counter written by a program sums to the number of runs', () => {
    const obj = track(BpfObject.open(bpfObjectPath('ts_basic')));
    obj.load();
    obj.program('xdp_basic').testRun({ data: basicFrame(0), repeat: 25 });
    const perCpu = obj.map('runs').lookupPerCpu(u32(0))!;
    expect(perCpu).toHaveLength(BpfMap.possibleCpus);
    expect(perCpu.reduce((s, v) => s + v.readBigUInt64LE(0), 0n)).toBe(25n);
  });

  it('sumPerCpu: counters of chosen keys summed over CPUs, array (runs of keys) and hash', () => {
    const cpus = BpfMap.possibleCpus;
    const n = 5000;
    // 24-byte values: three u64 counters; per CPU c the value of key k is (k + c, 2k + c, 7).
    const value = (k: number, c: number) => Buffer.concat([u64(BigInt(k + c)), u64(BigInt(2 * k + c)), u64(7n)]);
    const expected = (k: number) => [k * cpus + (cpus * (cpus - 1)) / 2, 2 * k * cpus + (cpus * (cpus - 1)) / 2, 7 * cpus];
    const arr = track(BpfMap.create({ type: 'percpu_array', keySize: 4, valueSize: 24, maxEntries: n }));
    const written = [0, 1, 2, 3, 40, 41, 900, 901, 902, 1999, 2000, 2001, 4999];
    arr.updateBatch(written.map(u32), written.map((k) => Array.from({ length: cpus }, (_, c) => value(k, c))));
    // Unsorted, with a duplicate and never-written keys (zero), long and short gaps, a run over 1024.
    const keys = Uint32Array.from([4999, 41, 0, 900, 41, 2001, 1999, 3, 17, ...Array.from({ length: 1200 }, (_, i) => 2500 + i * 2)]);
    const sums = arr.sumPerCpu(keys);
    expect(sums).toBeInstanceOf(Float64Array);
    expect(sums).toHaveLength(keys.length * 3);
    keys.forEach((k, i) => {
      const want = written.includes(k) ? expected(k) : [0, 0, 0];
      expect(Array.from(sums.subarray(i * 3, i * 3 + 3)), `key ${k}`).toEqual(want);
    });
    expect(Array.from(arr.sumPerCpu(Uint32Array.from([2]), 1))).toEqual([expected(2)[0]]);
    expect(arr.sumPerCpu(new Uint32Array(0))).toHaveLength(0);
    expect(() => arr.sumPerCpu(Uint32Array.from([1, n]))).toThrow(/keys\[1\]: 5000 is not below max_entries 5000/);
    expect(() => arr.sumPerCpu(Uint32Array.from([1]), 4)).toThrow(/4 u64 counters do not fit the 24-byte values/);
    expect(() => arr.sumPerCpu([1] as unknown as Uint32Array)).toThrow(/Uint32Array/);

    const hash = track(BpfMap.create({ type: 'percpu_hash', keySize: 4, valueSize: 24, maxEntries: 64 }));
    hash.update(u32(10), Array.from({ length: cpus }, (_, c) => value(10, c)));
    expect(Array.from(hash.sumPerCpu(Uint32Array.from([11, 10])))).toEqual([0, 0, 0, ...expected(10)]);
    const plain = track(BpfMap.create({ type: 'array', keySize: 4, valueSize: 8, maxEntries: 4 }));
    expect(() => plain.sumPerCpu(Uint32Array.from([1]))).toThrow(/needs a per-CPU map/);
  });

  it('batch: update 1000, lookup all, delete (hash and array)', () => {
    const n = 1000;
    const m = track(BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 2048, name: 'batch' }));
    const keys = Array.from({ length: n }, (_, i) => u32(i * 7 + 1));
    const values = keys.map((k) => u64(BigInt(k.readUInt32LE(0)) * 3n));
    m.updateBatch(keys, values);
    const all = m.lookupBatch();
    expect(all.keys).toHaveLength(n);
    const seen = new Map(all.keys.map((k, i) => [k.readUInt32LE(0), all.values[i].readBigUInt64LE(0)]));
    for (const k of keys) expect(seen.get(k.readUInt32LE(0))).toBe(BigInt(k.readUInt32LE(0)) * 3n);
    // delete half plus some absent keys: absent ones are skipped, not errors
    const del = [...keys.slice(0, n / 2), u32(999_999), u32(888_888)];
    expect(m.deleteBatch(del)).toBe(n / 2);
    expect(m.lookupBatch().keys).toHaveLength(n / 2);
    expect(m.deleteBatch(keys)).toBe(n / 2);
    expect(m.lookupBatch()).toEqual({ keys: [], values: [] });

    const arr = track(BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: n }));
    arr.updateBatch(keys.map((_, i) => u32(i)), keys.map((_, i) => u32(i + 5)));
    const a = arr.lookupBatch();
    expect(a.values.map((v) => v.readUInt32LE(0))).toEqual(Array.from({ length: n }, (_, i) => i + 5));
  });

  it('batch update rejects bad input before changing anything', () => {
    const m = track(BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 8 }));
    expect(() => m.updateBatch([u32(1), Buffer.alloc(2)], [u32(1), u32(2)])).toThrow(/keys\[1\]/);
    expect(() => m.updateBatch([u32(1), u32(2)], [u32(1)])).toThrow(/values must be an array as long as keys/);
    expect(() => m.updateBatch([u32(1), u32(2)], [u32(1), Buffer.alloc(8)])).toThrow(/values\[1\]/);
    expect(m.lookupBatch().keys).toHaveLength(0);
  });

  it('batch update failing in the kernel names the element', () => {
    const m = track(BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 2 }));
    const err = captureError(() => m.updateBatch([u32(1), u32(2), u32(3)], [u32(1), u32(2), u32(3)])) as BpfError;
    expect(err.code).toBe('E2BIG');
    expect(err.message).toMatch(/element 2 of 3/);
  });

  it('packed batch: 1500 array slots from two Uint32Arrays, 1200 hash entries from Buffers', () => {
    const n = 1500;
    const arr = track(BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: n }));
    const slots = Uint32Array.from({ length: n }, (_, i) => i);
    const ids = Uint32Array.from({ length: n }, (_, i) => (i * 2654435761) >>> 0);
    arr.updateBatchPacked(slots, ids);
    const a = arr.lookupBatch();
    expect(a.keys).toHaveLength(n);
    a.keys.forEach((k, i) => expect(a.values[i].readUInt32LE(0)).toBe(ids[k.readUInt32LE(0)]));

    const h = track(BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 2048 }));
    const m = 1200;
    const keys = Buffer.alloc(m * 4);
    const values = Buffer.alloc(m * 8);
    for (let i = 0; i < m; i++) {
      keys.writeUInt32LE(i * 11 + 3, i * 4);
      values.writeBigUInt64LE(BigInt(i) << 33n, i * 8);
    }
    h.updateBatchPacked(keys, values, m);
    const all = h.lookupBatch();
    expect(all.keys).toHaveLength(m);
    for (let i = 0; i < m; i++) expect(h.lookup(u32(i * 11 + 3))?.readBigUInt64LE(0)).toBe(BigInt(i) << 33n);
    // a kernel failure names the element: 1201 more keys into a map with room for 2048 − 1200
    const more = Uint32Array.from({ length: 1201 }, (_, i) => 1_000_000 + i);
    const err = captureError(() => h.updateBatchPacked(more, new BigUint64Array(1201))) as BpfError;
    expect(err.code).toBe('E2BIG');
    expect(err.message).toMatch(/element 848 of 1201/);
  });

  it('packed batch rejects wrong lengths and per-CPU maps before changing anything', () => {
    const m = track(BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 8 }));
    const keys = Uint32Array.from([0, 1, 2, 3]);
    const values = Uint32Array.from([9, 9, 9, 9]);
    expect(() => m.updateBatchPacked(keys, values.subarray(0, 3))).toThrow(/values: 4 values of map ".*" need 16 bytes, got 12/);
    expect(() => m.updateBatchPacked(keys, values, 5)).toThrow(/keys: 5 keys of map ".*" need 20 bytes, got 16/);
    expect(() => m.updateBatchPacked(Buffer.alloc(10), Buffer.alloc(10))).toThrow(/keys: 10 bytes is not a whole number of 4-byte keys/);
    expect(() => m.updateBatchPacked(keys, values, 1.5)).toThrow(/count: 1.5 is not an integer/);
    expect(() => m.updateBatchPacked([0, 1] as never, values)).toThrow(/keys must be a Buffer, typed array or DataView/);
    expect(() => m.updateBatchPacked(keys, 'x' as never)).toThrow(/values must be a Buffer/);
    expect(m.lookupBatch().values.every((v) => v.readUInt32LE(0) === 0)).toBe(true);

    const pc = track(BpfMap.create({ type: 'percpu_array', keySize: 4, valueSize: 4, maxEntries: 4 }));
    expect(() => pc.updateBatchPacked(keys, values)).toThrow(/per-CPU: updateBatchPacked takes flat values, use updateBatch\(\)/);
    expect(pc.lookupBatchPerCpu().values.flat().every((v) => v.readUInt32LE(0) === 0)).toBe(true);
  });

  it('map-in-map: swapping the inner map is seen by the program on its next run', () => {
    const obj = track(BpfObject.open(bpfObjectPath('ts_inner')));
    obj.load();
    const prog = obj.program('xdp_inner');
    const outer = obj.map('outer');
    expect(outer.type).toBe('array_of_maps');
    expect(prog.testRun({ data: Buffer.alloc(32) }).retval).toBe(XDP_DROP); // nothing installed

    const makeInner = (value: number) => {
      const inner = track(BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 1, name: `inner${value}` }));
      inner.update(u32(0), u32(value));
      return inner;
    };
    const first = makeInner(1111);
    const second = makeInner(2222);
    outer.setInner(u32(0), first);
    let r = prog.testRun({ data: Buffer.alloc(32) });
    expect(r.retval).toBe(XDP_PASS);
    expect(r.data.readUInt32LE(0)).toBe(1111);
    expect(outer.lookup(u32(0))?.readUInt32LE(0)).toBe(first.id); // lookups return the inner map id

    outer.setInner(u32(0), second);
    r = prog.testRun({ data: Buffer.alloc(32) });
    expect(r.data.readUInt32LE(0)).toBe(2222);
    expect(outer.lookupBatch().values[0].readUInt32LE(0)).toBe(second.id);

    const wrongShape = track(BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1 }));
    expect(captureError(() => outer.setInner(u32(0), wrongShape))).toMatchObject({ code: 'EINVAL' });
    expect(prog.testRun({ data: Buffer.alloc(32) }).data.readUInt32LE(0)).toBe(2222); // unchanged
  });

  it('map-in-map created from user space with an inner template', () => {
    const template = track(BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4 }));
    const outer = track(BpfMap.create({ type: 'hash_of_maps', keySize: 4, valueSize: 4, maxEntries: 4, innerMap: template }));
    const inner = track(BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4 }));
    outer.setInner(u32(42), inner);
    expect(outer.lookup(u32(42))?.readUInt32LE(0)).toBe(inner.id);
    expect(outer.delete(u32(42))).toBe(true);
    expect(() => BpfMap.create({ type: 'array_of_maps', keySize: 4, valueSize: 4, maxEntries: 1 })).toThrow(/innerMap/);
  });

  it('setInnerBatch installs 600 inner maps in one call; bad input changes nothing; a refused element is named', () => {
    const template = track(BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 8 }));
    const outer = track(BpfMap.create({ type: 'array_of_maps', keySize: 4, valueSize: 4, maxEntries: 1024, innerMap: template }));
    const inners = Array.from({ length: 600 }, () => track(BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 8 })));
    const keys = inners.map((_, i) => u32(i * 1 + 3));
    outer.setInnerBatch(keys, inners);
    inners.forEach((m, i) => expect(outer.lookup(keys[i]!)?.readUInt32LE(0)).toBe(m.id));
    // Replacing works the same way.
    outer.setInnerBatch([keys[0]!], [inners[1]!]);
    expect(outer.lookup(keys[0]!)?.readUInt32LE(0)).toBe(inners[1]!.id);
    const free = u32(900);
    expect(() => outer.setInnerBatch([free, free], [inners[0]!])).toThrow(/inners must be an array as long as keys \(2\)/);
    expect(() => outer.setInnerBatch([free], [{} as BpfMap])).toThrow(/no native handle/);
    expect(outer.lookup(free)).toBeUndefined();
    // An inner map that does not match the template is refused by the kernel, at its element.
    const wrong = track(BpfMap.create({ type: 'array', keySize: 4, valueSize: 8, maxEntries: 8 }));
    const err = captureError(() => outer.setInnerBatch([u32(901), u32(902), u32(903)], [inners[2]!, wrong, inners[3]!])) as BpfError;
    expect(err.code).toBe('EINVAL');
    expect(err.message).toMatch(/set inner batch: element 1 of 3/);
    expect(outer.lookup(u32(901))?.readUInt32LE(0)).toBe(inners[2]!.id);
    expect(outer.lookup(u32(903))).toBeUndefined();
  });

  it('fromId opens the same kernel map and program', () => {
    const obj = track(BpfObject.open(bpfObjectPath('ts_basic')));
    obj.load();
    const slots = obj.map('slots');
    slots.update(u32(3), u32(77));
    const again = track(BpfMap.fromId(slots.id));
    expect(again.lookup(u32(3))?.readUInt32LE(0)).toBe(77);
    expect(captureError(() => BpfMap.fromId(0x7ffffff0))).toMatchObject({ code: 'ENOENT' });
  });
});

describe('testRun', () => {
  it('passes ctx in and out and reports duration', () => {
    const obj = track(BpfObject.open(bpfObjectPath('ts_basic')));
    obj.load();
    const prog = obj.program('xdp_basic');
    // struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex
    // (offsets into the frame); data_end must be the frame length
    const ctx = Buffer.alloc(24);
    ctx.writeUInt32LE(64, 4);
    const r = prog.testRun({ data: basicFrame(1), ctx, repeat: 3 });
    expect(r.retval).toBe(XDP_PASS);
    expect(r.ctx).toHaveLength(24);
    expect(r.durationNs).toBeGreaterThanOrEqual(0);
    expect(prog.testRun({ data: Buffer.alloc(15) }).retval).toBe(XDP_ABORTED); // frame too short
    expect(captureError(() => prog.testRun({ data: Buffer.alloc(64), dataOutSize: 8 }))).toMatchObject({ code: 'ENOSPC' });
  });
});

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an exception');
}
