// Table sizes and input limits. They are part of the table format: changing them changes which
// tables nodes may build, so they live in one place and are exported for the API layer to show.

/**
 * Allowed Maglev table sizes (slots). Each is prime — the preference-list construction
 * (offset + j·skip) mod M only visits every slot when M is prime — and each is the largest prime
 * below a power of two (2^8 … 2^17), except 65537 = 2^16 + 1 (a Fermat prime, the size used in
 * the Maglev paper) so that the default keeps the paper's figures comparable.
 * Pick M ≥ 100 × (active backends) for shares within 1 %; see DEFAULT_TABLE_SIZE.
 */
export const ALLOWED_TABLE_SIZES: readonly number[] = Object.freeze([
  251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65537, 131071,
]);

/** 65537 slots: shares stay within 1 % of ideal for up to 655 active backends. */
export const DEFAULT_TABLE_SIZE = 65537;

/**
 * Shares are within 1 % of ideal when the table has at least this many slots per active backend
 * (each backend's slot count is within one slot of ideal, so ≥ 100 slots ⇒ ≤ 1 %). Below it the
 * result carries a warning.
 */
export const MIN_SLOTS_PER_BACKEND_FOR_ACCURACY = 100;

/**
 * Weights are integers 0 … 65535 (0 = draining). 16 bits is plenty of resolution for capacity
 * ratios and keeps every intermediate product (size × weight, 2·claims × weight) far below 2^53,
 * so all arithmetic is exact in doubles on every platform.
 */
export const MAX_WEIGHT = 0xffff;

/**
 * Upper bound on entries in one table request (draining ones included). A separate, sharper rule
 * applies to active backends: each one's ideal share must be at least one slot, which caps them
 * at `size` (and lower with uneven weights).
 */
export const MAX_BACKENDS = 65536;

/** Keys are identities such as "10.1.0.5" or "[2001:db8::5]:443"; 255 UTF-8 bytes is ample. */
export const MAX_KEY_BYTES = 255;

/**
 * Backend id written into slots of a table whose service has no active backend (every backend
 * draining). The datapath treats it as "no backend: drop new flows". Callers may not use it as an id.
 */
export const MAGLEV_NO_BACKEND = 0xffffffff;
