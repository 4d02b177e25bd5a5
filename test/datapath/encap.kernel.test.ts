// Encapsulation and ICMP replies, byte for byte. Every expected frame is built independently with
// test/datapath/packets.ts (its own header writer and checksum); scapy then re-checks the checksums
// of what the datapath produced.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flowHash, type LbDatapath } from '../../lb/datapath/index.js';
import { CLIENT_MAC, GW_MAC, IF_MAC, SEED, SRC_V4, SRC_V6, configure, loadDatapath, runFrame } from './harness.js';
import {
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
  inetChecksum,
  ip4,
  ip6,
  ipv4,
  ipv6,
  pattern,
  tcp,
  udp,
} from '../lab/packets.js';

const CLIENT4 = '192.0.2.7';
const CLIENT6 = '2001:db8:c::7';
const VIP4 = '10.0.0.10'; // → IPv4 backend (IPIP)
const VIP4_TO6 = '10.0.0.11'; // → IPv6 backend (4in6)
const VIP6 = '2001:db8::10'; // → IPv6 backend (IP6IP6)
const VIP6_TO4 = '2001:db8::11'; // → IPv4 backend (6in4)
const BE4 = '10.1.0.1';
const BE6 = 'fd00:1::1';
const BE6B = 'fd00:1::2';
const BE4B = '10.1.0.4';
const TOS = 0xb9; // DSCP 46 (EF) + ECN ECT(1)

const toClient = { dst: IF_MAC, src: CLIENT_MAC };
const toGateway = { dst: GW_MAC, src: IF_MAC };
const backToClient = { dst: CLIENT_MAC, src: IF_MAC };

function hashOf(src: string, dst: string, sport: number, dport: number, proto: number): number {
  const v6 = src.includes(':');
  const addr = (a: string) => {
    const b = Buffer.alloc(16);
    (v6 ? ip6(a) : ip4(a)).copy(b);
    return b;
  };
  return flowHash({ family: v6 ? 6 : 4, src: addr(src), dst: addr(dst), sport, dport, proto }, SEED, false);
}

function tcp4(src: string, dst: string, sport: number, dport: number, payloadLen: number, o: { df?: boolean; tos?: number; id?: number } = {}) {
  return ipv4(
    { src, dst, proto: PROTO_TCP, tos: o.tos ?? TOS, df: o.df ?? true, id: o.id ?? 0x1234, ttl: 57 },
    tcp({ src, dst, sport, dport, flags: 0x18, payload: pattern(payloadLen) }),
  );
}

function udp6(src: string, dst: string, sport: number, dport: number, payloadLen: number, tc = TOS) {
  return ipv6(
    { src, dst, nextHeader: PROTO_UDP, trafficClass: tc, flowLabel: 0x12345, hopLimit: 61 },
    udp({ src, dst, sport, dport, payload: pattern(payloadLen, 7) }),
  );
}

/** scapy (an independent implementation) recomputes every checksum in the frame; returns mismatches. */
function scapyChecksumErrors(frames: Buffer[]): string[] {
  const script = `
import sys, json
from scapy.all import Ether, NoPayload
from scapy.layers.inet import IPerror, TCPerror, UDPerror
from scapy.layers.inet6 import IPerror6

def layers(p):
    while not isinstance(p, NoPayload):
        yield p
        p = p.payload

QUOTED = (IPerror, TCPerror, UDPerror, IPerror6)  # truncated quotes: their checksums are the original's
bad = []
for n, h in enumerate(json.load(sys.stdin)):
    raw = bytes.fromhex(h)
    q = Ether(raw)
    checked = []
    for l in layers(q):
        if isinstance(l, QUOTED):
            break
        for f in ('chksum', 'cksum'):
            if f in l.fields:
                checked.append((l.name, f, l.fields[f]))
                setattr(l, f, None)
    r = Ether(bytes(q))
    recomputed = [(l.name, f, l.fields[f]) for l in layers(r) if not isinstance(l, QUOTED)
                  for f in ('chksum', 'cksum') if f in l.fields]
    for want, got in zip(checked, recomputed):
        if want != got:
            bad.append(f"frame {n}: {want} != {got}")
    if not checked:
        bad.append(f"frame {n}: no checksum found")
print(json.dumps(bad))
`;
  const out = execFileSync('/usr/bin/python3', ['-c', script], {
    input: JSON.stringify(frames.map((f) => f.toString('hex'))),
    encoding: 'utf8',
  });
  return JSON.parse(out) as string[];
}

