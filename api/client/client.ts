// A typed, promise-based client for xlb.v1.LoadBalancer: what the CLI and the tests use to talk to
// xlbd. Messages are the generated types (api/generated), loaded with the same proto-loader options
// as the server, so uint64 counters arrive as decimal strings and enums as their names.
import * as grpc from '@grpc/grpc-js';
import { loadXlbProto } from '../generated/load.js';
import type { ProtoGrpcType } from '../generated/xlb.js';
import type { ApplyResponse__Output } from '../generated/xlb/v1/ApplyResponse.js';
import type { Backend } from '../generated/xlb/v1/Backend.js';
import type { GetStatsResponse__Output } from '../generated/xlb/v1/GetStatsResponse.js';
import type { GetStatusResponse__Output } from '../generated/xlb/v1/GetStatusResponse.js';
import type { LoadBalancerClient } from '../generated/xlb/v1/LoadBalancer.js';
import type { Service, Service__Output } from '../generated/xlb/v1/Service.js';
import type { UpdateBackendRequest } from '../generated/xlb/v1/UpdateBackendRequest.js';
import type { AddBackendRequest } from '../generated/xlb/v1/AddBackendRequest.js';
import type { AddBackendResponse__Output } from '../generated/xlb/v1/AddBackendResponse.js';
import type { ApplyRequest } from '../generated/xlb/v1/ApplyRequest.js';
import type { CreateServiceRequest } from '../generated/xlb/v1/CreateServiceRequest.js';
import type { CreateServiceResponse__Output } from '../generated/xlb/v1/CreateServiceResponse.js';
import type { DeleteServiceRequest } from '../generated/xlb/v1/DeleteServiceRequest.js';
import type { DeleteServiceResponse__Output } from '../generated/xlb/v1/DeleteServiceResponse.js';
import type { GetServiceRequest } from '../generated/xlb/v1/GetServiceRequest.js';
import type { GetServiceResponse__Output } from '../generated/xlb/v1/GetServiceResponse.js';
import type { GetStatsRequest } from '../generated/xlb/v1/GetStatsRequest.js';
import type { GetStatusRequest } from '../generated/xlb/v1/GetStatusRequest.js';
import type { ListServicesRequest } from '../generated/xlb/v1/ListServicesRequest.js';
import type { ListServicesResponse__Output } from '../generated/xlb/v1/ListServicesResponse.js';
import type { RemoveBackendRequest } from '../generated/xlb/v1/RemoveBackendRequest.js';
import type { RemoveBackendResponse__Output } from '../generated/xlb/v1/RemoveBackendResponse.js';
import type { UpdateBackendResponse__Output } from '../generated/xlb/v1/UpdateBackendResponse.js';
import type { UpdateServiceRequest } from '../generated/xlb/v1/UpdateServiceRequest.js';
import type { UpdateServiceResponse__Output } from '../generated/xlb/v1/UpdateServiceResponse.js';
import type { DrainNodeRequest } from '../generated/xlb/v1/DrainNodeRequest.js';
import type { DrainNodeResponse__Output } from '../generated/xlb/v1/DrainNodeResponse.js';
import { transportFor, type TlsOptions } from './credentials.js';
import { XlbApiError } from './errors.js';
import { DEFAULT_SERVER, parseServerAddress, type ServerTarget } from './target.js';

export interface ConnectOptions {
  /** unix:///path, HOST:PORT or [IPv6]:PORT; default unix:///run/xlb/xlb.sock. */
  server?: string;
  tls?: TlsOptions;
  /** Plaintext TCP to a loopback daemon started with api.insecure. */
  insecure?: boolean;
  /** Deadline of each call in milliseconds (default 30 s). */
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

let cachedProto: ProtoGrpcType | undefined;
function proto(): ProtoGrpcType {
  return (cachedProto ??= loadXlbProto());
}

type Callback<R> = (err: grpc.ServiceError | null, res?: R) => void;
type UnaryMethod<Q, R> = (req: Q, options: grpc.CallOptions, cb: Callback<R>) => grpc.ClientUnaryCall;

/** Messages up to 256 MiB either way: a large state (10 000 services × 16 backends ≈ 5 MiB) must fit. */
const MESSAGE_LIMITS: grpc.ChannelOptions = { 'grpc.max_receive_message_length': 256 << 20, 'grpc.max_send_message_length': 256 << 20 };

export class XlbClient {
  readonly target: ServerTarget;
  /** The underlying grpc-js client, for calls this wrapper does not cover. */
  readonly raw: LoadBalancerClient;
  readonly timeoutMs: number;
  /** The channel uses TLS (TCP without the insecure option). */
  readonly tls: boolean;

  private constructor(target: ServerTarget, raw: LoadBalancerClient, timeoutMs: number, tls: boolean) {
    this.target = target;
    this.raw = raw;
    this.timeoutMs = timeoutMs;
    this.tls = tls;
  }

