// The load option `recorder: false` (load-time flag LB_F_NO_RECORDER): the XDP program must then
// load and balance without ever presenting the recorder's 5.18 helper to the verifier — that is
// what lets it load on 5.15. Checked on what the kernel kept after verification (bpftool's xlated
// dump: dead code is removed there), against a default (recorder on) load as the control. Also: the
// kernel probe that picks the default, and a Record call on such a datapath (FAILED_PRECONDITION).
import * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XlbApiError } from '../../api/client/index.js';
import { loadXlbProto } from '../../api/generated/load.js';
import { LbDatapath, probeRecorderSupport, recorderSupport } from '../../lb/datapath/index.js';
import { ValidationError } from '../../lb/model/index.js';
import { bpfObjectPath } from '../../bpf/objects.js';
import { RecorderApiClient } from '../../api/client/recorder.js';
import { recorderHandlers } from '../../api/server/recorder.js';
import { Recorder } from '../../recorder/recorder.js';
import { CLIENT_MAC, IF_MAC, GW_MAC, SRC_V4, configure, loadDatapath, runFrame } from './harness.js';
import { ETH_P_IP, PROTO_IPIP, PROTO_TCP, ether, ip4, ipv4, pattern, tcp } from '../lab/packets.js';
import { memorySink } from '../recorder/harness.js';

const CLIENT = '192.0.2.7';
const VIP = '10.0.0.10';
const BACKEND = '10.1.0.1';

