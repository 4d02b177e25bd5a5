// Which `xlb` and `xlbd` the demo runs. The compiled demo (npm run demo → dist/test/lab/demo.js)
// runs the build's own dist/api/cli/main.js and dist/lb/daemon/main.js, the files package.json
// names as the `xlb` and `xlbd` binaries. Run from the TypeScript sources, the demo transpiles those
// two entry points and everything they import, once, into a private directory laid out like an
// installation (package.json, the JavaScript, links to node_modules, the .proto, the BPF objects
// and the libbpf addon): the commands then start as fast as installed ones instead of transpiling
// on every call. Per-file transpiling (types stripped, as test/lab/ts-hooks.mjs and vitest do)
// takes ~2 s where a tsc program takes ~8.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from './paths.js';

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

/** Writes `entries` and every repo file they import (statically or not) as JavaScript under outDir. */
async function transpileTree(entries: string[], outDir: string): Promise<void> {
  const { default: ts } = await import('typescript');
  const todo = entries.map((e) => join(repoRoot, e));
  const seen = new Set<string>();
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const imported of ts.preProcessFile(source, true, true).importedFiles) {
      if (!imported.fileName.startsWith('.')) continue; // packages come from the linked node_modules
      const target = resolve(dirname(file), imported.fileName.replace(/\.js$/, '.ts'));
      if (target.endsWith('.ts') && existsSync(target)) todo.push(target);
    }
    const js = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const dest = join(outDir, relative(repoRoot, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, js);
  }
}

export async function xlbTools(): Promise<XlbTools> {
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
    await transpileTree([`${CLI_MAIN}.ts`, `${XLBD_MAIN}.ts`], dir);
    copyFileSync(join(repoRoot, 'package.json'), join(dir, 'package.json'));
    symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
    symlinkSync(join(repoRoot, 'api', 'proto'), join(dir, 'api', 'proto'));
    symlinkSync(join(repoRoot, 'build'), join(dir, 'build'));
    mkdirSync(join(dir, 'bpf', 'libbpf-ts'), { recursive: true });
    symlinkSync(join(repoRoot, 'bpf', 'libbpf-ts', 'build'), join(dir, 'bpf', 'libbpf-ts', 'build'));
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`preparing xlb and xlbd from the sources failed: ${(err as Error).message}`);
  }
  return {
    xlb: [process.execPath, join(dir, `${CLI_MAIN}.js`)],
    xlbd: [process.execPath, join(dir, `${XLBD_MAIN}.js`)],
    origin: `xlb and xlbd transpiled from the sources into ${dir}`,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
