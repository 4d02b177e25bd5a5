// Closed to spoofing (issue #13, items 2 and 4), on real packets through BPF_PROG_TEST_RUN:
//  - ICMP too-big replies come from a per-CPU token bucket (burst, then a counted drop), never go
//    to a source no reply may go to, and the MTU check comes before the flow-table insert;
//  - a SYN replaces a flow entry only when the entry's backend is gone or the entry has been idle
//    (the live-connection version of this is test/e2e/spoofed-syn.lab.test.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatapathBackend, LbDatapath } from '../../lb/datapath/index.js';
import { CLIENT_MAC, IF_MAC, configure, loadDatapath, runFrame } from './harness.js';
import { ETH_P_IP, ETH_P_IPV6, PROTO_TCP, PROTO_UDP, ether, ipv4, ipv6, pattern, tcp, udp } from '../lab/packets.js';

const VIP4 = '10.0.0.10';
const VIP6 = '2001:db8::10';
const L2 = { dst: IF_MAC, src: CLIENT_MAC };
const TCP_SYN = 0x02;
const TCP_ACK = 0x10;

/** A DF IPv4 TCP segment too big for the IPIP tunnel at MTU 1500 (1490 + 20 > 1500). */
const tooBig4 = (src: string, sport = 40000) =>
  ether(L2, ETH_P_IP, ipv4({ src, dst: VIP4, proto: PROTO_TCP, df: true }, tcp({ src, dst: VIP4, sport, dport: 80, flags: TCP_ACK, payload: pattern(1450) })));
const tooBig6 = (src: string) =>
  ether(L2, ETH_P_IPV6, ipv6({ src, dst: VIP6, nextHeader: PROTO_UDP }, udp({ src, dst: VIP6, sport: 5353, dport: 53, payload: pattern(1440) })));
const segment = (src: string, sport: number, flags: number) =>
  ether(L2, ETH_P_IP, ipv4({ src, dst: VIP4, proto: PROTO_TCP }, tcp({ src, dst: VIP4, sport, dport: 80, flags })));
const outerDst = (frame: Buffer) => [...frame.subarray(14 + 16, 14 + 20)].join('.');

function withServices(dp: LbDatapath): void {
  configure(dp);
  dp.upsertService({ id: 1, vip: VIP4, port: 80, protocol: 'tcp' });
  dp.setBackends(1, [{ id: 1, address: '10.1.0.1', weight: 1 }]);
  dp.upsertService({ id: 2, vip: VIP6, port: 53, protocol: 'udp' });
  dp.setBackends(2, [{ id: 2, address: 'fd00:1::1', weight: 1 }]);
}

