// Converging the datapath to a desired state, touching only what differs. Used for every change
// (scope = the datapath ids of the services the change touched, target = those services after it),
// for rollback (same scope, the services before it) and at start (scope = everything, e.g. after
// adopting a datapath whose maps may predate the state file). The work is proportional to the
// scope: the datapath is asked about the scope's ids one by one, never listed as a whole (except
// for 'all').
//
// Two phases, so a backend id can move from one service to another inside one change without the
// datapath ever seeing it owned twice (the model only reuses ids when every free id was freed
// recently, but then it may):
//   A. remove: services that must go are deleted; a service that gives up an id another service
//      wants first shrinks to the backends it keeps.
//   B. add/update: services are (re)declared and get their full backend set.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { maglevRequest, type DatapathBackend, type DatapathService, type LbDatapath } from '../datapath/index.js';
import type { Backend, Service } from '../model/index.js';
import type { TableBuilders } from './table-builders.js';

/** The datapath operations the reconciler uses (LbDatapath implements them). */
export type DatapathPort = Pick<LbDatapath, 'services' | 'service' | 'backends' | 'upsertService' | 'deleteService' | 'deleteServices' | 'setBackends' | 'setBackendsMany'> &
  Partial<Pick<LbDatapath, 'prepareSpareTables'>> & {
    readonly options: Pick<LbDatapath['options'], 'seed'>;
  };

/** From this many tables to build, a sync builds them on worker threads (when it may await). */
export const BULK_TABLES = 32;
/** Services written per setBackendsMany call of a bulk sync (one kernel wait for their new tables). */
export const BULK_CHUNK = 256;

export interface SyncReport {
  upserted: number[];
  deleted: number[];
  /** Service ids whose backend set (and Maglev table) was rewritten, with the build time. */
  backendSets: { serviceId: number; seconds: number; backends: number }[];
}

export interface SyncOptions {
  now?: () => number;
  /** Called after each service of the target was brought in step (for progress reports). */
  onService?: (done: number, total: number) => void;
  /** Which backends of a service the datapath gets (the health overlay); default: all. */
  filter?: BackendFilter;
}

export interface BulkSyncOptions extends SyncOptions {
  /** Worker threads that build the tables while this thread writes the datapath. */
  builders?: TableBuilders;
}

export function datapathServiceOf(s: Service): DatapathService {
  return { id: s.datapathId, vip: s.vip, port: s.port, protocol: s.protocol, sourceHash: s.flags.sourceHash, tableSize: s.tableSize };
}

/** Which of a service's backends the datapath gets (the health overlay); default: all of them. */
export type BackendFilter = (s: Service) => readonly Backend[];

export function datapathBackendsOf(s: Service, filter?: BackendFilter): DatapathBackend[] {
  return (filter ? filter(s) : s.backends).map((b) => ({ id: b.datapathId, address: b.address, weight: b.weight, state: b.state }));
}

function sameService(a: DatapathService, b: DatapathService): boolean {
  return a.vip === b.vip && a.port === b.port && a.protocol === b.protocol && Boolean(a.sourceHash) === Boolean(b.sourceHash) && a.tableSize === b.tableSize;
}

function sameKey(a: DatapathService, b: DatapathService): boolean {
  return a.vip === b.vip && a.port === b.port && a.protocol === b.protocol;
}

function backendKey(b: DatapathBackend): string {
  const state = b.state === 'draining' || b.weight === 0 ? 'draining' : 'active';
  return `${b.id}|${b.address}|${b.weight}|${state}`;
}

function sameBackends(a: readonly DatapathBackend[], b: readonly DatapathBackend[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a.map(backendKey));
  return b.every((x) => set.has(backendKey(x)));
}

/**
 * Makes the datapath hold exactly `target` for the services in scope. `scope` lists datapath
 * service ids to consider (from either side); 'all' also deletes datapath services the target
 * does not know. With a scope, `target` needs to hold only the services in it (others are
 * ignored). Throws whatever the datapath throws; the caller rolls back.
 */
export function syncDatapath(
  dp: DatapathPort,
  target: readonly Service[],
  scope: ReadonlySet<number> | 'all',
  o: SyncOptions | (() => number) = {},
): SyncReport {
  const opts: SyncOptions = typeof o === 'function' ? { now: o } : o;
  const plan = removePhase(dp, target, scope, opts);
  let done = 0;
  for (const step of plan.steps) {
    addStep(dp, step, undefined, plan.report, plan.now);
    opts.onService?.(++done, plan.steps.length);
  }
  return plan.report;
}

/**
 * syncDatapath for many services: the same result, but written BULK_CHUNK services at a time with
 * setBackendsMany (the new tables of a chunk cost the kernel one wait for running programs, not one
 * per service), the Maglev tables built on worker threads (from BULK_TABLES of them) while this
 * thread writes the chunks already built, and a turn of the event loop between chunks.
 */
