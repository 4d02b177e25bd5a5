#!/usr/bin/env node
// Lab backend HTTP server, run inside a backend namespace (plain JS so it starts without a build).
//   GET /         → "<name>\n"
//   GET /bytes/N  → N bytes (large downloads: PMTU, DSR throughput)
//   GET /health   → "ok\n"
//   POST /upload  → "<name> <bytes received>\n" (large uploads: the direction that crosses the LB)
// Every response carries `x-backend: <name>`. Listens on [::]:PORT dual-stack, i.e. on the backend's
// own addresses and on the VIPs configured on lo (--host ADDRESS: on that address only, e.g. a VIP,
// like a DSR backend that serves nothing on its own address). Prints "listening <name> <port>".
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { name: { type: 'string' }, port: { type: 'string', default: '80' }, host: { type: 'string', default: '::' } },
});
if (!values.name) {
  process.stderr.write('usage: http-backend.mjs --name NAME [--port PORT] [--host ADDRESS]\n');
  process.exit(2);
}
const name = values.name;
const port = Number(values.port);
const MAX_BYTES = 4 * 1024 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'x');

function sendBytes(res, total) {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total), 'x-backend': name });
  let left = total;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

const server = http.createServer((req, res) => {
  const text = (status, body) => {
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'x-backend': name });
    res.end(body);
  };
  if (req.method === 'POST' && req.url === '/upload') {
    let received = 0;
    req.on('data', (d) => (received += d.length));
    req.on('end', () => text(200, `${name} ${received}\n`));
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'method not allowed\n');
  if (req.url === '/') return text(200, `${name}\n`);
  if (req.url === '/health') return text(200, 'ok\n');
  const m = /^\/bytes\/(\d+)$/.exec(req.url ?? '');
  if (m) {
    const n = Number(m[1]);
    if (n > MAX_BYTES) return text(400, `at most ${MAX_BYTES} bytes\n`);
    return sendBytes(res, n);
  }
  return text(404, 'not found\n');
});
// Keep-alive tests hold connections across pauses (e.g. while the VIP route moves).
server.keepAliveTimeout = 120_000;
server.headersTimeout = 125_000;

function listen(host, ipv6Only) {
  server.once('error', (err) => {
    if (host === '::' && (err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL')) return listen('0.0.0.0', false);
    process.stderr.write(`listen failed: ${err.message}\n`);
    process.exit(1);
  });
  server.listen({ host, port, ipv6Only }, () => process.stdout.write(`listening ${name} ${port}\n`));
}
listen(values.host, false);

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