describe('ICMP too-big replies', () => {
  it('come from a per-CPU token bucket: the burst is answered, the rest dropped and counted', () => {
    const dp = loadDatapath({ icmpTooBigRate: 1, icmpTooBigBurst: 5 });
    try {
      withServices(dp);
      const before = dp.readCounters();
      // Back to back on one CPU (the bucket is per CPU): 5 replies, then the bucket is empty
      // (1 token per second refills far slower than these 12 calls take).
      const r = dp.program.testRunLoop({ data: tooBig4('198.51.100.7'), count: 12, expectRetval: 3 /* XDP_TX */, cpu: 0 });
      const after = dp.readCounters();
      expect(12 - r.mismatches).toBe(5);
      expect(after.tx.icmpFragNeeded.packets - before.tx.icmpFragNeeded.packets).toBe(5);
      expect(after.drop.icmpRateLimited.packets - before.drop.icmpRateLimited.packets).toBe(7);
    } finally {
      dp.close();
    }
  });

  it('never go to multicast, broadcast, unspecified, loopback, 0.0.0.0/8 or 240.0.0.0/4 sources (dropped, counted)', () => {
    const dp = loadDatapath();
    try {
      withServices(dp);
      for (const src of ['224.0.0.1', '239.255.255.250', '255.255.255.255', '0.0.0.0', '0.1.2.3', '127.0.0.1', '240.0.0.1']) {
        const r = runFrame(dp, tooBig4(src));
        expect({ src, verdict: r.verdict, counters: r.delta.global }).toMatchObject({ src, verdict: 'drop', counters: { 'drop.icmpBadSource': 1 } });
        expect(r.delta.global['tx.icmpFragNeeded']).toBeUndefined();
      }
      for (const src of ['ff02::1', 'ff05::2', '::', '::1']) {
        const r = runFrame(dp, tooBig6(src));
        expect({ src, verdict: r.verdict, counters: r.delta.global }).toMatchObject({ src, verdict: 'drop', counters: { 'drop.icmpBadSource': 1 } });
      }
      // A unicast client still gets its reply.
      expect(runFrame(dp, tooBig4('198.51.100.8')).delta.global).toMatchObject({ 'tx.icmpFragNeeded': 1 });
      expect(runFrame(dp, tooBig6('2001:db8:c::8')).delta.global).toMatchObject({ 'tx.icmp6PacketTooBig': 1 });
    } finally {
      dp.close();
    }
  });

  it('are decided before the flow-table insert: a too-big first packet leaves no flow entry', () => {
    const dp = loadDatapath();
    try {
      withServices(dp);
      const r = runFrame(dp, tooBig4('198.51.100.9', 41000));
      expect(r.delta.global).toMatchObject({ 'tx.icmpFragNeeded': 1 });
      expect(r.delta.global['flow.new']).toBeUndefined();
      expect(dp.lookupFlow({ src: '198.51.100.9', dst: VIP4, sport: 41000, dport: 80, protocol: 'tcp' })).toBeUndefined();
      expect(dp.flowCount()).toBe(0);
    } finally {
      dp.close();
    }
  });
});

