// One call (GetStatus unless told otherwise) from inside a lab namespace (where the daemon's loopback TCP listener is),
// with the credentials given; prints {ok, code, details} as JSON. Run with
// `node --import test/lab/ts-register.mjs test/daemon/grpc-probe.ts '{"target": ..., ...}'`.
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { TestClient } from './grpc.js';

interface ProbeArgs {
  target: string;
  /** Plaintext (no TLS at all). */
  plaintext?: boolean;
  /** CA to verify the server with; cert/key: the client's certificate, if any. */
  ca?: string;
  cert?: string;
  key?: string;
  /** Default GetStatus (answers with the instance name). */
  method?: string;
  request?: object;
}

async function probe(args: ProbeArgs): Promise<{ ok: boolean; code: number; details: string }> {
  const creds = args.plaintext
    ? grpc.credentials.createInsecure()
    : grpc.credentials.createSsl(
        args.ca ? readFileSync(args.ca) : null,
        args.key ? readFileSync(args.key) : null,
        args.cert ? readFileSync(args.cert) : null,
      );
  const client = new TestClient(args.target, creds);
  try {
    const r = (await client.call(args.method ?? 'GetStatus', args.request ?? {}, 5000)) as { instance?: string };
    return { ok: true, code: 0, details: r.instance ?? '' };
  } catch (e) {
    return { ok: false, code: (e as grpc.ServiceError).code, details: (e as grpc.ServiceError).details };
  } finally {
    client.close();
  }
}

// One object: one call, one result line. A list: the calls in order (one process start for all).
const input = JSON.parse(process.argv[2] ?? '{}') as ProbeArgs | ProbeArgs[];
void (async () => {
  const out = Array.isArray(input) ? await Promise.all(input.map((a) => probe(a))) : await probe(input);
  process.stdout.write(`${JSON.stringify(out)}\n`);
})();
