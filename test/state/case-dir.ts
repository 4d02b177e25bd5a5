// One fresh directory per test under a per-file temporary root (removed after the file), and the
// state file's path in it; the state tests read `dir` / `file` after each beforeEach.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach } from 'vitest';

export interface CaseDir {
  dir: string;
  file: string;
}

/** `create`: make the case directory (false leaves it to the test, e.g. to check it is created). */
export function caseDirs(prefix: string, create: boolean): CaseDir {
  const root = mkdtempSync(join(tmpdir(), `${prefix}-${process.pid}-`));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const current: CaseDir = { dir: '', file: '' };
  let n = 0;
  beforeEach(() => {
    current.dir = join(root, `case-${++n}`);
    if (create) mkdirSync(current.dir);
    current.file = join(current.dir, 'desired-state.json');
  });
  return current;
}
