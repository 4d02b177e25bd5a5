// The default prober: probes run on the addon's prober thread (bpf/libbpf-ts SocketProber, C with
// epoll), not as Node sockets on the event loop. Per probe, JS only queues an id and a local port
// with the target's template (encoded once, see prepareProbe) — one native call per event-loop
// turn for all probes due in it — and turns the outcome triple back into a ProbeResult with the
// same texts as the Node-socket prober (probe-spec.ts). Measured in benchmarks/health.ts.
import { constants } from 'node:os';
import { ProbeOutcome, SocketProber, encodeProbeTemplate } from '../../bpf/libbpf-ts/index.js';
import { parseIp } from '../model/index.js';
import {
  CLOSED_WITHOUT_RESPONSE, NOT_HTTP, PORT_UNREACHABLE, TIMEOUT, errnoFailure, httpRequest, httpStatusResult,
  type ProbeResult, type ProbeSpec,
} from './probe-spec.js';

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));
/** The encoded template, kept on the spec (a symbol: copied by `{...spec}`, invisible to JSON). */
const TEMPLATE = Symbol('native probe template');
type WithTemplate = ProbeSpec & { [TEMPLATE]?: Buffer };

function encode(spec: ProbeSpec): Buffer {
  const payload = spec.kind === 'http' ? Buffer.from(httpRequest(spec), 'latin1') : spec.kind === 'udp' ? (spec.payload ?? Buffer.alloc(0)) : undefined;
  return encodeProbeTemplate({
    kind: spec.kind === 'http' || spec.kind === 'udp' ? spec.kind : 'tcp',
    address: parseIp(spec.address, 'address').bytes,
    port: spec.port,
    timeoutMs: Math.max(1, Math.round(spec.timeoutMs)),
    ...(payload ? { payload } : {}),
  });
}

/** Encodes the spec's native template once and keeps it on the spec (and its copies). A spec that
 *  cannot be encoded is left as it is: running it then fails with the reason. */
export function prepareProbe<T extends ProbeSpec>(spec: T): T {
  try {
    (spec as WithTemplate)[TEMPLATE] ??= encode(spec);
  } catch {
    // reported by run()
  }
  return spec;
}

function resultOf(spec: ProbeSpec, outcome: number, value: number): ProbeResult {
  switch (outcome) {
    case ProbeOutcome.ok:
      return { ok: true };
    case ProbeOutcome.httpStatus:
      return httpStatusResult(value, spec.expectStatus);
    case ProbeOutcome.timeout:
      return { ok: false, error: spec.kind === 'udp' ? TIMEOUT.reply : value ? TIMEOUT.response : TIMEOUT.connect };
    case ProbeOutcome.notHttp:
      return { ok: false, error: NOT_HTTP };
    case ProbeOutcome.closed:
      return { ok: false, error: CLOSED_WITHOUT_RESPONSE };
    default: {
      const code = ERRNO_NAMES.get(value) ?? `errno ${value}`;
      if (spec.kind === 'udp' && code === 'ECONNREFUSED') return { ok: false, error: PORT_UNREACHABLE };
      return errnoFailure(code);
    }
  }
}

type Done = (r: ProbeResult) => void;

interface Pending {
  spec: ProbeSpec;
  done: Done;
}

export class NativeProber {
  readonly #prober: SocketProber;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #ids: number[] = [];
  #ports: number[] = [];
  #templates: Buffer[] = [];
  #flushScheduled = false;
  #referenced = false;

  constructor() {
    this.#prober = new SocketProber((r) => this.#onResults(r));
  }

  run(spec: ProbeSpec): Promise<ProbeResult> {
    return new Promise((resolve) => this.start(spec, spec.localPort ?? 0, resolve));
  }

  /** Starts a probe from `localPort` (0: any); `done` gets its result. No promise: the monitor
   *  runs thousands a second. Throws when the spec cannot be encoded (not a probe of an IP address). */
  start(spec: ProbeSpec, localPort: number, done: Done): void {
    const template = (spec as WithTemplate)[TEMPLATE] ?? encode(spec);
    const id = this.#nextId;
    this.#nextId = id === 0xffff_ffff ? 1 : id + 1;
    this.#pending.set(id, { spec, done });
    this.#ids.push(id);
    this.#ports.push(localPort);
    this.#templates.push(template);
    if (!this.#referenced) {
      this.#referenced = true;
      this.#prober.ref(true); // results are on their way: keep the process alive for them
    }
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  /** Every probe due in this event-loop turn, in one native call. */
  #flush(): void {
    this.#flushScheduled = false;
    const ids = Uint32Array.from(this.#ids);
    const ports = Uint16Array.from(this.#ports);
    const templates = this.#templates;
    this.#ids = [];
    this.#ports = [];
    this.#templates = [];
    try {
      this.#prober.submit(ids, ports, templates);
    } catch (e) {
      for (const id of ids) this.#settle(id, { ok: false, error: `prober: ${(e as Error).message}` });
    }
  }

  #onResults(r: Int32Array): void {
    for (let i = 0; i + 2 < r.length; i += 3) {
      const p = this.#pending.get(r[i]! >>> 0);
      if (p) this.#settle(r[i]! >>> 0, resultOf(p.spec, r[i + 1]!, r[i + 2]!));
    }
  }

  #settle(id: number, result: ProbeResult): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    if (this.#pending.size === 0 && this.#referenced) {
      this.#referenced = false;
      this.#prober.ref(false);
    }
    try {
      p.done(result);
    } catch (e) {
      queueMicrotask(() => {
        throw e; // the rest of the batch still gets its results; the error surfaces as uncaught
      });
    }
  }
}

let shared: NativeProber | undefined;

/** The process's prober thread (started on first use). */
export function nativeProber(): NativeProber {
  shared ??= new NativeProber();
  return shared;
}

/** Runs one probe on the process's prober thread. */
export function runNativeProbe(spec: ProbeSpec): Promise<ProbeResult> {
  return nativeProber().run(spec);
}
