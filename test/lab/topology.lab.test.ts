// The namespace lab itself: it builds the documented topology, plain client → backend HTTP works,
// the router's VIP route is ECMP across the LB nodes and can be re-pointed, and teardown leaves
// nothing behind — also when a build step fails midway.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, LAB_SCRIPTS, LabProcess } from './lab.js';
import { LAB_NS_PREFIX, LAB_PIN_ROOT } from './plan.js';

const ourPrefix = `${LAB_NS_PREFIX}-${process.pid}`;
const ourPinDirs = () => (existsSync(LAB_PIN_ROOT) ? readdirSync(LAB_PIN_ROOT).filter((d) => d.startsWith(`${process.pid}-`)) : []);
/** Running (a zombie has already released everything, its namespace references included). */
const alive = (pid: number | undefined) => {
  if (pid === undefined) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

describe('lab topology', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await Lab.create({ backends: 2, lbNodes: 2, clients: 2 });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('creates one namespace per node with short, unique names', () => {
    const names = Lab.listNamespaces(lab.plan.nsPrefix).sort();
    expect(names).toEqual(['b1', 'b2', 'c1', 'c2', 'lb1', 'lb2', 'r'].map((n) => `${lab.plan.nsPrefix}-${n}`).sort());
    for (const n of [...lab.clients, ...lab.lbs, ...lab.backends]) {
      expect(n.routerIfname.length).toBeLessThanOrEqual(15);
      expect(lab.ifindex(n.name)).toBeGreaterThan(0);
      expect(lab.mac(n.name)).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    }
  });

  it('serves HTTP from every backend directly, over IPv4 and IPv6', async () => {
    for (const b of lab.backends) {
      expect(await lab.httpGet('c1', lab.url(b.ipv4))).toBe(`${b.name}\n`);
      expect(await lab.httpGet('c2', lab.url(b.ipv6))).toBe(`${b.name}\n`);
    }
    const load = await lab.httpLoad('c1', { url: lab.url(lab.backends[1]!.ipv4), connections: 20, concurrency: 4 });
    expect(load).toMatchObject({ ok: 20, failed: 0, perBackend: { b2: 20 } });
    const ka = await lab.httpLoad('c2', { url: lab.url(lab.backends[0]!.ipv6), keepalive: 2, requests: 5 });
    expect(ka).toMatchObject({ ok: 10, failed: 0, reconnects: 0, backendSwitches: 0, perBackend: { b1: 10 } });
    const big = await lab.httpLoad('c1', { url: lab.url(lab.backends[0]!.ipv4, '/bytes/3000000'), connections: 2 });
    expect(big).toMatchObject({ ok: 2, bytes: 6_000_000 });
    const up = await lab.httpLoad('c2', { url: lab.url(lab.backends[1]!.ipv6, '/upload'), connections: 2, postBytes: 2_000_000 });
    expect(up).toMatchObject({ ok: 2, failed: 0, perBackend: { b2: 2 }, bytes: 2 * 'b2 2000000\n'.length });
  });

  it('has the VIPs on the backends\' lo and the backends answer on them locally', async () => {
    const addrs = await lab.exec('b1', ['ip', '-o', 'addr', 'show', 'dev', 'lo']);
    expect(addrs.stdout).toContain('10.100.0.10/32');
    expect(addrs.stdout).toContain('fd00:100::10/128');
    expect(await lab.httpGet('b2', lab.url('10.100.0.10'))).toBe('b2\n');
  });

  it('routes the VIP prefixes ECMP across both LB nodes with L4 hashing, and can re-point them', async () => {
    const both = await lab.vipRoutes();
    expect(both.v4).toMatch(/^10\.100\.0\.0\/24/);
    expect(both.v4).toMatch(/nexthop via 10\.2\.1\.2 dev to-lb1/);
    expect(both.v4).toMatch(/nexthop via 10\.2\.2\.2 dev to-lb2/);
    expect(both.v6).toMatch(/nexthop via fd00:2:1::2 dev to-lb1/);
    expect(both.v6).toMatch(/nexthop via fd00:2:2::2 dev to-lb2/);
    const sysctl = await lab.exec('r', ['sysctl', '-n', 'net.ipv4.fib_multipath_hash_policy', 'net.ipv6.fib_multipath_hash_policy',
      'net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding', 'net.ipv4.conf.all.rp_filter']);
    expect(sysctl.stdout.split('\n').slice(0, 5)).toEqual(['1', '1', '1', '1', '0']);
    // The kernel picks the LB node per flow: different ports go different ways.
    const picks = new Set<string>();
    for (let port = 1000; port < 1064; port++) {
      const r = await lab.exec('r', ['ip', 'route', 'get', '10.100.0.10', 'from', '10.1.1.2', 'iif', 'to-c1', 'ipproto', 'tcp', 'sport', String(port), 'dport', '80']);
      picks.add(/dev (to-lb\d)/.exec(r.stdout)![1]!);
    }
    expect([...picks].sort()).toEqual(['to-lb1', 'to-lb2']);

    await lab.routeVipTo(['lb2']);
    const one = await lab.vipRoutes();
    expect(one.v4).toBe('10.100.0.0/24 via 10.2.2.2 dev to-lb2');
    expect(one.v6).toMatch(/^fd00:100::\/64 via fd00:2:2::2 dev to-lb2/);
    await lab.routeVipTo(['lb1', 'lb2']);
    expect((await lab.vipRoutes()).v4).toMatch(/nexthop via 10\.2\.1\.2/);
  });

  it('prepares the XDP path: pass program on router veths facing LBs, tx checksum offload off on senders', async () => {
    for (const lb of lab.lbs) {
      const link = JSON.parse((await lab.exec('r', ['ip', '-j', '-d', 'link', 'show', lb.routerIfname])).stdout)[0];
      expect(link.xdp?.prog?.name ?? link.xdp?.progs?.[0]?.name).toBe('xdp_pass');
      const k = await lab.exec('r', ['ethtool', '-k', lb.routerIfname]);
      expect(k.stdout).toMatch(/^tx-checksumming: off/m);
    }
    for (const c of lab.clients) expect((await lab.exec(c.name, ['ethtool', '-k', 'eth0'])).stdout).toMatch(/^tx-checksumming: off/m);
    const ctx = lab.lbContext('lb1');
    expect(ctx).toMatchObject({ ifname: 'eth0', ipv4: '10.2.1.2', gatewayIpv4: '10.2.1.1', gatewayIfname: 'to-lb1' });
    expect(ctx.gatewayMac).toBe(lab.mac('r', 'to-lb1'));
    expect(ctx.ifindex).toBe(lab.lbIfindex('lb1'));
  });

  it('keepMounts commands see the host bpffs, ip netns exec ones do not', async () => {
    const viaNsenter = await lab.exec('b1', ['stat', '-f', '-c', '%T', '/sys/fs/bpf'], { keepMounts: true });
    expect(viaNsenter.stdout.trim()).toBe('bpf_fs');
    const viaNetnsExec = await lab.exec('b1', ['stat', '-f', '-c', '%T', '/sys/fs/bpf']);
    expect(viaNetnsExec.stdout.trim()).not.toBe('bpf_fs');
    // Both are inside the backend's network namespace.
    expect((await lab.exec('b1', ['ip', '-o', 'addr', 'show', 'eth0'], { keepMounts: true })).stdout).toContain('10.3.1.2/24');
  });

  it('captures packets in a namespace', async () => {
    const cap = await lab.captureStart('r', 'to-b2', 'tcp port 80');
    expect(await lab.httpGet('c1', lab.url(lab.backends[1]!.ipv4))).toBe('b2\n');
    const { packets } = await cap.stop();
    const syn = packets.find((p) => p.tcpFlags === '0x0002');
    expect(syn).toMatchObject({ src: ['10.1.1.2'], dst: ['10.3.2.2'], dstPort: 80 });
    expect(packets.some((p) => p.tcpFlags === '0x0012' && p.src[0] === '10.3.2.2')).toBe(true);
  });

  it('destroy() removes namespaces, processes and the pin dir', async () => {
    const extra = await Lab.create({ backends: 1, clients: 1, lbNodes: 1 });
    const server = extra.spawn('b1', ['sleep', '600']);
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(server.pid)).toBe(true);
    expect(Lab.listNamespaces(extra.plan.nsPrefix)).toHaveLength(4);
    await extra.destroy();
    expect(Lab.listNamespaces(extra.plan.nsPrefix)).toEqual([]);
    expect(existsSync(extra.pinDir)).toBe(false);
    expect(alive(server.pid)).toBe(false);
    await extra.destroy(); // idempotent
    await expect(extra.exec('b1', 'true')).rejects.toThrow(/destroyed/);
  });

  it('destroySync() (the exit/signal path) removes everything too', async () => {
    const extra = await Lab.create({ backends: 1, http: true });
    expect(Lab.listNamespaces(extra.plan.nsPrefix)).toHaveLength(4);
    extra.destroySync();
    expect(Lab.listNamespaces(extra.plan.nsPrefix)).toEqual([]);
    expect(existsSync(extra.pinDir)).toBe(false);
  });
});

