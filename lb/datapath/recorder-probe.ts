// Does this kernel have what the packet recorder needs? The load balancer itself uses helpers that
// are all in Linux 5.15; the recorder adds bpf_xdp_load_bytes (5.18) and bpf_loop (5.17). The
// answer decides the default of the `recorder` load option: without them the program is loaded
// with LB_F_NO_RECORDER, which the verifier prunes so it never meets those helper calls.
//
// Probed by loading bpf/probes/xlb_rec_probe.c (which calls them) rather than by comparing os.release()
// with 5.18: distribution kernels backport BPF helpers under older version numbers, and the
// verifier is the authority on what it accepts. One tiny program load, once per process.
import { release } from 'node:os';
import { BpfError, BpfObject } from '../../bpf/libbpf-ts/index.js';
import { bpfObjectPath } from '../../bpf/objects.js';

export interface RecorderSupport {
  available: boolean;
  /** Why not, when not available (names the helpers, the kernel and what the verifier said). */
  reason?: string;
}

export const RECORDER_HELPERS = 'bpf_xdp_load_bytes (Linux 5.18) and bpf_loop (5.17)';

let cached: RecorderSupport | undefined;

/** The kernel's answer, probed on first use and then remembered (the kernel does not change). */
export function recorderSupport(): RecorderSupport {
  cached ??= probeRecorderSupport();
  return cached;
}

/**
 * Loads the probe object (default build/bpf/xlb_rec_probe.o) and unloads it again. A load the
 * kernel refuses means "not available"; an object that cannot be opened is a build problem and
 * throws.
 */
export function probeRecorderSupport(objectPath = bpfObjectPath('xlb_rec_probe')): RecorderSupport {
  const obj = BpfObject.open(objectPath);
  try {
    obj.load();
    return { available: true };
  } catch (e) {
    if (!(e instanceof BpfError)) throw e;
    return { available: false, reason: `this kernel (Linux ${release()}) lacks ${RECORDER_HELPERS}: ${kernelSays(e)}` };
  } finally {
    obj.close();
  }
}

/** The verifier's verdict: the last line of its log before the "processed N insns" summary (on
 *  5.15 "invalid func unknown#189"); else the error itself. */
function kernelSays(e: BpfError): string {
  const lines = (e.verifierLog ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^processed \d+ insns/.test(l));
  const last = lines.at(-1);
  return last ? `the verifier says "${last}" (${e.code})` : e.message;
}
