// The xlb CLI end to end, as a user drives it: the real xlbd (test/daemon/xlbd.ts: lb/daemon/main.ts
// on a lab LB node, datapath attached natively to its eth0), backends whose decapsulation is
// attached by `xlb decap attach` itself, and HTTP from a client through the VIP. Every change and
// every reading goes through the compiled `xlb` command; /metrics of the same daemon is checked
// against `xlb stats` (the real datapath's counters feeding lb/metrics).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withNetns, xdpQuery } from '../../bpf/libbpf-ts/index.js';
import { METRIC } from '../../lb/metrics/index.js';
import { buildCli, runCli, type CliBuild, type CliResult } from './run.js';
import { XlbdInstance } from '../daemon/xlbd.js';
import { Lab } from '../lab/lab.js';
import { parseExposition, sampleValue } from '../metrics/exposition.js';

const VIP = '10.100.0.10';
const VIP2 = '10.100.0.11';
const SVC = `${VIP}:80/tcp`;
const METRICS_URL = 'http://127.0.0.1:9641/metrics'; // inside the LB node's namespace

let lab: Lab;
let xlbd: XlbdInstance;
let build: CliBuild;

beforeAll(async () => {
  build = buildCli();
  lab = await Lab.create({ backends: 2, clients: 1, lbNodes: 1, ipv6: false, decap: false, vips4: [VIP, VIP2] });
  xlbd = new XlbdInstance({ lab, config: { metrics: { listen: '127.0.0.1:9641' } } });
  await xlbd.start();
}, 180_000);

afterAll(async () => {
  await xlbd?.dispose();
  await lab?.destroy();
  build?.remove();
});

/** xlb against the daemon's socket, from the host. */
async function xlb(args: string[], o: { input?: string } = {}): Promise<CliResult> {
  return runCli(build, ['--server', `unix://${xlbd.socket}`, ...args], o);
}

async function ok(args: string[], o: { input?: string } = {}): Promise<string> {
  const r = await xlb(args, o);
  expect(r.code, `xlb ${args.join(' ')}: ${r.stderr}`).toBe(0);
  expect(r.stderr).toBe('');
  return r.stdout;
}

/** xlb on a lab node: its network namespace, the host's mounts (pins outlive the command). */
function xlbOn(node: string, args: string[]): Promise<CliResult> {
  return runCli(build, args, { prefix: ['nsenter', `--net=${lab.netnsPath(node)}`, '--'] });
}

const decapPinDir = (b: string) => join(lab.pinDir, `cli-decap-${b}`);

