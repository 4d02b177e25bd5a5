// A STAND-IN for xlbd in the CLI tests: a real grpc-js server on a unix socket implementing
// xlb.v1.LoadBalancer from the .proto, that records every request the CLI sends. Its replies come
// from lb/model's DesiredState (the daemon's own validation, ids and messages) with scripted
// counters and status; there is no datapath behind it. The CLI against the real api/server and
// datapath is test/cli/server.lab.test.ts.
import * as grpc from '@grpc/grpc-js';
import { loadXlbProto } from '../../api/generated/load.js';
import type { GetStatsResponse } from '../../api/generated/xlb/v1/GetStatsResponse.js';
import type { GetStatusResponse } from '../../api/generated/xlb/v1/GetStatusResponse.js';
import type { LoadBalancerHandlers } from '../../api/generated/xlb/v1/LoadBalancer.js';
import type { RecordRequest__Output } from '../../api/generated/xlb/v1/RecordRequest.js';
import type { RecorderHandlers } from '../../api/generated/xlb/v1/Recorder.js';
import type { BackendHealthView, HealthView } from '../../api/server/control.js';
import {
  applyResponseFromDiff,
  backendHealthToProto,
  backendInputFromProto,
  serviceHealthToProto,
  serviceInputFromProto,
  serviceToProto,
  updateBackendPatchFromProto,
} from '../../api/server/convert.js';
import { DesiredState, ValidationError, type StateDiff } from '../../lb/model/index.js';

export interface RecordedCall {
  method: string;
  request: unknown;
}

type Counters = { packets: bigint; bytes: bigint };

export class StandInServer {
  readonly calls: RecordedCall[] = [];
  state = StandInServer.emptyState();
  /** Per service id and per "id|address": what GetStats reports; grows by `step` on every GetStats. */
  readonly counters = new Map<string, Counters>();
  step: Counters = { packets: 0n, bytes: 0n };
  status: GetStatusResponse = {
    version: '0.1.0-standin',
    instance: 'default',
    uptimeSeconds: 3725,
    interfaces: [{ name: 'eth0', ifindex: 2, mac: '02:00:00:00:00:01', attached: true, mode: 'XDP_MODE_NATIVE', programId: 42 }],
    gateway: { ip: '10.2.1.1', mac: '02:00:00:00:00:fe', resolved: true, interface: 'eth0' },
    maglevTableSize: 65537,
    maglevSeed: 7,
    services: 0,
    backends: 0,
    mtu: 1500,
    adoptedDatapath: true,
    recorderAvailable: true,
    recorderNote: '',
    recorderRingBytes: 4 << 20,
    maglevTableMemoryBytes: 2 * 270_336,
    maglevTables: [{ tableSize: 65537, tables: 2, memoryBytes: 2 * 270_336 }],
  };
  /** Scripted health per "id|address" (and per service id), as the service views and stats show it. */
  readonly backendHealth = new Map<string, BackendHealthView>();
  readonly serviceHealth = new Map<string, { allBackendsDown: boolean; failingOpen: boolean }>();
  readonly health: HealthView = {
    backend: (id, address) => this.backendHealth.get(`${id}|${address}`),
    service: (id) => this.serviceHealth.get(id),
  };
  /** What DrainNode answers (and records). */
  drained = false;
  readonly #server: grpc.Server;
  /** unix:///path or host:port, as the CLI's --server takes it. */
  address = '';
  #failNext: { method: string; code: grpc.status; details: string } | undefined;

  private constructor(server: grpc.Server) {
    this.#server = server;
  }

