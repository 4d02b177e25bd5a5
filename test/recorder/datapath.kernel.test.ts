// The recorder in the real kernel, frames injected with BPF_PROG_TEST_RUN into the loaded xlb_lb
// program (the same program and maps that run on an interface): layout vs BTF, what matches
// (wildcards, prefixes 0/8/24/32 and 0/64/128, ports, protocols, fragments), VIP traffic only unless
// host traffic is allowed, ingress and egress bytes, overlapping recordings, the rule index and its
// masks as recordings come and go, limits, stop conditions, loss accounting with a tiny ring and a
// paused reader, and that stopping frees every rule. Real traffic through veths: recorder.lab.test.ts.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../lb/model/index.js';
import type { LbDatapath } from '../../lb/datapath/index.js';
import { parseFilter, ruleToSpec } from '../../recorder/filter.js';
import { REC_MAP_NAMES, REC_MAX_RECORDINGS, REC_MAX_RULES, REC_MAX_SNAPLEN, RecKey, mapSizes, recFilterBit } from '../../lb/datapath/index.js';
import { kernelRule, validateFilters, type FilterSpec } from '../../recorder/rules.js';
import { Recorder, type RecordingRequest } from '../../recorder/recorder.js';
import type { RecordingSession } from '../../recorder/session.js';
import { configure, loadDatapath } from '../datapath/harness.js';
import {
  ETH_P_IP,
  ETH_P_IPV6,
  PROTO_ICMP,
  PROTO_ICMPV6,
  PROTO_TCP,
  PROTO_UDP,
  ether,
  icmp4,
  icmp6,
  ipv4,
  ipv6,
  tcp,
  udp,
} from '../lab/packets.js';
import { memorySink, type MemorySink } from './harness.js';

const IF_MAC = '02:00:00:00:00:01';
const CLIENT_MAC = '02:00:00:00:00:09';
const VIP4 = '10.100.0.10';
const VIP6 = 'fd00:100::10';
const eth = (type: number, payload: Buffer) => ether({ dst: IF_MAC, src: CLIENT_MAC }, type, payload);

function tcp4(src: string, sport: number, dst: string, dport: number, payload = Buffer.alloc(0)) {
  return eth(ETH_P_IP, ipv4({ src, dst, proto: PROTO_TCP }, tcp({ src, dst, sport, dport, payload })));
}
function udp4(src: string, sport: number, dst: string, dport: number) {
  return eth(ETH_P_IP, ipv4({ src, dst, proto: PROTO_UDP }, udp({ src, dst, sport, dport })));
}
function tcp6(src: string, sport: number, dst: string, dport: number, payload = Buffer.alloc(0)) {
  return eth(ETH_P_IPV6, ipv6({ src, dst, nextHeader: PROTO_TCP }, tcp({ src, dst, sport, dport, payload })));
}
function udp6(src: string, sport: number, dst: string, dport: number) {
  return eth(ETH_P_IPV6, ipv6({ src, dst, nextHeader: PROTO_UDP }, udp({ src, dst, sport, dport })));
}
const echo4 = (src: string, dst: string) => eth(ETH_P_IP, ipv4({ src, dst, proto: PROTO_ICMP }, icmp4(8, 0, Buffer.alloc(4), Buffer.alloc(8))));
const echo6 = (src: string, dst: string) =>
  eth(ETH_P_IPV6, ipv6({ src, dst, nextHeader: PROTO_ICMPV6 }, icmp6(src, dst, 128, 0, Buffer.alloc(4), Buffer.alloc(8))));

/** The frames of the matching matrix, by name. */
const FRAMES: Record<string, Buffer> = {
  A: tcp4('10.1.1.2', 40000, VIP4, 80),
  B: tcp4('10.1.1.3', 40001, VIP4, 80),
  C: udp4('10.1.2.2', 5353, VIP4, 53),
  D: echo4('10.1.1.2', VIP4),
  E: tcp4('192.168.5.5', 1234, VIP4, 80),
  F: tcp6('fd00:1:1::2', 40000, VIP6, 80),
  G: tcp6('fd00:1:1::3', 40000, VIP6, 80),
  H: udp6('fd00:1:2::2', 5353, VIP6, 53),
  I: echo6('fd00:1:1::2', VIP6),
  J: tcp6('2001:db8::1:1', 41000, VIP6, 80),
  K: tcp4('10.1.1.2', 40000, '10.9.9.9', 80), // not a VIP: passed, ingress only (host traffic)
};

