// Declarative layouts of C structs shared with BPF programs (map keys and values, ring records).
// A struct is declared once, field by field in C order; offsets, alignment padding and the size
// follow the C rules (each field at a multiple of its alignment, the size a multiple of the
// largest), and encode/decode are derived from the declaration. Nothing else in xlb writes literal
// byte offsets. Tests compare every declared struct with the BTF of the object that defines it
// (field names are the C names: camelCase here, snake_case there, or given explicitly).
//
//   const BackendValue = struct('backend_value', {
//     addr: bytes(16, 4), family: u8, flags: u8, weight: u16, serviceId: u32,
//   });
//   BackendValue.size                        // 24
//   BackendValue.encode({ addr, family: 4, flags: 1, weight: 100, serviceId: 7 })  // Buffer
//   BackendValue.decode(buf).serviceId       // 7
//
// Integers are in host byte order (little-endian, the kernel's on every platform xlb supports),
// except be16/be32, which hold network-order numbers (ports); their values are host numbers.

export interface FieldType<T> {
  readonly size: number;
  readonly align: number;
  write(b: Buffer, off: number, v: T): void;
  read(b: Buffer, off: number): T;
}

/** A field that takes space but carries no value (explicit C padding such as `__u8 pad[3]`). */
export interface PadType extends FieldType<undefined> {
  readonly pad: true;
}

function int(size: 1 | 2 | 4, be = false): FieldType<number> {
  const write = {
    1: (b: Buffer, o: number, v: number) => b.writeUInt8(v, o),
    2: be ? (b: Buffer, o: number, v: number) => b.writeUInt16BE(v, o) : (b: Buffer, o: number, v: number) => b.writeUInt16LE(v, o),
    4: be ? (b: Buffer, o: number, v: number) => b.writeUInt32BE(v >>> 0, o) : (b: Buffer, o: number, v: number) => b.writeUInt32LE(v >>> 0, o),
  }[size];
  const read = {
    1: (b: Buffer, o: number) => b.readUInt8(o),
    2: be ? (b: Buffer, o: number) => b.readUInt16BE(o) : (b: Buffer, o: number) => b.readUInt16LE(o),
    4: be ? (b: Buffer, o: number) => b.readUInt32BE(o) : (b: Buffer, o: number) => b.readUInt32LE(o),
  }[size];
  return { size, align: size, write, read };
}

export const u8 = int(1);
export const u16 = int(2);
export const u32 = int(4);
/** __be16: a network-order number (ports). */
export const be16 = int(2, true);
/** __be32 as a number in network order. */
export const be32 = int(4, true);
export const u64: FieldType<bigint> = {
  size: 8,
  align: 8,
  write: (b, o, v) => b.writeBigUInt64LE(v, o),
  read: (b, o) => b.readBigUInt64LE(o),
};

/** A byte array (`__u8 x[n]`, or `__be32 x[4]` with align 4). Decoding copies. */
export function bytes(n: number, align = 1): FieldType<Buffer> {
  return {
    size: n,
    align,
    write: (b, o, v) => {
      if (v.length !== n) throw new RangeError(`expected ${n} bytes, got ${v.length}`);
      b.set(v, o);
    },
    read: (b, o) => Buffer.from(b.subarray(o, o + n)),
  };
}

/** Explicit padding of n bytes (alignment 1): written as zeros, not decoded. */
export function pad(n: number): PadType {
  return { size: n, align: 1, pad: true, write: () => {}, read: () => undefined };
}

type Fields = Record<string, FieldType<unknown>>;
type ValueFields<F extends Fields> = { [K in keyof F as F[K] extends PadType ? never : K]: F[K] };
export type StructValue<F extends Fields> = { [K in keyof ValueFields<F>]: ValueFields<F>[K] extends FieldType<infer T> ? T : never };

/** The value type of a declared struct: `ValueOf<typeof BackendValue>`. */
export type ValueOf<S> = S extends Struct<infer T> ? T : never;

