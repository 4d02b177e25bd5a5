// The capability sets of systemd/xlbd.service and systemd/xlb-decap@.service, proven on the real
// kernel. There is no systemd (PID 1) on the test machines, so the unit's CapabilityBoundingSet is
// applied the way systemd applies it to a root service: setpriv --bounding-set (uid 0 then holds
// exactly those capabilities) plus --no-new-privs. With the unit's set (no CAP_SYS_ADMIN) the real
// xlbd starts, attaches, records and serves HTTP through the VIP to a backend whose decapsulation
// was attached by the real `xlb decap attach` under the decap unit's set, and adopts its pins on a
// restart; with a capability taken away each fails for the documented reason. The lab's bpffs is
// mounted already, as the unit's privileged ExecStartPre= makes sure it is.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XlbClient } from '../../api/client/index.js';
import { RecorderApiClient } from '../../api/client/recorder.js';
import { repoRoot } from '../lab/paths.js';
import { buildCli, runCli, type CliBuild, type CliResult } from '../cli/run.js';
import { XlbdInstance } from '../daemon/xlbd.js';
import { Lab } from '../lab/lab.js';
import { kernelCapabilities, processCapabilities, UnitFile } from './unit-file.js';

const XLBD_UNIT = UnitFile.read(join(repoRoot, 'systemd', 'xlbd.service'));
const DECAP_UNIT = UnitFile.read(join(repoRoot, 'systemd', 'xlb-decap@.service'));
const XLBD_CAPS = XLBD_UNIT.list('Service', 'CapabilityBoundingSet');
const DECAP_CAPS = DECAP_UNIT.list('Service', 'CapabilityBoundingSet');
const VIP = '10.100.0.10';

