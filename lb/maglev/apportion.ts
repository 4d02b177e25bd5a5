// How many slots each active backend gets, decided before any slot is assigned.
//
// Fixing the counts first (rather than letting them fall out of the fill) is what makes weighted
// shares exact: every backend ends within one slot of size × weight / totalWeight, for any mix of
// weights. The fill (fill.ts) then only decides *which* slots, in preference order.
import { MaglevError } from './errors.js';
import type { CanonicalBackend } from './validate.js';

/**
 * Largest-remainder (Hamilton) apportionment of `size` slots by weight. Backend i first gets
 * floor(size·wᵢ / W); the few slots left over (fewer than the number of backends) go one each to
 * the largest remainders size·wᵢ mod W, ties to the earlier backend in canonical (key) order.
 * All products are < 2^53, so the arithmetic is exact integer arithmetic in doubles.
 *
 * Throws if a backend's ideal share is below one slot: with that few slots per weight unit the
 * table cannot express the requested ratio at all, and the caller should pick a larger size.
 */
export function apportionSlots(active: readonly CanonicalBackend[], size: number): Int32Array {
  const n = active.length;
  let totalWeight = 0;
  for (const b of active) totalWeight += b.weight;

  const quota = new Int32Array(n);
  const remainder = new Float64Array(n);
  let assigned = 0;
  for (let i = 0; i < n; i++) {
    const b = active[i];
    const scaled = size * b.weight;
    if (scaled < totalWeight) {
      throw new MaglevError(
        `backends[${b.inputIndex}].weight`,
        `backend ${b.key} has weight ${b.weight} of ${totalWeight} in total, an ideal share of ` +
          `${(scaled / totalWeight).toFixed(3)} slots of ${size}: below one slot. Use a larger size ` +
          `or less extreme weights.`,
      );
    }
    const q = Math.floor(scaled / totalWeight);
    quota[i] = q;
    remainder[i] = scaled - q * totalWeight;
    assigned += q;
  }

  let leftover = size - assigned;
  if (leftover > 0) {
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => remainder[b] - remainder[a] || a - b);
    for (let r = 0; leftover > 0; r++, leftover--) quota[order[r]]++;
  }
  return quota;
}
