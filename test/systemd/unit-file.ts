// A reader of systemd unit files for the tests, following systemd.syntax(7): [Section] headers,
// Key=Value lines, "#" and ";" comments, backslash line continuation, repeated keys kept in order.
// It throws on lines that are none of these, so a malformed unit fails the test even where
// systemd-analyze is not available.
import { readFileSync } from 'node:fs';

export interface UnitEntry {
  key: string;
  value: string;
  line: number;
}

export class UnitFile {
  readonly sections = new Map<string, UnitEntry[]>();

  static read(path: string): UnitFile {
    return UnitFile.parse(readFileSync(path, 'utf8'), path);
  }

  static parse(text: string, name = 'unit'): UnitFile {
    const unit = new UnitFile();
    let section: UnitEntry[] | undefined;
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const lineNo = i + 1;
      let line = lines[i]!.trim();
      if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
      const header = /^\[([A-Za-z0-9-]+)\]$/.exec(line);
      if (header) {
        if (unit.sections.has(header[1]!)) throw new Error(`${name}:${lineNo}: section [${header[1]}] twice`);
        section = [];
        unit.sections.set(header[1]!, section);
        continue;
      }
      while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i]!.trim()}`;
      const kv = /^([A-Za-z][A-Za-z0-9]*)\s*=\s*(.*)$/.exec(line);
      if (!kv) throw new Error(`${name}:${lineNo}: not a section, key=value or comment: ${JSON.stringify(line)}`);
      if (!section) throw new Error(`${name}:${lineNo}: ${kv[1]} outside a section`);
      section.push({ key: kv[1]!, value: kv[2]!, line: lineNo });
    }
    return unit;
  }

  /** Every value of `key` in `section`, in file order. */
  all(section: string, key: string): string[] {
    return (this.sections.get(section) ?? []).filter((e) => e.key === key).map((e) => e.value);
  }

  /** The value of a key given once; throws when absent or repeated. */
  one(section: string, key: string): string {
    const v = this.all(section, key);
    if (v.length !== 1) throw new Error(`[${section}] ${key}: expected once, found ${v.length} times`);
    return v[0]!;
  }

  /** Space-separated list values of `key` (e.g. CapabilityBoundingSet), all occurrences joined. */
  list(section: string, key: string): string[] {
    return this.all(section, key).flatMap((v) => v.split(/\s+/).filter(Boolean));
  }
}

/** Capability name → number, from the kernel's UAPI header (the same names systemd accepts). */
export function kernelCapabilities(header = '/usr/include/linux/capability.h'): Map<string, number> {
  const caps = new Map<string, number>();
  for (const m of readFileSync(header, 'utf8').matchAll(/^#define (CAP_[A-Z_]+)\s+(\d+)\s*$/gm)) {
    if (m[1] !== 'CAP_LAST_CAP') caps.set(m[1]!, Number(m[2]));
  }
  return caps;
}

/** "CapEff:\t00000000a80425fb" lines of /proc/PID/status as capability-name sets. */
export function processCapabilities(pid: number, known = kernelCapabilities()): Record<'CapEff' | 'CapPrm' | 'CapBnd' | 'CapInh' | 'CapAmb', string[]> {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const out = {} as Record<'CapEff' | 'CapPrm' | 'CapBnd' | 'CapInh' | 'CapAmb', string[]>;
  for (const field of ['CapEff', 'CapPrm', 'CapBnd', 'CapInh', 'CapAmb'] as const) {
    const hex = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(status)?.[1];
    if (!hex) throw new Error(`/proc/${pid}/status has no ${field}`);
    const mask = BigInt(`0x${hex}`);
    out[field] = [...known].filter(([, n]) => (mask >> BigInt(n)) & 1n).map(([name]) => name).sort();
  }
  return out;
}
