// Running commands for the lab: argv arrays only (no shell quoting surprises), errors that show the
// command and its stderr, and a synchronous variant for exit-time cleanup.
import { spawn, spawnSync } from 'node:child_process';

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface RunOptions {
  input?: string;
  /** Throw when the exit code is not 0 (default true) */
  check?: boolean;
  timeoutMs?: number;
}

export class CommandError extends Error {
  constructor(readonly argv: string[], readonly result: RunResult) {
    super(`command failed (exit ${result.code}): ${argv.join(' ')}\n${result.stderr.trim() || result.stdout.trim()}`);
    this.name = 'CommandError';
  }
}

export function run(argv: string[], o: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs ?? 30_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${argv[0]}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = { stdout, stderr: timedOut ? `${stderr}\n(timed out)` : stderr, code: code ?? (signal ? 128 : 1) };
      if ((o.check ?? true) && result.code !== 0) reject(new CommandError(argv, result));
      else resolve(result);
    });
    if (child.stdin) {
      // A command that exits without reading its input must not crash us with EPIPE.
      child.stdin.on('error', () => undefined);
      child.stdin.end(o.input);
    }
  });
}

export function runSync(argv: string[], o: RunOptions = {}): RunResult {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    input: o.input ?? '',
    encoding: 'utf8',
    timeout: o.timeoutMs ?? 30_000,
  });
  if (r.error) throw new Error(`cannot run ${argv[0]}: ${r.error.message}`);
  const result = { stdout: r.stdout, stderr: r.stderr, code: r.status ?? 128 };
  if ((o.check ?? true) && result.code !== 0) throw new CommandError(argv, result);
  return result;
}
