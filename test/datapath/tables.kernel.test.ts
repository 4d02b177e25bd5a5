// Maglev tables as the control plane drives them: a table size per service (read by the datapath
// with the service entry), the slot function shared with flowhash.ts, the kernel memory a table
// costs, single slots rewritten in place, whole tables swapped, and a size change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED_TABLE_SIZES } from '../../lb/maglev/index.js';
import { LbDatapath, maglevSlot, tableMemoryBytes, type DatapathBackend } from '../../lb/datapath/index.js';
import { CLIENT_MAC, IF_MAC, configure, loadDatapath } from './harness.js';
import { ETH_P_IP, PROTO_TCP, ether, ipv4, tcp } from '../lab/packets.js';

const VIP_A = '10.0.0.10';
const VIP_B = '10.0.0.20';
const backends = (base: number, n: number): DatapathBackend[] =>
  Array.from({ length: n }, (_, i) => ({ id: base + i, address: `10.1.${base >> 8}.${(base & 0xff) + i}`, weight: 1 }));

/** The backend id a packet of the tuple went to, from the outer destination of the IPIP frame. */
function sentTo(dp: LbDatapath, set: DatapathBackend[], client: string, sport: number, vip: string): number | undefined {
  const frame = ether({ dst: IF_MAC, src: CLIENT_MAC }, ETH_P_IP, ipv4({ src: client, dst: vip, proto: PROTO_TCP }, tcp({ src: client, dst: vip, sport, dport: 80, flags: 0x10 })));
  const r = dp.testRun(frame);
  if (r.verdict !== 'tx') return undefined;
  const dst = [...r.frame.subarray(14 + 16, 14 + 20)].join('.');
  return set.find((b) => b.address === dst)?.id;
}

const clientOf = (i: number) => `198.51.${100 + (i >> 8)}.${i & 0xff}`;

describe('a table size per service', () => {
  let dp: LbDatapath;
  const setA = backends(1, 7);
  const setB = backends(100, 5);
  beforeAll(() => {
    // Stateless: every packet is placed by the table, so each one shows the slot function at work.
    dp = loadDatapath({ tableSize: 1021, stateless: true });
    configure(dp);
    dp.upsertService({ id: 1, vip: VIP_A, port: 80, protocol: 'tcp', tableSize: 251 });
    dp.setBackends(1, setA);
    dp.upsertService({ id: 2, vip: VIP_B, port: 80, protocol: 'tcp' }); // the load option's 1021
    dp.setBackends(2, setB);
  });
  afterAll(() => dp?.close());

  it('each service has its own M; every packet goes to slot maglevSlot(flowHash, M) of its table', () => {
    expect(dp.services().map((s) => [s.id, s.tableSize])).toEqual([[1, 251], [2, 1021]]);
    for (const [id, vip, set, size] of [[1, VIP_A, setA, 251], [2, VIP_B, setB, 1021]] as const) {
      const table = dp.maglevTable(id)!;
      expect(table.length).toBe(size);
      const slots = new Set<number>();
      for (let i = 0; i < 600; i++) {
        const t = { src: clientOf(i), dst: vip, sport: 20000 + i, dport: 80, protocol: 'tcp' as const };
        const p = dp.placement(t)!;
        expect(p.slot).toBe(maglevSlot(p.hash, size));
        expect(sentTo(dp, set, t.src, t.sport, vip)).toBe(table[p.slot]);
        slots.add(p.slot);
      }
      // The slot function reaches the whole table (not just its start or its end).
      expect(Math.min(...slots)).toBeLessThan(size * 0.05);
      expect(Math.max(...slots)).toBeGreaterThan(size * 0.95);
    }
  });

  it('the slot function is floor(hash × M / 2^32) at the extremes', () => {
    expect(maglevSlot(0, 65537)).toBe(0);
    expect(maglevSlot(0xffffffff, 65537)).toBe(65536);
    expect(maglevSlot(0x80000000, 251)).toBe(125);
    expect(maglevSlot(0xffffffff, 131071)).toBe(131070);
  });

  it('a size not in ALLOWED_TABLE_SIZES is refused, naming service.tableSize, and changes nothing', () => {
    const before = JSON.stringify([dp.services(), [...dp.maglevTable(1)!]]);
    expect(() => dp.upsertService({ id: 1, vip: VIP_A, port: 80, protocol: 'tcp', tableSize: 1000 })).toThrow(/service\.tableSize: 1000 is not one of 251, 509/);
    expect(() => dp.upsertService({ id: 3, vip: '10.0.0.30', port: 80, protocol: 'tcp', tableSize: 65536 })).toThrow(/service\.tableSize/);
    expect(JSON.stringify([dp.services(), [...dp.maglevTable(1)!]])).toBe(before);
  });

  it('a new size rebuilds the table from the backends; packets follow the new size at once', () => {
    dp.upsertService({ id: 1, vip: VIP_A, port: 80, protocol: 'tcp', tableSize: 4093 });
    const table = dp.maglevTable(1)!;
    expect(table.length).toBe(4093);
    for (let i = 0; i < 200; i++) {
      const t = { src: clientOf(i), dst: VIP_A, sport: 30000 + i, dport: 80, protocol: 'tcp' as const };
      expect(sentTo(dp, setA, t.src, t.sport, VIP_A)).toBe(table[maglevSlot(dp.placement(t)!.hash, 4093)]);
    }
    dp.upsertService({ id: 1, vip: VIP_A, port: 80, protocol: 'tcp', tableSize: 509 }); // and smaller again
    expect(dp.maglevTable(1)!.length).toBe(509);
    const t = { src: clientOf(1), dst: VIP_A, sport: 1, dport: 80, protocol: 'tcp' as const };
    expect(sentTo(dp, setA, t.src, t.sport, VIP_A)).toBe(dp.placement(t)!.backendId);
  });
});

