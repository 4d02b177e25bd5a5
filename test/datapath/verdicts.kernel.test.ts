// The verdict table (docs/datapath.md): malformed and unusual inputs, each with its documented
// verdict and exactly the counters it must move — one verdict, one reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LbDatapath } from '../../lb/datapath/index.js';
import { CLIENT_MAC, GW_MAC, IF_MAC, configure, counterDelta, loadDatapath, runFrame } from './harness.js';
import {
  ETH_P_ARP,
  ETH_P_8021Q,
  ETH_P_IP,
  ETH_P_IPV6,
  PROTO_ICMP,
  PROTO_ICMPV6,
  PROTO_IPIP,
  PROTO_IPV6,
  PROTO_TCP,
  PROTO_UDP,
  be16,
  be32,
  ether,
  icmp4,
  icmp6,
  ip4,
  ip6,
  ipv4,
  ipv6,
  mac,
  pattern,
  tcp,
  udp,
} from '../lab/packets.js';

const CLIENT4 = '198.51.100.20';
const CLIENT6 = '2001:db8:c::20';
const ROUTER4 = '203.0.113.1';
const ROUTER6 = '2001:db8:r::1';
const VIP4 = '10.0.0.10';
const VIP6 = '2001:db8::10';
const VIP_EMPTY = '10.0.0.12';
const BACKENDS4 = ['10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.0.4'];
const BACKENDS6 = ['fd00:1::1', 'fd00:1::2', 'fd00:1::3'];
const L2 = { dst: IF_MAC, src: CLIENT_MAC };

const tcp4 = (src: string, dst: string, sport: number, dport: number) =>
  ipv4({ src, dst, proto: PROTO_TCP }, tcp({ src, dst, sport, dport }));
const tcp6 = (src: string, dst: string, sport: number, dport: number) =>
  ipv6({ src, dst, nextHeader: PROTO_TCP }, tcp({ src, dst, sport, dport }));
const frame4 = (l3: Buffer, vlans?: number[]) => ether(vlans ? { ...L2, vlans } : L2, ETH_P_IP, l3);
const frame6 = (l3: Buffer) => ether(L2, ETH_P_IPV6, l3);

/** IPv6 header + one 8-byte extension header (next header TCP) + TCP. */
function ipv6WithExt(extType: number): Buffer {
  const ext = Buffer.alloc(8);
  ext[0] = PROTO_TCP; // next header after the extension; length 0 = 8 bytes
  if (extType === 44) ext.writeUInt32BE(0x1234, 4); // fragment header: offset 0, M=0, id
  return ipv6({ src: CLIENT6, dst: VIP6, nextHeader: extType }, Buffer.concat([ext, tcp({ src: CLIENT6, dst: VIP6, sport: 1, dport: 80 })]));
}

/** Patches one byte of an IPv4 header in a frame and fixes nothing else. */
function patched(buf: Buffer, offset: number, value: number): Buffer {
  const b = Buffer.from(buf);
  b[offset] = value;
  return b;
}

interface Case {
  name: string;
  frame: () => Buffer;
  verdict: 'pass' | 'drop' | 'tx';
  reason: string; // counter that must move by exactly one, besides verdict.<verdict>
}

