// Who is calling. Over mTLS the client certificate's subject names the caller (the CA may sign
// certificates for more than xlb's operators, so api.tls.allowed_clients can narrow it down to
// listed common names); over the unix socket, whoever passed the socket's file permissions.
// The identity goes into the daemon's log line of every change.
import { Metadata, ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js';

interface PeerSource {
  getPeer(): string;
  getAuthContext(): { sslPeerCertificate?: { subject?: Record<string, string | string[] | undefined> } } | null;
}

function commonName(call: PeerSource): string | undefined {
  const cn = call.getAuthContext()?.sslPeerCertificate?.subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}

/** "CN=xlb-operator from 10.0.0.5:41234", or "a unix-socket client". */
export function describePeer(call: PeerSource): string {
  const cn = commonName(call);
  const where = call.getPeer();
  if (cn !== undefined) return `CN=${cn} from ${where}`;
  return where && !where.startsWith('/') && where !== 'unknown' ? where : 'a unix-socket client';
}

/** Refuses calls whose client certificate's CN is not listed (health checks included). */
export function clientAllowList(allowed: readonly string[], log?: { warn(m: string): void }): ServerInterceptor {
  const names = new Set(allowed);
  return (_method, call) =>
    new ServerInterceptingCall(call, {
      start(next) {
        const cn = commonName(call);
        if (cn === undefined || !names.has(cn)) {
          log?.warn(`refused a call from ${cn === undefined ? 'a client without a certificate subject' : `CN=${cn}`} (${call.getPeer()}): not in api.tls.allowed_clients`);
          call.sendStatus({
            code: status.PERMISSION_DENIED,
            details: `client certificate ${cn === undefined ? 'without a CN' : `CN=${cn}`} is not in api.tls.allowed_clients`,
            metadata: new Metadata(),
          });
          return;
        }
        next();
      },
    });
}
