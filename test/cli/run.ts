// Runs the real xlb CLI as a separate process, the way a user does. The CLI's sources are compiled
// once per test file into a private directory laid out like an installation (package.json, dist
// code, and links to node_modules, the .proto, the BPF objects and the libbpf addon), so a stale or
// missing dist/ of the shared checkout cannot influence the result.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../lab/paths.js';

export interface CliBuild {
  dir: string;
  /** The compiled api/cli/main.js. */
  main: string;
  remove(): void;
}

export function buildCli(): CliBuild {
  const dir = mkdtempSync(join(tmpdir(), `xlb-cli-${process.pid}-`));
  try {
    execFileSync(
      process.execPath,
      [
        join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'),
        join(repoRoot, 'api', 'cli', 'main.ts'),
        '--outDir', dir, '--rootDir', repoRoot,
        '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
        '--types', 'node', '--esModuleInterop', '--skipLibCheck', '--noCheck',
      ],
      { cwd: repoRoot, stdio: 'pipe' },
    );
    copyFileSync(join(repoRoot, 'package.json'), join(dir, 'package.json'));
    symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
    mkdirSync(join(dir, 'api'), { recursive: true });
    symlinkSync(join(repoRoot, 'api', 'proto'), join(dir, 'api', 'proto'));
    symlinkSync(join(repoRoot, 'build'), join(dir, 'build'));
    mkdirSync(join(dir, 'bpf', 'libbpf-ts'), { recursive: true });
    symlinkSync(join(repoRoot, 'bpf', 'libbpf-ts', 'build'), join(dir, 'bpf', 'libbpf-ts', 'build'));
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const e = err as { stdout?: Buffer; message: string };
    throw new Error(`compiling the CLI failed: ${e.stdout?.toString() || e.message}`);
  }
  return { dir, main: join(dir, 'api', 'cli', 'main.js'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  /** Run through another program first, e.g. ['nsenter', '--net=/run/netns/x', '--']. */
  prefix?: string[];
  timeoutMs?: number;
}

/** Runs `xlb ARGS` asynchronously (the in-test server keeps serving meanwhile). */
export function runCli(build: CliBuild, args: string[], o: RunOptions = {}): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...o.env })) if (v !== undefined && k !== 'XLB_SERVER') env[k] = v;
  if (o.env?.XLB_SERVER !== undefined) env.XLB_SERVER = o.env.XLB_SERVER;
  const argv = [...(o.prefix ?? []), process.execPath, build.main, ...args];
  return new Promise((resolve) => {
    const child = execFile(argv[0]!, argv.slice(1), { env, timeout: o.timeoutMs ?? 30_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (o.input !== undefined) child.stdin!.end(o.input);
    else child.stdin!.end();
  });
}

/**
 * Runs `xlb ARGS` in this process through the CLI's own entry (api/cli/run.ts) with captured
 * output: the same command tree, parsing, client and rendering as the separate process (whose only
 * extra is main.ts's stdout wiring, covered by pipe.unit.test.ts), without a node start per command.
 * XLB_SERVER is read by commander from process.env, so it is set for the call and restored after
 * (the tests of a file run one at a time).
 */
export async function runCliInProcess(args: string[], o: Pick<RunOptions, 'env' | 'input'> = {}): Promise<CliResult> {
  const { runCli: run } = await import('../../api/cli/run.js');
  const saved = process.env.XLB_SERVER;
  const env: Record<string, string | undefined> = { ...process.env, XLB_SERVER: undefined, ...o.env };
  if (env.XLB_SERVER === undefined) delete process.env.XLB_SERVER;
  else process.env.XLB_SERVER = env.XLB_SERVER;
  let stdout = '';
  let stderr = '';
  try {
    const code = await run(args, {
      out: (s) => void (stdout += s),
      err: (s) => void (stderr += s),
      isTTY: false,
      env,
      readStdin: async () => o.input ?? '',
    });
    return { code, stdout, stderr };
  } finally {
    if (saved === undefined) delete process.env.XLB_SERVER;
    else process.env.XLB_SERVER = saved;
  }
}
