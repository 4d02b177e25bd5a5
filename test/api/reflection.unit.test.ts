// api/server/lazy-reflection.ts: gRPC reflection (v1 and v1alpha) served by a real grpc-js server on
// a unix socket, its index built at the first call and only once.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadXlbPackageDefinition } from '../../api/generated/load.js';
import { addLazyReflection } from '../../api/server/lazy-reflection.js';

const require = createRequire(import.meta.url);
const reflectionProto = (v: string) => join(require.resolve('@grpc/reflection/package.json'), '..', 'build', 'proto', 'grpc', 'reflection', v, 'reflection.proto');

let dir: string;
let server: grpc.Server;
let built = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xlb-refl-'));
  server = new grpc.Server();
  const definition = loadXlbPackageDefinition();
  addLazyReflection(server, () => {
    built++;
    return definition;
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${join(dir, 's')}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())),
  );
});

afterAll(() => {
  server.forceShutdown();
  rmSync(dir, { recursive: true, force: true });
});

type Reply = { listServicesResponse?: { service: { name: string }[] }; fileDescriptorResponse?: { fileDescriptorProto: Buffer[] }; errorResponse?: unknown };

function ask(version: 'v1' | 'v1alpha', request: Record<string, string>): Promise<Reply> {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(reflectionProto(version), { keepCase: false, oneofs: true })) as any;
  const Client = pkg.grpc.reflection[version].ServerReflection;
  const client = new Client(`unix://${join(dir, 's')}`, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const call = client.serverReflectionInfo();
    call.on('data', (r: Reply) => {
      resolve(r);
      call.end();
      client.close();
    });
    call.on('error', reject);
    call.write(request);
  });
}

describe('lazy gRPC reflection', () => {
  it('builds nothing until the first reflection call', () => {
    expect(built).toBe(0);
  });

  it('lists the services (v1 and v1alpha) and returns their files; the index is built once', async () => {
    const names = (r: Reply) => r.listServicesResponse!.service.map((s) => s.name).sort();
    const v1 = await ask('v1', { listServices: '' });
    expect(names(v1)).toEqual(expect.arrayContaining(['xlb.v1.LoadBalancer', 'xlb.v1.Recorder']));
    const alpha = await ask('v1alpha', { listServices: '' });
    expect(names(alpha)).toEqual(names(v1));
    const file = await ask('v1', { fileContainingSymbol: 'xlb.v1.LoadBalancer' });
    expect(file.fileDescriptorResponse!.fileDescriptorProto.length).toBeGreaterThanOrEqual(1);
    const unknown = await ask('v1', { fileContainingSymbol: 'no.such.Service' });
    expect(unknown.errorResponse).toBeDefined();
    expect(built).toBe(1);
  });
});
