// The API server stand-in as a process of its own, for lab tests: it runs in a lab namespace (the
// router's, so every LB node reaches it through its gateway) and serves HTTPS there, plus plain
// HTTP on a unix socket for the test process (another network namespace) to drive it.
//   node --import test/lab/ts-register.mjs test/kubernetes/apiserver-main.ts CONFIG.json
// CONFIG: { port, host, certFile, keyFile, socket, manifestsDir, bookmarkIntervalMs }
import { readFileSync } from 'node:fs';
import { ApiServerStandIn } from './apiserver.js';
import { standInIdentities } from './pki.js';
import { readManifests } from './rbac.js';

const c = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as {
  port: number;
  host: string;
  certFile: string;
  keyFile: string;
  socket: string;
  manifestsDir: string;
  bookmarkIntervalMs?: number;
};
const server = new ApiServerStandIn({
  cert: readFileSync(c.certFile, 'utf8'),
  key: readFileSync(c.keyFile, 'utf8'),
  tokens: standInIdentities(),
  manifests: readManifests(c.manifestsDir).map((m) => m.doc),
  bookmarkIntervalMs: c.bookmarkIntervalMs,
});
await server.listen(c.port, c.host);
await server.listenUnix(c.socket);
process.stdout.write(`listening ${server.url} and ${c.socket}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