/** filter → the frames it must record (ingress) when host traffic is allowed, written out by hand. */
const MATRIX: [string, string][] = [
  ['any -> any', 'ABCDEFGHIJK'],
  ['0.0.0.0/0 -> any', 'ABCDEK'],
  ['[::]/0 -> any', 'FGHIJ'],
  ['10.0.0.0/8 -> any', 'ABCDK'],
  ['10.1.1.0/24 -> any', 'ABDK'],
  ['10.1.1.2/32 -> any', 'ADK'],
  ['10.1.1.2 -> 10.100.0.10 tcp', 'A'],
  ['any -> any 80', 'ABEFGJK'],
  ['any 40000 -> any', 'AFGK'],
  ['any -> any icmp', 'DI'],
  ['any -> any udp', 'CH'],
  ['any -> any tcp', 'ABEFGJK'],
  ['[fd00:1:1::]/64 -> any', 'FGI'],
  ['[fd00:1:1::2]/128 -> any', 'FI'],
  ['[fd00::]/16 -> [fd00:100::10] 80 tcp', 'FG'],
  ['any -> 10.100.0.0/24 53', 'C'],
  ['192.168.5.5 1234 -> 10.100.0.10 80 tcp', 'E'],
  ['any -> [fd00:100::10] 53 udp', 'H'],
  ['any -> 10.9.9.9/32', 'K'],
  ['10.1.3.0/24 -> any', ''],
  ['[fd00:1:1::]/64 -> [fd00:100::]/64 53', ''],
];

