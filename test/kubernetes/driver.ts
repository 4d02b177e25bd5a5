// The test's kubectl: the kube API of the stand-in over its unix socket with the admin token, and
// the stand-in's fault controls. Conflicts are retried the way kubectl edit would (read, change,
// write with the version read).
import { request } from 'node:http';
import type { RequestRecord } from './apiserver.js';
import { TOKENS } from './pki.js';
import type { Obj } from './store.js';

const PATHS: Record<string, string> = {
  Service: '/api/v1/namespaces/NS/services',
  EndpointSlice: '/apis/discovery.k8s.io/v1/namespaces/NS/endpointslices',
  Event: '/api/v1/namespaces/NS/events',
  Lease: '/apis/coordination.k8s.io/v1/namespaces/NS/leases',
};

export class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly body: { reason?: string; message?: string },
  ) {
    super(`${code} ${body.reason ?? ''}: ${body.message ?? ''}`);
  }
}

export class KubeDriver {
  constructor(readonly socket: string) {}

  req<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const r = request(
        { socketPath: this.socket, method, path, headers: { authorization: `Bearer ${TOKENS.admin}`, ...(text ? { 'content-type': 'application/json' } : {}) } },
        (res) => {
          let data = '';
          res.setEncoding('utf8').on('data', (d: string) => (data += d));
          res.on('end', () => {
            const parsed = data ? JSON.parse(data) : {};
            if ((res.statusCode ?? 500) >= 300) reject(new HttpError(res.statusCode ?? 500, parsed));
            else resolve(parsed as T);
          });
        },
      );
      r.on('error', reject);
      r.end(text);
    });
  }

  #path(kind: string, ns: string, name?: string): string {
    return `${PATHS[kind]!.replace('NS', ns)}${name ? `/${name}` : ''}`;
  }

  create(o: Obj): Promise<Obj> {
    return this.req('POST', this.#path(o.kind!, o.metadata.namespace!), o);
  }

  get(kind: string, ns: string, name: string): Promise<Obj> {
    return this.req('GET', this.#path(kind, ns, name));
  }

  async list(kind: string, ns: string): Promise<Obj[]> {
    return (await this.req<{ items: Obj[] }>('GET', this.#path(kind, ns))).items;
  }

  delete(kind: string, ns: string, name: string): Promise<Obj> {
    return this.req('DELETE', this.#path(kind, ns, name));
  }

  /** Read, change, write back (again on a conflict). */
  async edit(kind: string, ns: string, name: string, change: (o: Obj) => void): Promise<Obj> {
    for (;;) {
      const o = await this.get(kind, ns, name);
      change(o);
      try {
        return await this.req('PUT', this.#path(kind, ns, name), o);
      } catch (e) {
        if (!(e instanceof HttpError && e.code === 409)) throw e;
      }
    }
  }

  /** Creates the object, or replaces its content when it exists (status kept). */
  async apply(o: Obj): Promise<Obj> {
    try {
      return await this.create(o);
    } catch (e) {
      if (!(e instanceof HttpError && e.code === 409)) throw e;
      return this.edit(o.kind!, o.metadata.namespace!, o.metadata.name!, (cur) => {
        for (const k of Object.keys(o)) if (k !== 'metadata' && k !== 'status') cur[k] = o[k];
        cur.metadata.annotations = o.metadata.annotations;
        cur.metadata.labels = o.metadata.labels;
      });
    }
  }

  async ingress(ns: string, name: string): Promise<string[]> {
    const o = await this.get('Service', ns, name);
    return ((o.status?.loadBalancer as { ingress?: { ip: string }[] } | undefined)?.ingress ?? []).map((i) => i.ip);
  }

  async events(ns: string, name: string): Promise<string[]> {
    return (await this.list('Event', ns))
      .filter((e) => (e.involvedObject as { name: string }).name === name)
      .map((e) => `${e.type} ${e.reason}: ${e.message}`);
  }

  // ---- the stand-in's fault controls ----
  compact(): Promise<unknown> {
    return this.req('POST', '/xlb-test/compact');
  }
  openWatches(): Promise<{ open: number }> {
    return this.req('GET', '/xlb-test/watches');
  }
  breakWatches(): Promise<{ broken: number }> {
    return this.req('POST', '/xlb-test/break-watches');
  }
  unreachable(): Promise<unknown> {
    return this.req('POST', '/xlb-test/unreachable');
  }
  reachable(): Promise<unknown> {
    return this.req('POST', '/xlb-test/reachable');
  }
  requests(): Promise<RequestRecord[]> {
    return this.req('GET', '/xlb-test/requests');
  }
}