export async function syncDatapathBulk(dp: DatapathPort, target: readonly Service[], scope: ReadonlySet<number> | 'all', o: BulkSyncOptions = {}): Promise<SyncReport> {
  const plan = removePhase(dp, target, scope, o);
  const builds = plan.steps.filter((st) => st.backends && st.backends.some((b) => b.state === 'active'));
  const tables = new Map<AddStep, Build>();
  if (o.builders?.available && builds.length >= BULK_TABLES) {
    for (const st of builds) {
      const b: Build = { promise: o.builders.build(maglevRequest(st.backends!, st.service.tableSize, dp.options.seed)) };
      b.promise.then((t) => (b.table = t), () => undefined);
      tables.set(st, b);
    }
  }
  let done = 0;
  try {
    for (let i = 0; i < plan.steps.length; ) {
      // A chunk: the next step (waiting for its table if need be), then every following step whose
      // table is ready, up to BULK_CHUNK — so this thread writes while the workers build.
      const first = tables.get(plan.steps[i]!);
      if (first && !first.table) await first.promise;
      let end = i + 1;
      while (end < plan.steps.length && end - i < BULK_CHUNK) {
        const b = tables.get(plan.steps[end]!);
        if (b && !b.table) break;
        end++;
      }
      const chunk = plan.steps.slice(i, end);
      i = end;
      for (const step of chunk) {
        if (step.upsert) {
          dp.upsertService(step.svc);
          plan.report.upserted.push(step.svc.id);
        }
      }
      const writes = chunk.filter((step) => step.backends);
      if (writes.length) {
        const t0 = plan.now();
        dp.setBackendsMany(
          writes.map((step) => {
            const table = tables.get(step)?.table;
            return table ? { serviceId: step.svc.id, backends: step.backends!, table } : { serviceId: step.svc.id, backends: step.backends! };
          }),
          { write: 'inPlace' },
        );
        const each = (plan.now() - t0) / 1000 / writes.length;
        for (const step of writes) plan.report.backendSets.push({ serviceId: step.svc.id, seconds: each, backends: step.backends!.length });
      }
      for (const step of chunk) {
        tables.delete(step); // let the table go: the datapath has its own copy
        o.onService?.(++done, plan.steps.length);
      }
      await nextTurn();
    }
  } finally {
    // A failed chunk leaves builds running; their results are dropped.
    for (const b of tables.values()) b.promise.catch(() => undefined);
  }
  return plan.report;
}

interface Build {
  promise: Promise<Uint32Array>;
  /** Set once built. */
  table?: Uint32Array;
}

interface AddStep {
  service: Service;
  svc: DatapathService;
  upsert: boolean;
  /** The backend set to write, or undefined when the datapath has it already. */
  backends: DatapathBackend[] | undefined;
}

/** Phase A (done here), and what phase B must do for each service of the target in scope. */
function removePhase(dp: DatapathPort, target: readonly Service[], scope: ReadonlySet<number> | 'all', opts: SyncOptions) {
  const now = opts.now ?? (() => performance.now());
  const report: SyncReport = { upserted: [], deleted: [], backendSets: [] };
  const inScope = (id: number) => scope === 'all' || scope.has(id);
  const want = new Map<number, Service>();
  for (const s of target) if (inScope(s.datapathId)) want.set(s.datapathId, s);
  // Which service every target backend id belongs to (ids only move between services of one change,
  // and all of them are in its scope).
  const wantedOwner = new Map<number, number>();
  for (const s of want.values()) for (const b of s.backends) wantedOwner.set(b.datapathId, s.datapathId);

  // Phase A: remove (the deletions in one batch).
  const current = scope === 'all' ? dp.services() : [...scope].map((id) => dp.service(id)).filter((s): s is DatapathService => s !== undefined);
  const staying: DatapathService[] = [];
  for (const cur of current) {
    const t = want.get(cur.id);
    if (!t || !sameKey(cur, datapathServiceOf(t))) report.deleted.push(cur.id);
    else staying.push(cur);
  }
  if (report.deleted.length === 1) dp.deleteService(report.deleted[0]!);
  else if (report.deleted.length) dp.deleteServices(report.deleted);
  for (const cur of staying) {
    const t = want.get(cur.id)!;
    const keepIds = new Set(t.backends.map((b) => b.datapathId));
    const have = dp.backends(cur.id);
    const leaving = have.filter((b) => !keepIds.has(b.id));
    if (leaving.some((b) => wantedOwner.has(b.id) && wantedOwner.get(b.id) !== cur.id)) {
      timedSetBackends(dp, cur.id, have.filter((b) => keepIds.has(b.id)), undefined, report, now);
    }
  }

  // Phase B, planned: add and update, in target order (deterministic).
  const steps: AddStep[] = [];
  for (const t of want.values()) {
    const svc = datapathServiceOf(t);
    const cur = dp.service(t.datapathId);
    const backends = datapathBackendsOf(t, opts.filter);
    const writeBackends = !cur || !sameBackends(dp.backends(t.datapathId), backends);
    steps.push({ service: t, svc, upsert: !cur || !sameService(cur, svc), backends: writeBackends ? backends : undefined });
  }
  return { report, steps, now };
}

function addStep(dp: DatapathPort, step: AddStep, table: Uint32Array | undefined, report: SyncReport, now: () => number): void {
  if (step.upsert) {
    dp.upsertService(step.svc);
    report.upserted.push(step.svc.id);
  }
  if (step.backends) timedSetBackends(dp, step.svc.id, step.backends, table, report, now);
}

/**
 * A backend set is written in place: only the table slots that differ are rewritten in the live
 * table, each with one aligned 32-bit store (no new map, no RCU grace period). A packet reading the
 * table meanwhile sees each slot's old or new backend — both were valid backends of the service a
 * moment apart, the old one still has its backend entry until the table is done (removed backends
 * are cleared after it), and established flows follow the flow table, not the slots. A service
 * without a table of its size gets a fresh one, swapped in.
 */
function timedSetBackends(dp: DatapathPort, id: number, backends: DatapathBackend[], table: Uint32Array | undefined, report: SyncReport, now: () => number): void {
  const t0 = now();
  dp.setBackends(id, backends, table ? { write: 'inPlace', table } : { write: 'inPlace' });
  report.backendSets.push({ serviceId: id, seconds: (now() - t0) / 1000, backends: backends.length });
}
