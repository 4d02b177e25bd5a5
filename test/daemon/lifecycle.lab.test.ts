// The daemon's lifecycle beyond the API: systemd readiness (READY=1 only once the datapath is
// attached and the API answers; RELOADING/STOPPING), an upgrade to a new program version under
// load (maps and flows kept, program replaced atomically, not one request lost), a restart with
// changed load-time settings (fresh maps, program swapped with replace-expected semantics), a
// loud fallback to generic XDP where native is impossible, and a reload with a broken config file.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfMap, withNetns, xdpQuery } from '../../bpf/libbpf-ts/index.js';
import { compileBpfVariant } from '../lab/bpf-variant.js';
import { Lab, type LabProcess } from '../lab/lab.js';
import { XlbdInstance } from './xlbd.js';

const VIP = '10.100.0.10';
let lab: Lab;
let xlbd: XlbdInstance;
let receiver: LabProcess;

function notifications(): string[] {
  return receiver.stdout
    .split('\n')
    .filter((l) => l.startsWith('"'))
    .map((l) => JSON.parse(l) as string);
}

async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  lab = await Lab.create({ backends: 2, clients: 1, lbNodes: 1, ipv6: false });
  xlbd = new XlbdInstance({ lab, config: { detach_on_exit: false } });
  const sock = join(xlbd.dir, 'notify.sock');
  receiver = lab.spawn('lb1', ['/usr/bin/python3', fileURLToPath(new URL('./notify_receiver.py', import.meta.url)), sock], { keepMounts: true });
  await receiver.waitForOutput(/^bound/);
  xlbd.env.NOTIFY_SOCKET = sock;
}, 120_000);

afterAll(async () => {
  await receiver?.stop('SIGKILL');
  await xlbd?.dispose();
  await lab?.destroy();
});

describe('xlbd lifecycle', () => {
  it('tells systemd READY=1 after attaching and listening; RELOADING on SIGHUP; STOPPING on SIGTERM', async () => {
    await xlbd.start();
    await until('READY=1', () => notifications().some((n) => n.includes('READY=1')));
    const ready = notifications().find((n) => n.includes('READY=1'))!;
    expect(ready).toMatch(/STATUS=0 services on eth0 \(XDP native, program \d+, loaded\)/);
    // By the time READY=1 was sent, the datapath was attached and the API answered.
    expect((await xlbd.client.call('GetStatus')).interfaces[0].attached).toBe(true);
    await xlbd.client.call('CreateService', { service: { id: `${VIP}:80/tcp`, backends: lab.backends.map((b) => ({ address: b.ipv4 })) } });

    xlbd.signal('SIGHUP');
    await until('reload', () => notifications().filter((n) => n.includes('READY=1')).length === 2);
    expect(notifications()).toContain('RELOADING=1');
    await xlbd.stop();
    await until('STOPPING=1', () => notifications().includes('STOPPING=1'));
  });

  it('upgrades to a new program version under load: maps and flows kept, no request lost', async () => {
    const ctx = lab.lbContext('lb1');
    // The same source built for BPF ISA v2 (the build uses v3): different instructions, same maps.
    const v3 = join(xlbd.dir, 'xlb_lb_v2.o');
    compileBpfVariant('lb/xlb_lb.c', v3, ['-mcpu=v2']);
    const before = withNetns(ctx.netnsPath, () => xdpQuery(ctx.ifindex)).nativeProgId;
    const servicesMapId = BpfMap.openPinned(join(xlbd.pinDir, 'services'));
    const mapId = servicesMapId.id;
    servicesMapId.close();

    const load = lab.httpLoad('c1', { url: lab.url(VIP), keepalive: 4, requests: 250, intervalMs: 20 });
    await new Promise((r) => setTimeout(r, 1000));
    xlbd.env.XLBD_BPF_OBJECT = v3;
    await xlbd.start();
    const result = await load;
    expect(result.failed, JSON.stringify(result)).toBe(0);
    expect(result.backendSwitches).toBe(0);
    expect(xlbd.output).toMatch(/datapath upgraded: program tag \w+ → \w+, maps kept/);
    expect(xlbd.output).toMatch(new RegExp(`program \\d+ replaced program ${before} atomically`));
    const after = withNetns(ctx.netnsPath, () => xdpQuery(ctx.ifindex)).nativeProgId;
    expect(after).not.toBe(before);
    const s = await xlbd.client.call('GetStatus');
    expect(s.interfaces[0].programId).toBe(after);
    expect(s.adoptedDatapath).toBe(true);
    const services = BpfMap.openPinned(join(xlbd.pinDir, 'services'));
    expect(services.id).toBe(mapId); // the very same map
    services.close();
    await xlbd.stop();
    delete xlbd.env.XLBD_BPF_OBJECT;
  });

  it('changed load-time settings: a fresh datapath replaces the running one atomically', async () => {
    const ctx = lab.lbContext('lb1');
    const before = withNetns(ctx.netnsPath, () => xdpQuery(ctx.ifindex)).nativeProgId;
    xlbd.writeConfig({ maglev: { table_size: 4093, seed: 8 } });
    await xlbd.start();
    expect(xlbd.output).toMatch(/datapath: load-time settings changed \(maglev\.seed 7 → 8\)/);
    expect(xlbd.output).toMatch(new RegExp(`replaced program ${before} atomically`));
    const s = await xlbd.client.call('GetStatus');
    expect(s.maglevSeed).toBe(8);
    expect(s.interfaces[0].programId).not.toBe(before);
    // The services were programmed into the new maps before the swap.
    const load = await lab.httpLoad('c1', { url: lab.url(VIP), connections: 100, concurrency: 4 });
    expect(load.failed).toBe(0);
    expect(Object.keys(load.perBackend).length).toBe(2);
  });

  it('a broken config file on SIGHUP keeps the running configuration', async () => {
    xlbd.writeConfig({ maglev: { table_size: 4093, seed: 8 }, mtu: 'large' });
    xlbd.signal('SIGHUP');
    await until('reload failure', () => /reload failed, the running configuration is kept: .*mtu/.test(xlbd.output));
    expect((await xlbd.client.call('ListServices')).services).toHaveLength(1);
    xlbd.writeConfig({ maglev: { table_size: 4093, seed: 8 } });
    await xlbd.stop();
  });

  it('falls back to generic XDP loudly where native XDP is impossible (lo)', async () => {
    const lo = new XlbdInstance({ lab, config: { interfaces: ['lo'], detach_on_exit: true } });
    try {
      await lo.start();
      expect(lo.output).toMatch(/xlbd error: lo: NATIVE XDP IS NOT AVAILABLE .*FELL BACK TO GENERIC MODE/);
      const s = await lo.client.call('GetStatus');
      expect(s.interfaces[0]).toMatchObject({ name: 'lo', attached: true, mode: 'XDP_MODE_GENERIC' });
      // The gateway is behind eth0: reported, not silently used.
      expect(s.gateway.resolved).toBe(false);
      expect(lo.output).toMatch(/leaves through eth0, but xlb is attached to lo/);
      await lo.stop();
      const q = withNetns(lab.netnsPath('lb1'), () => xdpQuery(1));
      expect(q.progId).toBe(0);
    } finally {
      await lo.dispose();
    }
  });
});
