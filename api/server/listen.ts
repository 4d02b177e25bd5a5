// Where and how the API listens. A unix socket is the default: its directory is created, a stale
// socket file left by a killed daemon is removed (a live one is refused), the file is created with
// its final mode (bound under the matching umask: no chmod, which would follow a symlink swapped in
// meanwhile) and then given its group with lchown, after checking it still is a socket. TCP is served only with TLS
// and required client certificates (mTLS); plaintext TCP only when explicitly allowed and only on a
// loopback address — lb/config enforces that, and it is checked again here, at bind.
import { ServerCredentials } from '@grpc/grpc-js';
import { lchownSync, lstatSync, mkdirSync, readFileSync, unlinkSync, type Stats } from 'node:fs';
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

function fileKind(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isFile()) return 'a regular file';
  return 'not a socket';
}

/** Gives the bound socket its group, and checks that it is our socket with the mode it was bound with. */
export function finishUnixSocket(path: string, mode: number, group: string | undefined): void {
  const st = lstatSync(path);
  if (!st.isSocket()) throw new ListenError(`${path} is not a socket (${fileKind(st)}); refusing to change its mode or group`);
  if (group !== undefined) lchownSync(path, -1, groupId(group));
  if ((st.mode & 0o777) !== mode) {
    throw new ListenError(`${path} was created with mode 0${(st.mode & 0o777).toString(8)}, not 0${mode.toString(8)}; refusing to serve on it`);
  }
}

/** Runs `bind` with the umask that creates the socket file with exactly `mode` (the kernel
 *  creates sockets 0777 & ~umask), so it never has other permissions, not even for a moment. */
export async function withSocketUmask<T>(mode: number, bind: () => Promise<T>): Promise<T> {
  const old = process.umask(0o777 & ~mode);
  try {
    return await bind();
  } finally {
    process.umask(old);
  }
}
