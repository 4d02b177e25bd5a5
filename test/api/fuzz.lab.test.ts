// API fuzzing and hostile clients against the real xlbd (lab LB node, real datapath):
//  1. Seeded random and mutated requests for every LoadBalancer method, eight at a time so that
//     conflicting calls race (create/delete/add/remove on the same ids), a third of them as raw
//     protobuf bytes mutated on the wire. After every batch the daemon answers; every few batches
//     the state file, ListServices and the datapath maps (read back by a second LbDatapath on the
//     pins) describe the same services and backends; no status message carries a stack or a source
//     location, and no call hit an internal error.
//  2. Hostile clients with the daemon's default limits: idle connections beyond the cap, a flood of
//     calls that never finish on one connection, an oversized message, garbage instead of HTTP/2.
//     The daemon keeps answering a well-behaved client and its memory stays bounded.
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { connect as http2Connect, constants as h2 } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadXlbPackageDefinition } from '../../api/generated/load.js';
import { LbDatapath } from '../../lb/datapath/index.js';
import { Lab } from '../lab/lab.js';
import { XlbdInstance } from '../daemon/xlbd.js';
import { Rng } from '../fuzz/rng.js';
import { FUZZ_METHODS, leaksInternals, RequestFuzzer } from './fuzz-requests.js';

const BATCHES = Number(process.env.XLB_FUZZ_API_BATCHES ?? 100);
const SEED = Number(process.env.XLB_FUZZ_SEED ?? 0x13);
const CONFIG_ID = '10.100.0.12:80/tcp';

let lab: Lab;
let xlbd: XlbdInstance;

beforeAll(async () => {
  lab = await Lab.create({ backends: 1, clients: 1, lbNodes: 1, ipv6: true, http: false, decap: false });
  xlbd = new XlbdInstance({
    lab,
    config: {
      maps: { services: 8, backends: 64, flows: 4096 },
      limits: { max_backends_per_service: 6 },
      services: [{ id: CONFIG_ID, backends: ['10.3.1.2'] }],
    },
  });
  await xlbd.start();
}, 120_000);

afterAll(async () => {
  await xlbd?.dispose();
  await lab?.destroy();
});

interface Answer {
  code: number;
  details: string;
}

/** One unary call with the given wire bytes (no client-side encoding or checks). */
function rawCall(client: grpc.Client, method: string, bytes: Buffer): Promise<Answer> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      `/xlb.v1.LoadBalancer/${method}`,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      { deadline: Date.now() + 20_000 },
      (err) => resolve(err ? { code: err.code, details: err.details ?? '' } : { code: 0, details: '' }),
    );
  });
}

/** Services as three views see them, reduced to what they must agree on. */
interface Row {
  datapathId: number;
  vip: string;
  port: number;
  protocol: string;
  backends: string[];
}

function rowsFromList(list: any[]): Row[] {
  return list.map((s) => ({
    datapathId: s.datapathId, vip: s.vip, port: s.port, protocol: s.protocol === 'PROTOCOL_TCP' ? 'tcp' : 'udp',
    backends: s.backends.map((b: any) => `${b.datapathId} ${b.address} ${b.weight} ${b.state === 'BACKEND_STATE_DRAINING' ? 'draining' : 'active'}`).sort(),
  })).sort((a, b) => a.datapathId - b.datapathId);
}

/** The state on disk as a restart would load it (snapshot + journal). */
async function rowsFromDisk(instance: XlbdInstance): Promise<Row[]> {
  const snapshot = await instance.savedState();
  return snapshot.services.map((s: any) => ({
    datapathId: s.datapath_id, vip: s.vip, port: s.port, protocol: s.protocol,
    backends: s.backends.map((b: any) => `${b.datapath_id} ${b.address} ${b.weight} ${b.state}`).sort(),
  })).sort((a: Row, b: Row) => a.datapathId - b.datapathId);
}

function rowsFromMaps(pinDir: string): Row[] {
  const dp = LbDatapath.adopt(pinDir);
  try {
    return dp.services().map((s) => ({
      datapathId: s.id, vip: s.vip, port: s.port, protocol: s.protocol,
      backends: dp.backends(s.id).map((b) => `${b.id} ${b.address} ${b.weight} ${b.state}`).sort(),
    })).sort((a, b) => a.datapathId - b.datapathId);
  } finally {
    dp.close();
  }
}

