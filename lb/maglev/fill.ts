// Weighted Maglev fill: which slots each backend takes, given how many it must take.
//
// Maglev (Eisenbud et al., NSDI'16, §3.4) gives each backend a preference list — a permutation of
// the M slots, (offset + j·skip) mod M — and lets backends take turns claiming their most preferred
// slot that is still free. With equal turns every backend ends with M/N slots and, crucially,
// mostly with slots near the top of its own list; a backend joining or leaving then disturbs few
// slots of the others, because their top preferences do not depend on who else is present.
//
// Weights change only how often a backend takes a turn (turns.ts): backend i's k-th turn is at
// virtual time (k + ½)/wᵢ, so a weight-3 backend turns three times as often as a weight-1 backend,
// its turns evenly spaced and centred in its 1/wᵢ intervals (the Sainte-Laguë/Webster schedule).
// Two properties follow, and they are why the weighted table is as consistent as the paper's:
//  - at any point of the fill every backend has claimed within one turn of its proportional share
//    of the slots taken so far, so every backend, light or heavy, takes its slots from the top of
//    its own preference list;
//  - the relative order of two backends' turns depends only on their two weights, not on the rest
//    of the set, so adding or removing a backend leaves everyone else's turn sequence unchanged
//    (only that backend's turns appear or disappear) — the same argument as unweighted Maglev.
// A backend takes exactly its apportioned number of turns (apportion.ts), so the final counts are
// exact (within one slot of ideal) instead of proportional only on average.
// With all weights equal this is exactly the paper's round-robin in canonical order.
//
// Cost: a linear-time turn order, then M claims with ≈ M·ln M probes in total along the claimers'
// preference lists, as in the paper. Typed arrays only, no allocation per slot, no BigInt.
import { turnOrder } from './turns.js';

export interface FillInput {
  size: number;
  /** Per active backend, in canonical order. */
  offset: Int32Array;
  skip: Int32Array;
  weight: Int32Array;
  /** Slots each backend must end with; they sum to `size`, each ≥ 1. */
  quota: Int32Array;
  id: Uint32Array;
}

/** Returns the lookup table: `size` entries, each an id from `input.id`. */
export function fillTable(input: FillInput): Uint32Array {
  const { size, skip, id } = input;
  const order = turnOrder(input.weight, input.quota);
  const table = new Uint32Array(size);
  const taken = new Uint8Array(size);
  const next = Int32Array.from(input.offset); // each backend's next preference to try

  for (let turn = 0; turn < size; turn++) {
    // The claimer takes its most preferred free slot; one exists, as the table is not yet full
    // and its preference list covers every slot.
    const b = order[turn];
    const step = skip[b];
    let slot = next[b];
    while (taken[slot] !== 0) {
      slot += step;
      if (slot >= size) slot -= size;
    }
    taken[slot] = 1;
    table[slot] = id[b];
    slot += step;
    next[b] = slot >= size ? slot - size : slot;
  }
  return table;
}
