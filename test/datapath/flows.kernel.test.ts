// Backend selection: flow table, backend-set changes, draining, client persistence, all-ports
// services, seed determinism and the Maglev distribution — all observed on real packets through
// BPF_PROG_TEST_RUN.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatapathBackend, LbDatapath } from '../../lb/datapath/index.js';
import { CLIENT_MAC, IF_MAC, configure, loadDatapath, runFrame } from './harness.js';
import { ETH_P_IP, ETH_P_IPV6, PROTO_TCP, PROTO_UDP, ether, ipv4, ipv6, tcp, udp } from '../lab/packets.js';

const VIP = '10.0.0.10';
const L2 = { dst: IF_MAC, src: CLIENT_MAC };

const TCP_SYN = 0x02;
const TCP_ACK = 0x10;

/** A TCP segment of a flow; ACK (established) unless told otherwise — a SYN of an idle entry takes
 * Maglev's choice, see the "new connections" test. */
function tcpFrame(client: string, sport: number, dst = VIP, dport = 80, flags = TCP_ACK): Buffer {
  return ether(L2, ETH_P_IP, ipv4({ src: client, dst, proto: PROTO_TCP }, tcp({ src: client, dst, sport, dport, flags })));
}

/** The outer destination (backend) of an encapsulated IPv4-outer frame. */
function outerDst(frame: Buffer): string {
  return [...frame.subarray(14 + 16, 14 + 20)].join('.');
}

function send(dp: LbDatapath, client: string, sport: number, dst = VIP, dport = 80): string {
  const r = dp.testRun(tcpFrame(client, sport, dst, dport));
  if (r.verdict !== 'tx') throw new Error(`expected tx for ${client}:${sport} → ${dst}:${dport}, got ${r.verdict}`);
  return outerDst(r.frame);
}

const clientOf = (i: number) => `198.51.${100 + (i >> 8)}.${i & 0xff}`;
const backends = (n: number, weight = 1): DatapathBackend[] =>
  Array.from({ length: n }, (_, i) => ({ id: 100 + i, address: `10.1.0.${i + 1}`, weight }));

