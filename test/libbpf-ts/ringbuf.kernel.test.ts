// libbpf-ts ring buffer consumer: records produced by a real BPF program (ts_ring: bpf_loop +
// bpf_ringbuf_output per run) are drained in C on the event loop and delivered in batches.
import { afterEach, describe, expect, it } from 'vitest';
import { BpfError, BpfMap, BpfObject, RingBufferConsumer, type RingRecords } from '../../bpf/libbpf-ts/index.js';
import { bpfObjectPath } from '../../bpf/objects.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function loadRing(eventsPerRun: number, ringBytes?: number): BpfObject {
  const obj = BpfObject.open(bpfObjectPath('ts_ring'));
  cleanups.push(() => obj.close());
  obj.setConst('events_per_run', eventsPerRun);
  if (ringBytes) obj.setMapMaxEntries('events', ringBytes);
  obj.load();
  return obj;
}

function run(obj: BpfObject, repeat = 1): void {
  obj.program('xdp_ring').testRun({ data: Buffer.alloc(64), repeat });
}

/** next_seq in the program's .bss: how many records the BPF side tried to emit. */
function produced(obj: BpfObject): number {
  const bss = obj.map('.bss').lookup(Buffer.alloc(4))!;
  return Number(bss.readBigUInt64LE(0));
}

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

describe('RingBufferConsumer', () => {
  it('delivers 1,000,000 records from the event loop in batches, in order, none lost', async () => {
    const perRun = 10_000;
    const repeat = 10; // 100,000 records (1.6 MB) per testRun call; the ring holds 4 MB
    const rounds = 10;
    const obj = loadRing(perRun);
    let batches = 0;
    let largestBatch = 0;
    let expectedSeq = 0n;
    let outOfOrder = 0;
    const consumer = new RingBufferConsumer(obj.map('events'), (records: RingRecords) => {
      batches++;
      largestBatch = Math.max(largestBatch, records.count);
      expect(records.offsets).toHaveLength(records.count + 1);
      for (let i = 0; i < records.count; i++) {
        const rec = records.data.subarray(records.offsets[i], records.offsets[i + 1]);
        if (rec.length !== 8 || rec.readBigUInt64LE(0) !== expectedSeq) outOfOrder++;
        expectedSeq++;
      }
    }, { lostCounter: obj.map('lost') });
    cleanups.push(() => consumer.close());

    for (let round = 1; round <= rounds; round++) {
      run(obj, repeat);
      // no drain() here: delivery must come from the uv_poll on the ring's epoll fd
      await waitFor(() => consumer.delivered === round * perRun * repeat, `round ${round}`);
    }
    const total = rounds * perRun * repeat;
    expect(total).toBeGreaterThanOrEqual(1_000_000);
    expect(consumer.delivered).toBe(total);
    expect(Number(expectedSeq)).toBe(total);
    expect(outOfOrder).toBe(0);
    expect(consumer.lost()).toBe(0);
    expect(produced(obj)).toBe(total);
    expect(consumer.batches).toBe(batches);
    // one JS call per drained batch, never per record
    expect(batches).toBeLessThanOrEqual(total / 1000);
    expect(largestBatch).toBeLessThanOrEqual(16_384);
    console.log(`ring buffer: ${total} records in ${batches} batches (largest ${largestBatch})`);
  });

  it('overload: a small ring loses records, and delivered + lost == produced', () => {
    const perRun = 5000;
    const obj = loadRing(perRun, 4096); // one page: ~256 records of 16 bytes fit
    let delivered = 0;
    const consumer = new RingBufferConsumer(obj.map('events'), (r) => {
      delivered += r.count;
    }, { lostCounter: obj.map('lost') });
    cleanups.push(() => consumer.close());

    run(obj, 2); // nobody consumes while the program runs: the ring fills up
    expect(consumer.drain()).toBe(delivered);
    const lost = consumer.lost();
    expect(delivered).toBeGreaterThan(0);
    expect(lost).toBeGreaterThan(0);
    expect(produced(obj)).toBe(2 * perRun);
    expect(delivered + lost).toBe(2 * perRun);
    expect(consumer.delivered).toBe(delivered);
  });

  it('maxBatch caps records per call; drain() returns the count synchronously', () => {
    const obj = loadRing(1000);
    const sizes: number[] = [];
    const consumer = new RingBufferConsumer(obj.map('events'), (r) => {
      sizes.push(r.count);
      expect([...r].length).toBe(r.count);
      expect(r.get(r.count - 1).readBigUInt64LE(0)).toBeGreaterThan(0n);
    }, { maxBatch: 100 });
    cleanups.push(() => consumer.close());
    run(obj);
    expect(consumer.drain()).toBe(1000);
    expect(sizes).toEqual(Array(10).fill(100));
    expect(consumer.drain()).toBe(0);
    expect(consumer.lost()).toBe(0); // no lostCounter given
  });

  it('close is idempotent and allowed inside onBatch; a closed consumer refuses drain()', () => {
    const obj = loadRing(300);
    let calls = 0;
    const consumer: RingBufferConsumer = new RingBufferConsumer(obj.map('events'), () => {
      calls++;
      consumer.close();
    }, { maxBatch: 100 });
    run(obj);
    consumer.drain();
    expect(calls).toBe(1);
    expect(consumer.closed).toBe(true);
    consumer.close();
    const err = (() => {
      try {
        consumer.drain();
      } catch (e) {
        return e as BpfError;
      }
      throw new Error('drain after close did not throw');
    })();
    expect(err.code).toBe('EBADF');
  });

  it('an exception thrown by onBatch propagates out of drain()', () => {
    const obj = loadRing(10);
    const consumer = new RingBufferConsumer(obj.map('events'), () => {
      throw new Error('consumer bug');
    });
    cleanups.push(() => consumer.close());
    run(obj);
    expect(() => consumer.drain()).toThrow('consumer bug');
  });

  it('rejects maps that are not ring buffers and malformed lost counters', () => {
    const hash = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1 });
    cleanups.push(() => hash.close());
    expect(() => new RingBufferConsumer(hash, () => {})).toThrow(/not a ringbuf/);
    const obj = loadRing(1);
    expect(() => new RingBufferConsumer(obj.map('events'), () => {}, { lostCounter: hash })).toThrow(/lostCounter/);
    expect(() => new RingBufferConsumer(obj.map('events'), () => {}, { maxBatch: 0 })).toThrow(RangeError);
  });
});
