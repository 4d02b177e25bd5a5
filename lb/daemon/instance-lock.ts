// One daemon per instance: two xlbd processes on the same pins and state file would undo each
// other's changes. A pid file in the instance's state directory names the running daemon; a pid
// file left by a killed daemon (kill -9) is recognised as stale and taken over.
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

function isXlbd(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /xlbd|daemon\/main\.(js|ts)/.test(cmdline);
  } catch {
    return false;
  }
}

export class InstanceLock {
  private constructor(readonly path: string) {}

  static acquire(path: string, instance: string): InstanceLock {
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    let other: number | undefined;
    try {
      other = Number(readFileSync(path, 'utf8').trim());
    } catch {
      other = undefined;
    }
    if (other && other !== process.pid && isXlbd(other)) {
      throw new Error(`instance "${instance}" is already run by xlbd pid ${other} (${path}); stop it first or use another --instance`);
    }
    writeFileSync(path, `${process.pid}\n`, { mode: 0o644 });
    return new InstanceLock(path);
  }

  release(): void {
    try {
      if (Number(readFileSync(this.path, 'utf8').trim()) === process.pid) unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}
