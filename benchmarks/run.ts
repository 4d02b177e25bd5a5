// `npm run bench` (after `npm run build`): runs the benchmark groups, writes
//   <out>/<timestamp>.json, <out>/latest.json, <out>/latest.md, <out>/latest.svg
// and prints the Markdown report. Default <out> is benchmarks/results; --quick (the CI smoke mode:
// every group in a minimal setting, figures meaningless) writes nothing unless --out is given.
//
//   npm run bench -- [--quick] [--only datapath,throughput,...] [--out DIR]
//
// Exit status: 0 whatever the figures are (benchmarks never fail on a number); 1 if a group
// crashed; 2 for a usage error.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../test/lab/index.js';
import { GROUP_NAMES, runGroup, type GroupName, type Outcomes } from './groups.js';
import { describeMachine, loadAverage } from './lib/machine.js';
import { reportChart, reportMarkdown, type BenchReport } from './report.js';

export interface BenchOptions {
  quick: boolean;
  only: GroupName[];
  /** Where to write results; undefined = do not write. */
  outDir: string | undefined;
  /** Progress lines (stderr by default). */
  log?: (line: string) => void;
}

export class UsageError extends Error {}

export function parseArgs(argv: string[]): BenchOptions {
  let quick = false;
  let only: GroupName[] = [...GROUP_NAMES];
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a}: expects a value`);
      return v;
    };
    if (a === '--quick') quick = true;
    else if (a === '--only') {
      const names = value().split(',').map((s) => s.trim()).filter(Boolean);
      const unknown = names.filter((n) => !(GROUP_NAMES as readonly string[]).includes(n));
      if (unknown.length || names.length === 0) {
        throw new UsageError(`--only: unknown group ${unknown.join(', ') || '(none)'}; groups: ${GROUP_NAMES.join(', ')}`);
      }
      only = names as GroupName[];
    } else if (a === '--out') out = value();
    else throw new UsageError(`unknown argument ${a}; usage: npm run bench -- [--quick] [--only ${GROUP_NAMES.join(',')}] [--out DIR]`);
  }
  return { quick, only, outDir: out ?? (quick ? undefined : join(repoRoot, 'benchmarks', 'results')) };
}

export async function runBenchmarks(o: BenchOptions, command: string): Promise<BenchReport> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const started = new Date();
  const before = loadAverage();
  const machine = describeMachine();
  const groups: Outcomes = {};
  for (const name of o.only) {
    log(`bench: ${name}${o.quick ? ' (quick)' : ''} …`);
    const outcome = await runGroup(name, o.quick);
    (groups as Record<string, unknown>)[name] = outcome;
    log(`bench: ${name}: ${outcome.status}${'seconds' in outcome ? ` in ${outcome.seconds.toFixed(1)} s` : ''}` +
      (outcome.status === 'not measured' ? ` (${outcome.reason})` : outcome.status === 'failed' ? `\n${outcome.error}` : ''));
  }
  const finished = new Date();
  return {
    schema: 1,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    seconds: (finished.getTime() - started.getTime()) / 1000,
    command,
    quick: o.quick,
    machine,
    loadAverage: { before, after: loadAverage() },
    groups,
  };
}

/**
 * Writes latest.json, latest.md and latest.svg (the committed figures the README quotes) and a
 * timestamped copy of the JSON under runs/ (kept locally for comparing runs; not committed).
 */
export function writeReport(report: BenchReport, outDir: string): string[] {
  mkdirSync(join(outDir, 'runs'), { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const files: [string, string][] = [
    [join('runs', `${stamp}.json`), json],
    ['latest.json', json],
    ['latest.md', reportMarkdown(report)],
    ['latest.svg', reportChart(report)],
  ];
  return files.map(([name, text]) => {
    const path = join(outDir, name);
    writeFileSync(path, text);
    return path;
  });
}

function commandLine(argv: string[]): string {
  const args = argv.join(' ');
  return process.env.npm_lifecycle_event === 'bench' ? `npm run bench${args ? ` -- ${args}` : ''}` : `node dist/benchmarks/run.js ${args}`.trim();
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let opts: BenchOptions;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`bench: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const report = await runBenchmarks(opts, commandLine(argv));
  if (opts.outDir !== undefined) {
    for (const path of writeReport(report, opts.outDir)) process.stderr.write(`bench: wrote ${path}\n`);
  }
  process.stdout.write(`${reportMarkdown(report)}\n`);
  const failed = Object.values(report.groups).some((g) => g?.status === 'failed');
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: Error) => {
    process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
    process.exit(1);
  });
}
