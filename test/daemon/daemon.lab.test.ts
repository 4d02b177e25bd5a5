// xlbd end to end in the namespace lab: the real daemon on LB node lb1 (nsenter --net, host bpffs),
// services and backends created over real gRPC on its unix socket, HTTP from client c1 through the
// VIP to backends that decapsulate and answer directly (DSR). Then update, drain, remove, stats and
// status; the gateway's MAC is re-resolved without a restart; SIGTERM leaves the datapath attached
// and traffic flowing, --detach-on-exit detaches and removes the pins.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withNetns, xdpQuery } from '../../bpf/libbpf-ts/index.js';
import { Lab } from '../lab/lab.js';
import { XlbdInstance } from './xlbd.js';

const VIP = '10.100.0.10';
const VIP6 = 'fd00:100::10';
/** Served by a service declared in the config file (backends listen on :80 of every VIP). */
const VIP_CONFIG = '10.100.0.11';

let lab: Lab;
let xlbd: XlbdInstance;

function backendsOf(lab: Lab) {
  return lab.backends.map((b) => ({ name: b.name, v4: b.ipv4, v6: b.ipv6 }));
}

async function untilTrue(what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  lab = await Lab.create({ backends: 3, clients: 1, lbNodes: 1, ipv6: true, vips4: [VIP, VIP_CONFIG] });
  xlbd = new XlbdInstance({ lab });
  await xlbd.start();
}, 120_000);

afterAll(async () => {
  await xlbd?.dispose();
  await lab?.destroy();
});

