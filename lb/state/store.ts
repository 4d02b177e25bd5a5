// The desired state on disk: one JSON file per instance, replaced atomically on every change and
// read back at start. A file that cannot be trusted (not JSON, wrong format, invalid content) stops
// the start with a message that says what is wrong and where, after keeping a copy of it — the
// daemon must never quietly start empty, because reconciling an empty state would delete every
// service from a datapath that is still carrying traffic.
import { copyFile, readdir, readFile, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DesiredState, isPlainObject, ValidationError, type DesiredStateOptions, type StateDiff } from '../model/index.js';
import { tempPrefix, writeFileAtomic, type AtomicWriteIo } from './atomic-write.js';

export const STATE_FORMAT = 'xlb-desired-state';
export const STATE_VERSION = 1;

/** A state file that exists but cannot be used. */
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

/** The document written to disk. */
export function serializeState(state: DesiredState, now: () => number = Date.now): string {
  const doc = { format: STATE_FORMAT, version: STATE_VERSION, saved_at: new Date(now()).toISOString(), state: state.toSnapshot() };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export async function saveDesiredState(path: string, state: DesiredState, options: SaveOptions = {}): Promise<void> {
  await writeFileAtomic(path, serializeState(state, options.now), { io: options.io });
}

export interface LoadResult {
  state: DesiredState;
  /** False when there was no state file (first start): the state is empty. */
  found: boolean;
  /** Temp files of interrupted writes that were removed. */
  removedTempFiles: string[];
}

/**
 * Reads the state file. Missing file → empty state, found: false. Anything else that goes wrong
 * throws StateFileError (after copying an unusable file to `<path>.corrupt-<time>`).
 */
export async function loadDesiredState(path: string, options: DesiredStateOptions): Promise<LoadResult> {
  const removedTempFiles = await removeTempFiles(path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: new DesiredState(options), found: false, removedTempFiles };
    throw new StateFileError(path, `cannot be read (${(e as Error).message})`);
  }
  const now = options.now ?? Date.now;
  const reject = async (problem: string, field?: string): Promise<never> => {
    const copyPath = `${path}.corrupt-${new Date(now()).toISOString().replace(/[:.]/g, '-')}`;
    let kept: string | undefined;
    try {
      await copyFile(path, copyPath);
      kept = copyPath;
    } catch {
      kept = undefined;
    }
    throw new StateFileError(path, problem, kept, field);
  };

  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return reject(`is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(doc) || doc.format !== STATE_FORMAT) {
    return reject(`is not an xlb state file (expected "format": "${STATE_FORMAT}")`);
  }
  if (doc.version !== STATE_VERSION) {
    const newer = typeof doc.version === 'number' && doc.version > STATE_VERSION;
    return reject(
      newer
        ? `was written by a newer xlbd (format version ${doc.version}); this one understands version ${STATE_VERSION}`
        : `has unsupported format version ${JSON.stringify(doc.version)}`,
    );
  }
  try {
    return { state: DesiredState.fromSnapshot(doc.state, options), found: true, removedTempFiles };
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    const field = e.field ? `state.${e.field}` : 'state';
    return reject(`${field}: ${e.problem}`, field);
  }
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
 * layer (see docs/api.md). Pure with respect to the file: the caller saves after reconciling.
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
