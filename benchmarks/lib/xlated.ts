// A loaded program as the kernel runs it: its xlated instructions (after the verifier's rewrites —
// inlined map lookups, direct calls to map operations, dead code removed), with the name of every
// called kernel function and the source line of each instruction, from `bpftool -j prog dump
// xlated`. And the few facts about kernel structures that inlined code relies on, from the
// running kernel's BTF. benchmarks/lib/bpf-interp.ts executes these instructions.
import { execFileSync } from 'node:child_process';

export interface XInsn {
  code: number;
  dst: number;
  src: number;
  off: number;
  /** imm (sign-extended 32 bit); for ld_imm64 the low 32 bits. */
  imm: number;
  /** ld_imm64 only: the high 32 bits. */
  imm2: number;
  /** bpftool's rendering, e.g. "(85) call bpf_xdp_adjust_head#123". */
  text: string;
  /** The C source line the instruction came from, when bpftool gave one. */
  src_line: string | undefined;
  /** For a call to a kernel function: its name. */
  callee: string | undefined;
  /** ld_imm64 of a map (src 1) or a map value (src 2): the map id. */
  mapId: number | undefined;
  /** A call of a BPF subprogram: the jump to its first instruction (after JIT the kernel keeps
   *  it in `off` and the subprogram's index in `imm`; bpftool prints it as "call pc+N"). */
  callOffset: number | undefined;
}

interface BpftoolInsn {
  disasm: string;
  src?: string;
  opcodes: { code: string; src_reg: string; dst_reg: string; off: string[]; imm: string[] };
}

function le(bytes: string[]): number {
  let v = 0;
  for (let i = bytes.length - 1; i >= 0; i--) v = v * 256 + parseInt(bytes[i]!, 16);
  return v;
}

/** The xlated instructions of program `id`; an ld_imm64 takes two slots (the second a placeholder). */
export function xlatedProgram(id: number): XInsn[] {
  const out = execFileSync('bpftool', ['-j', 'prog', 'dump', 'xlated', 'id', String(id), 'opcodes'], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const list = JSON.parse(out) as BpftoolInsn[];
  const insns: XInsn[] = [];
  let lastSrc: string | undefined;
  for (const j of list) {
    const o = j.opcodes;
    const code = parseInt(o.code, 16);
    const offRaw = le(o.off);
    const immLow = le(o.imm.slice(0, 4)) | 0;
    const call = /call ([A-Za-z_][A-Za-z0-9_]*)#/.exec(j.disasm);
    const map = /map\[id:(\d+)\]/.exec(j.disasm);
    const sub = /call pc([+-]\d+)/.exec(j.disasm);
    if (j.src !== undefined) lastSrc = j.src;
    const insn: XInsn = {
      code,
      dst: parseInt(o.dst_reg, 16),
      src: parseInt(o.src_reg, 16),
      off: offRaw >= 0x8000 ? offRaw - 0x10000 : offRaw,
      imm: immLow,
      imm2: o.imm.length >= 12 ? le(o.imm.slice(8, 12)) | 0 : 0,
      text: j.disasm,
      src_line: j.src ?? lastSrc,
      callee: call && !j.disasm.includes('call pc') ? call[1] : undefined,
      mapId: map ? Number(map[1]) : undefined,
      callOffset: sub ? Number(sub[1]) : undefined,
    };
    insns.push(insn);
    if (code === 0x18) insns.push({ ...insn, code: 0, text: '(ld_imm64 second half)', callee: undefined });
  }
  return insns;
}

export interface KernelLayout {
  /** offsetof(struct bpf_array, value) (= pptrs = ptrs): where inlined array lookups start. */
  arrayValueOffset: number;
}

let cachedLayout: KernelLayout | undefined;

/** Offsets of kernel structures the inlined code adds to map pointers, from /sys/kernel/btf/vmlinux. */
export function kernelLayout(): KernelLayout {
  if (cachedLayout) return cachedLayout;
  const raw = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'raw'], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const start = raw.indexOf("STRUCT 'bpf_array' ");
  if (start < 0) throw new Error('kernel BTF: no struct bpf_array');
  const block = raw.slice(start, raw.indexOf('\n[', start));
  // The values (value[], pptrs[], ptrs[]) are the anonymous union after aux.
  const m = /'\(anon\)' type_id=\d+ bits_offset=(\d+)/.exec(block);
  if (!m) throw new Error('kernel BTF: struct bpf_array has no anonymous union of values');
  cachedLayout = { arrayValueOffset: Number(m[1]) / 8 };
  return cachedLayout;
}
