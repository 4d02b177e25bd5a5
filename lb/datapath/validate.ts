// Input checks for services, backends and flow tuples. Everything is checked before any map is
// written, and errors are lb/model ValidationErrors naming the offending field.
import { ALLOWED_TABLE_SIZES } from '../maglev/index.js';
import { IPPROTO, ValidationError, invalid, type BackendState } from '../model/index.js';
import { formatAddress, parseAddress, type Family } from './addr.js';
import { ServiceKey, VipKey, familyOf, type FlowEntryValue, type FlowKeyValue } from './layout.js';
import type { DatapathBackend, DatapathService, FlowEntry, FlowTuple } from './types.js';

/** A validated service with its map keys. */
export interface ServiceRecord {
  spec: Required<DatapathService>;
  family: Family;
  /** 16-byte VIP */
  vip: Buffer;
  key: Buffer;
  vipKey: Buffer;
}

export function integerIn(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `${JSON.stringify(value)} is not an integer ${min} … ${max}`);
  }
  return value;
}

function idIn(value: unknown, field: string, limit: number): number {
  return integerIn(value, field, 0, limit - 1);
}

/** `holder`: the service registered now with this key, if any (for the key-conflict check; a
 *  lookup, not a list, so that a change costs the same with 10 or 10 000 services);
 *  `defaultTableSize`: the table size of a service that names none (the load option tableSize). */
export function validateService(
  svc: DatapathService,
  maxServices: number,
  holder: (key: Buffer) => ServiceRecord | undefined,
  defaultTableSize: number,
): ServiceRecord {
  if (typeof svc !== 'object' || svc === null) throw invalid('service', 'expected an object');
  const id = idIn(svc.id, 'service.id', maxServices);
  const vip = parseAddress(svc.vip, 'service.vip');
  const port = integerIn(svc.port, 'service.port', 0, 65535);
  if (svc.protocol !== 'tcp' && svc.protocol !== 'udp') {
    throw invalid('service.protocol', `${JSON.stringify(svc.protocol)} is not "tcp" or "udp"`);
  }
  if (svc.sourceHash !== undefined && typeof svc.sourceHash !== 'boolean') {
    throw invalid('service.sourceHash', 'must be a boolean');
  }
  const tableSize = svc.tableSize ?? defaultTableSize;
  if (!ALLOWED_TABLE_SIZES.includes(tableSize)) {
    throw invalid('service.tableSize', `${JSON.stringify(svc.tableSize)} is not one of ${ALLOWED_TABLE_SIZES.join(', ')}`);
  }
  const key = ServiceKey.encode({ family: vip.family, addr: vip.bytes, port, proto: IPPROTO[svc.protocol] });
  const other = holder(key);
  if (other && other.spec.id !== id) {
    throw new ValidationError('ALREADY_EXISTS', 'service', `${vip.text} port ${port}/${svc.protocol} is already service id ${other.spec.id}`);
  }
  return {
    spec: { id, vip: vip.text, port, protocol: svc.protocol, sourceHash: svc.sourceHash ?? false, tableSize },
    family: vip.family,
    vip: vip.bytes,
    key,
    vipKey: VipKey.encode({ addr: vip.bytes, family: vip.family }),
  };
}

/** `owner`: backend id → service id of the backends registered now. */
export function validateBackends(
  serviceId: number,
  backends: readonly DatapathBackend[],
  maxBackends: number,
  owner: ReadonlyMap<number, number>,
): Required<DatapathBackend>[] {
  if (!Array.isArray(backends)) throw invalid('backends', 'expected an array');
  const ids = new Set<number>();
  const addrs = new Map<string, number>();
  return backends.map((b, i) => {
    const f = `backends[${i}]`;
    if (typeof b !== 'object' || b === null) throw invalid(f, 'expected an object');
    const id = idIn(b.id, `${f}.id`, maxBackends);
    if (ids.has(id)) throw invalid(`${f}.id`, `duplicate backend id ${id}`);
    ids.add(id);
    const current = owner.get(id);
    if (current !== undefined && current !== serviceId) {
      throw new ValidationError('ALREADY_EXISTS', `${f}.id`, `backend id ${id} belongs to service id ${current}`);
    }
    const addr = parseAddress(b.address, `${f}.address`);
    const dup = addrs.get(addr.text);
    if (dup !== undefined) throw invalid(`${f}.address`, `${addr.text} is listed twice (also backends[${dup}])`);
    addrs.set(addr.text, i);
    const weight = integerIn(b.weight, `${f}.weight`, 0, 0xffff);
    if (b.state !== undefined && b.state !== 'active' && b.state !== 'draining') {
      throw invalid(`${f}.state`, `${JSON.stringify(b.state)} is not "active" or "draining"`);
    }
    const state: BackendState = b.state === 'draining' || weight === 0 ? 'draining' : 'active';
    return { id, address: addr.text, weight, state };
  });
}

export function flowKeyOf(t: FlowTuple, field: string): FlowKeyValue & { family: Family } {
  if (typeof t !== 'object' || t === null) throw invalid(field, 'expected an object');
  const src = parseAddress(t.src, `${field}.src`);
  const dst = parseAddress(t.dst, `${field}.dst`);
  if (src.family !== dst.family) throw invalid(`${field}.dst`, 'src and dst are of different families');
  if (t.protocol !== 'tcp' && t.protocol !== 'udp') throw invalid(`${field}.protocol`, 'must be "tcp" or "udp"');
  return {
    family: src.family,
    src: src.bytes,
    dst: dst.bytes,
    sport: integerIn(t.sport, `${field}.sport`, 0, 65535),
    dport: integerIn(t.dport, `${field}.dport`, 0, 65535),
    proto: IPPROTO[t.protocol],
  };
}

/** A flow-table entry in the API's terms; a family other than 4 or 6 is a corrupt entry. */
export function flowEntry(e: FlowEntryValue): FlowEntry {
  const k = { ...e.key, family: familyOf(e.key.family, 'flow key') };
  const val = e;
  return {
    src: formatAddress(k.family, k.src),
    dst: formatAddress(k.family, k.dst),
    sport: k.sport,
    dport: k.dport,
    protocol: k.proto === IPPROTO.tcp ? 'tcp' : 'udp',
    backendId: val.backendId,
    serviceId: val.serviceId,
    lastSeenNs: val.lastSeenNs,
  };
}
