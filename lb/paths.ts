// Where built artefacts live, independent of whether we run from TypeScript sources (vitest) or from
// the compiled dist/ tree: both resolve against the repository root (the folder with package.json).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bpf'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`xlb: cannot find the repository root above ${start}`);
    dir = parent;
  }
}

export const repoRoot = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

/** Path of a compiled BPF object, e.g. bpfObjectPath('xlb_lb') → <root>/build/bpf/xlb_lb.o */
export function bpfObjectPath(name: string): string {
  return join(repoRoot, 'build', 'bpf', `${name}.o`);
}
