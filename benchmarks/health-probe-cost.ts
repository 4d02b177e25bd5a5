// Group 6, second part — what one probe costs the prober, native thread against Node sockets, in
// the same run: an in-process HealthMonitor with S services × 16 backends checked every interval in
// direct mode, inside a namespace of its own where the backend addresses are local (loopback), a
// small Node HTTP server in a separate process answering. The figure is the measuring process's
// CPU (user + system, all threads, including the loopback kernel work done in its context) per
// completed probe, once with the prober thread (the default) and once with the Node-socket prober
// (runProbeInJs: what worker threads running the JS prober would also spend per probe).
//
// Run as the benchmark: runProbeCost() starts `ip netns exec NS node <this file> --child KIND WHICH`.
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { repoRoot } from '../test/lab/index.js';

const run = promisify(execFile);
const PORT = 18080;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ProbeCostRow {
  kind: 'tcp' | 'http';
  prober: 'native' | 'node';
  probesPerSecond: number;
  failed: number;
  /** CPU of the measuring process per completed probe (user + system, every thread). */
  cpuMicrosPerProbe: number;
  userMicrosPerProbe: number;
  cpuPercent: number;
}

export interface ProbeCostResult {
  method: string;
  rows: ProbeCostRow[];
}

interface CostOptions {
  services: number;
  intervalMs: number;
  warmupMs: number;
  windowMs: number;
}

async function child(kind: 'tcp' | 'http', which: 'native' | 'node', o: CostOptions): Promise<ProbeCostRow> {
  const { HealthMonitor, runProbeInJs } = await import('../lb/health/index.js');
  const { DesiredState } = await import('../lb/model/index.js');
  const server = spawn(process.execPath, ['-e', `
    const s = require('node:net').createServer((c) => { c.on('error', () => {}); c.once('data', () => c.end('HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n')); });
    s.listen({ port: ${PORT}, host: '0.0.0.0', backlog: 4096 }, () => console.log('listening'));`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise((r) => server.stdout!.once('data', r));
    const state = new DesiredState({ limits: { maxServices: 20000, maxBackends: 400000, maxBackendsPerService: 64, maglevTableSize: 251 } });
    state.apply(Array.from({ length: o.services }, (_, i) => ({
      id: `10.100.${Math.floor(i / 250)}.${(i % 250) + 1}:80/tcp`,
      backends: Array.from({ length: 16 }, (_, j) => ({ address: `10.1.${j}.${(i % 250) + 1}` })),
      healthCheck: { kind, ...(kind === 'http' ? { path: '/health' } : {}), interval: `${o.intervalMs}ms`, timeout: `${o.intervalMs / 2}ms`, port: PORT, mode: 'direct' },
    })));
    const quiet = () => {};
    const m = new HealthMonitor({
      log: { info: quiet, warn: quiet, error: quiet }, ports: { min: 61000, max: 61999 }, maxConcurrency: 256,
      openTunnel: () => { throw new Error('direct mode only'); }, outerSource: () => undefined,
      ...(which === 'node' ? { probe: runProbeInJs } : {}),
    });
    m.sync(state.list());
    m.start();
    await sleep(o.warmupMs);
    const done = () => m.probes.ok + m.probes.failed;
    const c0 = process.cpuUsage();
    const n0 = done();
    const f0 = m.probes.failed;
    const t0 = performance.now();
    await sleep(o.windowMs);
    const c = process.cpuUsage(c0);
    const n = done() - n0;
    const seconds = (performance.now() - t0) / 1000;
    m.close();
    return {
      kind, prober: which, probesPerSecond: n / seconds, failed: m.probes.failed - f0,
      cpuMicrosPerProbe: (c.user + c.system) / n, userMicrosPerProbe: c.user / n, cpuPercent: (c.user + c.system) / 1e4 / seconds,
    };
  } finally {
    server.kill();
  }
}

export async function runProbeCost(o: Partial<CostOptions> = {}): Promise<ProbeCostResult> {
  const opts: CostOptions = { services: 250, intervalMs: 1000, warmupMs: 3000, windowMs: 8000, ...o };
  const ns = `xhpc${process.pid}`;
  const self = join(repoRoot, 'dist', 'benchmarks', 'health-probe-cost.js'); // compiled: also when run from vitest
  const rows: ProbeCostRow[] = [];
  await run('ip', ['netns', 'add', ns]);
  try {
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', ns, 'route', 'add', 'local', '10.1.0.0/16', 'dev', 'lo']);
    for (const kind of ['tcp', 'http'] as const) {
      for (const which of ['native', 'node'] as const) {
        const r = await run('ip', ['netns', 'exec', ns, process.execPath, self, '--child', kind, which, JSON.stringify(opts)], { maxBuffer: 1 << 20 });
        rows.push(JSON.parse(r.stdout.trim().split('\n').pop()!) as ProbeCostRow);
      }
    }
  } finally {
    await run('ip', ['netns', 'del', ns]).catch(() => {});
  }
  return {
    method: `an in-process HealthMonitor, ${opts.services} services × 16 backends every ${opts.intervalMs} ms (direct mode, loopback in a namespace of its own, ` +
      `a Node server in another process answering); CPU of the monitor's process (all threads, user + system) per completed probe over ${opts.windowMs / 1000} s`,
    rows,
  };
}

export function probeCostMarkdown(r: ProbeCostResult): string {
  const by = (kind: string, which: string) => r.rows.find((x) => x.kind === kind && x.prober === which);
  const lines = [
    `CPU per probe, prober thread vs Node sockets: ${r.method}.`,
    '',
    '| checks | prober | CPU per probe | of which user | probes per second | failed | ratio Node / native |',
    '|:---|:---|---:|---:|---:|---:|---:|',
    ...r.rows.map((x) => {
      const native = by(x.kind, 'native');
      const ratio = x.prober === 'node' && native ? `${(x.cpuMicrosPerProbe / native.cpuMicrosPerProbe).toFixed(1)} ×` : '';
      return `| ${x.kind} | ${x.prober === 'native' ? 'prober thread (default)' : 'Node sockets (runProbeInJs)'} | ${x.cpuMicrosPerProbe.toFixed(0)} µs | ` +
        `${x.userMicrosPerProbe.toFixed(0)} µs | ${x.probesPerSecond.toFixed(0)} | ${x.failed} | ${ratio} |`;
    }),
  ];
  return lines.join('\n');
}

if (process.argv[2] === '--child' && process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [kind, which, opts] = process.argv.slice(3) as ['tcp' | 'http', 'native' | 'node', string];
  const row = await child(kind, which, JSON.parse(opts) as CostOptions);
  process.stdout.write(`${JSON.stringify(row)}\n`);
  process.exit(0);
}
