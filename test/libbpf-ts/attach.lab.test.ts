// libbpf-ts attachment on real interfaces: XDP (native and generic, replace-expected semantics,
// bpf_link) and tc clsact ingress, on a veth pair between two namespaces this file creates and
// always removes. Frames are real: UDP datagrams sent from one namespace to the other.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BpfError, BpfLink, BpfObject, ifNameToIndex, tcAttach, tcDestroyClsact, tcDetach, tcQuery, withNetns,
  xdpAttach, xdpDetach, xdpQuery, type BpfProgram, type XdpMode,
} from '../../bpf/libbpf-ts/index.js';
import { bpfObjectPath } from '../../bpf/objects.js';
import { createVethPair, destroyVethPair, sendUdp, type VethPair } from './helpers.js';

let pair: VethPair;
let counting: BpfObject;
let passing: BpfObject;
let xdpCount: BpfProgram;
let xdpPass: BpfProgram;
let tcCount: BpfProgram;
let ifindexB: number;

const inB = <T>(fn: () => T): T => withNetns(pair.nsB, fn);

function counter(slot: number): bigint {
  const key = Buffer.alloc(4);
  key.writeUInt32LE(slot);
  return counting.map('counters').lookup(key)!.readBigUInt64LE(0);
}

/** Sends datagrams until the counter moves (the first ones may wait for ARP); returns the increase. */
async function trafficSeenBy(slot: number): Promise<bigint> {
  const before = counter(slot);
  for (let i = 0; i < 20 && counter(slot) === before; i++) {
    sendUdp(pair, 3);
    await new Promise((r) => setTimeout(r, 50));
  }
  return counter(slot) - before;
}

function captureError(fn: () => unknown): BpfError {
  try {
    fn();
  } catch (e) {
    return e as BpfError;
  }
  throw new Error('expected an exception');
}

beforeAll(() => {
  pair = createVethPair('att');
  counting = BpfObject.open(bpfObjectPath('ts_count'));
  counting.load();
  xdpCount = counting.program('xdp_count');
  tcCount = counting.program('tc_count');
  passing = BpfObject.open(bpfObjectPath('xdp_pass'));
  passing.load();
  xdpPass = passing.program('xdp_pass');
  ifindexB = inB(() => ifNameToIndex(pair.ifB));
});

afterAll(() => {
  // Deleting the namespaces removes the veths and with them every attachment made here.
  if (pair) destroyVethPair(pair);
  counting?.close();
  passing?.close();
});

describe('namespaces and interfaces', () => {
  it('withNetns runs fn inside the namespace and returns to the original one, also on throw', () => {
    expect(() => ifNameToIndex(pair.ifB)).toThrow(/interface "veth-b": ENODEV/);
    expect(inB(() => ifNameToIndex(pair.ifB))).toBeGreaterThan(0);
    expect(() => inB(() => {
      throw new Error('inside');
    })).toThrow('inside');
    expect(() => ifNameToIndex(pair.ifB)).toThrow(BpfError); // back in the test's namespace
    expect(() => withNetns('/run/netns/does-not-exist-lbts', () => 1)).toThrow(/ENOENT/);
    expect(() => inB(() => Promise.resolve(1))).toThrow(/Promise/);
  });
});

