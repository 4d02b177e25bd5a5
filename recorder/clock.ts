// Boot time → wall clock. Ring records carry bpf_ktime_get_boot_ns() (CLOCK_BOOTTIME: keeps
// counting across suspend); pcap wants CLOCK_REALTIME. Node reads neither: process.hrtime is
// CLOCK_MONOTONIC and Date.now() is CLOCK_REALTIME in whole milliseconds. So the offset
// REALTIME − BOOTTIME is measured in two exact-enough steps:
//   1. BOOTTIME − MONOTONIC: one BPF_PROG_TEST_RUN of bpf/probes/xlb_rec_clock.c reads MONOTONIC,
//      BOOTTIME, MONOTONIC in a row (uncertainty: half the gap, tens of nanoseconds).
//   2. REALTIME − MONOTONIC: spin until Date.now() ticks to the next millisecond; the tick is the
//      instant REALTIME crossed that millisecond, bracketed by process.hrtime reads (uncertainty:
//      half a loop turn, typically < 1 µs). Best of a few ticks.
// (/proc/uptime is BOOTTIME with 10 ms resolution; timeOrigin + performance.now() ignores clock
// steps after process start.) A measurement is valid until REALTIME is stepped (settimeofday, NTP
// step) or the machine suspends; the recorder re-measures when a recording starts and periodically.
import { BpfObject, type BpfProgram } from '../bpf/libbpf-ts/index.js';
import { bpfObjectPath } from '../bpf/objects.js';

export interface ClockOffset {
  /** REALTIME − BOOTTIME, nanoseconds. wall = boot + offsetNs. */
  offsetNs: bigint;
  /** Bound on the measurement error of offsetNs, nanoseconds. */
  uncertaintyNs: number;
  /** process.hrtime.bigint() when measured. */
  measuredAtMonoNs: bigint;
}

/** BOOTTIME − MONOTONIC from the kernel, via one test run of the clock probe. */
export function bootMinusMono(prog: BpfProgram): { diffNs: bigint; uncertaintyNs: number } {
  const r = prog.testRun({ data: Buffer.alloc(64), dataOutSize: 64, repeat: 1 });
  if (r.retval !== 2 /* XDP_PASS */) throw new Error(`clock probe returned ${r.retval}`);
  const monoBefore = r.data.readBigUInt64LE(0);
  const boot = r.data.readBigUInt64LE(8);
  const monoAfter = r.data.readBigUInt64LE(16);
  return { diffNs: boot - (monoBefore + monoAfter) / 2n, uncertaintyNs: Number(monoAfter - monoBefore) / 2 + 1 };
}

/** REALTIME − MONOTONIC at the best of `ticks` millisecond ticks of Date.now(). */
export function realMinusMono(ticks = 3): { diffNs: bigint; uncertaintyNs: number } {
  let best: { diffNs: bigint; uncertaintyNs: number } | undefined;
  for (let n = 0; n < ticks; n++) {
    let prevStart = process.hrtime.bigint();
    let prev = Date.now();
    for (;;) {
      const start = process.hrtime.bigint();
      const now = Date.now();
      const end = process.hrtime.bigint();
      if (now !== prev) {
        // REALTIME reached `now` ms after the previous read began and before this one ended.
        const half = (end - prevStart) / 2n;
        const sample = { diffNs: BigInt(now) * 1_000_000n - (prevStart + half), uncertaintyNs: Number(half) + 1 };
        if (!best || sample.uncertaintyNs < best.uncertaintyNs) best = sample;
        break;
      }
      prevStart = start;
      prev = now;
    }
  }
  return best!;
}

/** Measures REALTIME − BOOTTIME with a clock probe program (see BootClock for the owning form). */
export function measureOffset(prog: BpfProgram): ClockOffset {
  const boot = bootMinusMono(prog);
  const real = realMinusMono();
  return {
    offsetNs: real.diffNs - boot.diffNs,
    uncertaintyNs: Math.ceil(real.uncertaintyNs + boot.uncertaintyNs),
    measuredAtMonoNs: process.hrtime.bigint(),
  };
}

/** Owns the loaded clock probe and the current offset. */
export class BootClock {
  readonly #object: BpfObject;
  readonly #prog: BpfProgram;
  #offset: ClockOffset;

  constructor(objectPath = bpfObjectPath('xlb_rec_clock')) {
    this.#object = BpfObject.open(objectPath);
    try {
      this.#object.load();
      this.#prog = this.#object.program('xlb_rec_clock');
      this.#offset = measureOffset(this.#prog);
    } catch (e) {
      this.#object.close();
      throw e;
    }
  }

  /** Measures again (costs up to a few milliseconds of busy waiting for Date.now() ticks). */
  refresh(): ClockOffset {
    this.#offset = measureOffset(this.#prog);
    return this.#offset;
  }

  get offset(): ClockOffset {
    return this.#offset;
  }

  /** Wall-clock nanoseconds of a CLOCK_BOOTTIME timestamp. */
  toWallNs(bootNs: bigint): bigint {
    return bootNs + this.#offset.offsetNs;
  }

  close(): void {
    this.#object.close();
  }
}