  /** Listens on a unix socket path, or on `127.0.0.1:0` style TCP with `credentials` (e.g. mTLS). */
  static async start(socketPathOrHostPort: string, credentials = grpc.ServerCredentials.createInsecure()): Promise<StandInServer> {
    const server = new grpc.Server();
    const standIn = new StandInServer(server);
    const proto = loadXlbProto();
    server.addService(proto.xlb.v1.LoadBalancer.service, standIn.#handlers());
    server.addService(proto.xlb.v1.Recorder.service, standIn.#recorderHandlers());
    const target = socketPathOrHostPort.startsWith('/') ? `unix://${socketPathOrHostPort}` : socketPathOrHostPort;
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(target, credentials, (err, p) => (err ? reject(err) : resolve(p)));
    });
    standIn.address = target.startsWith('unix://') ? target : target.replace(/:0$/, `:${port}`);
    return standIn;
  }

  static emptyState(): DesiredState {
    return new DesiredState({ limits: { maxServices: 1023, maxBackends: 65535, maxBackendsPerService: 256, maglevTableSize: 65537 } });
  }

  /** Forgets calls, services (and their ids) and counters. */
  reset(): void {
    this.calls.length = 0;
    this.state = StandInServer.emptyState();
    this.counters.clear();
    this.step = { packets: 0n, bytes: 0n };
    this.backendHealth.clear();
    this.serviceHealth.clear();
    this.drained = false;
  }

  /** The next call of `method` fails with this status (to see how the CLI reports it). */
  failNext(method: string, code: grpc.status, details: string): void {
    this.#failNext = { method, code, details };
  }

