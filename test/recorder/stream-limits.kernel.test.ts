// A Record stream cannot hold the daemon's memory or its recording slots hostage: the hostile
// clients of issue #13 item 5 against the real Recorder (the real program, frames injected with
// BPF_PROG_TEST_RUN) behind the real gRPC handlers on a unix socket:
//   - a stream that never sends `start` is ended after the start timeout;
//   - a client that never reads: its recording stops reading its ring once the stream's queue is
//     over the cap (the kernel then counts the losses), and neither data nor stats messages pile
//     up behind the stream meanwhile;
//   - one client cannot take every recording or rule slot (per-peer caps);
//   - Recorder.errors keeps only the newest errors.
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XlbApiError } from '../../api/client/index.js';
import { RecorderApiClient } from '../../api/client/recorder.js';
import { loadXlbProto } from '../../api/generated/load.js';
import type { RecordResponse } from '../../api/generated/xlb/v1/RecordResponse.js';
import { recorderHandlers, recorderService, type RecorderServiceOptions } from '../../api/server/recorder.js';
import type { LbDatapath } from '../../lb/datapath/index.js';
import { MAX_KEPT_ERRORS, Recorder, type RecorderOptions } from '../../recorder/recorder.js';
import type { RecorderMaps } from '../../recorder/tables.js';
import { configure, loadDatapath } from '../datapath/harness.js';
import { ETH_P_IP, PROTO_TCP, ether, ipv4, tcp } from '../lab/packets.js';
import { memorySink } from './harness.js';

const VIP4 = '10.100.0.10';
const frame = (sport: number, payload = 1000) =>
  ether(
    { dst: '02:00:00:00:00:01', src: '02:00:00:00:00:09' },
    ETH_P_IP,
    ipv4({ src: '10.1.1.2', dst: VIP4, proto: PROTO_TCP }, tcp({ src: '10.1.1.2', dst: VIP4, sport, dport: 80, payload: Buffer.alloc(payload, 0x5a) })),
  );

let dp: LbDatapath;
let scratch: string;

beforeAll(() => {
  dp = loadDatapath();
  configure(dp);
  dp.upsertService({ id: 1, vip: VIP4, port: 80, protocol: 'tcp' });
  dp.setBackends(1, [{ id: 1, address: '10.3.1.2', weight: 1 }]);
  scratch = mkdtempSync(join(tmpdir(), `xlb-rec-limits-${process.pid}-`));
});

