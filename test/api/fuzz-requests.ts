// Requests for the API fuzzer: every xlb.v1.LoadBalancer method with random and edge values
// (wrong enum numbers, huge strings, boundary numbers, unicode, duplicates, ids of services that
// exist, of config services, of none), and the same requests as raw protobuf bytes mutated on the
// wire (wrong wire types, cut varints, garbage), which no well-behaved client could send.
import { Rng } from '../fuzz/rng.js';

export const FUZZ_METHODS = [
  'CreateService', 'UpdateService', 'DeleteService', 'GetService', 'ListServices',
  'AddBackend', 'UpdateBackend', 'RemoveBackend', 'Apply', 'GetStats', 'GetStatus', 'DrainNode',
] as const;
export type FuzzMethod = (typeof FUZZ_METHODS)[number];

const HUGE = 'x'.repeat(200_000);

export class RequestFuzzer {
  constructor(private readonly r: Rng, private readonly configServiceId: string) {}

  private serviceId(): string {
    const r = this.r;
    return r.pick([
      '10.100.0.10:80/tcp', '10.100.0.10:443/tcp', '10.100.0.11:*/udp', '[fd00:100::10]:80/tcp', '[fd00:100::11]:443/tcp',
      this.configServiceId, '10.100.0.10:80/TCP', ' 10.100.0.10:80/tcp', '10.100.0.10:80', '10.100.0.10:0/tcp', '',
      '10.2.1.2:22/tcp', '240.0.0.1:80/tcp', '[::1]:80/tcp', '10.100.0.10:80/tcp💥', `${'1'.repeat(5000)}:80/tcp`, HUGE,
    ]);
  }

  private address(): string {
    const r = this.r;
    return r.pick(['10.3.1.2', '10.3.1.3', '10.3.1.4', '10.3.1.5', 'fd00:3:1::2', 'fd00:3:1::3', 'FD00:3:1:0::2', '10.3.1', '10.100.0.10', '255.255.255.255', '', 'ünïcode', HUGE.slice(0, 3000)]);
  }

  private number(): number {
    return this.r.pick([0, 1, 2, 80, 100, 443, 65535, 65536, 0xffffffff, 7]);
  }

  private backend(): object {
    const r = this.r;
    // Half of them valid, so that requests also succeed and then conflict with each other.
    if (r.chance(0.5)) return { address: r.pick(['10.3.1.2', '10.3.1.3', '10.3.1.4', 'fd00:3:1::2']), weight: r.range(1, 100) };
    const b: Record<string, unknown> = { address: this.address() };
    if (r.chance(0.6)) b.weight = r.pick([0, 1, 10, 100, 65535, 65536, 0xffffffff]);
    if (r.chance(0.3)) b.state = r.pick(['BACKEND_STATE_ACTIVE', 'BACKEND_STATE_DRAINING', 'BACKEND_STATE_UNSPECIFIED', 9]);
    if (r.chance(0.2)) b.name = r.pick(['web-1', '', '-x', '名前', 'n'.repeat(100)]);
    return b;
  }

  private service(): object {
    const r = this.r;
    if (r.chance(0.4)) {
      const id = r.pick(['10.100.0.10:80/tcp', '10.100.0.10:443/tcp', '10.100.0.11:*/udp', '[fd00:100::10]:80/tcp']);
      const v6 = id.startsWith('[');
      return { id, backends: Array.from({ length: r.int(4) }, () => ({ address: v6 ? r.pick(['fd00:3:1::2', 'fd00:3:1::3']) : r.pick(['10.3.1.2', '10.3.1.3', '10.3.1.4']), weight: r.range(1, 50) })) };
    }
    const s: Record<string, unknown> = {};
    if (r.chance(0.5)) s.id = this.serviceId();
    if (!s.id || r.chance(0.2)) {
      s.vip = r.pick(['10.100.0.10', '10.100.0.11', 'fd00:100::10', 'fd00:100::11', '10.2.1.2', '10.2.1.1', '240.0.0.1', '::', '', 'x']);
      s.port = this.number();
      s.protocol = r.pick(['PROTOCOL_TCP', 'PROTOCOL_UDP', 'PROTOCOL_UNSPECIFIED', 7]);
    }
    if (r.chance(0.3)) s.flags = { sourceHash: r.chance(0.5) };
    if (r.chance(0.2)) s.healthCheck = this.healthCheck();
    if (r.chance(0.7)) s.backends = Array.from({ length: r.int(6) }, () => this.backend());
    return s;
  }

