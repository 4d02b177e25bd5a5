// Health checks in the model, the way requests reach it: through the real proto codec for the API
// (presence of rise/fall/fail_open), UpdateService's "absent = unchanged, kind none = removed",
// the state file's round trip, and the diff (a check change is not a datapath change).
import { describe, expect, it } from 'vitest';
import { loadXlbProto } from '../../api/generated/load.js';
import { serviceInputFromProto } from '../../api/server/convert.js';
import { DesiredState, parseDuration, formatDuration, validateHealthCheck } from '../../lb/model/index.js';

const lb = loadXlbProto().xlb.v1.LoadBalancer.service;
const LIMITS = { maxServices: 10, maxBackends: 100, maxBackendsPerService: 10, maglevTableSize: 251 };

function viaWire(service: object) {
  const m = lb.CreateService;
  return serviceInputFromProto(m.requestDeserialize(m.requestSerialize({ service } as never)).service, 'service');
}

describe('health checks through the API', () => {
  it('absent rise/fall/fail_open are defaults; explicit 0 / false are values', () => {
    const s = new DesiredState({ limits: LIMITS });
    s.create(viaWire({ id: '10.0.0.10:80/tcp', healthCheck: { kind: 'tcp' } }));
    expect(s.get('10.0.0.10:80/tcp').healthCheck).toEqual({ kind: 'tcp', mode: 'tunnel', intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 3, failOpen: true });
    expect(() => s.create(viaWire({ id: '10.0.0.11:80/tcp', healthCheck: { kind: 'tcp', rise: 0 } }))).toThrow(/^service\.health_check\.rise: 0 is out of range/);
    s.create(viaWire({ id: '10.0.0.12:80/tcp', healthCheck: { kind: 'tcp', failOpen: false, fall: 1 } }));
    expect(s.get('10.0.0.12:80/tcp').healthCheck).toMatchObject({ failOpen: false, fall: 1 });
  });

  it('UpdateService: an absent check is kept, kind none removes it; only the check changed: no datapath change', () => {
    const s = new DesiredState({ limits: LIMITS });
    s.create(viaWire({ id: '10.0.0.10:80/tcp', backends: [{ address: '10.1.0.5' }], healthCheck: { kind: 'http', path: '/h' } }));
    const kept = s.update(viaWire({ id: '10.0.0.10:80/tcp', flags: { sourceHash: true } }));
    expect(s.get('10.0.0.10:80/tcp').healthCheck?.path).toBe('/h');
    expect(kept.changes[0]).toMatchObject({ datapathChanged: true, healthChanged: false });
    const changed = s.update(viaWire({ id: '10.0.0.10:80/tcp', flags: { sourceHash: true }, healthCheck: { kind: 'tcp' } }));
    expect(changed.changes[0]).toMatchObject({ datapathChanged: false, healthChanged: true });
    s.update(viaWire({ id: '10.0.0.10:80/tcp', flags: { sourceHash: true }, healthCheck: { kind: 'none' } }));
    expect(s.get('10.0.0.10:80/tcp').healthCheck).toBeUndefined();
  });

  it('keeps per-backend check overrides through updates, and a change of them is a health change', () => {
    const s = new DesiredState({ limits: LIMITS });
    s.create(viaWire({ id: '10.0.0.10:80/tcp', backends: [{ address: '10.1.0.5', checkPort: 8080, checkAddress: '10.9.0.5' }], healthCheck: { kind: 'tcp' } }));
    s.updateBackend('10.0.0.10:80/tcp', '10.1.0.5', { weight: 7 });
    expect(s.get('10.0.0.10:80/tcp').backends[0]).toMatchObject({ weight: 7, checkPort: 8080, checkAddress: '10.9.0.5' });
    const d = s.update(viaWire({ id: '10.0.0.10:80/tcp', backends: [{ address: '10.1.0.5', weight: 7 }] }) as never, { replaceBackends: true });
    expect(d.changes[0]).toMatchObject({ datapathChanged: false, healthChanged: true });
    expect(() => s.addBackend('10.0.0.10:80/tcp', { address: '10.1.0.6', checkAddress: '127.0.0.1' })).toThrow(/^backend\.check_address: 127\.0\.0\.1/);
  });

  it('survives the state file round trip', () => {
    const s = new DesiredState({ limits: LIMITS });
    s.create(viaWire({ id: '10.0.0.10:53/udp', backends: [{ address: '10.1.0.5', checkPort: 5353 }], healthCheck: { kind: 'udp', payloadHex: '0001', interval: '1500ms', failOpen: false } }));
    const snap = JSON.parse(JSON.stringify(s.toSnapshot()));
    expect(snap.services[0].health_check).toEqual({ kind: 'udp', mode: 'tunnel', interval: '1500ms', timeout: '750ms', rise: 2, fall: 3, payload_hex: '0001', fail_open: false });
    expect(snap.services[0].backends[0].check_port).toBe(5353);
    const back = DesiredState.fromSnapshot(snap, { limits: LIMITS });
    expect(back.get('10.0.0.10:53/udp')).toEqual(s.get('10.0.0.10:53/udp'));
    snap.services[0].health_check.interval = '10';
    expect(() => DesiredState.fromSnapshot(snap, { limits: LIMITS })).toThrow(/^services\[0\]\.health_check\.interval: "10" is not a duration/);
  });
});

describe('durations and limits', () => {
  it('parses and prints durations canonically', () => {
    expect(['2s', '500ms', '1.5s', '1m', '0.25s'].map((d) => parseDuration(d, 'x'))).toEqual([2000, 500, 1500, 60_000, 250]);
    expect([2000, 500, 1500, 60_000].map(formatDuration)).toEqual(['2s', '500ms', '1500ms', '60s']);
    expect(() => parseDuration('1.0005s', 'f')).toThrow(/^f: "1\.0005s" is not a whole number of milliseconds/);
    expect(() => parseDuration(2, 'f')).toThrow(/^f: 2 is not a duration/);
  });

  it('udp payloads, http statuses and kind-specific fields', () => {
    expect(validateHealthCheck({ kind: 'http', expectStatus: '204' }, 80, 'h')?.expectStatus).toEqual({ min: 204, max: 204 });
    expect(() => validateHealthCheck({ kind: 'http', expectStatus: '399-200' }, 80, 'h')).toThrow(/^h\.expect_status: "399-200"/);
    expect(() => validateHealthCheck({ kind: 'udp', payload: 'a', payloadHex: '00' }, 80, 'h')).toThrow(/^h\.payload_hex: give payload or payload_hex, not both/);
    expect(() => validateHealthCheck({ kind: 'udp', payloadHex: '0' }, 80, 'h')).toThrow(/^h\.payload_hex: "0" is not an even number of hex digits/);
    expect(() => validateHealthCheck({ kind: 'tcp', host: 'x' }, 80, 'h')).toThrow(/^h\.host: applies to kind http only \(this check is tcp\)/);
    expect(() => validateHealthCheck({ kind: 'tcp', mode: 'sideways' }, 80, 'h')).toThrow(/^h\.mode: unknown check mode "sideways"; expected one of: tunnel, direct/);
    expect(() => validateHealthCheck({ interval: '1s' }, 80, 'h')).toThrow(/^h\.kind: is required/);
    expect(validateHealthCheck({ kind: 'none', interval: 'garbage' }, 80, 'h')).toBeUndefined();
  });
});
