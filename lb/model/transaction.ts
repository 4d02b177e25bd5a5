// The undo log behind DesiredState's operations. Every mutation of the state (a service set or
// removed, an id allocated or released) appends one entry; undoing walks the entries backwards.
// That makes an operation all-or-nothing without copying the state (O(what it touches), not
// O(services)), and lets the reconciler take back a change after the fact — a kernel failure, or a
// state-file write that failed — provided later changes were taken back first.
import type { IdAllocator, RetiredId } from './ids.js';
import type { Service } from './types.js';

export type IdKind = 'service' | 'backend';

export type UndoEntry =
  | { kind: 'service'; id: string; prev: Service | undefined }
  | { kind: 'allocate'; ids: IdKind; id: number }
  | { kind: 'release'; ids: IdKind; id: number; prev: number; at: number };

export interface UndoTarget {
  services: Map<string, Service>;
  allocator(kind: IdKind): IdAllocator;
  invalidateOrder(): void;
}

export function undoEntries(target: UndoTarget, entries: UndoEntry[], downTo = 0): void {
  for (let i = entries.length - 1; i >= downTo; i--) {
    const e = entries[i]!;
    if (e.kind === 'service') {
      if (e.prev) target.services.set(e.id, e.prev);
      else target.services.delete(e.id);
      target.invalidateOrder();
    } else if (e.kind === 'allocate') {
      target.allocator(e.ids).unallocate(e.id);
    } else {
      target.allocator(e.ids).unrelease(e.id, e.prev);
    }
  }
  entries.length = downTo;
}

/** Each touched service id with its value before entries[from..] (first entry wins). */
export function touchedSince(entries: readonly UndoEntry[], from = 0): Map<string, Service | undefined> {
  const touched = new Map<string, Service | undefined>();
  for (let i = from; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.kind === 'service' && !touched.has(e.id)) touched.set(e.id, e.prev);
  }
  return touched;
}

/** Ids released by entries[from..], in order, with when (what the state file's retired lists need). */
export function releasedSince(entries: readonly UndoEntry[], from = 0): Record<IdKind, RetiredId[]> {
  const out: Record<IdKind, RetiredId[]> = { service: [], backend: [] };
  for (let i = from; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.kind === 'release') out[e.ids].push({ id: e.id, at: e.at });
  }
  return out;
}
