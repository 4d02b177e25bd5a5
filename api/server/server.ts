// The gRPC server of xlbd: xlb.v1.LoadBalancer, xlb.v1.Recorder, grpc.health.v1.Health and server
// reflection, on a unix socket or a TLS TCP port. Every call
// (including health and reflection) is reported to onRequest with its method, status code and
// duration, which the metrics module turns into counters.
import { Server, ServerInterceptingCall, status as grpcStatus, type ServerInterceptor } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import * as protoLoader from '@grpc/proto-loader';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import type { ApiTls, ListenAddress } from '../../lb/config/index.js';
import { loadXlbPackageDefinition, loadXlbProto } from '../generated/load.js';
import type { RecorderHandlers } from '../generated/xlb/v1/Recorder.js';
import type { LoadBalancerControl } from './control.js';
import { credentialsFor, finishUnixSocket, ListenError, prepareUnixSocket, withPrivateUmask } from './listen.js';
import { loadBalancerHandlers } from './load-balancer.js';

export const LOAD_BALANCER_SERVICE = 'xlb.v1.LoadBalancer';
export const RECORDER_SERVICE = 'xlb.v1.Recorder';

export interface ApiServerOptions {
  control: LoadBalancerControl;
  listen: ListenAddress;
  /** Unix socket file mode (default 0o660). */
  socketMode?: number;
  /** Unix socket group (name or gid); default: the daemon's group. */
  socketGroup?: string | undefined;
  /** TCP: server certificate, key and the CA client certificates must chain to. */
  tls?: ApiTls | undefined;
  /** TCP without TLS; accepted only on loopback addresses. */
  insecure?: boolean;
  /** Called once per finished call: method path (e.g. "/xlb.v1.LoadBalancer/CreateService"),
   *  status code name (e.g. "OK", "INVALID_ARGUMENT") and duration in seconds. */
  onRequest?: (method: string, code: string, seconds: number) => void;
  log?: { info(m: string): void; warn(m: string): void; error(m: string): void };
  /** xlb.v1.Recorder implementation (recorderHandlers in recorder.ts, over the daemon's Recorder). */
  recorder: RecorderHandlers;
}

export interface ApiServer {
  /** What it listens on: unix:///path or host:port (with the actual port when 0 was asked). */
  readonly address: string;
  readonly health: HealthImplementation;
  /** Stops accepting calls, lets running calls finish for up to graceMs, then cuts them. */
  close(graceMs?: number): Promise<void>;
}

function requestReporter(onRequest: NonNullable<ApiServerOptions['onRequest']>): ServerInterceptor {
  return (method, call) => {
    const started = process.hrtime.bigint();
    return new ServerInterceptingCall(call, {
      sendStatus: (status, next) => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        try {
          onRequest(method.path, grpcStatus[status.code] ?? String(status.code), seconds);
        } catch {
          // A metrics bug must never break an API call.
        }
        next(status);
      },
    });
  };
}

/** The largest request the API accepts (bytes). */
export const MAX_REQUEST_BYTES = 64 << 20;

export async function startApiServer(o: ApiServerOptions): Promise<ApiServer> {
  const creds = credentialsFor(o.listen, { tls: o.tls, insecure: o.insecure ?? false });
  const server = new Server({
    // An Apply of 10 000 services × 16 backends is ≈ 4 MiB (grpc-js refuses more than 4 MiB by
    // default); 64 MiB leaves room for IPv6 backends, names and larger states.
    'grpc.max_receive_message_length': MAX_REQUEST_BYTES,
    ...(o.onRequest ? { interceptors: [requestReporter(o.onRequest)] } : {}),
  });
  const definition = loadXlbPackageDefinition();
  const proto = loadXlbProto(definition);
  server.addService(proto.xlb.v1.LoadBalancer.service, loadBalancerHandlers(o.control, o.log));
  server.addService(proto.xlb.v1.Recorder.service, o.recorder);
  const health = new HealthImplementation({
    '': 'SERVING',
    [LOAD_BALANCER_SERVICE]: 'SERVING',
    [RECORDER_SERVICE]: o.recorder ? 'SERVING' : 'NOT_SERVING',
  });
  health.addToServer(server);
  // Reflection describes our contract and the health service (what `grpcurl list` shows).
  const healthDefinition = protoLoader.loadSync(healthProtoPath);
  new ReflectionService({ ...definition, ...healthDefinition }).addToServer(server);

  const bind = (target: string) =>
    new Promise<number>((resolve, reject) => {
      server.bindAsync(target, creds, (err, port) => (err ? reject(new ListenError(`cannot listen on ${target}: ${err.message}`)) : resolve(port)));
    });

  let address: string;
  if (o.listen.kind === 'unix') {
    await prepareUnixSocket(o.listen.path);
    await withPrivateUmask(() => bind(o.listen.target));
    finishUnixSocket(o.listen.path, o.socketMode ?? 0o660, o.socketGroup);
    address = o.listen.target;
  } else {
    const port = await bind(o.listen.target);
    address = o.listen.host.includes(':') ? `[${o.listen.host}]:${port}` : `${o.listen.host}:${port}`;
  }

  let closed: Promise<void> | undefined;
  return {
    address,
    health,
    close(graceMs = 5000) {
      closed ??= new Promise<void>((resolve) => {
        health.setStatus('', 'NOT_SERVING');
        health.setStatus(LOAD_BALANCER_SERVICE, 'NOT_SERVING');
        const timer = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closed;
    },
  };
}
