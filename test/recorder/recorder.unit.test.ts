// The recorder's userspace pieces on their own: the filter grammar and its error positions, filter
// validation, the pcap / pcapng writers (read back by the real tshark), the clock arithmetic, and
// the CLI's value parsers. Kernel and network behaviour: the recorder's kernel and lab tests.
import { describe, expect, it } from 'vitest';
import { parseByteCount, parseDuration } from '../../api/cli/commands/record.js';
import { ValidationError, parseIp, toDatapathBytes } from '../../lb/model/index.js';
import { realMinusMono } from '../../recorder/clock.js';
import { FilterSyntaxError, parseFilter, parseFilters, ruleToSpec } from '../../recorder/filter.js';
import { REC_MAX_SNAPLEN, RecKey, RecMask, recFilterBit, recFilterHash, recShape } from '../../lb/datapath/index.js';
import { pcapWriter, pcapngWriter, type CapturedPacket } from '../../recorder/pcap.js';
import { kernelRule, validateFilter, validateFilters, validateSnaplen, type FilterSpec } from '../../recorder/rules.js';
import { epochToNs, pcapFrames, tsharkReadBytes } from './tshark.js';
import { ETH_P_IP, ETH_P_IPV6, PROTO_TCP, PROTO_UDP, ether, ipv4, ipv6, tcp, udp } from '../lab/packets.js';

function syntaxError(input: string): FilterSyntaxError {
  try {
    parseFilter(input);
  } catch (e) {
    if (e instanceof FilterSyntaxError) return e;
    throw e;
  }
  throw new Error(`${input} parsed`);
}

/** The token the caret points at. */
const pointed = (e: FilterSyntaxError) => e.input.slice(e.start, e.start + e.length);

