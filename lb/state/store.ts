// The desired state on disk: a snapshot file (snapshot-file.ts) plus a journal of the changes made
// since (journal.ts). A change costs one appended line and one fdatasync shared with whatever other
// changes are in flight (group commit), never a rewrite of the whole state; the snapshot is
// rewritten (compaction) when the journal has grown past the snapshot's size, at start after a
// crash, and at a clean stop.
//
// Load = snapshot + every journal record after its journal_seq, in order, with no gap. A file that
// cannot be trusted (not JSON, wrong format, invalid content, a damaged journal line) stops the
// start with a message that says what is wrong and where, after keeping a copy of it — the daemon
// must never quietly start empty, because reconciling an empty state would delete every service
// from a datapath that is still carrying traffic.
//
// Compaction without a pause: the state is captured (immutable service objects, O(services)) and
// the journal switches to a new generation file in the same synchronous step, so changes go on
// while the snapshot is written; the older journal files are removed once the snapshot (which
// covers them) is durable. A crash at any point leaves either the old snapshot + all journal files
// or the new snapshot + the new file, and records a snapshot covers are skipped by seq.
import { copyFile, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DesiredState, isPlainObject, ValidationError, type ChangeRecord, type DesiredStateOptions, type StateDiff } from '../model/index.js';
import { NotDurableError, tempPrefix, writeFileAtomic, type AtomicWriteIo } from './atomic-write.js';
import { JournalDamage, JournalWriter, journalFiles, journalPath, readJournalFile, removeJournalFiles, type JournalIo, type JournalLine } from './journal.js';
import { changeLine, replay } from './record.js';
import { READABLE_VERSIONS, STATE_FORMAT, STATE_VERSION, snapshotText, type SnapshotCapture } from './snapshot-file.js';

export { STATE_FORMAT, STATE_VERSION };

/** A state file (or its journal) that exists but cannot be used. */
export class StateFileError extends Error {
  readonly path: string;
  /** Where the unusable file was copied to, if it was. */
  readonly copyPath: string | undefined;
  /** Path inside the document (e.g. services[2].vip) when the content is at fault. */
  readonly field: string | undefined;

  constructor(path: string, problem: string, copyPath?: string, field?: string) {
    const kept = copyPath ? ` A copy was kept at ${copyPath}.` : '';
    super(
      `state file ${path}: ${problem}.${kept} Fix the file, or move it away to start from the config file's ` +
        'services only (the running datapath keeps its current state until the daemon reconciles).',
    );
    this.name = 'StateFileError';
    this.path = path;
    this.copyPath = copyPath;
    this.field = field;
  }
}

export interface SaveOptions {
  io?: Partial<AtomicWriteIo>;
  /** For the saved_at stamp; default Date.now. */
  now?: () => number;
}

