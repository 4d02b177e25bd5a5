// bpf/decap/xlb_decap.c on exact bytes (BPF_PROG_TEST_RUN on a real skb): what it strips, what it leaves
// alone, what it drops and how it counts — for both ways of changing the family (the 6.3+ adjust_room
// flags and the older bpf_skb_change_proto path).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfObject, type BpfMap, type BpfProgram } from '../../bpf/libbpf-ts/index.js';
import { bpfObjectPath } from '../../bpf/objects.js';
import {
  counterKey, decodeAddrKey, DECAP_COUNTER_NAMES, encodeAddrKey, DecapAddrVal, sumCounter, type DecapCounterName,
} from '../../lb/decap/layout.js';
import { encapsulate, ether, ethTypeOf, ETH_P_ARP, ipPacket, ipv4, ipv6, PROTO_IPIP, PROTO_UDP, udp } from '../lab/packets.js';

const TC_ACT_OK = 0;
const TC_ACT_SHOT = 2;
const BACKEND_MAC = '02:00:00:00:0b:01';
const ROUTER_MAC = '02:00:00:00:00:01';
const LOCAL4 = '10.3.1.2';
const LOCAL6 = 'fd00:3:1::2';
const LB4 = '10.2.1.2';
const LB6 = 'fd00:2:1::2';
const CLIENT4 = '10.1.1.2';
const CLIENT6 = 'fd00:1:1::2';
const VIP4 = '10.100.0.10';
const VIP6 = 'fd00:100::10';

const L2 = { dst: BACKEND_MAC, src: ROUTER_MAC };
const frame = (ip: Buffer) => ether(L2, ethTypeOf(ip), ip);
const udpIn = (src: string, dst: string, payload: string) => udp({ src, dst, sport: 40000, dport: 5000, payload: Buffer.from(payload) });
const inner4 = () => ipPacket(CLIENT4, VIP4, PROTO_UDP, udpIn(CLIENT4, VIP4, 'inner v4 payload'));
const inner6 = () => ipPacket(CLIENT6, VIP6, PROTO_UDP, udpIn(CLIENT6, VIP6, 'inner v6 payload'));
/** An outer IPv4 header (the tunnel from the LB to this backend) around `inner`. */
const outer4 = (inner: Buffer, o: Partial<Parameters<typeof ipv4>[0]> = {}) => ipv4({ src: LB4, dst: LOCAL4, proto: PROTO_IPIP, ...o }, inner);
const outer6 = (nextHeader: number, inner: Buffer, payloadLen?: number) =>
  ipv6({ src: LB6, dst: LOCAL6, nextHeader, ...(payloadLen === undefined ? {} : { payloadLen }) }, inner);

const KINDS = [
  { kind: 'ipip', counter: 'ipip', outer: [LB4, LOCAL4], inner: inner4 },
  { kind: 'ip6ip6', counter: 'ip6ip6', outer: [LB6, LOCAL6], inner: inner6 },
  { kind: '4in6', counter: 'ip4in6', outer: [LB6, LOCAL6], inner: inner4 },
  { kind: '6in4', counter: 'ip6in4', outer: [LB4, LOCAL4], inner: inner6 },
] as const;