describe('a SYN for a 5-tuple the flow table holds', () => {
  let dp: LbDatapath;
  const set: DatapathBackend[] = [
    { id: 1, address: '10.1.0.1', weight: 1 },
    { id: 2, address: '10.1.0.2', weight: 1 },
  ];
  const client = '198.51.100.20';
  const tuple = (sport: number) => ({ src: client, dst: VIP4, sport, dport: 80, protocol: 'tcp' as const });
  /** A source port whose flow Maglev places on backend `id` with both backends active. */
  const sportOn = (id: number) => {
    for (let p = 20000; ; p++) if (dp.placement(tuple(p))!.backendId === id) return p;
  };

  beforeAll(() => {
    dp = loadDatapath({ synTakeoverIdleMs: 300 });
    configure(dp);
    dp.upsertService({ id: 1, vip: VIP4, port: 80, protocol: 'tcp' });
  });
  afterAll(() => dp?.close());

  it('keeps the entry while its backend is active and it is not idle: a spoofed SYN cannot move a live flow', () => {
    dp.setBackends(1, set);
    const sport = sportOn(1);
    expect(runFrame(dp, segment(client, sport, TCP_SYN)).delta.global).toMatchObject({ 'flow.new': 1 });
    runFrame(dp, segment(client, sport, TCP_ACK));
    // Backend 2 gets most of the weight (both stay active) …
    const heavy = set.map((b) => (b.id === 2 ? { ...b, weight: 200 } : b));
    dp.setBackends(1, heavy);
    let moved = sport;
    if (dp.placement(tuple(sport))!.backendId !== 2) {
      // … pick a live flow of backend 1 that Maglev now places on backend 2.
      dp.setBackends(1, set);
      for (moved = sport + 1; ; moved++) {
        if (dp.placement(tuple(moved))!.backendId !== 1) continue;
        dp.setBackends(1, heavy);
        const now = dp.placement(tuple(moved))!.backendId;
        dp.setBackends(1, set);
        if (now === 2) break;
      }
      runFrame(dp, segment(client, moved, TCP_SYN));
      dp.setBackends(1, heavy);
    }
    expect(dp.placement(tuple(moved))!.backendId).toBe(2);
    // … but a SYN of the live flow's 5-tuple stays where the flow is, and the entry is unchanged.
    const syn = runFrame(dp, segment(client, moved, TCP_SYN));
    expect(outerDst(syn.frame)).toBe('10.1.0.1');
    expect(syn.delta.global).toMatchObject({ 'flow.synKept': 1 });
    expect(syn.delta.global['flow.new']).toBeUndefined();
    expect(dp.lookupFlow(tuple(moved))!.backendId).toBe(1);
    expect(outerDst(runFrame(dp, segment(client, moved, TCP_ACK)).frame)).toBe('10.1.0.1');
  });

  it('moves a SYN off a draining backend at once (a drain takes no new connection; clients reuse ports); data packets stay', () => {
    dp.setBackends(1, set);
    const sport = sportOn(1) + 3000;
    const on = dp.placement(tuple(sport))!.backendId!;
    runFrame(dp, segment(client, sport, TCP_SYN));
    dp.setBackends(1, set.map((b) => (b.id === on ? { ...b, weight: 0, state: 'draining' as const } : b)));
    // An established packet keeps its draining backend …
    const ack = runFrame(dp, segment(client, sport, TCP_ACK));
    expect(outerDst(ack.frame)).toBe(on === 1 ? '10.1.0.1' : '10.1.0.2');
    // … a SYN (a new connection on a reused port) goes where Maglev places it now.
    const syn = runFrame(dp, segment(client, sport, TCP_SYN));
    expect(syn.delta.global).toMatchObject({ 'flow.miss': 1, 'flow.new': 1 });
    expect(syn.delta.global['flow.synKept']).toBeUndefined();
    expect(dp.lookupFlow(tuple(sport))!.backendId).not.toBe(on);
  });

  it("replaces an entry that has been idle for synTakeoverIdleMs (a reused client port gets Maglev's choice)", async () => {
    dp.setBackends(1, set);
    const sport = sportOn(1) + 7000;
    const on = dp.placement(tuple(sport))!.backendId!;
    runFrame(dp, segment(client, sport, TCP_SYN));
    dp.setBackends(1, set.map((b) => (b.id === on ? { ...b, weight: 0, state: 'draining' as const } : b)));
    await sleep(450); // idle longer than 300 ms (the entry's clock moves once per tick)
    const syn = runFrame(dp, segment(client, sport, TCP_SYN));
    expect(syn.delta.global).toMatchObject({ 'flow.new': 1 });
    expect(dp.lookupFlow(tuple(sport))!.backendId).not.toBe(on);
  });

  it('replaces an entry whose backend is gone, at once', () => {
    dp.setBackends(1, set);
    const sport = sportOn(1) + 9000;
    const on = dp.placement(tuple(sport))!.backendId!;
    runFrame(dp, segment(client, sport, TCP_SYN));
    dp.setBackends(1, set.filter((b) => b.id !== on));
    const syn = runFrame(dp, segment(client, sport, TCP_SYN));
    expect(syn.delta.global).toMatchObject({ 'flow.reselect': 1, 'flow.new': 1 });
    expect(dp.lookupFlow(tuple(sport))!.backendId).not.toBe(on);
  });
});

describe('load options', () => {
  it('bad ICMP rate, burst or SYN takeover idle time is refused, naming the option, before anything is loaded', () => {
    expect(() => loadDatapath({ icmpTooBigRate: 0 })).toThrow(/icmpTooBigRate: 0 is not an integer 1 … 1000000/);
    expect(() => loadDatapath({ icmpTooBigBurst: 1.5 })).toThrow(/icmpTooBigBurst/);
    expect(() => loadDatapath({ synTakeoverIdleMs: -1 })).toThrow(/synTakeoverIdleMs: -1 is not an integer 0 … 86400000/);
  });
});
