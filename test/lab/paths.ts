// The repository root, for tests, the lab, the demo and the benchmarks (which also run from
// dist/): the nearest folder above this file with package.json and bpf/Makefile (dist/ has links to
// package.json and compiled bpf/ code, but no Makefile). Product code never needs
// it: it finds its own files relative to itself.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function findRepoRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bpf', 'Makefile'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`xlb: cannot find the repository root above ${start}`);
    dir = parent;
  }
}

export const repoRoot = findRepoRoot(dirname(fileURLToPath(import.meta.url)));
