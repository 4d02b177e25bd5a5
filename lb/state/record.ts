// What one change looks like in the journal, and how records are replayed onto a snapshot.
// A record is physical, not logical: the services as they are after the change (`put`), the ids
// of services that are gone (`del`), and the allocators' movement (ids freed, with when, and the
// next id). Replaying never re-runs an operation, so a record means the same to every version.
import { canonicalServiceId, isPlainObject, snapshotService, type ChangeRecord, type IdAllocatorSnapshot, type RetiredId, type SnapshotService, type StateSnapshot } from '../model/index.js';
import type { JournalLine } from './journal.js';

export interface AllocatorMovement {
  next: number;
  freed: RetiredId[];
}

export interface ChangeLine extends JournalLine {
  at: string;
  put: SnapshotService[];
  del: string[];
  service_ids: AllocatorMovement;
  backend_ids: AllocatorMovement;
}

export function changeLine(seq: number, change: ChangeRecord, now: number): ChangeLine {
  const put: SnapshotService[] = [];
  const del: string[] = [];
  for (const c of change.changes) {
    if (c.after) put.push(snapshotService(c.after));
    else del.push(c.id);
  }
  return {
    seq,
    at: new Date(now).toISOString(),
    put,
    del,
    service_ids: { next: change.next.service, freed: change.released.service },
    backend_ids: { next: change.next.backend, freed: change.released.backend },
  };
}

function keyOf(raw: unknown, fallback: string): string {
  if (isPlainObject(raw) && typeof raw.id === 'string') {
    try {
      return canonicalServiceId(raw.id);
    } catch {
      // left for DesiredState.fromSnapshot to report with its path
    }
  }
  return fallback;
}

function movement(value: unknown, where: string): AllocatorMovement {
  if (!isPlainObject(value) || !Number.isInteger(value.next) || !Array.isArray(value.freed)) {
    throw new Error(`${where}: expected { next, freed }`);
  }
  return value as unknown as AllocatorMovement;
}

/**
 * The snapshot's state with `records` applied in order. Structural problems of a record throw
 * (the caller reports them with the file); the content is validated afterwards by
 * DesiredState.fromSnapshot, exactly like a snapshot's.
 */
export function replay(state: StateSnapshot | Record<string, unknown>, records: readonly JournalLine[], where: (r: JournalLine) => string): Record<string, unknown> {
  if (records.length === 0) return state as Record<string, unknown>;
  const base = state as Record<string, unknown>;
  const services = new Map<string, unknown>();
  (Array.isArray(base.services) ? base.services : []).forEach((s: unknown, i: number) => services.set(keyOf(s, `#${i}`), s));
  const ids = {
    service_ids: { ...(base.service_ids as IdAllocatorSnapshot) },
    backend_ids: { ...(base.backend_ids as IdAllocatorSnapshot) },
  };
  const retired = {
    service_ids: [...(Array.isArray(ids.service_ids.retired) ? ids.service_ids.retired : [])],
    backend_ids: [...(Array.isArray(ids.backend_ids.retired) ? ids.backend_ids.retired : [])],
  };
  for (const r of records) {
    const w = where(r);
    if (!Array.isArray(r.put) || !Array.isArray(r.del)) throw new Error(`${w}: expected put and del lists`);
    for (const id of r.del as unknown[]) services.delete(typeof id === 'string' ? id : String(id));
    for (const s of r.put as unknown[]) services.set(keyOf(s, `${w}#${services.size}`), s);
    for (const k of ['service_ids', 'backend_ids'] as const) {
      const m = movement(r[k], `${w}.${k}`);
      ids[k].next = m.next;
      retired[k].push(...m.freed);
    }
  }
  return {
    services: [...services.values()],
    service_ids: { next: ids.service_ids.next, retired: retired.service_ids },
    backend_ids: { next: ids.backend_ids.next, retired: retired.backend_ids },
  };
}
