// The parts of Kubernetes objects xlb reads, as they are on the wire (JSON). Everything is optional
// because the API server omits empty fields and a watch may deliver anything: translate.ts checks
// what it uses. Timestamps are RFC 3339 strings here (lists are normalised to this form too).

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ServicePort {
  name?: string;
  protocol?: string;
  port?: number;
  /** A number, or the name of a container port (resolved in the EndpointSlices). */
  targetPort?: number | string;
}

export interface LoadBalancerIngress {
  ip?: string;
  hostname?: string;
  ipMode?: string;
}

export interface KService {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: {
    type?: string;
    loadBalancerClass?: string;
    loadBalancerIP?: string;
    ipFamilies?: string[];
    ports?: ServicePort[];
    externalTrafficPolicy?: string;
    sessionAffinity?: string;
  };
  status?: { loadBalancer?: { ingress?: LoadBalancerIngress[] } };
}

export interface EndpointConditions {
  ready?: boolean | null;
  serving?: boolean | null;
  terminating?: boolean | null;
}

export interface Endpoint {
  addresses?: string[];
  conditions?: EndpointConditions;
  nodeName?: string;
}

export interface EndpointPort {
  name?: string;
  protocol?: string;
  port?: number;
}

export interface KEndpointSlice {
  metadata?: ObjectMeta;
  addressType?: string;
  endpoints?: Endpoint[] | null;
  ports?: EndpointPort[] | null;
}

export interface KNode {
  metadata?: ObjectMeta;
  status?: { addresses?: { type?: string; address?: string }[] };
}

/** An object with metadata, as every list and watch delivers. */
export interface KObject {
  metadata?: ObjectMeta;
}

/** The label the EndpointSlice controller puts on every slice of a Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** "namespace/name", the key of a namespaced object (and of a cluster-scoped one: "/name"). */
export function objectKey(o: KObject): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}
