// A typed client for the part of gobgpd's gRPC API (package apipb, GoBGP 3.x) that xlbd uses:
// the BGP instance, neighbours, and paths in the global RIB. The API definitions are read at run
// time from Debian's golang-github-osrg-gobgp-dev (gobgp.proto, attribute.proto,
// capability.proto under /usr/share/gocode/src/github.com/osrg/gobgp/api/; XLB_GOBGP_PROTO_DIR
// overrides the folder); they are not copied into this repository.
//
// The loader keeps the proto's snake_case names: protobufjs packs google.protobuf.Any from a
// `{ '@type': ..., fields }` object only with keepCase (its Any wrapper writes `type_url`), and
// gobgpd's paths are lists of Any (the NLRI, each path attribute).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { BgpNeighbor } from '../config/index.js';

export const GOBGP_PROTO_DIR = '/usr/share/gocode/src/github.com/osrg/gobgp/api';
const PROTO_FILES = ['gobgp.proto', 'attribute.proto', 'capability.proto'];
const TYPE = (name: string) => `type.googleapis.com/apipb.${name}`;
const CALL_TIMEOUT_MS = 3000;

export interface GobgpGlobal {
  asn: number;
  routerId: string;
  listenPort: number;
}

export interface GobgpPeer {
  address: string;
  peerAs: number;
  /** lower case: idle, connect, active, opensent, openconfirm, established, unknown */
  state: string;
  uptimeSeconds: number;
}

/** A neighbour to add: the configuration's own shape (bgp.neighbors[]). */
export type PeerSpec = BgpNeighbor;

/** A host route of the global RIB, in xlbd's terms. */
export interface RibPath {
  /** "10.0.0.10/32", "2001:db8::10/128" */
  prefix: string;
  family: 4 | 6;
  nextHop: string;
  communities: number[];
  /** Originated in this gobgpd (by its API or config), not learnt from a neighbour. */
  local: boolean;
}

type Callback<T> = (err: grpc.ServiceError | null, res: T) => void;
type Unary = (req: unknown, options: grpc.CallOptions, cb: Callback<unknown>) => void;
type Streaming = (req: unknown, options: grpc.CallOptions) => grpc.ClientReadableStream<unknown>;

const FAMILY = { 4: { afi: 'AFI_IP', safi: 'SAFI_UNICAST' }, 6: { afi: 'AFI_IP6', safi: 'SAFI_UNICAST' } } as const;

/** Where the API definitions are, or why they cannot be used. */
export function gobgpProtoDir(): string {
  const dir = process.env.XLB_GOBGP_PROTO_DIR || GOBGP_PROTO_DIR;
  const missing = PROTO_FILES.filter((f) => !existsSync(join(dir, f)));
  if (missing.length) {
    throw new Error(`gobgpd's API definitions are missing in ${dir} (${missing.join(', ')}): install golang-github-osrg-gobgp-dev`);
  }
  return dir;
}

let cached: grpc.ServiceClientConstructor | undefined;

