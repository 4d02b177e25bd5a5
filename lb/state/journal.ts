// The journal: one line per acknowledged change, appended to `<state file>.journal.<generation>`
// and made durable with group commit — every change appended while a write + fdatasync is in
// flight goes to disk with the next one, so N concurrent changes cost about two flushes, not N.
//
// A line is `<crc32 of the JSON, 8 hex digits> <JSON record>\n`. A crash in the middle of a write
// leaves a last line that is incomplete or fails its checksum: that record was never acknowledged
// (acknowledgement waits for the fdatasync), so the reader drops it. A bad line that is followed
// by good ones is damage, not a torn write, and stops the load.
import { closeSync, existsSync, fdatasync, fsync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';

/** A record as stored; `seq` numbers are consecutive across journal files and snapshots. */
export interface JournalLine {
  seq: number;
  [key: string]: unknown;
}

/** The system calls of a flush; overridable so tests can make them fail. */
export interface JournalIo {
  write(fd: number, data: Buffer, position: number | null): Promise<number>;
  datasync(fd: number): Promise<void>;
  /** fsync of the directory (once per new journal file, so the file itself survives a power loss). */
  syncDir?(dir: string): Promise<void>;
}

function syncDirectory(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let fd: number;
    try {
      fd = openSync(dir, 'r');
    } catch (e) {
      reject(e);
      return;
    }
    fsync(fd, (e) => {
      closeSync(fd);
      if (e) reject(e);
      else resolve();
    });
  });
}

export const defaultJournalIo: Required<JournalIo> = {
  // The write itself only copies a few hundred bytes into the page cache: done here, it saves a
  // round trip through libuv's thread pool (and a turn of the event loop) on every acknowledged
  // change; the fdatasync, which waits for the disk, stays off the event loop.
  write: (fd, data, position) => {
    try {
      return Promise.resolve(writeSync(fd, data, 0, data.length, position));
    } catch (e) {
      return Promise.reject(e as Error);
    }
  },
  datasync: (fd) => new Promise((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve()))),
  syncDir: syncDirectory,
};

export function encodeLine(record: JournalLine): Buffer {
  const json = JSON.stringify(record);
  return Buffer.from(`${crc32(json).toString(16).padStart(8, '0')} ${json}\n`, 'utf8');
}

/** Journal files next to `statePath`, oldest generation first. */
export function journalFiles(statePath: string): { path: string; generation: number }[] {
  const prefix = `${basename(statePath)}.journal.`;
  let names: string[];
  try {
    names = readdirSync(dirname(statePath));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix) && /^[0-9]+$/.test(n.slice(prefix.length)))
    .map((n) => ({ path: join(dirname(statePath), n), generation: Number(n.slice(prefix.length)) }))
    .sort((a, b) => a.generation - b.generation);
}

export function journalPath(statePath: string, generation: number): string {
  return `${statePath}.journal.${generation}`;
}

export class JournalDamage extends Error {
  constructor(
    readonly path: string,
    readonly line: number,
    problem: string,
  ) {
    super(`${path} line ${line}: ${problem}`);
    this.name = 'JournalDamage';
  }
}

/**
 * The records of one journal file, in order. A torn last line is dropped (`torn: true`); any other
 * unreadable line throws JournalDamage.
 */
export function readJournalFile(path: string): { records: JournalLine[]; torn: boolean } {
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  // A complete file ends with '\n', so the last element is ''. Anything else there is a torn write.
  const tail = lines.pop()!;
  const records: JournalLine[] = [];
  let torn = tail !== '';
  for (let i = 0; i < lines.length; i++) {
    const parsed = parseLine(lines[i]!);
    if (typeof parsed === 'string') {
      // The last complete line can still be torn (a write that stopped right after a newline of an
      // earlier attempt is impossible, but a checksum mismatch on the last line is what a partly
      // flushed page looks like).
      if (i === lines.length - 1 && tail === '') {
        torn = true;
        break;
      }
      throw new JournalDamage(path, i + 1, parsed);
    }
    records.push(parsed);
  }
  return { records, torn };
}

