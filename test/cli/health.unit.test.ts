// The CLI's health-check and BGP parts against the stand-in server (test/cli/stand-in-server.ts:
// replies from lb/model's DesiredState, health and BGP scripted by the test): the --check options
// of `service add|set`, health in `service list`, `stats` and `status`, the JSON forms (which
// `xlb apply -f` reads back), and `drain-node`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCliInProcess, type CliResult } from './run.js';
import { StandInServer } from './stand-in-server.js';

let dir: string;
let server: StandInServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), `xlb-cli-health-${process.pid}-`));
  server = await StandInServer.start(join(dir, 'xlb.sock'));
});

afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => server.reset());

function xlb(args: string[], o: { input?: string } = {}): Promise<CliResult> {
  return runCliInProcess(args, { input: o.input, env: { XLB_SERVER: server.address } });
}

const SVC = '10.0.0.10:80/tcp';

async function seedChecked(): Promise<void> {
  const r = await xlb(['service', 'add', SVC, '-b', '10.1.0.5', '-b', '10.1.0.6', '--check', 'http:/healthz', '--check-interval', '2s', '--check-timeout', '1s', '--rise', '2', '--fall', '3']);
  expect(r.code, r.stderr).toBe(0);
  server.calls.length = 0;
}

describe('health checks in the CLI', () => {
  it('service add --check ... sends the check as typed; the daemon fills in the defaults', async () => {
    await seedChecked();
    const created = server.state.get(SVC);
    expect(created.healthCheck).toEqual({
      kind: 'http', mode: 'tunnel', intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 3, path: '/healthz', expectStatus: { min: 200, max: 399 }, failOpen: true,
    });
    const r = await xlb(['service', 'add', '10.0.0.11:53/udp', '-b', '10.1.0.5', '--check', 'udp', '--check-payload', 'ping', '--no-fail-open', '--check-mode', 'direct']);
    expect(r.code, r.stderr).toBe(0);
    expect(server.callsOf('CreateService')[0]).toMatchObject({
      service: { id: '10.0.0.11:53/udp', healthCheck: { kind: 'udp', payload: 'ping', failOpen: false, optionalFailOpen: 'failOpen', mode: 'direct' } },
    });
    expect(r.stdout).toContain('udp every 2s (timeout 1s, rise 2, fall 3, direct, no fail-open)');
  });

  it("passes the daemon's field-naming errors through, and refuses check options without --check", async () => {
    const cases: [string[], RegExp][] = [
      [['service', 'add', SVC, '--check', 'icmp'], /^xlb: service\.health_check\.kind: unknown check kind "icmp"; expected one of: tcp, http, udp, none$/],
      [['service', 'add', SVC, '--check', 'http:healthz'], /^xlb: service\.health_check\.path: "healthz" must start with '\/'$/],
      [['service', 'add', SVC, '--check', 'tcp', '--check-interval', '0s'], /^xlb: service\.health_check\.interval: 0s is out of range; must be 100ms\.\.3600s$/],
      [['service', 'add', SVC, '--check', 'tcp', '--check-interval', '1s', '--check-timeout', '2s'], /^xlb: service\.health_check\.timeout: 2s must be shorter than the interval \(1s\)/],
      [['service', 'add', SVC, '--check', 'tcp', '--rise', '0'], /^xlb: service\.health_check\.rise: 0 is out of range; must be an integer 1\.\.100$/],
      [['service', 'add', SVC, '--check', 'tcp', '--check-interval', '2'], /^xlb: service\.health_check\.interval: "2" is not a duration; write it with a unit, e.g\. 2s or 500ms$/],
    ];
    for (const [args, re] of cases) {
      const r = await xlb(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr.trimEnd()).toMatch(re);
    }
    const usage = await xlb(['service', 'add', SVC, '--rise', '2']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--check KIND is needed/);
    expect(server.state.list()).toEqual([]);
  });

  it('service set changes one setting of the current check, keeps the flags, and --check none removes it', async () => {
    await seedChecked();
    await xlb(['service', 'set', SVC, '--source-hash']);
    expect(server.state.get(SVC).healthCheck?.kind).toBe('http'); // absent check: kept
    server.calls.length = 0;
    const r = await xlb(['service', 'set', SVC, '--check-mode', 'direct', '--check-port', '8080']);
    expect(r.code, r.stderr).toBe(0);
    expect(server.state.get(SVC).flags.sourceHash).toBe(true);
    expect(server.state.get(SVC).healthCheck).toMatchObject({ kind: 'http', mode: 'direct', port: 8080, path: '/healthz', intervalMs: 2000, rise: 2, fall: 3 });
    // Switching the kind drops the settings of the old kind.
    expect((await xlb(['service', 'set', SVC, '--check', 'tcp'])).code).toBe(0);
    expect(server.state.get(SVC).healthCheck).toMatchObject({ kind: 'tcp', mode: 'direct', port: 8080 });
    expect(server.state.get(SVC).healthCheck?.path).toBeUndefined();
    expect((await xlb(['service', 'set', SVC, '--check', 'none'])).code).toBe(0);
    expect(server.state.get(SVC).healthCheck).toBeUndefined();
    const none = await xlb(['service', 'set', SVC, '--fall', '5']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/has no health check; give --check KIND to add one/);
  });

  it('service list shows each backend\'s health, the check, and a service failing open', async () => {
    await seedChecked();
    const now = Date.now();
    server.backendHealth.set(`${SVC}|10.1.0.5`, { status: 'up', sinceMs: now - 192_000, lastError: undefined, lastCheckMs: now, probe: 'http 10.0.0.10:80/healthz through the tunnel to 10.1.0.5' });
    server.backendHealth.set(`${SVC}|10.1.0.6`, { status: 'down', sinceMs: now - 12_000, lastError: 'connect refused', lastCheckMs: now, probe: 'x' });
    const r = await xlb(['service', 'list']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^SERVICE\s+ORIGIN\s+FLAGS\s+ID\s+M\s+PACKETS\s+BYTES\s+HEALTH$/);
    expect(lines[2]).toMatch(/^10\.0\.0\.10:80\/tcp .* http \/healthz every 2s \(timeout 1s, rise 2, fall 3\)$/);
    expect(lines[3]).toMatch(/^  -> 10\.1\.0\.5 .* up 3m1[23]s\s*$/);
    expect(lines[4]).toMatch(/^  -> 10\.1\.0\.6 .* down 1[23]s: connect refused\s*$/);

    server.serviceHealth.set(SVC, { allBackendsDown: true, failingOpen: true });
    expect((await xlb(['service', 'show', SVC])).stdout).toContain('ALL BACKENDS DOWN: failing open');
    const stats = await xlb(['stats']);
    expect(stats.stdout).toMatch(/-> 10\.1\.0\.6 .* down 1[23]s: connect refused/);
    expect(stats.stdout).toContain('ALL BACKENDS DOWN: failing open');

    const json = JSON.parse((await xlb(['service', 'show', SVC, '-o', 'json'])).stdout).service;
    expect(json.health_check).toEqual({ kind: 'http', mode: 'tunnel', interval: '2s', timeout: '1s', rise: 2, fall: 3, path: '/healthz', expect_status: '200-399', fail_open: true });
    expect(json.health).toEqual({ all_backends_down: true, failing_open: true });
    expect(json.backends[1].health).toMatchObject({ state: 'down', last_error: 'connect refused', probe: 'x' });
  });

  it('`service list -o json | xlb apply -f -` keeps checks and per-backend overrides (a no-op)', async () => {
    const file = `services:\n  - id: ${SVC}\n    health_check: { kind: tcp, interval: 500ms, fall: 2 }\n    backends:\n      - { address: 10.1.0.5, check_port: 8080 }\n      - { address: 10.1.0.6, check_address: 10.9.0.6 }\n`;
    expect((await xlb(['apply', '-f', '-'], { input: file })).code).toBe(0);
    expect(server.state.get(SVC).backends.map((b) => [b.checkAddress, b.checkPort])).toEqual([[undefined, 8080], ['10.9.0.6', undefined]]);
    server.backendHealth.set(`${SVC}|10.1.0.5`, { status: 'up', sinceMs: 1, lastError: undefined, lastCheckMs: 1, probe: 'p' });
    const list = await xlb(['service', 'list', '-o', 'json']);
    const again = await xlb(['apply', '-f', '-'], { input: list.stdout });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(`unchanged  ${SVC}\n0 created, 0 updated, 0 deleted, 1 unchanged\n`);
    const bad = await xlb(['apply', '-f', '-'], { input: `- id: ${SVC}\n  health_check:\n    kind: tcp\n    rise: 0\n` });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^xlb: <stdin>:4:11: services\[0\]\.health_check\.rise: 0 is out of range; must be an integer 1\.\.100\n$/);
  });
});

