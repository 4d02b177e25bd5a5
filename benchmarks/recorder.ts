// Group 5 (recorder) — how fast the recorder captures without losing a packet, end to end: trafgen sends a
// fixed number of UDP frames at a fixed rate to a VIP served by the real xlbd on a veth
// (benchmarks/lib/veth-pair.ts, a counting sink on the generator side), while the real `xlb record`
// CLI (dist/api/cli/main.js) records them to /dev/null: datapath rule → per-recording ring buffer →
// daemon → gRPC stream → CLI → file. A trial has zero loss when the CLI's closing summary says every
// frame sent was captured (captured = sent, lost = 0). The rate is raised (doubling, then bisecting)
// to the highest rate with zero loss, at snaplen 128 and at whole frames.
//
// The generator: trafgen's rate-limited mode (-b) sends one frame per sendto() and tops out at
// 100–250 kpps here. When every rate it reaches was captured whole, a last trial sends at full speed
// from trafgen's TX_RING with one worker per CPU (-P nproc, no rate): the fastest source this
// machine has, so "≥" in the table means the generator's real ceiling, not the rate mode's.
// CPU: per trial the CPU seconds xlbd and the CLI used (/proc/PID/stat) over the trial's wall time,
// in % of one core; reported at the highest zero-loss trial.
// Live: one more trial at the whole-frame zero-loss rate with `xlb record … -w - | tshark -r -`
// (a real pipe between the two processes): frames tshark read, the CLI's loss warning, and xlbd's
// resident memory before and at its highest during the trial (the daemon's memory bound).
//
// The comparison is xdpdump (xdp-tools) capturing the same stream (same frames, count and rates) on
// the same veth, in the same run. xdpdump normally attaches fentry/fexit programs to the XDP program
// already on the interface, which this kernel refuses (EPERM, also for a plain XDP_PASS program), so
// it runs in its "legacy" mode: the interface without xlb, xdpdump's own XDP program capturing every
// frame into a perf ring. Zero loss for xdpdump: it reports as many packets captured as were sent,
// none dropped.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { BpfObject } from '../bpf/libbpf-ts/index.js';
import { bpfObjectPath } from '../bpf/objects.js';
import { loadAverage } from './lib/machine.js';
import { cpuSeconds, rssMiB, watchRss } from './lib/proc.js';
import { Trafgen, type StreamSpec } from './lib/trafgen.js';
import { VethPair } from './lib/veth-pair.js';
import { XLB_CLI_MAIN, XlbdProcess } from './lib/xlbd.js';
import { recorderMarkdown, runRecorderBenchmark, type RecorderBenchmarkOptions, type RecorderBenchmarkResult } from './recorder-cost.js';

const VIP = '10.100.0.10';
const PORT = 10000;
/** xdpdump exits on SIGINT without reading what is still in its perf ring (checked: a 200-frame
 *  trial stopped 300 ms after the last frame reported 0 captured; after 1.5 s, all 200). */
const XDPDUMP_TAIL_MS = 1500;

export type CaptureTool = 'xlb recorder' | 'xdpdump';

export interface CaptureBenchmarkOptions {
  /** Frame size of the stream; default 1024. */
  frameBytes?: number;
  /** Length of one trial, ms of traffic at the requested rate; default 2000. */
  trialMs?: number;
  /** First rate tried, pps; default 25000. */
  startPps?: number;
  /** Highest rate tried, pps; default 4 000 000. */
  maxPps?: number;
  /** Bisection steps after the first loss; default 3. */
  bisectSteps?: number;
  /** Snaplens; default 128 and 0 (whole frames). */
  snaplens?: number[];
  /** trafgen workers for the full-speed trial; default one per CPU. 0 skips that trial. */
  fullSpeedWorkers?: number;
  /** Frames of the full-speed trial; default trialMs × 300 kpps. */
  fullSpeedFrames?: number;
  /** The live `xlb record -w - | tshark -r -` trial; default true. */
  live?: boolean;
  /** xlbd's recorder.ring_bytes (each recording's ring); default the daemon's (4 MiB). */
  ringBytes?: number;
  /** Per-packet cost table (benchmarks/recorder-cost.ts); false to skip. Default: its defaults. */
  perPacket?: RecorderBenchmarkOptions | false;
}

