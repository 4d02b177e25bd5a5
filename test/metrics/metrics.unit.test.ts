// lb/metrics against a FAKE MetricsSource: a plain object with the shape of the daemon's
// StatsReport/StatusReport. This unit test checks names, types, labels, values, scrape-time
// collection and the HTTP endpoint; the real datapath's counters feeding these metrics are covered
// by test/datapath/*.kernel.test.ts (LbDatapath + lb/daemon's statsReport) and the daemon's e2e.
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { LoadBalancerControl } from '../../api/server/control.js';
import { METRIC, startMetricsServer, XlbMetrics, type MetricsServer, type MetricsServiceSource, type MetricsSource, type MetricsStats, type MetricsStatus } from '../../lb/metrics/index.js';
import { parseExposition, sampleValue } from './exposition.js';

// Compile-time check (npx tsc): the daemon's control object is a valid MetricsSource as it is.
export const daemonIsASource = (c: LoadBalancerControl): MetricsSource => c;

const BIG = 2 ** 40 + 7; // beyond 32 bits: values must not wrap

function fakeStats(): MetricsStats {
  return {
    services: [
      {
        id: '10.0.0.10:80/tcp',
        packets: 300,
        bytes: BIG,
        backends: [
          { address: '10.1.0.5', state: 'active', weight: 100, packets: 200, bytes: 20_000 },
          { address: '2001:db8:1::6', state: 'draining', weight: 50, packets: 100, bytes: 10_000 },
        ],
      },
      { id: '[2001:db8::10]:*/udp', packets: 0, bytes: 0, backends: [] },
    ],
    verdicts: { pass: 10, tx: 290, drop: 5 },
    reasons: {
      pass: { not_ip: 1, not_vip: 9 },
      tx: { ipip: 200, ip4in6: 90 },
      drop: { no_backend: 3, fragment: 2, malformed: 0 },
    },
    flowTable: { hits: 250, misses: 40, newFlows: 38, capacity: 262144 },
    icmp: { forwarded: 4, generated: 1 },
  };
}

function fakeStatus(): MetricsStatus {
  return {
    version: '9.9.9',
    interfaces: [
      { name: 'eth0', attached: true, mode: 'native' },
      { name: 'eth1', attached: false, mode: 'none' },
    ],
    maglev: { memoryBytes: 3 * 69_632 + 270_336, tables: [{ tableSize: 16381, tables: 3, memoryBytes: 3 * 69_632 }, { tableSize: 65537, tables: 1, memoryBytes: 270_336 }] },
  };
}

class FakeSource implements MetricsSource {
  statsValue = fakeStats();
  statusValue = fakeStatus();
  statsCalls = 0;
  statusCalls = 0;
  failStats = false;
  stats(): MetricsStats {
    this.statsCalls++;
    if (this.failStats) throw new Error('datapath closed');
    return structuredClone(this.statsValue);
  }
  status(): MetricsStatus {
    this.statusCalls++;
    return structuredClone(this.statusValue);
  }
}

async function scrape(m: XlbMetrics) {
  return parseExposition(await m.metrics());
}