/** The whole document, in one go (tests, tools; the daemon writes snapshots through StateStore). */
export function serializeState(state: DesiredState, now: () => number = Date.now, seq = 0): string {
  const c = state.capture();
  const doc = {
    format: STATE_FORMAT,
    version: STATE_VERSION,
    saved_at: new Date(now()).toISOString(),
    journal_seq: seq,
    state: { service_ids: c.serviceIds, backend_ids: c.backendIds, services: state.toSnapshot().services },
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/**
 * Replaces the state on disk with `state` as a full snapshot, and removes the journal (whose
 * records the snapshot then covers). For tools and tests; a running daemon uses StateStore.
 */
export async function saveDesiredState(path: string, state: DesiredState, options: SaveOptions = {}): Promise<void> {
  const files = journalFiles(path);
  await writeFileAtomic(path, serializeState(state, options.now, lastSeqOf(files.map((f) => f.path))), { io: options.io });
  removeJournalFiles(files.map((f) => f.path));
}

/** The highest seq in these journal files (damaged lines ignored). */
function lastSeqOf(paths: readonly string[]): number {
  let seq = 0;
  for (const p of paths) {
    try {
      for (const r of readJournalFile(p).records) seq = Math.max(seq, r.seq);
    } catch (e) {
      if (!(e instanceof JournalDamage)) throw e;
    }
  }
  return seq;
}

export interface LoadResult {
  state: DesiredState;
  /** False when there was no state file (first start): the state is empty. */
  found: boolean;
  /** Temp files of interrupted writes that were removed. */
  removedTempFiles: string[];
  /** The last journal record applied (the snapshot's journal_seq when none was). */
  seq: number;
  /** Journal records applied on top of the snapshot. */
  replayed: number;
  /** Journal files found (all of them are covered by a new snapshot once one is written). */
  journalFiles: string[];
  /** A journal ended in a torn record (a crash during a write; that change was never acknowledged). */
  tornJournal: boolean;
  /** Format version of the snapshot file (0 when there was none). */
  version: number;
  /** Size of the snapshot file in bytes. */
  snapshotBytes: number;
}

/**
 * Reads the snapshot and replays the journal. Missing snapshot and journal → empty state, found:
 * false. Anything else that goes wrong throws StateFileError (after copying an unusable file to
 * `<path>.corrupt-<time>`). Reads only; removes nothing but temp files of interrupted writes (not
 * even those with `readOnly`: for looking at the files of a running daemon).
 */
export async function loadDesiredState(path: string, options: DesiredStateOptions, o: { readOnly?: boolean } = {}): Promise<LoadResult> {
  const removedTempFiles = o.readOnly ? [] : await removeTempFiles(path);
  const now = options.now ?? Date.now;
  const keepCopy = async (file: string): Promise<string | undefined> => {
    const copyPath = `${file}.corrupt-${new Date(now()).toISOString().replace(/[:.]/g, '-')}`;
    try {
      await copyFile(file, copyPath);
      return copyPath;
    } catch {
      return undefined;
    }
  };
  const reject = async (problem: string, field?: string, file = path): Promise<never> => {
    throw new StateFileError(file, problem, await keepCopy(file), field);
  };

  const journal = journalFiles(path);
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new StateFileError(path, `cannot be read (${(e as Error).message})`);
  }

  let version = 0;
  let snapshotSeq = 0;
  let stateDoc: unknown = { services: [], service_ids: { next: 1, retired: [] }, backend_ids: { next: 1, retired: [] } };
  if (text !== undefined) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      return reject(`is not valid JSON (${(e as Error).message})`);
    }
    if (!isPlainObject(doc) || doc.format !== STATE_FORMAT) {
      return reject(`is not an xlb state file (expected "format": "${STATE_FORMAT}")`);
    }
    if (typeof doc.version !== 'number' || !READABLE_VERSIONS.includes(doc.version)) {
      const newer = typeof doc.version === 'number' && doc.version > STATE_VERSION;
      return reject(
        newer
          ? `was written by a newer xlbd (format version ${doc.version}); this one understands versions ${READABLE_VERSIONS.join(' and ')}`
          : `has unsupported format version ${JSON.stringify(doc.version)}`,
      );
    }
    version = doc.version;
    if (version >= 2) {
      if (!Number.isInteger(doc.journal_seq) || (doc.journal_seq as number) < 0) return reject('journal_seq: expected an integer ≥ 0', 'journal_seq');
      snapshotSeq = doc.journal_seq as number;
    }
    stateDoc = doc.state;
  }

  // The journal: every record after the snapshot's seq, consecutive.
  const records: JournalLine[] = [];
  const origin = new Map<JournalLine, string>();
  let seq = snapshotSeq;
  let torn = false;
  for (const f of journal) {
    let read;
    try {
      read = readJournalFile(f.path);
    } catch (e) {
      if (e instanceof JournalDamage) return reject(`journal damaged: ${e.message}`, undefined, f.path);
      throw new StateFileError(f.path, `cannot be read (${(e as Error).message})`);
    }
    torn ||= read.torn;
    for (const r of read.records) {
      if (r.seq <= seq) continue; // covered by the snapshot, or a record of a change that failed and was rolled back
      if (r.seq !== seq + 1) {
        return reject(`journal record ${r.seq} follows record ${seq}: records ${seq + 1}…${r.seq - 1} are missing`, undefined, f.path);
      }
      seq = r.seq;
      records.push(r);
      origin.set(r, f.path);
    }
  }
  if (text === undefined && records.length === 0) {
    return {
      state: new DesiredState(options),
      found: false,
      removedTempFiles,
      seq,
      replayed: 0,
      journalFiles: journal.map((f) => f.path),
      tornJournal: torn,
      version: 0,
      snapshotBytes: 0,
    };
  }

  let merged: unknown;
  try {
    merged = records.length && isPlainObject(stateDoc) ? replay(stateDoc, records, (r) => `${origin.get(r)} record ${r.seq}`) : stateDoc;
  } catch (e) {
    return reject(`journal: ${(e as Error).message}`);
  }
  let state: DesiredState;
  try {
    state = DesiredState.fromSnapshot(merged, options);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    const field = e.field ? `state.${e.field}` : 'state';
    const inJournal = records.length ? ` (after replaying ${records.length} journal records)` : '';
    return reject(`${field}: ${e.problem}${inJournal}`, field);
  }
  return {
    state,
    found: true,
    removedTempFiles,
    seq,
    replayed: records.length,
    journalFiles: journal.map((f) => f.path),
    tornJournal: torn,
    version,
    snapshotBytes: text === undefined ? 0 : Buffer.byteLength(text),
  };
}