describe('table memory', () => {
  it('tableMemoryBytes(M) is what the kernel charges for a table of M slots; ≤ 128 KiB per service at M = 16381', () => {
    const dp = loadDatapath({ maxServices: ALLOWED_TABLE_SIZES.length });
    try {
      configure(dp);
      ALLOWED_TABLE_SIZES.forEach((size, id) => {
        dp.upsertService({ id, vip: `10.0.1.${id}`, port: 80, protocol: 'tcp', tableSize: size });
        dp.setBackends(id, [{ id, address: `10.1.0.${id + 1}`, weight: 1 }]);
        expect({ size, bytes: dp.tableMemory(id) }).toEqual({ size, bytes: tableMemoryBytes(size) });
      });
      expect(tableMemoryBytes(16381)).toBeLessThanOrEqual(128 * 1024);
      expect(LbDatapath.tableMemoryBytes(65537)).toBe(270336);
      expect(dp.tableMemory(63)).toBe(0); // no table
    } finally {
      dp.close();
    }
  });
});

describe('writing tables', () => {
  let dp: LbDatapath;
  const set = backends(1, 4);
  beforeAll(() => {
    dp = loadDatapath({ tableSize: 1021, stateless: true });
    configure(dp);
    dp.upsertService({ id: 1, vip: VIP_A, port: 80, protocol: 'tcp' });
    dp.setBackends(1, set);
  });
  afterAll(() => dp?.close());

  const flowIn = (slot: number) => {
    for (let i = 0; ; i++) {
      const t = { src: clientOf(i % 4000), dst: VIP_A, sport: 1024 + i, dport: 80, protocol: 'tcp' as const };
      if (dp.placement(t)!.slot === slot) return t;
    }
  };

  it('writeSlots rewrites single slots in place; the next packet of a flow in that slot follows', () => {
    const t = flowIn(17);
    const before = dp.maglevTable(1)!;
    const other = set.find((b) => b.id !== before[17])!.id;
    expect(dp.writeSlots(1, [17, 18], [other, before[18]!])).toBe(1);
    const after = dp.maglevTable(1)!;
    expect(after[17]).toBe(other);
    after[17] = before[17]!;
    expect(after).toEqual(before); // nothing else moved
    expect(sentTo(dp, set, t.src, t.sport, VIP_A)).toBe(other);
  });

  it('writeSlots refuses a slot out of range or an id that is not an active backend, before writing anything', () => {
    const before = dp.maglevTable(1)!;
    expect(() => dp.writeSlots(1, [0, 1021], [1, 1])).toThrow(/slots\[1\]: 1021 is not a slot 0 … 1020/);
    expect(() => dp.writeSlots(1, [0, 1], [1, 99])).toThrow(/ids\[1\]: 99 is not the id of an active backend of service 1/);
    expect(() => dp.writeSlots(1, [0], [1, 2])).toThrow(/ids: 2 ids for 1 slots/);
    expect(() => dp.writeSlots(9, [0], [1])).toThrow(/no service with id 9/);
    expect(dp.maglevTable(1)).toEqual(before);
  });

  it("setBackends 'inPlace' rewrites only the slots that change; 'swap' installs a fresh table; both end in lb/maglev's table", () => {
    dp.setBackends(1, set);
    const five = [...set, ...backends(5, 1)];
    const inPlace = dp.setBackends(1, five, { write: 'inPlace' });
    const table5 = dp.maglevTable(1)!;
    expect(inPlace.tableWrite).toBe('inPlace');
    expect(inPlace.slotsChanged).toBeGreaterThan(1021 / 5 - 30);
    expect(inPlace.slotsChanged).toBeLessThan(1021 / 5 + 60); // Maglev moves about 1/5 of the slots
    expect([...inPlace.slotsPerBackend.values()].reduce((a, b) => a + b)).toBe(1021);
    const swap = dp.setBackends(1, set); // default: swap
    expect(swap).toMatchObject({ tableWrite: 'swap', slotsChanged: inPlace.slotsChanged });
    dp.setBackends(1, five, { write: 'inPlace' });
    expect(dp.maglevTable(1)).toEqual(table5);
    dp.setBackends(1, set);
  });

  it('setBackends takes a table built by the caller, checked slot by slot', () => {
    const table = new Uint32Array(1021).fill(set[2]!.id);
    const r = dp.setBackends(1, set, { table, write: 'inPlace' });
    expect(r.slotsPerBackend.get(set[2]!.id)).toBe(1021);
    expect(r.slotsPerBackend.get(set[0]!.id)).toBe(0);
    expect(sentTo(dp, set, '192.0.2.1', 1, VIP_A)).toBe(set[2]!.id);
    const bad = new Uint32Array(1021).fill(set[0]!.id);
    bad[5] = 77;
    expect(() => dp.setBackends(1, set, { table: bad })).toThrow(/table\[5\]: 77 is not the id of an active backend/);
    expect(() => dp.setBackends(1, set, { table: new Uint32Array(10) })).toThrow(/table: must be a Uint32Array of 1021 slots/);
    expect(() => dp.setBackends(1, set, { write: 'later' as never })).toThrow(/write: "later"/);
    expect(dp.maglevTable(1)).toEqual(table);
    dp.setBackends(1, set);
  });

  it('no active backend removes the table; the next active set creates one (a swap)', () => {
    const r = dp.setBackends(1, set.map((b) => ({ ...b, state: 'draining' as const })), { write: 'inPlace' });
    expect(r).toMatchObject({ tableWrite: 'removed', activeBackends: 0 });
    expect(dp.maglevTable(1)).toBeUndefined();
    expect(dp.tableMemory(1)).toBe(0);
    expect(() => dp.writeSlots(1, [0], [1])).toThrow(/has no table this process can write/);
    expect(dp.setBackends(1, set, { write: 'inPlace' })).toMatchObject({ tableWrite: 'swap', slotsChanged: 1021 });
  });
});