describe('recorder in the kernel (test runs)', () => {
  let dp: LbDatapath;
  let recorder: Recorder;
  const live: RecordingSession[] = [];

  beforeAll(() => {
    dp = loadDatapath();
    configure(dp);
    dp.upsertService({ id: 1, vip: VIP4, port: 80, protocol: 'tcp' });
    dp.upsertService({ id: 2, vip: VIP4, port: 53, protocol: 'udp' });
    dp.upsertService({ id: 3, vip: VIP6, port: 80, protocol: 'tcp' });
    dp.upsertService({ id: 4, vip: VIP6, port: 53, protocol: 'udp' });
    dp.setBackends(1, [{ id: 1, address: '10.3.1.2', weight: 1 }]);
    dp.setBackends(2, [{ id: 2, address: '10.3.1.2', weight: 1 }]);
    dp.setBackends(3, [{ id: 3, address: 'fd00:3:1::2', weight: 1 }]);
    dp.setBackends(4, [{ id: 4, address: 'fd00:3:1::2', weight: 1 }]);
    recorder = Recorder.forDatapath(dp, { statsIntervalMs: 50, settleMs: 5 });
  });

  afterEach(async () => {
    await Promise.all(live.splice(0).map((s) => s.stop()));
  });

  afterAll(async () => {
    try {
      await recorder?.close();
    } finally {
      dp?.close();
    }
  });

  function start(req: RecordingRequest): { s: RecordingSession; mem: MemorySink } {
    const { sink, mem } = memorySink();
    const s = recorder.start(req, sink);
    live.push(s);
    return { s, mem };
  }

  /** Runs frames through the program and hands the ring's records to the recordings. */
  function send(...frames: Buffer[]): Buffer[] {
    const out = frames.map((f) => dp.testRun(f).frame);
    recorder.drain();
    return out;
  }

  it('the recorder maps have the declared sizes and slot counts (struct layouts: test/datapath/maps.kernel.test.ts)', () => {
    const info = dp.mapInfo();
    for (const name of REC_MAP_NAMES) {
      const m = info[name];
      expect({ name, key: m.keySize, value: m.valueSize }).toEqual({ name, ...mapSizes(name) });
    }
    expect(info.rec_index).toMatchObject({ type: 'hash', maxEntries: REC_MAX_RULES });
    expect(info.rec_recordings.maxEntries).toBe(REC_MAX_RECORDINGS);
    expect(info.rec_rings).toMatchObject({ type: 'array_of_maps', maxEntries: REC_MAX_RECORDINGS });
    expect(info['.data.rec']).toMatchObject({ type: 'array', maxEntries: 1 });
  });

  it('no recording: the global switch is off and no recording slot has a ring', () => {
    expect(recorder.tables.maskCount).toBe(0);
    expect(recorder.tables.kernelCtl()).toEqual({ nmasks: 0, flags: 0 });
    for (const f of Object.values(FRAMES)) dp.testRun(f);
    expect(recorder.drain()).toBe(0);
    expect([...dp.recorderMaps().rec_rings.keys()].filter((k) => dp.recorderMaps().rec_rings.lookup(k) !== undefined)).toEqual([]);
  });

  it('ingress is the frame as received, egress the frame as sent (IPIP / IP6IP6), with wall-clock timestamps', async () => {
    const { s, mem } = start({ filters: [{ srcCidr: '10.1.1.2' }, { srcCidr: 'fd00:1:1::2' }] });
    const t0 = BigInt(Date.now()) * 1_000_000n;
    const [outA, outF] = send(FRAMES.A!, FRAMES.F!);
    const t1 = BigInt(Date.now() + 1) * 1_000_000n;
    await s.stop();
    const frames = mem.frames();
    expect(frames.length).toBe(4);
    expect(frames[0]!.equals(FRAMES.A!)).toBe(true);
    expect(frames[1]!.equals(outA!)).toBe(true);
    expect(frames[2]!.equals(FRAMES.F!)).toBe(true);
    expect(frames[3]!.equals(outF!)).toBe(true);
    const pk = mem.packets();
    expect(pk[1]).toMatchObject({ src: ['10.255.0.1', '10.1.1.2'], dst: ['10.3.1.2', VIP4], ipProto: [4, 6] });
    expect(pk[3]).toMatchObject({ src: ['fd00:ff::1', 'fd00:1:1::2'], dst: ['fd00:3:1::2', VIP6], ipProto: [41, 6] });
    for (const p of pk) {
      expect(p.epochNs).toBeGreaterThanOrEqual(t0);
      expect(p.epochNs).toBeLessThanOrEqual(t1);
      expect(p.capLen).toBe(p.len);
    }
    expect(mem.end).toEqual({ reason: 'stopped', stats: { matched: 4, captured: 4, lost: 0, capturedBytes: frames.reduce((n, f) => n + f.length, 0) } });
    expect(mem.started).toEqual({ id: s.id, snaplen: REC_MAX_SNAPLEN, filters: ['10.1.1.2 any -> any any any', '[fd00:1:1::2] any -> any any any'] });
  });

  it(`wildcards: ${MATRIX.length} concurrent recordings with overlapping rules each get exactly their packets`, async () => {
    recorder.tables.hostTraffic = true; // frame K is not for a VIP
    const recs = MATRIX.map(([filter]) => ({ filter, ...start({ filters: [parseOne(filter)], points: 'ingress' }) }));
    // 21 filters, fewer shapes: one hash lookup per shape, not one comparison per rule.
    expect(recorder.tables.maskCount).toBeLessThan(MATRIX.length);
    const names = Object.keys(FRAMES);
    try {
      send(...names.map((n) => FRAMES[n]!));
    } finally {
      recorder.tables.hostTraffic = false;
    }
    await Promise.all(recs.map((r) => r.s.stop()));
    for (const [i, [filter, expected]] of MATRIX.entries()) {
      const frames = recs[i]!.mem.frames();
      const got = frames.map((f) => names.find((n) => FRAMES[n]!.equals(f)) ?? '?').join('');
      expect({ filter, got }).toEqual({ filter, got: expected });
      expect(recs[i]!.mem.end!.stats).toMatchObject({ matched: expected.length, captured: expected.length, lost: 0 });
    }
  });

  it('a packet matching several rules of one recording is recorded once; egress follows the ingress match', async () => {
    const { s, mem } = start({ filters: [{ srcCidr: '10.1.1.0/24' }, { dstPort: 80 }, { proto: 'tcp' }] });
    send(FRAMES.A!, FRAMES.B!);
    await s.stop();
    // Each: ingress + egress (TX).
    expect(mem.packets().map((p) => [p.src.at(-1), p.src.length])).toEqual([
      ['10.1.1.2', 1],
      ['10.1.1.2', 2],
      ['10.1.1.3', 1],
      ['10.1.1.3', 2],
    ]);
  });

  it('packets not for a VIP (the host\'s own traffic) are recorded only when host traffic is allowed', async () => {
    const before = dp.readCounters().pass.notVip.packets;
    const vipOnly = start({ filters: [{ srcCidr: '10.1.1.2' }], points: 'ingress' });
    send(FRAMES.K!, FRAMES.A!);
    await vipOnly.s.stop();
    expect(vipOnly.mem.packets().map((p) => p.dst[0])).toEqual([VIP4]);
    expect(vipOnly.mem.end!.stats).toMatchObject({ matched: 1, captured: 1, lost: 0 });
    expect(dp.readCounters().pass.notVip.packets - before).toBe(1); // K was passed, untouched

    recorder.tables.hostTraffic = true;
    try {
      expect(recorder.tables.kernelCtl().flags).toBe(1);
      const all = start({ filters: [{ srcCidr: '10.1.1.2' }], points: 'ingress' });
      send(FRAMES.K!, FRAMES.A!);
      await all.s.stop();
      expect(all.mem.packets().map((p) => p.dst[0])).toEqual(['10.9.9.9', VIP4]);
    } finally {
      recorder.tables.hostTraffic = false;
    }
    expect(recorder.tables.kernelCtl().flags).toBe(0);
  });

  it('the rule index: one key per distinct rule, one mask per rule shape; masks leave as their last rule does', async () => {
    const fa: FilterSpec[] = [{ srcCidr: '10.1.1.0/24' }, { srcCidr: '10.1.2.0/24' }, { dstPort: 80, proto: 'tcp' }];
    const fb: FilterSpec[] = [{ srcCidr: '10.1.1.0/24' }, { srcCidr: 'fd00:1:1::/64' }];
    const fc: FilterSpec[] = [{ dstCidr: VIP4, dstPort: 53, proto: 'udp' }];
    /** The rule filter's bits the datapath must hold for these rules (and no others). */
    const bits = (...f: FilterSpec[][]) =>
      [...new Set(f.flat().map((x) => kernelRule(validateFilters([x])[0]!)).map((k) => recFilterBit(RecKey.encode(k.key), k.mask)))].sort((x, y) => x - y);
    const a = start({ filters: fa, points: 'ingress' });
    const b = start({ filters: fb, points: 'ingress' });
    const c = start({ filters: fc, points: 'ingress' });
    expect(recorder.tables.kernelFilterBits()).toEqual(bits(fa, fb, fc));
    const slot = (r: { s: RecordingSession }) => 1n << BigInt(recorder.slotOf(r.s.id)!);
    const entries = () => recorder.tables.indexEntries().map((e) => e.slots).sort();
    // 10.1.1.0/24 is shared by a and b: one key with both bits.
    expect(entries()).toEqual([slot(a), slot(a), slot(a) | slot(b), slot(b), slot(c)].sort());
    expect(recorder.tables.maskCount).toBe(4); // v4 src /24, dport+proto, v6 src /64, v4 dst /32 + dport + proto
    expect(recorder.tables.kernelCtl().nmasks).toBe(4);
    await a.s.stop(); // the dport+proto shape goes; the last mask moves into its place
    expect(recorder.tables.maskCount).toBe(3);
    expect(entries()).toEqual([slot(b), slot(b), slot(c)].sort());
    expect(recorder.tables.kernelFilterBits()).toEqual(bits(fb, fc)); // 10.1.1.0/24 kept: b has it too
    send(FRAMES.A!, FRAMES.C!, FRAMES.F!, FRAMES.H!);
    await Promise.all([b.s.stop(), c.s.stop()]);
    expect(b.mem.frames().map((f) => f.equals(FRAMES.A!) || f.equals(FRAMES.F!))).toEqual([true, true]);
    expect(c.mem.frames().map((f) => f.equals(FRAMES.C!))).toEqual([true]);
    expect(recorder.tables.indexEntries()).toEqual([]);
    expect(recorder.tables.kernelCtl()).toEqual({ nmasks: 0, flags: 0 });
    expect(recorder.tables.kernelFilterBits()).toEqual([]);
  });

  it('overlapping recordings with different snaplens and points: each gets its own copy, cut at its snaplen', async () => {
    const big = tcp4('10.1.1.2', 40002, VIP4, 80, Buffer.alloc(1200, 0x5a));
    const small = start({ filters: [{ dstCidr: VIP4, dstPort: 80, proto: 'tcp' }], snaplen: 64, points: 'ingress' });
    const full = start({ filters: [{ srcCidr: '10.1.1.0/24' }], points: 'both' });
    const tiny = start({ filters: [{ srcCidr: '10.1.1.2' }], snaplen: 1, points: 'egress' });
    const [out] = send(big);
    await Promise.all([small, full, tiny].map((r) => r.s.stop()));
    expect(small.mem.frames().map((f) => f.toString('hex'))).toEqual([big.subarray(0, 64).toString('hex')]);
    expect(full.mem.frames().map((f) => f.length)).toEqual([big.length, out!.length]);
    expect(full.mem.frames()[0]!.equals(big)).toBe(true);
    expect(full.mem.frames()[1]!.equals(out!)).toBe(true);
    expect(tiny.mem.frames().map((f) => f.toString('hex'))).toEqual([out!.subarray(0, 1).toString('hex')]);
    const p = small.mem.packets()[0]!;
    expect([p.len, p.capLen]).toEqual([big.length, 64]);
    const t = tiny.mem.packets()[0]!;
    expect([t.len, t.capLen]).toEqual([out!.length, 1]);
  });

  it('fragments and extension headers match only port-less rules; ICMP replies are egress records', async () => {
    const frag = eth(ETH_P_IP, ipv4({ src: '10.1.1.2', dst: VIP4, proto: PROTO_TCP, mf: true }, tcp({ src: '10.1.1.2', dst: VIP4, sport: 40000, dport: 80 })));
    const ports = start({ filters: [{ dstPort: 80 }], points: 'ingress' });
    const any = start({ filters: [{ srcCidr: '10.1.1.2' }] });
    // IPv4 with DF, too big for the tunnel: xlb answers with ICMP frag-needed (XDP_TX).
    const tooBig = tcp4('10.1.1.2', 40003, VIP4, 80, Buffer.alloc(1460)); // IP length 1500 + 20 > MTU 1500
    const [, reply] = send(frag, tooBig);
    await Promise.all([ports.s.stop(), any.s.stop()]);
    expect(ports.mem.frames().length).toBe(1); // tooBig only: the fragment has no usable ports
    const got = any.mem.packets();
    expect(got.length).toBe(3); // fragment (dropped, ingress only), tooBig ingress, ICMP reply egress
    expect(got[2]).toMatchObject({ src: [VIP4, '10.1.1.2'], dst: ['10.1.1.2', VIP4], ipProto: [PROTO_ICMP, PROTO_TCP] });
    expect(any.mem.frames()[2]!.equals(reply!)).toBe(true);
  });

  it(`${REC_MAX_RULES} rules at once across recordings; one more is refused with a clear error and changes nothing`, async () => {
    const filters = (n: number, third: number) => Array.from({ length: n }, (_, i) => ({ srcCidr: `10.${third}.${i}.0/24` }));
    const a = start({ filters: filters(64, 20), points: 'ingress' });
    const b = start({ filters: filters(64, 21), points: 'ingress' });
    expect(recorder.tables.indexEntries().length).toBe(REC_MAX_RULES);
    expect(recorder.tables.maskCount).toBe(1); // 128 rules of one shape: one lookup per packet
    let err: unknown;
    try {
      recorder.start({ filters: [{}] }, memorySink().sink);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).code).toBe('FAILED_PRECONDITION');
    expect((err as ValidationError).message).toMatch(/^filters: too many rules: 1 requested, 0 of the datapath's 128 rule slots are free/);
    expect(recorder.tables.indexEntries().length).toBe(REC_MAX_RULES);
    // The first and the last rule both match.
    send(tcp4('10.20.0.9', 1, VIP4, 80), tcp4('10.21.63.9', 1, VIP4, 80), tcp4('10.22.0.9', 1, VIP4, 80));
    await Promise.all([a.s.stop(), b.s.stop()]);
    expect(a.mem.packets().map((p) => p.src[0])).toEqual(['10.20.0.9']);
    expect(b.mem.packets().map((p) => p.src[0])).toEqual(['10.21.63.9']);
    expect(recorder.tables.indexEntries()).toEqual([]);
    expect(recorder.tables.kernelCtl().nmasks).toBe(0);
  });

  it(`${REC_MAX_RECORDINGS} concurrent recordings; the next one is refused`, async () => {
    const all = Array.from({ length: REC_MAX_RECORDINGS }, (_, i) => start({ filters: [{ srcCidr: `10.30.${i}.1` }], points: 'ingress' }));
    expect(() => recorder.start({ filters: [{}] }, memorySink().sink)).toThrow(/too many recordings: all 64 recording slots are in use/);
    send(...all.map((_, i) => tcp4(`10.30.${i}.1`, 1000 + i, VIP4, 80)));
    await Promise.all(all.map((r) => r.s.stop()));
    // TCP source port of each recorded frame (Ethernet 14 + IPv4 20).
    all.forEach((r, i) => expect(r.mem.frames().map((f) => f.readUInt16BE(34))).toEqual([1000 + i]));
  });

  it('invalid requests name the field and leave the datapath untouched', () => {
    const free = recorder.tables.freeRuleCount;
    const bad: [RecordingRequest, RegExp][] = [
      [{ filters: [] }, /^filters: at least one filter/],
      [{ filters: [{ srcCidr: '10.0.0.1/8' }] }, /^filters\[0\]\.src_cidr: "10\.0\.0\.1\/8" has host bits set/],
      [{ filters: [{ dstPort: 99999 }] }, /^filters\[0\]\.dst_port: 99999 is not a port/],
      [{ filters: [{}], snaplen: 5000 }, /^snaplen: 5000 is out of range 1\.\.4096/],
      [{ filters: [{}], points: 'sideways' as never }, /^points: "sideways" is not one of ingress, egress, both/],
      [{ filters: [{}], format: 'json' as never }, /^format: /],
      [{ filters: [{}], maxPackets: -1 }, /^max_packets: -1 is not an integer/],
      [{ filters: [{}], maxDurationMs: 1e12 }, /^max_duration_ms: /],
    ];
    for (const [req, msg] of bad) {
      expect(() => recorder.start(req, memorySink().sink)).toThrow(msg);
    }
    expect(recorder.tables.freeRuleCount).toBe(free);
    expect(recorder.tables.indexEntries()).toEqual([]);
  });

  it('max_packets N: exactly N records even when more match; matched = captured + lost; rules freed', async () => {
    const { s, mem } = start({ filters: [{ srcCidr: '10.1.1.2' }], maxPackets: 5, points: 'both' });
    send(...Array.from({ length: 10 }, (_, i) => tcp4('10.1.1.2', 2000 + i, VIP4, 80)));
    expect(await s.ended).toBe('maxPackets');
    expect(mem.frames().length).toBe(5);
    expect(mem.end!.stats).toEqual({ matched: 5, captured: 5, lost: 0, capturedBytes: mem.frames().reduce((n, f) => n + f.length, 0) });
    expect(recorder.tables.indexEntries()).toEqual([]);
    expect(recorder.tables.kernelCtl().nmasks).toBe(0);
    // Later traffic reaches nobody.
    send(tcp4('10.1.1.2', 3000, VIP4, 80));
    expect(recorder.drain()).toBe(0);
  });

  it('max_bytes: the file never holds more captured bytes than asked', async () => {
    const f = tcp4('10.1.1.2', 4000, VIP4, 80, Buffer.alloc(100)); // 154 bytes
    const { s, mem } = start({ filters: [{ srcCidr: '10.1.1.2' }], maxBytes: 500, points: 'ingress' });
    send(f, f, f, f, f);
    expect(await s.ended).toBe('maxBytes');
    expect(mem.frames().length).toBe(3); // 462 bytes; a fourth would make 616
    expect(mem.end!.stats).toMatchObject({ matched: 3, captured: 3, lost: 0, capturedBytes: 3 * f.length });
    // Exactly reaching the limit also ends it, with that packet written.
    const exact = start({ filters: [{ srcCidr: '10.1.1.2' }], maxBytes: 2 * f.length, points: 'ingress' });
    send(f, f, f);
    expect(await exact.s.ended).toBe('maxBytes');
    expect(exact.mem.frames().length).toBe(2);
  });

  it('max_duration ends the recording on time; periodic stats arrive meanwhile', async () => {
    const t0 = Date.now();
    const { s, mem } = start({ filters: [{ srcCidr: '10.1.1.2' }], maxDurationMs: 300 });
    send(FRAMES.A!);
    expect(await s.ended).toBe('maxDuration');
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(300);
    expect(took).toBeLessThan(1000);
    expect(mem.statsSeen.length).toBeGreaterThanOrEqual(3);
    expect(mem.statsSeen.at(-1)).toMatchObject({ matched: 2, captured: 2 });
  });
});

