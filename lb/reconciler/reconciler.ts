// The reconciler owns the desired state and keeps the datapath and the state store in step with
// it. A change is: open a transaction on the state → run the operation (validation; a
// ValidationError undoes it and nothing else happens) → program the datapath with the services the
// change touched → append the change to the journal → answer once the journal record is durable.
// The work is proportional to what the change touched: no copy of the state, no full list, no
// rewrite of the state file.
//
// Changes are programmed one at a time (a queue), but the next change does not wait for the
// previous one's fdatasync: records appended while a flush is in flight share the next flush
// (group commit). Consequences:
//  - readers (GetService, ListServices, stats) see a change as soon as the datapath carries it,
//    a few milliseconds before it is durable;
//  - if the datapath fails, the change is undone in the state and its services are reprogrammed
//    from the state as it was (ReconcileError, rolledBack);
//  - if a journal write fails, every change not yet durable is undone, newest first, its services
//    reprogrammed, and each of their callers gets a ReconcileError. No change is accepted again
//    until a snapshot covering the rolled-back state was written (compaction).
// A snapshot that replaced the file but whose directory sync failed (NotDurableError, lb/state) is
// kept as written, with a warning, and the journal files it covers are kept until a later snapshot
// is durable (StateStore.compact).
import type { ChangeRecord, CommittedChange, DesiredState, Service, ServiceChange, StateDiff } from '../model/index.js';
import { SerialQueue } from './queue.js';
import { BULK_TABLES, syncDatapath, syncDatapathBulk, type BackendFilter, type DatapathPort, type SyncOptions, type SyncReport } from './sync.js';
import type { TableBuilders } from './table-builders.js';

export interface ReconcilerLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** What the reconciler needs from persistence; lb/state's StateStore implements it. */
export interface ChangeStore {
  /** Appends a change; resolves when it is durable. Called in the order changes were made. */
  append(change: ChangeRecord): Promise<void>;
  /** Why appends are refused (a failed journal write), or undefined. */
  readonly failed: Error | undefined;
  /** Resolves when every append so far is durable or has failed. */
  settled(): Promise<void>;
  /** The journal has grown enough to be folded into a new snapshot. */
  readonly wantsCompaction: boolean;
  /** A running compaction, if any. */
  readonly compacting: Promise<void> | undefined;
  /** Writes a snapshot of `state` (which holds exactly what was appended); clears `failed`. */
  compact(state: DesiredState): Promise<void>;
}

export interface ReconcilerOptions {
  datapath: DatapathPort;
  /** The state to start from (already restored from the state file). Changed in place. */
  state: DesiredState;
  /** Where changes are persisted (started); undefined = not persisted (tests). */
  store?: ChangeStore;
  log?: ReconcilerLogger;
  /** Called for every Maglev table (backend set) written, e.g. for a rebuild-duration metric. */
  onBackendSet?: (e: { service: string; datapathId: number; seconds: number; backends: number }) => void;
  /** Called while a large sync progresses (start-up, a bulk Apply); every `progressEvery` services. */
  onProgress?: (e: { done: number; total: number; what: string }) => void;
  /** Default 1000. */
  progressEvery?: number;
  /** Worker threads for the Maglev tables of large syncs (start-up, bulk changes); owned by the caller. */
  builders?: TableBuilders;
  /** The health overlay: which backends of a service the datapath gets (default: all). */
  backendFilter?: BackendFilter;
  /**
   * Spare tables kept ready at the service ids handed out next (LbDatapath.prepareSpareTables), so
   * that CreateService writes its first table in place instead of creating and swapping one in
   * (an RCU grace period on kernels before 6.19). Refilled after a change, off its path, once half
   * are used: one kernel wait per `spareTables / 2` new services. Default 16; 0 = none.
   */
  spareTables?: number;
}

export interface ChangeResult {
  diff: StateDiff;
  /** The state after the change (the reconciler's own object). */
  state: DesiredState;
  dryRun: boolean;
}

