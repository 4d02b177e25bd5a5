// `npm run test:unit` is the fast feedback loop for anyone without root: it must pass as an
// unprivileged user. Run here as nobody (setpriv), so a unit test that quietly needs root (a BPF
// object, a namespace, a pin) fails CI instead of a contributor's first run.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

it('npm run test:unit passes as an unprivileged user (nobody)', () => {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', 'HOME=/tmp', 'npm', 'run', '-s', 'test:unit'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, CI: 'true' },
  });
  const summary = /Tests: (\d+) passed, (\d+) failed/.exec(r.stdout);
  expect(r.status, `${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`).toBe(0);
  expect(Number(summary?.[1])).toBeGreaterThan(300);
  expect(Number(summary?.[2])).toBe(0);
}, 300_000);