/** Leftovers of writes interrupted by a crash; they never hold the current state. */
async function removeTempFiles(path: string): Promise<string[]> {
  const dir = dirname(path);
  const prefix = tempPrefix(path);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const full = join(dir, name);
    await unlink(full).then(
      () => removed.push(full),
      () => {},
    );
  }
  return removed;
}

export interface RestoreResult extends LoadResult {
  /** What applying the config file's services changed relative to the stored state. */
  configDiff: StateDiff;
}

/**
 * Start-up and reload: the stored state, with the config file's services applied as the 'config'
 * layer (see docs/api.md). Pure with respect to the files: the caller persists after reconciling.
 */
export async function restoreDesiredState(
  path: string,
  options: DesiredStateOptions,
  declaredServices: readonly unknown[],
  field = 'services',
): Promise<RestoreResult> {
  const loaded = await loadDesiredState(path, options);
  const configDiff = loaded.state.apply([...declaredServices], { origin: 'config', field });
  return { ...loaded, configDiff };
}

export interface StateStoreOptions {
  /** The journal's write and fdatasync (tests inject failures). */
  journalIo?: JournalIo;
  /** The snapshot's atomic replace steps (tests inject failures). */
  snapshotIo?: Partial<AtomicWriteIo>;
  now?: () => number;
  /** A journal smaller than this never triggers a compaction (default 16 MiB). */
  compactMinBytes?: number;
  /** Compact when the journal is larger than this many snapshot sizes (default 1). */
  compactRatio?: number;
  /** A snapshot replaced the file but may not survive a power loss (its directory sync failed). */
  warn?: (message: string) => void;
}

/**
 * The writing side: appends change records (durable on return), and rewrites the snapshot. One
 * instance per state file; the reconciler is its only caller. Appends after a failed journal write
 * are refused until compact() succeeded (a later change must never be durable when an earlier one
 * is not); seq numbers of failed records are never reused — the snapshot written to recover covers
 * them, so a failed record that did reach the disk is never replayed.
 */
export class StateStore {
  readonly path: string;
  readonly #o: StateStoreOptions;
  readonly #now: () => number;
  #seq: number;
  #generation: number;
  #writer: JournalWriter | undefined;
  #snapshotBytes: number;
  #failed: Error | undefined;
  #compacting: Promise<void> | undefined;
  /** Journal files a durable snapshot does not cover yet (older generations + the current one). */
  #files: string[];

  /** `loaded`: what loadDesiredState returned for `path`. Nothing is written until start(). */
  constructor(path: string, loaded: Pick<LoadResult, 'seq' | 'journalFiles' | 'snapshotBytes'>, o: StateStoreOptions = {}) {
    this.path = path;
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#seq = loaded.seq;
    this.#files = [...loaded.journalFiles];
    const gens = journalFiles(path).map((f) => f.generation);
    this.#generation = gens.length ? Math.max(...gens) : 0;
    this.#snapshotBytes = loaded.snapshotBytes;
  }

  /** The last seq handed out. */
  get seq(): number {
    return this.#seq;
  }

  /** Why changes cannot be persisted right now (a failed journal write), or undefined. */
  get failed(): Error | undefined {
    return this.#failed ?? this.#writer?.failed;
  }

