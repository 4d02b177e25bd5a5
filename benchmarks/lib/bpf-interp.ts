// Counting executed BPF instructions: an interpreter for a loaded XDP program's xlated code (what the
// kernel JITs, after the verifier inlined map lookups and removed dead code), run on one packet
// against the program's live maps. The count is machine-independent, so it shows a regression
// where timing is noise. Maps are read lazily from the kernel (one element when the program first
// touches it); everything the program writes stays in the interpreter (the kernel maps are never
// changed). The run also yields the verdict and the output frame, which the benchmark compares
// with what the kernel produced for the same packet: an interpreter that went astray is caught.
//
// Kernel-internal shapes the inlined code relies on: an array map's values (or per-CPU pointers,
// or inner-map pointers) start at offsetof(struct bpf_array, value) (from BTF); a hash lookup is
// a call to __htab_map_lookup_elem followed by `r0 += K`, K being where the value sits in the
// element; the per-CPU address move (bpftool shows it as `r0 = r0`) is the identity on one CPU.
import { BpfMap } from '../../bpf/libbpf-ts/index.js';
import { kernelLayout, xlatedProgram, type XInsn } from './xlated.js';

const M64 = (1n << 64n) - 1n;
const HEADROOM = 256;
const FRAME_SIZE = 4096;
const TAILROOM = 320; // struct skb_shared_info, rounded as the kernel does
const XDP_FRAME_SIZE = 40; // bpf_xdp_adjust_head keeps room for struct xdp_frame
const TRACE = () => process.env.XLB_INTERP_TRACE === '1';

class Region {
  readonly bytes: Uint8Array;
  readonly ptrs = new Map<number, Ptr>();
  constructor(
    readonly name: string,
    size: number,
    /** Called before an access touches [off, off + size): fill lazily-read contents. */
    readonly touch?: (off: number, size: number) => void,
  ) {
    this.bytes = new Uint8Array(size);
  }
}

interface Ptr {
  r: Region;
  off: number;
  /** A 32-bit copy of a pointer (`w1 = w3`): good only for a 32-bit difference of two pointers. */
  w32?: boolean;
}
type Val = bigint | Ptr;
const isPtr = (v: Val): v is Ptr => typeof v !== 'bigint';

function rd(r: Region, off: number, size: number): Val {
  if (off < 0 || off + size > r.bytes.length) throw new Error(`read of ${size} bytes at ${off} outside ${r.name} (${r.bytes.length} bytes)`);
  r.touch?.(off, size);
  const stored = r.ptrs.get(off);
  if (stored && (size === 8 || (size === 4 && stored.w32))) return stored;
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(r.bytes[off + i]!);
  return v;
}

function wr(r: Region, off: number, size: number, v: Val): void {
  if (off < 0 || off + size > r.bytes.length) throw new Error(`write of ${size} bytes at ${off} outside ${r.name} (${r.bytes.length} bytes)`);
  r.touch?.(off, size);
  for (const k of [...r.ptrs.keys()]) if (k < off + size && k + 8 > off) r.ptrs.delete(k);
  if (isPtr(v)) {
    // A 32-bit pointer copy (`w1 = w3` spilled) may be stored in 4 bytes; nothing else may.
    if (size !== 8 && !(size === 4 && v.w32)) throw new Error(`pointer stored with ${size} bytes into ${r.name}`);
    r.ptrs.set(off, size === 4 ? v : { r: v.r, off: v.off });
    r.bytes.fill(0xaa, off, off + size);
    return;
  }
  if (false) {
    r.bytes.fill(0xaa, off, off + 8);
    return;
  }
  for (let i = 0; i < size; i++) r.bytes[off + i] = Number((v >> BigInt(8 * i)) & 0xffn);
}

