// lb/health without a network: the state machine, the overlay (fail open), and the monitor with an
// injected probe function and a fake tunnel: probes spread over the interval, bounded concurrency,
// tunnel routes per probe port, last seen states, change events.
import { describe, expect, it } from 'vitest';
import { applyHealth, HealthMonitor, newRecord, observe, probePhaseMs, type ProbeResult, type ProbeRoute, type ProbeSpec } from '../../lb/health/index.js';
import { DesiredState, type Service } from '../../lb/model/index.js';

const LIMITS = { maxServices: 2000, maxBackends: 40000, maxBackendsPerService: 64, maglevTableSize: 251 };
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

function services(n: number, backends: number, check: object | undefined, extra: object = {}): Service[] {
  const s = new DesiredState({ limits: LIMITS });
  const list = Array.from({ length: n }, (_, i) => ({
    id: `10.100.${Math.floor(i / 250)}.${(i % 250) + 1}:80/tcp`,
    backends: Array.from({ length: backends }, (_, j) => ({ address: `10.1.${j}.${(i % 250) + 1}`, ...extra })),
    healthCheck: check,
  }));
  s.apply(list);
  return s.list();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the state machine', () => {
  it('unknown → up after rise successes, up → down after fall failures; a success resets the failures', () => {
    const r = newRecord(0);
    const o = (ok: boolean, t: number) => observe(r, ok ? { ok } : { ok, error: 'timeout' }, { rise: 2, fall: 3, nowMs: t });
    expect(o(true, 1)).toBeUndefined();
    expect(o(true, 2)).toEqual({ from: 'unknown', to: 'up' });
    expect([o(false, 3), o(false, 4), o(true, 5), o(false, 6), o(false, 7)]).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(r).toMatchObject({ status: 'up', lastError: 'timeout', failures: 2 });
    expect(o(false, 8)).toEqual({ from: 'up', to: 'down' });
    expect(r).toMatchObject({ status: 'down', sinceMs: 8, lastCheckMs: 8 });
    expect(o(true, 9)).toBeUndefined();
    expect(o(true, 10)).toEqual({ from: 'down', to: 'up' });
    expect(r.lastError).toBeUndefined();
    const fresh = newRecord(0);
    for (let i = 0; i < 2; i++) observe(fresh, { ok: false }, { rise: 2, fall: 3, nowMs: i });
    expect(observe(fresh, { ok: false }, { rise: 2, fall: 3, nowMs: 3 })).toEqual({ from: 'unknown', to: 'down' });
  });
});

describe('the overlay', () => {
  const [svc] = services(1, 3, { kind: 'tcp' });
  const addr = svc!.backends.map((b) => b.address);
  it('no check: every backend; otherwise every backend not down (unknown counts as up)', () => {
    const [plain] = services(1, 3, undefined);
    expect(applyHealth(plain!, () => 'down').backends).toHaveLength(3);
    const r = applyHealth(svc!, (a) => (a === addr[1] ? 'down' : a === addr[2] ? 'unknown' : 'up'));
    expect(r.backends.map((b) => b.address)).toEqual([addr[0], addr[2]]);
    expect(r).toMatchObject({ allDown: false, failingOpen: false });
  });
  it('every active backend down: fail open keeps all of them; fail_open false keeps none', () => {
    expect(applyHealth(svc!, () => 'down')).toMatchObject({ allDown: true, failingOpen: true, backends: svc!.backends });
    const [closed] = services(1, 3, { kind: 'tcp', failOpen: false });
    expect(applyHealth(closed!, () => 'down')).toMatchObject({ allDown: true, failingOpen: false, backends: [] });
  });
});

function monitorWith(list: Service[], o: { probe: (s: ProbeSpec) => Promise<ProbeResult>; maxConcurrency?: number; lastSeen?: { service: string; address: string; status: 'up' | 'down'; sinceMs: number }[] }) {
  const routes: ProbeRoute[] = [];
  const m = new HealthMonitor({
    log: quiet,
    ports: { min: 61000, max: 61999 },
    maxConcurrency: o.maxConcurrency ?? 256,
    openTunnel: () => ({ route: (r) => routes.push(r), close: () => {} }),
    outerSource: (f) => (f === 4 ? '10.2.1.2' : undefined),
    probe: o.probe,
    firstProbeWithinMs: 100,
    lastSeen: o.lastSeen,
  });
  m.sync(list);
  return { m, routes };
}