describe('removing many tables at once', () => {
  let dp: LbDatapath;
  const vip = (i: number) => `10.0.1.${i}`;
  const setOf = (i: number) => backends(i * 10, 3);
  beforeAll(() => {
    dp = loadDatapath({ tableSize: 251, stateless: true });
    configure(dp);
    for (let i = 1; i <= 5; i++) {
      dp.upsertService({ id: i, vip: vip(i), port: 80, protocol: 'tcp' });
      dp.setBackends(i, setOf(i));
    }
  });
  afterAll(() => dp?.close());

  const verdictOf = (i: number) => {
    const frame = ether({ dst: IF_MAC, src: CLIENT_MAC }, ETH_P_IP, ipv4({ src: '192.0.2.9', dst: vip(i), proto: PROTO_TCP }, tcp({ src: '192.0.2.9', dst: vip(i), sport: 4000, dport: 80, flags: 0x10 })));
    return dp.testRun(frame).verdict;
  };

  it('tables of several services taken away in one batch (the shared tombstone) read like no table; the services stay', () => {
    // Service 1 loses its table alone (a delete); 2 and 3 together (the tombstone batch).
    dp.setBackendsMany([{ serviceId: 1, backends: setOf(1).map((b) => ({ ...b, state: 'draining' as const })) }]);
    const r = dp.setBackendsMany([2, 3].map((i) => ({ serviceId: i, backends: setOf(i).map((b) => ({ ...b, state: 'draining' as const })) })));
    expect(r.map((x) => x.tableWrite)).toEqual(['removed', 'removed']);
    for (const i of [1, 2, 3]) {
      expect(dp.maglevTable(i)).toBeUndefined();
      expect(dp.tableMemory(i)).toBe(0);
      expect(verdictOf(i)).toBe(verdictOf(1));
    }
    expect(verdictOf(1)).not.toBe('tx');
    expect(verdictOf(4)).toBe('tx');
    // A later active set gives them a table again.
    for (const i of [2, 3]) expect(dp.setBackends(i, setOf(i))).toMatchObject({ tableWrite: 'swap' });
    expect(verdictOf(2)).toBe('tx');
  });

  it('deleteServices removes services, tables and backends in batches; ids are reusable', () => {
    expect(dp.deleteServices([2, 3, 4, 99])).toBe(3);
    expect(dp.services().map((s) => s.id)).toEqual([1, 5]);
    for (const i of [2, 3, 4]) {
      expect(dp.backends(i)).toEqual([]);
      expect(dp.maglevTable(i)).toBeUndefined();
      expect(verdictOf(i)).toBe('pass'); // not a VIP any more
    }
    expect(verdictOf(5)).toBe('tx');
    dp.upsertService({ id: 3, vip: vip(7), port: 80, protocol: 'tcp' });
    expect(dp.setBackends(3, setOf(3), { write: 'inPlace' })).toMatchObject({ tableWrite: 'swap' });
    expect(dp.maglevTable(3)!.length).toBe(251);
  });
});

