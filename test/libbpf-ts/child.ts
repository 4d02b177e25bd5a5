// Runs test/libbpf-ts child scripts in a SECOND node process, straight from the TypeScript sources
// (test/lab/ts-register.mjs transpiles them on load), so a test can prove what outlives a process
// or what a fresh process sees. No build step: the child imports the same libbpf-ts sources.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const TS_REGISTER = fileURLToPath(new URL('../lab/ts-register.mjs', import.meta.url));

export interface ChildScripts {
  /** path of a script under test/libbpf-ts/, e.g. script('pin-child') */
  script(name: string): string;
}

export const childScripts: ChildScripts = {
  script: (name) => fileURLToPath(new URL(`./${name}.ts`, import.meta.url)),
};

/** Runs a child script with node and parses the JSON it prints last on stdout. */
export function runChild<T>(script: string, args: string[], nodeFlags: string[] = []): T {
  const r = spawnSync(process.execPath, [...nodeFlags, '--import', TS_REGISTER, script, ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) {
    throw new Error(`child ${script} exited with ${r.status ?? r.signal}:\n${r.stderr}\n${r.stdout}`);
  }
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as T;
}
