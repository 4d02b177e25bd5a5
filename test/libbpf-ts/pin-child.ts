// Second process for the pinning test: adopts what the first process pinned (map, program, XDP
// link) without detaching anything, reads and writes the map, and reports as JSON on stdout.
// Usage: node pin-child.js <pin dir>
import { BpfError, BpfLink, BpfMap, BpfProgram } from '../../bpf/libbpf-ts/index.js';

const dir = process.argv[2];
const key = Buffer.alloc(4);
key.writeUInt32LE(1);

const map = BpfMap.openPinned(`${dir}/counters`);
const seen = map.lookup(key)!.readBigUInt64LE(0);
const value = Buffer.alloc(8);
value.writeBigUInt64LE(54321n);
map.update(key, value);

const prog = BpfProgram.openPinned(`${dir}/xdp_count`);
const link = BpfLink.openPinned(`${dir}/link`);
// Re-installing the same program through the adopted link proves we hold a working link.
link.update(prog, { expected: prog });

let wrongKind = '';
try {
  BpfProgram.openPinned(`${dir}/counters`);
} catch (e) {
  wrongKind = `${(e as BpfError).code}: ${(e as BpfError).message}`;
}

console.log(JSON.stringify({
  seen: seen.toString(),
  map: { id: map.id, name: map.name, type: map.type },
  prog: { id: prog.id, name: prog.name, type: prog.type },
  link: { id: link.id, ...link.info() },
  wrongKind,
}));
map.close();
prog.close();
link.close();
