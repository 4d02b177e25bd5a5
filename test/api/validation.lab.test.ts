// Bad input over real gRPC: every invalid request gets the right status code and a message that
// starts with the offending field's path, and not one byte of the datapath changes (every map,
// including each Maglev inner table, dumped with lookupBatch before and after), nor the state file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAT_NAMES } from '../../lb/datapath/index.js';
import { Lab } from '../lab/lab.js';
import { dumpPinnedMaps, type MapDump } from '../daemon/maps.js';
import { XlbdInstance } from '../daemon/xlbd.js';

const A = '10.100.0.10:80/tcp';
const B = '[fd00:100::10]:443/tcp';
const C = '10.100.0.11:80/tcp'; // declared in the config file

let lab: Lab;
let xlbd: XlbdInstance;

/** The stats map slots that count packets the kernel handles anyway (ARP, the daemon's gateway
 *  probes): they may move while the test runs, everything else must not. */
const PASS_SLOTS = new Set(
  STAT_NAMES.flatMap(([g, n], i) => (g === 'pass' || (g === 'verdict' && n === 'pass') ? [i] : [])).map((i) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(i);
    return b.toString('hex');
  }),
);

function comparable(d: MapDump): MapDump {
  return { ...d, stats: (d.stats ?? []).filter((e) => !PASS_SLOTS.has(e.split('=')[0]!)) };
}

beforeAll(async () => {
  lab = await Lab.create({ backends: 1, clients: 1, lbNodes: 1, ipv6: true, http: false, decap: false });
  xlbd = new XlbdInstance({
    lab,
    config: {
      maps: { services: 4, backends: 64, flows: 4096 }, // 3 services: the state below is full
      limits: { max_backends_per_service: 4 },
      services: [{ id: C, backends: ['10.3.1.2'] }],
    },
  });
  await xlbd.start();
  await xlbd.client.call('CreateService', {
    service: {
      id: A,
      backends: [
        { address: '10.3.1.2', name: 'web-1' },
        { address: '10.3.1.3' },
        { address: '10.3.1.4', weight: 0 },
        { address: 'fd00:3:1::2' }, // 4in6
      ],
    },
  });
  await xlbd.client.call('CreateService', { service: { id: B, flags: { sourceHash: true }, backends: [{ address: 'fd00:3:1::2' }] } });
}, 120_000);

afterAll(async () => {
  await xlbd?.dispose();
  await lab?.destroy();
});

type Case = [name: string, method: string, request: object, code: string, field: string];

const name64 = `n${'x'.repeat(63)}`;
const svc = (extra: object) => ({ service: { vip: '10.100.0.20', port: 80, protocol: 'PROTOCOL_TCP', ...extra } });

