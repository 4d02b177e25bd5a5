// The file of `xlb apply -f`: YAML (or JSON) holding a list of services, or { services: [...] },
// in the API's snake_case names (docs/api.md). It is checked here with the daemon's own rules
// (lb/model) so a mistake is reported at its line and column before anything is sent; errors the
// daemon finds later (duplicates, limits, config-owned services) are mapped back to the file too.
import { readFile } from 'node:fs/promises';
import { ConfigError, parsePath, YamlSource } from '../../lb/config/index.js';
import {
  formatServiceId,
  healthCheckToDocument,
  servicesFromDocument,
  validateService,
  ValidationError,
  type BackendInput,
} from '../../lb/model/index.js';
import type { Backend } from '../generated/xlb/v1/Backend.js';
import type { Service } from '../generated/xlb/v1/Service.js';
import { CliFailure } from './errors.js';

/** Keys that `xlb service list -o json` prints but a request ignores; accepted so that output can
 *  be edited and applied again. */
const OUTPUT_ONLY_KEYS = ['origin', 'datapath_id', 'health', 'kubernetes'];

export interface ServicesFile {
  file: string;
  /** In file order (service and backend indexes in errors refer to it). */
  services: Service[];
  /** Prefixes a `FIELD: problem` message with file:line:column when FIELD is a path in this file. */
  locate(message: string): string;
}

function stripOutputOnly(data: unknown): unknown {
  const strip = (o: unknown): unknown => {
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return o;
    const copy: Record<string, unknown> = { ...(o as Record<string, unknown>) };
    for (const k of OUTPUT_ONLY_KEYS) delete copy[k];
    if (Array.isArray(copy.backends)) copy.backends = copy.backends.map(strip);
    return copy;
  };
  if (Array.isArray(data)) return data.map(strip);
  if (typeof data === 'object' && data !== null && Array.isArray((data as { services?: unknown }).services)) {
    return { ...(data as object), services: (data as { services: unknown[] }).services.map(strip) };
  }
  return data;
}

const STATE_TO_PB = { active: 'BACKEND_STATE_ACTIVE', draining: 'BACKEND_STATE_DRAINING' } as const;

function backendToProto(b: BackendInput): Backend {
  const out: Backend = { address: String(b.address) };
  if (typeof b.weight === 'number') out.weight = b.weight;
  if (b.state === 'active' || b.state === 'draining') out.state = STATE_TO_PB[b.state];
  if (typeof b.name === 'string' && b.name !== '') out.name = b.name;
  if (typeof b.checkAddress === 'string' && b.checkAddress !== '') out.checkAddress = b.checkAddress;
  if (typeof b.checkPort === 'number') out.checkPort = b.checkPort;
  return out;
}

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

export function parseServicesFile(text: string, file: string): ServicesFile {
  const yaml = YamlSource.parse(text, file); // ConfigError with line:column on bad YAML
  const bareList = Array.isArray(yaml.data);
  const locate = (message: string): string => {
    const m = /^(services(?:\[\d+\])?(?:\.[a-z_]+(?:\[\d+\])?)*): /.exec(message);
    if (!m) return `${file}: ${message}`;
    const path = parsePath(m[1]!);
    // A bare list has no "services" key: services[2] is the document's third item.
    const where = yaml.locate(bareList ? path.slice(1) : path, { key: /unknown key/.test(message) });
    return `${where.file}${where.line ? `:${where.line}:${where.column ?? 1}` : ''}: ${message}`;
  };
  try {
    const inputs = servicesFromDocument(stripOutputOnly(yaml.data), 'services');
    const services = inputs.map((input, i): Service => {
      const { spec } = validateService(input, undefined, `services[${i}]`);
      const backends = Array.isArray(input.backends) ? (input.backends as BackendInput[]) : [];
      // The file's table size only: without one the daemon's default applies.
      const tableSize = typeof input.tableSize === 'number' ? spec.tableSize : 0;
      const out: Service = { id: formatServiceId(spec), flags: { sourceHash: spec.flags.sourceHash }, tableSize, backends: backends.map(backendToProto) };
      // The checked, canonical form (snake_case document keys are the message's field names).
      if (spec.healthCheck) out.healthCheck = Object.fromEntries(Object.entries(healthCheckToDocument(spec.healthCheck)).map(([k, v]) => [camel(k), v]));
      return out;
    });
    return { file, services, locate };
  } catch (err) {
    if (err instanceof ValidationError) throw new CliFailure(locate(err.message));
    throw err;
  }
}

/** Reads FILE ("-" = standard input) and parses it; every problem is a CliFailure naming the file. */
export async function readServicesFile(path: string, readStdin: () => Promise<string>): Promise<ServicesFile> {
  let text: string;
  const name = path === '-' ? '<stdin>' : path;
  try {
    text = path === '-' ? await readStdin() : await readFile(path, 'utf8');
  } catch (err) {
    throw new CliFailure(`cannot read ${name} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return parseServicesFile(text, name);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliFailure(err.message);
    throw err;
  }
}