function parseLine(line: string): JournalLine | string {
  const m = /^([0-9a-f]{8}) (.*)$/.exec(line);
  if (!m) return 'not a journal record (expected "<crc32> <json>")';
  if (crc32(m[2]!) !== parseInt(m[1]!, 16)) return 'checksum mismatch';
  let value: unknown;
  try {
    value = JSON.parse(m[2]!);
  } catch (e) {
    return `not JSON (${(e as Error).message})`;
  }
  if (typeof value !== 'object' || value === null || !Number.isInteger((value as JournalLine).seq)) return 'record without a seq number';
  return value as JournalLine;
}

interface Waiter {
  resolve(): void;
  reject(e: Error): void;
}

/**
 * Appends records to one journal file with group commit. append() returns once the record is on
 * disk (fdatasync). After a failed write or sync the writer is broken: that append and every one
 * after it is rejected with the error (a later record must never be durable when an earlier one
 * is not); the owner rotates to a new file after writing a snapshot.
 */
export class JournalWriter {
  readonly path: string;
  readonly #fd: number;
  readonly #io: JournalIo;
  #bytes: number;
  #queued: Buffer[] = [];
  #waiters: Waiter[] = [];
  #flushing: Promise<void> | undefined;
  #failed: Error | undefined;
  #closed = false;
  /** The file was created by this writer and its directory entry is not synced yet. */
  #dirPending: boolean;

  /** Creates (or appends to) `path`; synchronous, so switching files never interleaves with appends. */
  constructor(path: string, io: JournalIo = defaultJournalIo) {
    this.path = path;
    this.#io = io;
    this.#dirPending = !existsSync(path);
    this.#fd = openSync(path, 'a', 0o600);
    this.#bytes = 0;
  }

  /** Bytes appended to this file (by this writer). */
  get bytes(): number {
    return this.#bytes;
  }

  get failed(): Error | undefined {
    return this.#failed;
  }

  /** Queues a record; resolves when it is durable. The line is encoded now, so order = call order. */
  append(record: JournalLine): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#closed) return Promise.reject(new Error(`journal ${this.path} is closed`));
    const line = encodeLine(record);
    this.#bytes += line.length;
    this.#queued.push(line);
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.#flushing ??= this.#flushLoop();
    return done;
  }

  /** Resolves when everything appended so far is durable or has failed. */
  async settled(): Promise<void> {
    while (this.#flushing) await this.#flushing.catch(() => undefined);
  }

  async #flushLoop(): Promise<void> {
    try {
      while (this.#queued.length && !this.#failed) {
        const data = this.#queued.length === 1 ? this.#queued[0]! : Buffer.concat(this.#queued);
        const waiters = this.#waiters;
        this.#queued = [];
        this.#waiters = [];
        try {
          for (let off = 0; off < data.length; ) off += await this.#io.write(this.#fd, off ? data.subarray(off) : data, null);
          await this.#io.datasync(this.#fd);
          // The first records of a new file are only durable once the file's name is: without the
          // directory sync a power loss could take the whole file (and acknowledged changes) away.
          if (this.#dirPending) {
            await (this.#io.syncDir ?? defaultJournalIo.syncDir)(dirname(this.path));
            this.#dirPending = false;
          }
        } catch (e) {
          this.#fail(e as Error, waiters);
          break;
        }
        for (const w of waiters) w.resolve();
      }
    } finally {
      this.#flushing = undefined;
    }
  }

  #fail(e: Error, inFlight: Waiter[]): void {
    const err = new Error(`cannot write the journal ${this.path}: ${e.message}`, { cause: e });
    this.#failed = err;
    for (const w of [...inFlight, ...this.#waiters]) w.reject(err);
    this.#waiters = [];
    this.#queued = [];
  }

  /** Waits for pending appends, then closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.settled();
    this.#closed = true;
    closeSync(this.#fd);
  }
}

/** Deletes journal files (best effort; a leftover only holds records a snapshot already covers). */
export function removeJournalFiles(paths: readonly string[]): void {
  for (const p of paths) {
    try {
      unlinkSync(p);
    } catch {
      // already gone
    }
  }
}
