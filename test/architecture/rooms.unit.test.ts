// The architecture as rules on imports, so it stays the way README "Layout" describes it:
//   - rooms: lb/<part>, api/<part>, recorder, bpf/libbpf-ts, bpf (objects.ts), benchmarks, scripts,
//     test/<area>; the product is lb, api, recorder and bpf;
//   - the product imports nothing from test/, benchmarks/ or scripts/;
//   - nothing outside lb/daemon (the composition root) imports lb/daemon;
//   - the product's rooms import each other without cycles, and through a room's index.ts where it
//     has one (api/generated is generated code, imported file by file);
//   - the model knows nothing of the wire (lb/model imports nothing from api/);
//   - benchmarks and scripts reach test/ only through test/lab/index.ts;
//   - every test file is test/<area>/<topic>.<unit|kernel|lab>.test.ts.
// Imports are read with TypeScript's own pre-processor (static, re-exports and dynamic import()),
// not with a regular expression, so code inside strings does not count.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const TOP = ['lb', 'api', 'bpf', 'recorder', 'benchmarks', 'scripts', 'test'];
const SKIP = new Set(['node_modules', 'build', 'dist']);

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    if (SKIP.has(name)) continue;
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...tsFiles(rel));
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

const FILES = TOP.flatMap(tsFiles).filter((f) => !f.startsWith('api/generated/xlb'));

/** The room a repository path belongs to. */
export function roomOf(path: string): string {
  const parts = path.split('/');
  const [top, second] = parts;
  if (top === 'lb' || top === 'api' || top === 'test') return parts.length > 2 ? `${top}/${second}` : `${top}/${second!.replace(/\.m?ts$/, '')}`;
  if (top === 'bpf') return second === 'libbpf-ts' ? 'bpf/libbpf-ts' : 'bpf';
  return top!;
}

const isProduct = (room: string) => /^(lb|api)\//.test(room) || room === 'recorder' || room === 'bpf' || room === 'bpf/libbpf-ts';

interface Edge {
  from: string;
  to: string;
}

/** Every relative import of every file, resolved to a repository path (.js → .ts). */
function edges(): Edge[] {
  const out: Edge[] = [];
  for (const from of FILES) {
    const info = ts.preProcessFile(readFileSync(join(ROOT, from), 'utf8'), true, true);
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith('.')) continue;
      let to = relative(ROOT, resolve(ROOT, dirname(from), fileName));
      if (to.endsWith('.js') && !FILES.includes(to)) to = `${to.slice(0, -3)}.ts`;
      out.push({ from, to });
    }
  }
  return out;
}

const EDGES = edges();
const ROOMS_WITH_INDEX = new Set(FILES.filter((f) => /\/index\.ts$/.test(f)).map((f) => roomOf(f)).filter((r) => FILES.includes(`${r}/index.ts`)));

/** Strongly connected components of more than one room (Tarjan). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

describe('architecture: who may import whom', () => {
  it('reads a real import graph (the rules below are not vacuous)', () => {
    expect(FILES.length).toBeGreaterThan(200);
    expect(EDGES.some((e) => e.from === 'lb/daemon/daemon.ts' && e.to === 'api/server/index.ts')).toBe(true);
    expect(ROOMS_WITH_INDEX).toContain('lb/model');
    // Code in strings is not an import (the Maglev test writes a child script that imports './index.js').
    expect(EDGES.some((e) => e.from.startsWith('test/maglev/') && e.to === 'test/maglev/index.ts')).toBe(false);
  });

  it('the product imports nothing from test/, benchmarks/ or scripts/', () => {
    const bad = EDGES.filter((e) => isProduct(roomOf(e.from)) && /^(test|benchmarks|scripts)\//.test(e.to));
    expect(bad).toEqual([]);
  });

  it('nothing outside the composition root imports lb/daemon', () => {
    const bad = EDGES.filter((e) => roomOf(e.to) === 'lb/daemon' && roomOf(e.from) !== 'lb/daemon');
    expect(bad).toEqual([]);
  });

  it("the product's rooms import each other without cycles", () => {
    const graph = new Map<string, Set<string>>();
    for (const e of EDGES) {
      const a = roomOf(e.from);
      const b = roomOf(e.to);
      if (a === b || !isProduct(a) || !isProduct(b)) continue;
      if (!graph.has(a)) graph.set(a, new Set());
      graph.get(a)!.add(b);
    }
    expect(graph.size).toBeGreaterThan(10);
    expect(cycles(graph)).toEqual([]);
  });

  it("imports into another product room go through that room's index.ts", () => {
    const bad = EDGES.filter((e) => {
      const a = roomOf(e.from);
      const b = roomOf(e.to);
      return a !== b && isProduct(a) && ROOMS_WITH_INDEX.has(b) && e.to !== `${b}/index.ts` && b !== 'api/generated';
    });
    expect(bad).toEqual([]);
  });

  it('the model knows nothing of the wire: lb/model imports nothing from api/', () => {
    expect(EDGES.filter((e) => roomOf(e.from) === 'lb/model' && e.to.startsWith('api/'))).toEqual([]);
  });

  it('benchmarks and scripts reach test/ only through test/lab/index.ts', () => {
    const bad = EDGES.filter((e) => /^(benchmarks|scripts)\//.test(e.from) && e.to.startsWith('test/') && e.to !== 'test/lab/index.ts');
    expect(bad).toEqual([]);
  });

  it('every test file is test/<area>/<topic>.<unit|kernel|lab>.test.ts', () => {
    const tests = FILES.filter((f) => f.endsWith('.test.ts'));
    expect(tests.length).toBeGreaterThan(40);
    expect(tests.filter((f) => !/^test\/[a-z0-9-]+\/[a-z0-9-]+\.(unit|kernel|lab)\.test\.ts$/.test(f))).toEqual([]);
  });
});
