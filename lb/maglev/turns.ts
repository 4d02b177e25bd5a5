// The order in which backends take their turns at claiming slots (fill.ts explains why this one).
//
// Backend i takes exactly quotaᵢ turns, its k-th (k = 0 … quotaᵢ−1) at virtual time
// (2k + 1) / (2·wᵢ). All turns of all backends run in order of time, ties to the backend earlier
// in canonical (key) order. That is the whole definition; the rest of this file computes it fast.
//
// Times are defined as exact rationals. This code keeps each as the double nearest to it, which
// orders turns exactly the same way:
//  - k < 131071 and 1 ≤ w ≤ 65535, so two different times p₁/q₁ ≠ p₂/q₂ (q = 2w ≤ 131070) differ
//    by at least 1/(q₁·q₂) > 5.8e-11, while every time is below 2^17, where the spacing of doubles
//    is at most 2^-36 ≈ 1.5e-11: rounding each to the nearest double (IEEE 754 division is
//    correctly rounded, in JavaScript and everywhere else) cannot make them equal or swap them;
//  - equal rationals round to the same double, so ties stay ties and fall to the index.
// (Another implementation may instead compare (2kₐ+1)·w_b with (2k_b+1)·wₐ as 64-bit integers.)

/**
 * The backend index of every turn, in turn order; length Σ quota (= table size).
 *
 * The order is periodic: in each unit of virtual time [e, e+1) backend i takes wᵢ turns, at
 * e + (2j+1)/(2wᵢ), j = 0 … wᵢ−1 — the same pattern every period — and dividing all weights by
 * their gcd changes neither the order nor the quotas. So when one period (Σwᵢ/gcd turns) is no
 * longer than the table, only that period is sorted and then replayed, skipping backends that
 * already hold their quota; dropping a full backend's later turns leaves the others' order as
 * it was, so this is the same sequence. Equal weights make the period the N backends in index
 * order: the paper's round-robin. Otherwise all turns are sorted at once.
 */
export function turnOrder(weight: Int32Array, quota: Int32Array): Int32Array {
  const n = weight.length;
  let total = 0;
  let divisor = 0;
  for (let i = 0; i < n; i++) {
    total += quota[i];
    divisor = gcd(weight[i], divisor);
  }
  let period = 0;
  for (let i = 0; i < n; i++) period += weight[i] / divisor;
  if (period > total) return sortTurns(weight, quota);

  const reduced = Int32Array.from(weight, (w) => w / divisor);
  const pattern = sortTurns(reduced, reduced);
  const order = new Int32Array(total);
  const held = new Int32Array(n);
  // While every backend has room for a whole period of its turns, nobody is skipped: the period is
  // repeated verbatim, so those periods are copied in bulk (the common case is one backend
  // turning per period, with the table almost all full periods). The skipping replay below does
  // the rest; the sequence is the same.
  let full = Infinity;
  for (let i = 0; i < n; i++) full = Math.min(full, Math.floor(quota[i] / reduced[i]));
  let t = 0;
  for (let k = 0; k < full; k++, t += period) order.set(pattern, t);
  for (let i = 0; i < n; i++) held[i] = full * reduced[i];
  while (t < total) {
    for (let p = 0; p < period && t < total; p++) {
      const b = pattern[p];
      if (held[b] === quota[b]) continue;
      held[b]++;
      order[t++] = b;
    }
  }
  return order;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * All turns k < quotaᵢ of every backend, sorted by (time, index).
 *
 * A heap would cost O(log N) unpredictable branches per slot. Instead the turns are bucket-sorted
 * by time: turns are generated backend by backend (so in index order), distributed stably into
 * about one bucket per turn by ⌊time·scale⌋ — monotone in time, so buckets are already in time
 * order — and a final stable insertion sort by time puts the few turns sharing a bucket in order.
 * Stability keeps ties in index order. Expected cost is linear in the number of turns.
 */
function sortTurns(weight: Int32Array, quota: Int32Array): Int32Array {
  const n = weight.length;
  let total = 0;
  let lastTime = 0;
  for (let i = 0; i < n; i++) {
    total += quota[i];
    const t = (2 * quota[i] - 1) / (2 * weight[i]);
    if (t > lastTime) lastTime = t;
  }

  // Two passes over the turns (count, then place) recompute each time rather than store it:
  // a division is cheaper than another table-sized array.
  const buckets = total;
  const lastBucket = buckets - 1;
  const scale = buckets / lastTime;
  const bucketStart = new Int32Array(buckets + 1);
  for (let i = 0; i < n; i++) {
    const twoW = 2 * weight[i];
    const turns = quota[i];
    for (let k = 0; k < turns; k++) {
      let bucket = (((2 * k + 1) / twoW) * scale) | 0;
      if (bucket > lastBucket) bucket = lastBucket;
      bucketStart[bucket + 1]++;
    }
  }
  for (let b = 0; b < buckets; b++) bucketStart[b + 1] += bucketStart[b];

  const sortedTime = new Float64Array(total);
  const order = new Int32Array(total);
  for (let i = 0; i < n; i++) {
    const twoW = 2 * weight[i];
    const turns = quota[i];
    for (let k = 0; k < turns; k++) {
      const t = (2 * k + 1) / twoW;
      let bucket = (t * scale) | 0;
      if (bucket > lastBucket) bucket = lastBucket;
      const pos = bucketStart[bucket]++;
      sortedTime[pos] = t;
      order[pos] = i;
    }
  }

  // Turns never need to cross a bucket boundary, so this only reorders within buckets.
  for (let pos = 1; pos < total; pos++) {
    const t = sortedTime[pos];
    if (sortedTime[pos - 1] <= t) continue;
    const who = order[pos];
    let j = pos - 1;
    while (j >= 0 && sortedTime[j] > t) {
      sortedTime[j + 1] = sortedTime[j];
      order[j + 1] = order[j];
      j--;
    }
    sortedTime[j + 1] = t;
    order[j + 1] = who;
  }
  return order;
}