  /** A snapshot is being written. */
  get compacting(): Promise<void> | undefined {
    return this.#compacting;
  }

  /** The journal has outgrown the snapshot: time for compact(). */
  get wantsCompaction(): boolean {
    if (this.#compacting || !this.#writer || this.failed) return false;
    const min = this.#o.compactMinBytes ?? 16 << 20;
    return this.#writer.bytes > Math.max(min, (this.#o.compactRatio ?? 1) * this.#snapshotBytes);
  }

  get journalBytes(): number {
    return this.#writer?.bytes ?? 0;
  }

  /**
   * Opens the journal for appending: a fresh generation file, so a torn tail of an older file is
   * never followed by new records. With `compact` (a crash left a journal, the snapshot is version
   * 1, or restoring changed the state), first writes a snapshot of `state` covering everything.
   */
  async start(state: DesiredState, o: { compact: boolean }): Promise<void> {
    if (o.compact || this.#files.length) await this.compact(state);
    else this.#rotate();
  }

  /**
   * Appends one change; resolves when it is on disk. Call in the order the changes were made
   * (the reconciler's queue); the seq is taken now.
   */
  append(change: ChangeRecord): Promise<void> {
    const failed = this.failed;
    if (failed) return Promise.reject(failed);
    if (!this.#writer) return Promise.reject(new Error('the state store was not started'));
    this.#seq++;
    return this.#writer.append(changeLine(this.#seq, change, this.#now()));
  }

  /** Resolves when every append so far is durable or failed. */
  async settled(): Promise<void> {
    await this.#writer?.settled();
  }

  /**
   * Writes a snapshot of `state` and drops the journal it covers. `state` must hold exactly the
   * changes appended so far, none of them still in flight (the caller waits for settled() and
   * rolls failed ones back first). The capture and the switch to a new journal file happen before
   * this returns its promise, so changes may go on meanwhile. Clears a failed journal on success.
   */
  compact(state: DesiredState): Promise<void> {
    if (this.#compacting) return Promise.reject(new Error('a compaction is already running'));
    const capture: SnapshotCapture = { ...state.capture(), seq: this.#seq };
    const covered = this.#rotate();
    const run = (async () => {
      const text = await snapshotText(capture, this.#now());
      let durable = true;
      try {
        await writeFileAtomic(this.path, text, { io: this.#o.snapshotIo });
      } catch (e) {
        // The new snapshot is in place (a restart loads it), but after a power loss the directory
        // may still name the old one: keep the journal files that old one needs, until a later
        // snapshot is durable. Not a failure: the state on disk is whole either way.
        if (!(e instanceof NotDurableError)) throw e;
        durable = false;
        this.#o.warn?.(`state snapshot written, but ${e.message}; the journal files it covers are kept`);
      }
      this.#snapshotBytes = text.length;
      this.#failed = undefined;
      if (durable) {
        removeJournalFiles(covered);
        this.#files = this.#files.filter((f) => !covered.includes(f));
      }
    })();
    this.#compacting = run.finally(() => (this.#compacting = undefined));
    return this.#compacting;
  }

  /** Switches appends to a new journal generation; returns the files a snapshot taken now covers. */
  #rotate(): string[] {
    const previous = this.#writer;
    const brokenBy = previous?.failed;
    this.#generation++;
    const path = journalPath(this.path, this.#generation);
    this.#writer = new JournalWriter(path, this.#o.journalIo);
    // A failed writer's error stays the store's until a snapshot covers its records.
    if (brokenBy) this.#failed = brokenBy;
    void previous?.close().catch(() => undefined);
    const covered = [...this.#files];
    this.#files.push(path);
    return covered;
  }

  /** Finishes pending appends and a running compaction; closes the journal. */
  async close(): Promise<void> {
    await this.#writer?.settled();
    await this.#compacting?.catch(() => undefined);
    await this.#writer?.close();
    this.#writer = undefined;
  }

  /** Bytes of the snapshot file as last written or read. */
  get snapshotBytes(): number {
    return this.#snapshotBytes;
  }

  /** Size of the snapshot file on disk (for status). */
  async snapshotFileBytes(): Promise<number> {
    try {
      return (await stat(this.path)).size;
    } catch {
      return 0;
    }
  }
}
