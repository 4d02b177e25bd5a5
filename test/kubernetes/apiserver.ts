// The Kubernetes API server stand-in: the subset xlbd uses, over real HTTPS with bearer tokens,
// on top of store.ts (objects, versions, 410, conflicts) and rbac.ts (the manifests' rules). A real
// kube-apiserver cannot be installed here; everything xlbd relies on is reproduced with the real
// API's wire format, and test/kubernetes/apiserver.unit.test.ts checks it with the official client.
//
// Test controls (for faults): compact() (every older watch version → 410), breakWatches() (cut
// every watch mid-stream), setReachable(false) (close the listener and every connection on it, as
// if the network were gone). With a unix socket listener (plain HTTP) a test in another network
// namespace drives the same server: the kube API plus POST /xlb-test/{compact,break-watches,
// unreachable,reachable} and GET /xlb-test/{requests,watches}, for the admin token only.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { ApiError, resourceType, Store, type Obj, type ResourceType } from './store.js';
import { forbiddenMessage, Rbac, requestAttributes, type Manifest, type RequestAttributes } from './rbac.js';

export interface Identity {
  /** "system:serviceaccount:NS:NAME" or a plain user name. */
  user: string;
  /** Set for service accounts: their RBAC bindings apply. Absent: everything is allowed (admin). */
  serviceAccount?: { namespace: string; name: string };
}

export interface ApiServerOptions {
  cert: string;
  key: string;
  /** bearer token → identity */
  tokens: Record<string, Identity>;
  /** RBAC manifests enforced for service accounts (default: none, i.e. service accounts are denied). */
  manifests?: readonly Manifest[];
  /** How often watches with allowWatchBookmarks get a BOOKMARK (default 1000 ms). */
  bookmarkIntervalMs?: number;
  historyLimit?: number;
}

export interface RequestRecord extends RequestAttributes {
  user: string;
  code: number;
  /** The client's address (several xlbd share one service account; this tells them apart). */
  remote: string;
}

interface WatchConn {
  res: ServerResponse;
  close(): void;
}

export class ApiServerStandIn {
  readonly store: Store;
  readonly requests: RequestRecord[] = [];
  readonly #o: ApiServerOptions;
  readonly #rbac: Rbac;
  readonly #https: Server;
  readonly #watches = new Set<WatchConn>();
  readonly #sockets = new Set<Socket>();
  #unix: Server | undefined;
  #port = 0;
  #host = '127.0.0.1';
  #reachable = true;

