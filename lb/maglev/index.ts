// The public door of the Maglev table generator; other modules import from here only.
export { buildMaglevTable, type MaglevTable } from './table.js';
export type { MaglevBackend, MaglevOptions } from './validate.js';
export { MaglevError } from './errors.js';
export {
  ALLOWED_TABLE_SIZES,
  DEFAULT_TABLE_SIZE,
  MAGLEV_NO_BACKEND,
  MAX_BACKENDS,
  MAX_KEY_BYTES,
  MAX_WEIGHT,
  MIN_SLOTS_PER_BACKEND_FOR_ACCURACY,
} from './limits.js';
export {
  murmur3_32,
  keyBytes,
  permutationParams,
  SKIP_SEED_XOR,
  MAGLEV_HASH_TEST_VECTORS,
  type HashTestVector,
  type PermutationParams,
} from './hash.js';
