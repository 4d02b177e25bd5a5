// Bad input, the way the API receives it: every request below goes through the real proto codec
// (serialize + deserialize with the runtime loader's options), then the model's converters and the
// DesiredState operation a gRPC handler would call. Each must fail with the right status code and a
// message that starts with the offending field, and must leave the state exactly as it was.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadXlbProto } from '../../api/generated/load.js';
import { backendInputFromProto, serviceInputFromProto, updateBackendPatchFromProto } from '../../api/server/convert.js';
import {
  DesiredState,
  GRPC_STATUS,
  servicesFromDocument,
  ValidationError,
  type ErrorCode,
  type Limits,
} from '../../lb/model/index.js';

const lb = loadXlbProto().xlb.v1.LoadBalancer.service;
type Methods = typeof lb;
// Round trip through the wire format, exactly what a server handler receives.
function wire<K extends keyof Methods>(method: K, request: Parameters<Methods[K]['requestSerialize']>[0]) {
  const m = lb[method];
  return m.requestDeserialize(m.requestSerialize(request as never)) as ReturnType<Methods[K]['requestDeserialize']>;
}

const LIMITS: Limits = { maxServices: 4, maxBackends: 10, maxBackendsPerService: 3, maglevTableSize: 251 };

// What the server's handlers do with each request (kept minimal: conversion + one state call).
const api = {
  create: (s: DesiredState, req: Parameters<Methods['CreateService']['requestSerialize']>[0]) => {
    const r = wire('CreateService', req);
    return s.create(serviceInputFromProto(r.service, 'service'), 'service');
  },
  update: (s: DesiredState, req: Parameters<Methods['UpdateService']['requestSerialize']>[0]) => {
    const r = wire('UpdateService', req);
    return s.update(serviceInputFromProto(r.service, 'service'), { replaceBackends: r.replaceBackends }, 'service');
  },
  delete: (s: DesiredState, serviceId: string) => s.delete(wire('DeleteService', { serviceId }).serviceId),
  get: (s: DesiredState, serviceId: string) => s.get(wire('GetService', { serviceId }).serviceId),
  addBackend: (s: DesiredState, req: Parameters<Methods['AddBackend']['requestSerialize']>[0]) => {
    const r = wire('AddBackend', req);
    return s.addBackend(r.serviceId, backendInputFromProto(r.backend, 'backend'));
  },
  updateBackend: (s: DesiredState, req: Parameters<Methods['UpdateBackend']['requestSerialize']>[0]) => {
    const r = wire('UpdateBackend', req);
    return s.updateBackend(r.serviceId, r.address, updateBackendPatchFromProto(r));
  },
  removeBackend: (s: DesiredState, req: Parameters<Methods['RemoveBackend']['requestSerialize']>[0]) => {
    const r = wire('RemoveBackend', req);
    return s.removeBackend(r.serviceId, r.address);
  },
  apply: (s: DesiredState, req: Parameters<Methods['Apply']['requestSerialize']>[0]) => {
    const r = wire('Apply', req);
    return s.apply(r.services.map((svc, i) => serviceInputFromProto(svc, `services[${i}]`)));
  },
};

const TCP = 'PROTOCOL_TCP' as const;
const UDP = 'PROTOCOL_UDP' as const;

/** A state with: A (3 backends, full), B (IPv6, one draining backend with weight 0), C (declared in config). */
function fixture(limits: Limits = LIMITS): DesiredState {
  const s = new DesiredState({ limits, now: () => 1_700_000_000_000 });
  api.create(s, {
    service: { vip: '10.0.0.10', port: 80, protocol: TCP, backends: [{ address: '10.1.0.1' }, { address: '10.1.0.2' }, { address: '10.1.0.3' }] },
  });
  api.create(s, { service: { vip: '2001:db8::10', port: 443, protocol: TCP, backends: [{ address: '2001:db8:1::1', weight: 0 }] } });
  s.apply(servicesFromDocument([{ vip: '10.0.0.20', port: 53, protocol: 'udp', backends: ['10.1.0.9'] }]), { origin: 'config' });
  return s;
}

interface Case {
  name: string;
  run: (s: DesiredState) => unknown;
  code: ErrorCode;
  field: string;
  says: string;
}

