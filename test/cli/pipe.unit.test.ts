// `xlb … | head`: the reader closing the pipe early must not crash the CLI with an EPIPE trace.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../lab/paths.js';

describe('xlb writing into a closed pipe', () => {
  it('exits 0 without a stack trace when the reader is gone before the first write', () => {
    // `true` exits at once, long before node has started and written its help text.
    const r = spawnSync('bash', ['-c',
      'node --import ./test/lab/ts-register.mjs api/cli/main.ts --help | true; echo "${PIPESTATUS[0]}" >&2'],
      { cwd: repoRoot, encoding: 'utf8' });
    const lines = r.stderr.trim().split('\n');
    expect(lines.at(-1)).toBe('0');
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled/);
  });
});
