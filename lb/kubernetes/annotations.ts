// The annotations xlb reads on a Service. A malformed one is reported by its name (an Event and a
// log line), and the setting it would have changed is left as it is.
import {
  HEALTH_CHECK_KEYS,
  healthCheckInputFromDocument,
  isPlainObject,
  parseIp,
  validateHealthCheck,
  ValidationError,
  type HealthCheckInput,
} from '../model/index.js';

export const ANNOTATIONS = Object.freeze({
  /** Comma-separated VIPs to use (one per family), e.g. "198.51.100.7,2001:db8:100::7". Preferred
   *  over spec.loadBalancerIP, which is deprecated and holds one address only. */
  loadBalancerIps: 'xlb.dev/load-balancer-ips',
  /** Allocate from this pool only. */
  addressPool: 'xlb.dev/address-pool',
  /** A health check for every xlb service of the Service, as a JSON object in the form of the
   *  config file's `health_check` (e.g. {"kind":"http","path":"/healthz","interval":"2s"}). */
  healthCheck: 'xlb.dev/health-check',
});

/** The Kubernetes field path of an annotation, as kubectl prints it. */
export function annotationField(name: string): string {
  return `metadata.annotations[${name}]`;
}

export interface ServiceAnnotations {
  /** Canonical addresses, in the order given. */
  loadBalancerIps?: string[];
  addressPool?: string;
  healthCheck?: HealthCheckInput;
}

export interface AnnotationProblem {
  field: string;
  message: string;
}

/** Reads xlb's annotations; every malformed one is a problem (and is then treated as absent). */
export function readAnnotations(annotations: Record<string, string> | undefined, poolNames: readonly string[]): {
  value: ServiceAnnotations;
  problems: AnnotationProblem[];
} {
  const value: ServiceAnnotations = {};
  const problems: AnnotationProblem[] = [];
  const ips = annotations?.[ANNOTATIONS.loadBalancerIps];
  if (ips !== undefined) {
    const field = annotationField(ANNOTATIONS.loadBalancerIps);
    try {
      const list = ips.split(',').map((s) => s.trim());
      if (list.some((s) => s === '')) throw new Error('has an empty entry; expected comma-separated IP addresses');
      const parsed = list.map((s) => parseIp(s, ''));
      const families = parsed.map((p) => p.family);
      if (new Set(families).size !== families.length) throw new Error('lists two addresses of one family; give at most one IPv4 and one IPv6 address');
      value.loadBalancerIps = parsed.map((p) => p.text);
    } catch (e) {
      const why = e instanceof ValidationError ? e.problem : (e as Error).message;
      problems.push({ field, message: `${JSON.stringify(ips)}: ${why}` });
    }
  }
  const pool = annotations?.[ANNOTATIONS.addressPool];
  if (pool !== undefined) {
    if (poolNames.includes(pool)) value.addressPool = pool;
    else problems.push({ field: annotationField(ANNOTATIONS.addressPool), message: `${JSON.stringify(pool)} is not a configured pool; pools: ${poolNames.join(', ')}` });
  }
  const check = annotations?.[ANNOTATIONS.healthCheck];
  if (check !== undefined) {
    const result = readHealthCheck(check, annotationField(ANNOTATIONS.healthCheck));
    if ('problem' in result) problems.push(result.problem);
    else value.healthCheck = result.input;
  }
  return { value, problems };
}

// Checked here with the rules the API uses, so a bad value is an Event on the Service rather than a
// refused apply; the port only matters for all-ports services, which Kubernetes does not have.
function readHealthCheck(text: string, field: string): { input: HealthCheckInput } | { problem: AnnotationProblem } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { problem: { field, message: `is not JSON (${(e as Error).message}); expected an object such as {"kind":"http","path":"/healthz"}` } };
  }
  if (!isPlainObject(doc)) return { problem: { field, message: `must be a JSON object such as {"kind":"tcp"}` } };
  const unknown = Object.keys(doc).filter((k) => !HEALTH_CHECK_KEYS.includes(k));
  if (unknown.length) return { problem: { field, message: `unknown key ${unknown.join(', ')}; keys: ${HEALTH_CHECK_KEYS.join(', ')}` } };
  const input = healthCheckInputFromDocument(doc);
  try {
    validateHealthCheck(input, 1, field);
  } catch (e) {
    if (e instanceof ValidationError) return { problem: { field: e.field || field, message: e.problem } };
    throw e;
  }
  return { input };
}