export interface FieldLayout {
  /** TypeScript name. */
  readonly name: string;
  /** C member name (what BTF calls it). */
  readonly cName: string;
  readonly offset: number;
  readonly size: number;
  readonly pad: boolean;
}

export interface Struct<T> {
  /** The C struct name (`struct <cName>`). */
  readonly cName: string;
  readonly size: number;
  readonly align: number;
  readonly fields: readonly FieldLayout[];
  /** A fresh zero-filled buffer with `v` written into it. */
  encode(v: T): Buffer;
  /** Writes `v` at `offset` of `b` (padding left as it is). */
  encodeInto(v: T, b: Buffer, offset?: number): void;
  decode(b: Buffer, offset?: number): T;
  /** Per-CPU values summed field by field (integer fields; bytes fields come from CPU 0). */
  sum(perCpu: readonly Buffer[]): T;
  /** A value as a struct field of another struct (nested structs). */
  asField(): FieldType<T>;
}

/** snake_case of a camelCase name: srcV4Hostmask → src_v4_hostmask. */
export function cNameOf(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

/**
 * Declares a C struct. `fields` in C member order; `cNames` overrides the derived C name of a
 * field where it does not follow camelCase ↔ snake_case.
 */
export function struct<F extends Fields>(cName: string, fields: F, cNames: Partial<Record<keyof F, string>> = {}): Struct<StructValue<F>> {
  let offset = 0;
  let align = 1;
  const layout: (FieldLayout & { type: FieldType<unknown> })[] = [];
  for (const [name, type] of Object.entries(fields)) {
    offset = alignUp(offset, type.align);
    align = Math.max(align, type.align);
    layout.push({ name, cName: cNames[name] ?? cNameOf(name), offset, size: type.size, pad: 'pad' in type, type });
    offset += type.size;
  }
  const size = alignUp(offset, align);
  const values = layout.filter((f) => !f.pad);

  const encodeInto = (v: StructValue<F>, b: Buffer, at = 0) => {
    const rec = v as Record<string, unknown>;
    for (const f of values) {
      const x = rec[f.name];
      if (x === undefined) throw new TypeError(`struct ${cName}: field ${f.name} is missing`);
      try {
        f.type.write(b, at + f.offset, x);
      } catch (e) {
        throw new RangeError(`struct ${cName}.${f.name}: ${(e as Error).message}`);
      }
    }
  };
  const decode = (b: Buffer, at = 0) => {
    if (b.length - at < size) throw new RangeError(`struct ${cName}: ${b.length - at} bytes, need ${size}`);
    const out: Record<string, unknown> = {};
    for (const f of values) out[f.name] = f.type.read(b, at + f.offset);
    return out as StructValue<F>;
  };
  const s: Struct<StructValue<F>> = {
    cName,
    size,
    align,
    fields: layout.map(({ name, cName: c, offset: o, size: z, pad: p }) => ({ name, cName: c, offset: o, size: z, pad: p })),
    encode(v) {
      const b = Buffer.alloc(size);
      encodeInto(v, b, 0);
      return b;
    },
    encodeInto,
    decode,
    sum(perCpu) {
      if (perCpu.length === 0) return decode(Buffer.alloc(size));
      const acc = decode(perCpu[0]!) as Record<string, unknown>;
      for (let i = 1; i < perCpu.length; i++) {
        const next = decode(perCpu[i]!) as Record<string, unknown>;
        for (const f of values) {
          const a = acc[f.name];
          if (typeof a === 'bigint') acc[f.name] = a + (next[f.name] as bigint);
          else if (typeof a === 'number') acc[f.name] = a + (next[f.name] as number);
        }
      }
      return acc as StructValue<F>;
    },
    asField: () => ({ size, align, write: (b, o, v) => encodeInto(v, b, o), read: (b, o) => decode(b, o) }),
  };
  return s;
}
