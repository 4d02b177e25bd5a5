// Where and how the API listens. A unix socket is the default: its directory is created, a stale
// socket file left by a killed daemon is removed (a live one is refused), the file is created with
// no access for others and then given the configured mode and group. TCP is served only with TLS
// and required client certificates (mTLS); plaintext TCP only when explicitly allowed and only on a
// loopback address — lb/config enforces that, and it is checked again here, at bind.
import { ServerCredentials } from '@grpc/grpc-js';
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import type { ApiTls, ListenAddress } from '../../lb/config/index.js';

export interface ListenSecurity {
  tls?: ApiTls | undefined;
  insecure?: boolean;
}

export class ListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListenError';
  }
}

export function credentialsFor(listen: ListenAddress, sec: ListenSecurity): ServerCredentials {
  if (listen.kind === 'unix') return ServerCredentials.createInsecure();
  if (sec.tls) {
    const read = (what: string, path: string) => {
      try {
        return readFileSync(path);
      } catch (e) {
        throw new ListenError(`api.tls.${what}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
    };
    const ca = read('client_ca', sec.tls.clientCa);
    const cert = read('cert', sec.tls.cert);
    const key = read('key', sec.tls.key);
    // true: a client without a certificate signed by client_ca is refused during the handshake.
    return ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], true);
  }
  if (sec.insecure && listen.loopback) return ServerCredentials.createInsecure();
  throw new ListenError(
    sec.insecure
      ? `refusing plaintext gRPC on ${listen.target}: without TLS the API may only listen on loopback (127.0.0.0/8, ::1, localhost)`
      : `refusing to listen on ${listen.target} without TLS: configure api.tls (mTLS) or use a unix socket`,
  );
}

function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Prepares the socket path: directory created, stale socket removed, live one refused. */
export async function prepareUnixSocket(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new ListenError(`${path} exists and is not a socket; refusing to replace it`);
  if (await socketInUse(path)) throw new ListenError(`${path} is in use: another xlbd (or something else) is serving on it`);
  unlinkSync(path);
}

/** gid of a group name (from /etc/group) or a numeric gid. */
export function groupId(group: string): number {
  if (/^[0-9]+$/.test(group)) return Number(group);
  const line = readFileSync('/etc/group', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[0] === group);
  const gid = line?.split(':')[2];
  if (gid === undefined || !/^[0-9]+$/.test(gid)) throw new ListenError(`api.socket_group: no group named ${JSON.stringify(group)}`);
  return Number(gid);
}

/** Gives the bound socket its mode and group. */
export function finishUnixSocket(path: string, mode: number, group: string | undefined): void {
  if (group !== undefined) chownSync(path, -1, groupId(group));
  chmodSync(path, mode);
}

/** Runs `bind` with a umask that creates the socket inaccessible to everyone but its owner, so
 *  nobody can connect before finishUnixSocket() sets the real mode. */
export async function withPrivateUmask<T>(bind: () => Promise<T>): Promise<T> {
  const old = process.umask(0o177);
  try {
    return await bind();
  } finally {
    process.umask(old);
  }
}