  callsOf(method: string): unknown[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.request);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.tryShutdown(() => resolve()));
  }

  #counter(key: string): Counters {
    const c = this.counters.get(key) ?? { packets: 0n, bytes: 0n };
    this.counters.set(key, c);
    return c;
  }

  #stats(serviceId: string): GetStatsResponse {
    const services = serviceId ? [this.state.get(serviceId, 'service_id')] : this.state.list();
    const bump = (c: Counters) => {
      c.packets += this.step.packets;
      c.bytes += this.step.bytes;
      return c;
    };
    return {
      services: services.map((s) => {
        const sc = bump(this.#counter(s.id));
        return {
          serviceId: s.id,
          packets: sc.packets.toString(),
          bytes: sc.bytes.toString(),
          backends: s.backends.map((b) => {
            const bc = bump(this.#counter(`${s.id}|${b.address}`));
            return {
              address: b.address,
              datapathId: b.datapathId,
              state: b.state === 'active' ? 'BACKEND_STATE_ACTIVE' : 'BACKEND_STATE_DRAINING',
              packets: bc.packets.toString(),
              bytes: bc.bytes.toString(),
              health: backendHealthToProto(this.health.backend(s.id, b.address)),
            };
          }),
          health: serviceHealthToProto(this.health.service(s.id)),
        };
      }),
      verdicts: [{ name: 'pass', packets: 10 }, { name: 'tx', packets: 2000 }, { name: 'drop', packets: 3 }],
      drops: [{ name: 'no_backend', packets: 3 }, { name: 'fragment', packets: 0 }],
      flowTable: { hits: 1990, misses: 10, newFlows: 10, capacity: 262144 },
      icmp: { forwarded: 1, generated: 0 },
      timestampMs: Date.now(),
    };
  }

  #change(op: (d: DesiredState) => StateDiff, dryRun = false): { diff: StateDiff; state: DesiredState } {
    const draft = this.state.clone();
    const diff = op(draft);
    if (!dryRun) this.state = draft;
    return { diff, state: draft };
  }

  /** xlb.v1.Recorder: every recording gets a pcap header and one 60-byte packet, then ends (max_packets). */
  #recorderHandlers(): RecorderHandlers {
    return {
      Record: (call) => {
        call.once('data', (req: RecordRequest__Output) => {
          this.calls.push({ method: 'Record', request: req });
          const header = Buffer.alloc(24);
          header.writeUInt32LE(0xa1b23c4d, 0); // nanosecond pcap
          header.writeUInt16LE(2, 4);
          header.writeUInt16LE(4, 6);
          header.writeUInt32LE(65535, 16);
          header.writeUInt32LE(1, 20);
          const record = Buffer.alloc(16 + 60);
          record.writeUInt32LE(60, 8);
          record.writeUInt32LE(60, 12);
          const stats = { matched: 1, captured: 1, lost: 0, capturedBytes: 60 };
          call.write({ started: { recordingId: 1, snaplen: 65535, filters: ['any -> any'] } });
          call.write({ chunk: Buffer.concat([header, record]) });
          call.write({ end: { reason: 'RECORD_END_REASON_MAX_PACKETS', stats } });
          call.end();
        });
      },
    };
  }

  #handlers(): LoadBalancerHandlers {
    const unary = <Req, Res>(method: string, impl: (req: Req) => Res) =>
      (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => {
        this.calls.push({ method, request: call.request });
        const fail = this.#failNext;
        if (fail && fail.method === method) {
          this.#failNext = undefined;
          return cb({ code: fail.code, details: fail.details });
        }
        try {
          cb(null, impl(call.request));
        } catch (e) {
          if (e instanceof ValidationError) cb({ code: e.grpcStatus, details: e.message });
          else cb({ code: grpc.status.INTERNAL, details: String(e) });
        }
      };
    const svc = (state: DesiredState, id: string) => serviceToProto(state.get(id), this.health);
    return {
      CreateService: unary('CreateService', (req) => {
        const { diff, state } = this.#change((d) => d.create(serviceInputFromProto(req.service, 'service'), 'service'));
        return { service: svc(state, diff.created[0]!) };
      }),
      UpdateService: unary('UpdateService', (req) => {
        const input = serviceInputFromProto(req.service, 'service');
        const { diff, state } = this.#change((d) => d.update(input, { replaceBackends: req.replaceBackends }, 'service'));
        return { service: svc(state, diff.changes[0]?.id ?? diff.unchanged[0]!), changed: diff.changes.length > 0 };
      }),
      DeleteService: unary('DeleteService', (req) => {
        this.#change((d) => d.delete(req.serviceId, 'service_id'));
        return {};
      }),
      GetService: unary('GetService', (req) => ({ service: serviceToProto(this.state.get(req.serviceId, 'service_id'), this.health) })),
      ListServices: unary('ListServices', () => ({ services: this.state.list().map((x) => serviceToProto(x, this.health)) })),
      AddBackend: unary('AddBackend', (req) => {
        const b = backendInputFromProto(req.backend, 'backend');
        const { diff, state } = this.#change((d) => d.addBackend(req.serviceId, b));
        return { service: svc(state, diff.changes[0]!.id) };
      }),
      UpdateBackend: unary('UpdateBackend', (req) => {
        const { diff, state } = this.#change((d) => d.updateBackend(req.serviceId, req.address, updateBackendPatchFromProto(req)));
        return { service: svc(state, diff.changes[0]?.id ?? diff.unchanged[0] ?? state.get(req.serviceId).id), changed: diff.changes.length > 0 };
      }),
      RemoveBackend: unary('RemoveBackend', (req) => {
        const { diff, state } = this.#change((d) => d.removeBackend(req.serviceId, req.address));
        return { service: svc(state, diff.changes[0]!.id) };
      }),
      Apply: unary('Apply', (req) => {
        const inputs = req.services.map((s, i) => serviceInputFromProto(s, `services[${i}]`));
        const { diff } = this.#change((d) => d.apply(inputs, { origin: 'api', field: 'services' }), req.dryRun);
        return applyResponseFromDiff(diff, req.dryRun);
      }),
      GetStats: unary('GetStats', (req) => this.#stats(req.serviceId)),
      GetStatus: unary('GetStatus', () => ({ ...this.status, services: this.state.serviceCount, backends: this.state.backendCount })),
      DrainNode: unary('DrainNode', (req) => {
        this.drained = !req.undo;
        return { drained: this.drained, withdrawn: req.undo ? [] : ['10.0.0.10/32'], announced: req.undo ? ['10.0.0.10/32'] : [] };
      }),
    };
  }
}