const long = 'a'.repeat(64);
const CASES: Case[] = [
  // --- CreateService: addresses
  { name: 'malformed VIP', run: (s) => api.create(s, { service: { vip: '10.0.0.300', port: 80, protocol: TCP } }), code: 'INVALID_ARGUMENT', field: 'service.vip', says: 'not a valid IPv4 or IPv6 address' },
  { name: 'missing VIP', run: (s) => api.create(s, { service: { port: 80, protocol: TCP } }), code: 'INVALID_ARGUMENT', field: 'service.vip', says: 'is required' },
  { name: 'loopback VIP', run: (s) => api.create(s, { service: { vip: '127.0.0.1', port: 80, protocol: TCP } }), code: 'INVALID_ARGUMENT', field: 'service.vip', says: 'loopback' },
  { name: 'multicast VIP', run: (s) => api.create(s, { service: { vip: '239.1.1.1', port: 80, protocol: TCP } }), code: 'INVALID_ARGUMENT', field: 'service.vip', says: 'multicast' },
  { name: 'unspecified IPv6 VIP', run: (s) => api.create(s, { service: { vip: '::', port: 80, protocol: TCP } }), code: 'INVALID_ARGUMENT', field: 'service.vip', says: 'unspecified' },
  { name: 'IPv4-mapped VIP', run: (s) => api.create(s, { service: { vip: '::ffff:10.0.0.11', port: 80, protocol: TCP } }), code: 'INVALID_ARGUMENT', field: 'service.vip', says: 'write the IPv4 address 10.0.0.11' },
  { name: 'VIP with a zone', run: (s) => api.create(s, { service: { vip: 'fe80::1%eth0', port: 80, protocol: TCP } }), code: 'INVALID_ARGUMENT', field: 'service.vip', says: 'zone ids' },
  { name: 'broadcast VIP', run: (s) => api.create(s, { service: { vip: '255.255.255.255', port: 80, protocol: UDP } }), code: 'INVALID_ARGUMENT', field: 'service.vip', says: 'broadcast' },
  // --- CreateService: port and protocol
  { name: 'port 65536', run: (s) => api.create(s, { service: { vip: '10.0.0.11', port: 65536, protocol: TCP } }), code: 'INVALID_ARGUMENT', field: 'service.port', says: '65536 is out of range' },
  { name: 'protocol unspecified', run: (s) => api.create(s, { service: { vip: '10.0.0.11', port: 80 } }), code: 'INVALID_ARGUMENT', field: 'service.protocol', says: 'is required' },
  { name: 'unknown protocol number', run: (s) => api.create(s, { service: { vip: '10.0.0.11', port: 80, protocol: 132 as unknown as typeof TCP } }), code: 'INVALID_ARGUMENT', field: 'service.protocol', says: 'unknown protocol' },
  // --- CreateService: identity
  { name: 'duplicate service', run: (s) => api.create(s, { service: { vip: '10.0.0.10', port: 80, protocol: TCP } }), code: 'ALREADY_EXISTS', field: 'service', says: 'service 10.0.0.10:80/tcp already exists' },
  { name: 'duplicate in another spelling', run: (s) => api.create(s, { service: { id: '[2001:DB8:0::10]:443/TCP' } }), code: 'ALREADY_EXISTS', field: 'service', says: '[2001:db8::10]:443/tcp already exists' },
  { name: 'duplicate of a config service', run: (s) => api.create(s, { service: { id: '10.0.0.20:53/udp' } }), code: 'ALREADY_EXISTS', field: 'service', says: 'declared in the config file' },
  { name: 'id disagrees with vip', run: (s) => api.create(s, { service: { id: '10.0.0.12:80/tcp', vip: '10.0.0.11', port: 80, protocol: TCP } }), code: 'INVALID_ARGUMENT', field: 'service.id', says: 'names 10.0.0.12:80/tcp but vip/port/protocol say 10.0.0.11:80/tcp' },
  { name: 'malformed id', run: (s) => api.create(s, { service: { id: '10.0.0.11:http/tcp' } }), code: 'INVALID_ARGUMENT', field: 'service.id', says: 'must be 1..65535' },
  { name: 'id with port 0', run: (s) => api.create(s, { service: { id: '10.0.0.11:0/tcp' } }), code: 'INVALID_ARGUMENT', field: 'service.id', says: "port 0 is written '*'" },
  // --- CreateService: backends
  { name: 'malformed backend', run: (s) => api.create(s, { service: { vip: '10.0.0.11', port: 80, protocol: TCP, backends: [{ address: '10.1.0' }] } }), code: 'INVALID_ARGUMENT', field: 'service.backends[0].address', says: 'not a valid' },
  { name: 'IPv4 backend for an IPv6 VIP', run: (s) => api.create(s, { service: { vip: '2001:db8::11', port: 80, protocol: TCP, backends: [{ address: '10.1.0.1' }] } }), code: 'INVALID_ARGUMENT', field: 'service.backends[0].address', says: 'an IPv6 service needs IPv6 backends' },
  { name: 'backend is the VIP', run: (s) => api.create(s, { service: { vip: '10.0.0.11', port: 80, protocol: TCP, backends: [{ address: '10.0.0.11' }] } }), code: 'INVALID_ARGUMENT', field: 'service.backends[0].address', says: 'is the VIP itself' },
  { name: 'loopback backend', run: (s) => api.create(s, { service: { vip: '10.0.0.11', port: 80, protocol: TCP, backends: [{ address: '127.0.0.2' }] } }), code: 'INVALID_ARGUMENT', field: 'service.backends[0].address', says: 'a backend address must be a routable unicast address' },
  { name: 'duplicate backend (two spellings)', run: (s) => api.create(s, { service: { vip: '2001:db8::11', port: 80, protocol: TCP, backends: [{ address: '2001:db8:1::1' }, { address: '2001:DB8:1:0::1' }] } }), code: 'INVALID_ARGUMENT', field: 'service.backends[1].address', says: 'listed twice (also backends[0])' },
  { name: 'weight 65536', run: (s) => api.create(s, { service: { vip: '10.0.0.11', port: 80, protocol: TCP, backends: [{ address: '10.1.0.1', weight: 65536 }] } }), code: 'INVALID_ARGUMENT', field: 'service.backends[0].weight', says: 'must be an integer 0..65535' },
  { name: 'active backend with weight 0', run: (s) => api.create(s, { service: { vip: '10.0.0.11', port: 80, protocol: TCP, backends: [{ address: '10.1.0.1', weight: 0, state: 'BACKEND_STATE_ACTIVE' }] } }), code: 'INVALID_ARGUMENT', field: 'service.backends[0].weight', says: '0 means draining' },
  { name: 'unknown backend state', run: (s) => api.create(s, { service: { vip: '10.0.0.11', port: 80, protocol: TCP, backends: [{ address: '10.1.0.1', state: 7 as unknown as 'BACKEND_STATE_ACTIVE' }] } }), code: 'INVALID_ARGUMENT', field: 'service.backends[0].state', says: 'unknown backend state' },
  { name: 'too many backends in one request', run: (s) => api.create(s, { service: { vip: '10.0.0.11', port: 80, protocol: TCP, backends: ['10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.0.4'].map((address) => ({ address })) } }), code: 'INVALID_ARGUMENT', field: 'service.backends', says: 'at most 3 per service' },
  { name: 'oversized backend name', run: (s) => api.create(s, { service: { vip: '10.0.0.11', port: 80, protocol: TCP, backends: [{ address: '10.1.0.1', name: long }] } }), code: 'INVALID_ARGUMENT', field: 'service.backends[0].name', says: '64 characters long; at most 63' },
  { name: 'backend name with a space', run: (s) => api.create(s, { service: { vip: '10.0.0.11', port: 80, protocol: TCP, backends: [{ address: '10.1.0.1', name: 'web 1' }] } }), code: 'INVALID_ARGUMENT', field: 'service.backends[0].name', says: 'may only contain' },
  { name: 'weights that starve a backend of Maglev slots', run: (s) => api.create(s, { service: { vip: '10.0.0.11', port: 80, protocol: TCP, backends: [{ address: '10.1.0.1', weight: 65535 }, { address: '10.1.0.2', weight: 65535 }, { address: '10.1.0.3', weight: 1 }] } }), code: 'INVALID_ARGUMENT', field: 'service.backends[2].weight', says: 'less than one slot of the 251-slot Maglev table' },
  // --- Get / Delete
  { name: 'get unknown service', run: (s) => api.get(s, '10.0.0.99:80/tcp'), code: 'NOT_FOUND', field: 'service_id', says: 'service 10.0.0.99:80/tcp does not exist' },
  { name: 'delete unknown service', run: (s) => api.delete(s, '10.0.0.10:81/tcp'), code: 'NOT_FOUND', field: 'service_id', says: 'does not exist' },
  { name: 'delete with a malformed id', run: (s) => api.delete(s, '10.0.0.10:80'), code: 'INVALID_ARGUMENT', field: 'service_id', says: 'not a service id' },
  { name: 'delete with an empty id', run: (s) => api.delete(s, ''), code: 'INVALID_ARGUMENT', field: 'service_id', says: 'is empty' },
  { name: 'delete a config-declared service', run: (s) => api.delete(s, '10.0.0.20:53/udp'), code: 'FAILED_PRECONDITION', field: 'service_id', says: 'declared in the config file' },
  // --- UpdateService
  { name: 'update unknown service', run: (s) => api.update(s, { service: { id: '10.0.0.99:80/tcp' } }), code: 'NOT_FOUND', field: 'service', says: 'does not exist' },
  { name: 'update with backends but no replace_backends', run: (s) => api.update(s, { service: { id: '10.0.0.10:80/tcp', backends: [{ address: '10.1.0.1' }] } }), code: 'INVALID_ARGUMENT', field: 'service.backends', says: 'must be empty unless replace_backends' },
  { name: 'update replacing with too many backends', run: (s) => api.update(s, { service: { id: '10.0.0.10:80/tcp', backends: ['10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.0.4'].map((address) => ({ address })) }, replaceBackends: true }), code: 'INVALID_ARGUMENT', field: 'service.backends', says: 'at most 3' },
  { name: 'update a config-declared service', run: (s) => api.update(s, { service: { id: '10.0.0.20:53/udp', flags: { sourceHash: true } } }), code: 'FAILED_PRECONDITION', field: 'service', says: 'reload the daemon' },
  // --- AddBackend
  { name: 'add backend to unknown service', run: (s) => api.addBackend(s, { serviceId: '10.0.0.99:80/tcp', backend: { address: '10.1.0.5' } }), code: 'NOT_FOUND', field: 'service_id', says: 'does not exist' },
  { name: 'add an existing backend', run: (s) => api.addBackend(s, { serviceId: '[2001:db8::10]:443/tcp', backend: { address: '2001:db8:1:0:0::1' } }), code: 'ALREADY_EXISTS', field: 'backend.address', says: 'already has backend 2001:db8:1::1' },
  { name: 'add a backend beyond the per-service limit', run: (s) => api.addBackend(s, { serviceId: '10.0.0.10:80/tcp', backend: { address: '10.1.0.4' } }), code: 'FAILED_PRECONDITION', field: 'backend', says: 'already has 3 backends, the limit' },
  { name: 'add a multicast backend', run: (s) => api.addBackend(s, { serviceId: '[2001:db8::10]:443/tcp', backend: { address: 'ff05::2' } }), code: 'INVALID_ARGUMENT', field: 'backend.address', says: 'multicast' },
  { name: 'add a backend without a backend message', run: (s) => api.addBackend(s, { serviceId: '[2001:db8::10]:443/tcp' }), code: 'INVALID_ARGUMENT', field: 'backend', says: 'is required' },
  { name: 'add a backend to a config-declared service', run: (s) => api.addBackend(s, { serviceId: '10.0.0.20:53/udp', backend: { address: '10.1.0.8' } }), code: 'FAILED_PRECONDITION', field: 'service_id', says: 'declared in the config file' },
  // --- UpdateBackend / RemoveBackend
  { name: 'update unknown backend', run: (s) => api.updateBackend(s, { serviceId: '10.0.0.10:80/tcp', address: '10.1.0.99', weight: 3 }), code: 'NOT_FOUND', field: 'address', says: 'has no backend 10.1.0.99' },
  { name: 'update backend with weight 2^32-1', run: (s) => api.updateBackend(s, { serviceId: '10.0.0.10:80/tcp', address: '10.1.0.1', weight: 4294967295 }), code: 'INVALID_ARGUMENT', field: 'weight', says: 'out of range' },
  { name: 'activate a weight-0 backend without a weight', run: (s) => api.updateBackend(s, { serviceId: '[2001:db8::10]:443/tcp', address: '2001:db8:1::1', state: 'BACKEND_STATE_ACTIVE' }), code: 'INVALID_ARGUMENT', field: 'state', says: 'has weight 0; give a weight' },
  { name: 'update backend with a malformed address', run: (s) => api.updateBackend(s, { serviceId: '10.0.0.10:80/tcp', address: '10.1.0.1.1', weight: 2 }), code: 'INVALID_ARGUMENT', field: 'address', says: 'not a valid' },
  { name: 'rename backend to an oversized name', run: (s) => api.updateBackend(s, { serviceId: '10.0.0.10:80/tcp', address: '10.1.0.1', name: long }), code: 'INVALID_ARGUMENT', field: 'name', says: 'at most 63' },
  { name: 'remove unknown backend', run: (s) => api.removeBackend(s, { serviceId: '10.0.0.10:80/tcp', address: '10.1.0.7' }), code: 'NOT_FOUND', field: 'address', says: 'has no backend 10.1.0.7' },
  // --- Apply
  { name: 'apply with a duplicate service', run: (s) => api.apply(s, { services: [{ id: '10.0.0.10:80/tcp' }, { vip: '10.0.0.10', port: 80, protocol: TCP }] }), code: 'INVALID_ARGUMENT', field: 'services[1]', says: 'listed twice (also services[0])' },
  { name: 'apply listing a config-declared service', run: (s) => api.apply(s, { services: [{ id: '10.0.0.20:53/udp' }] }), code: 'FAILED_PRECONDITION', field: 'services[0]', says: 'declared in the config file' },
  { name: 'apply with one bad weight deep inside', run: (s) => api.apply(s, { services: [{ id: '10.0.0.10:80/tcp' }, { id: '10.0.0.11:80/tcp', backends: [{ address: '10.1.0.1' }, { address: '10.1.0.2', weight: 70000 }] }] }), code: 'INVALID_ARGUMENT', field: 'services[1].backends[1].weight', says: '70000 is out of range' },
  { name: 'apply with more services than the limit', run: (s) => api.apply(s, { services: ['10.0.0.31', '10.0.0.32', '10.0.0.33', '10.0.0.34'].map((vip) => ({ vip, port: 80, protocol: TCP })) }), code: 'FAILED_PRECONDITION', field: 'services', says: 'would exceed the limit of 4' },
];