const cases: Case[] = [
  { name: 'ARP', frame: () => ether(L2, ETH_P_ARP, Buffer.alloc(28, 1)), verdict: 'pass', reason: 'pass.notIp' },
  {
    name: 'truncated inside the VLAN tag',
    frame: () => Buffer.concat([mac(IF_MAC), mac(CLIENT_MAC), be16(ETH_P_8021Q), Buffer.from([0])]),
    verdict: 'pass',
    reason: 'pass.notIp',
  },
  {
    name: 'three VLAN tags (deeper than parsed)',
    frame: () => ether({ ...L2, vlans: [1, 2] }, ETH_P_8021Q, Buffer.concat([be16(3), be16(ETH_P_IP), tcp4(CLIENT4, VIP4, 1, 80)])),
    verdict: 'pass',
    reason: 'pass.notIp',
  },
  { name: 'Ethernet header only (IPv4 ethertype, nothing after it)', frame: () => frame4(Buffer.alloc(0)), verdict: 'pass', reason: 'pass.l3Short' },
  { name: 'truncated inside the IPv4 header', frame: () => frame4(tcp4(CLIENT4, VIP4, 1, 80).subarray(0, 19)), verdict: 'pass', reason: 'pass.l3Short' },
  { name: 'truncated inside the IPv6 header', frame: () => frame6(tcp6(CLIENT6, VIP6, 1, 80).subarray(0, 39)), verdict: 'pass', reason: 'pass.l3Short' },
  { name: 'IPv4 not to a VIP', frame: () => frame4(tcp4(CLIENT4, '10.9.9.9', 1, 80)), verdict: 'pass', reason: 'pass.notVip' },
  { name: 'IPv6 not to a VIP', frame: () => frame6(tcp6(CLIENT6, '2001:db8::99', 1, 80)), verdict: 'pass', reason: 'pass.notVip' },
  { name: 'VLAN-tagged, not to a VIP', frame: () => frame4(tcp4(CLIENT4, '10.9.9.9', 1, 80), [12]), verdict: 'pass', reason: 'pass.notVip' },
  { name: 'VIP, port without a service', frame: () => frame4(tcp4(CLIENT4, VIP4, 1, 81)), verdict: 'pass', reason: 'pass.noService' },
  {
    name: 'VIP, UDP where only TCP is served',
    frame: () => frame4(ipv4({ src: CLIENT4, dst: VIP4, proto: PROTO_UDP }, udp({ src: CLIENT4, dst: VIP4, sport: 1, dport: 80 }))),
    verdict: 'pass',
    reason: 'pass.noService',
  },
  {
    name: 'ICMP echo request to a VIP',
    frame: () => frame4(ipv4({ src: CLIENT4, dst: VIP4, proto: PROTO_ICMP }, icmp4(8, 0, be32(0x00010001), pattern(32)))),
    verdict: 'pass',
    reason: 'pass.vipIcmp',
  },
  {
    name: 'ICMPv6 neighbour solicitation for a VIP',
    frame: () =>
      frame6(
        ipv6({ src: CLIENT6, dst: VIP6, nextHeader: PROTO_ICMPV6, hopLimit: 255 }, icmp6(CLIENT6, VIP6, 135, 0, be32(0), ip6(VIP6))),
      ),
    verdict: 'pass',
    reason: 'pass.vipIcmp',
  },
  {
    name: 'ICMP error quoting a port that is no service',
    frame: () =>
      frame4(
        ipv4({ src: ROUTER4, dst: VIP4, proto: PROTO_ICMP }, icmp4(3, 3, be32(0), tcp4(VIP4, CLIENT4, 9999, 1234).subarray(0, 28))),
      ),
    verdict: 'pass',
    reason: 'pass.vipIcmp',
  },
  { name: 'IPv4 IHL 4 (shorter than the header)', frame: () => frame4(patched(tcp4(CLIENT4, VIP4, 1, 80), 0, 0x44)), verdict: 'drop', reason: 'drop.malformed' },
  { name: 'IPv4 IHL 15 in a 40-byte packet', frame: () => frame4(patched(tcp4(CLIENT4, VIP4, 1, 80), 0, 0x4f)), verdict: 'drop', reason: 'drop.malformed' },
  {
    name: 'IPv4 total length beyond the frame (truncated payload)',
    frame: () => frame4(tcp4(CLIENT4, VIP4, 1, 80).subarray(0, 30)),
    verdict: 'drop',
    reason: 'drop.malformed',
  },
  {
    name: 'IPv4 total length smaller than the header',
    frame: () => frame4(ipv4({ src: CLIENT4, dst: VIP4, proto: PROTO_TCP, totLen: 16 }, tcp({ src: CLIENT4, dst: VIP4, sport: 1, dport: 80 }))),
    verdict: 'drop',
    reason: 'drop.malformed',
  },
  { name: 'version 6 inside an IPv4 ethertype', frame: () => frame4(patched(tcp4(CLIENT4, VIP4, 1, 80), 0, 0x65)), verdict: 'drop', reason: 'drop.malformed' },
  {
    name: 'TCP header cut short (IP length consistent)',
    frame: () => frame4(ipv4({ src: CLIENT4, dst: VIP4, proto: PROTO_TCP }, tcp({ src: CLIENT4, dst: VIP4, sport: 1, dport: 80 }).subarray(0, 12))),
    verdict: 'drop',
    reason: 'drop.malformed',
  },
  {
    name: 'UDP header cut short',
    frame: () => frame6(ipv6({ src: CLIENT6, dst: VIP6, nextHeader: PROTO_UDP }, Buffer.from([0, 1, 0, 80]))),
    verdict: 'drop',
    reason: 'drop.malformed',
  },
  {
    name: 'IPv6 payload length beyond the frame',
    frame: () => frame6(ipv6({ src: CLIENT6, dst: VIP6, nextHeader: PROTO_TCP, payloadLen: 400 }, tcp({ src: CLIENT6, dst: VIP6, sport: 1, dport: 80 }))),
    verdict: 'drop',
    reason: 'drop.malformed',
  },
  {
    name: 'IPv4 options',
    frame: () =>
      frame4(
        ipv4(
          { src: CLIENT4, dst: VIP4, proto: PROTO_TCP, options: Buffer.from([0x94, 0x04, 0, 0]) }, // router alert
          tcp({ src: CLIENT4, dst: VIP4, sport: 1, dport: 80 }),
        ),
      ),
    verdict: 'drop',
    reason: 'drop.ipOptions',
  },
  {
    name: 'IPv4 first fragment (MF, offset 0)',
    frame: () => frame4(ipv4({ src: CLIENT4, dst: VIP4, proto: PROTO_TCP, df: false, mf: true }, tcp({ src: CLIENT4, dst: VIP4, sport: 1, dport: 80 }))),
    verdict: 'drop',
    reason: 'drop.fragment',
  },
  {
    name: 'IPv4 non-first fragment',
    frame: () => frame4(ipv4({ src: CLIENT4, dst: VIP4, proto: PROTO_TCP, df: false, fragOffset: 185 }, pattern(40))),
    verdict: 'drop',
    reason: 'drop.fragment',
  },
  { name: 'IPv6 fragment header', frame: () => frame6(ipv6WithExt(44)), verdict: 'drop', reason: 'drop.fragment' },
  { name: 'IPv6 hop-by-hop options', frame: () => frame6(ipv6WithExt(0)), verdict: 'drop', reason: 'drop.ipv6ExtHeader' },
  { name: 'IPv6 routing header', frame: () => frame6(ipv6WithExt(43)), verdict: 'drop', reason: 'drop.ipv6ExtHeader' },
  { name: 'IPv6 destination options', frame: () => frame6(ipv6WithExt(60)), verdict: 'drop', reason: 'drop.ipv6ExtHeader' },
  {
    name: 'GRE to a VIP',
    frame: () => frame4(ipv4({ src: CLIENT4, dst: VIP4, proto: 47 }, pattern(24))),
    verdict: 'drop',
    reason: 'drop.unsupportedProtocol',
  },
  {
    name: 'ICMPv6 inside IPv4 (protocol 58 is not IPv4 ICMP)',
    frame: () => frame4(ipv4({ src: CLIENT4, dst: VIP4, proto: PROTO_ICMPV6 }, pattern(8))),
    verdict: 'drop',
    reason: 'drop.unsupportedProtocol',
  },
  {
    name: 'ICMP header cut short',
    frame: () => frame4(ipv4({ src: ROUTER4, dst: VIP4, proto: PROTO_ICMP }, Buffer.from([3, 4, 0, 0]))),
    verdict: 'drop',
    reason: 'drop.malformed',
  },
  {
    name: 'ICMP error whose quote ends before the ports',
    frame: () =>
      frame4(ipv4({ src: ROUTER4, dst: VIP4, proto: PROTO_ICMP }, icmp4(3, 4, be32(1400), tcp4(VIP4, CLIENT4, 80, 1234).subarray(0, 22)))),
    verdict: 'drop',
    reason: 'drop.malformed',
  },
  { name: 'service without backends', frame: () => frame4(tcp4(CLIENT4, VIP_EMPTY, 1, 80)), verdict: 'drop', reason: 'drop.noBackend' },
  { name: 'TCP SYN to an IPv4 service', frame: () => frame4(tcp4(CLIENT4, VIP4, 1, 80)), verdict: 'tx', reason: 'tx.ipip' },
  { name: 'TCP SYN to an IPv6 service', frame: () => frame6(tcp6(CLIENT6, VIP6, 1, 80)), verdict: 'tx', reason: 'tx.ip6ip6' },
];

