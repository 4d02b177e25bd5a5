// Input checking and canonical ordering. Everything a caller can get wrong is caught here, before
// any table work, so a bad request changes nothing and says exactly which field is wrong.
import { MaglevError } from './errors.js';
import { keyBytes } from './hash.js';
import {
  ALLOWED_TABLE_SIZES,
  DEFAULT_TABLE_SIZE,
  MAGLEV_NO_BACKEND,
  MAX_BACKENDS,
  MAX_KEY_BYTES,
  MAX_WEIGHT,
} from './limits.js';

export interface MaglevBackend {
  /** Identity of the backend, hashed to place it: e.g. "10.1.0.5" or "[2001:db8::5]". Compared
   *  byte for byte — callers must format addresses canonically (e.g. RFC 5952 for IPv6). */
  key: string;
  /** Value stored in the table's slots; uint32 chosen by the caller, except 0xFFFFFFFF. */
  id: number;
  /** Integer 0 … 65535. 0 = draining: listed, keeps its id, but gets no slots. */
  weight: number;
}

export interface MaglevOptions {
  backends: readonly MaglevBackend[];
  /** One of ALLOWED_TABLE_SIZES; default DEFAULT_TABLE_SIZE (65537). */
  size?: number;
  /** uint32; default 0. A different seed gives an unrelated table for the same backends. */
  seed?: number;
}

/** A validated backend with its hash input, in canonical position. */
export interface CanonicalBackend {
  key: string;
  id: number;
  weight: number;
  bytes: Uint8Array;
  /** Position in the caller's list, for error messages. */
  inputIndex: number;
}

export interface ValidatedRequest {
  size: number;
  seed: number;
  /** Every backend (draining included), sorted by the UTF-8 bytes of its key. */
  backends: CanonicalBackend[];
}

const KNOWN_OPTIONS = new Set(['backends', 'size', 'seed']);
// Whitespace or control characters in a key are almost always a formatting slip ("10.0.0.1 "),
// which would silently make the same server two different backends.
const BAD_KEY_CHARS = /[\s\p{Cc}]/u;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  return typeof value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkSize(size: unknown): number {
  if (size === undefined) return DEFAULT_TABLE_SIZE;
  if (typeof size !== 'number' || !ALLOWED_TABLE_SIZES.includes(size)) {
    throw new MaglevError(
      'size',
      `${describe(size)} is not an allowed Maglev table size; allowed sizes (primes): ${ALLOWED_TABLE_SIZES.join(', ')}`,
    );
  }
  return size;
}

function checkSeed(seed: unknown): number {
  if (seed === undefined) return 0;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new MaglevError('seed', `${describe(seed)} is not a uint32 (an integer 0 … 4294967295)`);
  }
  return seed;
}

function checkKey(key: unknown, field: string): Uint8Array {
  if (typeof key !== 'string' || key.length === 0) {
    throw new MaglevError(field, `${describe(key)} is not a non-empty string`);
  }
  if (LONE_SURROGATE.test(key)) {
    throw new MaglevError(field, `${describe(key)} is not valid Unicode (lone surrogate); it has no UTF-8 form`);
  }
  if (BAD_KEY_CHARS.test(key)) {
    throw new MaglevError(field, `${describe(key)} contains whitespace or a control character`);
  }
  const bytes = keyBytes(key);
  if (bytes.length > MAX_KEY_BYTES) {
    throw new MaglevError(field, `is ${bytes.length} UTF-8 bytes long; at most ${MAX_KEY_BYTES} allowed`);
  }
  return bytes;
}

function checkId(id: unknown, field: string, key: string): number {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0xffffffff) {
    throw new MaglevError(field, `${describe(id)} (backend ${key}) is not a uint32`);
  }
  if (id === MAGLEV_NO_BACKEND) {
    throw new MaglevError(field, `${id} (backend ${key}) is reserved for "no backend" (MAGLEV_NO_BACKEND)`);
  }
  return id;
}

function checkWeight(weight: unknown, field: string, key: string): number {
  if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) {
    throw new MaglevError(
      field,
      `${describe(weight)} (backend ${key}) is not an integer 0 … ${MAX_WEIGHT} (0 = draining)`,
    );
  }
  return weight;
}

/** Lexicographic order of UTF-8 bytes: the canonical order, identical in every language. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

export function validateRequest(options: unknown): ValidatedRequest {
  if (!isPlainObject(options)) {
    throw new MaglevError('options', `expected an object { backends, size?, seed? }, got ${describe(options)}`);
  }
  for (const name of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(name)) {
      throw new MaglevError(name, `unknown option; known options: ${[...KNOWN_OPTIONS].join(', ')}`);
    }
  }
  const size = checkSize(options.size);
  const seed = checkSeed(options.seed);

  const list = options.backends;
  if (!Array.isArray(list)) {
    throw new MaglevError('backends', `expected an array of { key, id, weight }, got ${describe(list)}`);
  }
  if (list.length === 0) {
    throw new MaglevError(
      'backends',
      'is empty; list at least one backend (a service whose backends all have weight 0 gets a table of MAGLEV_NO_BACKEND)',
    );
  }
  if (list.length > MAX_BACKENDS) {
    throw new MaglevError('backends', `has ${list.length} entries; at most ${MAX_BACKENDS} allowed`);
  }

  const byKey = new Map<string, number>();
  const byId = new Map<number, number>();
  const backends: CanonicalBackend[] = [];
  for (let i = 0; i < list.length; i++) {
    const entry: unknown = list[i];
    const field = `backends[${i}]`;
    if (!isPlainObject(entry)) {
      throw new MaglevError(field, `expected { key, id, weight }, got ${describe(entry)}`);
    }
    const bytes = checkKey(entry.key, `${field}.key`);
    const key = entry.key as string;
    const id = checkId(entry.id, `${field}.id`, key);
    const weight = checkWeight(entry.weight, `${field}.weight`, key);

    const sameKey = byKey.get(key);
    if (sameKey !== undefined) {
      throw new MaglevError(`${field}.key`, `duplicate backend key ${JSON.stringify(key)} (also backends[${sameKey}])`);
    }
    const sameId = byId.get(id);
    if (sameId !== undefined) {
      throw new MaglevError(`${field}.id`, `duplicate backend id ${id} (backend ${key}; also backends[${sameId}])`);
    }
    byKey.set(key, i);
    byId.set(id, i);
    backends.push({ key, id, weight, bytes, inputIndex: i });
  }

  // Canonical order makes the table independent of the order the caller listed backends in.
  backends.sort((a, b) => compareBytes(a.bytes, b.bytes));
  return { size, seed, backends };
}