function bytesAt(p: Val, n: number, what: string): Uint8Array {
  if (!isPtr(p)) throw new Error(`${what}: not a pointer`);
  p.r.touch?.(p.off, n);
  if (p.off < 0 || p.off + n > p.r.bytes.length) throw new Error(`${what}: ${n} bytes at ${p.off} outside ${p.r.name}`);
  return p.r.bytes.subarray(p.off, p.off + n);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** One map as the inlined code and the kernel functions see it. */
class MapModel {
  readonly region: Region;
  readonly map: BpfMap;
  readonly elemSize: number;
  /** Hash maps: elements by key (hex), created on first lookup; a value written before any lookup
   *  told where values sit waits as bytes; null = deleted. */
  readonly elements = new Map<string, Region | Uint8Array | null>();
  /** Hash maps: where the value sits in an element (from the `r0 += K` after the lookup call). */
  valueOffset: number | undefined;
  #fetched = new Set<number>();

  constructor(
    readonly id: number,
    readonly machine: Machine,
  ) {
    this.map = BpfMap.fromId(id);
    this.elemSize = Math.ceil(this.map.valueSize / 8) * 8;
    const base = machine.layout.arrayValueOffset;
    const t = this.map.type;
    if (t === 'array' || t === 'percpu_array' || t === 'array_of_maps') {
      const stride = t === 'array' ? this.elemSize : 8;
      this.region = new Region(`map ${this.map.name}`, base + stride * this.map.maxEntries, (off, size) => {
        if (off < base) return;
        for (let i = Math.floor((off - base) / stride); i <= Math.floor((off + size - 1 - base) / stride); i++) this.#fetch(i, base + i * stride);
      });
    } else {
      this.region = new Region(`map ${this.map.name}`, base);
    }
  }

  /** Element i of an array-like map, read from the kernel the first time it is touched. */
  #fetch(i: number, at: number): void {
    if (this.#fetched.has(i) || i >= this.map.maxEntries) return;
    this.#fetched.add(i);
    const key = Buffer.alloc(4);
    key.writeUInt32LE(i);
    if (this.map.type === 'array') {
      const v = this.map.lookup(key);
      if (v) this.region.bytes.set(v, at);
    } else if (this.map.type === 'percpu_array') {
      const v = this.map.lookupPerCpu(key)![0]!;
      const el = new Region(`${this.map.name}[${i}] (cpu 0)`, this.elemSize);
      el.bytes.set(v);
      this.region.ptrs.set(at, { r: el, off: 0 });
    } else {
      const v = this.map.lookup(key);
      if (v) this.region.ptrs.set(at, { r: this.machine.mapModel(v.readUInt32LE(0)).region, off: 0 });
    }
  }

  arrayLookup(key: Uint8Array): Val {
    const i = Buffer.from(key).readUInt32LE(0);
    if (i >= this.map.maxEntries) return 0n;
    const at = this.machine.layout.arrayValueOffset + i * this.elemSize;
    this.#fetch(i, at);
    return { r: this.region, off: at };
  }

  hashElement(key: Uint8Array): Region | null {
    const k = hex(key);
    const known = this.elements.get(k);
    if (known instanceof Uint8Array) {
      const el = this.#newElement(k, known);
      this.elements.set(k, el);
      return el;
    }
    if (known !== undefined) return known;
    const v = this.map.lookup(Buffer.from(key));
    const el = v ? this.#newElement(k, v) : null;
    this.elements.set(k, el);
    return el;
  }

  #newElement(k: string, value: Uint8Array): Region {
    if (this.valueOffset === undefined) throw new Error(`map ${this.map.name}: element layout unknown (no lookup seen)`);
    const el = new Region(`${this.map.name}{${k.slice(0, 16)}…}`, this.valueOffset + this.elemSize);
    el.bytes.set(value, this.valueOffset);
    return el;
  }

  hashUpdate(key: Uint8Array, value: Uint8Array, flags: number): number {
    const k = hex(key);
    const known = this.elements.get(k);
    const exists = known === undefined ? this.map.lookup(Buffer.from(key)) !== undefined : known !== null;
    if (flags === 1 && exists) return -17; // BPF_NOEXIST: EEXIST
    if (flags === 2 && !exists) return -2; // BPF_EXIST: ENOENT
    // The kernel links a new element (a packet holding the old one keeps reading the old one).
    this.elements.set(k, this.valueOffset === undefined ? Uint8Array.from(value) : this.#newElement(k, value));
    return 0;
  }

  close(): void {
    this.map.close();
  }
}

export interface InterpResult {
  retval: number;
  /** The frame as the program left it. */
  frame: Buffer;
  /** Executed instructions (an ld_imm64 counts once). */
  instructions: number;
  /** Executed instructions per xlated index, for profiles. */
  perPc: Map<number, number>;
  /** Kernel functions called, by name, with counts. */
  calls: Map<string, number>;
}

interface Frame {
  ret: number;
  saved: Val[];
  stack: Region;
}

/** The interpreter for one program; reusable for many packets (maps are re-read per packet). */
export class Machine {
  readonly layout = kernelLayout();
  readonly insns: XInsn[];
  #maps = new Map<number, MapModel>();
  #clock = 1_000_000_000n;

  constructor(programId: number) {
    this.insns = xlatedProgram(programId);
  }

  mapModel(id: number): MapModel {
    let m = this.#maps.get(id);
    if (!m) {
      m = new MapModel(id, this);
      this.#maps.set(id, m);
    }
    return m;
  }

  close(): void {
    for (const m of this.#maps.values()) m.close();
    this.#maps.clear();
  }

  /** Runs one packet through the program; maps start from their kernel contents every time. */
  run(packet: Buffer, o: { maxInstructions?: number } = {}): InterpResult {
    for (const m of this.#maps.values()) m.close();
    this.#maps.clear();
    const pkt = new Region('packet', FRAME_SIZE);
    pkt.bytes.set(packet, HEADROOM);
    const rxq = new Region('xdp_rxq_info', 64);
    const ctx = new Region('xdp_buff', 56);
    ctx.ptrs.set(0, { r: pkt, off: HEADROOM });
    ctx.ptrs.set(8, { r: pkt, off: HEADROOM + packet.length });
    ctx.ptrs.set(16, { r: pkt, off: HEADROOM });
    ctx.ptrs.set(24, { r: pkt, off: 0 });
    ctx.ptrs.set(32, { r: rxq, off: 0 });
    const regs: Val[] = new Array<Val>(11).fill(0n);
    const newStack = () => new Region('stack', 512);
    let stack = newStack();
    regs[1] = { r: ctx, off: 0 };
    regs[10] = { r: stack, off: 512 };
    const frames: Frame[] = [];
    const perPc = new Map<number, number>();
    const calls = new Map<string, number>();
    const max = o.maxInstructions ?? 1_000_000;
    let count = 0;
    let pc = 0;
    const insns = this.insns;

    const scalar = (v: Val, what: string): bigint => {
      if (isPtr(v)) throw new Error(`pc ${pc} (${insns[pc]!.text}): ${what} is a pointer`);
      return v;
    };
    const signed = (v: bigint, bits = 64) => BigInt.asIntN(bits, v);

    for (;;) {
      if (++count > max) throw new Error(`more than ${max} instructions`);
      try {
      const ins = insns[pc];
      if (!ins) throw new Error(`pc ${pc} outside the program`);
      perPc.set(pc, (perPc.get(pc) ?? 0) + 1);
      if (TRACE()) console.error(pc, ins.text, regs.slice(0, 10).map((v) => (isPtr(v) ? `${v.r.name}+${v.off}` : v.toString(16))).join(' '));
      const cls = ins.code & 0x07;
      const op = ins.code & 0xf0;
      const useX = (ins.code & 0x08) !== 0;
      const imm = BigInt(ins.imm) & M64;
      const immS = BigInt(ins.imm);

      if (cls === 0x07 || cls === 0x04) {
        // ALU64 / ALU (32-bit)
        const is64 = cls === 0x07;
        const d = regs[ins.dst]!;
        const srcVal: Val = useX ? regs[ins.src]! : is64 ? imm : BigInt(ins.imm >>> 0);
        if (op === 0xb0) {
          // mov; off −1 on a 64-bit register move is the kernel's per-CPU address move
          // (BPF_ADDR_PERCPU), the identity on the one CPU modelled here
          if (is64) {
            if (useX && ins.off !== 0 && ins.off !== -1) {
              const bits = ins.off;
              regs[ins.dst] = BigInt.asUintN(64, BigInt.asIntN(bits, scalar(srcVal, 'movsx source')));
            } else regs[ins.dst] = srcVal;
          } else if (isPtr(srcVal) && !useX) {
            throw new Error(`pc ${pc}: mov32 of a pointer immediate`);
          } else if (isPtr(srcVal)) {
            regs[ins.dst] = { r: srcVal.r, off: srcVal.off, w32: true };
          } else {
            let v = scalar(srcVal, 'mov32 source') & 0xffffffffn;
            if (useX && ins.off !== 0) v = BigInt.asUintN(32, BigInt.asIntN(ins.off, v));
            regs[ins.dst] = v;
          }
        } else if (op === 0xd0) {
          // byte swaps
          const v = scalar(d, 'bswap operand');
          const bits = ins.imm;
          const toBe = (ins.code & 0x08) !== 0 || is64; // ALU64 END = unconditional bswap
          let out = v & ((1n << BigInt(bits)) - 1n);
          if (toBe) {
            let s = 0n;
            for (let i = 0; i < bits / 8; i++) s = (s << 8n) | ((v >> BigInt(8 * i)) & 0xffn);
            out = s;
          }
          regs[ins.dst] = out;
        } else if (isPtr(d) || isPtr(srcVal)) {
          if (!is64) {
            // clang computes `data_end - data` as a 32-bit difference of two 32-bit pointer copies
            if (op === 0x10 && isPtr(d) && isPtr(srcVal) && d.r === srcVal.r) {
              regs[ins.dst] = BigInt(d.off - srcVal.off) & 0xffffffffn;
              pc++;
              continue;
            }
            throw new Error(`pc ${pc}: 32-bit arithmetic on a pointer (${ins.text})`);
          }
          if (op === 0x00 && isPtr(d) && !isPtr(srcVal)) regs[ins.dst] = { r: d.r, off: d.off + Number(signed(srcVal)) };
          else if (op === 0x00 && !isPtr(d) && isPtr(srcVal)) regs[ins.dst] = { r: srcVal.r, off: srcVal.off + Number(signed(d)) };
          else if (op === 0x10 && isPtr(d) && !isPtr(srcVal)) regs[ins.dst] = { r: d.r, off: d.off - Number(signed(srcVal)) };
          else if (op === 0x10 && isPtr(d) && isPtr(srcVal) && d.r === srcVal.r) regs[ins.dst] = BigInt.asUintN(64, BigInt(d.off - srcVal.off));
          else throw new Error(`pc ${pc}: unsupported pointer arithmetic (${ins.text})`);
        } else {
          const bits = is64 ? 64 : 32;
          const mask = is64 ? M64 : 0xffffffffn;
          const a = d & mask;
          const b = srcVal & mask;
          const sh = b & BigInt(bits - 1);
          let v: bigint;
          switch (op) {
            case 0x00: v = a + b; break;
            case 0x10: v = a - b; break;
            case 0x20: v = a * b; break;
            case 0x30:
              v = b === 0n ? 0n : ins.off === 1 ? BigInt.asUintN(bits, signed(a, bits) / signed(b, bits)) : a / b;
              break;
            case 0x40: v = a | b; break;
            case 0x50: v = a & b; break;
            case 0x60: v = a << sh; break;
            case 0x70: v = a >> sh; break;
            case 0x80: v = -a; break;
            case 0x90:
              v = b === 0n ? a : ins.off === 1 ? BigInt.asUintN(bits, signed(a, bits) % signed(b, bits)) : a % b;
              break;
            case 0xa0: v = a ^ b; break;
            case 0xc0: v = BigInt.asUintN(bits, signed(a, bits) >> sh); break;
            default: throw new Error(`pc ${pc}: ALU op 0x${op.toString(16)}`);
          }
          regs[ins.dst] = v & mask;
        }
        pc++;
        continue;
      }

      if (cls === 0x05 || cls === 0x06) {
        const is32 = cls === 0x06;
        if (op === 0x00) {
          pc += 1 + (is32 ? ins.imm : ins.off); // ja / gotol
          continue;
        }
        if (op === 0x80) {
          if (ins.callOffset !== undefined) {
            frames.push({ ret: pc + 1, saved: regs.slice(6, 10), stack });
            if (frames.length > 8) throw new Error('call depth');
            stack = newStack();
            regs[10] = { r: stack, off: 512 };
            pc += 1 + ins.callOffset;
            continue;
          }
          const name = ins.callee ?? `#${ins.imm}`;
          calls.set(name, (calls.get(name) ?? 0) + 1);
          regs[0] = this.#call(name, regs, pc);
          for (let r = 1; r <= 5; r++) regs[r] = 0xdeadn;
          pc++;
          continue;
        }
        if (op === 0x90) {
          const f = frames.pop();
          if (!f) {
            const data = rd(ctx, 0, 8) as Ptr;
            const end = rd(ctx, 8, 8) as Ptr;
            return {
              retval: Number(scalar(regs[0]!, 'r0') & 0xffffffffn),
              frame: Buffer.from(pkt.bytes.subarray(data.off, end.off)),
              instructions: count,
              perPc,
              calls,
            };
          }
          for (let r = 6; r <= 9; r++) regs[r] = f.saved[r - 6]!;
          stack = f.stack;
          regs[10] = { r: stack, off: 512 };
          pc = f.ret;
          continue;
        }
        const a = regs[ins.dst]!;
        const b: Val = useX ? regs[ins.src]! : immS & M64;
        let x: bigint;
        let y: bigint;
        if (isPtr(a) || isPtr(b)) {
          if (isPtr(a) && isPtr(b)) {
            if (a.r !== b.r) throw new Error(`pc ${pc}: comparing pointers into ${a.r.name} and ${b.r.name}`);
            x = BigInt(a.off);
            y = BigInt(b.off);
          } else {
            // A pointer against a number: only a NULL check makes sense (a pointer is never 0).
            const n = isPtr(a) ? (b as bigint) : (a as bigint);
            if (n !== 0n) throw new Error(`pc ${pc}: pointer compared with ${n} (${ins.text})`);
            x = isPtr(a) ? 1n : 0n;
            y = isPtr(b) ? 1n : 0n;
          }
        } else {
          const mask = is32 ? 0xffffffffn : M64;
          x = a & mask;
          y = b & mask;
        }
        const bits = is32 ? 32 : 64;
        const sx = signed(x, bits);
        const sy = signed(y, bits);
        let taken: boolean;
        switch (op) {
          case 0x10: taken = x === y; break;
          case 0x20: taken = x > y; break;
          case 0x30: taken = x >= y; break;
          case 0x40: taken = (x & y) !== 0n; break;
          case 0x50: taken = x !== y; break;
          case 0x60: taken = sx > sy; break;
          case 0x70: taken = sx >= sy; break;
          case 0xa0: taken = x < y; break;
          case 0xb0: taken = x <= y; break;
          case 0xc0: taken = sx < sy; break;
          case 0xd0: taken = sx <= sy; break;
          default: throw new Error(`pc ${pc}: jump op 0x${op.toString(16)}`);
        }
        pc += taken ? 1 + ins.off : 1;
        continue;
      }

      const size = [4, 2, 1, 8][(ins.code >> 3) & 3]!;
      const mode = ins.code & 0xe0;
      if (cls === 0x00) {
        if (ins.code !== 0x18) throw new Error(`pc ${pc}: LD 0x${ins.code.toString(16)}`);
        if (ins.src === 1 || ins.src === 5) regs[ins.dst] = { r: this.mapModel(ins.mapId!).region, off: 0 };
        else if (ins.src === 2 || ins.src === 6) {
          regs[ins.dst] = { r: this.mapModel(ins.mapId!).region, off: this.layout.arrayValueOffset + ins.imm2 };
        } else regs[ins.dst] = ((BigInt(ins.imm2 >>> 0) << 32n) | BigInt(ins.imm >>> 0)) & M64;
        pc += 2;
        count; // the second slot is not executed
        continue;
      }
      if (cls === 0x01) {
        const p = regs[ins.src]!;
        if (!isPtr(p)) throw new Error(`pc ${pc}: load through a number (${ins.text})`);
        let v = rd(p.r, p.off + ins.off, size);
        if (mode === 0x80 && !isPtr(v)) v = BigInt.asUintN(64, BigInt.asIntN(size * 8, v));
        regs[ins.dst] = v;
        pc++;
        continue;
      }
      if (cls === 0x02 || cls === 0x03) {
        const p = regs[ins.dst]!;
        if (!isPtr(p)) throw new Error(`pc ${pc}: store through a number (${ins.text})`);
        if (mode === 0xc0) {
          // atomics: add / or / and / xor (with or without fetch), xchg, cmpxchg
          const old = scalar(rd(p.r, p.off + ins.off, size), 'atomic operand');
          const v = scalar(regs[ins.src]!, 'atomic source');
          const mask = size === 8 ? M64 : 0xffffffffn;
          const aop = ins.imm & 0xf0;
          let nv: bigint;
          if (ins.imm === 0xe1) nv = v;
          else if (ins.imm === 0xf1) nv = old === (scalar(regs[0]!, 'r0') & mask) ? v : old;
          else nv = aop === 0x00 ? old + v : aop === 0x40 ? old | v : aop === 0x50 ? old & v : old ^ v;
          wr(p.r, p.off + ins.off, size, nv & mask);
          if (ins.imm === 0xf1) regs[0] = old;
          else if (ins.imm & 1) regs[ins.src] = old;
        } else {
          wr(p.r, p.off + ins.off, size, cls === 0x02 ? immS & (size === 8 ? M64 : (1n << BigInt(size * 8)) - 1n) : regs[ins.src]!);
        }
        pc++;
        continue;
      }
      throw new Error(`pc ${pc}: class ${cls}`);
      } catch (e) {
        const msg = (e as Error).message;
        throw new Error(msg.startsWith('pc ') ? msg : `pc ${pc} (${insns[pc]?.text}): ${msg}`);
      }
    }
  }

  /** The kernel functions and helpers the xlated code calls. */
  #call(name: string, regs: Val[], pc: number): Val {
    const arg = (i: number) => regs[i]!;
    const num = (i: number) => {
      const v = arg(i);
      if (isPtr(v)) throw new Error(`${name}: argument ${i} is a pointer`);
      return v;
    };
    const mapOf = (v: Val): MapModel => {
      if (!isPtr(v)) throw new Error(`${name}: no map pointer`);
      for (const m of this.#maps.values()) if (m.region === v.r) return m;
      throw new Error(`${name}: ${v.r.name} is not a map`);
    };
    switch (name) {
      case '__htab_map_lookup_elem': {
        const m = mapOf(arg(1));
        m.valueOffset ??= this.#valueOffsetAfter(pc);
        const el = m.hashElement(bytesAt(arg(2), m.map.keySize, name));
        return el ? { r: el, off: 0 } : 0n;
      }
      case 'htab_map_update_elem':
      case 'htab_lru_map_update_elem': {
        const m = mapOf(arg(1));
        return BigInt.asUintN(64, BigInt(m.hashUpdate(bytesAt(arg(2), m.map.keySize, name), bytesAt(arg(3), m.map.valueSize, name), Number(num(4)))));
      }
      case 'htab_map_delete_elem':
      case 'htab_lru_map_delete_elem': {
        const m = mapOf(arg(1));
        const k = bytesAt(arg(2), m.map.keySize, name);
        const had = m.hashElement(k) !== null && m.hashElement(k) !== undefined;
        m.elements.set(hex(k), null);
        return had ? 0n : BigInt.asUintN(64, -2n);
      }
      case 'array_map_lookup_elem':
      case 'percpu_array_map_lookup_elem': {
        const m = mapOf(arg(1));
        const v = m.arrayLookup(bytesAt(arg(2), 4, name));
        if (m.map.type === 'percpu_array' && isPtr(v)) return rd(v.r, v.off, 8);
        return v;
      }
      case 'array_map_update_elem': {
        const m = mapOf(arg(1));
        const p = m.arrayLookup(bytesAt(arg(2), 4, name));
        if (!isPtr(p)) return BigInt.asUintN(64, -7n);
        p.r.bytes.set(bytesAt(arg(3), m.map.valueSize, name), p.off);
        return 0n;
      }
      case 'bpf_ktime_get_ns':
      case 'bpf_ktime_get_boot_ns':
      case 'bpf_ktime_get_coarse_ns':
        this.#clock += 1000n;
        return this.#clock;
      case 'bpf_jiffies64':
        return this.#clock / 4_000_000n;
      case 'bpf_user_rnd_u32':
      case 'bpf_get_prandom_u32':
        return BigInt(Math.floor(Math.random() * 2 ** 32));
      case 'bpf_get_smp_processor_id':
        return 0n;
      case 'bpf_csum_diff': {
        const fromSize = Number(num(2));
        const toSize = Number(num(4));
        let sum = num(5) & 0xffffffffn;
        const add = (b: Uint8Array, sign: 1n | -1n) => {
          for (let i = 0; i < b.length; i += 4) {
            const w = BigInt(b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16)) + (BigInt(b[i + 3]!) << 24n);
            sum += sign > 0 ? w : (~w & 0xffffffffn);
          }
        };
        if (fromSize) add(bytesAt(arg(1), fromSize, name), -1n);
        if (toSize) add(bytesAt(arg(3), toSize, name), 1n);
        while (sum > 0xffffffffn) sum = (sum & 0xffffffffn) + (sum >> 32n);
        return sum;
      }
      case 'bpf_xdp_adjust_head':
      case 'bpf_xdp_adjust_tail': {
        const ctx = arg(1);
        if (!isPtr(ctx)) throw new Error(`${name}: no ctx`);
        const delta = Number(BigInt.asIntN(32, num(2)));
        const data = rd(ctx.r, 0, 8) as Ptr;
        const end = rd(ctx.r, 8, 8) as Ptr;
        if (name === 'bpf_xdp_adjust_head') {
          const n = data.off + delta;
          if (n < XDP_FRAME_SIZE || n > end.off - 14) return BigInt.asUintN(64, -22n);
          wr(ctx.r, 0, 8, { r: data.r, off: n });
          wr(ctx.r, 16, 8, { r: data.r, off: n });
        } else {
          const n = end.off + delta;
          if (n > FRAME_SIZE - TAILROOM || n < data.off + 14) return BigInt.asUintN(64, -22n);
          wr(ctx.r, 8, 8, { r: data.r, off: n });
        }
        return 0n;
      }
      case 'bpf_xdp_load_bytes': {
        const ctx = arg(1);
        if (!isPtr(ctx)) throw new Error(`${name}: no ctx`);
        const data = rd(ctx.r, 0, 8) as Ptr;
        const off = Number(num(2));
        const len = Number(num(4));
        bytesAt(arg(3), len, name).set(data.r.bytes.subarray(data.off + off, data.off + off + len));
        return 0n;
      }
      case 'bpf_ringbuf_output':
        return 0n;
      default:
        throw new Error(`kernel function ${name} is not emulated`);
    }
  }

  /** K in the `r0 += K` that follows a hash lookup call at `pc` (the value's place in an element). */
  #valueOffsetAfter(pc: number): number {
    for (let i = pc + 1; i < pc + 8 && i < this.insns.length; i++) {
      const x = this.insns[i]!;
      if (x.code === 0x07 && x.dst === 0) return x.imm;
    }
    throw new Error(`pc ${pc}: no value offset after __htab_map_lookup_elem`);
  }
}

/** Instructions per source line (or function), most first: where a path spends its instructions. */
export function profile(m: Machine, r: InterpResult): { line: string; instructions: number }[] {
  const byLine = new Map<string, number>();
  for (const [pc, n] of r.perPc) {
    const line = (m.insns[pc]!.src_line ?? '?').trim();
    byLine.set(line, (byLine.get(line) ?? 0) + n);
  }
  return [...byLine.entries()].map(([line, instructions]) => ({ line, instructions })).sort((a, b) => b.instructions - a.instructions);
}
