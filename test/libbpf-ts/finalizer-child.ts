// Run with --expose-gc: creates BPF maps and loaded objects (with their program and map handles),
// drops them WITHOUT close(),
// forces GC and reports the process's fd counts (the N-API finalizers must close the fds).
// Usage: node --expose-gc finalizer-child.js <ts_basic.o path> <count>
import { readdirSync } from 'node:fs';
import { BpfMap, BpfObject } from '../../bpf/libbpf-ts/index.js';

const [objPath, countArg] = process.argv.slice(2);
const count = Number(countArg);
const fds = (): number => readdirSync('/proc/self/fd').length;
const baseline = fds();
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

// Created in a function (a suspended top-level await frame would keep its last locals alive) and
// held in an array first, so the fd count with everything alive is deterministic; then dropped.
function createAll(): unknown[] {
  const all: unknown[] = [];
  for (let i = 0; i < count; i++) all.push(BpfMap.create({ type: 'array', keySize: 4, valueSize: 8, maxEntries: 1 }));
  for (let i = 0; i < count / 10; i++) {
    const obj = BpfObject.open(objPath);
    obj.load();
    all.push(obj, obj.program('xdp_basic'), obj.map('slots'));
  }
  return all;
}
let alive: unknown[] | undefined = createAll();

async function settle(): Promise<void> {
  // Node runs N-API finalizers after GC from the event loop: collect, then let the loop turn.
  for (let i = 0; i < 5; i++) {
    gc!();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 10));
  }
}

const afterCreate = fds();
const held = alive.length;
alive = undefined;
await settle();
const afterGc = fds();
console.log(JSON.stringify({ baseline, afterCreate, afterGc, held }));
