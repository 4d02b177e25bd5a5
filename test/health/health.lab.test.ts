// Health checks with the real xlbd on a lab LB node, real HTTP servers on real backends:
//   - a backend whose HTTP server stops is out of the datapath within fall × interval (measured
//     here, against the pinned maps), gets no new connection, and is back after `rise` successes;
//   - a backend that serves only on the VIP (nothing on its own address) is up in tunnel mode and
//     down in direct mode; every backend down → the service fails open (loudly), and with
//     fail_open: false its backend set is emptied;
//   - health shows in GetService/GetStats/GetStatus and /metrics; a restart starts from the last
//     seen states (a down backend stays out: no flap);
//   - bad checks are refused with errors naming the field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfMap } from '../../bpf/libbpf-ts/index.js';
import { decodeBackendValue } from '../../lb/datapath/layout.js';
import { Lab, LAB_SCRIPTS, type LabProcess } from '../lab/lab.js';
import { XlbdInstance } from '../daemon/xlbd.js';

const VIP = '10.100.0.10';
const WEB = `${VIP}:80/tcp`;
const VIP_ONLY = `${VIP}:8080/tcp`;
const INTERVAL_MS = 400;
const TIMEOUT_MS = 200;
const RISE = 2;
const FALL = 2;
const CHECK = { kind: 'http', path: '/health', interval: `${INTERVAL_MS}ms`, timeout: `${TIMEOUT_MS}ms`, rise: RISE, fall: FALL };

let lab: Lab;
let xlbd: XlbdInstance;
const extra: LabProcess[] = [];

beforeAll(async () => {
  lab = await Lab.create({ backends: 3, clients: 1, lbNodes: 1, ipv6: false, vips4: [VIP] });
  xlbd = new XlbdInstance({ lab });
  await xlbd.start();
}, 120_000);

afterAll(async () => {
  for (const p of extra) await p.stop();
  await xlbd?.dispose();
  await lab?.destroy();
});

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The backend addresses the datapath holds for a service (read from the pinned maps). */
function programmed(datapathId: number): string[] {
  const m = BpfMap.openPinned(`${xlbd.pinDir}/backends`);
  try {
    const { values } = m.lookupBatch();
    return values
      .map((v) => decodeBackendValue(v))
      .filter((b) => b && b.serviceId === datapathId)
      .map((b) => [...b!.addr.subarray(0, 4)].join('.'))
      .sort();
  } finally {
    m.close();
  }
}

async function service(id: string) {
  return (await xlbd.client.call('GetService', { serviceId: id })).service;
}

async function states(id: string): Promise<Record<string, string>> {
  const s = await service(id);
  return Object.fromEntries(s.backends.map((b: { address: string; health: { state: string } }) => [b.address, b.health.state.replace('HEALTH_STATE_', '').toLowerCase()]));
}

const addr = (name: string) => lab.node(name).ipv4;

