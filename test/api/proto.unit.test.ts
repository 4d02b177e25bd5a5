// The contract itself: it loads with the runtime loader, has the promised services and methods,
// round-trips the messages that carry presence and 64-bit counters, and a non-TypeScript toolchain
// (Debian's grpc_tools protoc for Python) compiles it.
import { execFileSync } from 'node:child_process';
import { type Dirent, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadXlbPackageDefinition, loadXlbProto, PROTO_INCLUDE_DIR, XLB_PROTO_FILE } from '../../api/generated/load.js';
import { repoRoot } from '../lab/paths.js';

const definition = loadXlbPackageDefinition();

function listFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Dirent[])
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}
const proto = loadXlbProto(definition);

describe('xlb.v1 proto', () => {
  it('declares the LoadBalancer methods with unary calls', () => {
    const methods = proto.xlb.v1.LoadBalancer.service;
    expect(Object.keys(methods).sort()).toEqual(
      [
        'AddBackend', 'Apply', 'CreateService', 'DeleteService', 'DrainNode', 'GetService', 'GetStats', 'GetStatus',
        'ListServices', 'RemoveBackend', 'UpdateBackend', 'UpdateService',
      ].sort(),
    );
    for (const m of Object.values(methods)) {
      expect(m.requestStream).toBe(false);
      expect(m.responseStream).toBe(false);
      expect(m.path.startsWith('/xlb.v1.LoadBalancer/')).toBe(true);
    }
  });

  it('declares Recorder.Record as a bidirectional stream', () => {
    const record = proto.xlb.v1.Recorder.service.Record;
    expect(record.path).toBe('/xlb.v1.Recorder/Record');
    expect(record.requestStream).toBe(true);
    expect(record.responseStream).toBe(true);
  });

  it('keeps weight presence: absent, explicit 0 and 5 are three different things', () => {
    const m = proto.xlb.v1.LoadBalancer.service.AddBackend;
    const rt = (backend: object) => m.requestDeserialize(m.requestSerialize({ serviceId: '10.0.0.10:80/tcp', backend }));
    expect(rt({ address: '10.1.0.1' }).backend?.weight).toBeUndefined();
    const zero = rt({ address: '10.1.0.1', weight: 0 }).backend;
    expect(zero?.weight).toBe(0);
    expect(zero?.optionalWeight).toBe('weight');
    expect(rt({ address: '10.1.0.1', weight: 5, state: 'BACKEND_STATE_DRAINING' }).backend).toMatchObject({
      weight: 5,
      state: 'BACKEND_STATE_DRAINING',
    });
  });

  it('carries uint64 counters as exact decimal strings', () => {
    const m = proto.xlb.v1.LoadBalancer.service.GetStats;
    const out = m.responseDeserialize(
      m.responseSerialize({ timestampMs: '18446744073709551615', services: [{ serviceId: 'x', packets: '9007199254740993' }] }),
    );
    expect(out.timestampMs).toBe('18446744073709551615');
    expect(out.services[0]?.packets).toBe('9007199254740993');
  });

  it('round-trips a recorder start and a chunk through the oneofs', () => {
    const m = proto.xlb.v1.Recorder.service.Record;
    const start = m.requestDeserialize(
      m.requestSerialize({
        start: { filters: [{ srcCidr: '10.0.0.0/8', dstPort: 80, proto: 'CAPTURE_PROTOCOL_TCP' }], maxPackets: '10', format: 'CAPTURE_FORMAT_PCAPNG' },
      }),
    );
    expect(start.msg).toBe('start');
    expect(start.start?.filters[0]).toMatchObject({ srcCidr: '10.0.0.0/8', dstCidr: '', srcPort: 0, dstPort: 80, proto: 'CAPTURE_PROTOCOL_TCP' });
    expect(start.start?.maxPackets).toBe('10');
    const chunk = m.responseDeserialize(m.responseSerialize({ chunk: Buffer.from([0x4d, 0x3c, 0xb2, 0xa1]) }));
    expect(chunk.msg).toBe('chunk');
    expect(Buffer.from(chunk.chunk!).toString('hex')).toBe('4d3cb2a1');
  });

  it('leaves unknown enum numbers as numbers so validation can reject them', () => {
    const m = proto.xlb.v1.LoadBalancer.service.CreateService;
    const out = m.requestDeserialize(m.requestSerialize({ service: { vip: '10.0.0.10', port: 80, protocol: 9 as unknown as 'PROTOCOL_TCP' } }));
    expect(out.service?.protocol).toBe(9);
  });

  it('compiles with python grpc_tools (a non-TypeScript client toolchain)', () => {
    const out = mkdtempSync(join(tmpdir(), `xlb-pyproto-${process.pid}-`));
    try {
      execFileSync(
        '/usr/bin/python3',
        ['-m', 'grpc_tools.protoc', `-I${PROTO_INCLUDE_DIR}`, `--python_out=${out}`, `--grpc_python_out=${out}`, XLB_PROTO_FILE],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      expect(existsSync(join(out, 'xlb/v1/xlb_pb2.py'))).toBe(true);
      expect(existsSync(join(out, 'xlb/v1/xlb_pb2_grpc.py'))).toBe(true);
      // The generated module imports and encodes: presence of weight survives in Python too.
      const script =
        'from xlb.v1 import xlb_pb2 as p, xlb_pb2_grpc as g\n' +
        'b = p.Backend(address="10.1.0.1")\n' +
        'assert not b.HasField("weight")\n' +
        'b.weight = 0\n' +
        'assert b.HasField("weight")\n' +
        'assert hasattr(g, "LoadBalancerStub") and hasattr(g, "RecorderStub")\n' +
        'svc = p.Service(id="10.0.0.10:80/tcp", protocol=p.PROTOCOL_TCP, backends=[p.Backend(address="10.1.0.1", weight=0)])\n' +
        'print(p.GetServiceResponse(service=svc).SerializeToString().hex())\n';
      const hex = execFileSync('/usr/bin/python3', ['-c', script], { cwd: out, encoding: 'utf8' }).trim();
      // The same bytes decode in TypeScript: the two toolchains agree on the wire format.
      const m = proto.xlb.v1.LoadBalancer.service.GetService;
      const decoded = m.responseDeserialize(Buffer.from(hex, 'hex'));
      expect(decoded.service).toMatchObject({ id: '10.0.0.10:80/tcp', protocol: 'PROTOCOL_TCP' });
      expect(decoded.service?.backends[0]).toMatchObject({ address: '10.1.0.1', weight: 0 });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('has committed generated types that match the proto (api/gen.sh is up to date)', () => {
    const out = mkdtempSync(join(tmpdir(), `xlb-gen-${process.pid}-`));
    try {
      execFileSync(
        join(repoRoot, 'node_modules/.bin/proto-loader-gen-types'),
        [
          '--grpcLib=@grpc/grpc-js', `--outDir=${out}`, '--includeDirs=proto', '--longs=String', '--enums=String',
          '--defaults', '--oneofs', '--includeComments', '--importFileExtension=.js', XLB_PROTO_FILE,
        ],
        { cwd: join(repoRoot, 'api'), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const fresh = listFiles(out);
      expect(fresh).toEqual(listFiles(join(repoRoot, 'api/generated')).filter((f) => f !== 'load.ts'));
      for (const file of fresh) {
        expect(readFileSync(join(out, file), 'utf8'), `${file} differs: run api/gen.sh`).toBe(
          readFileSync(join(repoRoot, 'api/generated', file), 'utf8'),
        );
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
