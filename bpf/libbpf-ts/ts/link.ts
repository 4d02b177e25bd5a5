// bpf_link attachments (XDP through a link, swapped with update()).
import { XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE, type XdpMode } from './attach.js';
import { KernelObject } from './kernel-object.js';
import { handleOf, native, type Handle } from './native.js';
import type { BpfProgram } from './program.js';

export class BpfLink extends KernelObject {
  readonly id: number;
  readonly type: string;

  private constructor(h: Handle) {
    super(h);
    const i = native.linkInfo(h);
    this.id = i.id;
    this.type = i.type;
  }

  /** Attaches XDP through a bpf_link: lives while the link fd or a pin of it exists, and cannot be
   * replaced through netlink by another tool (EBUSY) — use update() to swap programs. */
  static attachXdp(ifindex: number, prog: BpfProgram, o: { mode: XdpMode }): BpfLink {
    const flags = o?.mode === 'generic' ? XDP_FLAGS_SKB_MODE : o?.mode === 'native' ? XDP_FLAGS_DRV_MODE : undefined;
    if (flags === undefined) throw new TypeError(`mode must be 'native' or 'generic', got ${String(o?.mode)}`);
    return new BpfLink(native.linkCreateXdp(handleOf(prog), ifindex, flags));
  }

  static openPinned(path: string): BpfLink {
    return new BpfLink(native.openPinned(path, 'link'));
  }

  static fromId(id: number): BpfLink {
    return new BpfLink(native.fromId('link', id));
  }

  /** Current program id and (XDP links) interface. */
  info(): { progId: number; ifindex?: number } {
    const i = native.linkInfo(handleOf(this));
    return i.ifindex === undefined ? { progId: i.progId } : { progId: i.progId, ifindex: i.ifindex };
  }

  /** Atomically replaces the program; with `expected`, only if that program is the current one. */
  update(prog: BpfProgram, o?: { expected?: BpfProgram }): void {
    native.linkUpdate(handleOf(this), handleOf(prog), o?.expected ? handleOf(o.expected) : null);
  }

  /** Detaches now, even if pins or other fds of the link exist. */
  detach(): void {
    native.linkDetach(handleOf(this));
  }
}
