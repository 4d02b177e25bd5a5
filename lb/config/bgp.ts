// bgp: VIP announcement through a GoBGP daemon (gobgpd) that xlbd programs over its gRPC API.
//   gobgp_api        gobgpd's API (loopback only: it is plaintext and unauthenticated)
//   router_id, local_as, listen_port
//                    the BGP instance xlbd starts when gobgpd runs without one (no -f config);
//                    with gobgpd's own config these may be left out (local_as, if given, must match)
//   neighbors        peers xlbd adds to gobgpd (may be left to gobgpd's own config)
//   next_hop(_v6)    the announced next hop (default: the interface's address of that family)
//   communities      added to every announced path ("65000:100")
//   announce         when_healthy (default): a VIP is announced while one of its services has a
//                    healthy backend; always: while it has a service
//   withdraw_on_stop / shutdown_delay
//                    SIGTERM withdraws everything, waits shutdown_delay, then stops
import { parseDuration, parseIp, parseUnicastIp, ValidationError } from '../model/index.js';
import { parseTcpListen } from './listen.js';
import { boolean, integer, type Resolver, type Setting } from './resolver.js';

export interface BgpNeighbor {
  address: string;
  peerAs: number;
  /** Remote TCP port (default 179). */
  port: number;
  /** Wait for the peer to connect. */
  passive: boolean;
  /** Seconds; undefined = gobgpd's default. */
  holdTime?: number;
  keepalive?: number;
  connectRetry?: number;
  /** eBGP multihop TTL; undefined = directly connected. */
  multihopTtl?: number;
  password?: string;
  description?: string;
}

export interface BgpConfig {
  /** host:port of gobgpd's gRPC API. */
  gobgpApi: string;
  routerId?: string;
  localAs?: number;
  /** Port gobgpd listens on when xlbd starts its BGP instance; -1 = it does not listen. */
  listenPort: number;
  neighbors: BgpNeighbor[];
  nextHop?: string;
  nextHopV6?: string;
  /** Standard communities as 32-bit numbers (high 16 bits: AS). */
  communities: number[];
  announce: 'when_healthy' | 'always';
  withdrawOnStop: boolean;
  shutdownDelayMs: number;
}

export const BGP_DEFAULTS = Object.freeze({
  gobgpApi: '127.0.0.1:50051',
  listenPort: 179,
  announce: 'when_healthy' as const,
  withdrawOnStop: true,
  shutdownDelay: '5s',
});

export const BGP_KEYS = [
  'gobgp_api', 'router_id', 'local_as', 'listen_port', 'neighbors', 'next_hop', 'next_hop_v6', 'communities', 'announce',
  'withdraw_on_stop', 'shutdown_delay',
];
const NEIGHBOR_KEYS = ['address', 'peer_as', 'port', 'passive', 'hold_time', 'keepalive', 'connect_retry', 'ebgp_multihop', 'password', 'description'];

const ASN_MAX = 0xffffffff;

/** "65000:100" or a number → the 32-bit community. */
export function parseCommunity(value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff) return value;
  const m = typeof value === 'string' ? /^(\d{1,5}):(\d{1,5})$/.exec(value) : null;
  if (!m || Number(m[1]) > 0xffff || Number(m[2]) > 0xffff) {
    throw new ValidationError('INVALID_ARGUMENT', '', `${JSON.stringify(value)} is not a community; write AS:VALUE with both 0..65535, e.g. 65000:100`);
  }
  return Number(m[1]) * 0x10000 + Number(m[2]);
}

export function formatCommunity(c: number): string {
  return `${Math.floor(c / 0x10000)}:${c % 0x10000}`;
}

function seconds(r: Resolver, s: Setting, min: number, max: number): number {
  const ms = r.check(s, (v) => parseDuration(v, ''));
  if (ms % 1000 !== 0 || ms / 1000 < min || ms / 1000 > max) r.fail(s, `${JSON.stringify(s.value)} must be whole seconds, ${min}s..${max}s`);
  return ms / 1000;
}

function neighbor(r: Resolver, i: number): BgpNeighbor {
  const at = (key: string) => r.get(['bgp', 'neighbors', i, key], undefined, undefined);
  const entry = r.fileValue(['bgp', 'neighbors', i]);
  const here = at('address');
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    r.fail({ ...here, from: 'file', segments: ['bgp', 'neighbors', i], path: `bgp.neighbors[${i}]` }, 'expected a neighbour { address, peer_as, ... }');
  }
  for (const k of Object.keys(entry)) {
    if (!NEIGHBOR_KEYS.includes(k)) r.failAt(['bgp', 'neighbors', i, k], `unknown setting; expected one of: ${NEIGHBOR_KEYS.join(', ')}`, { key: true });
  }
  const addressS = at('address');
  if (addressS.value === undefined) r.fail({ ...addressS, from: 'file' }, "is required: the neighbour's IP address");
  const address = r.check(addressS, (v) => parseUnicastIp(v, '', 'neighbour address', { allowLinkLocal: false })).text;
  const peerAsS = at('peer_as');
  if (peerAsS.value === undefined) r.fail({ ...peerAsS, from: 'file' }, "is required: the neighbour's AS number");
  const n: BgpNeighbor = {
    address,
    peerAs: integer(r, peerAsS, 1, ASN_MAX),
    port: at('port').value === undefined ? 179 : integer(r, at('port'), 1, 65535),
    passive: at('passive').value === undefined ? false : boolean(r, at('passive')),
  };
  const hold = at('hold_time');
  if (hold.value !== undefined) {
    n.holdTime = seconds(r, hold, 0, 65535);
    if (n.holdTime > 0 && n.holdTime < 3) r.fail(hold, 'must be 0 or at least 3s (RFC 4271)');
  }
  if (at('keepalive').value !== undefined) n.keepalive = seconds(r, at('keepalive'), 1, 21845);
  if (at('connect_retry').value !== undefined) n.connectRetry = seconds(r, at('connect_retry'), 1, 65535);
  if (at('ebgp_multihop').value !== undefined) n.multihopTtl = integer(r, at('ebgp_multihop'), 1, 255);
  const pw = at('password');
  if (pw.value !== undefined) {
    if (typeof pw.value !== 'string' || pw.value.length === 0 || pw.value.length > 80) r.fail(pw, 'must be a string of 1..80 characters');
    n.password = pw.value;
  }
  const d = at('description');
  if (d.value !== undefined) {
    if (typeof d.value !== 'string') r.fail(d, 'must be a string');
    n.description = d.value;
  }
  return n;
}

