// The probe tunnel (bpf/health/xlb_health.c at tc egress of an LB node's eth0) with real sockets:
// a connection from the LB node to the VIP, from a probe source port routed to one backend, is
// encapsulated to that backend only (IPIP, 4in6, IP6IP6), the backend decapsulates and answers from
// the VIP directly. Locally generated packets carry CHECKSUM_PARTIAL (the LB node's tx offload
// stays on here, as on a real host) and still arrive intact. Ports outside the range, and probe
// ports to another destination, pass untouched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withNetns } from '../../bpf/libbpf-ts/index.js';
import { fileURLToPath } from 'node:url';
import { ProbeTunnel } from '../../lb/health/index.js';
import { Lab, LAB_SCRIPTS } from '../lab/lab.js';

const PROBE_CMD = fileURLToPath(new URL('./probe-cmd.ts', import.meta.url));

const VIP4 = '10.100.0.10';
const VIP6 = 'fd00:100::10';
const PORTS = { min: 61000, max: 61099 };

let lab: Lab;
let tunnel: ProbeTunnel;

beforeAll(async () => {
  lab = await Lab.create({ backends: 2, lbNodes: 1, clients: 1, ipv6: true, vips4: [VIP4], vips6: [VIP6] });
  const ctx = lab.lbContext('lb1');
  tunnel = withNetns(ctx.netnsPath, () => ProbeTunnel.open({ ifindex: ctx.ifindex, ports: PORTS }));
}, 60_000);

afterAll(async () => {
  tunnel?.close();
  await lab?.destroy();
});

async function curlFrom(port: number, url: string): Promise<string> {
  const r = await lab.exec('lb1', ['curl', '-sS', '-g', '--max-time', '3', '--local-port', String(port), url], { check: false });
  return r.code === 0 ? r.stdout.trim() : `failed: ${r.stderr.trim()}`;
}

describe('the probe tunnel on an LB node', () => {
  it('sends each probe socket to its own backend: IPIP, 4in6 and IP6IP6', async () => {
    const ctx = lab.lbContext('lb1');
    const [b1, b2] = lab.backends as [typeof lab.backends[0], typeof lab.backends[0]];
    const cases = [
      { port: 61001, vip: VIP4, backend: b1.ipv4, src: ctx.ipv4, want: 'b1' },
      { port: 61002, vip: VIP4, backend: b2.ipv4, src: ctx.ipv4, want: 'b2' },
      { port: 61003, vip: VIP4, backend: b2.ipv6, src: ctx.ipv6, want: 'b2' },
      { port: 61004, vip: VIP6, backend: b1.ipv6, src: ctx.ipv6, want: 'b1' },
    ];
    for (const c of cases) tunnel.route({ port: c.port, protocol: 'tcp', vip: c.vip, vipPort: 80, backend: c.backend, outerSource: c.src });
    const before = tunnel.counters();
    for (const c of cases) expect(await curlFrom(c.port, lab.url(c.vip)), `port ${c.port}`).toBe(c.want);
    const after = tunnel.counters();
    expect(after.ipip.packets - before.ipip.packets).toBeGreaterThanOrEqual(2 * 4); // SYN, ACK, request, FIN... per connection
    expect(after.ip4in6.packets - before.ip4in6.packets).toBeGreaterThanOrEqual(4);
    expect(after.ip6ip6.packets - before.ip6ip6.packets).toBeGreaterThanOrEqual(4);
    expect(after.failed.packets).toBe(0);
    // The backends decapsulated them (their decap counters moved).
    expect((await lab.backendDecapStatus('b1')).counters.ip6ip6.packets).toBeGreaterThan(0);
    expect((await lab.backendDecapStatus('b2')).counters.ip4in6.packets).toBeGreaterThan(0);
  });

  it('leaves other traffic alone: a probe port to another destination, and ports outside the range', async () => {
    const b1 = lab.backends[0]!;
    tunnel.route({ port: 61010, protocol: 'tcp', vip: VIP4, vipPort: 80, backend: b1.ipv4, outerSource: lab.lbContext('lb1').ipv4 });
    const before = tunnel.counters();
    // Straight to b1's own address from the probe port: not the probe's destination, so not wrapped.
    expect(await curlFrom(61010, lab.url(b1.ipv4))).toBe('b1');
    // Outside the range: never looked up.
    expect(await curlFrom(62000, lab.url(b1.ipv4))).toBe('b1');
    const after = tunnel.counters();
    expect(after.mismatch.packets).toBeGreaterThan(before.mismatch.packets);
    expect(after.ipip.packets).toBe(before.ipip.packets);
  });

  it('runs the probes themselves through it: tcp, http (status check) and udp', async () => {
    const ctx = lab.lbContext('lb1');
    const b2 = lab.backends[1]!;
    const route = (port: number, protocol: 'tcp' | 'udp', vipPort: number) =>
      tunnel.route({ port, protocol, vip: VIP4, vipPort, backend: b2.ipv4, outerSource: ctx.ipv4 });
    route(61020, 'tcp', 80);
    route(61021, 'tcp', 80);
    route(61022, 'tcp', 80);
    route(61023, 'tcp', 81);
    route(61024, 'udp', 5353);
    route(61025, 'udp', 5354);
    // An echo on b2 answers on the VIP; nothing listens on 5354 (port unreachable).
    const echo = lab.spawnNode('b2', LAB_SCRIPTS.udpSink, ['--address', VIP4, '--port', '5353', '--echo']);
    await echo.waitForOutput(/^bound /, 10_000);
    const specs = [
      { kind: 'tcp', address: VIP4, port: 80, timeoutMs: 1000, localPort: 61020 },
      { kind: 'http', address: VIP4, port: 80, timeoutMs: 1000, localPort: 61021, path: '/health' },
      { kind: 'http', address: VIP4, port: 80, timeoutMs: 1000, localPort: 61022, path: '/nope' },
      { kind: 'tcp', address: VIP4, port: 81, timeoutMs: 1000, localPort: 61023 },
      { kind: 'udp', address: VIP4, port: 5353, timeoutMs: 1000, localPort: 61024, payload: 'ping' },
      { kind: 'udp', address: VIP4, port: 5354, timeoutMs: 500, localPort: 61025, payload: 'ping' },
    ];
    const r = await lab.execTs('lb1', PROBE_CMD, [JSON.stringify(specs)]);
    await echo.stop();
    expect(JSON.parse(r.stdout)).toEqual([
      { ok: true },
      { ok: true },
      { ok: false, error: 'HTTP 404' },
      { ok: false, error: 'connect refused' },
      { ok: true },
      { ok: false, error: 'port unreachable' },
    ]);
  });
});