describe('flow table', () => {
  let dp: LbDatapath;
  beforeAll(() => {
    // Every entry counts as idle for a SYN here (synTakeoverIdleMs 0); test/datapath/hardening
    // covers the idle time itself and a SYN against a live entry.
    dp = loadDatapath({ flowTableSize: 16384, synTakeoverIdleMs: 0 });
    configure(dp);
    dp.upsertService({ id: 1, vip: VIP, port: 80, protocol: 'tcp' });
    dp.setBackends(1, backends(4));
  });
  afterAll(() => dp?.close());

  it('new connections (SYN) take the Maglev choice when the 5-tuple has an idle entry (reused client port)', () => {
    const t = { src: '192.0.2.77', dst: VIP, sport: 4242, dport: 80, protocol: 'tcp' as const };
    const other = backends(4)[2]!;
    const only = (id: number) =>
      backends(4).map((b) => (b.id === id ? b : { ...b, weight: 0, state: 'draining' as const }));
    // An earlier connection on this 5-tuple was placed on `other` (the only active backend then) …
    dp.setBackends(1, only(other.id));
    expect(send(dp, t.src, t.sport)).toBe(other.address);
    // … which now drains. Mid-connection segments stay on it …
    dp.setBackends(1, backends(4).map((b) => (b.id === other.id ? { ...b, weight: 0, state: 'draining' as const } : b)));
    expect(send(dp, t.src, t.sport)).toBe(other.address);
    // … but a SYN on the same 5-tuple opens a new connection: Maglev's choice, and the entry follows.
    const syn = runFrame(dp, tcpFrame(t.src, t.sport, VIP, 80, TCP_SYN));
    const chosen = dp.placement(t)!.backendId;
    expect(chosen).not.toBe(other.id);
    expect(outerDst(syn.frame)).toBe(backends(4).find((b) => b.id === chosen)!.address);
    expect(syn.delta.global).toMatchObject({ 'flow.miss': 1, 'flow.new': 1 });
    expect(dp.lookupFlow(t)!.backendId).toBe(chosen);
    expect(send(dp, t.src, t.sport)).toBe(backends(4).find((b) => b.id === chosen)!.address);
    dp.setBackends(1, backends(4));
    dp.clearFlows();
  });

  it('the same 5-tuple: first a miss that creates an entry, then hits on the same backend', () => {
    const count0 = dp.flowCount();
    const first = runFrame(dp, tcpFrame('192.0.2.1', 1111));
    expect(first.delta.global).toMatchObject({ 'flow.miss': 1, 'flow.new': 1 });
    expect(first.delta.global['flow.hit']).toBeUndefined();
    expect(dp.flowCount()).toBe(count0 + 1);
    const entry = dp.lookupFlow({ src: '192.0.2.1', dst: VIP, sport: 1111, dport: 80, protocol: 'tcp' })!;
    expect(entry.serviceId).toBe(1);
    for (let i = 0; i < 5; i++) {
      const again = runFrame(dp, tcpFrame('192.0.2.1', 1111));
      expect(again.delta.global).toMatchObject({ 'flow.hit': 1 });
      expect(again.delta.global['flow.miss']).toBeUndefined();
      expect(outerDst(again.frame)).toBe(outerDst(first.frame));
      expect(again.delta.backends.get(entry.backendId)).toBe(1);
    }
    expect(dp.flowCount()).toBe(count0 + 1);
    const later = dp.lookupFlow({ src: '192.0.2.1', dst: VIP, sport: 1111, dport: 80, protocol: 'tcp' })!;
    expect(later.lastSeenNs).toBeGreaterThan(entry.lastSeenNs);
  });

  it('flows stay on their backend while it is present (added backends, weight change, draining), and move only when it is removed', () => {
    const n = 300;
    const placed = new Map<number, string>();
    for (let i = 0; i < n; i++) placed.set(i, send(dp, clientOf(i), 30000));

    const sameAsBefore = () => {
      const before = dp.readCounters();
      let moved = 0;
      for (let i = 0; i < n; i++) if (send(dp, clientOf(i), 30000) !== placed.get(i)) moved++;
      const after = dp.readCounters();
      return { moved, hits: after.flow.hit.packets - before.flow.hit.packets, reselect: after.flow.reselect.packets - before.flow.reselect.packets };
    };

    // Two more backends and a weight change: the Maglev table changes a lot…
    const bigger = [...backends(4).map((b, i) => ({ ...b, weight: i === 0 ? 3 : 1 })), ...backends(6).slice(4)];
    dp.setBackends(1, bigger);
    let changedPlacements = 0;
    for (let i = 0; i < n; i++) {
      const p = dp.placement({ src: clientOf(i), dst: VIP, sport: 30000, dport: 80, protocol: 'tcp' })!;
      if (`10.1.0.${p.backendId! - 99}` !== placed.get(i)) changedPlacements++;
    }
    expect(changedPlacements).toBeGreaterThan(n / 10);
    // …but established flows do not move.
    expect(sameAsBefore()).toEqual({ moved: 0, hits: n, reselect: 0 });

    // Draining backend 10.1.0.2 (and weight 0 for 10.1.0.3): still serves its flows, gets no new ones.
    dp.setBackends(
      1,
      bigger.map((b) => (b.address === '10.1.0.2' ? { ...b, state: 'draining' as const } : b.address === '10.1.0.3' ? { ...b, weight: 0 } : b)),
    );
    expect(sameAsBefore()).toEqual({ moved: 0, hits: n, reselect: 0 });
    for (let i = 0; i < 400; i++) {
      expect(['10.1.0.2', '10.1.0.3']).not.toContain(send(dp, clientOf(i), 31000));
    }

    // Removing 10.1.0.2: exactly its flows are placed again, onto remaining backends.
    const onRemoved = [...placed.values()].filter((b) => b === '10.1.0.2').length;
    expect(onRemoved).toBeGreaterThan(0);
    dp.setBackends(1, bigger.filter((b) => b.address !== '10.1.0.2'));
    const before = dp.readCounters();
    for (let i = 0; i < n; i++) {
      const now = send(dp, clientOf(i), 30000);
      if (placed.get(i) === '10.1.0.2') {
        expect(now).not.toBe('10.1.0.2');
        const p = dp.placement({ src: clientOf(i), dst: VIP, sport: 30000, dport: 80, protocol: 'tcp' })!;
        expect(now).toBe(`10.1.0.${p.backendId! - 99}`);
      } else {
        expect(now).toBe(placed.get(i));
      }
    }
    const after = dp.readCounters();
    expect(after.flow.reselect.packets - before.flow.reselect.packets).toBe(onRemoved);
    // The scrape path: a service's total from a backend read the caller made equals
    // idCounters('services') (which includes what the removed backend had counted), also when the
    // caller's read holds only some of the backends.
    const sids = Uint32Array.of(1);
    const all = Uint32Array.from(bigger.filter((b) => b.address !== '10.1.0.2').map((b) => b.id));
    const expected = dp.idCounters('services', sids);
    expect(expected[0]).toBeGreaterThan(0);
    expect(dp.serviceCountersWith(sids, all, dp.idCounters('backends', all))).toEqual(expected);
    const part = all.subarray(0, 2);
    expect(dp.serviceCountersWith(sids, part, dp.idCounters('backends', part))).toEqual(expected);
    // ... and when the caller's order is not the datapath's (the positions are then looked up).
    const reversed = all.slice().reverse();
    expect(dp.serviceCountersWith(sids, reversed, dp.idCounters('backends', reversed))).toEqual(expected);
    // After re-selection the entry points at the new backend: hits again.
    expect(sameAsBefore().reselect).toBe(0);
  });

  it('with no active backend left, established flows on draining backends continue and new flows are dropped', () => {
    dp.setBackends(1, backends(2));
    const a = send(dp, '192.0.2.77', 7777);
    dp.setBackends(1, backends(2).map((b) => ({ ...b, state: 'draining' as const })));
    expect(dp.maglevTable(1)).toBeUndefined();
    expect(send(dp, '192.0.2.77', 7777)).toBe(a);
    const r = runFrame(dp, tcpFrame('192.0.2.78', 7778));
    expect(r.verdict).toBe('drop');
    expect(r.delta.global['drop.noBackend']).toBe(1);
    dp.setBackends(1, backends(4));
  });
});

