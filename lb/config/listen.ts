// Listen addresses: unix:///absolute/path, IPv4:PORT, [IPv6]:PORT or localhost:PORT. Host names
// other than localhost are refused: whether a listener is loopback-only must be decidable from
// the config alone, without DNS.
import { isAbsolute, normalize } from 'node:path';
import { parseIp, ValidationError } from '../model/index.js';
import type { ListenAddress } from './types.js';

function fail(problem: string): never {
  throw new ValidationError('INVALID_ARGUMENT', '', problem);
}

function isLoopback(ip: { family: 4 | 6; bytes: Uint8Array }): boolean {
  return ip.family === 4 ? ip.bytes[0] === 127 : ip.bytes.every((b, i) => b === (i === 15 ? 1 : 0));
}

export function parseTcpListen(text: unknown): Extract<ListenAddress, { kind: 'tcp' }> {
  if (typeof text !== 'string' || text === '') fail('expected HOST:PORT, e.g. 127.0.0.1:9641 or [::1]:9641');
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]+)$/.exec(text);
  if (!m) fail(`${JSON.stringify(text)} is not HOST:PORT (IPv6 in brackets, e.g. [::1]:9641)`);
  const [, v6, v4, portText] = m as unknown as [string, string | undefined, string | undefined, string];
  const port = Number(portText);
  if (!/^[1-9][0-9]*$/.test(portText) || port > 65535) fail(`port ${portText} must be 1..65535`);
  if (v4 === 'localhost') return { kind: 'tcp', host: 'localhost', port, loopback: true, target: `localhost:${port}` };
  let ip;
  try {
    ip = parseIp(v6 ?? v4, '');
  } catch {
    fail(`${JSON.stringify(v6 ?? v4)} is not an IP address (host names other than localhost are not accepted)`);
  }
  if (v6 !== undefined && ip.family !== 6) fail(`${JSON.stringify(text)}: only IPv6 addresses go in brackets`);
  if (v6 === undefined && ip.family === 6) fail(`${JSON.stringify(text)}: IPv6 addresses go in brackets, e.g. [::1]:${port}`);
  const host = ip.text;
  return { kind: 'tcp', host, port, loopback: isLoopback(ip), target: ip.family === 6 ? `[${host}]:${port}` : `${host}:${port}` };
}

export function parseListen(text: unknown): ListenAddress {
  if (typeof text === 'string' && text.startsWith('unix:')) {
    const path = text.startsWith('unix://') ? text.slice('unix://'.length) : text.slice('unix:'.length);
    if (!isAbsolute(path)) fail(`${JSON.stringify(text)}: the socket path must be absolute, e.g. unix:///run/xlb/xlb.sock`);
    const clean = normalize(path);
    if (clean.endsWith('/')) fail(`${JSON.stringify(text)}: the socket path names a directory`);
    return { kind: 'unix', path: clean, target: `unix://${clean}` };
  }
  return parseTcpListen(text);
}