describe('XlbMetrics with a fake source', () => {
  it('exposes every datapath metric with Prometheus names, types, labels and values', async () => {
    const m = new XlbMetrics({ source: new FakeSource(), processMetrics: false });
    const f = await scrape(m);
    const type = (name: string) => f.get(name)?.type;
    for (const name of [
      METRIC.servicePackets, METRIC.serviceBytes, METRIC.backendPackets, METRIC.backendBytes, METRIC.verdicts, METRIC.dropped,
      METRIC.passed, METRIC.transmitted, METRIC.flowHits, METRIC.flowMisses, METRIC.flowNew, METRIC.icmpForwarded, METRIC.icmpGenerated,
      METRIC.apiRequests, METRIC.sourceErrors,
    ]) {
      expect(type(name), name).toBe('counter');
      expect(name).toMatch(/^xlb_[a-z0-9_]+_total$/);
    }
    for (const name of [METRIC.flowCapacity, METRIC.servicesConfigured, METRIC.backendsConfigured, METRIC.backendWeight, METRIC.datapathAttached, METRIC.buildInfo]) {
      expect(type(name), name).toBe('gauge');
      expect(name).not.toMatch(/_total$/);
    }
    expect(type(METRIC.maglevRebuild)).toBe('histogram');
    expect(type(METRIC.apiDuration)).toBe('histogram');
    for (const fam of f.values()) expect(fam.help.length, `${fam.name} has help`).toBeGreaterThan(10);

    const v = (name: string, labels?: Record<string, string>) => sampleValue(f, name, labels);
    expect(v(METRIC.servicePackets, { service: '10.0.0.10:80/tcp' })).toBe(300);
    expect(v(METRIC.serviceBytes, { service: '10.0.0.10:80/tcp' })).toBe(BIG);
    expect(v(METRIC.servicePackets, { service: '[2001:db8::10]:*/udp' })).toBe(0);
    expect(v(METRIC.backendPackets, { service: '10.0.0.10:80/tcp', backend: '10.1.0.5' })).toBe(200);
    expect(v(METRIC.backendBytes, { service: '10.0.0.10:80/tcp', backend: '2001:db8:1::6' })).toBe(10_000);
    expect(v(METRIC.backendWeight, { service: '10.0.0.10:80/tcp', backend: '2001:db8:1::6' })).toBe(50);
    expect(v(METRIC.verdicts, { verdict: 'tx' })).toBe(290);
    expect(v(METRIC.dropped, { reason: 'no_backend' })).toBe(3);
    expect(v(METRIC.dropped, { reason: 'malformed' })).toBe(0);
    expect(v(METRIC.passed, { reason: 'not_vip' })).toBe(9);
    expect(v(METRIC.transmitted, { kind: 'ip4in6' })).toBe(90);
    expect(v(METRIC.flowHits)).toBe(250);
    expect(v(METRIC.flowMisses)).toBe(40);
    expect(v(METRIC.flowNew)).toBe(38);
    expect(v(METRIC.flowCapacity)).toBe(262144);
    expect(v(METRIC.icmpForwarded)).toBe(4);
    expect(v(METRIC.icmpGenerated)).toBe(1);
    expect(v(METRIC.servicesConfigured)).toBe(2);
    expect(v(METRIC.backendsConfigured, { state: 'active' })).toBe(1);
    expect(v(METRIC.backendsConfigured, { state: 'draining' })).toBe(1);
    expect(v(METRIC.datapathAttached, { interface: 'eth0', mode: 'native' })).toBe(1);
    expect(v(METRIC.datapathAttached, { interface: 'eth1', mode: 'none' })).toBe(0);
    expect(v(METRIC.buildInfo, { version: '9.9.9' })).toBe(1);
    expect(v(METRIC.maglevTables, { table_size: '16381' })).toBe(3);
    expect(v(METRIC.maglevTables, { table_size: '65537' })).toBe(1);
    expect(v(METRIC.maglevTableMemory)).toBe(479_232);
    // Nothing went wrong, so no error samples.
    expect(f.get(METRIC.sourceErrors)!.samples).toEqual([]);
  });

  it('reads counters at scrape time, once per scrape: values are the source’s, not accumulated', async () => {
    const src = new FakeSource();
    const m = new XlbMetrics({ source: src, processMetrics: false });
    await m.metrics();
    expect([src.statsCalls, src.statusCalls]).toEqual([1, 1]);

    src.statsValue.services[0]!.packets = 450;
    src.statsValue.flowTable.hits = 251;
    src.statsValue.services.pop(); // the IPv6 service was deleted
    src.statsValue.services[0]!.backends.pop(); // and a backend removed
    const f = await scrape(m);
    expect([src.statsCalls, src.statusCalls]).toEqual([2, 2]);
    expect(sampleValue(f, METRIC.servicePackets, { service: '10.0.0.10:80/tcp' })).toBe(450); // not 750
    expect(sampleValue(f, METRIC.flowHits)).toBe(251);
    expect(sampleValue(f, METRIC.servicePackets, { service: '[2001:db8::10]:*/udp' })).toBeUndefined();
    expect(sampleValue(f, METRIC.backendPackets, { service: '10.0.0.10:80/tcp', backend: '2001:db8:1::6' })).toBeUndefined();
    expect(sampleValue(f, METRIC.servicesConfigured)).toBe(1);
    expect(sampleValue(f, METRIC.backendsConfigured, { state: 'draining' })).toBe(0);
  });

  it('leaves the datapath metrics out (never 0) when the source fails or is not there yet, and counts failures', async () => {
    const errors: string[] = [];
    const src = new FakeSource();
    src.failStats = true;
    const m = new XlbMetrics({ source: src, processMetrics: false, onSourceError: (what, e) => errors.push(`${what}: ${(e as Error).message}`) });
    let f = await scrape(m);
    expect(errors).toEqual(['stats: datapath closed']);
    expect(sampleValue(f, METRIC.sourceErrors, { report: 'stats' })).toBe(1);
    // A 0 would read as a counter reset; absent is the honest answer.
    expect(f.get(METRIC.flowHits)!.samples).toEqual([]);
    expect(f.get(METRIC.servicePackets)!.samples).toEqual([]);
    // status still worked
    expect(sampleValue(f, METRIC.datapathAttached, { interface: 'eth0', mode: 'native' })).toBe(1);

    const empty = new XlbMetrics({ processMetrics: false, version: '1.2.3' });
    f = await scrape(empty);
    expect(f.get(METRIC.flowHits)!.samples).toEqual([]);
    expect(f.get(METRIC.datapathAttached)!.samples).toEqual([]);
    expect(sampleValue(f, METRIC.buildInfo, { version: '1.2.3' })).toBe(1);
    empty.setSource(new FakeSource());
    f = await scrape(empty);
    expect(sampleValue(f, METRIC.flowHits)).toBe(250);
  });

  it('counts API requests by method and code and observes their durations (the onRequest hook)', async () => {
    const m = new XlbMetrics({ processMetrics: false });
    m.onRequest('/xlb.v1.LoadBalancer/CreateService', 'OK', 0.002);
    m.onRequest('/xlb.v1.LoadBalancer/CreateService', 'OK', 0.004);
    m.onRequest('/xlb.v1.LoadBalancer/CreateService', 'ALREADY_EXISTS', 0.0001);
    m.onRequest('/grpc.health.v1.Health/Check', 'OK', 0.0001);
    const f = await scrape(m);
    expect(sampleValue(f, METRIC.apiRequests, { method: 'xlb.v1.LoadBalancer/CreateService', code: 'OK' })).toBe(2);
    expect(sampleValue(f, METRIC.apiRequests, { method: 'xlb.v1.LoadBalancer/CreateService', code: 'ALREADY_EXISTS' })).toBe(1);
    expect(sampleValue(f, METRIC.apiRequests, { method: 'grpc.health.v1.Health/Check', code: 'OK' })).toBe(1);
    expect(sampleValue(f, `${METRIC.apiDuration}_count`, { method: 'xlb.v1.LoadBalancer/CreateService' })).toBe(3);
    expect(sampleValue(f, `${METRIC.apiDuration}_sum`, { method: 'xlb.v1.LoadBalancer/CreateService' })).toBeCloseTo(0.0061, 6);
    expect(sampleValue(f, `${METRIC.apiDuration}_bucket`, { method: 'xlb.v1.LoadBalancer/CreateService', le: '0.0025' })).toBe(2);
  });

  it('observes Maglev rebuild durations in a histogram', async () => {
    const m = new XlbMetrics({ processMetrics: false });
    m.observeMaglevRebuild(0.003);
    m.observeMaglevRebuild(0.2);
    const r = m.timeMaglevRebuild(() => 42);
    expect(r).toBe(42);
    expect(() => m.timeMaglevRebuild(() => { throw new Error('no slots'); })).toThrow('no slots');
    const f = await scrape(m);
    expect(sampleValue(f, `${METRIC.maglevRebuild}_count`)).toBe(4);
    expect(sampleValue(f, `${METRIC.maglevRebuild}_bucket`, { le: '0.005' })).toBeGreaterThanOrEqual(3);
    expect(sampleValue(f, `${METRIC.maglevRebuild}_bucket`, { le: '0.1' })).toBe(3);
    expect(sampleValue(f, `${METRIC.maglevRebuild}_bucket`, { le: '+Inf' })).toBe(4);
    expect(sampleValue(f, `${METRIC.maglevRebuild}_sum`)).toBeGreaterThan(0.203);
  });

  it('includes process metrics by default', async () => {
    const f = await scrape(new XlbMetrics({ source: new FakeSource() }));
    expect(f.get('process_cpu_seconds_total')?.type).toBe('counter');
    expect(f.get('process_resident_memory_bytes')?.type).toBe('gauge');
    expect(f.get('nodejs_eventloop_lag_seconds')?.type).toBe('gauge');
  });
});