describe('health checks in xlbd', () => {
  it('refuses bad checks with errors naming the field, changing nothing', async () => {
    const base = { id: WEB, backends: [{ address: addr('b1') }] };
    const cases: [object, RegExp][] = [
      [{ ...CHECK, interval: '0s' }, /^service\.health_check\.interval: 0s is out of range/],
      [{ ...CHECK, interval: '1s', timeout: '1s' }, /^service\.health_check\.timeout: 1s must be shorter than the interval/],
      [{ ...CHECK, kind: 'icmp' }, /^service\.health_check\.kind: unknown check kind "icmp"/],
      [{ ...CHECK, path: 'healthz' }, /^service\.health_check\.path: "healthz" must start with '\/'/],
      [{ ...CHECK, rise: 0 }, /^service\.health_check\.rise: 0 is out of range/],
      [{ ...CHECK, kind: 'tcp' }, /^service\.health_check\.path: applies to kind http only/],
    ];
    for (const [healthCheck, message] of cases) {
      const e = await xlbd.client.fail('CreateService', { service: { ...base, healthCheck } });
      expect(e.codeName, JSON.stringify(healthCheck)).toBe('INVALID_ARGUMENT');
      expect(e.details).toMatch(message);
    }
    expect((await xlbd.client.call('ListServices')).services).toEqual([]);
  });

  it('takes a dead backend out within fall × interval and brings it back after rise', async () => {
    await xlbd.client.call('CreateService', {
      service: { id: WEB, backends: lab.backends.map((b) => ({ address: b.ipv4, name: b.name })), healthCheck: CHECK },
    });
    const svc = await service(WEB);
    expect(svc.healthCheck).toMatchObject({ kind: 'http', mode: 'tunnel', interval: '400ms', timeout: '200ms', rise: 2, fall: 2, path: '/health', failOpen: true });
    await until('every backend up', async () => Object.values(await states(WEB)).every((s) => s === 'up'));
    const all = lab.backends.map((b) => b.ipv4).sort();
    expect(programmed(svc.datapathId)).toEqual(all);

    const t0 = Date.now();
    await lab.stopHttp('b1');
    await until('b1 out of the datapath', () => !programmed(svc.datapathId).includes(addr('b1')), 10_000, 10);
    const outMs = Date.now() - t0;
    // The worst case: the failure starts just after a probe, then `fall` probes each up to the timeout.
    console.log(`health: time to out of a dead backend: ${outMs} ms (interval ${INTERVAL_MS} ms, timeout ${TIMEOUT_MS} ms, fall ${FALL})`);
    expect(outMs).toBeLessThanOrEqual(FALL * INTERVAL_MS + TIMEOUT_MS + 400);
    const b1 = (await service(WEB)).backends.find((b: { address: string }) => b.address === addr('b1'));
    expect(b1.health).toMatchObject({ state: 'HEALTH_STATE_DOWN', lastError: 'connect refused' });
    expect(b1.health.probe).toBe(`http ${VIP}:80/health through the tunnel to ${addr('b1')}`);

    const load = await lab.httpLoad('c1', { url: lab.url(VIP), connections: 60, concurrency: 4 });
    expect(load.failed).toBe(0);
    expect(load.perBackend.b1 ?? 0).toBe(0);
    expect(Object.keys(load.perBackend).sort()).toEqual(['b2', 'b3']);

    const t1 = Date.now();
    await lab.startHttp('b1');
    await until('b1 back in the datapath', () => programmed(svc.datapathId).includes(addr('b1')), 10_000, 10);
    expect(Date.now() - t1).toBeLessThanOrEqual(RISE * INTERVAL_MS + TIMEOUT_MS + 400);
    const again = await lab.httpLoad('c1', { url: lab.url(VIP), connections: 60, concurrency: 4 });
    expect(again.failed).toBe(0);
    expect(again.perBackend.b1 ?? 0).toBeGreaterThan(0);
  });

  it('shows health in GetStats, GetStatus, /metrics and the log', async () => {
    const st = await xlbd.client.call('GetStats', { serviceId: WEB });
    expect(st.services[0].health).toEqual({ allBackendsDown: false, failingOpen: false });
    expect(st.services[0].backends.map((b: { health: { state: string } }) => b.health.state)).toEqual(['HEALTH_STATE_UP', 'HEALTH_STATE_UP', 'HEALTH_STATE_UP']);
    const status = await xlbd.client.call('GetStatus');
    expect(status.health).toMatchObject({ checkedBackends: 3, up: 3, down: 0, unknown: 0, tunnelAttached: true, tunnelError: '' });
    const metrics = (await lab.exec('lb1', ['curl', '-sS', '--max-time', '5', `http://127.0.0.1:${xlbd.metricsPort}/metrics`])).stdout;
    expect(metrics).toContain(`xlb_backend_up{service="${WEB}",backend="${addr('b1')}"} 1`);
    expect(metrics).toMatch(new RegExp(`xlb_health_transitions_total\\{service="${WEB.replace(/\./g, '\\.')}",backend="${addr('b1').replace(/\./g, '\\.')}",to="down"\\} 1`));
    expect(metrics).toMatch(/xlb_health_probes_total\{result="ok"\} \d+/);
    expect(xlbd.output).toMatch(new RegExp(`health: ${WEB.replace(/[./]/g, '\\$&')} backend ${addr('b1').replace(/\./g, '\\.')} up → down \\(connect refused, 2 failures in a row\\)`));
    expect(xlbd.output).toMatch(/backend 10\.3\.1\.2 down → up \(2 successes in a row\)/);
  });

  it('tunnel mode sees a backend that serves only on the VIP; direct mode does not; all down fails open', async () => {
    // b1 and b2 serve :8080 on the VIP only (like a DSR backend with nothing on its own address).
    for (const b of ['b1', 'b2']) {
      const p = lab.spawnNode(b, LAB_SCRIPTS.httpBackend, ['--name', `${b}-vip`, '--port', '8080', '--host', VIP]);
      extra.push(p);
      await p.waitForOutput(/^listening /, 10_000);
    }
    await xlbd.client.call('CreateService', {
      service: { id: VIP_ONLY, backends: [{ address: addr('b1') }, { address: addr('b2') }], healthCheck: { ...CHECK, mode: 'tunnel' } },
    });
    const svc = await service(VIP_ONLY);
    await until('both up in tunnel mode', async () => Object.values(await states(VIP_ONLY)).every((s) => s === 'up'));

    await xlbd.client.call('UpdateService', { service: { id: VIP_ONLY, healthCheck: { ...CHECK, mode: 'direct' } } });
    await until('both down in direct mode', async () => Object.values(await states(VIP_ONLY)).every((s) => s === 'down'));
    const down = (await service(VIP_ONLY)).backends[0].health;
    expect(down.lastError).toBe('connect refused');
    expect(down.probe).toBe(`http ${addr('b1')}:8080/health direct`);
    // Every backend down: fail open (the default) keeps them all, and says so.
    expect(programmed(svc.datapathId)).toEqual([addr('b1'), addr('b2')]);
    expect((await service(VIP_ONLY)).health).toEqual({ allBackendsDown: true, failingOpen: true });
    expect((await xlbd.client.call('GetStatus')).health).toMatchObject({ allDownServices: [VIP_ONLY], failingOpenServices: [VIP_ONLY] });
    const metrics = (await lab.exec('lb1', ['curl', '-sS', '--max-time', '5', `http://127.0.0.1:${xlbd.metricsPort}/metrics`])).stdout;
    expect(metrics).toContain(`xlb_service_failing_open{service="${VIP_ONLY}"} 1`);
    expect(xlbd.output).toContain(`EVERY BACKEND OF ${VIP_ONLY} IS DOWN; failing open`);
    const open = await lab.httpLoad('c1', { url: lab.url(VIP, '/').replace(VIP, `${VIP}:8080`), connections: 20, concurrency: 2 });
    expect(open.failed).toBe(0); // the checks are wrong, the backends are fine: failing open keeps the service up

    // fail_open: false empties the backend set.
    await xlbd.client.call('UpdateService', { service: { id: VIP_ONLY, healthCheck: { ...CHECK, mode: 'direct', failOpen: false } } });
    expect(programmed(svc.datapathId)).toEqual([]);
    expect((await service(VIP_ONLY)).health).toEqual({ allBackendsDown: true, failingOpen: false });

    // Back to tunnel mode: up again after `rise`, back in the datapath.
    await xlbd.client.call('UpdateService', { service: { id: VIP_ONLY, healthCheck: { ...CHECK, mode: 'tunnel', failOpen: false } } });
    await until('back in tunnel mode', () => programmed(svc.datapathId).length === 2);
    await xlbd.client.call('DeleteService', { serviceId: VIP_ONLY });
  });

  it('restarts from the last seen states: a down backend stays out, then is checked again', async () => {
    const svc = await service(WEB);
    await lab.stopHttp('b3');
    await until('b3 out', () => !programmed(svc.datapathId).includes(addr('b3')));
    await until('last seen saved', async () => {
      const { readFileSync } = await import('node:fs');
      try {
        return JSON.parse(readFileSync(`${xlbd.stateDir}/${xlbd.instance}/health-last-seen.json`, 'utf8')).backends.some(
          (b: { address: string; status: string }) => b.address === addr('b3') && b.status === 'down',
        );
      } catch {
        return false;
      }
    });
    await xlbd.kill9();
    await xlbd.start();
    // Right after the start (the first probe cannot have decided anything yet): still out.
    expect(programmed(svc.datapathId)).toEqual([addr('b1'), addr('b2')]);
    expect(xlbd.output).toMatch(/health: restored the last seen state of 3 backends/);
    expect(await states(WEB)).toMatchObject({ [addr('b3')]: 'down' });
    await lab.startHttp('b3');
    await until('b3 back after the restart', () => programmed(svc.datapathId).includes(addr('b3')));
  });
});
