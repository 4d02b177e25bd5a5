// The capture-filter grammar of `xlb record` (docs/recorder.md):
//
//   FILTER   := ENDPOINT [PORT] "->" ENDPOINT [PORT] [PROTO]
//   ENDPOINT := any | * | ADDRESS | ADDRESS/LEN      (IPv6 written in brackets: [2001:db8::1]/64)
//   PORT     := any | * | 1..65535                    (omitted = any)
//   PROTO    := tcp | udp | icmp | icmp6 | any        (omitted = any; icmp = ICMP or ICMPv6 by family)
//
//   "10.0.0.0/8 any -> 192.168.33.11 80 tcp"    "[fd00:1::/48] -> [fd00:100::10] 443 tcp"
//
// Errors carry the offending token's position so the CLI can point at it with a caret.
import { ValidationError } from '../lb/model/index.js';
import { validateFilter, type CaptureProto, type CaptureRule, type FilterSpec } from './rules.js';

interface Token {
  text: string;
  start: number;
}

export class FilterSyntaxError extends Error {
  readonly input: string;
  readonly start: number;
  readonly length: number;
  readonly problem: string;

  constructor(input: string, start: number, length: number, problem: string) {
    super(problem);
    this.name = 'FilterSyntaxError';
    this.input = input;
    this.start = start;
    this.length = Math.max(1, length);
    this.problem = problem;
  }

  /** The filter and a caret line under the bad token. */
  pointer(indent = ''): string {
    return `${indent}${this.input}\n${indent}${' '.repeat(this.start)}${'^'.repeat(this.length)}`;
  }
}

function tokenize(input: string): Token[] {
  const out: Token[] = [];
  // "->" is a token of its own even when written without spaces ("any->10.0.0.1").
  const re = /->|[^\s]+?(?=->|\s|$)/g;
  for (let m = re.exec(input); m; m = re.exec(input)) out.push({ text: m[0], start: m.index });
  return out;
}

const PROTOS: Record<string, CaptureProto> = { tcp: 'tcp', udp: 'udp', icmp: 'icmp', icmp6: 'icmp', icmpv6: 'icmp', any: 'any' };

/** A port, or a botched attempt at one (starts with a digit): reported as a bad port. */
function isPortToken(t: Token | undefined): boolean {
  return !!t && (t.text === 'any' || t.text === '*' || /^[0-9]/.test(t.text));
}

/** Parses one filter of the grammar above into a validated rule. */
export function parseFilter(input: string): CaptureRule {
  const tokens = tokenize(input);
  let i = 0;
  const fail = (t: Token | undefined, problem: string): never => {
    throw t ? new FilterSyntaxError(input, t.start, t.text.length, problem) : new FilterSyntaxError(input, input.length, 1, problem);
  };
  const fieldToken: Record<string, Token | undefined> = {};

  const endpoint = (role: 'source' | 'destination'): string | undefined => {
    const t = tokens[i++];
    if (!t || t.text === '->') return fail(t, `expected the ${role} address (any, an address or a prefix)`);
    fieldToken[role === 'source' ? 'src_cidr' : 'dst_cidr'] = t;
    if (t.text === 'any' || t.text === '*') return undefined;
    // [v6] or [v6]/len → v6 or v6/len
    const m = /^\[([^\]]*)\](\/.*)?$/.exec(t.text);
    if (m) return `${m[1]}${m[2] ?? ''}`;
    if (t.text.includes('[') || t.text.includes(']')) fail(t, `unbalanced brackets in ${JSON.stringify(t.text)}`);
    return t.text;
  };
  const port = (role: 'source' | 'destination'): number => {
    const t = tokens[i];
    if (!isPortToken(t)) return 0;
    i++;
    fieldToken[role === 'source' ? 'src_port' : 'dst_port'] = t;
    if (t!.text === 'any' || t!.text === '*') return 0;
    const n = Number(t!.text);
    if (!/^[1-9][0-9]*$/.test(t!.text) || n > 65535) fail(t, `${JSON.stringify(t!.text)} is not a port 1..65535 (or any)`);
    return n;
  };

  if (tokens.length === 0) fail(undefined, 'empty filter; expected SRC [PORT] -> DST [PORT] [PROTO]');
  const spec: FilterSpec = {};
  spec.srcCidr = endpoint('source');
  spec.srcPort = port('source');
  const arrow = tokens[i];
  if (arrow?.text !== '->') fail(arrow, arrow ? `expected "->" after the source, got ${JSON.stringify(arrow.text)}` : 'expected "-> DST" after the source');
  i++;
  spec.dstCidr = endpoint('destination');
  spec.dstPort = port('destination');
  const p = tokens[i];
  if (p) {
    const proto = PROTOS[p.text.toLowerCase()];
    if (!proto) fail(p, `${JSON.stringify(p.text)} is not a protocol (tcp, udp, icmp, any)`);
    fieldToken.proto = p;
    spec.proto = proto;
    i++;
  }
  if (i < tokens.length) fail(tokens[i], `unexpected ${JSON.stringify(tokens[i]!.text)} after the end of the filter`);

  try {
    return validateFilter(spec, '');
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    // The validator names the field ("src_cidr", ".dst_port", …): point at its token.
    const name = e.field.replace(/^\./, '');
    const t = fieldToken[name] ?? fieldToken[name === 'dst_cidr' ? 'src_cidr' : 'dst_cidr'];
    throw new FilterSyntaxError(input, t?.start ?? 0, t?.text.length ?? input.length, e.problem);
  }
}

/** Parses every filter; the error names which filter failed (1-based) and where. */
export function parseFilters(inputs: readonly string[]): CaptureRule[] {
  return inputs.map((input, n) => {
    try {
      return parseFilter(input);
    } catch (e) {
      if (e instanceof FilterSyntaxError && inputs.length > 1) {
        const err = new FilterSyntaxError(e.input, e.start, e.length, `filter ${n + 1}: ${e.problem}`);
        throw err;
      }
      throw e;
    }
  });
}

/** The proto-shaped filter (CaptureFilter fields) of a parsed rule. */
export function ruleToSpec(r: CaptureRule): Required<FilterSpec> {
  return {
    srcCidr: r.src ? r.src.text : '',
    dstCidr: r.dst ? r.dst.text : '',
    srcPort: r.srcPort,
    dstPort: r.dstPort,
    proto: r.proto,
  };
}