/** The same data as FakeSource through the fast path: services by datapath id, counters by slices. */
class FastSource extends FakeSource {
  counterCalls: { which: string; ids: number }[] = [];
  failCounters = false;
  datapathStats(): MetricsStats {
    return { ...this.stats(), services: [] };
  }
  serviceSource(): MetricsServiceSource {
    const st = this.statsValue;
    let id = 1;
    const counters = new Map<number, [number, number]>();
    const services = st.services.map((s) => {
      const sid = id++;
      counters.set(sid, [s.packets, s.bytes]);
      const backends = s.backends.map((b) => {
        const bid = 1000 + id++;
        counters.set(bid, [b.packets, b.bytes]);
        return { address: b.address, datapathId: bid, weight: b.weight, state: b.state };
      });
      return { id: s.id, datapathId: sid, backends };
    });
    return {
      services: () => services,
      counters: (which, ids) => {
        if (this.failCounters) throw new Error('map closed');
        this.counterCalls.push({ which, ids: ids.length });
        const out = new Float64Array(ids.length * 2);
        ids.forEach((i, k) => out.set(counters.get(i) ?? [0, 0], 2 * k));
        return out;
      },
    };
  }
}

describe('large states: the fast path, coalesced scrapes and the cache', () => {
  it('the fast path exposes exactly what the stats report path does', async () => {
    const slow = (await new XlbMetrics({ source: new FakeSource(), processMetrics: false }).metrics()).split('\n').sort();
    const fast = new FastSource();
    const text = (await new XlbMetrics({ source: fast, processMetrics: false }).metrics()).split('\n').sort();
    expect(text).toEqual(slow);
    expect(fast.statsCalls).toBe(1); // datapathStats only: no per-service report was built
  });

  it('reads 1200 services in slices of 128, one counters call per map and slice', async () => {
    const src = new FastSource();
    src.statsValue.services = Array.from({ length: 1200 }, (_, i) => ({
      id: `10.0.${i >> 8}.${i & 255}:80/tcp`,
      packets: i,
      bytes: 2 * i,
      backends: [{ address: '10.1.0.5', state: 'active' as const, weight: 1, packets: i + 1, bytes: 0 }],
    }));
    const f = parseExposition(await new XlbMetrics({ source: src, processMetrics: false }).metrics());
    expect(src.counterCalls.map((c) => `${c.which}:${c.ids}`)).toEqual([...Array.from({ length: 9 }, () => ['services:128', 'backends:128']).flat(), 'services:48', 'backends:48']);
    expect(f.get(METRIC.backendPackets)!.samples).toHaveLength(1200);
    expect(sampleValue(f, METRIC.servicePackets, { service: '10.0.4.175:80/tcp' })).toBe(1199);
    expect(sampleValue(f, METRIC.servicesConfigured)).toBe(1200);
  });

  it('a failed counter read leaves the per-service families out and is counted', async () => {
    const src = new FastSource();
    src.failCounters = true;
    const f = parseExposition(await new XlbMetrics({ source: src, processMetrics: false }).metrics());
    expect(f.get(METRIC.servicePackets)!.samples).toEqual([]);
    expect(sampleValue(f, METRIC.flowHits)).toBe(250);
    expect(sampleValue(f, METRIC.sourceErrors, { report: 'stats' })).toBe(1);
  });

  it('20 concurrent scrapes share one read; with cacheMs the text serves later scrapes until it expires', async () => {
    const src = new FastSource();
    const m = new XlbMetrics({ source: src, processMetrics: false });
    const texts = await Promise.all(Array.from({ length: 20 }, () => m.metrics()));
    expect(new Set(texts).size).toBe(1);
    expect([src.statsCalls, src.statusCalls]).toEqual([1, 1]);
    await m.metrics(); // no cache: the next scrape reads again
    expect(src.statsCalls).toBe(2);

    const cached = new XlbMetrics({ source: src, processMetrics: false, cacheMs: 200 });
    const first = await cached.metrics();
    src.statsValue.flowTable.hits = 999;
    expect(await cached.metrics()).toBe(first);
    expect(src.statsCalls).toBe(3);
    await new Promise((r) => setTimeout(r, 250));
    expect(sampleValue(parseExposition(await cached.metrics()), METRIC.flowHits)).toBe(999);
  });
});

