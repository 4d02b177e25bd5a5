// What an operation changed, service by service, in the terms the reconciler needs: which
// services to (re)program, and which backends appeared, disappeared or changed.
import { sameHealthCheck } from './health-check.js';
import type { Backend, BackendSpec, Service } from './types.js';

export interface BackendChange {
  before: Backend;
  after: Backend;
}

export interface ServiceChange {
  id: string;
  kind: 'created' | 'updated' | 'deleted';
  before?: Service;
  after?: Service;
  /** False when nothing the datapath holds changed (only a name, the origin or the Kubernetes
   *  Service it belongs to): no reprogramming. */
  datapathChanged: boolean;
  flagsChanged: boolean;
  /** The Maglev table size changed (the table is rebuilt at the new size). */
  tableSizeChanged: boolean;
  /** The health check (or a backend's check address/port) changed: nothing for the datapath. */
  healthChanged: boolean;
  addedBackends: Backend[];
  removedBackends: Backend[];
  /** Same address, different weight, state or name (datapath id unchanged). */
  changedBackends: BackendChange[];
}

export interface StateDiff {
  created: string[];
  updated: string[];
  deleted: string[];
  /** Services named by the operation that needed no change. */
  unchanged: string[];
  changes: ServiceChange[];
}

export function diffIsEmpty(diff: StateDiff): boolean {
  return diff.changes.length === 0;
}

function sameBackendSpec(a: BackendSpec, b: BackendSpec): boolean {
  return (
    a.address === b.address && a.weight === b.weight && a.state === b.state && a.name === b.name &&
    a.checkAddress === b.checkAddress && a.checkPort === b.checkPort
  );
}

/** What changed between two versions of one service (either may be absent). */
export function diffService(before: Service | undefined, after: Service | undefined): ServiceChange | undefined {
  const id = (after ?? before)!.id;
  if (!before) {
    return { id, kind: 'created', after, datapathChanged: true, flagsChanged: false, tableSizeChanged: false, healthChanged: false, addedBackends: [...after!.backends], removedBackends: [], changedBackends: [] };
  }
  if (!after) {
    return { id, kind: 'deleted', before, datapathChanged: true, flagsChanged: false, tableSizeChanged: false, healthChanged: false, addedBackends: [], removedBackends: [...before.backends], changedBackends: [] };
  }
  const old = new Map(before.backends.map((b) => [b.address, b]));
  const now = new Map(after.backends.map((b) => [b.address, b]));
  const addedBackends = after.backends.filter((b) => !old.has(b.address));
  const removedBackends = before.backends.filter((b) => !now.has(b.address));
  const changedBackends: BackendChange[] = [];
  for (const b of after.backends) {
    const o = old.get(b.address);
    if (o && !sameBackendSpec(o, b)) changedBackends.push({ before: o, after: b });
  }
  const flagsChanged = before.flags.sourceHash !== after.flags.sourceHash;
  const tableSizeChanged = before.tableSize !== after.tableSize;
  const datapathChanged =
    flagsChanged ||
    tableSizeChanged ||
    addedBackends.length > 0 ||
    removedBackends.length > 0 ||
    changedBackends.some((c) => c.before.weight !== c.after.weight || c.before.state !== c.after.state);
  const healthChanged =
    !sameHealthCheck(before.healthCheck, after.healthCheck) ||
    changedBackends.some((c) => c.before.checkAddress !== c.after.checkAddress || c.before.checkPort !== c.after.checkPort);
  const sameOwner =
    before.origin === after.origin &&
    before.kubernetes?.namespace === after.kubernetes?.namespace &&
    before.kubernetes?.name === after.kubernetes?.name;
  if (!datapathChanged && !healthChanged && changedBackends.length === 0 && sameOwner) return undefined;
  return { id, kind: 'updated', before, after, datapathChanged, flagsChanged, tableSizeChanged, healthChanged, addedBackends, removedBackends, changedBackends };
}
