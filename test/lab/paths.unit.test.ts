// The lab, the demo and the benchmarks also run compiled, from dist/, where the build links
// package.json and puts compiled bpf/ code: the repository root must still be the checkout's.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { findRepoRoot } from './paths.js';

const root = mkdtempSync(join(tmpdir(), `xlb-root-${process.pid}-`));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it('finds the checkout from dist/ (which holds a package.json link and a bpf/ folder, but no bpf/Makefile)', () => {
  writeFileSync(join(root, 'package.json'), '{}');
  mkdirSync(join(root, 'bpf'));
  writeFileSync(join(root, 'bpf', 'Makefile'), '');
  mkdirSync(join(root, 'dist', 'bpf'), { recursive: true });
  mkdirSync(join(root, 'dist', 'test', 'lab'), { recursive: true });
  symlinkSync('../package.json', join(root, 'dist', 'package.json'));
  expect(findRepoRoot(join(root, 'dist', 'test', 'lab'))).toBe(root);
  expect(findRepoRoot(join(root, 'test', 'lab'))).toBe(root);
});
