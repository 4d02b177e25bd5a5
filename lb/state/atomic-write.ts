// Crash-safe file replacement: after a crash or power loss at any instant, the path holds either
// the complete old content or the complete new content, never a mix or a truncated file.
// Recipe: write a temp file in the same directory, fsync it, rename it over the target (atomic
// within one file system), then fsync the directory so the rename itself is durable.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** The steps, overridable so tests can make one fail (e.g. a failing fsync) and check the outcome. */
export interface AtomicWriteIo {
  writeData(handle: FileHandle, data: Buffer): Promise<void>;
  fsyncFile(handle: FileHandle): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  fsyncDir(dir: string): Promise<void>;
}

export const defaultAtomicWriteIo: AtomicWriteIo = {
  async writeData(handle, data) {
    await handle.writeFile(data);
  },
  async fsyncFile(handle) {
    await handle.sync();
  },
  rename,
  async fsyncDir(dir) {
    const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

/** The new content is in place (renamed over the target) but its directory could not be synced:
 *  the replacement is real now, it may just not survive a power loss. Not a failed write. */
export class NotDurableError extends Error {
  readonly replaced = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotDurableError';
  }
}

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0600: the state is the daemon's business). */
  mode?: number;
  /** Mode for directories created on the way (default 0750). */
  dirMode?: number;
  io?: Partial<AtomicWriteIo>;
}

/** Prefix of temp files next to `path`; loaders may delete leftovers of a crash. */
export function tempPrefix(path: string): string {
  return `.${basename(path)}.tmp-`;
}

export async function writeFileAtomic(path: string, data: string | Buffer, options: AtomicWriteOptions = {}): Promise<void> {
  const io = { ...defaultAtomicWriteIo, ...options.io };
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: options.dirMode ?? 0o750 });
  const temp = join(dir, `${tempPrefix(path)}${process.pid}-${randomBytes(4).toString('hex')}`);
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, options.mode ?? 0o600);
  let renamed = false;
  try {
    await io.writeData(handle, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    await io.fsyncFile(handle);
    await handle.close();
    await io.rename(temp, path);
    renamed = true;
  } catch (e) {
    await handle.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw e;
  }
  if (renamed) {
    try {
      await io.fsyncDir(dir);
    } catch (e) {
      throw new NotDurableError(
        `${path} was replaced, but syncing its directory failed (${(e as Error).message}); the change may not survive a power loss`,
        { cause: e },
      );
    }
  }
}
