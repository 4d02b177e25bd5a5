// The API server's resource limits, each one hit on purpose by a hostile client speaking raw
// HTTP/2 (node:http2) to the real api/server on a unix socket. The control plane behind it is a
// stand-in over lb/model's DesiredState (no datapath: the limits live in the gRPC layer). Small
// limits are passed in so every one is reached quickly; test/api/fuzz.lab.test.ts checks the real
// daemon's defaults.
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as http2Connect, constants as h2, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XlbClient } from '../../api/client/index.js';
import { startApiServer, type ApiServer, type HealthView, type LoadBalancerControl } from '../../api/server/index.js';
import type { RecorderHandlers } from '../../api/generated/xlb/v1/Recorder.js';
import { DesiredState, type StateDiff } from '../../lb/model/index.js';

const LIMITS = {
  maxConnections: 6,
  maxConcurrentStreams: 4,
  maxInFlightCalls: 3,
  requestTimeoutMs: 400,
  maxMessageBytes: 64 * 1024,
  maxConnectionIdleMs: 600,
  keepaliveTimeMs: 200,
  keepaliveTimeoutMs: 200,
};

class StandInControl implements LoadBalancerControl {
  state = new DesiredState({ limits: { maxServices: 100, maxBackends: 1000, maxBackendsPerService: 64, maglevTableSize: 65537 } });
  async change(op: (d: DesiredState) => StateDiff, o: { dryRun?: boolean } = {}) {
    const draft = this.state.clone();
    const diff = op(draft);
    if (!o.dryRun) this.state = draft;
    return { diff, state: this.state, dryRun: o.dryRun === true };
  }
  stats(): never {
    throw new Error('not used');
  }
  status(): never {
    throw new Error('not used');
  }
  readonly health: HealthView = { backend: () => undefined, service: () => undefined };
  drainNode(): never {
    throw new Error('not used');
  }
}

const noRecorder: RecorderHandlers = {
  Record(call) {
    call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'no recorder here' });
  },
};

let dir: string;
let socket: string;
let server: ApiServer;
const opened: Array<{ destroy(): void }> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xlb-limits-'));
  socket = join(dir, 'api.sock');
  server = await startApiServer({
    control: new StandInControl(),
    listen: { kind: 'unix', path: socket, target: `unix://${socket}` },
    recorder: noRecorder,
    limits: LIMITS,
  });
});

afterAll(async () => {
  for (const o of opened) o.destroy();
  await server?.close(0);
  rmSync(dir, { recursive: true, force: true });
});

function h2session(): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = http2Connect('http://localhost', { createConnection: () => netConnect(socket) });
    opened.push(s);
    s.once('remoteSettings', () => resolve(s));
    s.once('error', reject);
  });
}

/** A gRPC request that announces `length` bytes of message and sends only `sent` of them (no end). */
function partialCall(s: ClientHttp2Session, method: string, length: number, sent: number): ClientHttp2Stream {
  const stream = s.request({
    [h2.HTTP2_HEADER_METHOD]: 'POST',
    [h2.HTTP2_HEADER_PATH]: method,
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  const head = Buffer.alloc(5);
  head.writeUInt32BE(length, 1);
  stream.write(Buffer.concat([head, Buffer.alloc(Math.max(0, sent))]));
  return stream;
}

/** grpc-status of a stream's trailers (or headers for a trailers-only answer). */
function statusOf(stream: ClientHttp2Stream): Promise<{ code: number; message: string }> {
  return new Promise((resolve) => {
    const take = (h: Record<string, unknown>) => {
      if (h['grpc-status'] !== undefined) resolve({ code: Number(h['grpc-status']), message: decodeURIComponent(String(h['grpc-message'] ?? '')) });
    };
    stream.on('response', take);
    stream.on('trailers', take);
    stream.on('close', () => resolve({ code: -1, message: `closed (rst ${stream.rstCode})` }));
    stream.resume();
  });
}

function rawSocket(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect(socket, () => resolve(s));
    opened.push(s);
    s.resume(); // read (and drop) what the server sends, so its FIN is seen
    s.on('error', () => {});
    s.once('error', reject);
  });
}

const closed = (s: Socket, ms: number) =>
  new Promise<boolean>((resolve) => {
    if (s.destroyed || s.readableEnded) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });

async function goodCall(): Promise<number> {
  const client = XlbClient.connect({ server: `unix://${socket}` });
  try {
    const started = Date.now();
    await client.listServices();
    return Date.now() - started;
  } finally {
    client.close();
  }
}

describe('API server limits against a hostile client', () => {
  it('advertises max_concurrent_streams and refuses streams beyond it', async () => {
    const s = await h2session();
    expect(s.remoteSettings.maxConcurrentStreams).toBe(LIMITS.maxConcurrentStreams);
    s.destroy();
  });

  it('caps unary calls in flight across connections; a request that never completes is cut at the request timeout', async () => {
    const sessions = await Promise.all([h2session(), h2session()]);
    const slow = [0, 1, 2].map((i) => partialCall(sessions[i % 2]!, '/xlb.v1.LoadBalancer/CreateService', 1000, 10));
    const slowStatus = slow.map(statusOf);
    await new Promise((r) => setTimeout(r, 50));
    const refused = await statusOf(partialCall(sessions[1]!, '/xlb.v1.LoadBalancer/ListServices', 0, 0));
    expect(refused.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.message).toMatch(/too many API calls in progress \(3\)/);
    for (const st of await Promise.all(slowStatus)) {
      expect(st.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      expect(st.message).toMatch(/the request did not arrive completely within 400 ms/);
    }
    expect(await goodCall()).toBeLessThan(1000);
    for (const s of sessions) s.destroy();
  });

  it('refuses a message above the size limit without reading it', async () => {
    const s = await h2session();
    const st = await statusOf(partialCall(s, '/xlb.v1.LoadBalancer/Apply', LIMITS.maxMessageBytes + 1, 16));
    expect(st.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    s.destroy();
  });

  it('caps connections: one more than the limit is closed at once; idle ones are closed after the idle time', async () => {
    const held = await Promise.all(Array.from({ length: LIMITS.maxConnections }, () => rawSocket()));
    const extra = await rawSocket();
    expect(await closed(extra, 300), 'the connection beyond the limit').toBe(true);
    // Sockets that never even speak HTTP/2 do not hold their slot forever.
    const gone = await Promise.all(held.map((s) => closed(s, LIMITS.maxConnectionIdleMs * 4)));
    expect(gone, 'idle connections').toEqual(held.map(() => true));
    expect(await goodCall()).toBeLessThan(1000);
  });

  it('garbage instead of HTTP/2 closes that connection only', async () => {
    const s = await rawSocket();
    s.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(100)));
    expect(await closed(s, 1000)).toBe(true);
    expect(await goodCall()).toBeLessThan(1000);
  });
});