describe('a second LbDatapath on the same pins (a tool reading what xlbd wrote)', () => {
  const dir = `/sys/fs/bpf/xlb-test-tables-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  afterAll(() => LbDatapath.unpin(dir));

  it('reads the table the datapath reads now, after the owner swapped in a new one', () => {
    const owner = loadDatapath({ tableSize: 1021 });
    let view: LbDatapath | undefined;
    try {
      configure(owner);
      owner.upsertService({ id: 1, vip: VIP_A, port: 80, protocol: 'tcp' });
      const set = backends(1, 4);
      owner.setBackends(1, set);
      owner.pin(dir);
      view = LbDatapath.adopt(dir);
      expect(view.maglevTable(1)).toEqual(owner.maglevTable(1));
      // The owner drains one backend with a fresh table (a swap): the view's mapping is now stale.
      const drained = set[0]!.id;
      owner.setBackends(1, set.map((b) => (b.id === drained ? { ...b, state: 'draining' as const } : b)), { write: 'swap' });
      const now = view.maglevTable(1)!;
      expect(now).toEqual(owner.maglevTable(1));
      expect(now.includes(drained)).toBe(false);
      const t = { src: clientOf(7), dst: VIP_A, sport: 40000, dport: 80, protocol: 'tcp' as const };
      expect(view.placement(t)!.backendId).toBe(owner.placement(t)!.backendId);
    } finally {
      view?.close();
      owner.close();
    }
  });
});

describe('spare tables at the service ids handed out next', () => {
  it('a new service writes its first table into its spare; spares read "no backend"; unlisted spares are taken back', () => {
    const dp = loadDatapath({ tableSize: 1021, stateless: true });
    try {
      configure(dp);
      expect(dp.prepareSpareTables([9, 10])).toBe(2);
      expect(dp.spareTables).toBe(2);
      expect(dp.prepareSpareTables([9, 10])).toBe(0); // nothing missing: no kernel call
      expect(dp.prepareSpareTables([9, 10, 11], { minMissing: 2 })).toBe(0); // one missing: below the threshold
      const set = backends(1, 5);
      const t = { src: clientOf(3), dst: VIP_A, sport: 41000, dport: 80, protocol: 'tcp' as const };
      dp.upsertService({ id: 9, vip: VIP_A, port: 80, protocol: 'tcp' });
      // Between the service entry and its table a packet finds the spare: no backend, as without a table.
      expect(dp.maglevTable(9)).toBeUndefined();
      expect(sentTo(dp, set, t.src, t.sport, VIP_A)).toBeUndefined();
      const r = dp.setBackends(9, set, { write: 'inPlace' });
      expect(r).toMatchObject({ tableWrite: 'swap', slotsChanged: 1021 });
      expect(dp.spareTables).toBe(1);
      const table = dp.maglevTable(9)!;
      expect(table.length).toBe(1021);
      expect(sentTo(dp, set, t.src, t.sport, VIP_A)).toBe(table[dp.placement(t)!.slot]);
      // The spare became the service's table: later changes rewrite it in place.
      expect(dp.setBackends(9, set.slice(1), { write: 'inPlace' }).tableWrite).toBe('inPlace');
      // A service of another size cannot use the default-size spare: it gets its own table.
      dp.upsertService({ id: 10, vip: VIP_B, port: 80, protocol: 'tcp', tableSize: 251 });
      expect(dp.maglevTable(10)).toBeUndefined();
      expect(dp.setBackends(10, backends(100, 3), { write: 'inPlace' }).tableWrite).toBe('swap');
      expect(dp.maglevTable(10)!.length).toBe(251);
      expect(dp.spareTables).toBe(0);
      // New ids listed: spares there; a spare at an id no longer listed is taken back.
      expect(dp.prepareSpareTables([11, 12])).toBe(2);
      expect(dp.prepareSpareTables([12, 13])).toBe(1);
      expect(dp.spareTables).toBe(2);
      // Ids of existing services or out of range are never given a spare.
      expect(dp.prepareSpareTables([9, 10, 64, -1])).toBe(0);
    } finally {
      dp.close();
    }
  });
});