describe('recorder under overload: 16 KiB rings', () => {
  let dp: LbDatapath;
  let recorder: Recorder;

  beforeAll(() => {
    dp = loadDatapath();
    configure(dp);
    dp.upsertService({ id: 1, vip: VIP4, port: 80, protocol: 'tcp' });
    dp.setBackends(1, [{ id: 1, address: '10.3.1.2', weight: 1 }]);
    recorder = Recorder.forDatapath(dp, { settleMs: 5, ringBytes: 16384 });
  });

  afterAll(async () => {
    try {
      await recorder?.close();
    } finally {
      dp?.close();
    }
  });

  it('records the ring cannot take are counted lost per recording: captured + lost = matched', async () => {
    expect(recorder.ringBytes).toBe(16384);
    const a = memorySink();
    const b = memorySink();
    const sa = recorder.start({ filters: [{ srcCidr: '10.1.1.2' }], points: 'both' }, a.sink);
    const sb = recorder.start({ filters: [{ dstPort: 80 }], points: 'ingress', snaplen: 128 }, b.sink);
    const frame = tcp4('10.1.1.2', 5000, VIP4, 80, Buffer.alloc(1000));
    // 200 packets with no chance for userspace to drain in between: the ring overflows.
    for (let i = 0; i < 200; i++) dp.testRun(frame);
    await Promise.all([sa.stop(), sb.stop()]);
    const ea = a.mem.end!.stats;
    const eb = b.mem.end!.stats;
    expect(ea.matched).toBe(400); // ingress + egress of each packet
    expect(eb.matched).toBe(200);
    expect(ea.lost).toBeGreaterThan(0);
    expect(ea.captured + ea.lost).toBe(ea.matched);
    expect(eb.captured + eb.lost).toBe(eb.matched);
    expect(a.mem.frames().length).toBe(ea.captured);
    expect(b.mem.frames().length).toBe(eb.captured);
  });

  it('a paused reader (its client is congested): its ring fills, the kernel counts the rest lost, other recordings lose nothing', async () => {
    const a = memorySink();
    const b = memorySink();
    const s = recorder.start({ filters: [{ srcCidr: '10.1.1.2' }], points: 'ingress' }, a.sink);
    const other = recorder.start({ filters: [{ dstPort: 80 }], points: 'ingress', snaplen: 64 }, b.sink);
    const frame = tcp4('10.1.1.2', 5001, VIP4, 80, Buffer.alloc(500)); // 554 bytes
    for (let i = 0; i < 3; i++) dp.testRun(frame);
    recorder.drain();
    s.pause();
    // 100 records of 594 bytes in the ring: a 16 KiB ring takes 27; nothing reads it meanwhile
    // (the event loop does not run between these calls, and a paused ring is not polled).
    for (let i = 0; i < 100; i++) dp.testRun(frame);
    const lostWhilePaused = Number(recorder.tables.counters(recorder.slotOf(s.id)!).lost);
    expect(lostWhilePaused).toBe(100 - Math.floor(16384 / (Math.ceil((8 + 32 + 554) / 8) * 8)));
    expect(Number(recorder.tables.counters(recorder.slotOf(other.id)!).lost)).toBe(0); // its own ring
    s.resume();
    await Promise.all([s.stop(), other.stop()]);
    expect(a.mem.end!.stats).toEqual({ matched: 103, captured: 103 - lostWhilePaused, lost: lostWhilePaused, capturedBytes: (103 - lostWhilePaused) * 554 });
    expect(a.mem.frames().length).toBe(103 - lostWhilePaused);
    expect(b.mem.end!.stats).toMatchObject({ matched: 103, captured: 103, lost: 0 });
  });
});

/** The test's filters as FilterSpecs, through the CLI grammar (one more check of it). */
function parseOne(text: string) {
  return ruleToSpec(parseFilter(text));
}