  /**
   * A health check that is refused, or "none". Never a valid one: probes would take the lab's
   * backends down (nothing listens there) and the datapath would rightly differ from the state file,
   * which is what the fuzzer compares; valid checks are test/health's.
   */
  private healthCheck(): object {
    const r = this.r;
    return r.pick([
      { kind: 'none' },
      { kind: r.pick(['icmp', 'TCP', 'http ', '💥', HUGE.slice(0, 5000)]) },
      { kind: 'tcp', interval: r.pick(['0s', '-1s', '2', '1h1s', '99999999999999999999s', 'ms']), timeout: '1s' },
      { kind: 'tcp', interval: '1s', timeout: r.pick(['1s', '2s']) },
      { kind: 'http', path: r.pick(['no-slash', HUGE.slice(0, 3000)]) },
      { kind: 'http', expectStatus: r.pick(['99', '600', '399-200', 'x', '200-']) },
      { kind: 'udp', payload: 'a', payloadHex: '00' },
      { kind: 'udp', payloadHex: r.pick(['0', 'zz']) },
      { kind: 'tcp', rise: r.pick([101, 0xffffffff]) },
      { kind: 'tcp', mode: r.pick(['tunnel ', 'indirect']) },
    ]);
  }

  /** A structured request for `method` (proto-loader object form). */
  request(method: FuzzMethod): object {
    const r = this.r;
    switch (method) {
      case 'CreateService':
        return r.chance(0.05) ? {} : { service: this.service() };
      case 'UpdateService':
        return { service: this.service(), replaceBackends: r.chance(0.5) };
      case 'DeleteService':
      case 'GetService':
        return { serviceId: this.serviceId() };
      case 'AddBackend':
        return { serviceId: this.serviceId(), ...(r.chance(0.95) ? { backend: this.backend() } : {}) };
      case 'UpdateBackend': {
        const req: Record<string, unknown> = { serviceId: this.serviceId(), address: this.address() };
        if (r.chance(0.6)) req.weight = r.pick([0, 1, 50, 65535, 65536]);
        if (r.chance(0.4)) req.state = r.pick(['BACKEND_STATE_ACTIVE', 'BACKEND_STATE_DRAINING', 9]);
        if (r.chance(0.2)) req.name = r.pick(['web-2', '', 'bad name']);
        return req;
      }
      case 'RemoveBackend':
        return { serviceId: this.serviceId(), address: this.address() };
      case 'Apply':
        return { services: Array.from({ length: r.int(5) }, () => this.service()), dryRun: r.chance(0.3) };
      case 'GetStats':
        return r.chance(0.5) ? {} : { serviceId: this.serviceId() };
      case 'DrainNode': // no BGP in the lab: always FAILED_PRECONDITION, never a change
        return { undo: r.chance(0.5) };
      default:
        return {};
    }
  }

  /** Wire bytes: a valid encoding mutated (flipped, cut, wrong tags), or plain garbage. */
  mutateWire(valid: Buffer): Buffer {
    const r = this.r;
    switch (r.weighted({ flip: 4, cut: 3, tag: 2, garbage: 1, repeat: 1 })) {
      case 'flip': {
        const b = Buffer.from(valid.length ? valid : Buffer.alloc(1));
        for (let i = r.range(1, 4); i > 0; i--) b[r.int(b.length)] = r.int(256);
        return b;
      }
      case 'cut':
        return valid.subarray(0, r.int(valid.length + 1));
      case 'tag': // a field number/wire type no message has, or a known field with the wrong wire type
        return Buffer.concat([Buffer.from([r.pick([0x0a, 0x08, 0x0d, 0x0b, 0x0c, 0x7f, 0xff]), r.int(256), r.int(256)]), valid]);
      case 'repeat': // the same fields many times (last one wins / lists grow)
        return Buffer.concat(Array.from({ length: r.range(2, 50) }, () => valid));
      default:
        return r.bytes(r.int(300));
    }
  }
}

/** Does a status message carry a stack trace or source location (it must not)? */
export function leaksInternals(details: string): boolean {
  return /\n\s+at |\bat [^\s]+ \([^)]*:\d+:\d+\)|[\w.-]+\.(ts|js|mjs):\d+|node:internal|node_modules/.test(details);
}
