// One GetStatus call from inside a lab namespace (where the daemon's loopback TCP listener is),
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
}

const args = JSON.parse(process.argv[2] ?? '{}') as ProbeArgs;
const creds = args.plaintext
  ? grpc.credentials.createInsecure()
  : grpc.credentials.createSsl(
      args.ca ? readFileSync(args.ca) : null,
      args.key ? readFileSync(args.key) : null,
      args.cert ? readFileSync(args.cert) : null,
    );
const client = new TestClient(args.target, creds);
client
  .call('GetStatus', {}, 5000)
  .then(
    (r: { instance: string }) => ({ ok: true, code: 0, details: r.instance }),
    (e: grpc.ServiceError) => ({ ok: false, code: e.code, details: e.details }),
  )
  .then((out) => {
    process.stdout.write(`${JSON.stringify(out)}\n`);
    client.close();
  });
