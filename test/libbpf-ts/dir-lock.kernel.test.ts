// DirLock on a bpffs directory (what xlbd locks): exclusive across open files and processes, the
// holder's pid readable from /proc/locks, released by release() and by the death of the holder,
// SIGKILL included.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirLock, addonPath } from '../../bpf/libbpf-ts/index.js';

const dir = `/sys/fs/bpf/xlb-dirlock-${process.pid}-${randomBytes(3).toString('hex')}`;

beforeAll(() => mkdirSync(dir));
afterAll(() => rmdirSync(dir));

describe('DirLock', () => {
  it('is exclusive, names its holder, and is released by release()', () => {
    const lock = DirLock.tryAcquire(dir)!;
    expect(lock.held).toBe(true);
    expect(DirLock.tryAcquire(dir)).toBeUndefined();
    expect(DirLock.holderPid(dir)).toBe(process.pid);
    lock.release();
    lock.release(); // idempotent
    expect(DirLock.holderPid(dir)).toBeUndefined();
    const again = DirLock.tryAcquire(dir)!;
    expect(again.held).toBe(true);
    again.release();
  });

  it('a holder killed with SIGKILL leaves no lock behind', async () => {
    const code = `const a = require(${JSON.stringify(addonPath)}); if (a.dirLock(${JSON.stringify(dir)}) < 0) process.exit(3); console.log('locked'); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    expect(DirLock.tryAcquire(dir)).toBeUndefined();
    expect(DirLock.holderPid(dir)).toBe(child.pid);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const lock = DirLock.tryAcquire(dir)!;
    expect(lock.held).toBe(true);
    lock.release();
  });

  it('names what is wrong with a path that cannot be locked', () => {
    expect(() => DirLock.tryAcquire(`${dir}/missing`)).toThrow(/lock directory .*missing: ENOENT/);
  });
});
