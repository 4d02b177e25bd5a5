// buildMaglevTable: validated input → canonical order → exact slot counts → weighted Maglev fill.
import { apportionSlots } from './apportion.js';
import { fillTable } from './fill.js';
import { permutationParams } from './hash.js';
import { ALLOWED_TABLE_SIZES, MAGLEV_NO_BACKEND, MIN_SLOTS_PER_BACKEND_FOR_ACCURACY } from './limits.js';
import { validateRequest, type MaglevOptions } from './validate.js';

export interface MaglevTable {
  /** `size` entries; entry s is the id of the backend that owns slot s (flow hash mod size), or
   *  MAGLEV_NO_BACKEND in every slot when no backend is active. */
  table: Uint32Array;
  size: number;
  seed: number;
  /** Backends with weight > 0. When 0, the service has no backend and the datapath drops new flows. */
  activeBackends: number;
  /** Slots per backend id, for every listed backend (draining ones: 0). */
  slotsPerBackend: Map<number, number>;
  /** Human-readable notes about accuracy or an empty service; never printed by this module. */
  warnings: string[];
}

/**
 * Builds the Maglev lookup table for one service. Deterministic: the same backends (in any order),
 * size and seed give a byte-identical table in every process and on every node (lb/maglev/SPEC.md).
 * Throws MaglevError naming the offending field for any invalid input.
 */
export function buildMaglevTable(options: MaglevOptions): MaglevTable {
  const { size, seed, backends } = validateRequest(options);
  const active = backends.filter((b) => b.weight > 0);
  const slotsPerBackend = new Map<number, number>();
  for (const b of backends) slotsPerBackend.set(b.id, 0);
  const warnings: string[] = [];

  if (active.length === 0) {
    warnings.push(
      `no active backends: all ${backends.length} have weight 0 (draining); every slot is ` +
        `MAGLEV_NO_BACKEND (0x${MAGLEV_NO_BACKEND.toString(16)}), so new flows have nowhere to go`,
    );
    return { table: new Uint32Array(size).fill(MAGLEV_NO_BACKEND), size, seed, activeBackends: 0, slotsPerBackend, warnings };
  }

  const quota = apportionSlots(active, size);
  const n = active.length;
  const offset = new Int32Array(n);
  const skip = new Int32Array(n);
  const weight = new Int32Array(n);
  const id = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const b = active[i];
    const p = permutationParams(b.bytes, seed, size);
    offset[i] = p.offset;
    skip[i] = p.skip;
    weight[i] = b.weight;
    id[i] = b.id;
    slotsPerBackend.set(b.id, quota[i]);
  }
  const table = fillTable({ size, offset, skip, weight, quota, id });

  warnings.push(...accuracyWarnings(active, quota, size));
  return { table, size, seed, activeBackends: n, slotsPerBackend, warnings };
}

/**
 * Every backend holds within one slot of its ideal share M·w/W, so a share is within 1 % of ideal
 * when that ideal is at least 100 slots. Warn when the table is too small for that.
 */
function accuracyWarnings(active: readonly { key: string; weight: number }[], quota: Int32Array, size: number): string[] {
  const n = active.length;
  let totalWeight = 0;
  let lightest = 0;
  for (let i = 0; i < n; i++) {
    totalWeight += active[i].weight;
    if (active[i].weight < active[lightest].weight) lightest = i;
  }
  const ideal = (size * active[lightest].weight) / totalWeight;
  const oneSlot = `one slot is ${(100 / ideal).toFixed(1)} % of the smallest ideal share ` +
    `(backend ${active[lightest].key}, weight ${active[lightest].weight}: ${ideal.toFixed(1)} slots, holds ${quota[lightest]})`;

  const wanted = MIN_SLOTS_PER_BACKEND_FOR_ACCURACY * n;
  if (size < wanted) {
    const larger = ALLOWED_TABLE_SIZES.find((m) => m >= wanted);
    return [
      `table size ${size} is below ${MIN_SLOTS_PER_BACKEND_FOR_ACCURACY} × ${n} active backends ` +
        `(${(size / n).toFixed(1)} slots each on average): ${oneSlot}; ` +
        (larger === undefined ? 'no allowed size reaches that many backends' : `use size ${larger} or larger`),
    ];
  }
  if (ideal < MIN_SLOTS_PER_BACKEND_FOR_ACCURACY) return [`uneven weights: ${oneSlot}`];
  return [];
}