function get(url: string, method = 'GET'): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('/metrics over HTTP on loopback', () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves the exposition on GET /metrics and nothing else', async () => {
    const src = new FakeSource();
    const metrics = new XlbMetrics({ source: src });
    server = await startMetricsServer({ metrics, host: '127.0.0.1', port: 0 });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`);

    const r = await get(server.url);
    expect(r.status).toBe(200);
    expect(r.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const f = parseExposition(r.body);
    expect(sampleValue(f, METRIC.backendPackets, { service: '10.0.0.10:80/tcp', backend: '10.1.0.5' })).toBe(200);
    expect(f.has('process_cpu_seconds_total')).toBe(true);

    src.statsValue.services[0]!.backends[0]!.packets = 201;
    const again = parseExposition((await get(server.url)).body);
    expect(sampleValue(again, METRIC.backendPackets, { service: '10.0.0.10:80/tcp', backend: '10.1.0.5' })).toBe(201);

    const head = await get(server.url, 'HEAD');
    expect([head.status, head.body]).toEqual([200, '']);
    expect((await get(`http://127.0.0.1:${server.port}/`)).status).toBe(404);
    expect((await get(`http://127.0.0.1:${server.port}/metrics/x`)).status).toBe(404);
    expect((await get(server.url, 'POST')).status).toBe(405);
  });

  it('a failed scrape answers 500 without the error text (it goes to the log)', async () => {
    const logged: string[] = [];
    const broken = {
      metrics: () => Promise.reject(new Error('ENOENT: /var/lib/xlb/secret-path, internal detail')),
      metricsBody: () => Promise.reject(new Error('ENOENT: /var/lib/xlb/secret-path, internal detail')),
      contentType: 'text/plain',
    } as unknown as XlbMetrics;
    server = await startMetricsServer({ metrics: broken, host: '127.0.0.1', port: 0, log: { warn: (m) => logged.push(m) } });
    const r = await get(server.url);
    expect(r.status).toBe(500);
    expect(r.body).toBe('scrape failed; see the xlbd log\n');
    expect(logged.join('\n')).toContain('secret-path');
  });

  it('bounds what a client can hold: connections, header and request time', async () => {
    const metrics = new XlbMetrics({ processMetrics: false });
    server = await startMetricsServer({ metrics, host: '127.0.0.1', port: 0 });
    const limits = server.limits;
    expect(limits.maxConnections).toBeLessThanOrEqual(64);
    expect(limits.requestTimeoutMs).toBeLessThanOrEqual(10_000);
    expect(limits.headersTimeoutMs).toBeLessThanOrEqual(10_000);
  });

  it('listens on IPv6 loopback too, and reports a taken port clearly', async () => {
    const metrics = new XlbMetrics({ processMetrics: false });
    server = await startMetricsServer({ metrics, host: '::1', port: 0 });
    expect(server.url).toBe(`http://[::1]:${server.port}/metrics`);
    expect((await get(server.url)).status).toBe(200);
    await expect(startMetricsServer({ metrics, host: '::1', port: server.port })).rejects.toThrow(
      new RegExp(`metrics: cannot listen on ::1:${server.port}: .*EADDRINUSE`),
    );
  });
});
