// The machinery every part of the configuration is resolved with: where a setting's value comes
// from (flag > file > default), and errors that name that place (YAML path with file:line:column,
// or the flag). resolve.ts and the section resolvers (health.ts, bgp.ts, kubernetes.ts) share it.
import { accessSync, constants } from 'node:fs';
import { isAbsolute, normalize } from 'node:path';
import { isPlainObject, ValidationError } from '../model/index.js';
import { ConfigError } from './errors.js';
import { formatPath, YamlSource, type PathSegment } from './yaml-source.js';

export type Origin = 'default' | 'file' | 'flag';

export interface Setting {
  value: unknown;
  from: Origin;
  /** Path for messages: YAML path, or the flag. */
  path: string;
  segments: PathSegment[];
}

export class Resolver {
  readonly sources: Record<string, Origin> = {};
  readonly warnings: string[] = [];

  constructor(
    private readonly yaml: YamlSource | undefined,
    private readonly root: Record<string, unknown>,
  ) {}

  fail(s: Pick<Setting, 'from' | 'path' | 'segments'>, problem: string, options: { key?: boolean } = {}): never {
    if (s.from === 'file' && this.yaml) throw new ConfigError(s.path, problem, this.yaml.locate(s.segments, options));
    throw new ConfigError(s.from === 'default' ? `${s.path} (default)` : s.path, problem);
  }

  failAt(segments: PathSegment[], problem: string, options: { key?: boolean } = {}): never {
    this.fail({ from: 'file', path: formatPath(segments), segments }, problem, options);
  }

  /** Runs a model parser, turning its ValidationError into this setting's ConfigError. */
  check<T>(s: Setting, parse: (value: unknown) => T): T {
    try {
      return parse(s.value);
    } catch (e) {
      if (e instanceof ValidationError) this.fail(s, e.problem);
      throw e;
    }
  }

  fileValue(segments: PathSegment[]): unknown {
    let v: unknown = this.root;
    for (const seg of segments) {
      if (Array.isArray(v) && typeof seg === 'number') v = v[seg];
      else if (isPlainObject(v)) v = v[seg as string];
      else return undefined;
    }
    return v;
  }

  /** The value of a setting: flag (if given) > file (if present and not null) > default. */
  get(segments: PathSegment[], flag: { name: string; value: unknown } | undefined, fallback: unknown): Setting {
    const top = String(segments[0]);
    let s: Setting;
    if (flag && flag.value !== undefined) {
      s = { value: flag.value, from: 'flag', path: flag.name, segments };
    } else {
      const v = this.fileValue(segments);
      s = v === undefined || v === null
        ? { value: fallback, from: 'default', path: formatPath(segments), segments }
        : { value: v, from: 'file', path: formatPath(segments), segments };
    }
    // A top-level setting is "flag" or "file" if any part of it came from there.
    const rank = { default: 0, file: 1, flag: 2 };
    if (!this.sources[top] || rank[s.from] > rank[this.sources[top]!]) this.sources[top] = s.from;
    return s;
  }

  /** Refuses keys the schema (keys allowed per mapping path, '' = top level) does not list. */
  checkSchema(schema: Record<string, readonly string[]>): void {
    for (const [at, keys] of Object.entries(schema)) {
      const segments = at === '' ? [] : at.split('.');
      const obj = at === '' ? this.root : this.fileValue(segments);
      if (obj === undefined || obj === null) continue;
      if (!isPlainObject(obj)) this.failAt(segments, `expected a mapping with keys: ${keys.join(', ')}`);
      for (const k of Object.keys(obj)) {
        if (!keys.includes(k)) this.failAt([...segments, k], `unknown setting; expected one of: ${keys.join(', ')}`, { key: true });
      }
    }
  }
}

export function integer(r: Resolver, s: Setting, min: number, max: number, what = `an integer ${min}..${max}`): number {
  if (typeof s.value !== 'number' || !Number.isInteger(s.value) || s.value < min || s.value > max) {
    r.fail(s, `${JSON.stringify(s.value)} must be ${what}`);
  }
  return s.value;
}

export function boolean(r: Resolver, s: Setting): boolean {
  if (typeof s.value !== 'boolean') r.fail(s, `${JSON.stringify(s.value)} must be true or false`);
  return s.value;
}

export function absolutePath(r: Resolver, s: Setting): string {
  if (typeof s.value !== 'string' || !isAbsolute(s.value)) r.fail(s, `${JSON.stringify(s.value)} must be an absolute path`);
  return normalize(s.value).replace(/(.)\/$/, '$1');
}

export function readableFile(r: Resolver, s: Setting, checkFiles: boolean): string {
  const path = absolutePath(r, s);
  if (checkFiles) {
    try {
      accessSync(path, constants.R_OK);
    } catch (e) {
      r.fail(s, `${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  return path;
}

