// The key hash and the table sizes are the part of the Maglev format another implementation must
// reproduce bit for bit; these tests pin them against published reference values.
import { describe, expect, it } from 'vitest';
import {
  ALLOWED_TABLE_SIZES,
  DEFAULT_TABLE_SIZE,
  keyBytes,
  MAGLEV_HASH_TEST_VECTORS,
  murmur3_32,
  permutationParams,
  SKIP_SEED_XOR,
} from '../../lb/maglev/index.js';

const bytes = (...b: number[]) => Uint8Array.from(b);

// MurmurHash3_x86_32 reference vectors from SMHasher's implementation, as published and used by
// many independent ports. Together they cover tails of 0–3 bytes, multi-block input, unsigned
// seeds and UTF-8 text.
const SMHASHER_VECTORS: [Uint8Array, number, number][] = [
  [bytes(), 0, 0x00000000],
  [bytes(), 1, 0x514e28b7],
  [bytes(), 0xffffffff, 0x81f16f39],
  [bytes(0xff, 0xff, 0xff, 0xff), 0, 0x76293b50],
  [bytes(0x21, 0x43, 0x65, 0x87), 0, 0xf55b516b],
  [bytes(0x21, 0x43, 0x65, 0x87), 0x5082edee, 0x2362f9de],
  [bytes(0x21, 0x43, 0x65), 0, 0x7e4a8634],
  [bytes(0x21, 0x43), 0, 0xa0f7b07a],
  [bytes(0x21), 0, 0x72661cf4],
  [bytes(0, 0, 0, 0), 0, 0x2362f9de],
  [bytes(0, 0, 0), 0, 0x85f0b427],
  [bytes(0, 0), 0, 0x30f4c306],
  [bytes(0), 0, 0x514e28b7],
  [keyBytes('aaaa'), 0x9747b28c, 0x5a97808a],
  [keyBytes('aaa'), 0x9747b28c, 0x283e0130],
  [keyBytes('aa'), 0x9747b28c, 0x5d211726],
  [keyBytes('a'), 0x9747b28c, 0x7fa09ea6],
  [keyBytes('abcd'), 0x9747b28c, 0xf0478627],
  [keyBytes('abc'), 0x9747b28c, 0xc84a62dd],
  [keyBytes('ab'), 0x9747b28c, 0x74875592],
  [keyBytes('Hello, world!'), 0x9747b28c, 0x24884cba],
  [keyBytes('ππππππππ'), 0x9747b28c, 0xd58063c1],
  [keyBytes('a'.repeat(256)), 0x9747b28c, 0x37405bdc],
  [keyBytes('abc'), 0, 0xb3dd93fa],
  [keyBytes('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'), 0, 0xee925b90],
  [keyBytes('The quick brown fox jumps over the lazy dog'), 0x9747b28c, 0x2fa826cd],
];

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

describe('maglev key hash (MurmurHash3 x86_32 over UTF-8)', () => {
  it.each(SMHASHER_VECTORS.map(([b, seed, h]) => [Buffer.from(b).toString('hex') || '(empty)', b, seed, h] as const))(
    'matches the SMHasher reference for %s',
    (_label, input, seed, expected) => {
      expect(murmur3_32(input, seed)).toBe(expected);
    },
  );

  it('hashes UTF-8 bytes, not UTF-16 code units', () => {
    expect(Buffer.from(keyBytes('π')).toString('hex')).toBe('cf80');
    expect(murmur3_32(keyBytes('ππππππππ'), 0x9747b28c)).toBe(0xd58063c1);
  });

  it.each(MAGLEV_HASH_TEST_VECTORS.map((v) => [v.key, v] as const))(
    'reproduces the frozen xlb vector for %s',
    (key, v) => {
      const input = keyBytes(key);
      expect(murmur3_32(input, v.seed)).toBe(v.h1);
      expect(murmur3_32(input, (v.seed ^ SKIP_SEED_XOR) >>> 0)).toBe(v.h2);
      expect(permutationParams(input, v.seed, 65537)).toEqual({ offset: v.offset65537, skip: v.skip65537 });
      // offset/skip are defined from h1/h2 as documented, not by some other path
      expect(v.offset65537).toBe(v.h1 % 65537);
      expect(v.skip65537).toBe((v.h2 % 65536) + 1);
    },
  );

  it('exports enough frozen vectors to catch a regression (IPv4, IPv6, port, non-ASCII, seeds)', () => {
    expect(MAGLEV_HASH_TEST_VECTORS.length).toBeGreaterThanOrEqual(5);
    expect(new Set(MAGLEV_HASH_TEST_VECTORS.map((v) => v.seed)).size).toBeGreaterThanOrEqual(3);
  });
});

describe('maglev table sizes', () => {
  it('lists primes from 251 to 131071, ascending, with 65537 as the default', () => {
    expect(ALLOWED_TABLE_SIZES[0]).toBe(251);
    expect(ALLOWED_TABLE_SIZES.at(-1)).toBe(131071);
    expect(ALLOWED_TABLE_SIZES).toContain(DEFAULT_TABLE_SIZE);
    expect(DEFAULT_TABLE_SIZE).toBe(65537);
    for (let i = 0; i < ALLOWED_TABLE_SIZES.length; i++) {
      expect(isPrime(ALLOWED_TABLE_SIZES[i]!), `${ALLOWED_TABLE_SIZES[i]} is prime`).toBe(true);
      if (i > 0) expect(ALLOWED_TABLE_SIZES[i]!).toBeGreaterThan(ALLOWED_TABLE_SIZES[i - 1]!);
    }
  });

  it.each([...ALLOWED_TABLE_SIZES])('every preference list is a full permutation of %i slots', (size) => {
    for (const key of ['10.1.0.5', '[2001:db8::5]', 'backend-ü']) {
      const { offset, skip } = permutationParams(keyBytes(key), 7, size);
      expect(offset).toBeGreaterThanOrEqual(0);
      expect(offset).toBeLessThan(size);
      expect(skip).toBeGreaterThanOrEqual(1);
      expect(skip).toBeLessThan(size);
      const seen = new Uint8Array(size);
      let slot = offset;
      for (let j = 0; j < size; j++) {
        seen[slot] = 1;
        slot = (slot + skip) % size;
      }
      expect(seen.every((s) => s === 1)).toBe(true);
    }
  });
});
