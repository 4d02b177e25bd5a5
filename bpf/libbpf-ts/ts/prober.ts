// Socket probes on a native thread (src/prober.c): TCP connect, HTTP GET status line, UDP
// request/reply, each bounded by a timeout, outcomes delivered to JS in batches. Not BPF, but it
// lives here because this is xlb's one native addon; lb/health/native-probes.ts gives it meaning.
import { handleOf, handles, native } from './native.js';

export type SocketProbeKind = 'tcp' | 'http' | 'udp';

/** How a native probe ended (the second number of each result triple). */
export const ProbeOutcome = {
  /** tcp: connected; udp: a reply arrived */
  ok: 0,
  /** value: the HTTP status code */
  httpStatus: 1,
  /** value: the errno (EADDRINUSE from bind: the local port is taken) */
  errno: 2,
  /** value: 1 when the TCP connection had been established */
  timeout: 3,
  /** the first line was not an HTTP/1.x status line */
  notHttp: 4,
  /** the peer closed before a status line arrived */
  closed: 5,
} as const;

export interface SocketProbeTemplate {
  kind: SocketProbeKind;
  /** 4 or 16 bytes */
  address: Uint8Array;
  port: number;
  timeoutMs: number;
  /** http: the whole request; udp: the datagram */
  payload?: Uint8Array;
}

const KIND = { tcp: 1, http: 2, udp: 3 } as const;
const HEADER = 28;

/** Encodes a probe description once (per target); submit() takes it as is. */
export function encodeProbeTemplate(t: SocketProbeTemplate): Buffer {
  if (!(t.kind in KIND)) throw new TypeError(`kind: expected tcp, http or udp, got ${String(t.kind)}`);
  if (t.address.length !== 4 && t.address.length !== 16) throw new TypeError('address must be 4 or 16 bytes');
  if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535) throw new RangeError(`port: ${t.port} is not in 1-65535`);
  if (!Number.isInteger(t.timeoutMs) || t.timeoutMs < 1) throw new RangeError(`timeoutMs: ${t.timeoutMs} is not a positive integer`);
  const payload = t.payload ?? new Uint8Array(0);
  const b = Buffer.alloc(HEADER + payload.length);
  b.writeUInt8(KIND[t.kind], 0);
  b.writeUInt8(t.address.length === 4 ? 4 : 6, 1);
  b.writeUInt16LE(t.port, 2);
  b.writeUInt32LE(t.timeoutMs, 4);
  b.set(t.address, 8);
  b.writeUInt32LE(payload.length, 24);
  b.set(payload, HEADER);
  return b;
}

/**
 * One prober thread. submit() queues probes (one call per batch); onResults gets an Int32Array of
 * (id, outcome, value) triples, one call for every probe that ended since the last one. The thread
 * does not keep the process alive unless ref(true).
 */
export class SocketProber {
  #closed = false;

  constructor(onResults: (results: Int32Array) => void) {
    if (typeof onResults !== 'function') throw new TypeError('onResults must be a function');
    handles.set(this, native.proberNew(onResults));
  }

  /** Starts probe i: ids[i] names it in the results, localPorts[i] (0: any) is bound first. */
  submit(ids: Uint32Array, localPorts: Uint16Array, templates: readonly Buffer[]): void {
    native.proberSubmit(handleOf(this), ids, localPorts, templates);
  }

  ref(on: boolean): void {
    if (!this.#closed) native.proberRef(handleOf(this), on);
  }

  /** results delivered and onResults calls so far */
  stats(): { delivered: number; batches: number } {
    return native.proberStats(handleOf(this));
  }

  /** Stops the thread; probes still running are abandoned (no results). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    native.proberClose(handleOf(this));
  }
}
