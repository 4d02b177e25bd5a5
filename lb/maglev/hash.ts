// The one hash every xlb node uses to place backends in a Maglev table. It must never change
// silently: two nodes (or two releases) that disagree on a single bit send the same flow to
// different backends. So it is a published, fully specified function — MurmurHash3 x86_32
// (Austin Appleby, public domain, SMHasher) over the key's UTF-8 bytes — that any language can
// reproduce from its spec, and the tests pin both the SMHasher reference vectors and our own
// key → (offset, skip) vectors below.

/**
 * MurmurHash3_x86_32 of `bytes` with a 32-bit `seed`; returns an unsigned 32-bit integer.
 * Bit-exact with the SMHasher reference (little-endian 4-byte blocks, tail, fmix32).
 */
export function murmur3_32(bytes: Uint8Array, seed: number): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const length = bytes.length;
  const blockEnd = length & ~3;
  let h = seed >>> 0;

  for (let i = 0; i < blockEnd; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }

  const tail = length & 3;
  if (tail !== 0) {
    let k = bytes[blockEnd];
    if (tail >= 2) k |= bytes[blockEnd + 1] << 8;
    if (tail === 3) k |= bytes[blockEnd + 2] << 16;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }

  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The second hash is the same function under a different seed. MurmurHash3's seed enters the
 * state before any input is mixed, so the two outputs are as unrelated as two independent hash
 * functions for our purpose (offset and skip must not be correlated, or backends with similar
 * keys would walk the table in lock-step). The constant is 2^32 / golden ratio, chosen only
 * because it is a well-known "nothing up my sleeve" number.
 */
export const SKIP_SEED_XOR = 0x9e3779b9;

const utf8 = new TextEncoder();

/** UTF-8 bytes of a backend key: the exact input of both hashes. */
export function keyBytes(key: string): Uint8Array {
  // Keys are nearly always ASCII addresses; copying code units directly is several times faster
  // than TextEncoder for such short strings, and identical to UTF-8 for ASCII.
  const bytes = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) {
    const unit = key.charCodeAt(i);
    if (unit > 0x7f) return utf8.encode(key);
    bytes[i] = unit;
  }
  return bytes;
}

export interface PermutationParams {
  /** First preferred slot: murmur3_32(key, seed) mod size. */
  offset: number;
  /** Step between preferred slots: murmur3_32(key, seed ^ SKIP_SEED_XOR) mod (size − 1) + 1. */
  skip: number;
}

/**
 * A backend's preference list in a table of prime `size` is slot(j) = (offset + j·skip) mod size,
 * j = 0 … size−1. Because size is prime and 1 ≤ skip < size, this visits every slot exactly once.
 */
export function permutationParams(bytes: Uint8Array, seed: number, size: number): PermutationParams {
  const h1 = murmur3_32(bytes, seed);
  const h2 = murmur3_32(bytes, (seed ^ SKIP_SEED_XOR) >>> 0);
  return { offset: h1 % size, skip: (h2 % (size - 1)) + 1 };
}

export interface HashTestVector {
  key: string;
  seed: number;
  /** murmur3_32(utf8(key), seed) */
  h1: number;
  /** murmur3_32(utf8(key), seed ^ SKIP_SEED_XOR) */
  h2: number;
  /** permutationParams for a table of 65537 slots */
  offset65537: number;
  skip65537: number;
}

/**
 * Regression vectors for xlb's Maglev key hashing. Another implementation that reproduces these
 * (and follows lb/maglev/SPEC.md) builds byte-identical tables. Never edit these to make a test
 * pass: a change here means every deployed table changes.
 */
export const MAGLEV_HASH_TEST_VECTORS: readonly HashTestVector[] = Object.freeze([
  // Produced by this implementation when the format was frozen; 'backend-ü' checks UTF-8 input.
  { key: '10.1.0.5', seed: 0x00000000, h1: 0x55918ae3, h2: 0x787f79e9, offset65537: 13650, skip65537: 31210 },
  { key: '10.1.0.5', seed: 0x00000001, h1: 0xb5f1ec56, h2: 0xaabfc66b, offset65537: 13925, skip65537: 50796 },
  { key: '[2001:db8::5]', seed: 0x00000000, h1: 0x4342355b, h2: 0xb4e20721, offset65537: 61978, skip65537: 1826 },
  { key: '192.168.100.200:8080', seed: 0x9747b28c, h1: 0xf15ad4a8, h2: 0x88b98ddf, offset65537: 58191, skip65537: 36320 },
  { key: 'backend-\u00fc', seed: 0xdeadbeef, h1: 0x944c07ec, h2: 0xc01bb664, offset65537: 29601, skip65537: 46693 },
  { key: 'a', seed: 0xffffffff, h1: 0x2a684527, h2: 0x17f9f9dd, offset65537: 6847, skip65537: 63966 },
]);
