// What maps, programs and links share: one owned fd, bpffs pins, explicit idempotent release.
import { handleOf, handles, native, type Handle } from './native.js';

/** What maps, programs and links share: one owned fd, bpffs pins, explicit idempotent release. */
export abstract class KernelObject {
  #closed = false;

  protected constructor(h: Handle) {
    handles.set(this, h);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Pins at a bpffs path (its directory must exist). */
  pin(path: string): void {
    native.pin(handleOf(this), path);
  }

  /** Removes a bpffs pin (refuses paths outside bpffs). */
  unpin(path: string): void {
    native.unpin(path);
  }

  /** Releases this handle's fd. Idempotent. The kernel object lives on while pinned, attached or
   * held elsewhere (a link's attachment ends only when no pin or fd holds it). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    native.fdClose(handleOf(this));
  }
}
