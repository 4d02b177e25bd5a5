// A small promise-based xlb.v1 client for tests, built straight on @grpc/grpc-js and the .proto
// (not on api/client, so the server is checked against the contract, not against our own client).
import * as grpc from '@grpc/grpc-js';
import { loadXlbProto } from '../../api/generated/load.js';
import type { LoadBalancerClient } from '../../api/generated/xlb/v1/LoadBalancer.js';

export interface CallError {
  code: number;
  codeName: string;
  details: string;
}

type Unary = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: unknown) => void) => unknown;

export class TestClient {
  readonly raw: LoadBalancerClient;

  constructor(target: string, creds: grpc.ChannelCredentials = grpc.credentials.createInsecure(), options: grpc.ChannelOptions = {}) {
    const proto = loadXlbProto();
    this.raw = new proto.xlb.v1.LoadBalancer(target, creds, options);
  }

  /** Calls a LoadBalancer method by name; rejects with the ServiceError. */
  call<T = any>(method: string, req: object = {}, timeoutMs = 15_000): Promise<T> {
    const fn = (this.raw as unknown as Record<string, Unary>)[method];
    if (typeof fn !== 'function') throw new Error(`no method ${method}`);
    return new Promise((resolve, reject) => {
      fn.call(this.raw, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (e, r) => (e ? reject(e) : resolve(r as T)));
    });
  }

  /** Calls and expects a failure; returns its code and message (throws if the call succeeded). */
  async fail(method: string, req: object = {}): Promise<CallError> {
    try {
      const r = await this.call(method, req);
      throw new Error(`${method} succeeded but was expected to fail: ${JSON.stringify(r)}`);
    } catch (e) {
      const se = e as grpc.ServiceError;
      if (typeof se.code !== 'number') throw e;
      return { code: se.code, codeName: grpc.status[se.code] ?? String(se.code), details: se.details };
    }
  }

  close(): void {
    this.raw.close();
  }
}
