// Addresses and service ids: strict parsing, one canonical spelling, and the unicast rule.
import { describe, expect, it } from 'vitest';
import {
  canonicalServiceId,
  formatIp,
  formatServiceId,
  parseIp,
  parsePrefix,
  parseServiceId,
  parseUnicastIp,
  ValidationError,
} from '../../lb/model/index.js';

function errorOf(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error('expected a ValidationError, nothing was thrown');
}

describe('parseIp', () => {
  it.each([
    ['10.0.0.1', 4, '10.0.0.1'],
    ['255.255.255.254', 4, '255.255.255.254'],
    ['2001:DB8::1', 6, '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', 6, '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', 6, '2001:db8::1:0:0:1'], // first of two equal runs
    ['2001:db8:0:1:0:0:0:1', 6, '2001:db8:0:1::1'], // longest run, not the first
    ['2001:db8:0:1:1:1:1:1', 6, '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
    ['::', 6, '::'],
    ['::1', 6, '::1'],
    ['1::', 6, '1::'],
    ['::ffff:192.0.2.1', 6, '::ffff:192.0.2.1'],
    ['::ffff:c000:0201', 6, '::ffff:192.0.2.1'],
    ['64:ff9b::192.0.2.33', 6, '64:ff9b::c000:221'],
    ['1:2:3:4:5:6:7:8', 6, '1:2:3:4:5:6:7:8'],
    ['fd00:0:0:0:0:0:0:0', 6, 'fd00::'],
  ])('%s → IPv%i %s', (text, family, canonical) => {
    const ip = parseIp(text, 'f');
    expect(ip.family).toBe(family);
    expect(ip.text).toBe(canonical);
    expect(ip.bytes.length).toBe(family === 4 ? 4 : 16);
    expect(parseIp(ip.text, 'f').text).toBe(canonical); // canonical is a fixed point
  });

  it('gets the bytes right', () => {
    expect(Array.from(parseIp('::ffff:192.0.2.1', 'f').bytes)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 192, 0, 2, 1]);
    expect(Array.from(parseIp('2001:db8::1', 'f').bytes.subarray(0, 4))).toEqual([0x20, 0x01, 0x0d, 0xb8]);
    expect(formatIp(Uint8Array.from([192, 0, 2, 1]))).toBe('192.0.2.1');
  });

  it.each([
    ['', 'is required'],
    ['010.0.0.1', 'not a valid'],
    ['1.2.3', 'not a valid'],
    [' 1.2.3.4', 'not a valid'],
    ['1.2.3.256', 'not a valid'],
    ['0x7f.0.0.1', 'not a valid'],
    ['1::2::3', 'not a valid'],
    ['[::1]', 'without brackets'],
    ['fe80::1%eth0', 'zone ids'],
    ['2001:db8::1/64', 'not a valid'],
    ['example.com', 'not a valid'],
  ])('rejects %j (%s)', (text, message) => {
    const e = errorOf(() => parseIp(text, 'service.vip'));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.field).toBe('service.vip');
    expect(e.message).toContain('service.vip: ');
    expect(e.message).toContain(message);
  });

  it('rejects non-strings', () => {
    expect(errorOf(() => parseIp(42, 'x')).message).toBe('x: expected an IP address string, got 42');
  });
});