describe('filter grammar', () => {
  it('parses the documented forms into canonical rules', () => {
    const cases: [string, string][] = [
      ['10.0.0.0/8 any -> 192.168.33.11 80 tcp', '10.0.0.0/8 any -> 192.168.33.11 80 tcp'],
      ['any -> 10.100.0.10 80 tcp', 'any any -> 10.100.0.10 80 tcp'],
      ['* * -> * *', 'any any -> any any any'],
      ['10.1.1.2 -> 10.100.0.10', '10.1.1.2 any -> 10.100.0.10 any any'],
      ['10.1.1.2/32 1234 -> 10.100.0.10/32 53 udp', '10.1.1.2 1234 -> 10.100.0.10 53 udp'],
      ['[fd00:1::]/48 -> [fd00:100::10] 443 tcp', '[fd00:1::]/48 any -> [fd00:100::10] 443 tcp'],
      ['[FD00:100:0::10]/128 any -> any', '[fd00:100::10] any -> any any any'],
      ['fd00:1::/64 -> any icmp6', '[fd00:1::]/64 any -> any any icmp'],
      ['any->10.0.0.1 ICMP', 'any any -> 10.0.0.1 any icmp'],
      ['0.0.0.0/0 any -> ::/0 any', '0.0.0.0/0 any -> [::]/0 any any'],
    ];
    // ::/0 with 0.0.0.0/0 is a family mismatch; the last case is expected to throw, handled below.
    for (const [input, canonical] of cases.slice(0, -1)) {
      const r = parseFilter(input);
      expect({ input, text: r.text }).toEqual({ input, text: canonical });
      expect(parseFilter(r.text)).toEqual(r); // the canonical text parses back to the same rule
    }
    expect(pointed(syntaxError('0.0.0.0/0 any -> ::/0 any'))).toBe('::/0');
  });

  it('families, wildcards and ports come out as the kernel encoding expects', () => {
    const r = parseFilter('10.1.0.0/16 any -> any 80 tcp');
    expect(r.family).toBe(4);
    const { key, mask } = kernelRule(r);
    expect(Buffer.from(key.src).toString('hex')).toBe('0a010000' + '00'.repeat(12));
    expect(Buffer.from(key.dst).equals(Buffer.alloc(16))).toBe(true);
    expect(key).toMatchObject({ family: 4, sport: 0, dport: 80, proto: 6, srcPlen: 16, dstPlen: 0 });
    // The shape: prefix lengths, family, and which of sport (1) / dport (2) / proto (4) are exact.
    expect(mask).toEqual({ srcPlen: 16, dstPlen: 0, family: 4, fields: 2 | 4 });
    expect(kernelRule(parseFilter('any -> any icmp'))).toMatchObject({ key: { family: 0, proto: 1 }, mask: { family: 0, fields: 4 } });
    expect(kernelRule(parseFilter('any 53 -> any')).mask).toEqual({ srcPlen: 0, dstPlen: 0, family: 0, fields: 1 });
    const v6 = kernelRule(parseFilter('[fd00::]/64 -> [fd00:100::10] udp'));
    expect(v6.key).toMatchObject({ family: 6, proto: 17, srcPlen: 64, dstPlen: 128 });
    expect(Buffer.from(v6.key.src).toString('hex')).toBe('fd00' + '00'.repeat(14));
    expect(ruleToSpec(parseFilter('[fd00::1] 5 -> any'))).toEqual({ srcCidr: 'fd00::1/128', dstCidr: '', srcPort: 5, dstPort: 0, proto: 'any' });
  });

  it('errors point at the offending token', () => {
    const cases: [string, string, RegExp][] = [
      ['10.0.0.0/8 any -> 192.168.33.11 80x tcp', '80x', /not a port/],
      ['10.0.0.0/8 any -> 192.168.33.11 70000 tcp', '70000', /not a port 1\.\.65535/],
      ['10.0.0.1/8 any -> any', '10.0.0.1/8', /host bits set; the network is 10\.0\.0\.0\/8/],
      ['10.0.0.0/33 -> any', '10.0.0.0/33', /prefix length must be an integer 0\.\.32/],
      ['10.0.0.300 -> any', '10.0.0.300', /not a valid IPv4 or IPv6 address/],
      ['10.0.0.0/8 any 10.0.0.1', '10.0.0.1', /expected "->"/],
      ['10.0.0.0/8 any -> 10.0.0.1 80 sctp', 'sctp', /not a protocol/],
      ['any -> 10.0.0.1 80 icmp', '80', /ICMP has no ports/],
      ['10.0.0.0/8 -> [fd00::1]', '[fd00::1]', /is IPv6 but src_cidr .* is IPv4/],
      ['any -> any tcp extra', 'extra', /unexpected "extra"/],
      ['[fd00::1 -> any', '[fd00::1', /unbalanced brackets/],
      ['any -> 0 tcp', '0', /not a valid IPv4 or IPv6 address/],
      ['any 0 -> any', '0', /not a port 1\.\.65535/],
    ];
    for (const [input, token, problem] of cases) {
      const e = syntaxError(input);
      expect({ input, token: pointed(e) }).toEqual({ input, token });
      expect(e.problem).toMatch(problem);
      expect(e.pointer().split('\n')[1]).toBe(' '.repeat(e.start) + '^'.repeat(token.length));
    }
    const end = syntaxError('10.0.0.0/8 any ->');
    expect(end.start).toBe('10.0.0.0/8 any ->'.length);
    expect(end.problem).toMatch(/expected the destination address/);
    expect(syntaxError('   ').problem).toMatch(/empty filter/);
  });

  it('parseFilters names which filter failed', () => {
    expect(() => parseFilters(['any -> any', 'any -> any bogus'])).toThrow(/^filter 2: "bogus" is not a protocol/);
    expect(parseFilters(['any -> any', '10.0.0.0/8 -> any']).map((r) => r.text)).toEqual([
      'any any -> any any any',
      '10.0.0.0/8 any -> any any any',
    ]);
  });
});