describe('xlb against the real xlbd and datapath', () => {
  it('xlb decap attach on every backend (real tc program, pinned)', async () => {
    for (const b of lab.backends) {
      const lbAddress = lab.lbs[0]!.ipv4;
      const r = await xlbOn(b.name, ['decap', 'attach', '--dev', 'eth0', '--allow-source', lbAddress, '--pin-dir', decapPinDir(b.name)]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^decap attached to eth0 \\(program \\d+\\)\\npinned in ${decapPinDir(b.name)}\\ndecapsulating for ${b.ipv4.replace(/\./g, '\\.')}\\nfrom ${lbAddress.replace(/\./g, '\\.')}/32\\n$`));
      const st = await xlbOn(b.name, ['decap', 'status', '--dev', 'eth0', '--pin-dir', decapPinDir(b.name), '-o', 'json']);
      expect(st.code, st.stderr).toBe(0);
      const s = JSON.parse(st.stdout);
      expect(s).toMatchObject({ ifname: 'eth0', attached: true, pinned: true, addresses: [b.ipv4], allowed_sources: [`${lbAddress}/32`], pin_dir: decapPinDir(b.name) });
      expect(s.attached_prog_id).toBe(s.prog_id);
    }
    const b1 = lab.backends[0]!.name;
    const bad: [string[], RegExp][] = [
      [['decap', 'status', '--dev', 'nosuch0'], /^xlb: decap: unknown interface nosuch0/],
      [['decap', 'attach', '--dev', 'eth0', '--allow-source', '10.2.0.0/16', '--pin-dir', 'relative/dir'], /^xlb: decap: pinDir must be an absolute path, got relative\/dir$/],
      [['decap', 'attach', '--dev', 'eth0', '--allow-source', '10.2.0.0/16', '--pin-dir', decapPinDir(b1), '--address', '10.3.1.300'], /^xlb: decap: "10\.3\.1\.300" is not an IPv4 or IPv6 address$/],
      [['decap', 'attach', '--dev', 'eth0', '--pin-dir', decapPinDir(b1)], /^xlb: decap: no outer source allowed: give the load balancers' encapsulation sources with --allow-source CIDR .*--allow-any-source/],
      [['decap', 'attach', '--dev', 'eth0', '--allow-source', '10.2.0.1/16', '--pin-dir', decapPinDir(b1)], /^xlb: decap: allow-source: "10\.2\.0\.1\/16" has host bits set; the network is 10\.2\.0\.0\/16$/],
    ];
    for (const [args, pattern] of bad) {
      const r = await xlbOn(b1, args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr.trimEnd()).toMatch(pattern);
    }
  });

  it('xlb status shows the attached interface, program id, gateway MAC, Maglev M/seed', async () => {
    const ctx = lab.lbContext('lb1');
    const s = JSON.parse(await ok(['status', '-o', 'json']));
    const q = withNetns(ctx.netnsPath, () => xdpQuery(ctx.ifindex));
    expect(s.interfaces).toEqual([{ name: 'eth0', ifindex: ctx.ifindex, mac: ctx.mac, attached: true, mode: 'native', program_id: q.nativeProgId }]);
    expect(s.gateway).toEqual({ ip: ctx.gatewayIpv4, mac: ctx.gatewayMac, resolved: true, interface: 'eth0' });
    expect([s.maglev_table_size, s.maglev_seed, s.instance]).toEqual([4093, 7, xlbd.instance]);
    const text = await ok(['status']);
    expect(text).toContain(`gateway   ${ctx.gatewayIpv4} via eth0, MAC ${ctx.gatewayMac}`);
    expect(text).toMatch(new RegExp(`^eth0 +${ctx.ifindex} +${ctx.mac} +yes +native +${q.nativeProgId}$`, 'm'));
  });

  it('service add with backends: HTTP through the VIP reaches both; stats and decap counters show it', async () => {
    const [b1, b2] = lab.backends;
    const out = await ok(['service', 'add', SVC, '-b', b1!.ipv4, '-b', `${b2!.ipv4}=2`]);
    expect(out).toMatch(/^created service 10\.100\.0\.10:80\/tcp\n/);

    const load = await lab.httpLoad('c1', { url: lab.url(VIP), connections: 200, concurrency: 8 });
    expect(load.failed).toBe(0);
    expect(load.perBackend[b1!.name]).toBeGreaterThan(0);
    expect(load.perBackend[b2!.name]).toBeGreaterThan(load.perBackend[b1!.name]!); // weight 2 vs 1

    const stats = JSON.parse(await ok(['stats', SVC, '-o', 'json']));
    const [s] = stats.services;
    expect(s.service_id).toBe(SVC);
    const perBackend = s.backends.map((b: { packets: number }) => b.packets);
    expect(perBackend.every((p: number) => p > 0)).toBe(true);
    expect(s.packets).toBe(perBackend[0] + perBackend[1]);
    expect(stats.flow_table.new_flows).toBeGreaterThanOrEqual(200);

    const table = await ok(['service', 'list']);
    expect(table).toMatch(new RegExp(`^  -> ${b2!.ipv4.replace(/\./g, '\\.')} +2 +active +\\d+ +[1-9][0-9,]* +[1-9][0-9,]*$`, 'm'));

    const d = JSON.parse((await xlbOn(b1!.name, ['decap', 'status', '--dev', 'eth0', '--pin-dir', decapPinDir(b1!.name), '-o', 'json'])).stdout);
    expect(d.counters.ipip.packets).toBeGreaterThan(0);
    expect(d.counters.not_local.packets).toBe(0);
  });

  it('backend set --drain sends no new flows to it, --activate brings it back', async () => {
    const [b1] = lab.backends;
    const drained = JSON.parse(await ok(['backend', 'set', SVC, b1!.ipv4, '--drain', '-o', 'json']));
    expect(drained.changed).toBe(true);
    expect(drained.service.backends.find((b: { address: string }) => b.address === b1!.ipv4)).toMatchObject({ state: 'draining', weight: 1 });
    let load = await lab.httpLoad('c1', { url: lab.url(VIP), connections: 100, concurrency: 8 });
    expect(load.failed).toBe(0);
    expect(load.perBackend[b1!.name] ?? 0).toBe(0);

    await ok(['backend', 'set', SVC, b1!.ipv4, '--activate']);
    load = await lab.httpLoad('c1', { url: lab.url(VIP), connections: 100, concurrency: 8 });
    expect(load.failed).toBe(0);
    expect(load.perBackend[b1!.name] ?? 0).toBeGreaterThan(0);
  });

  it("refused requests: the daemon's message, exit 1, nothing changed", async () => {
    const before = await ok(['service', 'list', '-o', 'json']);
    const cases: [string[], RegExp][] = [
      [['backend', 'add', SVC, lab.backends[0]!.ipv4], /^xlb: backend.*already/],
      [['backend', 'add', SVC, '10.3.9.9', '--weight', '70000'], /^xlb: backend\.weight: 70000 is out of range; must be an integer 0\.\.65535 \(0 = draining\)$/],
      [['backend', 'add', SVC, '127.0.0.1'], /^xlb: backend\.address: /],
      [['service', 'add', SVC], /already exists/],
      [['service', 'show', '10.100.0.99:80/tcp'], /^xlb: service_id: /],
      [['backend', 'set', SVC, '10.3.9.9', '--weight', '3'], /10\.3\.9\.9/],
    ];
    for (const [args, pattern] of cases) {
      const r = await xlb(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr.trimEnd()).toMatch(pattern);
    }
    expect(await ok(['service', 'list', '-o', 'json'])).toBe(before);
  });

  it('xlb apply converges to a file (dry run first); the new VIP serves HTTP', async () => {
    const [b1, b2] = lab.backends;
    const file = join(xlbd.dir, 'services.yaml');
    writeFileSync(
      file,
      `services:\n  - id: ${SVC}\n    backends: [${b1!.ipv4}, { address: ${b2!.ipv4}, weight: 2 }]\n` +
        `  - vip: ${VIP2}\n    port: 80\n    protocol: tcp\n    flags: { source_hash: true }\n    backends: [${b2!.ipv4}]\n`,
    );
    expect(await ok(['apply', '-f', file, '--dry-run'])).toBe(
      `dry run: nothing was changed; apply would do this:\ncreated    ${VIP2}:80/tcp\nunchanged  ${SVC}\n1 created, 0 updated, 0 deleted, 1 unchanged\n`,
    );
    expect(JSON.parse(await ok(['service', 'list', '-o', 'json'])).services).toHaveLength(1);
    expect(JSON.parse(await ok(['apply', '-f', file, '-o', 'json']))).toEqual({ created: [`${VIP2}:80/tcp`], updated: [], deleted: [], unchanged: [SVC], dry_run: false });
    const load = await lab.httpLoad('c1', { url: lab.url(VIP2), connections: 50, concurrency: 4 });
    expect(load.failed).toBe(0);
    expect(Object.keys(load.perBackend)).toEqual([b2!.name]);
    // What list prints, apply takes back unchanged.
    const list = await ok(['service', 'list', '-o', 'json']);
    expect(JSON.parse(await ok(['apply', '-f', '-', '-o', 'json'], { input: list })).unchanged).toEqual([SVC, `${VIP2}:80/tcp`]);
  });

  it("/metrics of the same daemon agrees with xlb stats (real datapath counters)", async () => {
    const stats = JSON.parse(await ok(['stats', '-o', 'json']));
    const r = await lab.exec('lb1', ['curl', '-sS', '--max-time', '10', METRICS_URL]);
    const f = parseExposition(r.stdout);
    for (const s of stats.services) {
      expect(sampleValue(f, METRIC.servicePackets, { service: s.service_id }), s.service_id).toBe(s.packets);
      expect(sampleValue(f, METRIC.serviceBytes, { service: s.service_id })).toBe(s.bytes);
      for (const b of s.backends) {
        expect(sampleValue(f, METRIC.backendPackets, { service: s.service_id, backend: b.address })).toBe(b.packets);
        expect(sampleValue(f, METRIC.backendBytes, { service: s.service_id, backend: b.address })).toBe(b.bytes);
      }
    }
    expect(sampleValue(f, METRIC.flowNew)).toBe(stats.flow_table.new_flows);
    expect(sampleValue(f, METRIC.verdicts, { verdict: 'tx' })).toBeGreaterThanOrEqual(stats.services[0].packets);
    expect(sampleValue(f, METRIC.servicesConfigured)).toBe(2);
    expect(sampleValue(f, METRIC.backendsConfigured, { state: 'active' })).toBe(3);
    expect(sampleValue(f, METRIC.datapathAttached, { interface: 'eth0', mode: 'native' })).toBe(1);
    expect(sampleValue(f, METRIC.apiRequests, { method: 'xlb.v1.LoadBalancer/CreateService', code: 'OK' })).toBe(1);
    expect(sampleValue(f, METRIC.apiRequests, { method: 'xlb.v1.LoadBalancer/AddBackend', code: 'INVALID_ARGUMENT' })).toBeGreaterThanOrEqual(2);
    expect(sampleValue(f, `${METRIC.maglevRebuild}_count`)).toBeGreaterThan(0);
    expect(f.get('process_cpu_seconds_total')?.type).toBe('counter');
  });

  it('service del, then xlb decap detach removes the program and its pins', async () => {
    await ok(['service', 'del', SVC]);
    await ok(['service', 'del', `${VIP2}:80/tcp`]);
    expect(await ok(['service', 'list'])).toBe('no services\n');
    for (const b of lab.backends) {
      const r = await xlbOn(b.name, ['decap', 'detach', '--dev', 'eth0', '--pin-dir', decapPinDir(b.name)]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`decap detached from eth0; pins removed from ${decapPinDir(b.name)}\n`);
      const s = JSON.parse((await xlbOn(b.name, ['decap', 'status', '--dev', 'eth0', '--pin-dir', decapPinDir(b.name), '-o', 'json'])).stdout);
      expect([s.attached, s.pinned, s.attached_prog_id]).toEqual([false, false, null]);
      const again = await xlbOn(b.name, ['decap', 'detach', '--dev', 'eth0', '--pin-dir', decapPinDir(b.name)]);
      expect(again.stdout).toBe('decap was not attached to eth0; nothing to do\n');
    }
  });
});
