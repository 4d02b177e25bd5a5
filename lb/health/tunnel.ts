// The probe tunnel: bpf/health/xlb_health.c on the LB interface's tc egress hook. A tunnel-mode
// probe takes a local port from the probe port range, routes it here to one backend, and then
// talks to VIP:port as any client would; the program wraps its packets for that backend.
//
// The attachment belongs to the running daemon: open() replaces whatever an earlier xlbd left at
// the same handle, close() removes it. Entries are never deleted, only overwritten by the next
// probe on the same port, so a late retransmission or the closing RST still goes to its backend.
import { BpfObject, tcAttach, tcDetach, tcQuery, type BpfMap, type BpfProgram } from '../../bpf/libbpf-ts/index.js';
import { bpfObjectPath } from '../../bpf/objects.js';
import { IPPROTO, parseIp, type Protocol } from '../model/index.js';
import {
  HEALTH_CONST, HEALTH_COUNTER_NAMES, HEALTH_MAP, HEALTH_PROGRAM_NAME, HealthCounter, HealthProbeKey, HealthProbeTarget,
  type HealthCounterName,
} from './layout.js';

/** Where on the tc egress hook the probe tunnel sits (the decap program uses ingress). */
export const HEALTH_TC = { direction: 'egress', handle: 0x4ea1, priority: 0x4ea } as const;

export interface ProbeTunnelOptions {
  ifindex: number;
  /** The probe source port range (inclusive). */
  ports: { min: number; max: number };
  /** Compiled program; default build/bpf/xlb_health.o */
  objectPath?: string;
}

export interface ProbeRoute {
  port: number;
  protocol: Protocol;
  vip: string;
  vipPort: number;
  backend: string;
  /** Outer source address, of the backend's family. */
  outerSource: string;
}

/** A route's value, encoded once per probe target (it does not change from probe to probe). */
export interface EncodedTarget {
  readonly value: Buffer;
  readonly protocol: Protocol;
  readonly family: 4 | 6;
}

export type ProbeTunnelCounters = Record<HealthCounterName, { packets: number; bytes: number }>;

function addr16(text: string): { family: 4 | 6; bytes: Buffer } {
  const ip = parseIp(text, 'address');
  const b = Buffer.alloc(16);
  b.set(ip.bytes, 0);
  return { family: ip.family, bytes: b };
}

export class ProbeTunnel {
  readonly #object: BpfObject;
  readonly #program: BpfProgram;
  readonly #probes: BpfMap;
  readonly #stats: BpfMap;
  readonly #ifindex: number;
  readonly #keys = new Map<string, Buffer>();
  #closed = false;

  private constructor(object: BpfObject, ifindex: number) {
    this.#object = object;
    this.#program = object.program(HEALTH_PROGRAM_NAME);
    this.#probes = object.map(HEALTH_MAP.probes);
    this.#stats = object.map(HEALTH_MAP.stats);
    this.#ifindex = ifindex;
  }

  /** Loads the program with the port range and attaches it to the interface's egress. */
  static open(o: ProbeTunnelOptions): ProbeTunnel {
    const obj = BpfObject.open(o.objectPath ?? bpfObjectPath('xlb_health'));
    try {
      obj.setConst(HEALTH_CONST.portMin, o.ports.min);
      obj.setConst(HEALTH_CONST.portMax, o.ports.max);
      obj.setMapMaxEntries(HEALTH_MAP.probes, (o.ports.max - o.ports.min + 1) * 2);
      obj.load();
      const tunnel = new ProbeTunnel(obj, o.ifindex);
      tcAttach(o.ifindex, tunnel.#program, HEALTH_TC);
      return tunnel;
    } catch (e) {
      obj.close();
      throw e;
    }
  }

  get programId(): number {
    return this.#program.id;
  }

  /** Sends the packets of the probe socket on `port` to `backend` from now on. */
  route(r: ProbeRoute): void {
    this.routeEncoded(r.port, ProbeTunnel.encode(r));
  }

  /** The map value of a route (everything but the port), for routeEncoded(). */
  static encode(r: Omit<ProbeRoute, 'port'>): EncodedTarget {
    const vip = addr16(r.vip);
    const backend = addr16(r.backend);
    const value = HealthProbeTarget.encode({
      vip: vip.bytes,
      backend: backend.bytes,
      outerSrc: addr16(r.outerSource).bytes,
      vipPort: r.vipPort,
      backendFamily: backend.family,
    });
    return { value, protocol: r.protocol, family: vip.family };
  }

  /** route() with the value encoded beforehand: one map update per probe, keys cached per port. */
  routeEncoded(port: number, t: EncodedTarget): void {
    const k = `${port}/${t.protocol}/${t.family}`;
    let key = this.#keys.get(k);
    if (!key) {
      key = HealthProbeKey.encode({ sport: port, proto: IPPROTO[t.protocol], family: t.family });
      this.#keys.set(k, key);
    }
    this.#probes.update(key, t.value);
  }

  counters(): ProbeTunnelCounters {
    const { keys, values } = this.#stats.lookupBatchPerCpu();
    const out = Object.fromEntries(HEALTH_COUNTER_NAMES.map((n) => [n, { packets: 0, bytes: 0 }])) as ProbeTunnelCounters;
    keys.forEach((k, i) => {
      const name = HEALTH_COUNTER_NAMES[k.readUInt32LE(0)];
      if (!name) return;
      const c = HealthCounter.sum(values[i]!);
      out[name] = { packets: Number(c.packets), bytes: Number(c.bytes) };
    });
    return out;
  }

  /** Detaches (if this program is still the one attached) and releases everything. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (tcQuery(this.#ifindex, HEALTH_TC)?.progId === this.#program.id) tcDetach(this.#ifindex, HEALTH_TC);
    } finally {
      this.#object.close();
    }
  }
}
