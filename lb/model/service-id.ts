// Service ids: `VIP:PORT/PROTO`, e.g. 10.0.0.10:80/tcp, [2001:db8::10]:443/tcp, 10.0.0.10:*/udp.
// One canonical spelling per service, because the id is the key everywhere (API, state file,
// metrics labels, CLI).
import { formatIp, parseIp, parseUnicastIp } from './address.js';
import { describeValue, invalid } from './errors.js';
import { PROTOCOLS, type Protocol, type ServiceKey } from './types.js';

const SERVICE_ID = /^(?:\[([^\]]*)\]|([^[\]:/]*)):([^/:]*)\/(.*)$/;

export interface ParseServiceIdOptions {
  /** Apply the VIP rule (routable unicast). Default true. Off only to name a service in messages. */
  checkVip?: boolean;
}

/** Parses a service id into a canonical ServiceKey, or throws INVALID_ARGUMENT naming `field`. */
export function parseServiceId(text: unknown, field = 'service_id', options: ParseServiceIdOptions = {}): ServiceKey {
  if (typeof text !== 'string') throw invalid(field, `expected a service id like 10.0.0.10:80/tcp, got ${describeValue(text)}`);
  if (text === '') throw invalid(field, 'is empty; a service id like 10.0.0.10:80/tcp is required');
  const m = SERVICE_ID.exec(text);
  if (!m) {
    const hint = /^[0-9a-fA-F]*:[0-9a-fA-F]*:/.test(text) ? ' (IPv6 VIPs go in brackets: [2001:db8::10]:443/tcp)' : '';
    throw invalid(field, `${describeValue(text)} is not a service id of the form VIP:PORT/PROTO${hint}`);
  }
  const [, v6, v4, portText, protoText] = m as unknown as [string, string | undefined, string | undefined, string, string];
  const vipText = v6 ?? v4 ?? '';
  const vipIp = options.checkVip === false ? parseIp(vipText, field) : parseUnicastIp(vipText, field, 'VIP');
  if (v6 !== undefined && vipIp.family !== 6) throw invalid(field, `${describeValue(text)}: only IPv6 VIPs go in brackets`);
  if (v6 === undefined && vipIp.family === 6) throw invalid(field, `${describeValue(text)}: IPv6 VIPs go in brackets`);

  let port: number;
  if (portText === '*') port = 0;
  else if (portText === '0') throw invalid(field, `${describeValue(text)}: port 0 is written '*' (all ports)`);
  else if (/^[1-9][0-9]{0,4}$/.test(portText) && Number(portText) <= 65535) port = Number(portText);
  else throw invalid(field, `${describeValue(text)}: port ${describeValue(portText)} must be 1..65535 or '*'`);

  return { vip: formatIp(vipIp.bytes), port, protocol: parseProtocol(protoText, field, text) };
}

/** 'tcp' | 'udp', case-insensitive. */
export function parseProtocol(text: unknown, field: string, context?: string): Protocol {
  const lower = typeof text === 'string' ? text.toLowerCase() : undefined;
  if (lower && (PROTOCOLS as readonly string[]).includes(lower)) return lower as Protocol;
  const where = context !== undefined ? `${describeValue(context)}: ` : '';
  throw invalid(field, `${where}unknown protocol ${describeValue(text)}; expected tcp or udp`);
}

/** Canonical service id of a key whose VIP is already canonical. */
export function formatServiceId(key: ServiceKey): string {
  const vip = key.vip.includes(':') ? `[${key.vip}]` : key.vip;
  return `${vip}:${key.port === 0 ? '*' : key.port}/${key.protocol}`;
}

/** Re-spells any accepted service id canonically ("[2001:DB8::0010]:443/TCP" → "[2001:db8::10]:443/tcp"). */
export function canonicalServiceId(text: unknown, field = 'service_id'): string {
  return formatServiceId(parseServiceId(text, field));
}