describe('client persistence (sourceHash)', () => {
  let dp: LbDatapath;
  beforeAll(() => {
    dp = loadDatapath();
    configure(dp);
    dp.upsertService({ id: 5, vip: '10.0.0.50', port: 443, protocol: 'tcp', sourceHash: true });
    dp.setBackends(5, backends(5).map((b) => ({ ...b, id: b.id + 100 })));
  });
  afterAll(() => dp?.close());

  it('every source port of a client goes to the same backend; clients spread; one flow entry per client', () => {
    const perClient = new Map<string, string>();
    const count0 = dp.flowCount();
    for (let c = 0; c < 40; c++) {
      const client = clientOf(c);
      const seen = new Set<string>();
      for (let sport = 20000; sport < 20010; sport++) seen.add(send(dp, client, sport, '10.0.0.50', 443));
      expect(seen.size).toBe(1);
      perClient.set(client, [...seen][0]!);
    }
    expect(new Set(perClient.values()).size).toBeGreaterThan(2);
    expect(dp.flowCount()).toBe(count0 + 40);
    const e = dp.lookupFlow({ src: clientOf(3), dst: '10.0.0.50', sport: 1, dport: 443, protocol: 'tcp' })!;
    expect(`10.1.0.${e.backendId - 199}`).toBe(perClient.get(clientOf(3)));

    // The client keeps its backend for new connections across a backend-set change.
    dp.setBackends(5, backends(8).map((b) => ({ ...b, id: b.id + 100 })));
    for (const [client, backend] of perClient) expect(send(dp, client, 29999, '10.0.0.50', 443)).toBe(backend);
  });
});

