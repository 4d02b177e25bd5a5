// bpf/decap/xlb_decap.c on exact bytes (BPF_PROG_TEST_RUN on a real skb): what it strips, what it leaves
// alone, what it drops and how it counts — for both ways of changing the family (the 6.3+ adjust_room
// flags and the older bpf_skb_change_proto path). The runs happen inside a network namespace of this
// test (forwarding on, the VIPs and the backend's addresses on lo, a default route), because the
// program asks the routing table whether the inner destination is local.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfObject, withNetns, type BpfMap, type BpfProgram } from '../../bpf/libbpf-ts/index.js';
import { bpfObjectPath } from '../../bpf/objects.js';
import {
  ANY_SOURCE, counterKey, decodeAddrKey, decodeSourceKey, DECAP_COUNTER_NAMES, encodeAddrKey, encodeSourceKey, DecapAddrVal, DecapSourceVal,
  sumCounter, type DecapCounterName,
} from '../../lb/decap/layout.js';
import { encapsulate, ether, ethTypeOf, ETH_P_ARP, ipPacket, ipv4, ipv6, PROTO_IPIP, PROTO_IPV6, PROTO_UDP, udp } from '../lab/packets.js';
import { DecapNetns } from './netns.js';

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

const LB_SOURCES = ['10.2.0.0/16', 'fd00:2::/32'];
const STRANGER4 = '198.51.100.7';
const STRANGER6 = '2001:db8:666::7';

const L2 = { dst: BACKEND_MAC, src: ROUTER_MAC };
const frame = (ip: Buffer) => ether(L2, ethTypeOf(ip), ip);
const udpIn = (src: string, dst: string, payload: string) => udp({ src, dst, sport: 40000, dport: 5000, payload: Buffer.from(payload) });
const inner4 = () => ipPacket(CLIENT4, VIP4, PROTO_UDP, udpIn(CLIENT4, VIP4, 'inner v4 payload'));
const inner6 = () => ipPacket(CLIENT6, VIP6, PROTO_UDP, udpIn(CLIENT6, VIP6, 'inner v6 payload'));
/** An outer IPv4 header (the tunnel from the LB to this backend) around `inner`. */
const outer4 = (inner: Buffer, o: Partial<Parameters<typeof ipv4>[0]> = {}) => ipv4({ src: LB4, dst: LOCAL4, proto: PROTO_IPIP, ...o }, inner);
const outer6 = (nextHeader: number, inner: Buffer, payloadLen?: number) =>
  ipv6({ src: LB6, dst: LOCAL6, nextHeader, ...(payloadLen === undefined ? {} : { payloadLen }) }, inner);

