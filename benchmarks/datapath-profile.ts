// Where the executed instructions of each hot-loop packet kind go: the packet run through the
// interpreter of the xlated program (lib/bpf-interp.ts), its count per C source line, and with
// --listing the executed xlated instructions with their counts. Deterministic (no timing, no lock).
//   node dist/benchmarks/datapath-profile.js [--object build/bpf/xlb_lb.o] [--listing] [--case NAME]
// Run as root (loads the program like the datapath benchmark, same services and packets).
import { execFileSync } from 'node:child_process';
import { countInstructions } from './datapath-hot.js';
import { configuredDatapath, hotKinds } from './datapath.js';
import { Machine, profile } from './lib/bpf-interp.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const objectPath = arg('--object');
const only = arg('--case');
const listing = process.argv.includes('--listing');
const dp = configuredDatapath({ flowTableSize: 1 << 16, ...(objectPath ? { objectPath } : {}) });
try {
  const kinds = hotKinds().filter((k) => !only || k.name === only);
  const m = new Machine(dp.program.id);
  try {
    for (const k of kinds) {
      if (k.warm) dp.program.testRun({ data: k.warm, repeat: 1 });
      const r = m.run(k.countFrame);
      console.log(`\n== ${k.name}: ${r.instructions} instructions; kernel calls: ${[...r.calls].map(([n, c]) => `${n}×${c}`).join(' ')}`);
      for (const p of profile(m, r)) console.log(`${String(p.instructions).padStart(5)}  ${p.line.slice(0, 110)}`);
      if (listing) {
        console.log(`-- executed xlated instructions (pc: count  insn  ; line)`);
        let lastLine: string | undefined;
        for (const pc of [...r.perPc.keys()].sort((a, b) => a - b)) {
          const ins = m.insns[pc]!;
          const line = ins.src_line?.trim();
          if (line !== lastLine) console.log(`        ; ${line ?? '?'}`);
          lastLine = line;
          console.log(`${String(pc).padStart(5)}: ${r.perPc.get(pc)}  ${ins.text}`);
        }
      }
    }
  } finally {
    m.close();
  }
  // Totals, checked against the kernel's verdict and frame (after the profiles: the kernel runs
  // insert the SYN's flow, which would turn a profiled SYN into a hit).
  const counts = countInstructions(dp.program, kinds.map((k) => ({ name: k.name, frame: k.countFrame, ...(k.warm ? { warm: k.warm } : {}) })));
  const show = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show', 'id', String(dp.program.id)], { encoding: 'utf8' })) as { verified_insns?: number };
  console.log(`verifier: ${show.verified_insns} instructions processed`);
  for (const c of counts) console.log(`${c.name}: ${c.executed} executed (xlated ${c.xlated})${c.agrees ? '' : ' DISAGREES WITH THE KERNEL'}`);
} finally {
  dp.close();
}
