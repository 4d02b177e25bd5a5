// Turns one `npm run bench` run into its Markdown report (headline table, then every group's own
// table) and its chart. Targets come from the benchmarks issue and are shown, never enforced.
import { DATAPATH_TARGETS, datapathMarkdown, type DatapathCaseResult } from './datapath.js';
import { GROUPS, GROUP_NAMES, type Outcomes } from './groups.js';
import { barChartSvg, type ChartPanel } from './lib/chart.js';
import { machineLine, type MachineInfo } from './lib/machine.js';
import { fmt } from './lib/stats.js';
import { toMarkdown as maglevMarkdown } from './maglev.js';
import { THROUGHPUT_TARGET_RATIO, throughputMarkdown } from './throughput.js';
import { CONTROL_TARGETS, controlMarkdown } from './control.js';
import { captureMarkdown } from './recorder.js';
import { healthMarkdown } from './health.js';

export interface BenchReport {
  schema: 1;
  startedAt: string;
  finishedAt: string;
  seconds: number;
  /** How to repeat the run. */
  command: string;
  quick: boolean;
  machine: MachineInfo;
  loadAverage: { before: [number, number, number]; after: [number, number, number] };
  groups: Outcomes;
}

interface Headline {
  figure: string;
  value: string;
  target: string;
  verdict: string;
}

const MAGLEV_TARGET_MS = 10;

function verdict(met: boolean | undefined, problems: string[] = []): string {
  if (problems.length) return 'not trusted (see below)';
  return met === undefined ? '' : met ? 'met' : 'not met';
}

