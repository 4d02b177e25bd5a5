// Programs: open by pin or id, and BPF_PROG_TEST_RUN.
import { KernelObject } from './kernel-object.js';
import { asBuffer, handleOf, native, requireBuffer, type Handle } from './native.js';

export interface TestRunOptions {
  /** packet (or other program input); omit for program types without data */
  data?: Buffer | Uint8Array;
  /** room for the output packet; default data.length + 4096 (headroom/tailroom growth) */
  dataOutSize?: number;
  ctx?: Buffer | Uint8Array;
  /** default ctx.length when ctx is given */
  ctxOutSize?: number;
  repeat?: number;
  /** BPF_F_TEST_* flags, e.g. TestRunFlags.XDP_LIVE_FRAMES */
  flags?: number;
  cpu?: number;
}

export interface TestRunResult {
  retval: number;
  /** the packet as the program left it (after the last repetition) */
  data: Buffer;
  ctx?: Buffer;
  /** average per repetition */
  durationNs: number;
}

export interface TestRunLoopOptions {
  /** The packet; every call gets a fresh copy of it. */
  data: Buffer | Uint8Array;
  /** Calls, back to back (repeat = 1 each). */
  count: number;
  /** Calls returning anything else are counted as mismatches. */
  expectRetval: number;
  /** Write the call number (mutateStart + i, big-endian u32) at this byte offset before each call. */
  mutateOffset?: number;
  mutateStart?: number;
  /** Pin the calling thread to this CPU for the loop (restored afterwards). */
  cpu?: number;
}

export interface TestRunLoopResult {
  /** The kernel's duration of each call, ns. */
  durations: Uint32Array;
  mismatches: number;
  firstRetval: number;
}

export const TestRunFlags = { RUN_ON_CPU: 1 << 0, XDP_LIVE_FRAMES: 1 << 1 } as const;

export class BpfProgram extends KernelObject {
  readonly name: string;
  readonly id: number;
  readonly type: string;
  readonly tag: string;

  /** @internal Use BpfObject.program, BpfProgram.openPinned or BpfProgram.fromId. */
  constructor(h: Handle) {
    super(h);
    const i = native.progInfo(h);
    this.name = i.name;
    this.id = i.id;
    this.type = i.type;
    this.tag = i.tag;
  }

  static openPinned(path: string): BpfProgram {
    return new BpfProgram(native.openPinned(path, 'prog'));
  }

  static fromId(id: number): BpfProgram {
    return new BpfProgram(native.fromId('prog', id));
  }

  /**
   * BPF_PROG_TEST_RUN `count` times in a C loop (repeat = 1 each, no JavaScript between calls): the
   * per-call durations of a hot loop. Output packets are not copied out.
   */
  testRunLoop(o: TestRunLoopOptions): TestRunLoopResult {
    if (typeof o !== 'object' || o === null) throw new TypeError('testRunLoop: options object required');
    requireBuffer(o.data, 'data');
    return native.progTestRunLoop(handleOf(this), asBuffer(o.data), o.count, o.expectRetval >>> 0, o.mutateOffset ?? -1, o.mutateStart ?? 0, o.cpu ?? -1);
  }

  /** BPF_PROG_TEST_RUN. Note: with repeat > 1 each run sees the packet as the previous one left it. */
  testRun(o: TestRunOptions): TestRunResult {
    if (typeof o !== 'object' || o === null) throw new TypeError('testRun: options object required');
    if (o.data !== undefined) requireBuffer(o.data, 'data');
    if (o.ctx !== undefined) requireBuffer(o.ctx, 'ctx');
    const data = o.data === undefined ? null : asBuffer(o.data);
    const ctx = o.ctx === undefined ? null : asBuffer(o.ctx);
    const dataOut = data ? (o.dataOutSize ?? data.length + 4096) : null;
    const ctxOut = ctx ? (o.ctxOutSize ?? ctx.length) : (o.ctxOutSize ?? null);
    const r = native.progTestRun(handleOf(this), data, dataOut, ctx, ctxOut, o.repeat ?? 1, o.flags ?? 0, o.cpu ?? null);
    const result: TestRunResult = { retval: r.retval, data: r.data ?? Buffer.alloc(0), durationNs: r.durationNs };
    if (r.ctx) result.ctx = r.ctx;
    return result;
  }
}