describe('lab failure handling', () => {
  const before = () => ({ ns: Lab.listNamespaces(ourPrefix).length, pins: ourPinDirs().length });

  it('rejects bad options before creating anything', async () => {
    const start = before();
    await expect(Lab.create({ backends: 0 })).rejects.toThrow(/backends must be an integer in \[1, 64\]/);
    await expect(Lab.create({ vips4: ['192.0.2.1'] })).rejects.toThrow(/vips4 entry 192\.0\.2\.1/);
    expect(before()).toEqual(start);
  });

  for (const failAt of ['namespaces', 'links', 'addresses', 'xdp', 'decap', 'http'] as const) {
    it(`tears everything down when the build fails after step "${failAt}"`, async () => {
      const start = before();
      await expect(Lab.create({
        backends: 2,
        lbNodes: 2,
        onStep: (step) => {
          if (step === failAt) throw new Error(`simulated failure after ${step}`);
        },
      })).rejects.toThrow(`simulated failure after ${failAt}`);
      expect(before()).toEqual(start);
    });
  }
});

describe('lab teardown when the owning process dies', () => {
  const fixture = join(import.meta.dirname, 'fixtures', 'lab-abandon.ts');

  for (const how of ['exit', 'throw', 'SIGTERM', 'SIGINT'] as const) {
    it(`removes everything when the process ends by ${how} without destroy()`, async () => {
      const child = new LabProcess(`lab-abandon ${how}`, [process.execPath, '--import', LAB_SCRIPTS.tsRegister, fixture,
        how.startsWith('SIG') ? 'signal' : how]);
      try {
        const line = await child.waitForOutput(/"nsPrefix"/, 60_000);
        const { nsPrefix, pinDir, pids } = JSON.parse(line) as { nsPrefix: string; pinDir: string; pids: number[] };
        expect(pids.length).toBeGreaterThan(0); // the backend's HTTP server
        if (how.startsWith('SIG')) {
          // Only these children wait; the others may already be gone.
          expect(pids.every(alive)).toBe(true);
          expect(Lab.listNamespaces(nsPrefix)).toHaveLength(4);
          process.kill(child.pid!, how);
        }
        const status = await child.exited;
        if (how.startsWith('SIG')) expect(status.signal).toBe(how);
        if (how === 'throw') expect(status.code).toBe(1);
        expect(Lab.listNamespaces(nsPrefix)).toEqual([]);
        expect(existsSync(pinDir)).toBe(false);
        expect(pids.filter(alive)).toEqual([]);
      } finally {
        await child.stop('SIGKILL');
      }
    });
  }

  it('reapStale() removes what a SIGKILLed run left, and nothing of live runs', async () => {
    // A pid that certainly belonged to a process that is gone now.
    const deadPid = spawnSync('true').pid!;
    const staleNs = `${LAB_NS_PREFIX}-${deadPid}-abcdef-r`;
    const staleDir = join(LAB_PIN_ROOT, `${deadPid}-abcdef`);
    const live = await Lab.create({ backends: 1, http: false });
    try {
      spawnSync('ip', ['netns', 'add', staleNs]);
      mkdirSync(join(staleDir, 'decap'), { recursive: true });
      const reaped = Lab.reapStale();
      expect(reaped).toEqual(expect.arrayContaining([staleNs, staleDir]));
      expect(existsSync(`/run/netns/${staleNs}`)).toBe(false);
      expect(existsSync(staleDir)).toBe(false);
      expect(Lab.listNamespaces(live.plan.nsPrefix)).toHaveLength(4);
      expect(existsSync(live.pinDir)).toBe(true);
    } finally {
      spawnSync('ip', ['netns', 'del', staleNs]);
      await live.destroy();
    }
  });
});