describe('invalid API requests', () => {
  let state: DesiredState;
  let before: string;
  beforeAll(() => {
    state = fixture();
    before = JSON.stringify(state.toSnapshot());
  });

  it('covers at least 30 distinct invalid inputs', () => {
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    let error: unknown;
    try {
      c.run(state);
    } catch (e) {
      error = e;
    }
    expect(error, 'the request must be rejected').toBeInstanceOf(ValidationError);
    const e = error as ValidationError;
    expect({ code: e.code, field: e.field }).toEqual({ code: c.code, field: c.field });
    expect(e.message.startsWith(`${c.field}: `)).toBe(true);
    expect(e.message).toContain(c.says);
    expect(e.grpcStatus).toBe(GRPC_STATUS[c.code]);
    // A failed call changes nothing.
    expect(JSON.stringify(state.toSnapshot())).toBe(before);
  });

  it('the fixture itself accepts the valid neighbours of those requests', () => {
    const s = state.clone();
    api.create(s, { service: { vip: '10.0.0.11', port: 0, protocol: UDP, backends: [{ address: '2001:db8:1::7', weight: 65535, name: 'web-1.example_a' }] } });
    api.addBackend(s, { serviceId: '[2001:db8::10]:443/tcp', backend: { address: '2001:db8:1::2', weight: 0 } });
    api.updateBackend(s, { serviceId: '[2001:db8::10]:443/tcp', address: '2001:db8:1::1', state: 'BACKEND_STATE_ACTIVE', weight: 2 });
    expect(s.serviceCount).toBe(4);
    expect(JSON.stringify(state.toSnapshot())).toBe(before);
  });

  it('the total backend limit is FAILED_PRECONDITION, and nothing changes', () => {
    const s = fixture({ ...LIMITS, maxBackends: 6 });
    const snap = JSON.stringify(s.toSnapshot());
    let error: unknown;
    try {
      api.create(s, { service: { vip: '10.0.0.11', port: 80, protocol: TCP, backends: [{ address: '10.1.0.1' }, { address: '10.1.0.2' }] } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).code).toBe('FAILED_PRECONDITION');
    expect((error as ValidationError).message).toMatch(/^service\.backends: 5 backends exist in total; 2 more would exceed the limit of 6/);
    expect(JSON.stringify(s.toSnapshot())).toBe(snap);
  });
});
