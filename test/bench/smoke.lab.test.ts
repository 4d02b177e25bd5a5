// Smoke test of `npm run bench`: every group runs in its quick setting so the benchmarks keep
// working. It checks that each group ran (or says why it could not), that packets took the path the
// figures claim (verdicts, counters, encapsulated frame sizes) and that the report files are written.
// It never asserts on a performance figure.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP_NAMES, GROUPS } from '../../benchmarks/groups.js';
import { parseArgs, runBenchmarks, UsageError, writeReport } from '../../benchmarks/run.js';
import type { BenchReport } from '../../benchmarks/report.js';

describe('npm run bench --quick', () => {
  let out: string;
  let report: BenchReport;
  let files: string[];

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'xlb-bench-test-'));
    report = await runBenchmarks({ quick: true, only: [...GROUP_NAMES], outDir: out, log: () => {} }, 'vitest');
    files = writeReport(report, out);
  }, 300_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  for (const name of GROUP_NAMES) {
    it(`group ${name} runs where its prerequisites hold, else says why`, () => {
      const outcome = report.groups[name]!;
      const reason = GROUPS[name].unavailable();
      if (outcome.status === 'failed') throw new Error(`group ${name} failed:\n${outcome.error}`);
      if (reason === undefined) expect(outcome.status).toBe('measured');
      else expect(outcome).toEqual({ status: 'not measured', reason });
    });
  }

  it('datapath: every case took the intended path (verdict and counters)', () => {
    const o = report.groups.datapath!;
    if (o.status !== 'measured') return;
    expect(o.result.cases.map((c) => c.name)).toEqual(
      expect.arrayContaining(['ipv4Established', 'ipv4NewFlow', 'ipv6Established', 'nonVipPass']),
    );
    for (const c of o.result.cases) {
      expect(c.problems, c.name).toEqual([]);
      expect(Number.isFinite(c.aboveFloorNs), c.name).toBe(true);
      expect(c.raw.n).toBe(o.result.runs * o.result.callsPerRun);
    }
  });

  it('datapath: the hot loop and the 84970d5 baseline took the intended path; instruction counts agree with the kernel', () => {
    const o = report.groups.datapath!;
    if (o.status !== 'measured') return;
    const hot = o.result.hotLoop!;
    expect(hot.cases.map((c) => c.name)).toEqual(expect.arrayContaining(['ipv4Established', 'ipv4NewFlow', 'base.ipv4Established', 'nonVipPass']));
    for (const c of hot.cases) expect([c.name, c.mismatches]).toEqual([c.name, 0]);
    const counts = o.result.instructions!;
    expect(counts.length).toBe(8);
    for (const n of counts) expect([n.name, n.agrees, n.executed > 50]).toEqual([n.name, true, true]);
  });

  it('throughput: the sink received frames, encapsulated by xlb and the encap floor, plain from the floor', () => {
    const o = report.groups.throughput!;
    if (o.status !== 'measured') return;
    const configs = o.result.streams.flatMap((s) => s.configs);
    expect(configs.length).toBeGreaterThanOrEqual(4);
    expect(o.result.streams.every((s) => s.configs.some((c) => c.encapFloor))).toBe(true);
    for (const c of configs) {
      const isFloor = c.backends === 0 && !c.encapFloor;
      expect(c.problems, `${c.stream} / ${c.config}`).toEqual([]);
      expect(c.sinkFrameBytes).toBeCloseTo(isFloor ? 60 : 80, 0);
      // A floor window before and after every configuration window.
      if (isFloor) expect(c.pps.n).toBeGreaterThanOrEqual(2 * o.result.rounds);
      else expect([c.pps.n, c.ratio.n]).toEqual([o.result.rounds, o.result.rounds]);
    }
  });

  it('control: every backend change was seen in the live Maglev table; every phase ran; every target judged', () => {
    const o = report.groups.control!;
    if (o.status !== 'measured') return;
    expect(o.result.problems).toEqual([]);
    expect(o.result.backendChange.notVisible).toBe(0);
    expect(o.result.backendChange.visibleMs.n).toBeGreaterThan(0);
    expect(o.result.startToReady.coldFullMs.n).toBeGreaterThan(0);
    expect(o.result.startToReady.coldLargeMs?.n).toBeGreaterThan(0);
    expect(o.result.metrics.bodyBytes).toBeGreaterThan(0);
    expect(o.result.memory.tableBytes).toBeGreaterThan(0);
    expect(o.result.targets.length).toBeGreaterThanOrEqual(12);
  });

  it('health: every backend checked through the tunnel came up; probes ran', () => {
    const o = report.groups.health!;
    if (o.status !== 'measured') return;
    expect(o.result.problems).toEqual([]);
    expect(o.result.phases.map((p) => p.kind)).toEqual(['tcp', 'http']);
    for (const p of o.result.phases) {
      expect(p.problems, p.kind).toEqual([]);
      expect(p.states).toEqual({ up: o.result.services * o.result.backendsPerService, down: 0, unknown: 0 });
      expect(p.probesPerSecond).toBeGreaterThan(0);
      expect(Number.isFinite(p.cpuPercent)).toBe(true);
    }
    expect(Number.isFinite(o.result.floor.cpuPercent)).toBe(true);
    // CPU per probe, prober thread against Node sockets: both ran, every probe answered.
    expect(o.result.probeCost?.rows.map((r) => `${r.kind} ${r.prober}`)).toEqual(['tcp native', 'tcp node', 'http native', 'http node']);
    for (const r of o.result.probeCost!.rows) expect(r.probesPerSecond, `${r.kind} ${r.prober}`).toBeGreaterThan(0);
  });

  it('recorder: both tools captured a slow stream whole; CPU read; live into tshark whole; the per-packet rows took the intended path', () => {
    const o = report.groups.recorder!;
    if (o.status !== 'measured') return;
    expect(o.result.series.map((s) => s.tool).sort()).toEqual(['xdpdump', 'xlb recorder']);
    for (const s of o.result.series) {
      // The first trial is a trickle (a few thousand frames per second): a capture that misses
      // frames there is broken, not slow.
      const first = s.trials[0]!;
      expect(first.error, s.tool).toBeUndefined();
      expect(first.captured, s.tool).toBe(first.sent);
    }
    for (const c of o.result.perPacket!.cases) expect(c.problems, c.name).toEqual([]);
    // CPU shares were read for the processes that captured (xlbd and `xlb record`, or xdpdump).
    for (const s of o.result.series) for (const t of s.trials) expect(Number.isFinite(t.cpu?.clientPct), s.tool).toBe(true);
    // Live into tshark through a pipe, at a trickle: tshark read every frame the CLI captured.
    const live = o.result.live!;
    expect(live.error).toBeUndefined();
    expect(live.captured).toBe(live.sent);
    expect(live.tsharkFrames).toBe(live.captured);
    expect(live.xlbdRssMaxMiB).toBeGreaterThan(0);
  });

  it('leaves no namespaces behind', () => {
    const names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    expect(names).not.toContain(`xbench-${process.pid}-`);
  });

  it('writes the JSON, the Markdown table and an SVG chart', () => {
    expect(files.map((f) => f.slice(out.length + 1)).sort()).toEqual(
      [`runs/${report.startedAt.replace(/[:.]/g, '-')}.json`, 'latest.json', 'latest.md', 'latest.svg'].sort(),
    );
    const json = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchReport;
    expect(json.machine.cores).toBeGreaterThan(0);
    expect(json.command).toBe('vitest');
    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    expect(md).toContain('| figure | measured | target |');
    for (const name of GROUP_NAMES) expect(md).toContain(GROUPS[name].title);
    const svg = readFileSync(join(out, 'latest.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
  });
});

describe('bench arguments', () => {
  it('defaults to every group, written to benchmarks/results', () => {
    const o = parseArgs([]);
    expect(o.only).toEqual([...GROUP_NAMES]);
    expect(o.outDir).toMatch(/benchmarks\/results$/);
    expect(parseArgs(['--quick']).outDir).toBeUndefined();
  });

  it('--only selects groups and names an unknown one', () => {
    expect(parseArgs(['--only', 'maglev,datapath']).only).toEqual(['maglev', 'datapath']);
    expect(() => parseArgs(['--only', 'maglev,warp'])).toThrow(UsageError);
    expect(() => parseArgs(['--only', 'maglev,warp'])).toThrow(/unknown group warp/);
    expect(() => parseArgs(['--only'])).toThrow(/--only: expects a value/);
    expect(() => parseArgs(['--fast'])).toThrow(/unknown argument --fast/);
  });
});
