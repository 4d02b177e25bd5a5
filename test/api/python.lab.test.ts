// A client that is not TypeScript: Debian's python3-grpcio with stubs generated from our .proto by
// python3-grpc-tools (into a temp dir) creates a service on a running xlbd and reads it back; and
// gRPC server reflection, queried from Python, lists our services and their methods. The gRPC
// health service answers too, and the Recorder (served since the recorder landed) validates a start.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadXlbProto, PROTO_INCLUDE_DIR } from '../../api/generated/load.js';
import { repoRoot } from '../lab/paths.js';
import { Lab } from '../lab/lab.js';
import { XlbdInstance } from '../daemon/xlbd.js';

const PYTHON = '/usr/bin/python3';
const require = createRequire(import.meta.url);

let lab: Lab;
let xlbd: XlbdInstance;
let stubs: string;

beforeAll(async () => {
  stubs = mkdtempSync(join(tmpdir(), 'xlb-pystubs-'));
  // Reflection's .proto under a module name that cannot shadow the grpc package itself.
  const reflectionProto = join(require.resolve('@grpc/reflection/package.json'), '..', 'build', 'proto', 'grpc', 'reflection', 'v1', 'reflection.proto');
  mkdirSync(join(stubs, 'protos'));
  copyFileSync(reflectionProto, join(stubs, 'protos', 'reflection_v1.proto'));
  execFileSync(PYTHON, [
    '-m', 'grpc_tools.protoc', `-I${PROTO_INCLUDE_DIR}`, `-I${join(stubs, 'protos')}`,
    `--python_out=${stubs}`, `--grpc_python_out=${stubs}`, 'xlb/v1/xlb.proto', 'reflection_v1.proto',
  ]);
  lab = await Lab.create({ backends: 2, clients: 1, lbNodes: 1, ipv6: false, http: false, decap: false });
  xlbd = new XlbdInstance({ lab });
  await xlbd.start();
}, 120_000);

afterAll(async () => {
  await xlbd?.dispose();
  await lab?.destroy();
  if (stubs) rmSync(stubs, { recursive: true, force: true });
});

describe('non-TypeScript client', () => {
  it('Python creates a service and reads it back; reflection lists our services', () => {
    const out = JSON.parse(
      execFileSync(PYTHON, [join(repoRoot, 'test', 'daemon', 'python_client.py'), stubs, `unix://${xlbd.socket}`, '10.100.0.10', '10.3.2.2', '10.3.1.2'], {
        encoding: 'utf8',
      }),
    );
    expect(out.created_id).toBe('10.100.0.10:8443/tcp');
    expect(out.got).toEqual({
      id: '10.100.0.10:8443/tcp',
      vip: '10.100.0.10',
      port: 8443,
      protocol: 'PROTOCOL_TCP',
      source_hash: true,
      origin: 'api',
      datapath_id: out.got.datapath_id,
      // Returned ordered by address, whatever order they were sent in.
      backends: [
        { address: '10.3.1.2', weight: 3, state: 'BACKEND_STATE_ACTIVE', name: 'py-1', datapath_id: out.got.backends[0].datapath_id },
        { address: '10.3.2.2', weight: 3, state: 'BACKEND_STATE_ACTIVE', name: 'py-0', datapath_id: out.got.backends[1].datapath_id },
      ],
    });
    expect(out.got.datapath_id).toBeGreaterThanOrEqual(1);
    expect(out.listed).toEqual(['10.100.0.10:8443/tcp']);
    expect(out.not_found).toEqual({ code: 'NOT_FOUND', details: 'service_id: service 10.99.99.99:1/udp does not exist' });
    expect(out.reflection_services).toEqual(['grpc.health.v1.Health', 'xlb.v1.LoadBalancer', 'xlb.v1.Recorder']);
    // (@grpc/reflection names the files it serves after the package, e.g. xlb_v1.proto)
    expect(out.reflection_files.length).toBeGreaterThanOrEqual(1);
    expect(out.reflection_methods).toEqual(
      expect.arrayContaining(['CreateService', 'UpdateService', 'DeleteService', 'GetService', 'ListServices', 'AddBackend', 'UpdateBackend', 'RemoveBackend', 'Apply', 'GetStats', 'GetStatus']),
    );
  });

  it('the datapath holds what Python created', async () => {
    const stats = await xlbd.client.call('GetStats', { serviceId: '10.100.0.10:8443/tcp' });
    expect(stats.services[0].backends.map((b: { address: string }) => b.address)).toEqual(['10.3.1.2', '10.3.2.2']);
  });

  it('grpc.health.v1 reports SERVING', async () => {
    const healthProto = require.resolve('grpc-health-check/proto/health/v1/health.proto');
    const def = protoLoader.loadSync(healthProto, { enums: String });
    const Health = (grpc.loadPackageDefinition(def) as any).grpc.health.v1.Health;
    const client = new Health(`unix://${xlbd.socket}`, grpc.credentials.createInsecure());
    const check = (service: string) =>
      new Promise<string>((resolve, reject) => client.Check({ service }, (e: Error | null, r: { status: string }) => (e ? reject(e) : resolve(r.status))));
    try {
      expect(await check('')).toBe('SERVING');
      expect(await check('xlb.v1.LoadBalancer')).toBe('SERVING');
      expect(await check('xlb.v1.Recorder')).toBe('SERVING');
    } finally {
      client.close();
    }
  });

  it('Recorder.Record is served: a bad filter is INVALID_ARGUMENT naming the field', async () => {
    const proto = loadXlbProto();
    const client = new proto.xlb.v1.Recorder(`unix://${xlbd.socket}`, grpc.credentials.createInsecure());
    try {
      const err = await new Promise<grpc.ServiceError>((resolve) => {
        const call = client.Record();
        call.on('error', resolve);
        call.on('data', () => {});
        call.write({ start: { filters: [{ srcCidr: '10.0.0.1/8' }] } });
      });
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toBe('filters[0].src_cidr: "10.0.0.1/8" has host bits set; the network is 10.0.0.0/8');
    } finally {
      client.close();
    }
  });
});