  /** Creates the channel (lazily connected: nothing is dialled before the first call). Throws
   *  ClientConfigError for a bad address or TLS setting. */
  static connect(o: ConnectOptions = {}): XlbClient {
    const target = parseServerAddress(o.server ?? DEFAULT_SERVER);
    const { credentials, channelOptions } = transportFor(target, o);
    const Ctor = proto().xlb.v1.LoadBalancer;
    // ListServices / GetStats of 10 000 services and an Apply of as many are several MiB.
    const raw = new Ctor(target.grpcTarget, credentials, { ...channelOptions, ...MESSAGE_LIMITS });
    return new XlbClient(target, raw, o.timeoutMs ?? DEFAULT_TIMEOUT_MS, target.kind === 'tcp' && o.insecure !== true);
  }

  close(): void {
    this.raw.close();
  }

  // ---- services -----------------------------------------------------------------------------

  async createService(service: Service): Promise<Service__Output> {
    return required((await this.#call('CreateService', { service })).service, 'CreateService');
  }

  /** New flags (absent = all false) and, when given, health check; with replaceBackends,
   *  service.backends becomes the whole set. */
  async updateService(service: Service, replaceBackends = false): Promise<{ service: Service__Output; changed: boolean }> {
    const res = await this.#call('UpdateService', { service, replaceBackends });
    return { service: required(res.service, 'UpdateService'), changed: res.changed };
  }

  async deleteService(serviceId: string): Promise<void> {
    await this.#call('DeleteService', { serviceId });
  }

  async getService(serviceId: string): Promise<Service__Output> {
    return required((await this.#call('GetService', { serviceId })).service, 'GetService');
  }

  async listServices(): Promise<Service__Output[]> {
    return (await this.#call('ListServices', {})).services;
  }

  // ---- backends -----------------------------------------------------------------------------

  async addBackend(serviceId: string, backend: Backend): Promise<Service__Output> {
    return required((await this.#call('AddBackend', { serviceId, backend })).service, 'AddBackend');
  }

  /** Only the given fields change (weight, state, name); see UpdateBackendRequest. */
  async updateBackend(
    serviceId: string,
    address: string,
    patch: Pick<UpdateBackendRequest, 'weight' | 'state' | 'name'>,
  ): Promise<{ service: Service__Output; changed: boolean }> {
    const req: UpdateBackendRequest = { serviceId, address };
    if (patch.weight !== undefined) req.weight = patch.weight;
    if (patch.state !== undefined) req.state = patch.state;
    if (patch.name !== undefined) req.name = patch.name;
    const res = await this.#call('UpdateBackend', req);
    return { service: required(res.service, 'UpdateBackend'), changed: res.changed };
  }

  async removeBackend(serviceId: string, address: string): Promise<Service__Output> {
    return required((await this.#call('RemoveBackend', { serviceId, address })).service, 'RemoveBackend');
  }

  // ---- whole state, stats, status -----------------------------------------------------------

  async apply(services: Service[], o: { dryRun?: boolean } = {}): Promise<ApplyResponse__Output> {
    return this.#call('Apply', { services, dryRun: o.dryRun ?? false });
  }

  /** Every service, or only `serviceId` (global figures either way). */
  async getStats(serviceId = ''): Promise<GetStatsResponse__Output> {
    return this.#call('GetStats', { serviceId });
  }

  async getStatus(): Promise<GetStatusResponse__Output> {
    return this.#call('GetStatus', {});
  }

  /** Withdraws this node's BGP announcements (undo: announces them again). */
  async drainNode(undo = false): Promise<DrainNodeResponse__Output> {
    return this.#call('DrainNode', { undo });
  }

  // ---- plumbing -----------------------------------------------------------------------------

  #call<M extends keyof CallTypes>(method: M, req: CallTypes[M][0]): Promise<CallTypes[M][1]> {
    const fn = (this.raw as unknown as Record<string, UnaryMethod<CallTypes[M][0], CallTypes[M][1]>>)[method]!;
    return new Promise((resolve, reject) => {
      fn.call(this.raw, req, { deadline: Date.now() + this.timeoutMs }, (err, res) => {
        if (err) reject(new XlbApiError(err, method, this.target.display, { tls: this.tls }));
        else resolve(res!);
      });
    });
  }
}

function required<T>(value: T | null | undefined, method: string): T {
  if (value === null || value === undefined) throw new Error(`${method}: the daemon's reply has no service`);
  return value;
}

/** Request and reply type per RPC. */
interface CallTypes {
  CreateService: [CreateServiceRequest, CreateServiceResponse__Output];
  UpdateService: [UpdateServiceRequest, UpdateServiceResponse__Output];
  DeleteService: [DeleteServiceRequest, DeleteServiceResponse__Output];
  GetService: [GetServiceRequest, GetServiceResponse__Output];
  ListServices: [ListServicesRequest, ListServicesResponse__Output];
  AddBackend: [AddBackendRequest, AddBackendResponse__Output];
  UpdateBackend: [UpdateBackendRequest, UpdateBackendResponse__Output];
  RemoveBackend: [RemoveBackendRequest, RemoveBackendResponse__Output];
  Apply: [ApplyRequest, ApplyResponse__Output];
  GetStats: [GetStatsRequest, GetStatsResponse__Output];
  GetStatus: [GetStatusRequest, GetStatusResponse__Output];
  DrainNode: [DrainNodeRequest, DrainNodeResponse__Output];
}