function headlines(g: Outcomes): Headline[] {
  const rows: Headline[] = [];
  const missing = (figure: string, target: string, why: string) => rows.push({ figure, value: `not measured: ${why}`, target, verdict: '' });
  const whyNot = (o: { status: string; reason?: string; error?: string } | undefined) =>
    o === undefined ? 'group not run' : o.status === 'failed' ? 'group failed' : (o.reason ?? 'case not in this run (--quick?)');

  const dp = g.datapath;
  const dpCases: [string, string, string][] = [
    ['ipv4Established', 'IPv4 established flow, ns/packet above XDP_TX floor', `≤ ${DATAPATH_TARGETS.ipv4Established} ns`],
    ['ipv4NewFlow', 'IPv4 new flow, ns/packet above XDP_TX floor', `≤ ${DATAPATH_TARGETS.ipv4NewFlow} ns`],
    ['recorderInactive', 'Recorder with no recording active, ns/packet above recorder compiled out', `≤ ${DATAPATH_TARGETS.recorderInactive} ns`],
  ];
  for (const [name, figure, target] of dpCases) {
    const c = dp?.status === 'measured' ? dp.result.cases.find((x) => x.name === name) : undefined;
    if (!c) missing(figure, target, whyNot(dp));
    else {
      const noise = c.noiseNs === undefined ? '' : `; A/A of this comparison ±${c.noiseNs.toFixed(1)} ns`;
      let text = c.targetVerdict === 'within noise' ? 'cannot tell (within the A/A noise)' : (c.targetVerdict ?? '');
      let second = '';
      // The inactive recorder is measured twice in a full run (here and by benchmarks/recorder-cost.ts in
      // group 5), each against its own compiled-out instance. Two measurements of the same thing
      // that disagree by more than the target mean the machine cannot resolve it.
      const rp = g.recorder?.status === 'measured' ? g.recorder.result.perPacket : undefined;
      const off = rp?.cases.find((x) => x.name === 'off');
      const aa = rp?.cases.find((x) => x.name === 'aa');
      if (name === 'recorderInactive' && off && aa) {
        second = `; benchmarks/recorder-cost.ts, same run: ${off.aboveBaselineNs.toFixed(1)} ns (its A/A ${aa.aboveBaselineNs.toFixed(1)} ns)`;
        if (Math.abs(off.aboveBaselineNs - c.aboveFloorNs) > DATAPATH_TARGETS.recorderInactive || Math.abs(aa.aboveBaselineNs) > DATAPATH_TARGETS.recorderInactive) {
          text = 'cannot tell (instance-to-instance noise exceeds the target)';
        }
      }
      rows.push({
        figure,
        value: `${c.aboveFloorNs.toFixed(1)} ns (runs ${c.aboveFloorMinNs.toFixed(1)} – ${c.aboveFloorMaxNs.toFixed(1)}${noise}${second})`,
        target,
        verdict: c.problems.length ? verdict(undefined, c.problems) : text,
      });
    }
  }

  const tp = g.throughput;
  const tpFigure = 'UDP forwarding rate, xlb 1 service × 16 backends / XDP_TX floor';
  const tpTarget = `≥ ${THROUGHPUT_TARGET_RATIO}`;
  const tpRow = tp?.status === 'measured' ? tp.result.streams.flatMap((s) => s.configs).find((c) => c.stream.startsWith('UDP') && c.services === 1 && c.backends === 16) : undefined;
  if (!tpRow) missing(tpFigure, tpTarget, whyNot(tp));
  else {
    rows.push({
      figure: tpFigure,
      value: `${fmt(tpRow.ratio.median)} (runs ${fmt(tpRow.ratio.min)} – ${fmt(tpRow.ratio.max)}; ${(tpRow.pps.median / 1e6).toFixed(3)} Mpps on one core)`,
      target: tpTarget,
      verdict: verdict(tpRow.targetMet, tpRow.problems),
    });
  }

  const mg = g.maglev;
  const mgFigure = 'Maglev table build, M = 65537, N = 1000 (equal weights)';
  const mgRow = mg?.status === 'measured' ? mg.result.rows.find((r) => r.size === 65537 && r.backends === 1000 && r.weights === 'equal') : undefined;
  if (!mgRow) missing(mgFigure, `≤ ${MAGLEV_TARGET_MS} ms`, whyNot(mg));
  else {
    rows.push({
      figure: mgFigure,
      value: `${fmt(mgRow.build.median)} ms (p10–p90 ${fmt(mgRow.build.p10)} – ${fmt(mgRow.build.p90)}; ${fmt(mgRow.ratioMedian)} × floor)`,
      target: `≤ ${MAGLEV_TARGET_MS} ms`,
      verdict: verdict(mgRow.build.median <= MAGLEV_TARGET_MS),
    });
  }

  const cp = g.control;
  if (cp?.status !== 'measured') {
    for (const [f, t] of [
      ['Backend change visible in the datapath, 1000 × 16 present', `p50 ≤ ${CONTROL_TARGETS.backendChangeVisibleP50Ms} ms, p99 ≤ ${CONTROL_TARGETS.backendChangeVisibleP99Ms} ms`],
      ['CreateService one at a time, 1000 present', `≥ ${CONTROL_TARGETS.createPerSecond} services/s`],
      ['Apply of 1000 × 16 / 10 000 × 16 from empty', `≤ ${CONTROL_TARGETS.apply1kSeconds} s / ≤ ${CONTROL_TARGETS.apply10kSeconds} s`],
      ['Start → ready: restart / cold, 1000 services; cold, 10 000', `≤ ${CONTROL_TARGETS.adopt1kMs} ms / ≤ ${CONTROL_TARGETS.cold1kMs / 1000} s; ≤ ${CONTROL_TARGETS.cold10kMs / 1000} s`],
    ] as const) {
      missing(f, t, whyNot(cp));
    }
  } else {
    // Every control-plane target, as the group judged it (benchmarks/control.ts).
    const trusted = cp.result.problems.length === 0;
    for (const t of cp.result.targets) {
      rows.push({ figure: t.figure, value: t.value, target: t.target, verdict: t.met === undefined ? '' : verdict(t.met, trusted ? [] : cp.result.problems) });
    }
  }

  const rc = g.recorder;
  for (const snap of [128, 0]) {
    const figure = `Recorder, highest zero-loss capture rate, snaplen ${snap || 'whole frame'} (xdpdump, same stream)`;
    const mine = rc?.status === 'measured' ? rc.result.series.find((s) => s.tool === 'xlb recorder' && s.snaplen === snap) : undefined;
    const theirs = rc?.status === 'measured' ? rc.result.series.find((s) => s.tool === 'xdpdump' && s.snaplen === snap) : undefined;
    if (!mine) {
      missing(figure, '', whyNot(rc));
      continue;
    }
    const kpps = (s: typeof mine | undefined) =>
      s === undefined ? 'not measured' : s.zeroLossSentPps === undefined ? 'loss at every rate' : `${s.generatorLimited ? '≥ ' : ''}${(s.zeroLossSentPps / 1000).toFixed(0)} kpps`;
    rows.push({ figure, value: `${kpps(mine)} (xdpdump ${kpps(theirs)}), ${rc!.status === 'measured' ? rc!.result.frameBytes : ''}-byte frames`, target: '', verdict: '' });
  }
  const hc = g.health;
  const hcFigure = (kind: string) => `Health checks (${kind}), 1 000 services × 16 backends every 2 s: xlbd CPU`;
  if (hc?.status !== 'measured') for (const k of ['tcp', 'http']) missing(hcFigure(k), 'sustainable', whyNot(hc));
  else {
    const h = hc.result;
    for (const p of h.phases) {
      rows.push({
        figure: `Health checks (${p.kind}), ${h.services} services × ${h.backendsPerService} backends every ${h.intervalMs / 1000} s: xlbd CPU`,
        value:
          `${p.cpuPercent.toFixed(0)} % of one core (user ${p.userPercent.toFixed(0)} %; no checks: ${h.floor.cpuPercent.toFixed(0)} %); ` +
          `${p.probesPerSecond.toFixed(0)} of ${p.probesPerSecondAsked.toFixed(0)} probes/s, ${p.lateProbes} late` +
          (p.machinePercent === undefined ? '' : `; whole machine ${p.machinePercent.toFixed(0)} % of one core, lab backend included`),
        target: 'sustainable',
        verdict: p.problems.length ? 'not trusted (see below)' : verdict(p.probesPerSecond >= 0.95 * p.probesPerSecondAsked && p.cpuPercent < 100),
      });
    }
  }
  return rows;
}

