// The gRPC server of xlbd: xlb.v1.LoadBalancer, xlb.v1.Recorder, grpc.health.v1.Health and server
// reflection, on a unix socket or a TLS TCP port. Every call
// (including health and reflection) is reported to onRequest with its method, status code and
// duration, which the metrics module turns into counters.
import { Server, ServerInterceptingCall, status as grpcStatus, type ServerInterceptor } from '@grpc/grpc-js';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import * as protoLoader from '@grpc/proto-loader';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import type { ApiTls, ListenAddress } from '../../lb/config/index.js';
import { loadXlbPackageDefinition, loadXlbProto } from '../generated/load.js';
import type { RecorderHandlers } from '../generated/xlb/v1/Recorder.js';
import type { LoadBalancerControl } from './control.js';
import { credentialsFor, finishUnixSocket, ListenError, prepareUnixSocket, withSocketUmask } from './listen.js';
import { callLimiter, DEFAULT_API_LIMITS, grpcServerOptions, type ApiLimits } from './limits.js';
import { clientAllowList } from './peer.js';
import { addLazyReflection } from './lazy-reflection.js';
import { loadBalancerHandlers } from './load-balancer.js';
import { recorderService } from './recorder.js';

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
  /** Resource limits (limits.ts); defaults: DEFAULT_API_LIMITS. */
  limits?: Partial<ApiLimits>;
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


export async function startApiServer(o: ApiServerOptions): Promise<ApiServer> {
  const limits: ApiLimits = { ...DEFAULT_API_LIMITS, ...o.limits };
  const creds = credentialsFor(o.listen, { tls: o.tls, insecure: o.insecure ?? false });
  // The reporter sits next to the transport, so the limiter's refusals are counted too.
  const interceptors = [
    ...(o.onRequest ? [requestReporter(o.onRequest)] : []),
    ...(o.tls?.allowedClients ? [clientAllowList(o.tls.allowedClients, o.log)] : []),
    callLimiter(limits),
  ];
  const server = new Server({ ...grpcServerOptions(limits), interceptors });
  const definition = loadXlbPackageDefinition();
  const proto = loadXlbProto(definition);
  server.addService(proto.xlb.v1.LoadBalancer.service, loadBalancerHandlers(o.control, o.log));
  server.addService(recorderService(proto.xlb.v1.Recorder.service), o.recorder);
  const health = new HealthImplementation({
    '': 'SERVING',
    [LOAD_BALANCER_SERVICE]: 'SERVING',
    [RECORDER_SERVICE]: o.recorder ? 'SERVING' : 'NOT_SERVING',
  });
  health.addToServer(server);
  // Reflection describes our contract and the health service (what `grpcurl list` shows); its
  // index is built at the first reflection call (lazy-reflection.ts).
  addLazyReflection(server, () => ({ ...definition, ...protoLoader.loadSync(healthProtoPath) }));

  // xlbd accepts the connections itself and hands them to grpc-js, because grpc-js has no
  // connection limit: net.Server closes connections beyond maxConnections as they arrive.
  const injector = server.createConnectionInjector(creds);
  const sockets = new Set<Socket>();
  const listener: NetServer = createNetServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    // A socket silent this long has neither finished a TLS handshake nor answered the HTTP/2
    // keepalive ping (sent every keepaliveTimeMs on a live connection).
    socket.setTimeout(Math.max(limits.maxConnectionIdleMs, limits.keepaliveTimeMs + limits.keepaliveTimeoutMs), () => socket.destroy());
    injector.injectConnection(socket);
  });
  listener.maxConnections = limits.maxConnections;
  const listen = (options: { path: string } | { host: string; port: number }) =>
    new Promise<void>((resolve, reject) => {
      const target = 'path' in options ? `unix://${options.path}` : `${options.host}:${options.port}`;
      listener.once('error', (err) => reject(new ListenError(`cannot listen on ${target}: ${err.message}`)));
      listener.listen(options, () => resolve());
    });

  let address: string;
  if (o.listen.kind === 'unix') {
    await prepareUnixSocket(o.listen.path);
    const mode = o.socketMode ?? 0o660;
    await withSocketUmask(mode, () => listen({ path: o.listen.kind === 'unix' ? o.listen.path : '' }));
    finishUnixSocket(o.listen.path, mode, o.socketGroup);
    address = o.listen.target;
  } else {
    await listen({ host: o.listen.host, port: o.listen.port });
    const port = (listener.address() as AddressInfo).port;
    address = o.listen.host.includes(':') ? `[${o.listen.host}]:${port}` : `${o.listen.host}:${port}`;
  }
  listener.on('error', (err) => o.log?.error(`API listener: ${err.message}`));

  let closed: Promise<void> | undefined;
  return {
    address,
    health,
    close(graceMs = 5000) {
      closed ??= new Promise<void>((resolve) => {
        health.setStatus('', 'NOT_SERVING');
        health.setStatus(LOAD_BALANCER_SERVICE, 'NOT_SERVING');
        listener.close();
        injector.drain(graceMs);
        const timer = setTimeout(() => {
          server.forceShutdown();
          for (const s of sockets) s.destroy();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          injector.destroy();
          for (const s of sockets) s.destroy();
          resolve();
        });
      });
      return closed;
    },
  };
}