describe('API fuzzing against the real daemon', () => {
  it(`${BATCHES} batches of 8 random/mutated requests on every method: alive, consistent, no stacks`, async () => {
    const r = new Rng(SEED);
    const fz = new RequestFuzzer(r, CONFIG_ID);
    const definition = loadXlbPackageDefinition()['xlb.v1.LoadBalancer'] as Record<string, { requestSerialize: (o: object) => Buffer }>;
    const client = new grpc.Client(`unix://${xlbd.socket}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 8 << 20 });
    const codes: Record<string, number> = {};
    const leaks: string[] = [];
    const internal: string[] = [];
    let calls = 0;
    try {
      for (let batch = 0; batch < BATCHES; batch++) {
        const answers = await Promise.all(Array.from({ length: 8 }, async () => {
          const method = r.pick(FUZZ_METHODS);
          let bytes: Buffer;
          try {
            bytes = definition[method]!.requestSerialize(fz.request(method));
          } catch {
            bytes = r.bytes(20); // a value the encoder itself refuses: send garbage instead
          }
          if (r.chance(0.33)) bytes = fz.mutateWire(bytes);
          return { method, a: await rawCall(client, method, bytes) };
        }));
        for (const { method, a } of answers) {
          calls++;
          const name = `${method} ${grpc.status[a.code]}`;
          codes[name] = (codes[name] ?? 0) + 1;
          if (leaksInternals(a.details)) leaks.push(`${name}: ${a.details.slice(0, 300)}`);
          if (a.code === grpc.status.INTERNAL && !/^Error deserializing request/.test(a.details)) internal.push(`${name}: ${a.details}`);
          // Every message reads as "field: problem" or a plain sentence; none is unbounded.
          expect(a.details.length, name).toBeLessThan(16_384);
        }
        expect(xlbd.proc!.running).toBe(true);
        expect((await xlbd.client.call('GetStatus', {}, 5000)).instance).toBe(xlbd.instance);
        if (batch % 10 === 9 || batch === BATCHES - 1) {
          const listed = rowsFromList((await xlbd.client.call('ListServices')).services);
          expect(await rowsFromDisk(xlbd), `state on disk after batch ${batch}`).toEqual(listed);
          expect(rowsFromMaps(xlbd.pinDir), `datapath maps after batch ${batch}`).toEqual(listed);
        }
      }
    } finally {
      client.close();
    }
    expect(leaks).toEqual([]);
    expect(internal).toEqual([]);
    expect(xlbd.output).not.toMatch(/internal error/);
    // The requests reached both ends: accepted changes and every kind of refusal.
    const seen = Object.keys(codes).join(' ');
    for (const c of ['OK', 'INVALID_ARGUMENT', 'NOT_FOUND', 'ALREADY_EXISTS', 'FAILED_PRECONDITION']) expect(seen).toContain(c);
    console.log(`api fuzz: ${calls} calls (seed ${SEED}), 0 crashes, 0 stack leaks, 0 internal errors, state file = ListServices = maps; ${JSON.stringify(codes)}`);
  }, 300_000);
});

describe('hostile clients against the daemon defaults', () => {
  const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${xlbd.proc!.pid}/status`, 'utf8'))![1]);
  const goodCallMs = async () => {
    const started = Date.now();
    await xlbd.client.call('ListServices', {}, 5000);
    return Date.now() - started;
  };
  const opened: Array<{ destroy(): void }> = [];
  afterAll(() => opened.forEach((o) => o.destroy()));

  it('idle connections beyond the cap are closed on accept; below it the daemon keeps answering', async () => {
    const rssBefore = rssKb();
    const connect = () =>
      new Promise<Socket>((resolve) => {
        const s = netConnect(xlbd.socket, () => resolve(s));
        s.on('error', () => {});
        s.resume();
        opened.push(s);
      });
    const idle = await Promise.all(Array.from({ length: 100 }, connect));
    expect(await goodCallMs()).toBeLessThan(2000);
    const more = await Promise.all(Array.from({ length: 60 }, connect));
    await new Promise((res) => setTimeout(res, 300));
    // 128 connections at most (DEFAULT_API_LIMITS): the rest was closed by the daemon.
    const open = [...idle, ...more].filter((s) => !s.destroyed && !s.readableEnded).length;
    expect(open).toBeLessThanOrEqual(128);
    expect(open).toBeGreaterThanOrEqual(100);
    for (const s of [...idle, ...more]) s.destroy();
    await new Promise((res) => setTimeout(res, 200));
    expect(await goodCallMs()).toBeLessThan(2000);
    expect(rssKb() - rssBefore).toBeLessThan(100 * 1024);
  });

  it('calls that never finish: at most 32 in flight (the rest refused at once), freed when the client goes', async () => {
    const session = http2Connect('http://localhost', { createConnection: () => netConnect(xlbd.socket) });
    opened.push(session);
    await new Promise((res) => session.once('remoteSettings', res));
    expect(session.remoteSettings.maxConcurrentStreams).toBe(32);
    const statuses: Promise<number>[] = [];
    for (let i = 0; i < 32; i++) {
      const st = session.request({ [h2.HTTP2_HEADER_METHOD]: 'POST', [h2.HTTP2_HEADER_PATH]: '/xlb.v1.LoadBalancer/CreateService', 'content-type': 'application/grpc', te: 'trailers' });
      st.write(Buffer.from([0, 0, 0, 1, 0, 1, 2, 3])); // announces 256 bytes, sends 3
      statuses.push(new Promise((res) => {
        st.on('trailers', (t) => res(Number(t['grpc-status'])));
        st.on('response', (h) => h['grpc-status'] !== undefined && res(Number(h['grpc-status'])));
        st.on('close', () => res(-1));
      }));
    }
    await new Promise((res) => setTimeout(res, 300));
    const refused = await xlbd.client.fail('ListServices');
    expect(refused.codeName).toBe('RESOURCE_EXHAUSTED');
    session.destroy();
    await Promise.all(statuses);
    await new Promise((res) => setTimeout(res, 200));
    expect(await goodCallMs()).toBeLessThan(2000);
  });

  it('an oversized message is refused without being read; garbage closes only its own connection', async () => {
    const client = new grpc.Client(`unix://${xlbd.socket}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 16 << 20 });
    try {
      // Over the daemon's 16 MiB maxMessageBytes (api/server/limits.ts DEFAULT_API_LIMITS).
      const big = await rawCall(client, 'Apply', Buffer.alloc(17 << 20, 0x0a));
      expect(grpc.status[big.code]).toBe('RESOURCE_EXHAUSTED');
    } finally {
      client.close();
    }
    const junk = netConnect(xlbd.socket);
    junk.on('error', () => {});
    junk.resume();
    junk.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(50)));
    await new Promise<void>((res) => junk.once('close', () => res()));
    expect(await goodCallMs()).toBeLessThan(2000);
    expect(xlbd.proc!.running).toBe(true);
  });
});
