// The display order of services (IPv4 VIPs first, then by address bytes, protocol, port) as a
// string key computed once per service object: sorting thousands of services then compares
// strings instead of parsing two addresses per comparison.
import { parseIp } from './address.js';
import type { Service } from './types.js';

const keys = new WeakMap<Service, string>();

export function serviceSortKey(s: Service): string {
  let k = keys.get(s);
  if (k === undefined) {
    const ip = parseIp(s.vip, '');
    let hex = '';
    for (const b of ip.bytes) hex += b.toString(16).padStart(2, '0');
    k = `${ip.family}${hex}/${s.protocol}/${String(s.port).padStart(5, '0')}`;
    keys.set(s, k);
  }
  return k;
}

export function compareServices(a: Service, b: Service): number {
  const ka = serviceSortKey(a);
  const kb = serviceSortKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