  constructor(o: ApiServerOptions) {
    this.#o = o;
    this.store = new Store(o.historyLimit);
    this.#rbac = new Rbac(o.manifests ?? []);
    this.#https = createHttpsServer({ cert: o.cert, key: o.key }, (req, res) => this.#handle(req, res));
    this.#https.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    this.#https.on('secureConnection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<{ port: number; url: string }> {
    this.#host = host;
    await new Promise<void>((resolve, reject) => {
      this.#https.once('error', reject);
      this.#https.listen(port, host, () => resolve());
    });
    this.#port = (this.#https.address() as AddressInfo).port;
    return { port: this.#port, url: this.url };
  }

  get url(): string {
    return `https://${this.#host.includes(':') ? `[${this.#host}]` : this.#host}:${this.#port}`;
  }

  /** Plain HTTP on a unix socket, for drivers in another network namespace. */
  async listenUnix(path: string): Promise<void> {
    this.#unix = createHttpServer((req, res) => this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.#unix!.once('error', reject);
      this.#unix!.listen(path, () => resolve());
    });
  }

  // ---- faults ----------------------------------------------------------------------------------

  compact(upTo?: number): void {
    this.store.compact(upTo);
  }

  /** Ends every watch cleanly, as the server does when a watch's timeoutSeconds is up. */
  endWatches(): number {
    const n = this.#watches.size;
    for (const w of [...this.#watches]) w.close();
    return n;
  }

  /** Cuts every watch connection mid-stream (no final event, the TCP connection is destroyed). */
  breakWatches(): number {
    const n = this.#watches.size;
    for (const w of [...this.#watches]) {
      w.res.socket?.destroy();
      w.close();
    }
    return n;
  }

  /** false: stop listening and destroy every connection (clients see refused connections); true: listen again on the same port. */
  async setReachable(reachable: boolean): Promise<void> {
    if (reachable === this.#reachable) return;
    this.#reachable = reachable;
    if (!reachable) {
      await new Promise<void>((resolve) => {
        this.#https.close(() => resolve());
        for (const s of this.#sockets) s.destroy();
        for (const w of [...this.#watches]) w.close();
      });
    } else {
      await new Promise<void>((resolve, reject) => {
        this.#https.once('error', reject);
        this.#https.listen(this.#port, this.#host, () => resolve());
      });
    }
  }

  async close(): Promise<void> {
    for (const w of [...this.#watches]) w.close();
    for (const s of this.#sockets) s.destroy();
    await Promise.all([
      new Promise<void>((resolve) => (this.#https.listening ? this.#https.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => (this.#unix ? this.#unix.close(() => resolve()) : resolve())),
    ]);
  }

  // ---- HTTP ------------------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://stand-in');
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const who = token === undefined ? undefined : this.#o.tokens[token];
    const attrs = requestAttributes(req.method ?? 'GET', url);
    const record = (code: number) => {
      if (attrs) this.requests.push({ ...attrs, user: who?.user ?? 'system:anonymous', code, remote: req.socket.remoteAddress ?? 'unix' });
    };
    try {
      if (!who) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      if (url.pathname.startsWith('/xlb-test/')) {
        if (who.serviceAccount) throw new ApiError(403, 'Forbidden', 'test controls are for the admin token');
        return this.#control(url.pathname.slice('/xlb-test/'.length), res);
      }
      if (!attrs) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      if (who.serviceAccount && !this.#rbac.allows(who.serviceAccount, attrs)) throw new ApiError(403, 'Forbidden', forbiddenMessage(who.user, attrs));
      const type = this.#type(url);
      if (attrs.subresource && !type.subresources.includes(attrs.subresource)) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      const ns = type.namespaced ? attrs.namespace || undefined : undefined;
      if (attrs.verb === 'watch') {
        record(200);
        return this.#watch(type, ns, url, res);
      }
      let status = 200;
      let out: unknown;
      switch (attrs.verb) {
        case 'list':
          out = this.#list(type, ns);
          break;
        case 'get':
          out = this.store.get(type, ns, attrs.name);
          break;
        case 'create':
          out = this.store.create(type, ns, await body(req));
          status = 201;
          break;
        case 'update':
          out = this.store.update(type, ns, attrs.name, await body(req), attrs.subresource || undefined);
          break;
        case 'delete':
          out = this.store.delete(type, ns, attrs.name);
          break;
        default:
          throw new ApiError(405, 'MethodNotAllowed', `${attrs.verb} is not supported by the stand-in`);
      }
      record(status);
      send(res, status, out);
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(500, 'InternalError', (e as Error).message);
      record(err.code);
      send(res, err.code, err.toStatus());
    }
  }

  #type(url: URL): ResourceType {
    const parts = url.pathname.split('/').filter(Boolean);
    const [group, version, rest] = parts[0] === 'api' ? ['', parts[1]!, parts.slice(2)] : [parts[1]!, parts[2]!, parts.slice(3)];
    const plural = rest[0] === 'namespaces' && rest.length >= 3 ? rest[2]! : rest[0]!;
    const t = resourceType(group, version, plural);
    if (!t) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    return t;
  }

  #list(type: ResourceType, ns: string | undefined): unknown {
    return {
      kind: `${type.kind}List`,
      apiVersion: type.group ? `${type.group}/${type.version}` : type.version,
      metadata: { resourceVersion: String(this.store.revision) },
      // Items of a list carry no kind/apiVersion on the wire.
      items: this.store.list(type, ns).map(({ apiVersion: _a, kind: _k, ...rest }) => rest),
    };
  }

  #watch(type: ResourceType, ns: string | undefined, url: URL, res: ServerResponse): void {
    const rvParam = url.searchParams.get('resourceVersion') ?? '';
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? '1800');
    const bookmarks = url.searchParams.get('allowWatchBookmarks') === 'true';
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders(); // the client's fetch resolves on the headers, before any event
    const write = (type_: string, object: unknown) => res.write(`${JSON.stringify({ type: type_, object })}\n`);
    let backlog: { type: string; object: Obj }[];
    try {
      if (rvParam === '' || rvParam === '0') {
        // "Any version": the current state as ADDED events, then changes.
        backlog = this.store.list(type, ns).map((object) => ({ type: 'ADDED', object }));
      } else {
        const rv = Number(rvParam);
        if (!Number.isInteger(rv)) throw new ApiError(400, 'BadRequest', `invalid resource version: ${rvParam}`);
        backlog = this.store.since(rv, type, ns).map((e) => ({ type: e.type, object: e.object }));
      }
    } catch (e) {
      // An expired version is reported as an ERROR event on a 200 response, then the watch ends.
      const err = e instanceof ApiError ? e : new ApiError(500, 'InternalError', (e as Error).message);
      write('ERROR', err.toStatus());
      res.end();
      return;
    }
    for (const b of backlog) write(b.type, b.object);
    const unsubscribe = this.store.subscribe((e) => {
      if (e.resource !== type || (ns && e.object.metadata.namespace !== ns)) return;
      write(e.type, e.object);
    });
    const bookmark = bookmarks
      ? setInterval(() => write('BOOKMARK', { kind: type.kind, apiVersion: type.group ? `${type.group}/${type.version}` : type.version, metadata: { resourceVersion: String(this.store.revision) } }), this.#o.bookmarkIntervalMs ?? 1000)
      : undefined;
    const end = setTimeout(() => conn.close(), timeout * 1000);
    const conn: WatchConn = {
      res,
      close: () => {
        unsubscribe();
        clearInterval(bookmark);
        clearTimeout(end);
        this.#watches.delete(conn);
        if (!res.writableEnded) res.end();
      },
    };
    this.#watches.add(conn);
    res.on('close', () => conn.close());
  }

  async #control(what: string, res: ServerResponse): Promise<void> {
    switch (what) {
      case 'compact':
        this.compact();
        return send(res, 200, { compacted: this.store.compactedRevision });
      case 'break-watches':
        return send(res, 200, { broken: this.breakWatches() });
      case 'unreachable':
        send(res, 200, {});
        return this.setReachable(false);
      case 'reachable':
        await this.setReachable(true);
        return send(res, 200, {});
      case 'requests':
        return send(res, 200, this.requests);
      case 'watches':
        return send(res, 200, { open: this.#watches.size });
      default:
        return send(res, 404, new ApiError(404, 'NotFound', `no test control ${what}`).toStatus());
    }
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function body(req: IncomingMessage): Promise<Obj> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Obj;
  } catch (e) {
    throw new ApiError(400, 'BadRequest', `invalid JSON body: ${(e as Error).message}`);
  }
}