let netns: DecapNetns;
beforeAll(() => {
  netns = DecapNetns.create({ local: [LOCAL4, LOCAL6, VIP4, VIP6] });
});
afterAll(() => netns?.destroy());

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
    let sources: BpfMap;
    const runDelta = (data: Buffer) => {
      const before = counters();
      const r = withNetns(netns.path, () => prog.testRun({ data }));
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
      sources = obj.map('decap_sources');
      setSources(LB_SOURCES);
    });
    const setSources = (cidrs: readonly string[]) => {
      for (const k of [...sources.keys()]) sources.delete(k);
      for (const c of cidrs) sources.update(encodeSourceKey(c), DecapSourceVal.encode({ flags: 1 }));
    };
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

    it('tunnels from an outer source outside the allow-list are dropped and counted', () => {
      for (const k of KINDS) {
        const stranger = k.outer[0].includes(':') ? STRANGER6 : STRANGER4;
        const input = frame(encapsulate(stranger, k.outer[1], k.inner()));
        const r = runDelta(input);
        expect(r.retval, k.kind).toBe(TC_ACT_SHOT);
        expect(r.delta, k.kind).toEqual({ sourceDenied: { packets: 1, bytes: input.length } });
      }
      // The longest match decides, and the families never mix: ::ffff:10.2.1.2 is not 10.2.1.2.
      const mapped = frame(encapsulate('::ffff:a02:102', LOCAL6, inner4()));
      expect(runDelta(mapped).delta).toEqual({ sourceDenied: { packets: 1, bytes: mapped.length } });
    });

    it('an empty allow-list accepts no tunnel; the "any" entries accept every source', () => {
      try {
        setSources([]);
        const input = frame(encapsulate(LB4, LOCAL4, inner4()));
        expect(runDelta(input)).toMatchObject({ retval: TC_ACT_SHOT, delta: { sourceDenied: { packets: 1 } } });
        setSources(ANY_SOURCE);
        expect([...sources.keys()].map(decodeSourceKey).sort()).toEqual(['0.0.0.0/0', '::/0']);
        for (const src of [STRANGER4, LB4]) {
          expect(runDelta(frame(encapsulate(src, LOCAL4, inner4()))), src).toMatchObject({ retval: TC_ACT_OK, delta: { ipip: { packets: 1 } } });
        }
        expect(runDelta(frame(encapsulate(STRANGER6, LOCAL6, inner6())))).toMatchObject({ retval: TC_ACT_OK, delta: { ip6ip6: { packets: 1 } } });
        setSources(['10.2.1.2', '2001:db8:666::/48']);
        expect(runDelta(frame(encapsulate('10.2.1.3', LOCAL4, inner4())))).toMatchObject({ retval: TC_ACT_SHOT, delta: { sourceDenied: { packets: 1 } } });
        expect(runDelta(frame(encapsulate('10.2.1.2', LOCAL4, inner4())))).toMatchObject({ retval: TC_ACT_OK });
        expect(runDelta(frame(encapsulate(STRANGER6, LOCAL6, inner6())))).toMatchObject({ retval: TC_ACT_OK });
      } finally {
        setSources(LB_SOURCES);
      }
    });

    it('inner packets that are tunnels themselves (or hide behind IPv6 extension headers) are dropped and counted', () => {
      const nested4 = ipv4({ src: CLIENT4, dst: VIP4, proto: PROTO_IPIP }, inner4());
      const nested6in4 = ipv4({ src: CLIENT4, dst: VIP4, proto: PROTO_IPV6 }, inner6());
      const nested6 = ipv6({ src: CLIENT6, dst: VIP6, nextHeader: PROTO_IPV6 }, inner6());
      const gre = ipv4({ src: CLIENT4, dst: VIP4, proto: 47 }, Buffer.concat([Buffer.from([0, 0, 0x08, 0x00]), inner4()]));
      const hopByHop = ipv6({ src: CLIENT6, dst: VIP6, nextHeader: 0 }, Buffer.concat([Buffer.from([PROTO_IPV6, 0, 1, 4, 0, 0, 0, 0]), inner6()]));
      const fragment6 = ipv6({ src: CLIENT6, dst: VIP6, nextHeader: 44 }, Buffer.concat([Buffer.from([PROTO_UDP, 0, 0, 1, 0, 0, 0, 9]), udpIn(CLIENT6, VIP6, 'x')]));
      const cases: Array<[string, Buffer]> = [
        ['ipip in ipip', frame(outer4(nested4))],
        ['6in4 in ipip', frame(outer4(nested6in4))],
        ['ip6ip6 in ip6ip6', frame(outer6(PROTO_IPV6, nested6))],
        ['ipip in 4in6', frame(outer6(PROTO_IPIP, nested4))],
        ['gre in ipip', frame(outer4(gre))],
        ['hop-by-hop then ip6ip6', frame(outer6(PROTO_IPV6, hopByHop))],
        ['an IPv6 fragment', frame(outer6(PROTO_IPV6, fragment6))],
      ];
      for (const [what, input] of cases) {
        const r = runDelta(input);
        expect(r.retval, what).toBe(TC_ACT_SHOT);
        expect(r.delta, what).toEqual({ innerTunnel: { packets: 1, bytes: input.length } });
      }
    });

    it('inner destinations that are not local (the host would forward them, or no host takes them) are dropped and counted', () => {
      const to4 = (dst: string) => ipPacket(CLIENT4, dst, PROTO_UDP, udpIn(CLIENT4, dst, 'relay?'));
      const to6 = (dst: string) => ipPacket(CLIENT6, dst, PROTO_UDP, udpIn(CLIENT6, dst, 'relay?'));
      const cases: Array<[string, Buffer]> = [
        ['routed IPv4', frame(outer4(to4('192.0.2.1')))],
        ['another backend', frame(outer4(to4('10.3.2.2')))],
        ['IPv4 multicast', frame(outer4(to4('224.0.0.1')))],
        ['IPv4 broadcast', frame(outer4(to4('255.255.255.255')))],
        ['IPv4 loopback', frame(outer4(to4('127.0.0.1')))],
        ['IPv4 0/8', frame(outer4(to4('0.0.0.0')))],
        ['routed IPv6', frame(outer6(PROTO_IPV6, to6('2001:db8::1')))],
        ['routed IPv4 in 4in6', frame(outer6(PROTO_IPIP, to4('192.0.2.1')))],
        ['routed IPv6 in 6in4', frame(encapsulate(LB4, LOCAL4, to6('2001:db8::1')))],
        ['IPv6 multicast', frame(outer6(PROTO_IPV6, to6('ff02::1')))],
        ['IPv6 loopback', frame(outer6(PROTO_IPV6, to6('::1')))],
        ['IPv6 link-local', frame(outer6(PROTO_IPV6, to6('fe80::1')))],
        ['IPv4-mapped', frame(outer6(PROTO_IPV6, to6('::ffff:a64:a')))],
      ];
      for (const [what, input] of cases) {
        const r = runDelta(input);
        expect(r.retval, what).toBe(TC_ACT_SHOT);
        expect(r.delta, what).toEqual({ innerNotLocal: { packets: 1, bytes: input.length } });
      }
      // The backend's own address is local too (not only the VIPs on lo).
      expect(runDelta(frame(outer4(to4(LOCAL4)))).retval).toBe(TC_ACT_OK);
    });

    it('with forwarding off the stack never forwards, and the inner destination is left to it', () => {
      netns.forwarding(false);
      try {
        const routed = ipPacket(CLIENT4, '192.0.2.1', PROTO_UDP, udpIn(CLIENT4, '192.0.2.1', 'stack decides'));
        expect(runDelta(frame(outer4(routed)))).toMatchObject({ retval: TC_ACT_OK, delta: { ipip: { packets: 1 } } });
        // The address checks do not depend on the routing table.
        const multicast = ipPacket(CLIENT4, '224.0.0.1', PROTO_UDP, udpIn(CLIENT4, '224.0.0.1', 'm'));
        expect(runDelta(frame(outer4(multicast)))).toMatchObject({ retval: TC_ACT_SHOT, delta: { innerNotLocal: { packets: 1 } } });
      } finally {
        netns.forwarding(true);
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

// Kubernetes nodes with externalTrafficPolicy: Local forward the inner packet by design (kube-proxy
// DNATs the ingress IP to a pod): cfg_allow_forwarded_inner lets such packets through, and only those.
for (const allowForwarded of [false, true]) {
  describe(`cfg_allow_forwarded_inner = ${allowForwarded ? 1 : 0} (xlb decap attach${allowForwarded ? ' --allow-forwarded-inner' : ''})`, () => {
    let obj: BpfObject;
    let prog: BpfProgram;
    let stats: BpfMap;
    const counters = () => DECAP_COUNTER_NAMES.map((_, i) => sumCounter(stats.lookupPerCpu(counterKey(i))!));
    const runDelta = (data: Buffer) => {
      const before = counters();
      const r = withNetns(netns.path, () => prog.testRun({ data }));
      const after = counters();
      const delta = Object.fromEntries(DECAP_COUNTER_NAMES
        .map((n, i) => [n, { packets: after[i]!.packets - before[i]!.packets, bytes: after[i]!.bytes - before[i]!.bytes }] as const)
        .filter(([, d]) => d.packets !== 0));
      return { ...r, delta };
    };

    beforeAll(() => {
      obj = BpfObject.open(bpfObjectPath('xlb_decap'));
      obj.setConst('cfg_allow_forwarded_inner', allowForwarded ? 1 : 0);
      obj.load();
      prog = obj.program('xlb_decap');
      stats = obj.map('decap_stats');
      const addrs = obj.map('decap_addrs');
      for (const a of [LOCAL4, LOCAL6]) addrs.update(encodeAddrKey(a), DecapAddrVal.encode({ flags: 1 }));
      const sources = obj.map('decap_sources');
      for (const c of LB_SOURCES) sources.update(encodeSourceKey(c), DecapSourceVal.encode({ flags: 1 }));
    });
    afterAll(() => obj?.close());

    const to4 = (dst: string) => ipPacket(CLIENT4, dst, PROTO_UDP, udpIn(CLIENT4, dst, 'to a pod behind a DNAT'));
    const to6 = (dst: string) => ipPacket(CLIENT6, dst, PROTO_UDP, udpIn(CLIENT6, dst, 'to a pod behind a DNAT'));

    it(`an inner destination the host would forward is ${allowForwarded ? 'decapsulated and passed' : 'dropped and counted (inner_not_local)'}`, () => {
      const cases: Array<[string, Buffer, Buffer, DecapCounterName]> = [
        ['ipip to a routed ingress IP', to4('192.0.2.80'), LOCAL4, 'ipip'],
        ['ip6ip6 to a routed ingress IP', to6('2001:db8::80'), LOCAL6, 'ip6ip6'],
        ['4in6 to a routed ingress IP', to4('192.0.2.80'), LOCAL6, 'ip4in6'],
        ['6in4 to a routed ingress IP', to6('2001:db8::80'), LOCAL4, 'ip6in4'],
      ].map(([what, inner, endpoint, counter]) => {
        const outerSrc = (endpoint as string).includes(':') ? LB6 : LB4;
        return [what as string, frame(encapsulate(outerSrc, endpoint as string, inner as Buffer)), inner as Buffer, counter as DecapCounterName];
      });
      for (const [what, input, inner, counter] of cases) {
        const r = runDelta(input);
        if (allowForwarded) {
          expect(r.retval, what).toBe(TC_ACT_OK);
          expect(r.data.toString('hex'), what).toBe(ether(L2, ethTypeOf(inner), inner).toString('hex'));
          expect(r.delta, what).toEqual({ [counter]: { packets: 1, bytes: input.length } });
        } else {
          expect(r.retval, what).toBe(TC_ACT_SHOT);
          expect(r.delta, what).toEqual({ innerNotLocal: { packets: 1, bytes: input.length } });
        }
      }
      // A local destination passes either way.
      expect(runDelta(frame(outer4(inner4())))).toMatchObject({ retval: TC_ACT_OK, delta: { ipip: { packets: 1 } } });
    });

    it('non-unicast and loopback inner destinations, nested tunnels and unknown sources are dropped either way', () => {
      const cases: Array<[string, Buffer, DecapCounterName]> = [
        ['IPv4 multicast', frame(outer4(to4('224.0.0.1'))), 'innerNotLocal'],
        ['IPv4 broadcast', frame(outer4(to4('255.255.255.255'))), 'innerNotLocal'],
        ['IPv4 loopback', frame(outer4(to4('127.0.0.1'))), 'innerNotLocal'],
        ['IPv4 0/8', frame(outer4(to4('0.1.2.3'))), 'innerNotLocal'],
        ['IPv6 loopback', frame(outer6(PROTO_IPV6, to6('::1'))), 'innerNotLocal'],
        ['IPv6 link-local', frame(outer6(PROTO_IPV6, to6('fe80::1'))), 'innerNotLocal'],
        ['IPv6 multicast', frame(outer6(PROTO_IPV6, to6('ff02::1'))), 'innerNotLocal'],
        ['IPv4-mapped', frame(outer6(PROTO_IPV6, to6('::ffff:c000:250'))), 'innerNotLocal'],
        ['ipip in ipip to a routed address', frame(outer4(ipv4({ src: CLIENT4, dst: '192.0.2.80', proto: PROTO_IPIP }, to4('192.0.2.81')))), 'innerTunnel'],
        ['from an outer source outside the allow-list', frame(encapsulate(STRANGER4, LOCAL4, to4('192.0.2.80'))), 'sourceDenied'],
      ];
      for (const [what, input, counter] of cases) {
        const r = runDelta(input);
        expect(r.retval, what).toBe(TC_ACT_SHOT);
        expect(r.delta, what).toEqual({ [counter]: { packets: 1, bytes: input.length } });
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