export function reportMarkdown(r: BenchReport): string {
  const [b1, b5] = r.loadAverage.before;
  const [a1, a5] = r.loadAverage.after;
  const lines = [
    `# xlb benchmarks — ${r.startedAt.slice(0, 10)}${r.quick ? ' (quick smoke run: not representative)' : ''}`,
    '',
    `Machine: ${machineLine(r.machine)}. Commit ${r.machine.commit ?? 'unknown'}.`,
    `Load average (1 / 5 min) ${b1.toFixed(2)} / ${b5.toFixed(2)} before, ${a1.toFixed(2)} / ${a5.toFixed(2)} after. ` +
      `Run took ${Math.round(r.seconds)} s. Command: \`${r.command}\`.`,
    '',
    'Every figure is relative to a floor measured in the same run, over several runs: the median, with ' +
      'the runs\' spread. Targets are the project\'s goals, shown next to the measurement, never enforced. ' +
      'Method and caveats: [docs/benchmarks.md](../../docs/benchmarks.md).',
    '',
    '| figure | measured | target | |',
    '|:---|:---|:---|:---|',
    ...headlines(r.groups).map((h) => `| ${h.figure} | ${h.value} | ${h.target} | ${h.verdict} |`),
    '',
  ];
  for (const name of GROUP_NAMES) {
    const o = r.groups[name];
    if (o === undefined) continue;
    lines.push(`## ${GROUPS[name].title}`, '');
    if (o.status === 'not measured') lines.push(`Not measured: ${o.reason}.`);
    else if (o.status === 'failed') lines.push('The group failed (no figures):', '', '```', o.error.split('\n').slice(0, 6).join('\n'), '```');
    else if (name === 'datapath') lines.push(datapathMarkdown(o.result as never));
    else if (name === 'throughput') lines.push(throughputMarkdown(o.result as never));
    else if (name === 'maglev') lines.push(maglevMarkdown(o.result as never));
    else if (name === 'control') lines.push(controlMarkdown(o.result as never));
    else if (name === 'recorder') lines.push(captureMarkdown(o.result as never));
    else if (name === 'health') lines.push(healthMarkdown(o.result as never));
    lines.push('');
  }
  return lines.join('\n');
}