describe('XDP via netlink', () => {
  for (const mode of ['generic', 'native'] as XdpMode[]) {
    it(`attaches in ${mode} mode, sees real frames, query reports it, detach removes it`, async () => {
      inB(() => xdpAttach(ifindexB, xdpCount, { mode }));
      try {
        expect(inB(() => xdpQuery(ifindexB))).toMatchObject({ progId: xdpCount.id, mode });
        expect(await trafficSeenBy(0)).toBeGreaterThan(0n);
      } finally {
        inB(() => xdpDetach(ifindexB, { mode }));
      }
      expect(inB(() => xdpQuery(ifindexB))).toMatchObject({ progId: 0, mode: 'none' });
    });
  }

  it('replace with the wrong expected program fails and leaves the old program attached', () => {
    inB(() => xdpAttach(ifindexB, xdpCount, { mode: 'native' }));
    try {
      // expected = xdp_pass (loaded, but not the attached one)
      const err = captureError(() => inB(() => xdpAttach(ifindexB, xdpPass, { mode: 'native', replaceProgId: xdpPass.id })));
      expect(err).toBeInstanceOf(BpfError);
      expect(err.code).toBe('EEXIST');
      expect(err.message).toMatch(/xdp attach program "xdp_pass" to ifindex \d+/);
      expect(inB(() => xdpQuery(ifindexB)).progId).toBe(xdpCount.id);

      // noReplace refuses while something is attached
      expect(captureError(() => inB(() => xdpAttach(ifindexB, xdpPass, { mode: 'native', noReplace: true }))).code).toBe('EBUSY');
      expect(inB(() => xdpQuery(ifindexB)).progId).toBe(xdpCount.id);

      // detach guarded by the wrong expected program: refused, still attached
      expect(captureError(() => inB(() => xdpDetach(ifindexB, { mode: 'native', expectedProgId: xdpPass.id }))).code).toBe('EEXIST');
      expect(inB(() => xdpQuery(ifindexB)).progId).toBe(xdpCount.id);

      // the right expected program: replaced atomically
      inB(() => xdpAttach(ifindexB, xdpPass, { mode: 'native', replaceProgId: xdpCount.id }));
      expect(inB(() => xdpQuery(ifindexB))).toMatchObject({ progId: xdpPass.id, mode: 'native' });
      inB(() => xdpDetach(ifindexB, { mode: 'native', expectedProgId: xdpPass.id }));
      expect(inB(() => xdpQuery(ifindexB)).progId).toBe(0);
    } finally {
      inB(() => xdpDetach(ifindexB, { mode: 'native' }));
    }
  });

  it('an expected program id that no longer exists is an ENOENT naming the id', () => {
    const err = captureError(() => inB(() => xdpAttach(ifindexB, xdpPass, { mode: 'native', replaceProgId: 0x7ffffff0 })));
    expect(err.code).toBe('ENOENT');
    expect(err.message).toContain(`expected program id ${0x7ffffff0}`);
    expect(inB(() => xdpQuery(ifindexB)).progId).toBe(0);
  });

  it('bad arguments are TypeErrors', () => {
    expect(() => xdpAttach(ifindexB, xdpPass, { mode: 'fast' as XdpMode })).toThrow(TypeError);
    expect(() => xdpAttach(-1, xdpPass, { mode: 'native' })).toThrow(RangeError);
  });
});

describe('XDP via bpf_link', () => {
  it('attaches, updates atomically, blocks netlink replacement, detaches', async () => {
    const link = inB(() => BpfLink.attachXdp(ifindexB, xdpCount, { mode: 'native' }));
    try {
      expect(link.id).toBeGreaterThan(0);
      expect(link.info()).toEqual({ progId: xdpCount.id, ifindex: ifindexB });
      expect(inB(() => xdpQuery(ifindexB)).progId).toBe(xdpCount.id);
      expect(await trafficSeenBy(0)).toBeGreaterThan(0n);
      expect(captureError(() => inB(() => xdpAttach(ifindexB, xdpPass, { mode: 'native' }))).code).toBe('EBUSY');
      expect(captureError(() => link.update(xdpPass, { expected: xdpPass })).code).toBe('EPERM');
      link.update(xdpPass, { expected: xdpCount });
      expect(inB(() => xdpQuery(ifindexB)).progId).toBe(xdpPass.id);
      link.detach();
      expect(inB(() => xdpQuery(ifindexB)).progId).toBe(0);
    } finally {
      link.close();
    }
  });

  it('closing the only link fd detaches', () => {
    const link = inB(() => BpfLink.attachXdp(ifindexB, xdpPass, { mode: 'generic' }));
    expect(inB(() => xdpQuery(ifindexB))).toMatchObject({ progId: xdpPass.id, mode: 'generic' });
    link.close();
    link.close();
    expect(inB(() => xdpQuery(ifindexB)).progId).toBe(0);
  });
});

describe('tc clsact', () => {
  it('ingress attach, query, real frames counted, detach', async () => {
    const hook = { direction: 'ingress' as const };
    expect(inB(() => tcQuery(ifindexB, hook))).toBeUndefined(); // no clsact yet
    try {
      expect(inB(() => tcAttach(ifindexB, tcCount, hook))).toBe(tcCount.id);
      expect(inB(() => tcQuery(ifindexB, hook))).toEqual({ progId: tcCount.id });
      expect(inB(() => tcQuery(ifindexB, { direction: 'egress' }))).toBeUndefined();
      expect(await trafficSeenBy(1)).toBeGreaterThan(0n);
      // attach at the same handle/priority replaces
      inB(() => tcAttach(ifindexB, tcCount, hook));
      expect(inB(() => tcQuery(ifindexB, hook))).toEqual({ progId: tcCount.id });
      inB(() => tcDetach(ifindexB, hook));
      expect(inB(() => tcQuery(ifindexB, hook))).toBeUndefined();
      expect(captureError(() => inB(() => tcDetach(ifindexB, hook))).code).toBe('ENOENT');
    } finally {
      inB(() => tcDestroyClsact(ifindexB));
    }
    expect(inB(() => tcDestroyClsact(ifindexB))).toBe(false);
  });

  it('rejects a bad direction before touching the interface', () => {
    expect(() => tcAttach(ifindexB, tcCount, { direction: 'sideways' as 'ingress' })).toThrow(/direction/);
    expect(() => tcAttach(ifindexB, tcCount, { direction: 'ingress', priority: 70000 })).toThrow(RangeError);
  });
});