describe('filter validation (gRPC field names)', () => {
  const err = (fn: () => unknown): ValidationError => {
    try {
      fn();
    } catch (e) {
      if (e instanceof ValidationError) return e;
      throw e;
    }
    throw new Error('no error');
  };

  it('names the field and the problem', () => {
    expect(err(() => validateFilters([])).message).toBe('filters: at least one filter is required (1..64)');
    expect(err(() => validateFilters(Array.from({ length: 65 }, () => ({})))).message).toBe('filters: 65 filters; a recording takes at most 64');
    expect(err(() => validateFilters([{}, { srcCidr: '10.0.0.0/40' }])).message).toMatch(/^filters\[1\]\.src_cidr: /);
    expect(err(() => validateFilter({ dstPort: 65536 }, 'filters[0]')).message).toBe('filters[0].dst_port: 65536 is not a port 0..65535 (0 = any)');
    expect(err(() => validateFilter({ srcPort: 1.5 }, 'f')).field).toBe('f.src_port');
    expect(err(() => validateFilter({ proto: 'sctp' as never }, 'f')).message).toBe('f.proto: "sctp" is not one of any, tcp, udp, icmp');
    expect(err(() => validateFilter({ proto: 'icmp', dstPort: 7 }, 'f')).field).toBe('f.dst_port');
    expect(err(() => validateFilter({ srcCidr: 'fd00::/8', dstCidr: '10.0.0.0/8' }, 'f')).field).toBe('f.dst_cidr');
    expect(err(() => validateFilter({ srcCidr: '10.0.0.1/24' }, 'f')).code).toBe('INVALID_ARGUMENT');
    expect(validateFilter({}, 'f')).toMatchObject({ family: 0, proto: 'any', srcPort: 0, dstPort: 0, text: 'any any -> any any any' });
  });

  it('snaplen: 0 is the maximum, bounds enforced', () => {
    expect(validateSnaplen(0)).toBe(REC_MAX_SNAPLEN);
    expect(validateSnaplen(undefined)).toBe(REC_MAX_SNAPLEN);
    expect(validateSnaplen(1)).toBe(1);
    expect(validateSnaplen(4096)).toBe(4096);
    expect(err(() => validateSnaplen(4097)).message).toBe('snaplen: 4097 is out of range 1..4096 (0 = 4096)');
    expect(err(() => validateSnaplen(-1)).field).toBe('snaplen');
  });
});

describe('capture files, read back by tshark', () => {
  const client = '10.1.1.2';
  const vip = '10.100.0.10';
  const frame4 = ether(
    { dst: '02:00:00:00:00:01', src: '02:00:00:00:00:09' },
    ETH_P_IP,
    ipv4({ src: client, dst: vip, proto: PROTO_TCP }, tcp({ src: client, dst: vip, sport: 40000, dport: 80, payload: Buffer.alloc(300, 1) })),
  );
  const frame6 = ether(
    { dst: '02:00:00:00:00:01', src: '02:00:00:00:00:09' },
    ETH_P_IPV6,
    ipv6({ src: 'fd00:1:1::2', dst: 'fd00:100::10', nextHeader: PROTO_UDP }, udp({ src: 'fd00:1:1::2', dst: 'fd00:100::10', sport: 5353, dport: 53 })),
  );
  // A timestamp whose nanoseconds a microsecond format would lose.
  const t0 = 1_763_781_234_123_456_789n;
  const packets: CapturedPacket[] = [
    { tsNs: t0, point: 'ingress', len: frame4.length, data: frame4.subarray(0, 64) },
    { tsNs: t0 + 1n, point: 'egress', len: frame4.length, data: frame4 },
    { tsNs: t0 + 1_000_000_001n, point: 'ingress', len: frame6.length, data: frame6 },
  ];

  it('pcap: nanosecond magic, LINKTYPE_ETHERNET, snaplen, exact timestamps, caplen/len, frame bytes', () => {
    const w = pcapWriter(2000);
    const file = Buffer.concat([w.header(), ...packets.map((p) => w.packet(p))]);
    expect(file.readUInt32LE(0)).toBe(0xa1b23c4d);
    expect(file.subarray(0, 4).toString('hex')).toBe('4d3cb2a1');
    expect(file.readUInt32LE(16)).toBe(2000);
    expect(file.readUInt32LE(20)).toBe(1);
    const got = tsharkReadBytes(file);
    expect(got.map((p) => p.epochNs)).toEqual(packets.map((p) => p.tsNs));
    expect(got.map((p) => [p.len, p.capLen])).toEqual([
      [frame4.length, 64],
      [frame4.length, frame4.length],
      [frame6.length, frame6.length],
    ]);
    expect(got[0]).toMatchObject({ src: [client], dst: [vip], srcPort: 40000, dstPort: 80 });
    expect(got[2]).toMatchObject({ src: ['fd00:1:1::2'], dst: ['fd00:100::10'], dstPort: 53 });
    expect(pcapFrames(file)[1]!.equals(frame4)).toBe(true);
  });

  it('pcapng: one interface per observation point, direction flags, nanosecond resolution, Wireshark filters work', () => {
    const w = pcapngWriter({ snaplen: 4096, comment: 'test section' });
    const file = Buffer.concat([w.header(), ...packets.map((p) => w.packet(p))]);
    expect(file.readUInt32LE(0)).toBe(0x0a0d0d0a);
    const got = tsharkReadBytes(file);
    expect(got.map((p) => p.epochNs)).toEqual(packets.map((p) => p.tsNs));
    expect(got.map((p) => [p.interfaceName, p.direction])).toEqual([
      ['xlb-ingress', 1],
      ['xlb-egress', 2],
      ['xlb-ingress', 1],
    ]);
    expect(got.map((p) => p.capLen)).toEqual([64, frame4.length, frame6.length]);
    expect(tsharkReadBytes(file, 'frame.interface_name == "xlb-egress"').length).toBe(1);
    expect(tsharkReadBytes(file, 'frame.packet_flags_direction == 1').length).toBe(2);
  });

  it('a header alone is a valid empty capture in both formats', () => {
    expect(tsharkReadBytes(pcapWriter(100).header())).toEqual([]);
    expect(tsharkReadBytes(pcapngWriter({ snaplen: 100 }).header())).toEqual([]);
  });
});