export function resolveBgp(r: Resolver): BgpConfig | undefined {
  const root = r.fileValue(['bgp']);
  if (root === undefined || root === null) return undefined;
  const apiS = r.get(['bgp', 'gobgp_api'], undefined, BGP_DEFAULTS.gobgpApi);
  const api = r.check(apiS, parseTcpListen);
  if (!api.loopback) r.fail(apiS, `${api.target} is not a loopback address; gobgpd's API is plaintext and unauthenticated, run it on 127.0.0.1 or [::1]`);

  const cfg: BgpConfig = {
    gobgpApi: api.target,
    listenPort: BGP_DEFAULTS.listenPort,
    neighbors: [],
    communities: [],
    announce: BGP_DEFAULTS.announce,
    withdrawOnStop: BGP_DEFAULTS.withdrawOnStop,
    shutdownDelayMs: 0,
  };
  const rid = r.get(['bgp', 'router_id'], undefined, undefined);
  if (rid.value !== undefined) {
    const ip = r.check(rid, (v) => parseIp(v, ''));
    if (ip.family !== 4) r.fail(rid, `${ip.text} is not an IPv4 address; a BGP router id is written as one`);
    cfg.routerId = ip.text;
  }
  const las = r.get(['bgp', 'local_as'], undefined, undefined);
  if (las.value !== undefined) cfg.localAs = integer(r, las, 1, ASN_MAX);
  const lp = r.get(['bgp', 'listen_port'], undefined, BGP_DEFAULTS.listenPort);
  cfg.listenPort = integer(r, lp, 0, 65535, 'a port 1..65535, or 0 for "do not listen"') || -1;

  const listS = r.get(['bgp', 'neighbors'], undefined, []);
  if (!Array.isArray(listS.value)) r.fail(listS, 'expected a list of neighbours');
  const seen = new Map<string, number>();
  listS.value.forEach((_: unknown, i: number) => {
    const n = neighbor(r, i);
    const first = seen.get(n.address);
    if (first !== undefined) r.failAt(['bgp', 'neighbors', i, 'address'], `${n.address} is listed twice (also bgp.neighbors[${first}])`);
    seen.set(n.address, i);
    cfg.neighbors.push(n);
  });
  if (cfg.neighbors.length && cfg.localAs === undefined) {
    r.failAt(['bgp', 'neighbors'], 'need bgp.local_as: xlbd configures these neighbours in gobgpd (or leave the neighbours to gobgpd\'s own config)');
  }

  for (const [key, family] of [['next_hop', 4], ['next_hop_v6', 6]] as const) {
    const s = r.get(['bgp', key], undefined, undefined);
    if (s.value === undefined) continue;
    const ip = r.check(s, (v) => parseUnicastIp(v, '', 'next hop'));
    if (ip.family !== family) r.fail(s, `${ip.text} is IPv${ip.family}; ${key} needs an IPv${family} address`);
    if (key === 'next_hop') cfg.nextHop = ip.text;
    else cfg.nextHopV6 = ip.text;
  }
  const commS = r.get(['bgp', 'communities'], undefined, []);
  if (!Array.isArray(commS.value)) r.fail(commS, 'expected a list of communities, e.g. ["65000:100"]');
  commS.value.forEach((c: unknown, i: number) => {
    const s: Setting = { ...commS, value: c, path: `bgp.communities[${i}]`, segments: ['bgp', 'communities', i] };
    cfg.communities.push(r.check(s, parseCommunity));
  });
  const ann = r.get(['bgp', 'announce'], undefined, BGP_DEFAULTS.announce);
  if (ann.value !== 'when_healthy' && ann.value !== 'always') r.fail(ann, `${JSON.stringify(ann.value)} must be when_healthy or always`);
  cfg.announce = ann.value;
  cfg.withdrawOnStop = boolean(r, r.get(['bgp', 'withdraw_on_stop'], undefined, BGP_DEFAULTS.withdrawOnStop));
  const delay = r.get(['bgp', 'shutdown_delay'], undefined, BGP_DEFAULTS.shutdownDelay);
  cfg.shutdownDelayMs = r.check(delay, (v) => parseDuration(v, ''));
  if (cfg.shutdownDelayMs > 300_000) r.fail(delay, 'must be at most 5m');
  return cfg;
}
