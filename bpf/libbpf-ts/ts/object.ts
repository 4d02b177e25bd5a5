// BPF ELF objects: open → configure (constants, map sizes, reused maps) → load → use.
import { asBuffer, encodeInteger, handleOf, handles, native, type Handle } from './native.js';
import { BpfMap } from './map.js';
import { BpfProgram } from './program.js';

/** A BPF ELF object: open → configure (constants, map sizes, reused maps) → load → use. */
export class BpfObject {
  readonly path: string;
  #closed = false;
  #programs = new Map<string, BpfProgram>();
  #maps = new Map<string, BpfMap>();

  private constructor(h: Handle, path: string) {
    handles.set(this, h);
    this.path = path;
  }

  static open(path: string): BpfObject {
    return new BpfObject(native.objOpen(path), path);
  }

  /**
   * Sets a global variable before load: a `const volatile` in .rodata (a load-time constant the
   * verifier sees as fixed), or a .data/.bss variable's initial value. Found by name through BTF.
   * Numbers/bigints/booleans are written little-endian with the variable's size; a Buffer must
   * have exactly that size.
   */
  setConst(name: string, value: Buffer | Uint8Array | number | bigint | boolean): void {
    const h = handleOf(this);
    if (value instanceof Uint8Array) {
      native.objSetConst(h, name, asBuffer(value));
      return;
    }
    if (typeof value !== 'number' && typeof value !== 'bigint' && typeof value !== 'boolean') {
      throw new TypeError(`setConst "${name}": value must be a Buffer, number, bigint or boolean`);
    }
    const { size } = native.objConstInfo(h, name);
    native.objSetConst(h, name, encodeInteger(value, size, `setConst "${name}"`));
  }

  /** Size (bytes), section and offset of a global variable, e.g. to build a Buffer value. */
  constInfo(name: string): { section: string; offset: number; size: number } {
    return native.objConstInfo(handleOf(this), name);
  }

  setMapMaxEntries(map: string, n: number): void {
    native.objSetMaxEntries(handleOf(this), map, n, false);
  }

  /** Makes `map` use an existing kernel map (e.g. a pinned one) instead of creating a new one. */
  reuseMap(map: string, existing: BpfMap): void {
    native.objReuseMap(handleOf(this), map, handleOf(existing));
  }

  /** Excludes (false) or includes a program from loading. */
  setAutoload(program: string, on: boolean): void {
    native.objSetAutoload(handleOf(this), program, on);
  }

  /** Loads maps and programs into the kernel; BpfError with .verifierLog if the verifier refuses. */
  load(): void {
    native.objLoad(handleOf(this));
  }

  /** A loaded program by its C function name. Closed with the object. */
  program(name: string): BpfProgram {
    let p = this.#programs.get(name);
    if (!p || p.closed) {
      p = new BpfProgram(native.objProgram(handleOf(this), name));
      this.#programs.set(name, p);
    }
    return p;
  }

  /** A loaded map by name (also the datasec maps, e.g. '.bss' or '<obj>.bss'). Closed with the object. */
  map(name: string): BpfMap {
    let m = this.#maps.get(name);
    if (!m || m.closed) {
      m = new BpfMap(native.objMap(handleOf(this), name));
      this.#maps.set(name, m);
    }
    return m;
  }

  programNames(): string[] {
    return native.objProgramNames(handleOf(this));
  }

  mapNames(): string[] {
    return native.objMapNames(handleOf(this));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Releases the object and every program/map handle obtained from it. Idempotent. Pins and
   * netlink attachments stay in the kernel. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#programs.values()) p.close();
    for (const m of this.#maps.values()) m.close();
    this.#programs.clear();
    this.#maps.clear();
    native.objClose(handleOf(this));
  }
}
