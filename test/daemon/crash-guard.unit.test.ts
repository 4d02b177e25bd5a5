// xlbd's top-level handler (lb/daemon/crash-guard.ts) in a real Node process: errors thrown in a
// timer, in an event listener, from an 'error' event nobody listens to and by a promise nobody
// awaits are logged with their stack and the process keeps running (and keeps its timers); the
// same script without the guard dies at the first one (exit code 1), which is what xlbd did.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LAB_SCRIPTS } from '../lab/lab.js';
import { repoRoot } from '../lab/paths.js';

const SCRIPT = (guard: boolean) => `
import { EventEmitter } from 'node:events';
import { installCrashGuard } from ${JSON.stringify(join(repoRoot, 'lb/daemon/crash-guard.ts'))};
import { createLogger } from ${JSON.stringify(join(repoRoot, 'lb/daemon/log.ts'))};
const log = createLogger({ journald: false });
let counted = 0;
const guard = ${guard} ? installCrashGuard(log, () => counted++) : undefined;
const steps = [
  () => setTimeout(() => { throw new Error('thrown in a timer'); }, 0),
  () => { const e = new EventEmitter(); e.on('x', () => { throw new TypeError('thrown in a listener'); }); setImmediate(() => e.emit('x')); },
  () => setImmediate(() => new EventEmitter().emit('error', new Error('an error event nobody listens to'))),
  () => { Promise.reject(new RangeError('a rejection nobody awaits')); },
  () => setTimeout(() => { throw 'not even an Error'; }, 0),
];
let i = 0;
const tick = setInterval(() => {
  if (i < steps.length) return steps[i++]();
  clearInterval(tick);
  console.log('alive after ' + steps.length + ' errors; counted ' + counted + ', guard saw ' + guard?.count);
}, 20);
`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(guard: boolean): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', LAB_SCRIPTS.tsRegister, '--input-type=module', '-e', SCRIPT(guard)], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

// Both children at once: each spends most of its time transpiling on load.
let without: Run;
let withGuard: Run;
beforeAll(async () => {
  [without, withGuard] = await Promise.all([run(false), run(true)]);
});

describe('crash guard', () => {
  it('without it, the first uncaught error ends the process (the bug)', () => {
    const r = without;
    expect(r.code).toBe(1);
    expect(r.stdout).not.toMatch(/alive/);
  });

  it('with it, every uncaught error is logged with its stack and the process keeps running', () => {
    const r = withGuard;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^alive after 5 errors; counted 5, guard saw 5$/m);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(5);
    for (const what of ['thrown in a timer', 'thrown in a listener', 'an error event nobody listens to', 'a rejection nobody awaits', 'not even an Error']) {
      expect(r.stderr).toMatch(new RegExp(`xlbd error: internal error \\((uncaught exception|unhandled promise rejection)\\), xlbd keeps running: .*${what}`));
    }
    // Stacks are in the log (one line per event: the logger joins lines with " | ").
    expect(r.stderr).toMatch(/Error: thrown in a timer \|\s+at /);
  });
});