describe('boot time → wall clock', () => {
  it('REALTIME − MONOTONIC from Date.now() ticks agrees with Date.now() to within a millisecond', () => {
    const { diffNs, uncertaintyNs } = realMinusMono();
    expect(uncertaintyNs).toBeLessThan(1_000_000);
    const wallNow = process.hrtime.bigint() + diffNs;
    const err = Number(wallNow - BigInt(Date.now()) * 1_000_000n);
    // Date.now() floors to the millisecond: the estimate is at most 1 ms ahead, never behind.
    expect(err).toBeGreaterThanOrEqual(-100_000);
    expect(err).toBeLessThan(1_100_000);
  });

  it('epochToNs keeps all nine digits', () => {
    expect(epochToNs('1763781234.123456789')).toBe(1_763_781_234_123_456_789n);
    expect(epochToNs('5.1')).toBe(5_100_000_000n);
  });
});

describe('xlb record value parsers', () => {
  it('durations and byte counts', () => {
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1.5')).toBe(1500);
    for (const bad of ['', 'abc', '10x', '-1s', '0']) expect(() => parseDuration(bad)).toThrow(/duration like 10s/);
    expect(parseByteCount('1500')).toBe(1500);
    expect(parseByteCount('10k')).toBe(10_000);
    expect(parseByteCount('2M')).toBe(2_000_000);
    for (const bad of ['0', '1.5', 'k', '10T']) expect(() => parseByteCount(bad)).toThrow(/whole number >= 1/);
  });
});