describe('encapsulation, exact bytes', () => {
  let dp: LbDatapath;
  const produced: Buffer[] = [];

  beforeAll(() => {
    dp = loadDatapath();
    configure(dp);
    dp.upsertService({ id: 1, vip: VIP4, port: 80, protocol: 'tcp' });
    dp.setBackends(1, [{ id: 1, address: BE4, weight: 1 }]);
    dp.upsertService({ id: 2, vip: VIP6, port: 53, protocol: 'udp' });
    dp.setBackends(2, [{ id: 2, address: BE6, weight: 1 }]);
    dp.upsertService({ id: 3, vip: VIP4_TO6, port: 80, protocol: 'tcp' });
    dp.setBackends(3, [{ id: 3, address: BE6B, weight: 1 }]);
    dp.upsertService({ id: 4, vip: VIP6_TO4, port: 53, protocol: 'udp' });
    dp.setBackends(4, [{ id: 4, address: BE4B, weight: 1 }]);
  });
  afterAll(() => dp?.close());

  it('IPv4 VIP → IPv4 backend: IPIP, TTL 64, TOS and DF copied, checksum, gateway MACs, inner untouched', () => {
    const inner = tcp4(CLIENT4, VIP4, 40000, 80, 100);
    const r = runFrame(dp, ether(toClient, ETH_P_IP, inner));
    const expected = ether(toGateway, ETH_P_IP, ipv4({ src: SRC_V4, dst: BE4, proto: PROTO_IPIP, tos: TOS, df: true, id: 0, ttl: 64 }, inner));
    expect(r.verdict).toBe('tx');
    expect(r.frame.toString('hex')).toBe(expected.toString('hex'));
    expect(r.delta.global).toMatchObject({ 'verdict.tx': 1, 'tx.ipip': 1 });
    produced.push(r.frame);
  });

  it('IPv6 VIP → IPv6 backend: IP6IP6 (next header 41), hop limit 64, traffic class copied, flow label from the flow hash', () => {
    const inner = udp6(CLIENT6, VIP6, 5353, 53, 64);
    const r = runFrame(dp, ether(toClient, ETH_P_IPV6, inner));
    const label = hashOf(CLIENT6, VIP6, 5353, 53, PROTO_UDP) & 0xfffff;
    const expected = ether(
      toGateway,
      ETH_P_IPV6,
      ipv6({ src: SRC_V6, dst: BE6, nextHeader: PROTO_IPV6, trafficClass: TOS, flowLabel: label, hopLimit: 64 }, inner),
    );
    expect(r.verdict).toBe('tx');
    expect(r.frame.toString('hex')).toBe(expected.toString('hex'));
    expect(r.delta.global).toMatchObject({ 'verdict.tx': 1, 'tx.ip6ip6': 1 });
    produced.push(r.frame);
  });

  it('IPv4 VIP → IPv6 backend: 4in6 (next header 4), TOS → traffic class', () => {
    const inner = tcp4(CLIENT4, VIP4_TO6, 40001, 80, 10, { tos: 0x28 });
    const r = runFrame(dp, ether(toClient, ETH_P_IP, inner));
    const label = hashOf(CLIENT4, VIP4_TO6, 40001, 80, PROTO_TCP) & 0xfffff;
    const expected = ether(
      toGateway,
      ETH_P_IPV6,
      ipv6({ src: SRC_V6, dst: BE6B, nextHeader: PROTO_IPIP, trafficClass: 0x28, flowLabel: label, hopLimit: 64 }, inner),
    );
    expect(r.verdict).toBe('tx');
    expect(r.frame.toString('hex')).toBe(expected.toString('hex'));
    expect(r.delta.global).toMatchObject({ 'verdict.tx': 1, 'tx.ip4in6': 1 });
    produced.push(r.frame);
  });

  it('IPv6 VIP → IPv4 backend: 6in4 (protocol 41) with DF set', () => {
    const inner = udp6(CLIENT6, VIP6_TO4, 5354, 53, 20, 0x00);
    const r = runFrame(dp, ether(toClient, ETH_P_IPV6, inner));
    const expected = ether(toGateway, ETH_P_IP, ipv4({ src: SRC_V4, dst: BE4B, proto: PROTO_IPV6, tos: 0, df: true, id: 0, ttl: 64 }, inner));
    expect(r.verdict).toBe('tx');
    expect(r.frame.toString('hex')).toBe(expected.toString('hex'));
    expect(r.delta.global).toMatchObject({ 'tx.ip6in4': 1 });
    produced.push(r.frame);
  });

  it('IPv4 without DF: outer DF clear, an ID that varies, valid checksum', () => {
    const inner = tcp4(CLIENT4, VIP4, 40002, 80, 30, { df: false });
    const ids = new Set<number>();
    for (let i = 0; i < 4; i++) {
      const r = runFrame(dp, ether(toClient, ETH_P_IP, inner));
      expect(r.verdict).toBe('tx');
      const outer = r.frame.subarray(14, 34);
      ids.add(outer.readUInt16BE(4));
      expect(outer.readUInt16BE(6)).toBe(0); // no DF, no fragment
      expect(inetChecksum(outer)).toBe(0);
      // Everything but ID and checksum is as specified.
      const expected = ipv4({ src: SRC_V4, dst: BE4, proto: PROTO_IPIP, tos: TOS, df: false, id: 0, ttl: 64 }, inner);
      const got = Buffer.from(r.frame.subarray(14));
      got.writeUInt16BE(0, 4);
      got.writeUInt16BE(0, 10);
      expected.writeUInt16BE(0, 10);
      expect(got.toString('hex')).toBe(expected.toString('hex'));
    }
    expect(ids.size).toBeGreaterThan(1);
  });

  it('802.1Q-tagged VIP traffic is balanced and keeps its tag; 802.1ad+802.1Q too', () => {
    const inner = tcp4(CLIENT4, VIP4, 40003, 80, 0);
    for (const vlans of [[100], [200, 300]]) {
      const r = runFrame(dp, ether({ ...toClient, vlans }, ETH_P_IP, inner));
      const expected = ether(
        { ...toGateway, vlans },
        ETH_P_IP,
        ipv4({ src: SRC_V4, dst: BE4, proto: PROTO_IPIP, tos: TOS, df: true, id: 0, ttl: 64 }, inner),
      );
      expect(r.verdict).toBe('tx');
      expect(r.frame.toString('hex')).toBe(expected.toString('hex'));
      expect(r.delta.global).toMatchObject({ 'tx.ipip': 1, 'event.vlan': 1 });
      produced.push(r.frame);
    }
    // IPv6 over VLAN as well.
    const inner6 = udp6(CLIENT6, VIP6, 5355, 53, 8);
    const r6 = runFrame(dp, ether({ ...toClient, vlans: [7] }, ETH_P_IPV6, inner6));
    expect(r6.verdict).toBe('tx');
    expect(r6.frame.subarray(12, 18).toString('hex')).toBe('81000007' + '86dd');
    expect(r6.frame.subarray(18 + 40).equals(inner6)).toBe(true);
  });

  it('Ethernet padding after a short IP packet stays behind it, outside the outer length fields (no resize of the tail)', () => {
    // A pure TCP ACK: 40 IP bytes in a 54-byte frame, padded to the Ethernet minimum of 60.
    const pad = Buffer.alloc(6, 0xee);
    const inner = tcp4(CLIENT4, VIP4, 40004, 80, 0);
    const r = runFrame(dp, Buffer.concat([ether(toClient, ETH_P_IP, inner), pad]));
    const outer = ipv4({ src: SRC_V4, dst: BE4, proto: PROTO_IPIP, tos: TOS, df: true, id: 0, ttl: 64 }, inner);
    expect(r.verdict).toBe('tx');
    expect(r.frame.toString('hex')).toBe(Buffer.concat([ether(toGateway, ETH_P_IP, outer), pad]).toString('hex'));
    expect(r.frame.readUInt16BE(14 + 2)).toBe(20 + 40); // total length: the IP packets, not the padding
    produced.push(r.frame);
    // With two VLAN tags, and into IPv6 (payload length = the inner packet).
    const r6 = runFrame(dp, Buffer.concat([ether({ ...toClient, vlans: [5, 6] }, ETH_P_IP, tcp4(CLIENT4, VIP4_TO6, 40004, 80, 0)), pad]));
    const inner6 = tcp4(CLIENT4, VIP4_TO6, 40004, 80, 0);
    const label = hashOf(CLIENT4, VIP4_TO6, 40004, 80, PROTO_TCP) & 0xfffff;
    const expected6 = ether(
      { ...toGateway, vlans: [5, 6] },
      ETH_P_IPV6,
      ipv6({ src: SRC_V6, dst: BE6B, nextHeader: PROTO_IPIP, trafficClass: TOS, flowLabel: label, hopLimit: 64 }, inner6),
    );
    expect(r6.verdict).toBe('tx');
    expect(r6.frame.toString('hex')).toBe(Buffer.concat([expected6, pad]).toString('hex'));
    expect(r6.delta.global).toMatchObject({ 'tx.ip4in6': 1, 'event.vlan': 1 });
  });

  it('per-flow outer source from a CIDR: network | (flow hash & host bits), both families', () => {
    dp.setConfig({ ifMac: IF_MAC, gatewayMac: GW_MAC, sourceCidrV4: '10.254.7.0/24', sourceCidrV6: 'fd00:fe::/112' });
    try {
      const seen = new Set<string>();
      for (let sport = 41000; sport < 41016; sport++) {
        const inner = tcp4(CLIENT4, VIP4, sport, 80, 0);
        const r = runFrame(dp, ether(toClient, ETH_P_IP, inner));
        const h = hashOf(CLIENT4, VIP4, sport, 80, PROTO_TCP);
        const src = `10.254.7.${h & 0xff}`;
        const expected = ether(toGateway, ETH_P_IP, ipv4({ src, dst: BE4, proto: PROTO_IPIP, tos: TOS, df: true, id: 0, ttl: 64 }, inner));
        expect(r.frame.toString('hex')).toBe(expected.toString('hex'));
        seen.add(src);
      }
      expect(seen.size).toBeGreaterThan(8);

      const inner6 = udp6(CLIENT6, VIP6, 6000, 53, 4);
      const r6 = runFrame(dp, ether(toClient, ETH_P_IPV6, inner6));
      const h6 = hashOf(CLIENT6, VIP6, 6000, 53, PROTO_UDP);
      const src6 = `fd00:fe::${(h6 & 0xffff).toString(16)}`;
      const expected6 = ether(
        toGateway,
        ETH_P_IPV6,
        ipv6({ src: src6, dst: BE6, nextHeader: PROTO_IPV6, trafficClass: TOS, flowLabel: h6 & 0xfffff, hopLimit: 64 }, inner6),
      );
      expect(r6.frame.toString('hex')).toBe(expected6.toString('hex'));
      expect(dp.getConfig()).toEqual({
        ifMac: IF_MAC,
        gatewayMac: GW_MAC,
        sourceCidrV4: '10.254.7.0/24',
        sourceCidrV6: 'fd00:fe::/112',
      });
    } finally {
      configure(dp);
    }
  });

  it('IPv4 DF packet too big for IPIP → ICMP frag-needed from the VIP, MTU 1480, 576-byte reply quoting the packet', () => {
    const inner = tcp4(CLIENT4, VIP4, 40005, 80, 1450); // 1490 bytes + 20 > 1500
    const r = runFrame(dp, ether({ ...toClient, vlans: [42] }, ETH_P_IP, inner));
    const expected = ether(
      { ...backToClient, vlans: [42] },
      ETH_P_IP,
      ipv4(
        { src: VIP4, dst: CLIENT4, proto: PROTO_ICMP, tos: 0, df: false, id: 0, ttl: 64 },
        icmp4(3, 4, Buffer.concat([be16(0), be16(1480)]), inner.subarray(0, 548)),
      ),
    );
    expect(r.verdict).toBe('tx');
    expect(r.frame.length).toBe(18 + 576);
    expect(r.frame.toString('hex')).toBe(expected.toString('hex'));
    expect(r.delta.global).toMatchObject({ 'verdict.tx': 1, 'tx.icmpFragNeeded': 1 });
    expect(r.delta.backends.size).toBe(0);
    expect(r.delta.services.get(1)).toBe(1);
    produced.push(r.frame);
  });

  it('IPv4 DF packet too big for 4in6 → frag-needed with MTU 1460 (40-byte overhead)', () => {
    const inner = tcp4(CLIENT4, VIP4_TO6, 40006, 80, 1430); // 1470 + 40 > 1500
    const r = runFrame(dp, ether(toClient, ETH_P_IP, inner));
    const expected = ether(
      backToClient,
      ETH_P_IP,
      ipv4(
        { src: VIP4_TO6, dst: CLIENT4, proto: PROTO_ICMP, tos: 0, df: false, id: 0, ttl: 64 },
        icmp4(3, 4, Buffer.concat([be16(0), be16(1460)]), inner.subarray(0, 548)),
      ),
    );
    expect(r.frame.toString('hex')).toBe(expected.toString('hex'));
    // 1460 + 40 fits exactly: encapsulated.
    const fits = tcp4(CLIENT4, VIP4_TO6, 40006, 80, 1420);
    expect(runFrame(dp, ether(toClient, ETH_P_IP, fits)).delta.global).toMatchObject({ 'tx.ip4in6': 1 });
  });

  it('IPv6 packet too big → ICMPv6 Packet Too Big from the VIP, MTU 1460, 1280-byte reply', () => {
    const inner = udp6(CLIENT6, VIP6, 5356, 53, 1420); // 40 + 8 + 1420 = 1468 + 40 > 1500
    const r = runFrame(dp, ether(toClient, ETH_P_IPV6, inner));
    const expected = ether(
      backToClient,
      ETH_P_IPV6,
      ipv6(
        { src: VIP6, dst: CLIENT6, nextHeader: PROTO_ICMPV6, hopLimit: 64 },
        icmp6(VIP6, CLIENT6, 2, 0, be32(1460), inner.subarray(0, 1232)),
      ),
    );
    expect(r.verdict).toBe('tx');
    expect(r.frame.length).toBe(14 + 1280);
    expect(r.frame.toString('hex')).toBe(expected.toString('hex'));
    expect(r.delta.global).toMatchObject({ 'verdict.tx': 1, 'tx.icmp6PacketTooBig': 1 });
    produced.push(r.frame);
  });

  it('IPv6 too big for 6in4 → Packet Too Big with MTU 1480', () => {
    const inner = udp6(CLIENT6, VIP6_TO4, 5357, 53, 1440); // 1488 + 20 > 1500
    const r = runFrame(dp, ether(toClient, ETH_P_IPV6, inner));
    expect(r.verdict).toBe('tx');
    expect(r.frame.subarray(14 + 40, 14 + 48).toString('hex')).toBe(
      icmp6(VIP6_TO4, CLIENT6, 2, 0, be32(1480), inner.subarray(0, 1232)).subarray(0, 8).toString('hex'),
    );
  });

  it('IPv4 without DF over the MTU: IPIP anyway (counted encapOverMtu); into IPv6 (4in6): dropped tooBig', () => {
    const big = tcp4(CLIENT4, VIP4, 40007, 80, 1450, { df: false });
    const r = runFrame(dp, ether(toClient, ETH_P_IP, big));
    expect(r.verdict).toBe('tx');
    expect(r.delta.global).toMatchObject({ 'tx.ipip': 1, 'event.encapOverMtu': 1 });
    expect(r.frame.subarray(14 + 20).equals(big)).toBe(true);

    const big6 = tcp4(CLIENT4, VIP4_TO6, 40007, 80, 1450, { df: false });
    const r6 = runFrame(dp, ether(toClient, ETH_P_IP, big6));
    expect(r6.verdict).toBe('drop');
    expect(r6.delta.global).toMatchObject({ 'verdict.drop': 1, 'drop.tooBig': 1 });
  });

  it('scapy agrees with every checksum the datapath wrote', () => {
    expect(produced.length).toBeGreaterThanOrEqual(8);
    expect(scapyChecksumErrors(produced)).toEqual([]);
  });
});
