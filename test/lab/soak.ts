// The soak run (scripts/soak.ts; not in CI): for N minutes, in a namespace lab with the real xlbd,
// decap on three backends and HTTP servers, at the same time
//   - client traffic through an IPv4 and an IPv6 VIP (keep-alive and new connections),
//   - continuous API churn: drains and weights on the traffic services (every backend survives,
//     at most one drained at a time), and services created, changed and deleted beside them,
//   - recordings of the traffic every few seconds,
//   - SIGHUP every 20 s and kill -9 + restart every 60 s (--hup-every / --kill-every, seconds,
//     multiples of 5; 0 = never: a run without kills shows one daemon's memory over the whole run),
// and reports requests failed (must be 0: every backend survives), API calls by outcome, restarts,
// and the daemon's memory (VmRSS) and open file descriptors over each process's life (xlbd runs as
// the tests run it, from source through the TypeScript loader: the RSS includes the loader; the
// growth is what counts). With
// --fuzz-cases N it then runs the datapath and decap differential fuzzers for N cases each (the
// long mode of test/fuzz/*.kernel.test.ts). Exit code 1 if anything failed.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { RecorderApiClient, XlbClient } from '../../api/client/index.js';
import { XlbdInstance } from '../daemon/xlbd.js';
import { runDecapFuzz } from '../fuzz/decap-fuzz.js';
import { runLbFuzz } from '../fuzz/lb-fuzz.js';
import { Lab, type HttpLoadResult } from './lab.js';

const VIP4 = '10.100.0.10';
const VIP6 = 'fd00:100::10';

interface Sample {
  atS: number;
  rssKb: number;
  fds: number;
}

export interface SoakReport {
  minutes: number;
  requests: { ok: number; failed: number; resets: number; timeouts: number; perBackend: Record<string, number> };
  api: Record<string, number>;
  recordings: { done: number; failed: number; bytes: number };
  reloads: number;
  restarts: number;
  /** One series per daemon process (a kill -9 starts the next). */
  daemons: Array<{ pid: number; samples: Sample[]; rssGrowthKb: number; fdGrowth: number }>;
  fuzz?: { lbCases: number; lbMismatches: number; decapCases: number; decapMismatches: number; crashes: number };
  problems: string[];
}

