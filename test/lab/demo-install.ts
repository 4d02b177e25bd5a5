// Which `xlb` and `xlbd` the demo runs. The compiled demo (npm run demo → dist/test/lab/demo.js)
// runs the build's own dist/api/cli/main.js and dist/lb/daemon/main.js, the files package.json
// names as the `xlb` and `xlbd` binaries. Run from the TypeScript sources, the demo compiles those
// two entry points once into a private directory laid out like an installation (package.json, the
// compiled code, links to node_modules, the .proto, the BPF objects and the libbpf addon): the
// commands then start as fast as installed ones, instead of transpiling the sources on every call.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../../lb/paths.js';

export interface XlbTools {
  /** argv that runs the CLI, e.g. [node, <root>/dist/api/cli/main.js] */
  xlb: string[];
  /** argv that runs the daemon */
  xlbd: string[];
  /** one line saying where they come from, for the printout */
  origin: string;
  remove(): void;
}

const CLI_MAIN = join('api', 'cli', 'main');
const XLBD_MAIN = join('lb', 'daemon', 'main');

export function runningCompiled(): boolean {
  return fileURLToPath(import.meta.url).startsWith(`${join(repoRoot, 'dist')}/`);
}

export function xlbTools(): XlbTools {
  if (runningCompiled()) {
    const dist = join(repoRoot, 'dist');
    return {
      xlb: [process.execPath, join(dist, `${CLI_MAIN}.js`)],
      xlbd: [process.execPath, join(dist, `${XLBD_MAIN}.js`)],
      origin: `xlb = ${relative(repoRoot, join(dist, CLI_MAIN))}.js, xlbd = ${relative(repoRoot, join(dist, XLBD_MAIN))}.js (this build)`,
      remove: () => undefined,
    };
  }
  const dir = mkdtempSync(join(tmpdir(), `xlb-demo-${process.pid}-tools-`));
  try {
    execFileSync(
      process.execPath,
      [
        join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'),
        join(repoRoot, `${CLI_MAIN}.ts`), join(repoRoot, `${XLBD_MAIN}.ts`),
        '--outDir', dir, '--rootDir', repoRoot,
        '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
        '--types', 'node', '--esModuleInterop', '--skipLibCheck', '--noCheck',
      ],
      { cwd: repoRoot, stdio: 'pipe' },
    );
    copyFileSync(join(repoRoot, 'package.json'), join(dir, 'package.json'));
    symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
    symlinkSync(join(repoRoot, 'api', 'proto'), join(dir, 'api', 'proto'));
    symlinkSync(join(repoRoot, 'build'), join(dir, 'build'));
    mkdirSync(join(dir, 'bpf', 'libbpf-ts'), { recursive: true });
    symlinkSync(join(repoRoot, 'bpf', 'libbpf-ts', 'build'), join(dir, 'bpf', 'libbpf-ts', 'build'));
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const e = err as { stdout?: Buffer; message: string };
    throw new Error(`compiling xlb and xlbd from the sources failed: ${e.stdout?.toString() || e.message}`);
  }
  return {
    xlb: [process.execPath, join(dir, `${CLI_MAIN}.js`)],
    xlbd: [process.execPath, join(dir, `${XLBD_MAIN}.js`)],
    origin: `xlb and xlbd compiled from the sources into ${dir}`,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