/** The datapath or the state file failed; the change was rolled back (or, see `rolledBack`, not). */
export class ReconcileError extends Error {
  readonly rolledBack: boolean;
  constructor(message: string, rolledBack: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReconcileError';
    this.rolledBack = rolledBack;
  }
}

interface PendingChange {
  committed: CommittedChange;
  durable: boolean;
}

/** Datapath ids a set of service changes touches (before and after). */
function scopeOf(changes: readonly ServiceChange[]): Set<number> {
  const scope = new Set<number>();
  for (const c of changes) {
    if (c.before) scope.add(c.before.datapathId);
    if (c.after) scope.add(c.after.datapathId);
  }
  return scope;
}

export class Reconciler {
  readonly #dp: DatapathPort;
  readonly #store: ChangeStore | undefined;
  readonly #log: ReconcilerLogger | undefined;
  readonly #onBackendSet: ReconcilerOptions['onBackendSet'];
  readonly #onProgress: ReconcilerOptions['onProgress'];
  readonly #progressEvery: number;
  readonly #builders: TableBuilders | undefined;
  readonly #filter: BackendFilter | undefined;
  readonly #spareTables: number;
  #sparesQueued = false;
  readonly #queue = new SerialQueue();
  readonly #state: DesiredState;
  /** Changes programmed and appended, oldest first, until their record is durable. */
  #pending: PendingChange[] = [];
  #compactionQueued = false;
  /** Set when a rollback failed: the datapath may differ from the state until the next full sync. */
  #diverged: string | undefined;

  constructor(o: ReconcilerOptions) {
    this.#dp = o.datapath;
    this.#state = o.state;
    this.#store = o.store;
    this.#log = o.log;
    this.#onBackendSet = o.onBackendSet;
    this.#onProgress = o.onProgress;
    this.#progressEvery = o.progressEvery ?? 1000;
    this.#builders = o.builders;
    this.#filter = o.backendFilter;
    this.#spareTables = o.spareTables ?? 16;
  }

  /** The desired state. Treat as read-only; change it through change(). */
  get state(): DesiredState {
    return this.#state;
  }

  /** Why the datapath may not match the state (a failed rollback), or undefined when in step. */
  get diverged(): string | undefined {
    return this.#diverged;
  }

  /** Changes programmed whose journal record is not durable yet. */
  get inFlight(): number {
    return this.#pending.filter((p) => !p.durable).length;
  }