describe('verdicts and counters', () => {
  let dp: LbDatapath;
  beforeAll(() => {
    dp = loadDatapath();
    configure(dp);
    dp.upsertService({ id: 1, vip: VIP4, port: 80, protocol: 'tcp' });
    dp.setBackends(1, BACKENDS4.map((address, i) => ({ id: 10 + i, address, weight: 1 })));
    dp.upsertService({ id: 2, vip: VIP6, port: 80, protocol: 'tcp' });
    dp.setBackends(2, BACKENDS6.map((address, i) => ({ id: 20 + i, address, weight: 1 })));
    dp.upsertService({ id: 3, vip: VIP_EMPTY, port: 80, protocol: 'tcp' });
  });
  afterAll(() => dp?.close());

  it('has at least 20 malformed or unusual inputs', () => {
    expect(cases.filter((c) => c.verdict !== 'tx').length).toBeGreaterThanOrEqual(20);
  });

  it.each(cases)('$name → $verdict ($reason)', (c) => {
    const frame = c.frame();
    const r = runFrame(dp, frame);
    expect(r.verdict).toBe(c.verdict);
    const { global } = r.delta;
    expect(global[`verdict.${c.verdict}`]).toBe(1);
    expect(global[c.reason]).toBe(1);
    // No other verdict or reason moved.
    const reasons = Object.keys(global).filter((k) => /^(verdict|pass|tx|drop)\./.test(k));
    expect(reasons.sort()).toEqual([`verdict.${c.verdict}`, c.reason].sort());
    if (c.verdict === 'pass') expect(r.frame.equals(frame)).toBe(true); // passed untouched
  });

  it('counts VLAN-tagged VIP traffic', () => {
    const r = runFrame(dp, frame4(tcp4(CLIENT4, VIP4, 7, 80), [100]));
    expect(r.verdict).toBe('tx');
    expect(r.delta.global).toMatchObject({ 'event.vlan': 1, 'tx.ipip': 1 });
  });

  it('ICMP errors quoting a VIP flow go to the backend that serves the flow (IPv4 and IPv6)', () => {
    // Establish flows, note their backends, then send errors about them from a router.
    for (let port = 2000; port < 2010; port++) {
      const data = runFrame(dp, frame4(tcp4(CLIENT4, VIP4, port, 80)));
      expect(data.verdict).toBe('tx');
      const backend = data.frame.subarray(14 + 16, 14 + 20);
      const flow = dp.lookupFlow({ src: CLIENT4, dst: VIP4, sport: port, dport: 80, protocol: 'tcp' })!;
      expect(ip4(BACKENDS4[flow.backendId - 10]!).equals(backend)).toBe(true);

      // Frag-needed for the backend's reply VIP:80 → client:port.
      const quote = tcp4(VIP4, CLIENT4, 80, port).subarray(0, 28);
      const err = ipv4({ src: ROUTER4, dst: VIP4, proto: PROTO_ICMP }, icmp4(3, 4, Buffer.concat([be16(0), be16(1400)]), quote));
      const r = runFrame(dp, frame4(err));
      expect(r.verdict).toBe('tx');
      expect(r.frame.subarray(14 + 16, 14 + 20).equals(backend)).toBe(true);
      expect(r.frame[14 + 9]).toBe(PROTO_IPIP);
      expect(r.frame.subarray(14 + 20).equals(err)).toBe(true); // the ICMP packet itself, untouched
      expect(r.delta.global).toMatchObject({ 'verdict.tx': 1, 'tx.ipip': 1, 'event.icmpForwarded': 1 });
      expect(r.delta.global['flow.hit']).toBeUndefined(); // errors never touch the flow table
      expect(r.delta.backends.get(flow.backendId)).toBe(1);
    }

    for (let port = 3000; port < 3005; port++) {
      const data = runFrame(dp, frame6(tcp6(CLIENT6, VIP6, port, 80)));
      const backend = data.frame.subarray(14 + 24, 14 + 40);
      const quote = tcp6(VIP6, CLIENT6, 80, port).subarray(0, 48);
      for (const [type, code] of [
        [2, 0], // packet too big
        [1, 4], // port unreachable
        [3, 0], // hop limit exceeded
      ] as const) {
        const err = ipv6({ src: ROUTER6, dst: VIP6, nextHeader: PROTO_ICMPV6 }, icmp6(ROUTER6, VIP6, type, code, be32(1400), quote));
        const r = runFrame(dp, frame6(err));
        expect(r.verdict).toBe('tx');
        expect(r.frame[14 + 6]).toBe(PROTO_IPV6);
        expect(r.frame.subarray(14 + 24, 14 + 40).equals(backend)).toBe(true);
        expect(r.frame.subarray(14 + 40).equals(err)).toBe(true);
        expect(r.delta.global['event.icmpForwarded']).toBe(1);
      }
    }
  });

  it('an ICMP error for a flow the table does not know goes where Maglev would place that flow', () => {
    const port = 4321;
    const place = dp.placement({ src: CLIENT4, dst: VIP4, sport: port, dport: 80, protocol: 'tcp' })!;
    const quote = tcp4(VIP4, CLIENT4, 80, port).subarray(0, 28);
    const err = ipv4({ src: ROUTER4, dst: VIP4, proto: PROTO_ICMP }, icmp4(11, 0, be32(0), quote));
    const r = runFrame(dp, frame4(err));
    expect(r.verdict).toBe('tx');
    expect(r.frame.subarray(14 + 16, 14 + 20).equals(ip4(BACKENDS4[place.backendId! - 10]!))).toBe(true);
    expect(dp.lookupFlow({ src: CLIENT4, dst: VIP4, sport: port, dport: 80, protocol: 'tcp' })).toBeUndefined();
  });

  it('per-service and per-backend counters count packets and bytes', () => {
    const before = dp.readCounters();
    const frames = [frame4(tcp4(CLIENT4, VIP4, 5000, 80)), frame4(tcp4(CLIENT4, VIP4, 5001, 80)), frame6(tcp6(CLIENT6, VIP6, 5000, 80))];
    const outs = frames.map((f) => dp.testRun(f));
    const after = dp.readCounters();
    const d = counterDelta(before, after);
    expect(d.services).toEqual(new Map([[1, 2], [2, 1]]));
    const perBackend = [...d.backends.values()].reduce((a, b) => a + b, 0);
    expect(perBackend).toBe(3);
    // Bytes are frame bytes as received.
    const svcBytes = after.services.get(1)!.bytes - (before.services.get(1)?.bytes ?? 0);
    expect(svcBytes).toBe(frames[0]!.length + frames[1]!.length);
    expect(after.verdict.tx.bytes - before.verdict.tx.bytes).toBe(frames.reduce((a, f) => a + f.length, 0));
    expect(outs.every((o) => o.verdict === 'tx')).toBe(true);
  });
});

