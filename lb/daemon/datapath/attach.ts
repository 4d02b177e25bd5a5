// Attaching the datapath to an interface without a gap in service:
// - our program already attached (adopted): nothing to do;
// - nothing attached: attach, refusing to overwrite anything that appeared meanwhile;
// - a program of ours attached (the pinned one, or one in the attach record): replace it
//   atomically (XDP_FLAGS_REPLACE with its id), in the mode it runs in — never detach-then-attach;
// - someone else's program: refuse, naming it.
// Native mode is the default; when the driver cannot do native XDP the attach falls back to
// generic mode, and says so loudly (log + status).
import { BpfError, BpfProgram, xdpAttach, xdpQuery, type XdpMode } from '../../../bpf/libbpf-ts/index.js';

export interface AttachOutcome {
  mode: XdpMode;
  programId: number;
  /** What happened: already attached, attached, or replaced program N. */
  action: 'kept' | 'attached' | 'replaced';
  replacedProgId?: number;
  /** Native was wanted but the driver refused it: running in generic mode. */
  fallback: boolean;
  fallbackReason?: string;
}

export interface AttachRequest {
  ifindex: number;
  ifname: string;
  program: BpfProgram;
  mode: XdpMode;
  /** Program ids that are ours to replace. */
  ours: ReadonlySet<number>;
}

function describeProgram(id: number): string {
  try {
    const p = BpfProgram.fromId(id);
    const text = `program ${id} (${p.name || 'unnamed'}, tag ${p.tag})`;
    p.close();
    return text;
  } catch {
    return `program ${id}`;
  }
}

/** Which program runs on the interface, and in which mode ('none' when nothing). */
export function attachedProgram(ifindex: number): { progId: number; mode: XdpMode | 'none' | 'other' } {
  const q = xdpQuery(ifindex);
  if (q.nativeProgId) return { progId: q.nativeProgId, mode: 'native' };
  if (q.genericProgId) return { progId: q.genericProgId, mode: 'generic' };
  if (q.progId) return { progId: q.progId, mode: 'other' };
  return { progId: 0, mode: 'none' };
}

export function attachDatapath(r: AttachRequest): AttachOutcome {
  const cur = attachedProgram(r.ifindex);
  if (cur.progId === r.program.id && cur.mode !== 'other' && cur.mode !== 'none') {
    return { mode: cur.mode, programId: cur.progId, action: 'kept', fallback: false };
  }
  if (cur.progId !== 0) {
    if (!r.ours.has(cur.progId) || cur.mode === 'other' || cur.mode === 'none') {
      throw new Error(
        `interface ${r.ifname} already runs XDP ${describeProgram(cur.progId)} in ${cur.mode} mode, which is not this ` +
          "instance's; detach it (ip link set dev IFACE xdp off) or use another interface",
      );
    }
    xdpAttach(r.ifindex, r.program, { mode: cur.mode, replaceProgId: cur.progId });
    return { mode: cur.mode, programId: r.program.id, action: 'replaced', replacedProgId: cur.progId, fallback: false };
  }
  try {
    xdpAttach(r.ifindex, r.program, { mode: r.mode, noReplace: true });
    return { mode: r.mode, programId: r.program.id, action: 'attached', fallback: false };
  } catch (e) {
    const driverRefused = e instanceof BpfError && (e.code === 'EOPNOTSUPP' || e.code === 'ENOTSUPP' || e.code === 'EINVAL');
    if (r.mode !== 'native' || !driverRefused) throw e;
    xdpAttach(r.ifindex, r.program, { mode: 'generic', noReplace: true });
    return { mode: 'generic', programId: r.program.id, action: 'attached', fallback: true, fallbackReason: (e as Error).message };
  }
}
