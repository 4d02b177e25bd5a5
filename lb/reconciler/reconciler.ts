// The reconciler owns the committed desired state and keeps the datapath and the state file in
// step with it. A change is: copy the state → run the operation on the copy (validation; a
// ValidationError leaves everything untouched) → program the datapath with only what differs →
// save the state file atomically → commit. If the datapath or the save fails, the touched services
// are reprogrammed from the old state and the error is returned: nothing is left half-done. A save
// whose file was already replaced when the directory sync failed is not a failure to undo: the
// file holds the change, so the datapath keeps it too (undoing it would split them); it is
// committed with a warning that it may not survive a power loss.
import type { DesiredState, Service, StateDiff } from '../model/index.js';
import { NotDurableError, saveDesiredState } from '../state/index.js';
import { SerialQueue } from './queue.js';
import { syncDatapath, type BackendFilter, type DatapathPort, type SyncReport } from './sync.js';

export interface ReconcilerLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface ReconcilerOptions {
  datapath: DatapathPort;
  /** The committed state to start from (already restored from the state file). */
  state: DesiredState;
  /** Where the state is persisted (lb/state); undefined = not persisted (tests). */
  stateFile: string | undefined;
  log?: ReconcilerLogger;
  /** Called for every Maglev table (backend set) written, e.g. for a rebuild-duration metric. */
  onBackendSet?: (e: { service: string; datapathId: number; seconds: number; backends: number }) => void;
  /** Replaces saveDesiredState (tests inject failures). */
  save?: (path: string, state: DesiredState) => Promise<void>;
  /** The health overlay: which backends of a service the datapath gets (default: all). */
  backendFilter?: BackendFilter;
}

export interface ChangeResult {
  diff: StateDiff;
  /** The committed state after the change (the same object as before for a dry run or a no-op). */
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

export class Reconciler {
  readonly #dp: DatapathPort;
  readonly #stateFile: string | undefined;
  readonly #log: ReconcilerLogger | undefined;
  readonly #onBackendSet: ReconcilerOptions['onBackendSet'];
  readonly #save: (path: string, state: DesiredState) => Promise<void>;
  readonly #filter: BackendFilter | undefined;
  readonly #queue = new SerialQueue();
  #state: DesiredState;
  /** Set when a rollback failed: the datapath may differ from the state until the next full sync. */
  #diverged: string | undefined;

  constructor(o: ReconcilerOptions) {
    this.#dp = o.datapath;
    this.#state = o.state;
    this.#stateFile = o.stateFile;
    this.#log = o.log;
    this.#onBackendSet = o.onBackendSet;
    this.#save = o.save ?? ((path, state) => saveDesiredState(path, state));
    this.#filter = o.backendFilter;
  }

  /** The committed desired state. Treat as read-only; change it through change(). */
  get state(): DesiredState {
    return this.#state;
  }

  /** Why the datapath may not match the state (a failed rollback), or undefined when in step. */
  get diverged(): string | undefined {
    return this.#diverged;
  }

  /**
   * Runs `op` on a copy of the state and, unless dryRun, makes it real: datapath, then state file,
   * then commit. Resolves after the datapath reflects the change. ValidationErrors from `op` pass
   * through unchanged (nothing was touched); datapath/save failures become ReconcileError.
   */
  change(op: (draft: DesiredState) => StateDiff, o: { dryRun?: boolean } = {}): Promise<ChangeResult> {
    return this.#queue.run(async () => {
      if (this.#diverged) this.#heal();
      const before = this.#state;
      const draft = before.clone();
      const diff = op(draft);
      if (o.dryRun) return { diff, state: before, dryRun: true };
      if (diff.changes.length === 0) return { diff, state: before, dryRun: false };
      const scope = new Set<number>();
      for (const c of diff.changes) {
        if (c.before) scope.add(c.before.datapathId);
        if (c.after) scope.add(c.after.datapathId);
      }
      const programs = diff.changes.some((c) => c.datapathChanged);
      try {
        if (programs) this.#sync(draft.list(), scope);
        if (this.#stateFile) await this.#saveCommitted(this.#stateFile, draft);
      } catch (e) {
        const rolledBack = programs ? this.#rollback(before, scope) : true;
        const what = (e as Error).message;
        throw new ReconcileError(
          rolledBack
            ? `the change was not applied: ${what}`
            : `the change failed (${what}) and restoring the previous datapath state failed too; see the daemon log`,
          rolledBack,
          { cause: e },
        );
      }
      this.#state = draft;
      return { diff, state: draft, dryRun: false };
    });
  }

  /** Saves; a save that replaced the file but could not sync its directory counts as done. */
  async #saveCommitted(path: string, state: DesiredState): Promise<void> {
    try {
      await this.#save(path, state);
    } catch (e) {
      if (!(e instanceof NotDurableError)) throw e;
      this.#log?.warn(`the change is applied and saved, but ${e.message}`);
    }
  }

  /** Converges the whole datapath to the committed state (start-up, or after a failed rollback). */
  syncAll(): Promise<SyncReport> {
    return this.#queue.run(() => {
      const report = this.#sync(this.#state.list(), 'all');
      this.#diverged = undefined;
      return report;
    });
  }

  /**
   * Writes these services' backend sets again from the committed state, e.g. after the health
   * overlay changed its mind about one of their backends. Nothing else changes; no-op for unknown
   * ids and for services whose datapath already matches.
   */
  reprogram(serviceIds: readonly string[]): Promise<SyncReport> {
    return this.#queue.run(() => {
      const scope = new Set<number>();
      for (const id of serviceIds) {
        const svc = this.#state.find(id);
        if (svc) scope.add(svc.datapathId);
      }
      if (scope.size === 0) return { upserted: [], deleted: [], backendSets: [] };
      return this.#sync(this.#state.list(), scope);
    });
  }

  /** Saves the committed state (after start-up, when restoring applied the config layer). */
  persist(): Promise<void> {
    return this.#queue.run(async () => {
      if (this.#stateFile) await this.#saveCommitted(this.#stateFile, this.#state);
    });
  }

  /** Waits for queued changes to finish (shutdown). */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  #sync(target: Service[], scope: ReadonlySet<number> | 'all'): SyncReport {
    const report = syncDatapath(this.#dp, target, scope, undefined, this.#filter);
    if (this.#onBackendSet && report.backendSets.length) {
      const byId = new Map(target.map((s) => [s.datapathId, s.id]));
      for (const b of report.backendSets) {
        this.#onBackendSet({ service: byId.get(b.serviceId) ?? `#${b.serviceId}`, datapathId: b.serviceId, seconds: b.seconds, backends: b.backends });
      }
    }
    return report;
  }

  /** After a failed rollback: one more attempt to bring the whole datapath back to the state. */
  #heal(): void {
    try {
      this.#sync(this.#state.list(), 'all');
      this.#log?.info('datapath is in step with the desired state again');
      this.#diverged = undefined;
    } catch (e) {
      this.#log?.error(`datapath still differs from the desired state: ${(e as Error).message}`);
    }
  }

  /** Reprograms the touched services from `state`; false (and a loud log) if even that fails. */
  #rollback(state: DesiredState, scope: ReadonlySet<number>): boolean {
    try {
      this.#sync(state.list(), scope);
      return true;
    } catch (e) {
      this.#diverged = `rollback failed: ${(e as Error).message}`;
      this.#log?.error(`datapath rollback failed, the datapath may not match the desired state: ${(e as Error).message}`);
      return false;
    }
  }
}