function sampleOf(pid: number, t0: number): Sample | undefined {
  try {
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
    return { atS: Math.round((Date.now() - t0) / 1000), rssKb: rss, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}

/** Seconds between memory/fd samples; SIGHUP and kill -9 come at multiples of it. */
const SAMPLE_S = 5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runSoak(argv: string[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<SoakReport> {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string', default: '10' },
      'fuzz-cases': { type: 'string', default: '0' },
      seed: { type: 'string', default: String(Date.now() & 0xffff) },
      json: { type: 'string' },
      'hup-every': { type: 'string', default: '20' },
      'kill-every': { type: 'string', default: '60' },
    },
  });
  const minutes = Number(values.minutes);
  const fuzzCases = Number(values['fuzz-cases']);
  const seed = Number(values.seed);
  const every = (name: 'hup-every' | 'kill-every') => {
    const s = Number(values[name]);
    if (!Number.isInteger(s) || s < 0 || s % SAMPLE_S) throw new Error(`--${name}: ${values[name]} is not a number of seconds that is a multiple of ${SAMPLE_S} (0 = never)`);
    return s / SAMPLE_S;
  };
  const hupEvery = every('hup-every');
  const killEvery = every('kill-every');
  if (!(minutes > 0) || !Number.isInteger(fuzzCases) || fuzzCases < 0) {
    throw new Error('usage: soak [--minutes M] [--fuzz-cases N] [--seed S] [--hup-every S] [--kill-every S] [--json FILE]');
  }

  const report: SoakReport = {
    minutes,
    requests: { ok: 0, failed: 0, resets: 0, timeouts: 0, perBackend: {} },
    api: {},
    recordings: { done: 0, failed: 0, bytes: 0 },
    reloads: 0,
    restarts: 0,
    daemons: [],
    problems: [],
  };
  const t0 = Date.now();
  const deadline = t0 + minutes * 60_000;
  out(`soak: ${minutes} min, seed ${seed}, SIGHUP every ${hupEvery * SAMPLE_S || '-'} s, kill -9 every ${killEvery * SAMPLE_S || '-'} s${fuzzCases ? `, then ${fuzzCases} fuzz cases per program` : ''}`);
  const lab = await Lab.create({ backends: 3, clients: 1, lbNodes: 1 });
  const xlbd = new XlbdInstance({ lab, config: { maglev: { table_size: 4093, seed: (seed * 2654435761) >>> 0 || 1 }, maps: { services: 64, backends: 512, flows: 65536 } } });
  let client: XlbClient | undefined;
  try {
    await xlbd.start();
    client = XlbClient.connect({ server: `unix://${xlbd.socket}` });
    const v4 = lab.backends.map((b) => b.ipv4);
    const v6 = lab.backends.map((b) => b.ipv6);
    const trafficServices = () => [
      { id: `${VIP4}:80/tcp`, backends: v4.map((address) => ({ address, weight: 100 })) },
      { id: `[${VIP6}]:80/tcp`, backends: v6.map((address) => ({ address, weight: 100 })) },
    ];
    for (const svc of trafficServices()) await client.createService(svc);
    let series: { pid: number; samples: Sample[] } = { pid: xlbd.proc!.pid!, samples: [] };
    report.daemons.push({ ...series, rssGrowthKb: 0, fdGrowth: 0 });
    let restarting = false;
    const running = () => Date.now() < deadline;

    const api = async (what: string, call: (c: XlbClient) => Promise<unknown>) => {
      try {
        await call(client!);
        report.api[`${what} ok`] = (report.api[`${what} ok`] ?? 0) + 1;
      } catch (e) {
        const code = (e as { codeName?: string }).codeName ?? 'ERROR';
        const key = `${what} ${restarting && code === 'UNAVAILABLE' ? 'UNAVAILABLE (restart)' : code}`;
        report.api[key] = (report.api[key] ?? 0) + 1;
      }
    };

    const traffic = (async () => {
      for (let i = 0; running(); i++) {
        const url = lab.url(i % 2 ? VIP6 : VIP4);
        const r: HttpLoadResult = i % 3
          ? await lab.httpLoad('c1', { url, keepalive: 6, requests: 200, intervalMs: 10, timeoutMs: 3000 })
          : await lab.httpLoad('c1', { url, connections: 200, concurrency: 8, timeoutMs: 3000 });
        report.requests.ok += r.ok;
        report.requests.failed += r.failed;
        report.requests.resets += r.resets;
        report.requests.timeouts += r.timeouts;
        for (const [b, n] of Object.entries(r.perBackend)) report.requests.perBackend[b] = (report.requests.perBackend[b] ?? 0) + n;
      }
    })();

    const churn = (async () => {
      let drained: { id: string; address: string } | undefined;
      for (let i = 0; running(); i++) {
        const [id, addrs] = i % 2 ? [`[${VIP6}]:80/tcp`, v6] : [`${VIP4}:80/tcp`, v4];
        switch (i % 6) {
          case 0: // drain one traffic backend (undrain the previous first: one drained at most)
            if (drained) await api('undrain', (c) => c.updateBackend(drained!.id, drained!.address, { weight: 100, state: 'BACKEND_STATE_ACTIVE' }));
            drained = { id, address: addrs[i % addrs.length]! };
            await api('drain', (c) => c.updateBackend(drained!.id, drained!.address, { state: 'BACKEND_STATE_DRAINING' }));
            break;
          case 1:
            await api('weight', (c) => c.updateBackend(id, addrs[(i + 1) % addrs.length]!, { weight: 1 + (i % 200) }));
            break;
          case 2:
            await api('create', (c) => c.createService({ id: `10.100.0.${20 + (i % 10)}:80/tcp`, backends: v4.slice(0, 1 + (i % 3)).map((address) => ({ address })) }));
            break;
          case 3:
            await api('delete', (c) => c.deleteService(`10.100.0.${20 + ((i - 1) % 10)}:80/tcp`)); // created the step before
            break;
          case 4: // Apply converges the whole API layer: the traffic services are part of it
            await api('apply', (c) => c.apply([...trafficServices(), { id: `10.100.0.40:*/udp`, backends: v4.map((address) => ({ address })) }]));
            drained = undefined;
            break;
          default:
            await api('stats', (c) => c.getStats());
        }
        await sleep(200);
      }
      if (drained) await api('undrain', (c) => c.updateBackend(drained!.id, drained!.address, { weight: 100, state: 'BACKEND_STATE_ACTIVE' }));
    })();

    const recordings = (async () => {
      while (running()) {
        await sleep(15_000);
        if (restarting || !running()) continue;
        const rec = RecorderApiClient.connect({ server: `unix://${xlbd.socket}` });
        try {
          let bytes = 0;
          const call = rec.record({ filters: [{ dstCidr: `${VIP4}/32`, proto: 'CAPTURE_PROTOCOL_TCP' }], maxDurationMs: 3000, format: 'CAPTURE_FORMAT_PCAP' }, { chunk: (b) => (bytes += b.length) });
          await call.done;
          report.recordings.done++;
          report.recordings.bytes += bytes;
        } catch {
          report.recordings.failed++;
        } finally {
          rec.close();
        }
      }
    })();

    const lifecycle = (async () => {
      for (let s = 1; running(); s++) {
        await sleep(SAMPLE_S * 1000);
        const smp = sampleOf(series.pid, t0);
        if (smp) series.samples.push(smp);
        if (hupEvery && s % hupEvery === 0 && running()) {
          xlbd.signal('SIGHUP');
          report.reloads++;
        }
        if (killEvery && s % killEvery === 0 && running()) {
          restarting = true;
          await xlbd.kill9();
          await xlbd.start();
          // A fresh channel: the old one may sit in reconnect backoff for seconds.
          client?.close();
          client = XlbClient.connect({ server: `unix://${xlbd.socket}` });
          restarting = false;
          report.restarts++;
          series = { pid: xlbd.proc!.pid!, samples: [] };
          report.daemons.push({ ...series, rssGrowthKb: 0, fdGrowth: 0 });
          out(`soak: ${Math.round((Date.now() - t0) / 1000)} s: restart ${report.restarts}, ${report.requests.ok} requests ok, ${report.requests.failed} failed`);
        }
      }
    })();

    await Promise.all([traffic, churn, recordings, lifecycle]);
    for (const d of report.daemons) {
      const first = d.samples[0];
      const last = d.samples.at(-1);
      if (first && last) {
        d.rssGrowthKb = last.rssKb - first.rssKb;
        d.fdGrowth = last.fds - first.fds;
      }
    }
    // The end state agrees: the traffic services are there with every backend.
    const listed = await client.listServices();
    for (const id of [`${VIP4}:80/tcp`, `[${VIP6}]:80/tcp`]) {
      const s = listed.find((x) => x.id === id);
      if (!s || s.backends.length !== 3) report.problems.push(`${id}: ${s ? s.backends.length : 0} backends at the end`);
    }
    if (report.requests.failed) report.problems.push(`${report.requests.failed} requests failed`);
    if (!xlbd.proc?.running) report.problems.push('xlbd is not running at the end');
  } finally {
    client?.close();
    await xlbd.dispose();
    await lab.destroy();
  }

  if (fuzzCases) {
    out(`soak: fuzzing ${fuzzCases} cases per program`);
    const lb = runLbFuzz({ cases: fuzzCases, seed, onProgress: (n, m) => n % 100_000 === 0 && out(`  lb fuzz: ${n} cases, ${m} mismatches`) });
    const decap = runDecapFuzz({ cases: fuzzCases, seed });
    report.fuzz = {
      lbCases: lb.cases, lbMismatches: lb.mismatches.length, decapCases: decap.cases, decapMismatches: decap.mismatches.length,
      crashes: lb.crashes + decap.crashes,
    };
    for (const m of [...lb.mismatches, ...decap.mismatches]) report.problems.push(`fuzz mismatch at case ${m.caseNo} (${m.what}): ${m.detail.slice(0, 200)}`);
  }

  out(`soak: requests ok ${report.requests.ok}, failed ${report.requests.failed} (resets ${report.requests.resets}, timeouts ${report.requests.timeouts}); per backend ${JSON.stringify(report.requests.perBackend)}`);
  out(`soak: API ${JSON.stringify(report.api)}`);
  out(`soak: recordings ${report.recordings.done} (${report.recordings.bytes} bytes), failed ${report.recordings.failed}; reloads ${report.reloads}, restarts ${report.restarts}`);
  for (const d of report.daemons) {
    const rss = d.samples.map((s) => s.rssKb);
    out(`soak: xlbd pid ${d.pid}: ${d.samples.length} samples, RSS ${rss.length ? `${Math.min(...rss)}–${Math.max(...rss)} KiB` : '-'} (growth ${d.rssGrowthKb} KiB), fds growth ${d.fdGrowth}`);
  }
  if (report.fuzz) out(`soak: fuzz ${JSON.stringify(report.fuzz)}`);
  out(report.problems.length ? `soak: FAILED: ${report.problems.join('; ')}` : 'soak: OK');
  if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  return report;
}
