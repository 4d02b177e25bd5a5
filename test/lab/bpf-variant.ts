// A BPF object built from one of bpf/'s sources with extra compiler flags, exactly as bpf/Makefile
// builds the real one otherwise (its `variant` target): the recorder-off baseline of the
// benchmarks, an ISA-v3 build that swaps in as a "new program version" in the upgrade test.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

/** Compiles bpf/<source> (e.g. 'lb/xlb_lb.c') into `out` with `extraFlags`; returns `out`. */
export function compileBpfVariant(source: string, out: string, extraFlags: string[]): string {
  execFileSync('make', ['-s', '-C', join(repoRoot, 'bpf'), 'variant', `SRC=${source}`, `OUT_FILE=${out}`, `EXTRA_CFLAGS=${extraFlags.join(' ')}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out;
}
