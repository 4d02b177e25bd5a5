// Compiles test/libbpf-ts child scripts (and the libbpf-ts module they import) with tsc into a
// private folder under build/, so a test can run them in a SECOND node process: plain node cannot
// import .ts files, and the compiled dist/ tree may be stale while developing. The output stays
// inside the repository so lb/paths.ts still finds the repository root from there.
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../lab/paths.js';
import { uniqueSuffix } from './helpers.js';

export interface CompiledChildren {
  /** path of the compiled .js for a script under test/libbpf-ts/, e.g. script('pin-child') */
  script(name: string): string;
  remove(): void;
}

export function compileChildren(names: string[]): CompiledChildren {
  const outDir = join(repoRoot, 'build', `libbpf-ts-child-${uniqueSuffix()}`);
  const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    execFileSync(process.execPath, [tsc, '--outDir', outDir, '--rootDir', repoRoot, '--module', 'nodenext',
      '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--strict', '--skipLibCheck',
      ...names.map((n) => join(repoRoot, 'test', 'libbpf-ts', `${n}.ts`))], { stdio: 'pipe' });
  } catch (e) {
    rmSync(outDir, { recursive: true, force: true });
    const out = (e as { stdout?: Buffer }).stdout?.toString() ?? '';
    throw new Error(`compiling child scripts failed:\n${out}`);
  }
  return {
    script: (name) => join(outDir, 'test', 'libbpf-ts', `${name}.js`),
    remove: () => rmSync(outDir, { recursive: true, force: true }),
  };
}

/** Runs a compiled child with node and parses the JSON it prints last on stdout. */
export function runChild<T>(script: string, args: string[], nodeFlags: string[] = []): T {
  const r = spawnSync(process.execPath, [...nodeFlags, script, ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) {
    throw new Error(`child ${script} exited with ${r.status ?? r.signal}:\n${r.stderr}\n${r.stdout}`);
  }
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as T;
}