function serviceConstructor(): grpc.ServiceClientConstructor {
  if (cached) return cached;
  const def = protoLoader.loadSync(PROTO_FILES, {
    includeDirs: [gobgpProtoDir()],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
    json: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { apipb: { GobgpApi: grpc.ServiceClientConstructor } };
  cached = pkg.apipb.GobgpApi;
  return cached;
}

function hostPath(prefix: string): { address: string; length: number; family: 4 | 6 } {
  const [address, len] = prefix.split('/') as [string, string];
  return { address, length: Number(len), family: address.includes(':') ? 6 : 4 };
}

export class GobgpClient {
  readonly target: string;
  readonly #client: grpc.Client;

  constructor(target: string) {
    this.target = target;
    const Ctor = serviceConstructor();
    // No reconnect backoff of grpc-js's own beyond a short one: the announcer has its own.
    this.#client = new Ctor(target, grpc.credentials.createInsecure(), {
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
    });
  }

  close(): void {
    this.#client.close();
  }

  #unary<T>(method: string, req: unknown): Promise<T> {
    const fn = (this.#client as unknown as Record<string, Unary>)[method]!.bind(this.#client);
    return new Promise((resolve, reject) => {
      fn(req, { deadline: Date.now() + CALL_TIMEOUT_MS }, (err, res) => (err ? reject(err) : resolve(res as T)));
    });
  }

  #stream<T>(method: string, req: unknown): Promise<T[]> {
    const fn = (this.#client as unknown as Record<string, Streaming>)[method]!.bind(this.#client);
    return new Promise((resolve, reject) => {
      const out: T[] = [];
      const s = fn(req, { deadline: Date.now() + CALL_TIMEOUT_MS });
      s.on('data', (d) => out.push(d as T));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
  }

  async getBgp(): Promise<GobgpGlobal> {
    const r = await this.#unary<{ global: { asn: number; router_id: string; listen_port: number } | null }>('GetBgp', {});
    return { asn: r.global?.asn ?? 0, routerId: r.global?.router_id ?? '', listenPort: r.global?.listen_port ?? 0 };
  }

  async startBgp(g: GobgpGlobal): Promise<void> {
    await this.#unary('StartBgp', { global: { asn: g.asn, router_id: g.routerId, listen_port: g.listenPort } });
  }

  async listPeers(): Promise<GobgpPeer[]> {
    type Raw = { peer: { conf: { neighbor_address: string; peer_asn: number } | null; state: { session_state: string; neighbor_address: string; peer_asn: number } | null; timers: { state: { uptime: { seconds: number } | null } | null } | null } };
    const rows = await this.#stream<Raw>('ListPeer', {});
    const now = Date.now() / 1000;
    return rows.map(({ peer }) => {
      const state = (peer.state?.session_state ?? 'UNKNOWN').toLowerCase();
      const up = peer.timers?.state?.uptime?.seconds ?? 0;
      return {
        address: peer.conf?.neighbor_address || peer.state?.neighbor_address || '',
        peerAs: peer.conf?.peer_asn || peer.state?.peer_asn || 0,
        state,
        uptimeSeconds: state === 'established' && up > 0 ? Math.max(0, Math.floor(now - up)) : 0,
      };
    });
  }

  async addPeer(p: PeerSpec): Promise<void> {
    const timers: Record<string, number> = {};
    if (p.holdTime !== undefined) timers.hold_time = p.holdTime;
    if (p.keepalive !== undefined) timers.keepalive_interval = p.keepalive;
    if (p.connectRetry !== undefined) timers.connect_retry = p.connectRetry;
    const peer: Record<string, unknown> = {
      conf: { neighbor_address: p.address, peer_asn: p.peerAs, auth_password: p.password ?? '', description: p.description ?? 'xlbd' },
      transport: { remote_port: p.port, passive_mode: p.passive },
      timers: { config: timers },
      // Both unicast families on every session: a VIP of either family can be announced over it.
      afi_safis: [4, 6].map((f) => ({ config: { family: FAMILY[f as 4 | 6], enabled: true } })),
    };
    if (p.multihopTtl !== undefined) peer.ebgp_multihop = { enabled: true, multihop_ttl: p.multihopTtl };
    await this.#unary('AddPeer', { peer });
  }

  async listPaths(family: 4 | 6): Promise<RibPath[]> {
    type Attr = { '@type'?: string; next_hop?: string; next_hops?: string[]; communities?: number[] };
    type Raw = { destination: { prefix: string; paths: { pattrs: Attr[]; neighbor_ip: string; is_from_external: boolean }[] } };
    const rows = await this.#stream<Raw>('ListPath', { table_type: 'GLOBAL', family: FAMILY[family] });
    const out: RibPath[] = [];
    for (const { destination } of rows) {
      for (const p of destination.paths) {
        let nextHop = '';
        let communities: number[] = [];
        for (const a of p.pattrs) {
          if (a['@type'] === TYPE('NextHopAttribute')) nextHop = a.next_hop ?? '';
          if (a['@type'] === TYPE('MpReachNLRIAttribute')) nextHop = a.next_hops?.[0] ?? nextHop;
          if (a['@type'] === TYPE('CommunitiesAttribute')) communities = [...(a.communities ?? [])];
        }
        const local = !p.is_from_external && (p.neighbor_ip === '' || p.neighbor_ip === '<nil>');
        out.push({ prefix: destination.prefix, family, nextHop, communities, local });
      }
    }
    return out;
  }

  #path(p: Pick<RibPath, 'prefix' | 'nextHop' | 'communities'>): Record<string, unknown> {
    const { address, length, family } = hostPath(p.prefix);
    const nlri = { '@type': TYPE('IPAddressPrefix'), prefix_len: length, prefix: address };
    const pattrs: Record<string, unknown>[] = [{ '@type': TYPE('OriginAttribute'), origin: 0 }];
    if (family === 4) pattrs.push({ '@type': TYPE('NextHopAttribute'), next_hop: p.nextHop });
    else pattrs.push({ '@type': TYPE('MpReachNLRIAttribute'), family: FAMILY[6], next_hops: [p.nextHop], nlris: [nlri] });
    if (p.communities.length) pattrs.push({ '@type': TYPE('CommunitiesAttribute'), communities: [...p.communities] });
    return { family: FAMILY[family], nlri, pattrs };
  }

  async addPath(p: Pick<RibPath, 'prefix' | 'nextHop' | 'communities'>): Promise<void> {
    await this.#unary('AddPath', { table_type: 'GLOBAL', path: this.#path(p) });
  }

  async deletePath(p: Pick<RibPath, 'prefix' | 'nextHop' | 'communities'>): Promise<void> {
    const path = this.#path(p);
    await this.#unary('DeletePath', { table_type: 'GLOBAL', family: path.family, path });
  }
}