describe('BGP in the CLI', () => {
  it('status shows health checking, the sessions and what is announced', async () => {
    server.status = {
      ...server.status,
      health: { checkedBackends: 4, up: 2, down: 2, unknown: 0, inFlight: 1, lateProbes: '0', tunnelAttached: true, tunnelError: '', allDownServices: [SVC], failingOpenServices: [SVC] },
      bgp: {
        enabled: true, connected: true, gobgpApi: '127.0.0.1:50051', error: '', announce: 'when_healthy', nextHop: '10.2.1.2', nextHopV6: '', drained: false,
        neighbors: [{ address: '10.2.1.1', peerAs: 65000, state: 'established', uptimeSeconds: '125' }],
        prefixes: [{ prefix: '10.0.0.10/32', announced: true, reason: 'healthy' }, { prefix: '10.0.0.11/32', announced: false, reason: 'no healthy backend' }],
      },
    };
    const r = await xlb(['status']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('health         4 backends checked: 2 up, 2 down, 0 unknown; FAILING OPEN: 10.0.0.10:80/tcp\n');
    expect(r.stdout).toContain('bgp            gobgpd 127.0.0.1:50051 connected, announce when_healthy, next hop 10.2.1.2\n');
    expect(r.stdout).toContain('bgp neighbors  10.2.1.1 AS65000 established 2m05s\n');
    expect(r.stdout).toContain('bgp announced  10.0.0.10/32\n');
    expect(r.stdout).toContain('bgp withheld   10.0.0.11/32 (no healthy backend)\n');
    const json = JSON.parse((await xlb(['status', '-o', 'json'])).stdout);
    expect(json.bgp).toMatchObject({ connected: true, neighbors: [{ address: '10.2.1.1', peer_as: 65000, state: 'established', uptime_seconds: 125 }] });
    expect(json.health).toMatchObject({ checked_backends: 4, failing_open_services: [SVC] });
  });

  it('drain-node and drain-node --undo', async () => {
    const d = await xlb(['drain-node']);
    expect([d.code, d.stdout]).toEqual([0, 'node drained: withdrew 10.0.0.10/32\n']);
    expect(server.callsOf('DrainNode')).toEqual([{ undo: false }]);
    const u = await xlb(['drain-node', '--undo', '-o', 'json']);
    expect(JSON.parse(u.stdout)).toEqual({ drained: false, withdrawn: [], announced: ['10.0.0.10/32'] });
  });
});