export interface CpuShare {
  /** CPU seconds over the trial's wall time, in % of one core (100 = one core busy). */
  xlbdPct: number;
  /** `xlb record` (the recorder series), or xdpdump. */
  clientPct: number;
}

export interface CaptureTrial {
  /** The rate asked of trafgen; 0 for the full-speed trial (TX_RING, several workers, no rate). */
  requestedPps: number;
  /** Frames sent / trafgen's wall time (startup included, so a little low). */
  sentPps: number;
  sent: number;
  captured: number;
  /** Recorder: matched − captured (its `lost`); xdpdump: "dropped by perf ring". */
  lost: number;
  zeroLoss: boolean;
  /** The capture failed outright (e.g. the recording stream broke); counts as loss. */
  error?: string;
  /** The generator gave up before sending every frame: the trial counts neither way. */
  generatorFailed?: string;
  cpu?: CpuShare;
}

export interface CaptureSeries {
  tool: CaptureTool;
  snaplen: number;
  /** Highest requested rate with zero loss, or undefined if even the first rate lost packets. */
  zeroLossPps: number | undefined;
  /** The sender's own rate at that point (see CaptureTrial.sentPps). */
  zeroLossSentPps: number | undefined;
  /** True when no rate lost packets: the figure is the generator's limit, not the capture's. */
  generatorLimited: boolean;
  /** CPU use during the highest zero-loss trial. */
  cpuAtZeroLoss: CpuShare | undefined;
  trials: CaptureTrial[];
  problems: string[];
}

export interface CaptureBenchmarkResult {
  method: string;
  frameBytes: number;
  trialMs: number;
  loadBefore: number;
  loadAfter: number;
  series: CaptureSeries[];
  /** Per-packet cost of recording (BPF_PROG_TEST_RUN), benchmarks/recorder-cost.ts. */
  perPacket: RecorderBenchmarkResult | undefined;
  /** `xlb record -w - | tshark -r -` at the whole-frame zero-loss rate. */
  live: LiveTrial | undefined;
}

export interface LiveTrial {
  requestedPps: number;
  sentPps: number;
  sent: number;
  /** From the CLI's closing summary. */
  captured: number;
  lost: number;
  /** Frames tshark read from the pipe. */
  tsharkFrames: number;
  /** The CLI printed its loss warning on stderr (expected exactly when lost > 0). */
  warned: boolean;
  xlbdRssBeforeMiB: number;
  xlbdRssMaxMiB: number;
  cpu: CpuShare;
  error?: string;
}

interface Trial {
  /** rate undefined: full speed (see fullSpeedWorkers). */
  (rate: number | undefined, count: number): Promise<CaptureTrial>;
}

type SearchOptions = { startPps: number; maxPps: number; trialMs: number; bisectSteps: number; fullSpeedWorkers: number; fullSpeedFrames: number };

