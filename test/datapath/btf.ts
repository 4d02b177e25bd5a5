// The structs of a compiled BPF object as its BTF describes them (bpftool's JSON dump): size and
// member offsets. The layout tests compare every struct xlb declares in TypeScript against this.
import { execFileSync } from 'node:child_process';
import type { Struct } from '../../bpf/libbpf-ts/index.js';

export interface BtfStruct {
  size: number;
  /** member name → byte offset, in C order */
  members: [string, number][];
}

export function btfStructs(objectPath: string): Map<string, BtfStruct> {
  const out = execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', objectPath], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const types = (JSON.parse(out) as { types: { kind: string; name: string; size?: number; members?: { name: string; bits_offset: number }[] }[] }).types;
  const structs = new Map<string, BtfStruct>();
  for (const t of types) {
    if (t.kind !== 'STRUCT' || !t.members) continue;
    structs.set(t.name, { size: t.size!, members: t.members.map((m) => [m.name, m.bits_offset / 8]) });
  }
  return structs;
}

/** A declared struct in the same shape as btfStructs() reports it (for a toEqual against BTF). */
export function declaredShape(s: Struct<unknown>): BtfStruct {
  return { size: s.size, members: s.fields.map((f) => [f.cName, f.offset]) };
}