describe('the monitor', () => {
  it('spreads probes over the interval instead of firing them together', async () => {
    // Each target's phase in the interval: 10 slices of the interval get about a tenth each.
    const list = services(100, 4, { kind: 'tcp', interval: '400ms', timeout: '100ms' });
    const phases = list.flatMap((s) => s.backends.map((b) => Math.floor((probePhaseMs(s.id, b.address, 400) / 400) * 10)));
    for (let i = 0; i < 10; i++) {
      const share = phases.filter((p) => p === i).length / phases.length;
      expect(share, `slice ${i}`).toBeGreaterThan(0.06);
      expect(share, `slice ${i}`).toBeLessThan(0.14);
    }
    // And the schedule keeps them: every target is probed again and again.
    const { m } = monitorWith(list, { probe: async () => ({ ok: true }) });
    m.start();
    await sleep(1400);
    m.close();
    expect(m.probes.ok).toBeGreaterThanOrEqual(list.length * 4 * 2);
  });

  it('runs at most max_concurrency probes at once, the rest late rather than lost', async () => {
    let running = 0;
    let peak = 0;
    let done = 0;
    const list = services(20, 5, { kind: 'tcp', interval: '200ms', timeout: '100ms' });
    const { m } = monitorWith(list, {
      maxConcurrency: 4,
      probe: async () => {
        running++;
        peak = Math.max(peak, running);
        await sleep(20);
        running--;
        done++;
        return { ok: true };
      },
    });
    m.start();
    await sleep(600);
    m.close();
    expect(peak).toBe(4);
    expect(m.late).toBeGreaterThan(0);
    expect(done).toBeGreaterThan(50);
  });

  it('tunnel mode routes each probe port to its backend first; direct mode and check_address probe directly', async () => {
    const specs: ProbeSpec[] = [];
    const tunnel = services(1, 2, { kind: 'http', path: '/h', interval: '1s' });
    const direct = services(1, 1, { kind: 'tcp', mode: 'direct', port: 8080, interval: '1s' }).map((s) => ({ ...s, id: '10.100.9.9:80/tcp', vip: '10.100.9.9' }));
    const { m, routes } = monitorWith([...tunnel, ...direct], { probe: async (s) => (specs.push(s), { ok: true }) });
    m.start();
    await sleep(250);
    m.close();
    const t = tunnel[0]!;
    const viaTunnel = specs.filter((s) => s.localPort !== undefined);
    expect(viaTunnel).toHaveLength(2);
    for (const s of viaTunnel) {
      expect(s).toMatchObject({ kind: 'http', address: t.vip, port: 80, path: '/h' });
      const route = routes.find((r) => r.port === s.localPort)!;
      expect(route).toMatchObject({ protocol: 'tcp', vip: t.vip, vipPort: 80, outerSource: '10.2.1.2' });
      expect(t.backends.map((b) => b.address)).toContain(route.backend);
    }
    expect(new Set(routes.map((r) => r.backend)).size).toBe(2);
    expect(specs.find((s) => s.localPort === undefined)).toMatchObject({ kind: 'tcp', address: direct[0]!.backends[0]!.address, port: 8080 });
    expect(m.backend(t.id, t.backends[0]!.address)?.target).toBe(`http ${t.vip}:80/h through the tunnel to ${t.backends[0]!.address}`);
  });

  it('starts from the last seen states and reports each transition, and which services changed', async () => {
    const list = services(3, 2, { kind: 'tcp', interval: '200ms', timeout: '50ms', rise: 1, fall: 1 });
    const lastSeen = list.map((s) => ({ service: s.id, address: s.backends[0]!.address, status: 'down' as const, sinceMs: 1 }));
    const { m } = monitorWith(list, { probe: async () => ({ ok: true }), lastSeen });
    // Before any probe: as last seen, so the overlay already leaves those backends out.
    expect(list.map((s) => m.programmed(s).length)).toEqual([1, 1, 1]);
    const changes: string[][] = [];
    const transitions: string[] = [];
    m.on('change', (ids) => changes.push(ids));
    m.on('transition', (e) => transitions.push(`${e.backend} ${e.from}→${e.to}`));
    m.start();
    await sleep(300);
    m.close();
    expect(list.map((s) => m.programmed(s).length)).toEqual([2, 2, 2]);
    expect(transitions.filter((t) => t.endsWith('down→up'))).toHaveLength(3);
    expect(transitions.filter((t) => t.endsWith('unknown→up'))).toHaveLength(3);
    expect(new Set(changes.flat())).toEqual(new Set(list.map((s) => s.id)));
    expect(m.lastSeen()).toHaveLength(6);
  });

  it('a backend that stays: a changed check keeps its state; a removed one is forgotten', () => {
    const list = services(1, 2, { kind: 'tcp' });
    const seen = [{ service: list[0]!.id, address: list[0]!.backends[0]!.address, status: 'down' as const, sinceMs: 5 }];
    const { m } = monitorWith(list, { probe: async () => ({ ok: true }), lastSeen: seen });
    const changed = services(1, 2, { kind: 'http' });
    expect(m.sync(changed)).toEqual([]);
    expect(m.backend(list[0]!.id, list[0]!.backends[0]!.address)?.status).toBe('down');
    expect(m.sync(services(1, 2, undefined))).toEqual([list[0]!.id]); // a down backend is no longer filtered
    expect(m.targetCount).toBe(0);
    m.close();
  });
});

describe('syncChanged (the services of one change only)', () => {
  it('ends with the same targets as a sync of the whole state, and reports the same services', async () => {
    const base = services(6, 3, { kind: 'tcp', interval: '1s' });
    const probe = async (s: ProbeSpec): Promise<ProbeResult> => (s.address.endsWith('.2') ? { ok: false, error: 'refused' } : { ok: true });
    const full = monitorWith(base, { probe }).m;
    const scoped = monitorWith(base, { probe }).m;
    // a service loses its check, one loses a backend, one is deleted, one is new
    const [a, b, c] = base;
    const noCheck = { ...a!, healthCheck: undefined } as Service;
    const fewer = { ...b!, backends: b!.backends.slice(1) } as Service;
    const added = services(7, 2, { kind: 'tcp' })[6]!;
    const after = [noCheck, fewer, ...base.slice(3), added];
    expect(scoped.syncChanged([
      { id: a!.id, before: a, after: noCheck },
      { id: b!.id, before: b, after: fewer },
      { id: c!.id, before: c },
      { id: added.id, after: added },
    ]).sort()).toEqual(full.sync(after).sort());
    expect(scoped.targetCount).toBe(full.targetCount);
    for (const s of [...after, a!, c!]) for (const x of s.backends) expect(scoped.backend(s.id, x.address)?.target).toBe(full.backend(s.id, x.address)?.target);
    full.close();
    scoped.close();
  });
});
