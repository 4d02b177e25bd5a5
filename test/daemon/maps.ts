// Dumps every map of a pinned datapath (and the Maglev inner tables it points to) into one
// comparable object, via libbpf-ts lookupBatch: the evidence that something did or did not change.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap } from '../../bpf/libbpf-ts/index.js';

export type MapDump = Record<string, string[]>;

function entries(m: BpfMap): string[] {
  // Ring buffers and the like hold no keyed entries.
  if (m.type === 'ringbuf' || m.type === 'perf_event_array' || m.type === 'user_ringbuf') return [`<${m.type}>`];
  if (m.isPerCpu) {
    const { keys, values } = m.lookupBatchPerCpu();
    return keys.map((k, i) => `${k.toString('hex')}=${values[i]!.map((v) => v.toString('hex')).join(',')}`).sort();
  }
  const { keys, values } = m.lookupBatch();
  return keys.map((k, i) => `${k.toString('hex')}=${values[i]!.toString('hex')}`).sort();
}

/** Every pinned map of `dir` by name, plus `maglev_inner/<service id>` for each Maglev table. */
export function dumpPinnedMaps(dir: string): MapDump {
  const out: MapDump = {};
  for (const name of readdirSync(dir).sort()) {
    let m: BpfMap;
    try {
      m = BpfMap.openPinned(join(dir, name));
    } catch {
      continue; // the program pin
    }
    try {
      out[name] = entries(m);
      if (m.type === 'array_of_maps') {
        const { keys, values } = m.lookupBatch();
        keys.forEach((k, i) => {
          const inner = BpfMap.fromId(values[i]!.readUInt32LE(0));
          try {
            out[`maglev_inner/${k.readUInt32LE(0)}`] = entries(inner);
          } finally {
            inner.close();
          }
        });
      }
    } finally {
      m.close();
    }
  }
  return out;
}