describe('all-ports services', () => {
  let dp: LbDatapath;
  beforeAll(() => {
    dp = loadDatapath();
    configure(dp);
    dp.upsertService({ id: 1, vip: '10.0.0.60', port: 0, protocol: 'tcp' });
    dp.setBackends(1, [{ id: 1, address: '10.1.0.1', weight: 1 }]);
    dp.upsertService({ id: 2, vip: '10.0.0.60', port: 443, protocol: 'tcp' });
    dp.setBackends(2, [{ id: 2, address: '10.1.0.2', weight: 1 }]);
    dp.upsertService({ id: 3, vip: 'fd00:60::1', port: 0, protocol: 'udp' });
    dp.setBackends(3, [{ id: 3, address: 'fd00:1::3', weight: 1 }]);
  });
  afterAll(() => dp?.close());

  it('takes every port of the VIP; an exact-port service on the same VIP wins for its port', () => {
    for (const port of [1, 22, 80, 8080, 65535]) expect(send(dp, '192.0.2.9', 1000, '10.0.0.60', port)).toBe('10.1.0.1');
    expect(send(dp, '192.0.2.9', 1000, '10.0.0.60', 443)).toBe('10.1.0.2');
    const r = runFrame(
      dp,
      ether(L2, ETH_P_IP, ipv4({ src: '192.0.2.9', dst: '10.0.0.60', proto: PROTO_UDP }, udp({ src: '192.0.2.9', dst: '10.0.0.60', sport: 1, dport: 53 }))),
    );
    expect(r.verdict).toBe('pass'); // all-ports TCP does not take UDP
    expect(r.delta.global['pass.noService']).toBe(1);
    const r6 = runFrame(
      dp,
      ether(L2, ETH_P_IPV6, ipv6({ src: '2001:db8::9', dst: 'fd00:60::1', nextHeader: PROTO_UDP }, udp({ src: '2001:db8::9', dst: 'fd00:60::1', sport: 9, dport: 12345 }))),
    );
    expect(r6.verdict).toBe('tx');
    expect(r6.delta.services.get(3)).toBe(1);
  });
});

describe('seed determinism and distribution', () => {
  const weighted: DatapathBackend[] = [
    { id: 1, address: '10.1.0.1', weight: 1 },
    { id: 2, address: '10.1.0.2', weight: 1 },
    { id: 3, address: '10.1.0.3', weight: 2 },
    { id: 4, address: '10.1.0.4', weight: 4 },
  ];
  const make = (seed: number, ids: number[] = [1, 2, 3, 4]) => {
    const dp = loadDatapath({ seed, stateless: true, tableSize: 4093 });
    configure(dp);
    dp.upsertService({ id: 7, vip: VIP, port: 80, protocol: 'tcp' });
    dp.setBackends(7, weighted.map((b, i) => ({ ...b, id: ids[i]! })));
    return dp;
  };

  it('two separately loaded datapaths with the same seed send every flow to the same backend; another seed differs', () => {
    const a = make(1234);
    const b = make(1234, [40, 30, 20, 10]); // other ids: placement follows addresses, not ids
    const c = make(99);
    try {
      let differ = 0;
      for (let i = 0; i < 500; i++) {
        const client = clientOf(i);
        const sport = 10000 + i;
        const ba = send(a, client, sport);
        expect(send(b, client, sport)).toBe(ba);
        if (send(c, client, sport) !== ba) differ++;
      }
      expect(differ).toBeGreaterThan(100);
    } finally {
      a.close();
      b.close();
      c.close();
    }
  });

  it('stateless mode: no flow-table events; flows follow the table exactly; shares follow the weights', () => {
    const dp = make(777);
    try {
      const table = dp.maglevTable(7)!;
      expect(table.length).toBe(4093);
      const slots = new Map<number, number>();
      for (const id of table) slots.set(id, (slots.get(id) ?? 0) + 1);
      const n = 8000;
      const hits = new Map<string, number>();
      const before = dp.readCounters();
      for (let i = 0; i < n; i++) {
        const client = clientOf(i % 2000);
        const sport = 1024 + i;
        const backend = send(dp, client, sport);
        hits.set(backend, (hits.get(backend) ?? 0) + 1);
        if (i % 97 === 0) {
          const p = dp.placement({ src: client, dst: VIP, sport, dport: 80, protocol: 'tcp' })!;
          expect(backend).toBe(`10.1.0.${p.backendId}`);
          expect(table[p.slot]).toBe(p.backendId);
        }
      }
      const after = dp.readCounters();
      expect(after.flow.miss.packets + after.flow.hit.packets).toBe(before.flow.miss.packets + before.flow.hit.packets);
      expect(dp.flowCount()).toBe(0);
      for (const b of weighted) {
        const expectedShare = slots.get(b.id)! / table.length;
        expect(Math.abs(expectedShare - b.weight / 8)).toBeLessThan(0.01);
        expect(Math.abs(hits.get(b.address)! / n - expectedShare)).toBeLessThan(0.03);
      }
    } finally {
      dp.close();
    }
  });
});