/** setpriv arguments giving a root process exactly `caps`, as systemd's bounding set does. */
function capped(caps: readonly string[]): string[] {
  const names = caps.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`);
  return ['setpriv', '--bounding-set', ['-all', ...names].join(','), '--no-new-privs'];
}

class CappedXlbd extends XlbdInstance {
  caps: readonly string[] = XLBD_CAPS;
  override argv(args: string[]): string[] {
    return [...capped(this.caps), ...super.argv(args)];
  }
}

let lab: Lab;
let build: CliBuild;

beforeAll(async () => {
  build = buildCli();
  lab = await Lab.create({ backends: 1, clients: 1, lbNodes: 1, ipv6: false, decap: false, vips4: [VIP] });
}, 180_000);

afterAll(async () => {
  await lab?.destroy();
  build?.remove();
});

const decapPin = () => join(lab.pinDir, 'caps-decap-b1');

function decapAs(caps: readonly string[], action: 'attach' | 'status' | 'detach'): Promise<CliResult> {
  const sources = action === 'attach' ? ['--allow-source', lab.lbs[0]!.ipv4] : [];
  return runCli(build, ['decap', action, '--dev', 'eth0', ...sources, '--pin-dir', decapPin(), '-o', 'json'], {
    prefix: ['nsenter', `--net=${lab.netnsPath('b1')}`, '--', ...capped(caps)],
  });
}

/** Whatever a failed start left on the LB node's interface goes, so the next attempt starts clean. */
async function detachLeftovers(): Promise<void> {
  await lab.exec('lb1', ['ip', 'link', 'set', 'dev', 'eth0', 'xdp', 'off'], { check: false });
}

async function startFails(caps: readonly string[]): Promise<string> {
  const x = new CappedXlbd({ lab });
  x.caps = caps;
  try {
    const r = await x.startExpectingFailure();
    expect(r.code, r.output).toBe(1);
    return r.output;
  } finally {
    await x.dispose();
    await detachLeftovers();
  }
}

describe('capabilities named in the units', () => {
  it('are real capability names, listed once', () => {
    const known = kernelCapabilities();
    for (const caps of [XLBD_CAPS, DECAP_CAPS]) {
      for (const c of caps) expect(known.has(c), c).toBe(true);
      expect(new Set(caps).size).toBe(caps.length);
    }
    expect([...XLBD_CAPS].sort()).toEqual(['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON']);
    expect([...DECAP_CAPS].sort()).toEqual(['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON']);
  });
});

describe('xlb-decap@.service capability set', () => {
  it('without CAP_PERFMON or CAP_NET_ADMIN `xlb decap attach` fails and leaves nothing', async () => {
    const expected: Record<string, RegExp> = {
      // the verifier's pointer rules for !perfmon_capable()
      CAP_PERFMON: /^xlb: load BPF object .*xlb_decap\.o.*EACCES.*pointer arithmetic with it prohibited for !root/,
      // networking program types need CAP_NET_ADMIN to load at all
      CAP_NET_ADMIN: /^xlb: load BPF object .*xlb_decap\.o.*EPERM \(Operation not permitted\)/,
    };
    for (const [missing, pattern] of Object.entries(expected)) {
      const r = await decapAs(DECAP_CAPS.filter((c) => c !== missing), 'attach');
      expect(r.code, `${missing}: ${r.stdout}`).toBe(1);
      expect(r.stderr, missing).toMatch(pattern);
    }
    const s = JSON.parse((await decapAs(DECAP_CAPS, 'status')).stdout);
    expect([s.attached, s.pinned]).toEqual([false, false]);
  });

  it('with exactly the unit set it attaches (the HTTP test below depends on it)', async () => {
    const r = await decapAs(DECAP_CAPS, 'attach');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ pin_dir: decapPin(), addresses: [lab.backends[0]!.ipv4], reused: false });
    const s = JSON.parse((await decapAs(DECAP_CAPS, 'status')).stdout);
    expect([s.attached, s.pinned]).toEqual([true, true]);
  });
});

describe('xlbd.service capability set', () => {
  it('xlbd with exactly the unit set (no CAP_SYS_ADMIN): becomes ready, serves HTTP through the VIP, records it', async () => {
    const x = new CappedXlbd({ lab });
    const client = XlbClient.connect({ server: `unix://${x.socket}` });
    const recorder = RecorderApiClient.connect({ server: `unix://${x.socket}` });
    try {
      await x.start();
      const caps = processCapabilities(x.proc!.pid!);
      expect(caps.CapEff).toEqual([...XLBD_CAPS].sort());
      expect(caps.CapEff).not.toContain('CAP_SYS_ADMIN');
      expect(caps.CapBnd).toEqual([...XLBD_CAPS].sort());
      expect(caps.CapAmb).toEqual([]);
      expect(/^NoNewPrivs:\s*1$/m.test((await import('node:fs')).readFileSync(`/proc/${x.proc!.pid}/status`, 'utf8'))).toBe(true);

      const status = await client.getStatus();
      expect(status.interfaces[0]).toMatchObject({ name: 'eth0', attached: true, mode: 'XDP_MODE_NATIVE' });
      await client.createService({ id: `${VIP}:80/tcp`, backends: [{ address: lab.backends[0]!.ipv4 }] });

      // The recorder (its maps and ring) works without CAP_SYS_ADMIN: a real recording of the load.
      let bytes = 0;
      const call = recorder.record(
        { filters: [{ dstCidr: VIP, dstPort: 80, proto: 'CAPTURE_PROTOCOL_TCP' }], points: 'CAPTURE_POINTS_INGRESS', maxPackets: 3 },
        { chunk: (c) => (bytes += c.length) },
      );
      await new Promise((r) => setTimeout(r, 300));
      const load = await lab.httpLoad('c1', { url: lab.url(VIP), connections: 50, concurrency: 4 });
      expect(load.failed).toBe(0);
      expect(load.perBackend).toEqual({ b1: 50 });
      const end = await call.done;
      expect(end?.reason).toBe('RECORD_END_REASON_MAX_PACKETS');
      expect(end?.stats).toMatchObject({ captured: '3', lost: '0' });
      expect(bytes).toBeGreaterThan(24 + 3 * (16 + 54)); // pcap header + 3 TCP/IPv4 frames at least
      const stats = await client.getStats(`${VIP}:80/tcp`);
      expect(Number(stats.services[0]!.packets)).toBeGreaterThan(0);
      expect(await x.stop('SIGTERM')).toEqual({ code: 0, signal: null });

      // A restart adopts the pinned datapath (pins are opened by path, never by id) and its
      // recorder, still without CAP_SYS_ADMIN.
      await x.start();
      expect(x.output).toMatch(/datapath adopted/);
      expect((await client.getStatus()).recorderAvailable).toBe(true);
      const again = await lab.httpLoad('c1', { url: lab.url(VIP), connections: 10, concurrency: 2 });
      expect(again.failed).toBe(0);
      expect(await x.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    } finally {
      recorder.raw.close();
      client.close();
      await x.dispose();
      await detachLeftovers();
    }
  });

  it('without CAP_PERFMON the verifier refuses the datapath', async () => {
    const out = await startFails(XLBD_CAPS.filter((c) => c !== 'CAP_PERFMON'));
    // Unprivileged BPF may not do arithmetic between packet pointers: the verifier names the first
    // such instruction it meets (which one depends on how clang laid the program out).
    expect(out).toMatch(/start failed: load BPF object .*EACCES.*(pointer -= pointer prohibited|partial copy of pointer)/);
  });

  it('without CAP_NET_ADMIN start fails: the XDP program may not even be loaded', async () => {
    // (Attaching over netlink needs it too, but the load refuses first: networking program types
    // need CAP_NET_ADMIN unless CAP_SYS_ADMIN is held, which the unit no longer grants.)
    const out = await startFails(XLBD_CAPS.filter((c) => c !== 'CAP_NET_ADMIN'));
    expect(out).toMatch(/start failed: load BPF object .*xlb_lb\.o.*EPERM \(Operation not permitted\).*prog 'xlb_lb': BPF program load failed/);
  });

  it('without CAP_BPF start fails: bpf(2) refuses even a trivial program', async () => {
    // (CAP_SYS_ADMIN would imply CAP_BPF; without it CAP_BPF is needed in its own right.)
    const out = await startFails(XLBD_CAPS.filter((c) => c !== 'CAP_BPF'));
    expect(out).toMatch(/start failed: load BPF object .*xlb_lb\.o.*EPERM \(Operation not permitted\).*Couldn't load trivial BPF program/);
  });
});

describe('xlb-decap@.service stop', () => {
  it('`xlb decap detach` with the unit set removes the program and pins', async () => {
    const r = await decapAs(DECAP_CAPS, 'detach');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ detached: true, unpinned: true });
    const s = JSON.parse((await decapAs(DECAP_CAPS, 'status')).stdout);
    expect([s.attached, s.pinned]).toEqual([false, false]);
  });
});