async function searchZeroLoss(
  tool: CaptureTool,
  snaplen: number,
  trial: Trial,
  o: SearchOptions,
): Promise<CaptureSeries> {
  const trials: CaptureTrial[] = [];
  const run = async (pps: number) => {
    const t = await trial(pps, Math.max(100, Math.round((pps * o.trialMs) / 1000)));
    trials.push(t);
    return t;
  };
  let full: CaptureTrial | undefined;
  const problems: string[] = [];
  let good: CaptureTrial | undefined;
  let bad: CaptureTrial | undefined;
  for (let pps = o.startPps; ; pps *= 2) {
    const t = await run(pps);
    if (!t.zeroLoss) {
      bad = t;
      break;
    }
    good = t;
    // The generator cannot keep up any more: more requested rate would not mean more traffic.
    if (t.sentPps < 0.8 * pps || pps * 2 > o.maxPps) break;
  }
  if (bad) {
    let lo = good?.requestedPps ?? 0;
    let hi = bad.requestedPps;
    for (let i = 0; i < o.bisectSteps && hi - lo > o.startPps / 4; i++) {
      const mid = Math.round((lo + hi) / 2);
      const t = await run(mid);
      if (t.zeroLoss) {
        lo = mid;
        good = t;
      } else hi = mid;
    }
  } else if (o.fullSpeedWorkers > 0) {
    // Every rate the rate mode reaches was captured whole: now the fastest source there is.
    full = await trial(undefined, o.fullSpeedFrames);
    trials.push(full);
    if (full.generatorFailed) problems.push(`full-speed trial not counted: ${full.generatorFailed}`);
    else if (full.zeroLoss && full.sentPps > (good?.sentPps ?? 0)) good = full;
    else if (!full.zeroLoss) bad = full;
  }
  return {
    tool,
    snaplen,
    zeroLossPps: good?.requestedPps,
    zeroLossSentPps: good?.sentPps,
    generatorLimited: bad === undefined,
    cpuAtZeroLoss: good?.cpu,
    trials,
    problems,
  };
}

function streamSpec(pair: VethPair, frameBytes: number): StreamSpec {
  return { kind: 'udp', dstMac: pair.lbMac, srcMac: '02:00:00:00:00:09', vip: VIP, firstPort: PORT, ports: 1, frameBytes };
}

async function sendCounted(
  pair: VethPair,
  spec: StreamSpec,
  pps: number | undefined,
  count: number,
  fullSpeedWorkers: number,
): Promise<{ sent: number; seconds: number; generatorFailed?: string }> {
  const before = pair.counters('gen').txPackets;
  const t0 = performance.now();
  const gen = Trafgen.start(pair.genNs, pair.genIf, spec, pps === undefined ? { count, workers: fullSpeedWorkers } : { ratePps: pps, count });
  const limit = setTimeout(() => void gen.stop(), (count / (pps ?? 50_000)) * 1000 * 3 + 5000);
  await gen.exited;
  clearTimeout(limit);
  const seconds = (performance.now() - t0) / 1000;
  const output = await gen.stop();
  // trafgen's own total (all workers): what it handed to the kernel. The veth's tx counter is no
  // substitute: with an XDP program on the peer it counted fewer frames than either capture tool
  // received (e.g. 23 069 "sent", 42 046 captured by xdpdump).
  const total = /(\d+) packets outgoing/.exec(output)?.[1];
  const sent = total === undefined ? pair.counters('gen').txPackets - before : Number(total);
  // At full speed trafgen gives up when its TX_RING cannot be flushed (EAGAIN: the socket's send
  // buffer is full of frames the receiving side has not taken yet — it lags). Such a trial says
  // nothing about the capture tool.
  const failed = /failed: .*$/m.exec(output)?.[0];
  return { sent, seconds, ...(sent < count && failed ? { generatorFailed: `trafgen stopped after ${sent} of ${count} frames: ${failed.trim()}` } : {}) };
}

/** The CLI's closing summary: "M matched, C captured (B bytes), L lost — reason". */
const SUMMARY = /(\d+) matched, (\d+) captured \((\d+) bytes\), (\d+) lost — /;

/**
 * `xlb record` as its own process, to /dev/null, or (tshark set) `xlb record … -w - | tshark -r - …`
 * run by sh: a real pipe, as a user would type it (tshark refuses a socket pair on its stdin,
 * which is what Node's 'pipe' would give it). Output collects both processes' stdout and stderr.
 */
class XlbRecord {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<void>;
  #cliPid: number | undefined;