export function reportChart(r: BenchReport): string {
  const panels: ChartPanel[] = [];
  const dp = r.groups.datapath;
  if (dp?.status === 'measured') {
    const bar = (c: DatapathCaseResult) => ({
      label: shortCase(c.name),
      value: c.aboveFloorNs, // negative values (noise) draw no bar but keep their label
      min: c.aboveFloorMinNs,
      max: c.aboveFloorMaxNs,
      target: c.targetNs,
    });
    const main = dp.result.cases.filter((c) => c.floor.startsWith('floor.') && !c.name.startsWith('aa.'));
    const rec = dp.result.cases.filter((c) => !c.name.startsWith('aa.') && (c.name === 'recorderInactive' || c.name.includes('.rec')));
    panels.push({ title: 'Per-packet cost above floor, BPF_PROG_TEST_RUN', unit: 'ns', bars: main.map(bar) });
    if (rec.length) panels.push({ title: 'Recorder cost per packet (vs. same packet, no recording)', unit: 'ns', bars: rec.map(bar) });
  }
  const tp = r.groups.throughput;
  if (tp?.status === 'measured') {
    panels.push({
      title: 'Forwarding rate through veth, share of the XDP_TX floor',
      unit: '× floor',
      target: { value: THROUGHPUT_TARGET_RATIO, label: `target ≥ ${THROUGHPUT_TARGET_RATIO}` },
      bars: tp.result.streams.flatMap((s) =>
        s.configs
          .filter((c) => c.backends > 0)
          .map((c) => ({ label: `${s.kind === 'udp' ? 'UDP' : 'TCP SYN (new flows)'}, ${c.config}`, value: c.ratio.median, min: c.ratio.min, max: c.ratio.max })),
      ),
    });
  }
  const mg = r.groups.maglev;
  if (mg?.status === 'measured') {
    panels.push({
      title: 'Maglev table build, equal weights',
      unit: 'ms',
      target: { value: MAGLEV_TARGET_MS, label: `target (M=65537, N=1000) ≤ ${MAGLEV_TARGET_MS}` },
      bars: mg.result.rows
        .filter((row) => row.weights === 'equal')
        .map((row) => ({ label: `M=${row.size}, N=${row.backends}`, value: row.build.median, min: row.build.p10, max: row.build.p90 })),
    });
  }
  const rc = r.groups.recorder;
  if (rc?.status === 'measured') {
    panels.push({
      title: `Highest zero-loss capture rate, ${rc.result.frameBytes}-byte frames`,
      unit: 'kpps sent',
      bars: rc.result.series.map((s) => ({
        label: `${s.tool}, ${s.snaplen ? `snaplen ${s.snaplen}` : 'whole frames'}${s.generatorLimited ? ' (sender limit)' : ''}`,
        value: (s.zeroLossSentPps ?? 0) / 1000,
        reference: s.tool === 'xdpdump',
      })),
    });
  }
  return barChartSvg(
    `xlb benchmarks, ${r.startedAt.slice(0, 10)}${r.quick ? ' (quick smoke run)' : ''}`,
    `${r.machine.cores} × ${r.machine.cpuModel}, Linux ${r.machine.kernel}, load ${r.loadAverage.before[0].toFixed(1)}; medians, whiskers = runs' min–max (Maglev: p10–p90)`,
    panels,
  );
}

function shortCase(name: string): string {
  const labels: Record<string, string> = {
    ipv4Established: 'IPv4 established (flow hit)',
    ipv4NewFlow: 'IPv4 new flow',
    ipv4Stateless: 'IPv4, stateless datapath',
    ipv6Established: 'IPv6 established',
    nonVipPass: 'not a VIP → XDP_PASS',
    recorderInactive: 'no recording active (vs. compiled out)',
  };
  const [kind, variant] = name.split('.');
  if (variant === 'recMiss') return `${labels[kind!] ?? kind}, 1 rule, no match`;
  if (variant === 'recMatch') return `${labels[kind!] ?? kind}, 1 rule, match`;
  return labels[name] ?? name;
}
