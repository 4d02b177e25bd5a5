// libbpf-ts resource release: explicit close() returns every fd (10,000 maps and objects, plus
// the other handle kinds), and handles dropped without close() are released by the N-API
// finalizer after GC (checked in a child process run with --expose-gc).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfLink, BpfMap, BpfObject, BpfProgram, RingBufferConsumer } from '../../bpf/libbpf-ts/index.js';
import { bpfObjectPath } from '../../bpf/objects.js';
import { childScripts, runChild } from './child.js';
import { makePinDir, openFdCount, removePinDir } from './helpers.js';

let pinDir: string | undefined;

beforeAll(() => {
  pinDir = makePinDir('leak');
});

afterAll(() => {
  if (pinDir) removePinDir(pinDir);
});

describe('explicit close releases every fd', () => {
  it('10,000 maps created and closed', () => {
    const baseline = openFdCount();
    for (let i = 0; i < 10_000; i++) {
      const m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1 });
      m.close();
      m.close(); // idempotent: must not close someone else's fd number
    }
    expect(openFdCount()).toBe(baseline);
  });

  it('10,000 object files opened and closed, 1,000 of them loaded with program and map handles', () => {
    const baseline = openFdCount();
    for (let i = 0; i < 10_000; i++) {
      const obj = BpfObject.open(bpfObjectPath('ts_basic'));
      if (i % 10 === 0) {
        obj.load();
        obj.program('xdp_basic');
        obj.map('slots');
        obj.map('runs');
      }
      obj.close();
    }
    expect(openFdCount()).toBe(baseline);
  });

  it('failed loads, pins, fromId, links and ring consumers release theirs too', () => {
    const baseline = openFdCount();
    for (let i = 0; i < 100; i++) {
      const bad = BpfObject.open(bpfObjectPath('ts_bad'));
      expect(() => bad.load()).toThrow();
      bad.close();
    }
    const obj = BpfObject.open(bpfObjectPath('ts_ring'));
    obj.load();
    const events = obj.map('events');
    for (let i = 0; i < 500; i++) {
      events.pin(`${pinDir}/events`);
      const again = BpfMap.openPinned(`${pinDir}/events`);
      const byId = BpfMap.fromId(events.id);
      const prog = BpfProgram.fromId(obj.program('xdp_ring').id);
      const consumer = new RingBufferConsumer(again, () => {});
      consumer.close();
      again.unpin(`${pinDir}/events`);
      again.close();
      byId.close();
      prog.close();
    }
    obj.close();
    expect(openFdCount()).toBe(baseline);
  });

  it('an error in the middle of an operation leaks nothing (missing pin, link on a bad ifindex)', () => {
    const obj = BpfObject.open(bpfObjectPath('xdp_pass'));
    obj.load();
    const prog = obj.program('xdp_pass');
    const baseline = openFdCount();
    for (let i = 0; i < 200; i++) {
      expect(() => BpfMap.openPinned(`${pinDir}/absent`)).toThrow();
      expect(() => BpfLink.attachXdp(0x7ffffff0, prog, { mode: 'generic' })).toThrow();
      expect(() => BpfProgram.openPinned('/proc/self/status')).toThrow();
    }
    expect(openFdCount()).toBe(baseline);
    obj.close();
  });
});

describe('finalizer fallback', () => {
  it('maps and loaded objects dropped without close() are released after GC (child with --expose-gc)', () => {
    const count = 2000;
    const r = runChild<{ baseline: number; afterCreate: number; afterGc: number }>(
      childScripts.script('finalizer-child'), [bpfObjectPath('ts_basic'), String(count)], ['--expose-gc']);
    // every map holds an fd; every loaded object at least 2 maps + a program + our 2 handles
    expect(r.afterCreate - r.baseline).toBeGreaterThanOrEqual(count + (count / 10) * 5);
    expect(r.afterGc).toBe(r.baseline);
  });
});