  constructor(socket: string, snaplen: number, tshark?: string[]) {
    const cli = [process.execPath, XLB_CLI_MAIN, '--server', `unix://${socket}`, 'record', `any -> ${VIP} ${PORT} udp`, '--point', 'ingress', ...(snaplen ? ['--snaplen', String(snaplen)] : [])];
    this.child = tshark
      ? spawn('sh', ['-c', `"$@" -w - | ${tshark.join(' ')}`, 'sh', ...cli], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(cli[0]!, [...cli.slice(1), '-w', '/dev/null'], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (!tshark) this.#cliPid = this.child.pid;
    this.child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((r) => this.child.on('exit', () => r()));
  }

  /** The CLI's process id (under sh: the child of sh that runs node). */
  get cliPid(): number {
    if (this.#cliPid === undefined) {
      const kids = readFileSync(`/proc/${this.child.pid}/task/${this.child.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
      this.#cliPid = kids.find((k) => {
        try {
          return readFileSync(`/proc/${k}/cmdline`, 'utf8').includes(XLB_CLI_MAIN);
        } catch {
          return false;
        }
      });
      if (this.#cliPid === undefined) throw new Error(`xlb record's process not found among sh's children ${kids.join(', ')}`);
    }
    return this.#cliPid;
  }

  async started(): Promise<void> {
    for (let waited = 0; !/^recording \d+ to /m.test(this.output); waited += 20) {
      if (waited > 30_000 || this.child.exitCode !== null) throw new Error(`xlb record did not start: ${this.output.trim()}`);
      await sleep(20);
    }
  }

  kill(): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(this.cliPid, 'SIGKILL');
    } catch {
      // gone already
    }
    this.child.kill('SIGKILL');
  }

  /** SIGINT (the CLI asks the daemon to stop and writes the rest), then its summary. */
  async stop(): Promise<{ captured: number; lost: number; warned: boolean; error?: string }> {
    process.kill(this.cliPid, 'SIGINT');
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000).unref());
    if ((await Promise.race([this.exited, timeout])) === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    const m = SUMMARY.exec(this.output.split('\n').filter((l) => l.includes(' — ')).pop() ?? '');
    const warned = /warning: \d+ of \d+ matched packets were lost/.test(this.output);
    if (!m) return { captured: 0, lost: 0, warned, error: `xlb record printed no summary (exit ${this.child.exitCode ?? this.child.signalCode}): ${this.output.trim().slice(-300)}` };
    return { captured: Number(m[2]), lost: Number(m[4]), warned };
  }
}

/** CPU seconds of several processes from now: done() gives each one's share of one core. */
function cpuMeter(pids: number[]): { done(): number[] } {
  const t0 = performance.now();
  const c0 = pids.map(cpuSeconds);
  return { done: () => pids.map((p, i) => ((cpuSeconds(p) - c0[i]!) / ((performance.now() - t0) / 1000)) * 100) };
}

/** The recorder series (xlbd on l0, one `xlb record` per trial) and the live tshark trial. */
async function recorderSeries(o: ResolvedOptions): Promise<{ series: CaptureSeries[]; live: LiveTrial | undefined }> {
  const pair = VethPair.create();
  const objects: BpfObject[] = [];
  let daemon: XlbdProcess | undefined;
  try {
    const addrs = pair.addAddresses();
    pair.pinGatewayNeighbour(addrs.gen);
    const sink = BpfObject.open(bpfObjectPath('bench_xdp_count_drop'));
    objects.push(sink);
    sink.load();
    pair.attach('gen', sink.program('bench_xdp_count_drop'));
    daemon = new XlbdProcess(pair, addrs.gen, {
      maglev: { table_size: 4093, seed: 7 },
      maps: { services: 64, backends: 1024, flows: 65536 },
      ...(o.ringBytes ? { recorder: { ring_bytes: o.ringBytes } } : {}),
    });
    await daemon.start();
    await daemon.client.createService({
      vip: VIP, port: PORT, protocol: 'PROTOCOL_UDP',
      backends: Array.from({ length: 4 }, (_, i) => ({ address: `10.3.0.${i + 2}`, weight: 1 })),
    });
    const xlbdPid = daemon.pid!;
    const spec = streamSpec(pair, o.frameBytes);
    const series: CaptureSeries[] = [];
    for (const snaplen of o.snaplens) {
      const trial: Trial = async (pps, count) => {
        const cli = new XlbRecord(daemon!.socket, snaplen);
        try {
          await cli.started();
          const meter = cpuMeter([xlbdPid, cli.cliPid]);
          const { sent, seconds, generatorFailed } = await sendCounted(pair, spec, pps, count, o.fullSpeedWorkers);
          await sleep(300); // the last records reach the daemon, the stream and the file
          const [xlbdPct, clientPct] = meter.done(); // (the CLI's process is gone after stop)
          const end = await cli.stop();
          return {
            requestedPps: pps ?? 0, sentPps: sent / seconds, sent, captured: end.captured, lost: end.lost,
            zeroLoss: end.error === undefined && sent > 0 && end.captured === sent && end.lost === 0,
            cpu: { xlbdPct: xlbdPct!, clientPct: clientPct! },
            ...(end.error ? { error: end.error } : {}),
            ...(generatorFailed ? { generatorFailed } : {}),
          };
        } finally {
          cli.kill();
        }
      };
      series.push(await searchZeroLoss('xlb recorder', snaplen, trial, o));
    }
    // Live: at the whole-frame zero-loss rate (rate mode; the full-speed trial's rate is not a rate
    // trafgen can be asked for), into tshark through a pipe.
    const whole = series.find((s) => s.snaplen === 0) ?? series[series.length - 1];
    const liveRate = whole?.trials.filter((t) => t.zeroLoss && t.requestedPps > 0).pop()?.requestedPps ?? o.startPps;
    const live = o.live ? await liveTrial(daemon, pair, spec, liveRate, whole?.snaplen ?? 0, o) : undefined;
    return { series, live };
  } catch (e) {
    throw new Error(`${(e as Error).message}${daemon ? `\nxlbd output:\n${daemon.tail(20)}` : ''}`);
  } finally {
    await daemon?.dispose();
    pair.destroy();
    for (const obj of objects) obj.close();
  }
}

async function liveTrial(daemon: XlbdProcess, pair: VethPair, spec: StreamSpec, pps: number, snaplen: number, o: ResolvedOptions): Promise<LiveTrial> {
  const xlbdPid = daemon.pid!;
  // tshark reads the pcap stream from the pipe and prints one table of statistics at the end.
  const cli = new XlbRecord(daemon.socket, snaplen, ['tshark', '-r', '-', '-q', '-z', 'io,stat,0']);
  try {
    await cli.started();
    const rssBefore = rssMiB(xlbdPid);
    const rss = watchRss(xlbdPid);
    const meter = cpuMeter([xlbdPid, cli.cliPid]);
    const count = Math.max(100, Math.round((pps * o.trialMs) / 1000));
    const { sent, seconds } = await sendCounted(pair, spec, pps, count, o.fullSpeedWorkers);
    await sleep(300);
    const [xlbdPct, clientPct] = meter.done();
    const end = await cli.stop();
    const rssMax = rss.stop();
    const frames = /<>\s*[\d.]+\s*\|\s*(\d+)\s*\|/.exec(cli.output)?.[1];
    return {
      requestedPps: pps, sentPps: sent / seconds, sent, captured: end.captured, lost: end.lost,
      tsharkFrames: frames === undefined ? NaN : Number(frames),
      warned: end.warned, xlbdRssBeforeMiB: rssBefore, xlbdRssMaxMiB: rssMax,
      cpu: { xlbdPct: xlbdPct!, clientPct: clientPct! },
      ...(end.error ? { error: end.error } : frames === undefined ? { error: `tshark printed no frame count: ${cli.output.trim().slice(-300)}` } : {}),
    };
  } finally {
    cli.kill();
  }
}

/** xdpdump in legacy mode on l0 (no other XDP program there), one process per trial. */
async function xdpdumpSeries(o: ResolvedOptions): Promise<CaptureSeries[]> {
  const pair = VethPair.create();
  try {
    const spec = streamSpec(pair, o.frameBytes);
    const series: CaptureSeries[] = [];
    for (const snaplen of o.snaplens) {
      const trial: Trial = async (pps, count) => {
        const args = ['netns', 'exec', pair.lbNs, 'xdpdump', '-i', pair.lbIf, '-w', '/dev/null', ...(snaplen ? ['-s', String(snaplen)] : [])];
        const dump = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        dump.stdout.on('data', (d: Buffer) => (out += d.toString()));
        dump.stderr.on('data', (d: Buffer) => (out += d.toString()));
        const exited = new Promise<void>((r) => dump.on('exit', () => r()));
        for (let waited = 0; !/listening on/.test(out); waited += 20) {
          if (waited > 10_000 || dump.exitCode !== null) throw new Error(`xdpdump did not start: ${out.trim()}`);
          await sleep(20);
        }
        // `ip netns exec` execs xdpdump in place: the same process.
        const meter = cpuMeter([dump.pid!]);
        const { sent, seconds, generatorFailed } = await sendCounted(pair, spec, pps, count, o.fullSpeedWorkers);
        await sleep(XDPDUMP_TAIL_MS);
        const [clientPct] = meter.done();
        dump.kill('SIGINT');
        await exited;
        const captured = Number(/(\d+) packets captured/.exec(out)?.[1] ?? NaN);
        const lost = Number(/(\d+) packets dropped by perf ring/.exec(out)?.[1] ?? 0);
        if (Number.isNaN(captured)) throw new Error(`xdpdump printed no summary: ${out.trim().slice(-300)}`);
        return {
          requestedPps: pps ?? 0, sentPps: sent / seconds, sent, captured, lost, zeroLoss: sent > 0 && captured >= sent && lost === 0,
          cpu: { xlbdPct: 0, clientPct: clientPct! },
          ...(generatorFailed ? { generatorFailed } : {}),
        };
      };
      series.push(await searchZeroLoss('xdpdump', snaplen, trial, o));
    }
    return series;
  } finally {
    pair.destroy();
  }
}

type ResolvedOptions = Required<Omit<CaptureBenchmarkOptions, 'perPacket' | 'ringBytes'>> & { ringBytes: number | undefined };

export async function runCaptureBenchmark(opts: CaptureBenchmarkOptions = {}): Promise<CaptureBenchmarkResult> {
  const trialMs = opts.trialMs ?? 2000;
  const o: ResolvedOptions = {
    frameBytes: opts.frameBytes ?? 1024,
    trialMs,
    startPps: opts.startPps ?? 25000,
    maxPps: opts.maxPps ?? 4_000_000,
    bisectSteps: opts.bisectSteps ?? 3,
    snaplens: opts.snaplens ?? [128, 0],
    fullSpeedWorkers: opts.fullSpeedWorkers ?? cpus().length,
    fullSpeedFrames: opts.fullSpeedFrames ?? Math.round((300_000 * trialMs) / 1000),
    live: opts.live ?? true,
    ringBytes: opts.ringBytes,
  };
  const loadBefore = loadAverage()[0];
  const rec = await recorderSeries(o);
  const series = [...rec.series, ...(await xdpdumpSeries(o))];
  const perPacket = opts.perPacket === false ? undefined : await runRecorderBenchmark(opts.perPacket ?? {});
  return {
    method:
      `trafgen -P 1 -b RATE -n COUNT (UDP, ${o.frameBytes}-byte frames, ${o.trialMs} ms per trial) → veth → xlbd's datapath (native XDP), ` +
      'recorded by `xlb record -w /dev/null` (ingress, one filter matching the stream); zero loss = captured = sent and lost = 0 (the CLI\'s summary); ' +
      `rate doubled from the start rate until a loss, then bisected; without a loss, a last trial at full speed (trafgen TX_RING, -P ${o.fullSpeedWorkers}, ${o.fullSpeedFrames} frames). ` +
      'CPU: /proc/PID/stat over the trial. xdpdump: legacy mode on the same veth, same stream, same run',
    frameBytes: o.frameBytes,
    trialMs: o.trialMs,
    loadBefore,
    loadAfter: loadAverage()[0],
    series,
    perPacket,
    live: rec.live,
  };
}

export function captureMarkdown(r: CaptureBenchmarkResult): string {
  const k = (pps: number | undefined) => (pps === undefined ? 'none' : pps === 0 ? 'full speed' : `${(pps / 1000).toFixed(0)} k`);
  const pct = (c: CpuShare | undefined, tool: CaptureTool) =>
    c === undefined ? '' : tool === 'xdpdump' ? `xdpdump ${c.clientPct.toFixed(0)} %` : `xlbd ${c.xlbdPct.toFixed(0)} %, xlb record ${c.clientPct.toFixed(0)} %`;
  const lines = [
    `Zero-loss capture rate, ${r.frameBytes}-byte UDP frames, ${r.trialMs} ms trials (rate doubled until a loss, then bisected). ` +
      `Load average ${r.loadBefore.toFixed(2)} → ${r.loadAfter.toFixed(2)}.`,
    '',
    '| tool | snaplen | highest zero-loss rate, pps sent (requested) | CPU there (% of a core) | first loss at (requested) | trials |',
    '|:---|---:|---:|:---|:---|---:|',
  ];
  for (const s of r.series) {
    const rate = (t: CaptureTrial) => t.requestedPps || Infinity; // 0 = full speed, the fastest
    const firstLoss = s.trials.filter((t) => !t.zeroLoss && !t.generatorFailed).sort((a, b) => rate(a) - rate(b))[0];
    const lossText = !firstLoss
      ? 'none (the generator was the limit)'
      : firstLoss.error
        ? `${k(firstLoss.requestedPps)} pps: ${firstLoss.error}`
        : `${k(firstLoss.requestedPps)} pps: ${firstLoss.captured} of ${firstLoss.sent} captured, ${firstLoss.lost} lost`;
    lines.push(
      `| ${s.tool} | ${s.snaplen || 'whole frame'} | ${s.generatorLimited ? '≥ ' : ''}${k(s.zeroLossSentPps)} (${k(s.zeroLossPps)}) | ${pct(s.cpuAtZeroLoss, s.tool)} | ${lossText} | ${s.trials.length} |`,
    );
  }
  for (const s of r.series) for (const p of s.problems) lines.push('', `${s.tool}, snaplen ${s.snaplen || 'whole frame'}: ${p}.`);
  const ratio = (snaplen: number) => {
    const mine = r.series.find((s) => s.tool === 'xlb recorder' && s.snaplen === snaplen)?.zeroLossSentPps;
    const theirs = r.series.find((s) => s.tool === 'xdpdump' && s.snaplen === snaplen)?.zeroLossSentPps;
    return mine === undefined || theirs === undefined ? undefined : mine / theirs;
  };
  const ratios = [...new Set(r.series.map((s) => s.snaplen))]
    .map((n) => ({ n, q: ratio(n) }))
    .filter((x) => x.q !== undefined)
    .map((x) => `${x.n || 'whole frames'} ${x.q!.toFixed(2)}`);
  if (ratios.length) lines.push('', `xlb recorder ÷ xdpdump, zero-loss rate sent (target ≥ 0.9): ${ratios.join(', ')}.`);
  if (r.live) {
    const l = r.live;
    lines.push(
      '',
      `Live \`xlb record … -w - | tshark -r -\` at ${k(l.requestedPps)} pps requested (${k(l.sentPps)} sent, ${l.sent} frames): ` +
        `${l.captured} captured, ${l.lost} lost${l.lost ? (l.warned ? ' (reported on stderr)' : ' (NOT reported on stderr)') : ''}, tshark read ${l.tsharkFrames}; ` +
        `xlbd ${l.cpu.xlbdPct.toFixed(0)} %, xlb record ${l.cpu.clientPct.toFixed(0)} % of a core; xlbd RSS ${l.xlbdRssBeforeMiB.toFixed(0)} → at most ${l.xlbdRssMaxMiB.toFixed(0)} MiB` +
        `${l.error ? `; ${l.error}` : ''}.`,
    );
  }
  if (r.perPacket) lines.push('', recorderMarkdown(r.perPacket));
  return lines.join('\n');
}
