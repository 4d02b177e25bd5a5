// Where the compiled BPF programs are: build/bpf/<name>.o at the top of the tree (bpf/Makefile).
// Located from this file, so it holds for the sources (vitest) and for dist/, where the build step
// links dist/build to ../build.
import { fileURLToPath } from 'node:url';

/** Path of a compiled BPF object, e.g. bpfObjectPath('xlb_lb') → <root>/build/bpf/xlb_lb.o */
export function bpfObjectPath(name: string): string {
  return fileURLToPath(new URL(`../build/bpf/${name}.o`, import.meta.url));
}
