// DirLock: an exclusive flock(2) on a directory, held until release() or the end of the process
// (the kernel drops it even after SIGKILL: no stale lock files). xlbd locks its BPF pin directory
// with it, so two daemons can never drive one datapath. Locks are per open file: a second
// acquire() in the same process is refused like one from another process.
import { readFileSync, statSync } from 'node:fs';
import { native } from './native.js';

export class DirLock {
  #fd: number;

  private constructor(readonly path: string, fd: number) {
    this.#fd = fd;
  }

  /**
   * Locks `path` (an existing directory). Returns undefined when another open file holds the
   * lock (see holderPid); throws BpfError for anything else (ENOENT, ENOTDIR, EACCES).
   */
  static tryAcquire(path: string): DirLock | undefined {
    const fd = native.dirLock(path);
    return fd < 0 ? undefined : new DirLock(path, fd);
  }

  /** Pid of the process holding an flock on `path`, from /proc/locks, if it can be told. */
  static holderPid(path: string): number | undefined {
    let st;
    try {
      st = statSync(path);
    } catch {
      return undefined;
    }
    // /proc/locks names the file as MAJOR:MINOR:INODE, the device numbers in hex.
    const major = Math.floor(st.dev / 256) & 0xfff;
    const minor = (st.dev & 0xff) | (Math.floor(st.dev / 0x1000) & 0xfff00);
    const id = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${st.ino}`;
    let text: string;
    try {
      text = readFileSync('/proc/locks', 'utf8');
    } catch {
      return undefined;
    }
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/);
      // "1: FLOCK  ADVISORY  WRITE 16012 00:27:385274 0 EOF"
      if (f[1] === 'FLOCK' && f[5] === id) return Number(f[4]);
    }
    return undefined;
  }

  get held(): boolean {
    return this.#fd >= 0;
  }

  release(): void {
    if (this.#fd < 0) return;
    native.dirUnlock(this.#fd);
    this.#fd = -1;
  }
}
