// The state file's form of the desired state (snake_case, like the API and the YAML config), and the
// checks of the parts that only exist there (stored ids, allocator cursors).
import { ValidationError, invalid } from './errors.js';
import type { IdAllocator, IdAllocatorSnapshot } from './ids.js';
import type { Origin } from './types.js';
import { isPlainObject } from './validate.js';

/** The state file's form of the state (snake_case, like the API and the YAML config). */
export interface StateSnapshot {
  services: SnapshotService[];
  service_ids: IdAllocatorSnapshot;
  backend_ids: IdAllocatorSnapshot;
}

export interface SnapshotService {
  id: string;
  vip: string;
  port: number;
  protocol: string;
  flags: { source_hash: boolean };
  table_size: number;
  origin: Origin;
  /** Only for origin "kubernetes". */
  kubernetes?: { namespace: string; name: string };
  datapath_id: number;
  backends: SnapshotBackend[];
  /** The document form (healthCheckToDocument); absent: no health check. */
  health_check?: Record<string, unknown>;
}

export interface SnapshotBackend {
  address: string;
  weight: number;
  state: string;
  name?: string;
  check_address?: string;
  check_port?: number;
  datapath_id: number;
}

export function readAllocatorSnapshot(value: unknown, field: string): IdAllocatorSnapshot {
  if (!isPlainObject(value)) throw invalid(field, 'expected { next, retired }');
  const next = value.next;
  if (typeof next !== 'number' || !Number.isInteger(next) || next < 1) throw invalid(`${field}.next`, 'expected an integer ≥ 1');
  if (!Array.isArray(value.retired)) throw invalid(`${field}.retired`, 'expected a list');
  const retired = value.retired.map((r: unknown, i: number) => {
    const rf = `${field}.retired[${i}]`;
    if (!isPlainObject(r) || typeof r.id !== 'number' || !Number.isInteger(r.id) || typeof r.at !== 'number' || !Number.isFinite(r.at)) {
      throw invalid(rf, 'expected { id, at } numbers');
    }
    return { id: r.id, at: r.at };
  });
  return { next, retired };
}

export function claimId(alloc: IdAllocator, id: unknown, field: string): number {
  if (typeof id !== 'number' || !Number.isInteger(id)) throw invalid(field, `${JSON.stringify(id)} is not an integer id`);
  try {
    alloc.claim(id);
  } catch (e) {
    const hint = id > alloc.max ? ' (the config now has smaller maps than when this state was saved)' : '';
    throw new ValidationError('FAILED_PRECONDITION', field, `${(e as Error).message}${hint}`);
  }
  return id;
}