afterAll(() => {
  dp?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** A Recorder behind recorderHandlers on a fresh unix socket; `calls` are the server side of every stream. */
async function serve(ro: RecorderOptions, so: RecorderServiceOptions) {
  const recorder = Recorder.forDatapath(dp, { settleMs: 5, ...ro });
  const handlers = recorderHandlers(recorder, so);
  const calls: grpc.ServerDuplexStream<unknown, RecordResponse>[] = [];
  const server = new grpc.Server();
  server.addService(recorderService(loadXlbProto().xlb.v1.Recorder.service), {
    Record: ((call: grpc.ServerDuplexStream<never, RecordResponse>) => {
      calls.push(call);
      handlers.Record(call);
    }) as grpc.UntypedHandleCall,
  });
  const target = `unix://${join(scratch, `rec-${calls.length}-${Math.random().toString(36).slice(2, 8)}.sock`)}`;
  await new Promise<void>((resolve, reject) => server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  return {
    recorder,
    calls,
    target,
    async close() {
      server.forceShutdown();
      await recorder.close();
    },
  };
}

const until = async (what: string, fn: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as XlbApiError,
  );

describe('Record streams are bounded', () => {
  it('a stream that never sends start ends after the start timeout (DEADLINE_EXCEEDED), and holds nothing', async () => {
    const s = await serve({}, { startTimeoutMs: 200 });
    const raw = new (loadXlbProto().xlb.v1.Recorder)(s.target, grpc.credentials.createInsecure());
    try {
      const t0 = Date.now();
      const call = raw.Record();
      const status = await new Promise<grpc.StatusObject>((resolve) => {
        call.on('status', resolve);
        call.on('error', () => {});
        call.on('data', () => {});
      });
      expect(status.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      expect(status.details).toBe('start: no start message within 200 ms of opening the stream');
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(s.recorder.sessions()).toEqual([]);
    } finally {
      raw.close();
      await s.close();
    }
  });

  it('a client that never reads: the ring stops being read, the kernel counts the loss, nothing piles up behind the stream', async () => {
    // A 64 KiB ring and queue cap, stats every 5 ms; the client keeps the default 64 KiB HTTP/2
    // window and stops reading at once.
    const s = await serve({ ringBytes: 64 << 10, statsIntervalMs: 5, flushMs: 5 }, { maxQueuedBytes: 64 << 10 });
    const raw = new (loadXlbProto().xlb.v1.Recorder)(s.target, grpc.credentials.createInsecure());
    try {
      const call = raw.Record();
      call.on('error', () => {});
      call.pause();
      call.write({ start: { filters: [{ srcCidr: '10.1.1.2' }], points: 'CAPTURE_POINTS_INGRESS' } });
      await until('the recording to start', () => s.recorder.sessions().length === 1);
      const session = s.recorder.sessions()[0]!;
      const slot = s.recorder.slotOf(session.id)!;
      const server = s.calls[0]!;
      // Records in bursts, the event loop running in between, until the recording stops reading
      // its ring: the stream's queue is over the cap (the client's own buffers — its HTTP/2 window
      // and grpc-js's 16 messages — fill first).
      let sent = 0;
      while (!session.paused) {
        if (sent >= 40_000) throw new Error(`still reading its ring after ${sent} records`);
        for (let i = 0; i < 100; i++) dp.testRun(frame(1000 + i));
        sent += 100;
        await new Promise((r) => setTimeout(r, 2));
      }
      // Paused: nothing reads the ring now, so all but what the 64 KiB ring holds is lost.
      const lostBefore = Number(s.recorder.tables.counters(slot).lost);
      for (let i = 0; i < 500; i++) dp.testRun(frame(2000 + i));
      sent += 500;
      const lost = Number(s.recorder.tables.counters(slot).lost);
      expect(lost - lostBefore).toBeGreaterThanOrEqual(500 - Math.floor((64 << 10) / 1096));
      // Messages waiting behind the stream: at most the cap's worth — and no more while the
      // client keeps not reading, whatever the stats timer does.
      const queued = server.writableLength;
      expect(queued).toBeLessThan(16);
      let most = queued;
      for (let i = 0; i < 30; i++) {
        await new Promise((r) => setTimeout(r, 10)); // 60 stats periods in all
        most = Math.max(most, server.writableLength);
      }
      expect(most).toBeLessThanOrEqual(queued + 1);
      // The client reads again: the recording resumes, and its figures add up.
      let end: RecordResponse | undefined;
      call.on('data', (m: { msg?: string; end?: unknown }) => {
        if (m.msg === 'end') end = m as RecordResponse;
      });
      call.resume();
      await until('the recording to resume', () => !session.paused);
      call.write({ stop: {} });
      await until('the end', () => end !== undefined);
      const st = end!.end!.stats!;
      expect(Number(st.matched)).toBe(sent);
      expect(Number(st.captured) + Number(st.lost)).toBe(sent);
      expect(Number(st.lost)).toBeGreaterThanOrEqual(lost);
    } finally {
      raw.close();
      await s.close();
    }
  });

  it('per client: at most maxRecordingsPerPeer recordings and maxRulesPerPeer rules (RESOURCE_EXHAUSTED), freed as they end', async () => {
    const s = await serve({}, { maxRecordingsPerPeer: 2, maxRulesPerPeer: 3 });
    const client = RecorderApiClient.connect({ server: s.target });
    try {
      const started = async (filters: number) => {
        let ok!: () => void;
        const isStarted = new Promise<void>((r) => (ok = r));
        const call = client.record({ filters: Array.from({ length: filters }, (_, i) => ({ srcCidr: `10.50.${i}.0/24` })) }, { started: () => ok(), chunk: () => {} });
        const err = failure(call.done);
        await Promise.race([isStarted, err]);
        return { call, err };
      };
      const a = await started(1);
      const b = await started(1);
      const third = await failure((await started(1)).call.done);
      expect(third?.codeName).toBe('RESOURCE_EXHAUSTED');
      expect(third?.details).toBe(
        'too many recordings for the local socket: 2 running, at most 2 per client (recorder.max_recordings_per_peer); stop one first',
      );
      a.call.stop();
      await a.call.done;
      const wide = await failure((await started(3)).call.done);
      expect(wide?.codeName).toBe('RESOURCE_EXHAUSTED');
      expect(wide?.details).toBe(
        'filters: too many rules for the local socket: 3 requested, 1 in use, at most 3 per client (recorder.max_rules_per_peer)',
      );
      expect(s.recorder.sessions().length).toBe(1);
      const c = await started(2); // 1 + 2 rules: exactly the share
      expect(s.recorder.sessions().length).toBe(2);
      for (const r of [b, c]) r.call.stop();
      await Promise.all([b.call.done, c.call.done]);
    } finally {
      client.close();
      await s.close();
    }
  });
});

describe('Recorder.errors', () => {
  it(`keeps the newest ${MAX_KEPT_ERRORS} errors and counts all`, async () => {
    // The recorder's maps, with updates of the recording table failing on demand (a stop then
    // cannot deactivate the slot: the error is kept, the recording still ends).
    let failing = false;
    const maps = { ...dp.recorderMaps() } as RecorderMaps;
    const real = maps.rec_recordings;
    maps.rec_recordings = new Proxy(real, {
      get(target, prop) {
        if (prop === 'update' && failing) return () => { throw new Error('rec_recordings update: injected failure'); };
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const recorder = new Recorder(maps, { settleMs: 1 });
    try {
      const sessions = Array.from({ length: 30 }, (_, i) => recorder.start({ filters: [{ srcCidr: `10.60.${i}.0/24` }] }, memorySink().sink));
      failing = true;
      await Promise.all(sessions.map((x) => x.stop()));
      expect(recorder.errorCount).toBe(30);
      expect(recorder.errors.length).toBe(MAX_KEPT_ERRORS);
      expect(recorder.errors.every((e) => /injected failure/.test(e.message))).toBe(true);
    } finally {
      failing = false;
      recorder.tables.reset();
      await recorder.close();
    }
  });
});
