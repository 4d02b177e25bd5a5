// Focused probe for the control group's read-side figures (scrape, scrape delay, restart): the same
// daemon settings and measurements as benchmarks/control.ts, without the write-path phases.
//   node dist/benchmarks/probe-read.js [scrapeServices=10000] [restartServices=1000] [rounds=3]
import { readFileSync } from 'node:fs';
import { serviceSpec } from './lib/service-spec.js';
import { Scraper } from './lib/scrape-client.js';
import { summarize } from './lib/stats.js';
import { VethPair } from './lib/veth-pair.js';
import { XlbdProcess } from './lib/xlbd.js';

const specs = (n: number) => Array.from({ length: n }, (_, i) => serviceSpec(i, 16));
/** CPU time (user + system, ms) the process has used: robust to other load on a shared machine. */
const cpuMs = (pid: number | undefined) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
};
const time = async (fn: () => Promise<unknown>) => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};

const large = Number(process.argv[2] ?? 10000);
const small = Number(process.argv[3] ?? 1000);
const rounds = Number(process.argv[4] ?? 3);
const pair = VethPair.create();
const addrs = pair.addAddresses();
const biggest = Math.max(small + 300, large);
const d = new XlbdProcess(pair, addrs.gen, {
  maglev: { seed: 7 },
  maps: { services: 2 ** Math.ceil(Math.log2(biggest + 64)), backends: 2 ** Math.ceil(Math.log2(biggest * 17 + 64)), flows: 65536 },
  limits: { max_backends_per_service: 17 },
  metrics: { cache_ms: 0 },
}, process.env.PROBE_NODE_ARGS ? process.env.PROBE_NODE_ARGS.split(' ') : []);
const out: Record<string, unknown> = {};
let scraper: Scraper | undefined;
try {
  if (small > 0) {
    const warmEmpty: number[] = [];
    const warmEmptyCpu: number[] = [];
    await d.start();
    await d.stop();
    for (let i = 0; i < rounds; i++) {
      warmEmpty.push(await d.start());
      warmEmptyCpu.push(cpuMs(d.pid));
      await d.stop();
    }
    await d.start();
    await d.client.apply(specs(small));
    await d.stop();
    const warmFull: number[] = [];
    const warmFullCpu: number[] = [];
    // PROBE_PROF_DIR: CPU profiles of the adopting restarts (no BPF load there, which --cpu-prof breaks).
    if (process.env.PROBE_PROF_DIR) d.nodeArgs = ['--cpu-prof', '--cpu-prof-dir', process.env.PROBE_PROF_DIR];
    for (let i = 0; i < rounds; i++) {
      warmFull.push(await d.start());
      warmFullCpu.push(cpuMs(d.pid));
      if (i === 0) out.readyLog = d.output.split('\n').filter((l) => l.trim()).slice(-12);
      await d.stop();
    }
    out.warmEmpty = summarize(warmEmpty);
    out.warmFull = summarize(warmFull);
    out.cpuToReady = { empty: summarize(warmEmptyCpu).median, adopt: summarize(warmFullCpu).median };
  }
  if (large > 0) {
    await d.start();
    await d.client.apply([]);
    await d.client.apply(specs(large));
    if (process.env.PROBE_HOLD) {
      // Manual experiments: the daemon stays up until stdin closes.
      console.log(JSON.stringify({ netns: pair.netnsPath(pair.lbNs), url: d.metricsUrl, pid: d.pid, socket: d.socket }));
      process.stdin.resume();
      await new Promise((r) => process.stdin.once('end', r));
    }
    scraper = new Scraper(pair.netnsPath(pair.lbNs), d.metricsUrl);
    await scraper.scrape(2);
    const cpu0 = cpuMs(d.pid);
    const single = await scraper.scrape(10);
    out.scrapeCpuMs = (cpuMs(d.pid) - cpu0) / 10;
    const alone: number[] = [];
    for (let i = 0; i < 50; i++) alone.push(await time(() => d.client.getStatus()));
    const bursts = [];
    for (let r = 0; r < rounds; r++) {
      const during: number[] = [];
      let done = false;
      const burst = scraper.scrape(20, true).finally(() => (done = true));
      while (!done) during.push(await time(() => d.client.getStatus()));
      const c = await burst;
      const a = summarize(alone).median;
      const dr = summarize(during);
      bursts.push({ delayP50: +(dr.median - a).toFixed(2), delayMax: +(dr.max - a).toFixed(2), concurrentP50: +summarize(c.ms).median.toFixed(1) });
    }
    out.scrape = { ...summarize(single.ms), bytes: single.bytes };
    out.getStatusAlone = summarize(alone).median;
    out.bursts = bursts;
  }
  console.log(JSON.stringify(out, null, 1));
} finally {
  scraper?.close();
  await d.dispose();
  pair.destroy();
}
