// Where the CLI and other TypeScript clients find xlbd: a unix socket (the default) or TCP.
// Unlike the daemon's listen addresses (lb/config/listen.ts), host names are accepted here: a
// client may well name a remote daemon by DNS, and TLS then checks the name.
import { isAbsolute, normalize } from 'node:path';
import { isIP } from 'node:net';

export const DEFAULT_SERVER = 'unix:///run/xlb/xlb.sock';
/** Environment variable that overrides DEFAULT_SERVER (the --server flag overrides both). */
export const SERVER_ENV = 'XLB_SERVER';

export type ServerTarget =
  | { kind: 'unix'; path: string; /** for grpc-js */ grpcTarget: string; /** for messages */ display: string }
  | { kind: 'tcp'; host: string; port: number; loopback: boolean; grpcTarget: string; display: string };

/** A client-side configuration mistake (bad address, missing TLS file): the caller's fault. */
export class ClientConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientConfigError';
  }
}

function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return normalize6(host) === '::1';
  return false;
}

function normalize6(host: string): string {
  // Enough to recognise ::1 in any spelling (0:0:0:0:0:0:0:1, ::0001).
  const full = host.includes('::')
    ? (() => {
        const [a, b] = host.split('::') as [string, string];
        const left = a ? a.split(':') : [];
        const right = b ? b.split(':') : [];
        return [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
      })()
    : host.split(':');
  const groups = full.map((g) => parseInt(g, 16));
  return groups.every((g, i) => g === (i === 7 ? 1 : 0)) ? '::1' : host;
}

/**
 * Parses `unix:///abs/path` (or `unix:/abs/path`, or a bare absolute path), `HOST:PORT`, or
 * `[IPv6]:PORT`. Throws ClientConfigError naming the address.
 */
export function parseServerAddress(text: string): ServerTarget {
  const shown = JSON.stringify(text);
  if (typeof text !== 'string' || text.trim() === '') throw new ClientConfigError('the server address is empty');
  if (text.startsWith('unix:') || text.startsWith('/')) {
    const raw = text.startsWith('unix://') ? text.slice(7) : text.startsWith('unix:') ? text.slice(5) : text;
    if (!isAbsolute(raw)) throw new ClientConfigError(`${shown}: a unix socket path must be absolute, e.g. unix:///run/xlb/xlb.sock`);
    const path = normalize(raw);
    return { kind: 'unix', path, grpcTarget: `unix://${path}`, display: `unix://${path}` };
  }
  const m = /^(?:\[([^\]]+)\]|([^:[\]/]+)):([0-9]{1,5})$/.exec(text);
  if (!m) {
    throw new ClientConfigError(`${shown} is not a server address; use unix:///path/to.sock, HOST:PORT or [IPv6]:PORT`);
  }
  const [, v6, name, portText] = m as unknown as [string, string | undefined, string | undefined, string];
  const port = Number(portText);
  if (port < 1 || port > 65535) throw new ClientConfigError(`${shown}: port ${portText} must be 1..65535`);
  if (v6 !== undefined && isIP(v6) !== 6) throw new ClientConfigError(`${shown}: only IPv6 addresses go in brackets`);
  const host = (v6 ?? name)!;
  const grpcTarget = v6 !== undefined ? `[${host}]:${port}` : `${host}:${port}`;
  return { kind: 'tcp', host, port, loopback: isLoopbackHost(host), grpcTarget, display: grpcTarget };
}
