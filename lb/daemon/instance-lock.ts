// One daemon per datapath and per state file: two xlbd processes on the same pins or the same
// state file would undo each other's changes, and one that adopts a live datapath without its
// state would delete every service. Both directories are locked with flock(2) (libbpf-ts
// DirLock) for the whole life of the process: the pin directory (the key is the datapath itself,
// whatever --state-dir or --instance says) and the instance's state directory. The kernel drops
// the locks when the process ends, kill -9 included, so there is no stale lock to recognise.
import { mkdirSync } from 'node:fs';
import { DirLock } from '../../bpf/libbpf-ts/index.js';

function lockOrExplain(dir: string, what: string, instance: string): DirLock {
  const lock = DirLock.tryAcquire(dir);
  if (lock) return lock;
  const pid = DirLock.holderPid(dir);
  const holder = pid === undefined ? 'another process' : pid === process.pid ? 'this process' : `xlbd pid ${pid}`;
  throw new Error(
    `${what} ${dir} is in use by ${holder}: one xlbd drives one datapath and one state file ` +
      `(instance "${instance}"); stop the other daemon first, or give this one its own --instance / bpffs_dir / state_dir`,
  );
}

export class InstanceLock {
  private constructor(private readonly locks: DirLock[]) {}

  /** Locks the pin directory (created if missing; bpffs must be mounted) and the state directory. */
  static acquire(o: { pinDir: string; stateDir: string; instance: string }): InstanceLock {
    mkdirSync(o.stateDir, { recursive: true, mode: 0o750 });
    mkdirSync(o.pinDir, { recursive: true });
    const pin = lockOrExplain(o.pinDir, 'bpffs_dir', o.instance);
    try {
      return new InstanceLock([pin, lockOrExplain(o.stateDir, 'state directory', o.instance)]);
    } catch (e) {
      pin.release();
      throw e;
    }
  }

  release(): void {
    for (const l of this.locks) l.release();
  }
}