describe('parseUnicastIp', () => {
  it.each([
    ['0.0.0.0', '0.0.0.0/8'],
    ['0.1.2.3', '0.0.0.0/8'],
    ['127.0.0.1', 'loopback'],
    ['169.254.1.1', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved (240.0.0.0/4)'],
    ['254.1.2.3', 'reserved (240.0.0.0/4)'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['ff02::1', 'multicast'],
    ['fe80::1', 'link-local'],
    ['::ffff:10.0.0.1', 'write the IPv4 address 10.0.0.1 instead'],
    ['::10.0.0.1', 'IPv4-compatible'],
  ])('rejects %s (%s)', (text, reason) => {
    const e = errorOf(() => parseUnicastIp(text, 'vip', 'VIP'));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toContain(reason);
    expect(e.message).toContain('a VIP must be a routable unicast address');
  });

  it.each(['10.0.0.10', '192.0.2.1', '100.64.0.1', '223.255.255.254', '2001:db8::10', 'fd00::1', '64:ff9b::1'])('accepts %s', (text) => {
    expect(parseUnicastIp(text, 'vip', 'VIP').text).toBe(parseIp(text, 'vip').text);
  });
});

describe('parsePrefix', () => {
  it.each([
    ['10.0.0.0/8', '10.0.0.0/8', 8],
    ['0.0.0.0/0', '0.0.0.0/0', 0],
    ['192.0.2.7/32', '192.0.2.7/32', 32],
    ['2001:DB8::/32', '2001:db8::/32', 32],
    ['::/0', '::/0', 0],
    ['2001:db8::1/128', '2001:db8::1/128', 128],
  ])('%s', (text, canonical, len) => {
    const p = parsePrefix(text, 'f');
    expect(p.text).toBe(canonical);
    expect(p.prefixLength).toBe(len);
  });

  it('takes a bare address as a host prefix only when allowed', () => {
    expect(parsePrefix('10.1.2.3', 'f', { allowBare: true }).text).toBe('10.1.2.3/32');
    expect(parsePrefix('2001:db8::5', 'f', { allowBare: true }).prefixLength).toBe(128);
    expect(errorOf(() => parsePrefix('10.1.2.3', 'f')).message).toContain('no prefix length');
  });

  it.each([
    ['10.1.2.3/8', 'host bits set; the network is 10.0.0.0/8'],
    ['2001:db8::1/64', 'the network is 2001:db8::/64'],
    ['10.0.0.0/33', '0..32'],
    ['2001:db8::/129', '0..128'],
    ['10.0.0.0/08', '0..32'],
    ['10.0.0.0/', '0..32'],
    ['10.0.0/8', 'not a valid'],
  ])('rejects %s', (text, message) => {
    const e = errorOf(() => parsePrefix(text, 'encap.source_v4'));
    expect(e.field).toBe('encap.source_v4');
    expect(e.message).toContain(message);
  });
});

describe('service ids', () => {
  it.each([
    ['10.0.0.10:80/tcp', { vip: '10.0.0.10', port: 80, protocol: 'tcp' }, '10.0.0.10:80/tcp'],
    ['10.0.0.10:*/udp', { vip: '10.0.0.10', port: 0, protocol: 'udp' }, '10.0.0.10:*/udp'],
    ['[2001:db8::10]:443/tcp', { vip: '2001:db8::10', port: 443, protocol: 'tcp' }, '[2001:db8::10]:443/tcp'],
    ['[2001:DB8:0::0010]:443/TCP', { vip: '2001:db8::10', port: 443, protocol: 'tcp' }, '[2001:db8::10]:443/tcp'],
    ['10.0.0.10:65535/UDP', { vip: '10.0.0.10', port: 65535, protocol: 'udp' }, '10.0.0.10:65535/udp'],
    ['[2001:db8::10]:*/udp', { vip: '2001:db8::10', port: 0, protocol: 'udp' }, '[2001:db8::10]:*/udp'],
  ])('%s', (text, key, canonical) => {
    expect(parseServiceId(text)).toEqual(key);
    expect(canonicalServiceId(text)).toBe(canonical);
    expect(formatServiceId(parseServiceId(canonical))).toBe(canonical);
  });

  it.each([
    ['', 'is empty'],
    ['10.0.0.10', 'not a service id'],
    ['10.0.0.10:80', 'not a service id'],
    ['10.0.0.10/tcp', 'not a service id'],
    ['2001:db8::10:443/tcp', 'IPv6 VIPs go in brackets'],
    ['[10.0.0.10]:80/tcp', 'only IPv6 VIPs go in brackets'],
    ['10.0.0.10:0/tcp', "port 0 is written '*'"],
    ['10.0.0.10:65536/tcp', 'must be 1..65535'],
    ['10.0.0.10:080/tcp', 'must be 1..65535'],
    ['10.0.0.10:-1/tcp', 'must be 1..65535'],
    ['10.0.0.10:80/sctp', 'unknown protocol "sctp"'],
    ['10.0.0.10:80/', 'unknown protocol ""'],
    ['127.0.0.1:80/tcp', 'loopback'],
    ['[::]:80/tcp', 'unspecified'],
    ['10.0.0.010:80/tcp', 'not a valid'],
  ])('rejects %j (%s)', (text, message) => {
    const e = errorOf(() => parseServiceId(text));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.field).toBe('service_id');
    expect(e.message).toContain(message);
  });
});