describe('xlbd on a lab LB node', () => {
  it('reports its status: attached natively, gateway resolved through the neighbour table', async () => {
    const ctx = lab.lbContext('lb1');
    const s = await xlbd.client.call('GetStatus');
    expect(s.instance).toBe(xlbd.instance);
    expect(s.interfaces).toHaveLength(1);
    expect(s.interfaces[0]).toMatchObject({ name: 'eth0', ifindex: ctx.ifindex, mac: ctx.mac, attached: true, mode: 'XDP_MODE_NATIVE' });
    expect(s.gateway).toMatchObject({ ip: ctx.gatewayIpv4, mac: ctx.gatewayMac, resolved: true, interface: 'eth0' });
    expect(s.maglevTableSize).toBe(4093);
    expect(s.maglevSeed).toBe(7);
    expect(s.adoptedDatapath).toBe(false);
    const q = withNetns(ctx.netnsPath, () => xdpQuery(ctx.ifindex));
    expect(q.nativeProgId).toBe(s.interfaces[0].programId);
  });

  it('creates a service with backends over gRPC and HTTP through the VIP reaches all of them', async () => {
    const bs = backendsOf(lab);
    const created = await xlbd.client.call('CreateService', {
      service: { vip: VIP, port: 80, protocol: 'PROTOCOL_TCP', backends: bs.map((b) => ({ address: b.v4, name: b.name })) },
    });
    expect(created.service.id).toBe(`${VIP}:80/tcp`);
    expect(created.service.backends.map((b: { address: string }) => b.address)).toEqual(bs.map((b) => b.v4));
    expect(created.service.datapathId).toBeGreaterThanOrEqual(1);

    const load = await lab.httpLoad('c1', { url: lab.url(VIP), connections: 300, concurrency: 8 });
    expect(load.failed).toBe(0);
    expect(load.ok).toBe(300);
    expect(Object.keys(load.perBackend).sort()).toEqual(bs.map((b) => b.name));

    // Counters read back through GetStats add up.
    const st = await xlbd.client.call('GetStats', { serviceId: `${VIP}:80/tcp` });
    expect(st.services).toHaveLength(1);
    const perBackend = st.services[0].backends.map((b: { packets: string }) => Number(b.packets));
    expect(perBackend.every((p: number) => p > 0)).toBe(true);
    expect(Number(st.services[0].packets)).toBe(perBackend.reduce((a: number, b: number) => a + b, 0));
    expect(st.verdicts.map((v: { name: string }) => v.name)).toEqual(['pass', 'tx', 'drop']);
    expect(st.drops.map((d: { name: string }) => d.name)).toContain('no_backend');
    expect(Number(st.flowTable.newFlows)).toBeGreaterThanOrEqual(300);
    expect(Number(st.flowTable.capacity)).toBeGreaterThanOrEqual(16384);
  });

  it('serves an IPv6 VIP over IP6IP6', async () => {
    const bs = backendsOf(lab);
    await xlbd.client.call('CreateService', {
      service: { id: `[${VIP6}]:80/tcp`, backends: bs.map((b) => ({ address: b.v6 })) },
    });
    const load = await lab.httpLoad('c1', { url: lab.url(VIP6), connections: 100, concurrency: 4 });
    expect(load.failed).toBe(0);
    expect(Object.keys(load.perBackend).length).toBe(3);
  });

  it('drains a backend (no new flows) and brings it back, then removes it', async () => {
    const [b1] = backendsOf(lab);
    const id = `${VIP}:80/tcp`;
    const drained = await xlbd.client.call('UpdateBackend', { serviceId: id, address: b1!.v4, state: 'BACKEND_STATE_DRAINING' });
    expect(drained.changed).toBe(true);
    expect(drained.service.backends.find((b: { address: string }) => b.address === b1!.v4).state).toBe('BACKEND_STATE_DRAINING');
    let load = await lab.httpLoad('c1', { url: lab.url(VIP), connections: 200, concurrency: 8 });
    expect(load.failed).toBe(0);
    expect(load.perBackend[b1!.name] ?? 0).toBe(0);

    const back = await xlbd.client.call('UpdateBackend', { serviceId: id, address: b1!.v4, weight: 1 });
    expect(back.service.backends.find((b: { address: string }) => b.address === b1!.v4).state).toBe('BACKEND_STATE_ACTIVE');
    load = await lab.httpLoad('c1', { url: lab.url(VIP), connections: 200, concurrency: 8 });
    expect(load.perBackend[b1!.name] ?? 0).toBeGreaterThan(0);

    const removed = await xlbd.client.call('RemoveBackend', { serviceId: id, address: b1!.v4 });
    expect(removed.service.backends).toHaveLength(2);
    load = await lab.httpLoad('c1', { url: lab.url(VIP), connections: 200, concurrency: 8 });
    expect(load.failed).toBe(0);
    expect(load.perBackend[b1!.name] ?? 0).toBe(0);
  });

  it('weights shift the share of new flows; UpdateService replaces the backend set keeping ids', async () => {
    const bs = backendsOf(lab);
    const id = `${VIP}:80/tcp`;
    const before = await xlbd.client.call('GetService', { serviceId: id });
    const idOf = (svc: { backends: { address: string; datapathId: number }[] }, a: string) => svc.backends.find((b) => b.address === a)?.datapathId;
    const replaced = await xlbd.client.call('UpdateService', {
      service: { id, backends: [{ address: bs[1]!.v4, weight: 9 }, { address: bs[2]!.v4, weight: 1 }] },
      replaceBackends: true,
    });
    expect(replaced.changed).toBe(true);
    expect(idOf(replaced.service, bs[1]!.v4)).toBe(idOf(before.service, bs[1]!.v4));
    const load = await lab.httpLoad('c1', { url: lab.url(VIP), connections: 400, concurrency: 8 });
    expect(load.failed).toBe(0);
    expect(load.perBackend[bs[1]!.name]!).toBeGreaterThan(3 * (load.perBackend[bs[2]!.name] ?? 0));

    const same = await xlbd.client.call('UpdateService', {
      service: { id, backends: [{ address: bs[2]!.v4, weight: 1 }, { address: bs[1]!.v4, weight: 9 }] },
      replaceBackends: true,
    });
    expect(same.changed).toBe(false);
  });

  it('Apply converges the API layer; dry_run changes nothing', async () => {
    const bs = backendsOf(lab);
    const desired = [
      { id: `${VIP}:80/tcp`, backends: [{ address: bs[1]!.v4, weight: 9 }, { address: bs[2]!.v4, weight: 1 }] },
      { id: `${VIP}:8080/tcp`, backends: [{ address: bs[0]!.v4 }] },
    ];
    const dry = await xlbd.client.call('Apply', { services: desired, dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, created: [`${VIP}:8080/tcp`], deleted: [`[${VIP6}]:80/tcp`], unchanged: [`${VIP}:80/tcp`] });
    expect((await xlbd.client.call('ListServices')).services).toHaveLength(2);
    const real = await xlbd.client.call('Apply', { services: desired });
    expect(real).toMatchObject({ dryRun: false, created: [`${VIP}:8080/tcp`], deleted: [`[${VIP6}]:80/tcp`], unchanged: [`${VIP}:80/tcp`] });
    const list = (await xlbd.client.call('ListServices')).services.map((s: { id: string }) => s.id);
    expect(list).toEqual([`${VIP}:80/tcp`, `${VIP}:8080/tcp`]);
    // Persisted: the state on disk names exactly these services.
    const saved = await xlbd.savedState();
    expect(saved.services.map((s: { id: string }) => s.id)).toEqual(list);
  });

  it('serves /metrics: datapath counters, API calls by method and code, Maglev builds', async () => {
    const r = await lab.exec('lb1', ['curl', '-sS', '--max-time', '5', `http://127.0.0.1:${xlbd.metricsPort}/metrics`]);
    const text = r.stdout;
    expect(text).toMatch(/^xlb_api_requests_total\{method="xlb\.v1\.LoadBalancer\/CreateService",code="OK"\} [1-9]/m);
    expect(text).toMatch(/^xlb_api_requests_total\{method="xlb\.v1\.LoadBalancer\/UpdateBackend",code="OK"\} [1-9]/m);
    expect(text).toMatch(/^xlb_maglev_rebuild_duration_seconds_count [1-9]/m);
    expect(text).toMatch(new RegExp(`^xlb_service_packets_total\\{service="${VIP.replace(/\./g, '\\.')}:80/tcp"\\} [1-9]`, 'm'));
    expect(text).toMatch(/^xlb_datapath_attached\{[^}]*interface="eth0"[^}]*\} 1/m);
  });

  it('re-resolves the gateway MAC when it changes, without a restart', async () => {
    const ctx = lab.lbContext('lb1');
    const newMac = '02:00:5e:10:00:42';
    // The router gets a new MAC; the LB's stale neighbour entry is flushed, as after a router swap.
    await lab.exec('r', ['ip', 'link', 'set', 'dev', ctx.gatewayIfname, 'address', newMac]);
    await lab.exec('lb1', ['ip', 'neigh', 'flush', 'dev', 'eth0']);
    await untilTrue('the new gateway MAC in GetStatus', async () => (await xlbd.client.call('GetStatus')).gateway.mac === newMac);
    const load = await lab.httpLoad('c1', { url: lab.url(VIP), connections: 100, concurrency: 4 });
    expect(load.failed).toBe(0);
    expect(xlbd.output).toMatch(/lb_config: .* gateway 02:00:5e:10:00:42/);
  });

  it('SIGHUP reloads the config: services declared in the file appear with origin config', async () => {
    const bs = backendsOf(lab);
    xlbd.writeConfig({ services: [{ vip: VIP_CONFIG, port: 80, protocol: 'tcp', backends: [bs[2]!.v4] }] });
    xlbd.signal('SIGHUP');
    await untilTrue('the config service', async () => (await xlbd.client.call('ListServices')).services.some((s: { id: string }) => s.id === `${VIP_CONFIG}:80/tcp`));
    const svc = (await xlbd.client.call('GetService', { serviceId: `${VIP_CONFIG}:80/tcp` })).service;
    expect(svc.origin).toBe('config');
    const err = await xlbd.client.fail('DeleteService', { serviceId: `${VIP_CONFIG}:80/tcp` });
    expect(err.codeName).toBe('FAILED_PRECONDITION');
    expect(err.details).toMatch(/^service_id: .*declared in the config file/);
    const body = await lab.httpGet('c1', lab.url(VIP_CONFIG));
    expect(body.trim()).toBe(bs[2]!.name);
  });

  it('SIGTERM stops the API but leaves the datapath attached and traffic flowing', async () => {
    const ctx = lab.lbContext('lb1');
    const progId = (await xlbd.client.call('GetStatus')).interfaces[0].programId;
    const status = await xlbd.stop('SIGTERM');
    expect(status.code).toBe(0);
    expect(xlbd.output).toMatch(/stays attached/);
    expect(existsSync(xlbd.socket)).toBe(false);
    expect(withNetns(ctx.netnsPath, () => xdpQuery(ctx.ifindex)).nativeProgId).toBe(progId);
    const load = await lab.httpLoad('c1', { url: lab.url(VIP), connections: 100, concurrency: 4 });
    expect(load.failed).toBe(0);
    // And a new start adopts it: same program, nothing reprogrammed.
    await xlbd.start();
    const s = await xlbd.client.call('GetStatus');
    expect(s.adoptedDatapath).toBe(true);
    expect(s.interfaces[0].programId).toBe(progId);
    expect(xlbd.output).toMatch(/datapath adopted/);
  });

  it('--detach-on-exit detaches on SIGTERM and removes the pins', async () => {
    const ctx = lab.lbContext('lb1');
    await xlbd.stop('SIGTERM');
    await xlbd.start(['--detach-on-exit']);
    const status = await xlbd.stop('SIGTERM');
    expect(status.code).toBe(0);
    expect(withNetns(ctx.netnsPath, () => xdpQuery(ctx.ifindex)).progId).toBe(0);
    expect(existsSync(xlbd.pinDir)).toBe(false);
    // The desired state is still on disk for the next start.
    expect((await xlbd.savedState()).services.length).toBe(3);
  });
});