describe('rule filter (bpf/lb/recorder.h rec_filter_bit, recShape, recFilterBit)', () => {
  /** A packet's tuple as the datapath hashes it: first address words, ports, proto | family << 8
   *  (ICMPv6 folded into ICMP), each as a little-endian load sees it. */
  interface Tuple {
    src: string;
    dst: string;
    sport: number;
    dport: number;
    proto: number;
  }
  const word0 = (a: string) => Buffer.from(toDatapathBytes(parseIp(a, 'a'))).readUInt32LE(0);
  const be16le = (n: number) => ((n & 0xff) << 8) | (n >> 8);
  /** The bit the datapath tests for a packet under the shape of `rule` (rec_search). */
  function packetBit(t: Tuple, rule: ReturnType<typeof kernelRule>): number {
    const sh = recShape(rule.mask);
    const family = t.src.includes(':') ? 6 : 4;
    const proto = family === 6 && t.proto === 58 ? 1 : t.proto;
    const maskWord = RecMask.encode(rule.mask).readUInt32LE(0);
    return recFilterHash(word0(t.src) & sh.src, word0(t.dst) & sh.dst, ((be16le(t.sport) | (be16le(t.dport) << 16)) & sh.ports) >>> 0, ((proto | (family << 8)) & sh.pf) ^ maskWord);
  }
  const rule = (f: FilterSpec) => kernelRule(validateFilters([f])[0]!);
  const ruleBit = (r: ReturnType<typeof kernelRule>) => recFilterBit(RecKey.encode(r.key), r.mask);
  const cases: [FilterSpec, Tuple[]][] = [
    [{ srcCidr: '10.1.0.0/16' }, [
      { src: '10.1.2.3', dst: '10.100.0.10', sport: 40000, dport: 80, proto: 6 },
      { src: '10.1.255.254', dst: '192.0.2.1', sport: 0, dport: 0, proto: 1 },
    ]],
    [{ dstCidr: '10.100.0.10', dstPort: 80, proto: 'tcp' }, [
      { src: '10.1.2.3', dst: '10.100.0.10', sport: 40000, dport: 80, proto: 6 },
      { src: '172.16.0.1', dst: '10.100.0.10', sport: 1, dport: 80, proto: 6 },
    ]],
    [{ srcCidr: 'fd00:1::/48', srcPort: 5353 }, [{ src: 'fd00:1:0:7::1', dst: 'fd00:100::10', sport: 5353, dport: 53, proto: 17 }]],
    [{ dstCidr: 'fd00:100::10', dstPort: 53, proto: 'udp' }, [{ src: 'fd00:1:0:7::1', dst: 'fd00:100::10', sport: 999, dport: 53, proto: 17 }]],
    [{ dstPort: 443, proto: 'tcp' }, [
      { src: '10.1.2.3', dst: '10.100.0.10', sport: 40000, dport: 443, proto: 6 },
      { src: 'fd00:1::1', dst: 'fd00:100::10', sport: 40000, dport: 443, proto: 6 },
    ]],
    [{ proto: 'icmp' }, [
      { src: '10.1.2.3', dst: '10.100.0.10', sport: 0, dport: 0, proto: 1 },
      { src: 'fd00:1::1', dst: 'fd00:100::10', sport: 0, dport: 0, proto: 58 },
    ]],
  ];

  it('every packet a rule matches tests the rule\'s own bit (a clear bit proves no rule of the shape matches)', () => {
    for (const [f, packets] of cases) {
      const r = rule(f);
      for (const t of packets) expect({ f, t, bit: packetBit(t, r) }).toEqual({ f, t, bit: ruleBit(r) });
    }
  });

  it('shapes mask the first address word to the prefix, ports and protocol only where compared', () => {
    expect(recShape(rule({ srcCidr: '10.1.0.0/16' }).mask)).toMatchObject({ src: word0('255.255.0.0'), dst: 0, ports: 0, pf: 0xff00 });
    expect(recShape(rule({ srcCidr: 'fd00:1::/48', srcPort: 5353 }).mask)).toMatchObject({ src: 0xffffffff, dst: 0, ports: 0xffff, pf: 0xff00 });
    expect(recShape(rule({ dstCidr: '10.0.0.0/7', dstPort: 80, proto: 'tcp' }).mask)).toMatchObject({ dst: word0('254.0.0.0'), ports: 0xffff0000, pf: 0xffff });
    expect(recShape(rule({ dstPort: 443, proto: 'tcp' }).mask)).toMatchObject({ src: 0, dst: 0, ports: 0xffff0000, pf: 0xff });
  });

  it('packets the rule does not match mostly test another bit (the filter spares their hash lookups)', () => {
    const r = rule({ srcCidr: '10.200.7.0/24' });
    let same = 0;
    for (let i = 0; i < 4096; i++) {
      const t = { src: `10.${(i >> 8) & 255}.${i & 255}.9`, dst: '10.100.0.10', sport: 40000 + i, dport: 80, proto: 6 };
      if (t.src.startsWith('10.200.7.')) continue;
      if (packetBit(t, r) === ruleBit(r)) same++;
    }
    expect(same).toBeLessThan(16); // 2^14 bits: ~0.25 expected among 4096 /24s
  });
});
