// Transport security for a client connection. The daemon's rules (docs/api.md): a unix socket is
// protected by its file mode; TCP requires mutual TLS; plaintext TCP only to a loopback address.
// The client applies the same rules so a mistake is reported before anything is sent.
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { ClientConfigError, type ServerTarget } from './target.js';

export interface TlsOptions {
  /** PEM file of the CA that signed the daemon's certificate (default: the system's roots). */
  ca?: string;
  /** PEM client certificate and its key (the daemon requires a client certificate on TCP). */
  cert?: string;
  key?: string;
  /** Name to check the daemon's certificate against, when it differs from the address dialled. */
  serverName?: string;
}

export interface TransportOptions {
  tls?: TlsOptions;
  /** Plaintext TCP; allowed only to a loopback address (a daemon started with api.insecure). */
  insecure?: boolean;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ClientConfigError(`cannot read the ${what} ${path} (${code})`);
  }
}

function hasTls(tls: TlsOptions | undefined): boolean {
  return !!tls && [tls.ca, tls.cert, tls.key, tls.serverName].some((v) => v !== undefined);
}

export function transportFor(target: ServerTarget, o: TransportOptions = {}): {
  credentials: grpc.ChannelCredentials;
  channelOptions: grpc.ChannelOptions;
} {
  const tls = o.tls;
  if (target.kind === 'unix') {
    if (hasTls(tls)) throw new ClientConfigError(`TLS options apply to TCP servers only; ${target.display} is a unix socket`);
    if (o.insecure) throw new ClientConfigError(`the insecure option applies to TCP servers only; ${target.display} is a unix socket`);
    return { credentials: grpc.credentials.createInsecure(), channelOptions: {} };
  }
  if (o.insecure) {
    if (hasTls(tls)) throw new ClientConfigError('insecure (plaintext) and TLS options exclude each other');
    if (!target.loopback) {
      throw new ClientConfigError(`plaintext is only allowed to a loopback address; ${target.display} needs TLS with a client certificate`);
    }
    return { credentials: grpc.credentials.createInsecure(), channelOptions: {} };
  }
  if (!tls?.cert || !tls.key) {
    const missing = !tls?.cert && !tls?.key ? 'a client certificate and key' : !tls?.cert ? 'the client certificate' : 'the client key';
    throw new ClientConfigError(
      `${target.display} is a TCP server: the daemon requires mutual TLS, so ${missing} must be given ` +
        '(or, for a loopback daemon started with api.insecure, choose plaintext explicitly)',
    );
  }
  const credentials = grpc.credentials.createSsl(
    tls.ca ? readPem(tls.ca, 'CA certificate') : null,
    readPem(tls.key, 'client key'),
    readPem(tls.cert, 'client certificate'),
  );
  const channelOptions: grpc.ChannelOptions = tls.serverName ? { 'grpc.ssl_target_name_override': tls.serverName } : {};
  return { credentials, channelOptions };
}
