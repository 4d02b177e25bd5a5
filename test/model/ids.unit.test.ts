// The datapath id allocator at full scale: 65 535 ids (a 65 536-entry map), every operation O(1)
// (the earlier next-fit scan with a retired list was quadratic: claiming 30 000 ids with 30 000
// retired took 67 s), the FIFO order that keeps a freed id away as long as possible, undo in
// reverse order, and the retired list pruned when a snapshot is loaded.
import { describe, expect, it } from 'vitest';
import { IdAllocator } from '../../lb/model/index.js';

const MAX = 65_535;

function clock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

function allocator(c = clock(), max = MAX) {
  return new IdAllocator({ max, reuseDelayMs: 60_000, now: c.now, what: 'backend' });
}

describe('IdAllocator with 65 535 ids', () => {
  it('hands out every id once, refuses the next, and gives freed ids back oldest first', () => {
    const c = clock();
    const a = allocator(c);
    const seen = new Uint8Array(MAX + 1);
    for (let i = 0; i < MAX; i++) {
      const id = a.allocate();
      expect(seen[id]).toBe(0);
      seen[id] = 1;
    }
    expect(a.used).toBe(MAX);
    expect(() => a.allocate()).toThrow(/all 65535 backend ids are in use/);
    // Free every other id, then the rest, as a churn would; they come back in release order.
    const order: number[] = [];
    for (let id = 2; id <= MAX; id += 2) order.push(id);
    for (let id = 1; id <= MAX; id += 2) order.push(id);
    for (const id of order) {
      a.release(id);
      c.advance(1);
    }
    expect(a.used).toBe(0);
    for (let i = 0; i < order.length; i++) if (a.allocate() !== order[i]) throw new Error(`allocation ${i} out of order`);
  });

  it('30 000 ids claimed with 30 000 retired: loads, allocates and releases in linear time', () => {
    const c = clock();
    const retired = Array.from({ length: 30_000 }, (_, i) => ({ id: 30_001 + i, at: c.now() - 1000 + i / 100 }));
    const a = new IdAllocator({ max: MAX, reuseDelayMs: 60_000, now: c.now, what: 'backend' }, { next: 1, retired });
    for (let id = 1; id <= 30_000; id++) a.claim(id);
    // The free ids that never retired come first (60 001 … 65 535), then the retired ones in order.
    const first = Array.from({ length: MAX - 60_000 }, () => a.allocate());
    expect(first[0]).toBe(60_001);
    expect(first.at(-1)).toBe(MAX);
    expect(a.allocate()).toBe(30_001);
    // Churn at full size: 200 000 release/allocate pairs.
    for (let i = 0; i < 200_000; i++) {
      const id = a.allocate();
      a.release(id);
    }
    expect(a.used).toBe(30_000 + (MAX - 60_000) + 1);
  });

  it('undo in reverse order restores the exact queue', () => {
    const c = clock();
    const a = allocator(c, 8);
    const x = a.allocate();
    const y = a.allocate();
    const before = a.snapshot();
    const frontBefore = a.front;
    // A change: release y, allocate two; taken back in reverse order.
    const prev = a.release(y)!;
    const p = a.allocate();
    const q = a.allocate();
    a.unallocate(q);
    a.unallocate(p);
    a.unrelease(y, prev);
    expect(a.snapshot()).toEqual(before);
    expect(a.front).toBe(frontBefore);
    expect([a.isUsed(x), a.isUsed(y)]).toEqual([true, true]);
    expect(a.allocate()).toBe(p);
    expect(() => a.unrelease(x, 0)).toThrow(/not the last released/);
  });

  it('a snapshot keeps only ids freed within the reuse delay; loading prunes the rest', () => {
    const c = clock();
    const a = allocator(c, 10);
    for (let i = 0; i < 6; i++) a.allocate(); // 1..6
    a.release(2);
    c.advance(120_000); // 2 has cooled down
    a.release(4);
    const snap = a.snapshot();
    expect(snap.retired.map((r) => r.id)).toEqual([4]);
    // A stale entry (freed long ago) and an entry for an id in use are pruned on load.
    const loaded = new IdAllocator(
      { max: 10, reuseDelayMs: 60_000, now: c.now, what: 'backend' },
      { next: snap.next, retired: [{ id: 9, at: c.now() - 3_600_000 }, { id: 1, at: c.now() }, ...snap.retired] },
    );
    for (const id of [1, 3, 5, 6]) loaded.claim(id);
    expect(loaded.snapshot().retired.map((r) => r.id)).toEqual([4]);
    const order = Array.from({ length: 6 }, () => loaded.allocate());
    expect(order).toEqual([7, 8, 9, 10, 2, 4]);
  });
});

describe('IdAllocator.upcoming', () => {
  it('names exactly the ids allocate() hands out next, without taking them', () => {
    const c = clock();
    const a = allocator(c, 10);
    a.claim(2);
    for (const id of [1, 3]) expect(a.allocate()).toBe(id);
    a.release(1);
    expect(a.upcoming(4)).toEqual([4, 5, 6, 7]);
    expect(a.upcoming(20)).toEqual([4, 5, 6, 7, 8, 9, 10, 1]); // only the free ids, the freed one last
    expect(a.used).toBe(2);
    const next = a.upcoming(8);
    expect(Array.from({ length: 8 }, () => a.allocate())).toEqual(next);
    expect(a.upcoming(3)).toEqual([]);
  });
});
