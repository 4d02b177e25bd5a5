// libbpf-ts pinning: a first process (this test) loads, attaches XDP through a bpf_link and pins
// map, program and link, then lets go of every fd; a SECOND node process adopts the pins without
// detaching anything. The child is test/libbpf-ts/pin-child.ts, run from source (see child.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfError, BpfLink, BpfMap, BpfObject, BpfProgram, ifNameToIndex, withNetns, xdpQuery } from '../../bpf/libbpf-ts/index.js';
import { bpfObjectPath } from '../../bpf/objects.js';
import { childScripts, runChild } from './child.js';
import { createVethPair, destroyVethPair, makePinDir, removePinDir, type VethPair } from './helpers.js';

let pinDir: string | undefined;
let pair: VethPair | undefined;

beforeAll(() => {
  pinDir = makePinDir('pin');
  pair = createVethPair('pin');
});

afterAll(() => {
  if (pinDir) removePinDir(pinDir);
  if (pair) destroyVethPair(pair);
});

const slot1 = (): Buffer => {
  const k = Buffer.alloc(4);
  k.writeUInt32LE(1);
  return k;
};

describe('pins', () => {
  it('a second process adopts pinned map, program and XDP link; the datapath stays attached throughout', () => {
    const dir = pinDir!;
    const inB = <T>(fn: () => T): T => withNetns(pair!.nsB, fn);
    const ifindex = inB(() => ifNameToIndex(pair!.ifB));

    // "daemon #1": load, attach, pin, exit (close every fd)
    const obj = BpfObject.open(bpfObjectPath('ts_count'));
    obj.load();
    const prog = obj.program('xdp_count');
    const map = obj.map('counters');
    const value = Buffer.alloc(8);
    value.writeBigUInt64LE(12345n);
    map.update(slot1(), value);
    map.pin(`${dir}/counters`);
    prog.pin(`${dir}/xdp_count`);
    const link = inB(() => BpfLink.attachXdp(ifindex, prog, { mode: 'native' }));
    link.pin(`${dir}/link`);
    const ids = { map: map.id, prog: prog.id, link: link.id };
    link.close();
    obj.close();
    expect(inB(() => xdpQuery(ifindex).progId)).toBe(ids.prog); // the pin holds the link

    // "daemon #2" in another process
    const child = runChild<{
      seen: string; map: { id: number; name: string; type: string }; prog: { id: number; name: string; type: string };
      link: { id: number; progId: number; ifindex: number }; wrongKind: string;
    }>(childScripts.script('pin-child'), [dir]);
    expect(child.seen).toBe('12345');
    expect(child.map).toEqual({ id: ids.map, name: 'counters', type: 'array' });
    expect(child.prog).toEqual({ id: ids.prog, name: 'xdp_count', type: 'xdp' });
    expect(child.link).toEqual({ id: ids.link, progId: ids.prog, ifindex });
    expect(child.wrongKind).toMatch(/^EINVAL: open pinned program ".*\/counters": the pin is a map/);

    // the child's write is visible here, and XDP never went away
    const reopened = BpfMap.openPinned(`${dir}/counters`);
    expect(reopened.lookup(slot1())!.readBigUInt64LE(0)).toBe(54321n);
    expect(inB(() => xdpQuery(ifindex).progId)).toBe(ids.prog);

    // unpinning the link releases the last reference: XDP detaches
    const adopted = BpfLink.openPinned(`${dir}/link`);
    adopted.unpin(`${dir}/link`);
    expect(inB(() => xdpQuery(ifindex).progId)).toBe(ids.prog); // our fd still holds it
    adopted.close();
    expect(inB(() => xdpQuery(ifindex).progId)).toBe(0);

    reopened.unpin(`${dir}/counters`);
    reopened.close();
    BpfProgram.openPinned(`${dir}/xdp_count`).unpin(`${dir}/xdp_count`);
  });

  it('reuseMap: a fresh object load adopts a pinned map instead of creating a new one', () => {
    const dir = pinDir!;
    const first = BpfObject.open(bpfObjectPath('ts_basic'));
    first.load();
    first.map('slots').pin(`${dir}/slots`);
    const id = first.map('slots').id;
    first.close();

    const pinned = BpfMap.openPinned(`${dir}/slots`);
    const second = BpfObject.open(bpfObjectPath('ts_basic'));
    try {
      second.reuseMap('slots', pinned);
      second.load();
      expect(second.map('slots').id).toBe(id);
      const frame = Buffer.alloc(64);
      frame.writeUInt32LE(2, 8);
      second.program('xdp_basic').testRun({ data: frame });
      expect(pinned.lookup(Buffer.from([2, 0, 0, 0]))!.readUInt32LE(0)).toBe(3);
    } finally {
      second.close();
      pinned.unpin(`${dir}/slots`);
      pinned.close();
    }
  });

  it('errors name the path: missing pin, existing pin, unpin outside bpffs', () => {
    const dir = pinDir!;
    const err = (fn: () => unknown): BpfError => {
      try {
        fn();
      } catch (e) {
        return e as BpfError;
      }
      throw new Error('expected an exception');
    };
    expect(err(() => BpfMap.openPinned(`${dir}/missing`))).toMatchObject({ code: 'ENOENT', message: expect.stringContaining(`${dir}/missing`) });
    const m = BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 1, name: 'pinme' });
    try {
      m.pin(`${dir}/pinme`);
      expect(err(() => m.pin(`${dir}/pinme`))).toMatchObject({ code: 'EEXIST', message: expect.stringMatching(/pin map "pinme" at/) });
      expect(err(() => m.unpin('/tmp'))).toMatchObject({ code: 'EINVAL', message: expect.stringContaining('not on a bpf filesystem') });
      m.unpin(`${dir}/pinme`);
      expect(err(() => m.unpin(`${dir}/pinme`)).code).toBe('ENOENT');
    } finally {
      m.close();
    }
  });
});
