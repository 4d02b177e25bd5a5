// The door of the test lab for code outside test/ (the benchmarks and scripts/demo.ts): the
// namespace lab, the packet builder, process cleanup, BPF variant builds, the repository root and
// the demo. Tests inside test/ may import the lab's files directly.
export { Lab, LAB_SCRIPTS, LAB_STEPS, type LabOptions, type LabNode, type LbNodeContext, type HttpLoadResult, type LabProcess } from './lab.js';
export * from './packets.js';
export { registerLive, unregisterLive, type SyncDestroyable } from './cleanup.js';
export { compileBpfVariant } from './bpf-variant.js';
export { repoRoot } from './paths.js';
export { runDemo } from './demo.js';
export { BaselineDatapath, BASELINE_COMMIT, BASELINE_OBJECT, type BaselineCounter, type BaselineOptions } from './baseline.js';
export { runSoak, type SoakReport } from './soak.js';