describe('without lb_config', () => {
  it('drops VIP traffic (noConfig) until MACs and a source are set; passes the rest', () => {
    const dp = loadDatapath();
    try {
      dp.upsertService({ id: 1, vip: VIP4, port: 80, protocol: 'tcp' });
      dp.setBackends(1, [{ id: 1, address: BACKENDS4[0]!, weight: 1 }, { id: 2, address: BACKENDS6[0]!, weight: 1 }]);
      let r = runFrame(dp, frame4(tcp4(CLIENT4, VIP4, 1, 80)));
      expect(r.verdict).toBe('drop');
      expect(r.delta.global['drop.noConfig']).toBe(1);
      expect(runFrame(dp, frame4(tcp4(CLIENT4, '10.9.9.9', 1, 80))).verdict).toBe('pass');

      // IPv6 source only: flows placed on the IPv4 backend still cannot be encapsulated.
      dp.setConfig({ ifMac: IF_MAC, gatewayMac: GW_MAC, sourceV6: 'fd00:ff::1' });
      const outcomes = new Map<string, number>();
      for (let port = 1; port <= 64; port++) {
        r = runFrame(dp, frame4(tcp4(CLIENT4, VIP4, port, 80)));
        const key = Object.keys(r.delta.global).find((k) => k.startsWith('tx.') || k.startsWith('drop.'))!;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }
      expect([...outcomes.keys()].sort()).toEqual(['drop.noConfig', 'tx.ip4in6']);
    } finally {
      dp.close();
    }
  });
});