/** Every call target in the program the kernel runs: helper names and subprogram names. */
function xlatedCalls(progId: number): Set<string> {
  const out = execFileSync('bpftool', ['-j', 'prog', 'dump', 'xlated', 'id', String(progId)], { maxBuffer: 256 << 20 }).toString();
  const insns = JSON.parse(out) as Array<{ disasm?: string }>;
  const calls = new Set<string>();
  for (const { disasm } of insns) {
    // "(85) call bpf_xdp_load_bytes#10305200" / "(85) call pc+3076#bpf_prog_<tag>_rec_emit"
    const m = /\bcall (?:pc[+-]\d+#bpf_prog_[0-9a-f]+_)?([A-Za-z_][A-Za-z0-9_]*)/.exec(disasm ?? '');
    if (m) calls.add(m[1]!);
  }
  return calls;
}

function syn(sport: number): Buffer {
  return ether(
    { dst: IF_MAC, src: CLIENT_MAC },
    ETH_P_IP,
    ipv4({ src: CLIENT, dst: VIP, proto: PROTO_TCP }, tcp({ src: CLIENT, dst: VIP, sport, dport: 80, payload: pattern(32) })),
  );
}

function balanced(dp: LbDatapath): void {
  configure(dp);
  dp.upsertService({ id: 1, vip: VIP, port: 80, protocol: 'tcp' });
  dp.setBackends(1, [{ id: 1, address: BACKEND, weight: 1 }]);
}

describe('the recorder probe', () => {
  it('this kernel (6.x) has the helpers: the default is recorder on', () => {
    expect(recorderSupport()).toEqual({ available: true });
  });

  it('a program the verifier refuses reads as "not available", with the helpers and the verifier named', () => {
    // Negative control: the probe's refused-load path, with a libbpf-ts test program the verifier
    // rejects (an unchecked packet read) standing in for a kernel that lacks the helpers.
    const r = probeRecorderSupport(bpfObjectPath('ts_bad'));
    expect(r.available).toBe(false);
    expect(r.reason).toMatch(/lacks bpf_xdp_load_bytes \(Linux 5\.18\) and bpf_loop \(5\.17\): the verifier says ".*outside of the packet" \(EACCES\)/);
  });

  it('a missing probe object is a build problem and throws', () => {
    expect(() => probeRecorderSupport('/nonexistent/xlb_rec_probe.o')).toThrow(/nonexistent/);
  });

  it('the load option: must be a boolean', () => {
    expect(() => loadDatapath({ recorder: 'yes' as unknown as boolean })).toThrow(/^recorder: "yes" must be true, false or absent/);
  });
});

describe('datapath loaded with recorder: false', () => {
  let off: LbDatapath;
  let on: LbDatapath;

  beforeAll(() => {
    off = loadDatapath({ recorder: false });
    on = loadDatapath();
    balanced(off);
    balanced(on);
  });

  afterAll(() => {
    off?.close();
    on?.close();
  });

  it('options and the reason the recorder is unavailable', () => {
    expect(off.options.recorder).toBe(false);
    expect(off.recorderUnavailable).toBe('the datapath was loaded with the recorder turned off (load option recorder: false)');
    expect(on.options.recorder).toBe(true);
    expect(on.recorderUnavailable).toBeUndefined();
  });

  it('the verified program has no call to bpf_xdp_load_bytes, bpf_loop callbacks or any recorder subprogram', () => {
    const offCalls = xlatedCalls(off.program.id);
    const onCalls = xlatedCalls(on.program.id);
    // Control: with the recorder on, the same scan finds the helper and the subprograms.
    expect(onCalls).toContain('bpf_xdp_load_bytes');
    expect(onCalls).toContain('bpf_ringbuf_output');
    expect([...onCalls].filter((c) => c.startsWith('rec_')).sort()).toEqual(['rec_emit', 'rec_emit_one', 'rec_ingress_slow', 'rec_lookup']);
    // Off: gone — pruned as dead code, so the verifier never checked those calls.
    expect(offCalls).not.toContain('bpf_xdp_load_bytes');
    expect(offCalls).not.toContain('bpf_ringbuf_output');
    expect(offCalls).not.toContain('bpf_ktime_get_boot_ns');
    expect([...offCalls].filter((c) => c.startsWith('rec_'))).toEqual([]);
    // What is left is the balancer's own helpers (all in 5.15; bpf_user_rnd_u32 is the kernel's
    // bpf_get_prandom_u32), its own subprograms and map operations the kernel inlined.
    const lbHelpers = [
      'bpf_xdp_adjust_head', 'bpf_xdp_adjust_tail', 'bpf_csum_diff', 'bpf_ktime_get_ns', 'bpf_ktime_get_coarse_ns', 'bpf_user_rnd_u32',
      'encapsulate', 'established', 'balance',
    ];
    expect([...offCalls].filter((c) => !/_map_/.test(c) && !lbHelpers.includes(c))).toEqual([]);
  });

  it('balances: a SYN to the VIP leaves as IPIP to the backend, byte for byte like the recorder-on program', () => {
    const frame = syn(40001);
    const r = runFrame(off, frame);
    expect(r.verdict).toBe('tx');
    expect(r.delta.global['tx.ipip']).toBe(1);
    const out = r.frame;
    expect(out.subarray(0, 6).equals(Buffer.from(GW_MAC.replace(/:/g, ''), 'hex'))).toBe(true);
    expect(out.readUInt16BE(12)).toBe(ETH_P_IP);
    const outer = out.subarray(14, 34);
    expect(outer[9]).toBe(PROTO_IPIP);
    expect(outer.subarray(12, 16).equals(ip4(SRC_V4))).toBe(true);
    expect(outer.subarray(16, 20).equals(ip4(BACKEND))).toBe(true);
    expect(out.subarray(34).equals(frame.subarray(14))).toBe(true); // the client's packet, unchanged
    expect(on.testRun(frame).frame.equals(out)).toBe(true);
  });

  it('rules written straight into the recorder maps record nothing (the hooks are really gone)', async () => {
    // Both datapaths get the same recording through the recorder maps, bypassing the refusal
    // (a view of the datapath without recorderUnavailable): only the recorder-on program records.
    const run = async (dp: LbDatapath) => {
      const recorder = Recorder.forDatapath({ recorderMaps: () => dp.recorderMaps() }, { settleMs: 5 });
      try {
        const { sink, mem } = memorySink();
        const s = recorder.start({ filters: [{ dstCidr: VIP }], points: 'both' }, sink);
        dp.testRun(syn(40002));
        recorder.drain();
        await s.stop();
        return { stats: mem.end!.stats, frames: mem.frames().length };
      } finally {
        await recorder.close();
      }
    };
    expect(await run(on)).toMatchObject({ stats: { matched: 2, captured: 2, lost: 0 }, frames: 2 });
    expect(await run(off)).toMatchObject({ stats: { matched: 0, captured: 0, lost: 0 }, frames: 0 });
  });

  it('Recorder.start refuses with FAILED_PRECONDITION saying why, and changes nothing', async () => {
    const recorder = Recorder.forDatapath(off);
    try {
      expect(recorder.unavailable).toBe(off.recorderUnavailable);
      let err: unknown;
      try {
        recorder.start({ filters: [{ dstCidr: VIP }] }, memorySink().sink);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).code).toBe('FAILED_PRECONDITION');
      expect((err as ValidationError).message).toBe(`the packet recorder is not available: ${off.recorderUnavailable}`);
      expect(recorder.sessions()).toEqual([]);
      expect(recorder.tables.indexEntries()).toEqual([]);
    } finally {
      await recorder.close();
    }
    // The reason a daemon passes (e.g. the kernel probe's) is the one reported.
    const told = Recorder.forDatapath(off, { unavailable: 'this kernel lacks bpf_xdp_load_bytes (Linux 5.18)' });
    try {
      expect(() => told.start({ filters: [{}] }, memorySink().sink)).toThrow(
        /^the packet recorder is not available: this kernel lacks bpf_xdp_load_bytes \(Linux 5\.18\)$/,
      );
    } finally {
      await told.close();
    }
  });

  it('gRPC Record: FAILED_PRECONDITION with the reason', async () => {
    const scratch = mkdtempSync(join(tmpdir(), `xlb-rec-off-${process.pid}-`));
    const recorder = Recorder.forDatapath(off);
    const server = new grpc.Server();
    try {
      server.addService(loadXlbProto().xlb.v1.Recorder.service, recorderHandlers(recorder));
      const target = `unix://${join(scratch, 'rec.sock')}`;
      await new Promise<void>((resolve, reject) =>
        server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())),
      );
      const client = RecorderApiClient.connect({ server: target });
      try {
        const call = client.record({ filters: [{ dstCidr: VIP }] }, { chunk: () => {} });
        const err = await call.done.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(XlbApiError);
        expect((err as XlbApiError).codeName).toBe('FAILED_PRECONDITION');
        expect((err as XlbApiError).details).toBe(`the packet recorder is not available: ${off.recorderUnavailable}`);
      } finally {
        client.raw.close();
      }
    } finally {
      server.forceShutdown();
      await recorder.close();
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('recorder: true', () => {
  it('loads with the hooks when the kernel has them (the explicit form of the default here)', () => {
    const dp = loadDatapath({ recorder: true });
    try {
      expect(dp.options.recorder).toBe(true);
      expect(xlatedCalls(dp.program.id)).toContain('bpf_xdp_load_bytes');
    } finally {
      dp.close();
    }
  });
});

describe('pins keep the choice', () => {
  const dir = `/sys/fs/bpf/xlb-test-recoff-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  afterAll(() => {
    LbDatapath.unpin(dir);
  });

  it('adopt and upgrade of a recorder-off datapath stay off (meta flag LB_F_NO_RECORDER)', () => {
    const dp = loadDatapath({ recorder: false });
    try {
      dp.pin(dir);
    } finally {
      dp.close();
    }
    const adopted = LbDatapath.adopt(dir);
    try {
      expect(adopted.options.recorder).toBe(false);
      expect(adopted.recorderUnavailable).toMatch(/turned off/);
    } finally {
      adopted.close();
    }
    const upgraded = LbDatapath.upgrade(dir);
    try {
      expect(upgraded.options.recorder).toBe(false);
      expect(xlatedCalls(upgraded.program.id)).not.toContain('bpf_xdp_load_bytes');
    } finally {
      upgraded.close();
    }
  });
});
