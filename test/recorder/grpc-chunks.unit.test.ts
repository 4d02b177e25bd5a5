// Transport only: a flush of many MiB (a reader that fell behind) must reach the client whole, in
// messages under gRPC's 4 MiB default receive limit. The Recorder is a stand-in that hands the
// handler one big chunk; the real recorder's ring path is covered by recorder.lab/overload.
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadXlbProto } from '../../api/generated/load.js';
import { RecorderApiClient } from '../../api/client/recorder.js';
import { BaseServerInterceptingCall } from '@grpc/grpc-js/build/src/server-interceptors.js';
import type { RecordResponse } from '../../api/generated/xlb/v1/RecordResponse.js';
import { MAX_CHUNK_BYTES, encodedChunk, recorderHandlers, sendFramedChunks } from '../../api/server/recorder.js';
import type { Recorder } from '../../recorder/recorder.js';

const BIG = 9 * 1024 * 1024 + 123;

function standInRecorder(): Recorder {
  const stats = { matched: 1, captured: 1, lost: 0, capturedBytes: BIG };
  return {
    start(_req: unknown, sink: { started(i: unknown): void; data(b: Buffer): void; end(r: string, s: unknown): void }) {
      let ended!: (r: string) => void;
      const session = { id: 1, rules: [], ended: new Promise<string>((r) => (ended = r)), stats: () => stats, stop: async () => {}, pause: () => {}, resume: () => {} };
      setImmediate(() => {
        sink.started({ id: 1, snaplen: 65535, filters: [] });
        const bytes = Buffer.alloc(BIG);
        for (let i = 0; i < BIG; i += 4096) bytes[i] = (i / 4096) & 0xff;
        sink.data(bytes);
        sink.end('maxPackets', stats);
        ended('maxPackets');
      });
      return session;
    },
  } as unknown as Recorder;
}

describe('Recorder.Record over gRPC', () => {
  let scratch: string;
  let server: grpc.Server;
  let target: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), `xlb-rec-chunks-${process.pid}-`));
    server = new grpc.Server();
    server.addService(loadXlbProto().xlb.v1.Recorder.service, recorderHandlers(standInRecorder()));
    target = `unix://${join(scratch, 'rec.sock')}`;
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())),
    );
  });
  afterAll(() => {
    server?.forceShutdown();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('delivers a 9 MiB flush whole, in slices of at most MAX_CHUNK_BYTES', async () => {
    const client = RecorderApiClient.connect({ server: target });
    const chunks: Buffer[] = [];
    const call = client.record({ filters: [{ dstCidr: '10.0.0.0/8' }], maxPackets: 1 }, { chunk: (b) => chunks.push(b) });
    const end = await call.done;
    expect(end?.reason).toBe('RECORD_END_REASON_MAX_PACKETS');
    expect(chunks.length).toBeGreaterThanOrEqual(Math.ceil(BIG / MAX_CHUNK_BYTES));
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(MAX_CHUNK_BYTES);
    const all = Buffer.concat(chunks);
    expect(all.length).toBe(BIG);
    for (let i = 0; i < BIG; i += 4096) expect(all[i]).toBe((i / 4096) & 0xff);
  });
});

describe('chunks go out in their own gRPC frame (no copy by grpc-js)', () => {
  it('grpc-js sends an encodedChunk() from the chunk\'s own memory: frame header, protobuf prefix, the bytes', () => {
    expect(sendFramedChunks()).toBe(true); // this grpc-js has the hook; false would mean a copy per chunk again
    const headroom = 16;
    const backing = Buffer.alloc(headroom + 300_000);
    const bytes = backing.subarray(headroom);
    for (let i = 0; i < bytes.length; i++) bytes[i] = i & 0xff;
    const msg = encodedChunk(bytes);
    // What grpc-js's server call hands to the HTTP/2 stream for this message.
    const serializeMessage = (BaseServerInterceptingCall.prototype as unknown as { serializeMessage(v: unknown): Buffer }).serializeMessage;
    const serialize = (m: RecordResponse) => loadXlbProto().xlb.v1.Recorder.service.Record.responseSerialize(m);
    const out = serializeMessage.call({ handler: { serialize } }, msg);
    expect(out.buffer).toBe(backing.buffer); // the same memory, not a copy
    expect(out.readUInt8(0)).toBe(0);
    expect(out.readUInt32BE(1)).toBe(out.length - 5);
    expect(out.subarray(5).equals(serialize({ chunk: bytes }))).toBe(true);
    // Any other message is framed (copied) by grpc-js as before.
    const stats = { stats: { matched: 3 } } as RecordResponse;
    const other = serializeMessage.call({ handler: { serialize } }, stats);
    expect(other.readUInt32BE(1)).toBe(other.length - 5);
    expect(other.subarray(5).equals(serialize(stats))).toBe(true);
  });
});
