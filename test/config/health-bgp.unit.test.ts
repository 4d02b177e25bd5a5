// The config file's health: and bgp: sections and per-service health checks: defaults, values, and
// errors that name the YAML path with file:line:column.
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '../../lb/config/index.js';
import { DesiredState } from '../../lb/model/index.js';

const MIN = 'interfaces: [eth0]\ngateway: 192.0.2.1\n';

function resolve(text: string) {
  return resolveConfig({ yaml: { text: `${MIN}${text}`, file: 'xlb.yaml' }, checkFiles: false });
}

function errorOf(text: string): string {
  try {
    resolve(text);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('health:', () => {
  it('defaults and values', () => {
    expect(resolve('').health).toEqual({ sourcePorts: { min: 61000, max: 61999 }, maxConcurrency: 256 });
    expect(resolve('health: { source_ports: 62000-62099, max_concurrency: 50 }\n').health).toEqual({ sourcePorts: { min: 62000, max: 62099 }, maxConcurrency: 50 });
  });

  it('errors name the setting', () => {
    expect(errorOf('health: { source_ports: 61000 }\n')).toMatch(/^xlb\.yaml:3:25: health\.source_ports: 61000 must be a port range FIRST-LAST within 1024-65535/);
    expect(errorOf('health: { source_ports: 62000-61000 }\n')).toMatch(/health\.source_ports: "62000-61000" must be a port range/);
    expect(errorOf('health: { source_ports: 61000-61009, max_concurrency: 11 }\n')).toMatch(/health\.max_concurrency: 11 probes at once need as many source ports, and health\.source_ports has 10/);
    expect(errorOf('health: { probes: 3 }\n')).toMatch(/health\.probes: unknown setting; expected one of: source_ports, max_concurrency/);
  });
});

describe('services[].health_check', () => {
  it('is checked with the file position of the offending value', () => {
    const svc = (check: string) => `services:\n  - id: 10.0.0.10:80/tcp\n    health_check: ${check}\n`;
    expect(errorOf(svc('{ kind: http, interval: 0s }'))).toMatch(/^xlb\.yaml:5:\d+: services\[0\]\.health_check\.interval: 0s is out of range; must be 100ms\.\.3600s$/);
    expect(errorOf(svc('{ kind: http, interval: 1s, timeout: 1s }'))).toMatch(/services\[0\]\.health_check\.timeout: 1s must be shorter than the interval \(1s\)/);
    expect(errorOf(svc('{ kind: ping }'))).toMatch(/services\[0\]\.health_check\.kind: unknown check kind "ping"; expected one of: tcp, http, udp, none/);
    expect(errorOf(svc('{ kind: http, path: healthz }'))).toMatch(/services\[0\]\.health_check\.path: "healthz" must start with '\/'/);
    expect(errorOf(svc('{ kind: tcp, rise: 0 }'))).toMatch(/services\[0\]\.health_check\.rise: 0 is out of range; must be an integer 1\.\.100/);
    expect(errorOf(svc('{ kind: tcp, interval: 2 }'))).toMatch(/services\[0\]\.health_check\.interval: 2 is not a duration; write it with a unit/);
    expect(errorOf(svc('{ kind: tcp, intervall: 2s }'))).toMatch(/services\[0\]\.health_check\.intervall: unknown key/);
    expect(errorOf('services:\n  - id: "10.0.0.10:*/tcp"\n    health_check: { kind: tcp }\n')).toMatch(/services\[0\]\.health_check\.port: is required: the service covers all ports/);
    expect(errorOf(`services:\n  - id: 10.0.0.10:80/tcp\n    backends: [{ address: 10.1.0.5, check_port: 70000 }]\n`)).toMatch(/services\[0\]\.backends\[0\]\.check_port: 70000 is out of range/);
  });

  it('a valid check becomes part of the service', () => {
    const c = resolve('services:\n  - id: 10.0.0.10:80/tcp\n    health_check: { kind: http, path: /healthz, interval: 1.5s, expect_status: 200 }\n    backends: [10.1.0.5]\n');
    const s = new DesiredState({ limits: c.limits });
    s.apply(c.services, { origin: 'config' });
    expect(s.get('10.0.0.10:80/tcp').healthCheck).toEqual({
      kind: 'http', mode: 'tunnel', intervalMs: 1500, timeoutMs: 750, rise: 2, fall: 3, path: '/healthz', expectStatus: { min: 200, max: 200 }, failOpen: true,
    });
  });
});

describe('bgp:', () => {
  it('absent: no BGP; present: defaults and values', () => {
    expect(resolve('').bgp).toBeUndefined();
    expect(resolve('bgp: {}\n').bgp).toEqual({
      gobgpApi: '127.0.0.1:50051', listenPort: 179, neighbors: [], communities: [], announce: 'when_healthy', withdrawOnStop: true, shutdownDelayMs: 5000,
    });
    const c = resolve(
      'bgp:\n  gobgp_api: "[::1]:50052"\n  router_id: 192.0.2.10\n  local_as: 4200000001\n  listen_port: 0\n' +
        '  neighbors:\n    - { address: 192.0.2.1, peer_as: 65000, hold_time: 9s, keepalive: 3s, connect_retry: 5s, passive: true }\n' +
        '    - { address: "2001:db8::1", peer_as: 65000, port: 1179, ebgp_multihop: 2, password: s3cret }\n' +
        '  next_hop: 192.0.2.10\n  next_hop_v6: 2001:db8::10\n  communities: ["65000:100", 42]\n  announce: always\n  withdraw_on_stop: false\n  shutdown_delay: 500ms\n',
    ).bgp!;
    expect(c).toEqual({
      gobgpApi: '[::1]:50052', routerId: '192.0.2.10', localAs: 4200000001, listenPort: -1,
      neighbors: [
        { address: '192.0.2.1', peerAs: 65000, port: 179, passive: true, holdTime: 9, keepalive: 3, connectRetry: 5 },
        { address: '2001:db8::1', peerAs: 65000, port: 1179, passive: false, multihopTtl: 2, password: 's3cret' },
      ],
      nextHop: '192.0.2.10', nextHopV6: '2001:db8::10', communities: [65000 * 65536 + 100, 42], announce: 'always', withdrawOnStop: false, shutdownDelayMs: 500,
    });
  });

  it('errors name the setting', () => {
    const n = (neighbor: string) => `bgp:\n  local_as: 65001\n  neighbors:\n    - ${neighbor}\n`;
    expect(errorOf('bgp: { gobgp_api: "192.0.2.1:50051" }\n')).toMatch(/bgp\.gobgp_api: 192\.0\.2\.1:50051 is not a loopback address; gobgpd's API is plaintext/);
    expect(errorOf(n('{ peer_as: 65000 }'))).toMatch(/^xlb\.yaml:\d+:\d+: bgp\.neighbors\[0\]\.address: is required/);
    expect(errorOf(n('{ address: 192.0.2.300, peer_as: 65000 }'))).toMatch(/bgp\.neighbors\[0\]\.address: "192\.0\.2\.300" is not a valid IPv4 or IPv6 address/);
    expect(errorOf(n('{ address: 192.0.2.1, peer_as: 0 }'))).toMatch(/bgp\.neighbors\[0\]\.peer_as: 0 must be an integer 1\.\.4294967295/);
    expect(errorOf(n('{ address: 192.0.2.1, peer_as: 65000, hold_time: 2s }'))).toMatch(/bgp\.neighbors\[0\]\.hold_time: must be 0 or at least 3s/);
    expect(errorOf(n('{ address: 192.0.2.1, peer_as: 65000, hold: 9s }'))).toMatch(/bgp\.neighbors\[0\]\.hold: unknown setting/);
    expect(errorOf('bgp:\n  neighbors: [{ address: 192.0.2.1, peer_as: 65000 }]\n')).toMatch(/bgp\.neighbors: need bgp\.local_as/);
    expect(errorOf(n('{ address: 192.0.2.1, peer_as: 65000 }\n    - { address: 192.0.2.1, peer_as: 65001 }'))).toMatch(/bgp\.neighbors\[1\]\.address: 192\.0\.2\.1 is listed twice \(also bgp\.neighbors\[0\]\)/);
    expect(errorOf('bgp: { router_id: "2001:db8::1" }\n')).toMatch(/bgp\.router_id: 2001:db8::1 is not an IPv4 address/);
    expect(errorOf('bgp: { next_hop_v6: 192.0.2.10 }\n')).toMatch(/bgp\.next_hop_v6: 192\.0\.2\.10 is IPv4; next_hop_v6 needs an IPv6 address/);
    expect(errorOf('bgp: { communities: ["65000:70000"] }\n')).toMatch(/bgp\.communities\[0\]: "65000:70000" is not a community/);
    expect(errorOf('bgp: { announce: sometimes }\n')).toMatch(/bgp\.announce: "sometimes" must be when_healthy or always/);
    expect(errorOf('bgp: { shutdown_delay: 10m }\n')).toMatch(/bgp\.shutdown_delay: must be at most 5m/);
  });
});