  /**
   * Runs `op` on the state and, unless dryRun, makes it real: datapath, then journal. Resolves
   * once the change is durable. ValidationErrors from `op` pass through unchanged (nothing was
   * touched); datapath/persistence failures become ReconcileError. A dry run is undone before
   * anything else can see it.
   */
  async change(op: (state: DesiredState) => StateDiff, o: { dryRun?: boolean } = {}): Promise<ChangeResult> {
    let pending: PendingChange | undefined;
    let durable: Promise<void> | undefined;
    const result = await this.#queue.run(async () => {
      if (this.#diverged) this.#heal();
      if (this.#store?.failed) {
        await this.#recover();
        const failed = this.#store.failed;
        if (failed) throw new ReconcileError(`the change was not applied: the desired state cannot be persisted (${failed.message})`, true);
      }
      const state = this.#state;
      const tx = state.begin();
      let diff: StateDiff;
      try {
        diff = op(state);
      } catch (e) {
        tx.rollback();
        throw e;
      }
      if (o.dryRun) {
        tx.rollback();
        return { diff, state, dryRun: true };
      }
      const record = tx.record();
      if (record.changes.length === 0) {
        tx.commit();
        return { diff, state, dryRun: false };
      }
      const programs = record.changes.some((c) => c.datapathChanged);
      const scope = scopeOf(record.changes);
      if (programs) {
        try {
          const target = record.changes.flatMap((c) => (c.after ? [c.after] : []));
          if (record.changes.length >= BULK_TABLES) await this.#syncBulk(target, scope, record.changes.length);
          else this.#sync(target, scope, record.changes.length);
        } catch (e) {
          tx.rollback();
          const rolledBack = this.#reprogram(record.changes, scope);
          throw this.#failure(e, rolledBack);
        }
      }
      const committed = tx.commit();
      if (this.#store) {
        pending = { committed, durable: false };
        this.#pending.push(pending);
        const p = pending;
        durable = this.#store.append(committed).then(() => {
          p.durable = true;
          const i = this.#pending.indexOf(p);
          if (i >= 0) this.#pending.splice(0, i + 1);
        });
      }
      return { diff, state, dryRun: false };
    });
    if (durable) {
      try {
        await durable;
      } catch (e) {
        const rolledBack = await this.#queue.run(() => this.#recover());
        throw this.#failure(e, rolledBack);
      }
      this.#maybeCompact();
    }
    if (result.diff.created.length) this.#maybeRefillSpares();
    return result;
  }

  /**
   * Installs spare tables at the next service ids (runs in the queue, after the change that used
   * them has answered). Best effort: without spares a new service creates its table as before.
   */
  refillSpares(minMissing = 1): Promise<number> {
    return this.#queue.run(() => {
      const dp = this.#dp;
      if (!dp.prepareSpareTables || this.#spareTables === 0) return 0;
      try {
        return dp.prepareSpareTables(this.#state.upcomingServiceIds(this.#spareTables), { minMissing });
      } catch (e) {
        this.#log?.warn(`spare Maglev tables not prepared (new services create theirs): ${(e as Error).message}`);
        return 0;
      }
    });
  }

  #maybeRefillSpares(): void {
    if (this.#sparesQueued || !this.#dp.prepareSpareTables || this.#spareTables === 0) return;
    this.#sparesQueued = true;
    // After this turn of the event loop: the answer to the change goes out first.
    setImmediate(() => {
      void this.refillSpares(Math.max(1, this.#spareTables >> 1)).finally(() => (this.#sparesQueued = false));
    });
  }

  /** Converges the whole datapath to the state (start-up, or after a failed rollback). */
  syncAll(): Promise<SyncReport> {
    return this.#queue.run(async () => {
      const list = this.#state.list();
      const report = await this.#syncBulk(list, 'all', list.length);
      this.#diverged = undefined;
      return report;
    });
  }

  /**
   * Writes these services again from the state as it is, e.g. after the health overlay changed its
   * mind about one of their backends. Nothing else changes; no-op for unknown ids and for services
   * whose datapath already matches. O(the services named).
   */
  reprogram(serviceIds: readonly string[]): Promise<SyncReport> {
    return this.#queue.run(() => {
      const services = serviceIds.map((id) => this.#state.find(id)).filter((s): s is Service => s !== undefined);
      if (services.length === 0) return { upserted: [], deleted: [], backendSets: [] };
      return this.#sync(services, new Set(services.map((s) => s.datapathId)), services.length);
    });
  }

  /** Waits for queued changes to finish and for their records to be durable (shutdown). */
  async idle(): Promise<void> {
    await this.#queue.idle();
    await this.#store?.settled();
    await this.#store?.compacting?.catch(() => undefined);
  }

  /** Folds the journal into a snapshot now (e.g. at a clean stop), once queued changes are durable. */
  compact(): Promise<void> {
    return this.#queue.run(async () => {
      const store = this.#store;
      if (!store) return;
      await store.settled();
      await store.compacting?.catch(() => undefined);
      if (store.failed) {
        await this.#recover();
        return;
      }
      await store.compact(this.#state);
    });
  }

  #failure(e: unknown, rolledBack: boolean): ReconcileError {
    const what = (e as Error).message;
    return new ReconcileError(
      rolledBack
        ? `the change was not applied: ${what}`
        : `the change failed (${what}) and restoring the previous datapath state failed too; see the daemon log`,
      rolledBack,
      { cause: e },
    );
  }

  #sync(target: readonly Service[], scope: ReadonlySet<number> | 'all', size: number): SyncReport {
    return this.#reported(syncDatapath(this.#dp, target, scope, { ...this.#progress(scope, size), filter: this.#filter }), target);
  }

  /** #sync with the tables built on worker threads and turns of the event loop in between. */
  async #syncBulk(target: readonly Service[], scope: ReadonlySet<number> | 'all', size: number): Promise<SyncReport> {
    return this.#reported(await syncDatapathBulk(this.#dp, target, scope, { ...this.#progress(scope, size), builders: this.#builders, filter: this.#filter }), target);
  }

  #progress(scope: ReadonlySet<number> | 'all', size: number): SyncOptions {
    if (size < this.#progressEvery || this.#onProgress === undefined) return {};
    const what = scope === 'all' ? 'datapath sync' : 'change';
    return { onService: (done, total) => (done % this.#progressEvery === 0 || done === total) && this.#onProgress!({ done, total, what }) };
  }

  #reported(report: SyncReport, target: readonly Service[]): SyncReport {
    if (this.#onBackendSet && report.backendSets.length) {
      const byId = new Map<number, string>();
      for (const s of target) byId.set(s.datapathId, s.id);
      for (const b of report.backendSets) {
        this.#onBackendSet({ service: byId.get(b.serviceId) ?? `#${b.serviceId}`, datapathId: b.serviceId, seconds: b.seconds, backends: b.backends });
      }
    }
    return report;
  }

  /** After a failed rollback: one more attempt to bring the whole datapath back to the state. */
  #heal(): void {
    try {
      const list = this.#state.list();
      this.#sync(list, 'all', list.length);
      this.#log?.info('datapath is in step with the desired state again');
      this.#diverged = undefined;
    } catch (e) {
      this.#log?.error(`datapath still differs from the desired state: ${(e as Error).message}`);
    }
  }

  /** Reprograms the services of `changes` from the state as it is now; false (and a loud log) if that fails. */
  #reprogram(changes: readonly ServiceChange[], scope: ReadonlySet<number>): boolean {
    const target: Service[] = [];
    for (const c of changes) {
      const s = this.#state.find(c.id);
      if (s) target.push(s);
    }
    try {
      this.#sync(target, scope, target.length);
      return true;
    } catch (e) {
      this.#diverged = `rollback failed: ${(e as Error).message}`;
      this.#log?.error(`datapath rollback failed, the datapath may not match the desired state: ${(e as Error).message}`);
      return false;
    }
  }

  /**
   * After a failed journal write (runs in the queue): undoes every change that is not durable,
   * newest first, reprograms their services, and writes a snapshot of the result so the journal
   * can start over. True when the datapath is back in step (the snapshot may still have failed:
   * then the store stays failed and the next change tries again).
   */
  async #recover(): Promise<boolean> {
    const store = this.#store;
    if (!store) return true;
    await store.settled();
    await store.compacting?.catch(() => undefined);
    const undone = this.#pending.filter((p) => !p.durable);
    this.#pending = [];
    let inStep = true;
    if (undone.length) {
      const changes: ServiceChange[] = [];
      for (const p of [...undone].reverse()) {
        p.committed.undo();
        changes.push(...p.committed.changes);
      }
      inStep = this.#reprogram(changes, scopeOf(changes));
      this.#log?.error(`${undone.length} change(s) were rolled back: the journal could not be written (${store.failed?.message})`);
    }
    if (store.failed) {
      try {
        await store.compact(this.#state);
        this.#log?.info('the desired state is persisted again (new snapshot written)');
      } catch (e) {
        this.#log?.error(`cannot write the state snapshot: ${(e as Error).message}; changes are refused until it can be written`);
      }
    }
    return inStep;
  }

  #maybeCompact(): void {
    const store = this.#store;
    if (!store?.wantsCompaction || this.#compactionQueued) return;
    this.#compactionQueued = true;
    void this.#queue
      .run(async () => {
        await store.settled();
        if (store.failed || store.compacting || !store.wantsCompaction) return;
        const written = store.compact(this.#state); // captured now; written while changes go on
        written.catch((e: Error) => this.#log?.error(`state snapshot (compaction) failed, the journal keeps growing: ${e.message}`));
      })
      .finally(() => (this.#compactionQueued = false));
  }
}
