// The YAML file as a source of settings that remembers where each value was written, so errors
// can say "xlb.yaml:14:5: maglev.table_size: ...".
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import { ConfigError } from './errors.js';

export type PathSegment = string | number;

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out;
}

/** "services[2].backends[0].weight" → ['services', 2, 'backends', 0, 'weight'] */
export function parsePath(text: string): PathSegment[] {
  const out: PathSegment[] = [];
  for (const m of text.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

export class YamlSource {
  readonly file: string;
  /** Plain JS value of the document (null for an empty file). */
  readonly data: unknown;
  private readonly doc: Document;
  private readonly lines: LineCounter;

  private constructor(file: string, doc: Document, lines: LineCounter) {
    this.file = file;
    this.doc = doc;
    this.lines = lines;
    this.data = doc.toJS({ maxAliasCount: 100 });
  }

  /** Parses YAML text; syntax errors (including duplicate keys) become ConfigError with line:column. */
  static parse(text: string, file: string): YamlSource {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      const first = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      throw new ConfigError('', `invalid YAML: ${first}`, { file, line: pos?.line, column: pos?.col });
    }
    try {
      return new YamlSource(file, doc, lines);
    } catch (e) {
      // Converting to plain values fails on aliases (unresolved, or too many): say where.
      throw new ConfigError('', `invalid YAML: ${(e as Error).message}`, { file, ...YamlSource.#aliasPosition(doc, lines) });
    }
  }

  static #aliasPosition(doc: Document, lines: LineCounter): { line?: number; column?: number } {
    let offset: number | undefined;
    visit(doc, {
      Alias(_key, node) {
        if (offset === undefined || !node.resolve(doc)) offset = node.range?.[0];
        if (!node.resolve(doc)) return visit.BREAK;
        return undefined;
      },
    });
    if (offset === undefined) return {};
    const pos = lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  }

  /** File, line and column of the value at `path` (or of the nearest enclosing node that exists). */
  locate(path: readonly PathSegment[], options: { key?: boolean } = {}): { file: string; line?: number; column?: number } {
    let node: Node | null | undefined = this.doc.contents as Node | null;
    let best: Node | null | undefined = node;
    path.forEach((seg, i) => {
      if (node === undefined) return;
      let next: Node | null | undefined;
      if (isMap(node)) {
        const pairs = node.items as { key: unknown; value: unknown }[];
        const pair = pairs.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        // An unknown key is pointed at by its name; anything else by its value.
        const wantKey = options.key === true && i === path.length - 1;
        if (pair) next = wantKey ? (pair.key as Node) : ((pair.value as Node | null) ?? (pair.key as Node));
      } else if (isSeq(node) && typeof seg === 'number') {
        next = node.items[seg] as Node | undefined;
      }
      if (!next) {
        node = undefined;
        return;
      }
      node = next;
      best = next;
    });
    const offset = best?.range?.[0];
    if (offset === undefined) return { file: this.file };
    const pos = this.lines.linePos(offset);
    return { file: this.file, line: pos.line, column: pos.col };
  }
}
