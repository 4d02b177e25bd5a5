// Choosing how to get a datapath at start, without ever interrupting one that carries traffic:
//
//   nothing pinned                         → load a fresh one                        ('loaded')
//   pinned, same settings, same program    → adopt it as it is                       ('adopted')
//   pinned, same settings, new program     → load the new program on the pinned maps
//                                            (state, flows and counters kept)        ('upgraded')
//   pinned, other settings or map layout   → load a fresh one; the caller swaps it in
//                                            atomically and re-pins                  ('replaced')
//
// "Same program" is decided by the kernel's program tag (a hash of the instructions, computed
// with map references masked): the built object is loaded on the pinned maps and compared, and
// discarded when identical — unless the program record says the pinned program was loaded from
// this very object (program-record.ts), which skips that load and its verification.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BpfProgram } from '../../../bpf/libbpf-ts/index.js';
import {
  DEFAULT_ICMP_TOO_BIG_BURST,
  DEFAULT_ICMP_TOO_BIG_RATE,
  DEFAULT_SYN_TAKEOVER_IDLE_MS,
  LbDatapath,
  resolveRecorderOption,
  type LoadOptions,
  type ResolvedLoadOptions,
} from '../../datapath/index.js';
import type { ProgramRecord } from './program-record.js';

export type DatapathOrigin = 'loaded' | 'adopted' | 'upgraded' | 'replaced';

export interface OpenedDatapath {
  dp: LbDatapath;
  origin: DatapathOrigin;
  /** The datapath found pinned, when it is being upgraded or replaced (its program may be attached). */
  previous: LbDatapath | undefined;
  /** Program id pinned before (to recognise it attached), if any could be read. */
  previousProgId: number | undefined;
  /** Human explanation of the choice, for the log. */
  reason: string;
}

/** Load-time settings that differ between a pinned datapath and the wanted one ([] = compatible). */
export function settingDifferences(pinned: ResolvedLoadOptions, wanted: LoadOptions): string[] {
  const diffs: string[] = [];
  const check = (name: string, have: unknown, want: unknown) => {
    if (have !== want) diffs.push(`${name} ${String(have)} → ${String(want)}`);
  };
  check('maglev.seed', pinned.seed, wanted.seed);
  // maglev.table_size is not one: it is only the default size of services that name none, and
  // every service's size is in its own entry (a service whose size changes gets a new table).
  check('mtu', pinned.mtu, wanted.mtu);
  check('maps.services', pinned.maxServices, wanted.maxServices);
  check('maps.backends', pinned.maxBackends, wanted.maxBackends);
  check('maps.flows', pinned.flowTableSize, wanted.flowTableSize);
  check('stateless', pinned.stateless, wanted.stateless ?? false);
  check('icmp.too_big_rate', pinned.icmpTooBigRate, wanted.icmpTooBigRate ?? DEFAULT_ICMP_TOO_BIG_RATE);
  check('icmp.too_big_burst', pinned.icmpTooBigBurst, wanted.icmpTooBigBurst ?? DEFAULT_ICMP_TOO_BIG_BURST);
  check('flow_table.syn_takeover_idle (ms)', pinned.synTakeoverIdleMs, wanted.synTakeoverIdleMs ?? DEFAULT_SYN_TAKEOVER_IDLE_MS);
  // auto (undefined) means what this kernel supports; the kernel has not changed since the pins
  // were made (they do not survive a reboot).
  check('recorder.enabled', pinned.recorder, resolveRecorderOption(wanted.recorder));
  return diffs;
}

/** Id of an XDP program pinned in `dir` (whatever the maps next to it look like), if any. */
function pinnedProgramId(dir: string): number | undefined {
  for (const name of readdirSync(dir)) {
    try {
      const p = BpfProgram.openPinned(join(dir, name));
      const id = p.type === 'xdp' ? p.id : undefined;
      p.close();
      if (id !== undefined) return id;
    } catch {
      // a map pin, or not a pin at all
    }
  }
  return undefined;
}

function hasPins(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).length > 0;
}

/**
 * `known`: the program record (program-record.ts) and the hash of the object `wanted` loads; when
 * the pinned program is the recorded one and the object is the same, it is adopted without
 * loading the object to compare tags.
 */
export function openDatapath(dir: string, wanted: LoadOptions, known?: { record: ProgramRecord | undefined; objectSha256: string }): OpenedDatapath {
  if (!hasPins(dir)) {
    return { dp: LbDatapath.load(wanted), origin: 'loaded', previous: undefined, previousProgId: undefined, reason: `nothing pinned in ${dir}` };
  }
  let pinned: LbDatapath;
  try {
    pinned = LbDatapath.adopt(dir);
  } catch (e) {
    // Another map layout (an older or newer xlb), or a half-removed pin set: start a fresh
    // datapath; the caller replaces the attached program atomically if it recognises it.
    return {
      dp: LbDatapath.load(wanted),
      origin: 'replaced',
      previous: undefined,
      previousProgId: pinnedProgramId(dir),
      reason: `the pins in ${dir} cannot be adopted (${(e as Error).message})`,
    };
  }
  const diffs = settingDifferences(pinned.options, wanted);
  if (diffs.length) {
    try {
      return {
        dp: LbDatapath.load(wanted),
        origin: 'replaced',
        previous: pinned,
        previousProgId: pinned.program.id,
        reason: `load-time settings changed (${diffs.join(', ')}); established flows will be placed again by Maglev`,
      };
    } catch (e) {
      pinned.close();
      throw e;
    }
  }
  const r = known?.record;
  if (r && r.progId === pinned.program.id && r.tag === pinned.program.tag && r.objectSha256 === known!.objectSha256) {
    return {
      dp: pinned,
      origin: 'adopted',
      previous: undefined,
      previousProgId: pinned.program.id,
      reason: `program ${pinned.program.id} (tag ${pinned.program.tag}) pinned in ${dir}, loaded from this object`,
    };
  }
  let candidate: LbDatapath;
  try {
    candidate = LbDatapath.upgrade(dir, wanted.objectPath === undefined ? {} : { objectPath: wanted.objectPath });
  } catch (e) {
    pinned.close();
    throw e;
  }
  if (candidate.program.tag === pinned.program.tag) {
    candidate.close();
    return { dp: pinned, origin: 'adopted', previous: undefined, previousProgId: pinned.program.id, reason: `program ${pinned.program.id} (tag ${pinned.program.tag}) pinned in ${dir}` };
  }
  return {
    dp: candidate,
    origin: 'upgraded',
    previous: pinned,
    previousProgId: pinned.program.id,
    reason: `program tag ${pinned.program.tag} → ${candidate.program.tag}, maps kept`,
  };
}