for (const legacy of [false, true]) {
  describe(`xlb_decap program (${legacy ? 'bpf_skb_change_proto path' : 'adjust_room DECAP_L3 path'})`, () => {
    let obj: BpfObject;
    let prog: BpfProgram;
    let stats: BpfMap;

    const counters = () => Object.fromEntries(DECAP_COUNTER_NAMES.map((n, i) => [n, sumCounter(stats.lookupPerCpu(counterKey(i))!)])) as
      Record<DecapCounterName, { packets: number; bytes: number }>;
    const runDelta = (data: Buffer) => {
      const before = counters();
      const r = prog.testRun({ data });
      const after = counters();
      const delta = Object.fromEntries(DECAP_COUNTER_NAMES
        .map((n) => [n, { packets: after[n].packets - before[n].packets, bytes: after[n].bytes - before[n].bytes }])
        .filter(([, d]) => (d as { packets: number }).packets !== 0));
      return { ...r, delta };
    };

    beforeAll(() => {
      obj = BpfObject.open(bpfObjectPath('xlb_decap'));
      obj.setConst('cfg_legacy_cross_family', legacy ? 1 : 0);
      obj.load();
      prog = obj.program('xlb_decap');
      stats = obj.map('decap_stats');
      const addrs = obj.map('decap_addrs');
      for (const a of [LOCAL4, LOCAL6]) addrs.update(encodeAddrKey(a), DecapAddrVal.encode({ flags: 1 }));
    });
    afterAll(() => obj?.close());

    for (const k of KINDS) {
      it(`${k.kind}: removes exactly the outer header, fixes the Ethernet type and counts it`, () => {
        const inner = k.inner();
        const input = frame(encapsulate(k.outer[0], k.outer[1], inner));
        const r = runDelta(input);
        expect(r.retval).toBe(TC_ACT_OK);
        expect(r.data.toString('hex')).toBe(ether(L2, ethTypeOf(inner), inner).toString('hex'));
        expect(r.delta).toEqual({ [k.counter]: { packets: 1, bytes: input.length } });
      });
    }

    it('ipip with outer IPv4 options: strips the whole 24-byte header', () => {
      const inner = inner4();
      const outer = outer4(inner, { options: Buffer.from([1, 1, 1, 0]) });
      const r = runDelta(frame(outer));
      expect(r.retval).toBe(TC_ACT_OK);
      expect(r.data.subarray(14).toString('hex')).toBe(inner.toString('hex'));
    });

    it('tunnel packets for an address that is not local are dropped and counted', () => {
      for (const [src, dst, inner] of [[LB4, '10.3.2.2', inner4()], [LB6, 'fd00:3:2::2', inner4()], [LB6, 'fd00:3:2::2', inner6()]] as const) {
        const input = frame(encapsulate(src, dst, inner));
        const r = runDelta(input);
        expect(r.retval).toBe(TC_ACT_SHOT);
        expect(r.delta).toEqual({ notLocal: { packets: 1, bytes: input.length } });
      }
    });

    it('malformed tunnel packets are dropped and counted', () => {
      const cases: Array<[string, Buffer]> = [
        ['inner IPv4 longer than the tunnel', frame(outer4((() => { const p = inner4(); p.writeUInt16BE(p.readUInt16BE(2) + 50, 2); return p; })()))],
        ['inner IPv6 longer than the tunnel', frame(outer6(41, (() => { const p = inner6(); p.writeUInt16BE(p.readUInt16BE(4) + 50, 4); return p; })()))],
        ['inner version is not 4', frame(outer4(Buffer.from(inner4()).fill(0x65, 0, 1)))],
        ['outer fragment', frame(outer4(inner4(), { df: false, mf: true }))],
        ['outer checksum wrong', frame(outer4(inner4(), { checksum: 0xbad1 }))],
        ['outer total length beyond the frame', frame(outer4(inner4(), { totLen: 20 + inner4().length + 8 }))],
        ['outer IPv6 payload length beyond the frame', frame(outer6(PROTO_IPIP, inner4(), inner4().length + 8))],
        ['inner header cut short', frame(outer4(inner4().subarray(0, 12)))],
      ];
      for (const [what, input] of cases) {
        const r = runDelta(input);
        expect(r.retval, what).toBe(TC_ACT_SHOT);
        expect(r.delta, what).toEqual({ malformed: { packets: 1, bytes: input.length } });
      }
    });

    it('leaves everything that is not IP-in-IP untouched and uncounted', () => {
      const cases: Buffer[] = [
        frame(ipPacket(CLIENT4, LOCAL4, PROTO_UDP, udp({ src: CLIENT4, dst: LOCAL4, sport: 1, dport: 2, payload: Buffer.from('plain v4') }))),
        frame(ipPacket(CLIENT6, LOCAL6, PROTO_UDP, udp({ src: CLIENT6, dst: LOCAL6, sport: 1, dport: 2, payload: Buffer.from('plain v6') }))),
        ether(L2, ETH_P_ARP, Buffer.alloc(28, 1)),
        // Protocol 4 in a header that is not IPv4 at all: the stack's business, not a tunnel.
        frame(outer4(inner4())).fill(0x65, 14, 15),
        // IPv6 whose first next header is not a tunnel (an extension header before one is not followed).
        frame(outer6(0 /* hop-by-hop */, Buffer.concat([Buffer.from([4, 0, 1, 4, 0, 0, 0, 0]), inner4()]))),
      ];
      for (const input of cases) {
        const r = runDelta(input);
        expect(r.retval).toBe(TC_ACT_OK);
        expect(r.data.toString('hex')).toBe(input.toString('hex'));
        expect(r.delta).toEqual({});
      }
    });
  });
}

describe('decap map layout', () => {
  it('encodes IPv4 as IPv4-mapped IPv6 and round-trips addresses', () => {
    expect(encodeAddrKey('10.3.1.2').toString('hex')).toBe('00000000000000000000ffff0a030102');
    expect(encodeAddrKey('fd00:3:1::2').toString('hex')).toBe('fd000003000100000000000000000002');
    for (const a of ['10.3.1.2', 'fd00:3:1::2', '::1', '2001:db8::', '1:2:3:4:5:6:7:8', 'fe80::1:0:0:1']) {
      expect(decodeAddrKey(encodeAddrKey(a))).toBe(a);
    }
    expect(decodeAddrKey(encodeAddrKey('::ffff:192.0.2.1'))).toBe('192.0.2.1');
    expect(() => encodeAddrKey('10.3.1')).toThrow(/"10\.3\.1" is not an IPv4 or IPv6 address/);
  });
});