const CASES: Case[] = [
  ['missing service', 'CreateService', {}, 'INVALID_ARGUMENT', 'service'],
  ['VIP not an address', 'CreateService', svc({ vip: '10.0.0.300' }), 'INVALID_ARGUMENT', 'service.vip'],
  ['VIP with leading zero', 'CreateService', svc({ vip: '10.0.0.010' }), 'INVALID_ARGUMENT', 'service.vip'],
  ['VIP loopback', 'CreateService', svc({ vip: '::1' }), 'INVALID_ARGUMENT', 'service.vip'],
  ['VIP multicast', 'CreateService', svc({ vip: '224.0.0.1' }), 'INVALID_ARGUMENT', 'service.vip'],
  ['VIP IPv4-mapped', 'CreateService', svc({ vip: '::ffff:10.0.0.1' }), 'INVALID_ARGUMENT', 'service.vip'],
  ['VIP with zone', 'CreateService', svc({ vip: 'fe80::1%eth0' }), 'INVALID_ARGUMENT', 'service.vip'],
  ['VIP in 240.0.0.0/4', 'CreateService', svc({ vip: '240.0.0.1' }), 'INVALID_ARGUMENT', 'service.vip'],
  // The LB node's own addresses and its gateway (lab plan: lb1 is 10.2.1.2 / fd00:2:1::2, the router 10.2.1.1).
  ["VIP is the LB's own address (SSH would go to a backend)", 'CreateService', { service: { id: '10.2.1.2:22/tcp' } }, 'INVALID_ARGUMENT', 'service.id'],
  ["VIP is the LB's own IPv6 address", 'CreateService', svc({ vip: 'fd00:2:1::2', port: 22 }), 'INVALID_ARGUMENT', 'service.vip'],
  ['VIP is the gateway', 'CreateService', svc({ vip: '10.2.1.1' }), 'INVALID_ARGUMENT', 'service.vip'],
  ["Apply with the LB's address as a VIP", 'Apply', { services: [{ id: A }, { vip: '10.2.1.2', port: 22, protocol: 'PROTOCOL_TCP' }] }, 'INVALID_ARGUMENT', 'services[1].vip'],
  ['port 65536', 'CreateService', svc({ port: 65536 }), 'INVALID_ARGUMENT', 'service.port'],
  ['protocol unspecified', 'CreateService', svc({ protocol: 'PROTOCOL_UNSPECIFIED' }), 'INVALID_ARGUMENT', 'service.protocol'],
  ['protocol unknown number', 'CreateService', svc({ protocol: 7 }), 'INVALID_ARGUMENT', 'service.protocol'],
  ['id malformed', 'CreateService', { service: { id: '10.100.0.20/tcp' } }, 'INVALID_ARGUMENT', 'service.id'],
  ['id port 0 instead of *', 'CreateService', { service: { id: '10.100.0.20:0/tcp' } }, 'INVALID_ARGUMENT', 'service.id'],
  ['id IPv4 in brackets', 'CreateService', { service: { id: '[10.100.0.20]:80/tcp' } }, 'INVALID_ARGUMENT', 'service.id'],
  ['id IPv6 without brackets', 'CreateService', { service: { id: 'fd00:100::20:80/tcp' } }, 'INVALID_ARGUMENT', 'service.id'],
  ['id unknown protocol', 'CreateService', { service: { id: '10.100.0.20:80/sctp' } }, 'INVALID_ARGUMENT', 'service.id'],
  ['id disagrees with vip', 'CreateService', svc({ id: '10.100.0.21:80/tcp' }), 'INVALID_ARGUMENT', 'service'],
  ['duplicate service', 'CreateService', { service: { id: A } }, 'ALREADY_EXISTS', 'service'],
  ['duplicate of a config service', 'CreateService', { service: { id: C } }, 'ALREADY_EXISTS', 'service'],
  ['backend family mismatch (IPv6 VIP, IPv4 backend)', 'CreateService', { service: { id: '[fd00:100::20]:80/tcp', backends: [{ address: '10.3.1.2' }] } }, 'INVALID_ARGUMENT', 'service.backends[0].address'],
  ['backend weight 70000', 'CreateService', svc({ backends: [{ address: '10.3.1.2', weight: 70000 }] }), 'INVALID_ARGUMENT', 'service.backends[0].weight'],
  ['backend listed twice (two spellings)', 'CreateService', svc({ backends: [{ address: 'fd00:3:1::2' }, { address: 'FD00:3:1:0::2' }] }), 'INVALID_ARGUMENT', 'service.backends[1].address'],
  ['backend is the VIP', 'CreateService', svc({ backends: [{ address: '10.100.0.20' }] }), 'INVALID_ARGUMENT', 'service.backends[0].address'],
  ['backend broadcast', 'CreateService', svc({ backends: [{ address: '255.255.255.255' }] }), 'INVALID_ARGUMENT', 'service.backends[0].address'],
  ['backend name 64 characters', 'CreateService', svc({ backends: [{ address: '10.3.1.2', name: name64 }] }), 'INVALID_ARGUMENT', 'service.backends[0].name'],
  ['backend name with a space', 'CreateService', svc({ backends: [{ address: '10.3.1.2', name: 'web 1' }] }), 'INVALID_ARGUMENT', 'service.backends[0].name'],
  ['backend state unknown number', 'CreateService', svc({ backends: [{ address: '10.3.1.2', state: 9 }] }), 'INVALID_ARGUMENT', 'service.backends[0].state'],
  ['backend ACTIVE with weight 0', 'CreateService', svc({ backends: [{ address: '10.3.1.2', weight: 0, state: 'BACKEND_STATE_ACTIVE' }] }), 'INVALID_ARGUMENT', 'service.backends[0]'],
  ['too many backends for one service', 'CreateService', svc({ backends: [2, 3, 4, 5, 6].map((i) => ({ address: `10.3.1.${i}` })) }), 'INVALID_ARGUMENT', 'service.backends'],
  ['Maglev share below one slot', 'CreateService', svc({ backends: [{ address: '10.3.1.2', weight: 65535 }, { address: '10.3.1.3', weight: 1 }] }), 'INVALID_ARGUMENT', 'service.backends[1].weight'],
  ['service capacity reached', 'CreateService', svc({}), 'FAILED_PRECONDITION', 'service'],
  ['GetService unknown', 'GetService', { serviceId: '10.100.0.99:80/tcp' }, 'NOT_FOUND', 'service_id'],
  ['GetService malformed id', 'GetService', { serviceId: 'nonsense' }, 'INVALID_ARGUMENT', 'service_id'],
  ['GetService oversized id', 'GetService', { serviceId: `${'1'.repeat(10_000)}:80/tcp` }, 'INVALID_ARGUMENT', 'service_id'],
  ['DeleteService empty id', 'DeleteService', { serviceId: '' }, 'INVALID_ARGUMENT', 'service_id'],
  ['DeleteService unknown', 'DeleteService', { serviceId: '10.100.0.99:*/udp' }, 'NOT_FOUND', 'service_id'],
  ['DeleteService of a config service', 'DeleteService', { serviceId: C }, 'FAILED_PRECONDITION', 'service_id'],
  ['UpdateService unknown', 'UpdateService', { service: { id: '10.100.0.99:80/tcp' } }, 'NOT_FOUND', 'service'],
  ['UpdateService backends without replace_backends', 'UpdateService', { service: { id: A, backends: [{ address: '10.3.1.2' }] } }, 'INVALID_ARGUMENT', 'service.backends'],
  ['UpdateService of a config service', 'UpdateService', { service: { id: C } }, 'FAILED_PRECONDITION', 'service'],
  ['AddBackend to unknown service', 'AddBackend', { serviceId: '10.100.0.99:80/tcp', backend: { address: '10.3.1.9' } }, 'NOT_FOUND', 'service_id'],
  ['AddBackend without backend', 'AddBackend', { serviceId: B }, 'INVALID_ARGUMENT', 'backend'],
  ['AddBackend existing address', 'AddBackend', { serviceId: B, backend: { address: 'fd00:3:1:0:0::2' } }, 'ALREADY_EXISTS', 'backend.address'],
  ['AddBackend family mismatch', 'AddBackend', { serviceId: B, backend: { address: '10.3.1.9' } }, 'INVALID_ARGUMENT', 'backend.address'],
  ['AddBackend beyond max_backends_per_service', 'AddBackend', { serviceId: A, backend: { address: '10.3.1.9' } }, 'FAILED_PRECONDITION', 'backend'],
  ['UpdateBackend unknown address', 'UpdateBackend', { serviceId: A, address: '10.3.1.99', weight: 5 }, 'NOT_FOUND', 'address'],
  ['UpdateBackend malformed address', 'UpdateBackend', { serviceId: A, address: '10.3.1', weight: 5 }, 'INVALID_ARGUMENT', 'address'],
  ['UpdateBackend weight 65536', 'UpdateBackend', { serviceId: A, address: '10.3.1.2', weight: 65536 }, 'INVALID_ARGUMENT', 'weight'],
  ['UpdateBackend ACTIVE on weight 0 without weight', 'UpdateBackend', { serviceId: A, address: '10.3.1.4', state: 'BACKEND_STATE_ACTIVE' }, 'INVALID_ARGUMENT', 'state'],
  ['UpdateBackend bad name', 'UpdateBackend', { serviceId: A, address: '10.3.1.2', name: '-web' }, 'INVALID_ARGUMENT', 'name'],
  ['RemoveBackend unknown', 'RemoveBackend', { serviceId: A, address: '10.3.1.99' }, 'NOT_FOUND', 'address'],
  ['RemoveBackend on config service', 'RemoveBackend', { serviceId: C, address: '10.3.1.2' }, 'FAILED_PRECONDITION', 'service_id'],
  ['Apply with a duplicate service', 'Apply', { services: [{ id: A }, { id: '10.100.0.10:80/TCP' }] }, 'INVALID_ARGUMENT', 'services[1]'],
  ['Apply naming a config service', 'Apply', { services: [{ id: C }] }, 'FAILED_PRECONDITION', 'services[0]'],
  ['Apply with one bad entry', 'Apply', { services: [{ id: A }, { vip: '300.1.1.1', port: 80, protocol: 'PROTOCOL_TCP' }] }, 'INVALID_ARGUMENT', 'services[1].vip'],
  ['Apply dry run with a bad entry', 'Apply', { services: [{ id: A, backends: [{ address: '10.3.1.2', weight: -1 }] }], dryRun: true }, 'INVALID_ARGUMENT', 'services[0].backends[0].weight'],
  ['GetStats unknown service', 'GetStats', { serviceId: '10.100.0.99:80/tcp' }, 'NOT_FOUND', 'service_id'],
];

