// Group 5 (recorder) — how fast the recorder captures without losing a packet, end to end: trafgen sends a
// fixed number of UDP frames at a fixed rate to a VIP served by the real xlbd on a veth
// (benchmarks/lib/veth-pair.ts, a counting sink on the generator side), while a client records them
// over the daemon's Recorder API (`xlb record`'s path: datapath rule → ring buffer → daemon → gRPC
// stream → client). A trial has zero loss when the recording's final figures say every frame sent was
// captured (captured = sent, lost = 0). The rate is raised (doubling, then bisecting) to the highest
// rate with zero loss, at snaplen 128 and at whole frames.
//
// The comparison is xdpdump (xdp-tools) capturing the same stream (same frames, count and rates) on
// the same veth. xdpdump normally attaches fentry/fexit programs to the XDP program already on the
// interface, which this kernel refuses (EPERM, also for a plain XDP_PASS program), so it runs in its
// "legacy" mode: the interface without xlb, xdpdump's own XDP program capturing every frame into a
// perf ring. Zero loss for xdpdump: it reports as many packets captured as were sent, none dropped.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { BpfObject } from '../bpf/libbpf-ts/index.js';
import { bpfObjectPath } from '../bpf/objects.js';
import { RecorderApiClient } from '../api/client/index.js';
import { loadAverage } from './lib/machine.js';
import { Trafgen, type StreamSpec } from './lib/trafgen.js';
import { VethPair } from './lib/veth-pair.js';
import { XlbdProcess } from './lib/xlbd.js';
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
  /** Per-packet cost table (benchmarks/recorder-cost.ts); false to skip. Default: its defaults. */
  perPacket?: RecorderBenchmarkOptions | false;
}

export interface CaptureTrial {
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
}

interface Trial {
  (requestedPps: number, count: number): Promise<CaptureTrial>;
}

async function searchZeroLoss(
  tool: CaptureTool,
  snaplen: number,
  trial: Trial,
  o: { startPps: number; maxPps: number; trialMs: number; bisectSteps: number },
): Promise<CaptureSeries> {
  const trials: CaptureTrial[] = [];
  const run = async (pps: number) => {
    const t = await trial(pps, Math.max(100, Math.round((pps * o.trialMs) / 1000)));
    trials.push(t);
    return t;
  };
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
  }
  return {
    tool,
    snaplen,
    zeroLossPps: good?.requestedPps,
    zeroLossSentPps: good?.sentPps,
    generatorLimited: bad === undefined,
    trials,
    problems: [],
  };
}

function streamSpec(pair: VethPair, frameBytes: number): StreamSpec {
  return { kind: 'udp', dstMac: pair.lbMac, srcMac: '02:00:00:00:00:09', vip: VIP, firstPort: PORT, ports: 1, frameBytes };
}

async function sendCounted(pair: VethPair, spec: StreamSpec, pps: number, count: number): Promise<{ sent: number; seconds: number }> {
  const before = pair.counters('gen').txPackets;
  const t0 = performance.now();
  const gen = Trafgen.start(pair.genNs, pair.genIf, spec, { ratePps: pps, count });
  const limit = setTimeout(() => void gen.stop(), (count / pps) * 1000 * 3 + 5000);
  await gen.exited;
  clearTimeout(limit);
  const seconds = (performance.now() - t0) / 1000;
  await gen.stop();
  return { sent: pair.counters('gen').txPackets - before, seconds };
}

/** The recorder series: xlbd on l0, one recording per trial over the Recorder API. */
async function recorderSeries(o: Required<Omit<CaptureBenchmarkOptions, 'perPacket'>>): Promise<CaptureSeries[]> {
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
    daemon = new XlbdProcess(pair, addrs.gen, { maglev: { table_size: 4093, seed: 7 }, maps: { services: 64, backends: 1024, flows: 65536 } });
    await daemon.start();
    await daemon.client.createService({
      vip: VIP, port: PORT, protocol: 'PROTOCOL_UDP',
      backends: Array.from({ length: 4 }, (_, i) => ({ address: `10.3.0.${i + 2}`, weight: 1 })),
    });
    const rec = RecorderApiClient.connect({ server: `unix://${daemon.socket}` });
    const spec = streamSpec(pair, o.frameBytes);
    const series: CaptureSeries[] = [];
    try {
      for (const snaplen of o.snaplens) {
        const trial: Trial = async (pps, count) => {
          let started!: () => void;
          const ready = new Promise<void>((r) => (started = r));
          let bytes = 0;
          const call = rec.record(
            {
              filters: [{ dstCidr: `${VIP}/32`, dstPort: PORT, proto: 'CAPTURE_PROTOCOL_UDP' }],
              snaplen,
              points: 'CAPTURE_POINTS_INGRESS',
              format: 'CAPTURE_FORMAT_PCAP',
            },
            { started: () => started(), chunk: (b) => (bytes += b.length) },
          );
          let failure: string | undefined;
          const done = call.done.catch((e: Error) => {
            failure = e.message;
            return undefined;
          });
          await Promise.race([ready, done]);
          if (failure) throw new Error(`recording did not start: ${failure}`);
          const { sent, seconds } = await sendCounted(pair, spec, pps, count);
          await sleep(300); // the last records reach the daemon and the stream
          call.stop();
          const end = await done;
          const stats = end?.stats;
          const captured = Number(stats?.captured ?? 0);
          const lost = Number(stats?.lost ?? 0);
          return {
            requestedPps: pps, sentPps: sent / seconds, sent, captured, lost,
            zeroLoss: failure === undefined && sent > 0 && captured === sent && lost === 0,
            ...(failure ? { error: `the recording stream failed after ${bytes} bytes: ${failure}` } : {}),
          };
        };
        series.push(await searchZeroLoss('xlb recorder', snaplen, trial, o));
      }
    } finally {
      rec.close();
    }
    return series;
  } catch (e) {
    throw new Error(`${(e as Error).message}${daemon ? `\nxlbd output:\n${daemon.tail(20)}` : ''}`);
  } finally {
    await daemon?.dispose();
    pair.destroy();
    for (const obj of objects) obj.close();
  }
}

/** xdpdump in legacy mode on l0 (no other XDP program there), one process per trial. */
async function xdpdumpSeries(o: Required<Omit<CaptureBenchmarkOptions, 'perPacket'>>): Promise<CaptureSeries[]> {
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
        const { sent, seconds } = await sendCounted(pair, spec, pps, count);
        await sleep(XDPDUMP_TAIL_MS);
        dump.kill('SIGINT');
        await exited;
        const captured = Number(/(\d+) packets captured/.exec(out)?.[1] ?? NaN);
        const lost = Number(/(\d+) packets dropped by perf ring/.exec(out)?.[1] ?? 0);
        if (Number.isNaN(captured)) throw new Error(`xdpdump printed no summary: ${out.trim().slice(-300)}`);
        return { requestedPps: pps, sentPps: sent / seconds, sent, captured, lost, zeroLoss: sent > 0 && captured >= sent && lost === 0 };
      };
      series.push(await searchZeroLoss('xdpdump', snaplen, trial, o));
    }
    return series;
  } finally {
    pair.destroy();
  }
}

export async function runCaptureBenchmark(opts: CaptureBenchmarkOptions = {}): Promise<CaptureBenchmarkResult> {
  const o = {
    frameBytes: opts.frameBytes ?? 1024,
    trialMs: opts.trialMs ?? 2000,
    startPps: opts.startPps ?? 25000,
    maxPps: opts.maxPps ?? 4_000_000,
    bisectSteps: opts.bisectSteps ?? 3,
    snaplens: opts.snaplens ?? [128, 0],
  };
  const loadBefore = loadAverage()[0];
  const series = [...(await recorderSeries(o)), ...(await xdpdumpSeries(o))];
  const perPacket = opts.perPacket === false ? undefined : await runRecorderBenchmark(opts.perPacket ?? {});
  return {
    method:
      `trafgen -P 1 -b RATE -n COUNT (UDP, ${o.frameBytes}-byte frames, ${o.trialMs} ms per trial) → veth → xlbd's datapath (native XDP), ` +
      'recorded over the Recorder API (ingress, one filter matching the stream); zero loss = captured = sent and lost = 0; ' +
      'rate doubled from the start rate until a loss, then bisected. xdpdump: legacy mode on the same veth, same stream',
    frameBytes: o.frameBytes,
    trialMs: o.trialMs,
    loadBefore,
    loadAfter: loadAverage()[0],
    series,
    perPacket,
  };
}

export function captureMarkdown(r: CaptureBenchmarkResult): string {
  const k = (pps: number | undefined) => (pps === undefined ? 'none' : `${(pps / 1000).toFixed(0)} k`);
  const lines = [
    `Zero-loss capture rate, ${r.frameBytes}-byte UDP frames, ${r.trialMs} ms trials (rate doubled until a loss, then bisected). ` +
      `Load average ${r.loadBefore.toFixed(2)} → ${r.loadAfter.toFixed(2)}.`,
    '',
    '| tool | snaplen | highest zero-loss rate, pps sent (requested) | first loss at (requested) | trials |',
    '|:---|---:|---:|:---|---:|',
  ];
  for (const s of r.series) {
    const firstLoss = s.trials.filter((t) => !t.zeroLoss).sort((a, b) => a.requestedPps - b.requestedPps)[0];
    const lossText = !firstLoss
      ? 'none (the generator was the limit)'
      : firstLoss.error
        ? `${k(firstLoss.requestedPps)} pps: ${firstLoss.error}`
        : `${k(firstLoss.requestedPps)} pps: ${firstLoss.captured} of ${firstLoss.sent} captured, ${firstLoss.lost} lost`;
    lines.push(
      `| ${s.tool} | ${s.snaplen || 'whole frame'} | ${s.generatorLimited ? '≥ ' : ''}${k(s.zeroLossSentPps)} (${k(s.zeroLossPps)}) | ${lossText} | ${s.trials.length} |`,
    );
  }
  if (r.perPacket) lines.push('', recorderMarkdown(r.perPacket));
  return lines.join('\n');
}