describe('invalid requests over gRPC', () => {
  it(`rejects ${CASES.length} invalid requests with the right code and field, changing nothing`, async () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
    const listBefore = (await xlbd.client.call('ListServices')).services;
    expect(listBefore).toHaveLength(3);
    const stateBefore = await xlbd.savedState();
    const mapsBefore = dumpPinnedMaps(xlbd.pinDir);
    expect(mapsBefore.services).toHaveLength(3);
    expect(Object.keys(mapsBefore).filter((k) => k.startsWith('maglev_inner/'))).toHaveLength(3);

    const wrong: string[] = [];
    for (const [name, method, request, code, field] of CASES) {
      let got;
      try {
        got = await xlbd.client.fail(method, request);
      } catch (e) {
        wrong.push(`${name}: ${(e as Error).message}`);
        continue;
      }
      const fieldOk = got.details.startsWith(`${field}: `) || got.details.startsWith(`${field}.`) || got.details.startsWith(`${field}[`);
      if (got.codeName !== code || !fieldOk) wrong.push(`${name}: expected ${code} "${field}: …", got ${got.codeName} "${got.details}"`);
    }
    expect(wrong).toEqual([]);

    expect((await xlbd.client.call('ListServices')).services).toEqual(listBefore);
    expect(await xlbd.savedState()).toEqual(stateBefore);
    expect(comparable(dumpPinnedMaps(xlbd.pinDir))).toEqual(comparable(mapsBefore));
  });

  it('messages read as field: problem', async () => {
    const e1 = await xlbd.client.fail('CreateService', svc({ backends: [{ address: '10.3.1.2', weight: 70000 }] }));
    expect(e1.details).toMatch(/^service\.backends\[0\]\.weight: 70000 .*0\.\.65535/);
    const e2 = await xlbd.client.fail('GetService', { serviceId: '10.100.0.99:80/tcp' });
    expect(e2.details).toBe('service_id: service 10.100.0.99:80/tcp does not exist');
    const e3 = await xlbd.client.fail('CreateService', { service: { id: '10.2.1.2:22/tcp' } });
    expect(e3.details).toMatch(/^service\.id: 10\.2\.1\.2 is an address of eth0, the interface xlbd drives; a VIP there would take the load balancer's own traffic/);
  });
});
