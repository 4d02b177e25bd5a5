#!/usr/bin/env node
// Lab client load: run inside a client namespace, prints one JSON object and exits.
//   new connections:  --url U --connections N [--concurrency C]
//   keep-alive:       --url U --keepalive K --requests R [--interval-ms I]
// Common: --timeout-ms (per request, default 3000), --deadline-ms (whole run, default 60000),
//         --local-address IP, --post-bytes N (POST N bytes instead of GET, e.g. to /upload).
// Output: {mode, ok, failed, resets, timeouts, errors:{code:n}, perBackend:{b1:n}, connections,
//          reconnects, backendSwitches, bytes, durationMs, deadlineHit}
// The backend of a response is its x-backend header (see http-backend.mjs). In keep-alive mode a
// connection that is answered by two different backends counts as a backendSwitch; one that had to
// reconnect counts as a reconnect.
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    connections: { type: 'string' },
    concurrency: { type: 'string', default: '16' },
    keepalive: { type: 'string' },
    requests: { type: 'string', default: '10' },
    'interval-ms': { type: 'string', default: '0' },
    'timeout-ms': { type: 'string', default: '3000' },
    'deadline-ms': { type: 'string', default: '60000' },
    'local-address': { type: 'string' },
    'post-bytes': { type: 'string' },
  },
});

function intArg(name, v, min) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`http-load: --${name} must be an integer >= ${min}, got ${v}\n`);
    process.exit(2);
  }
  return n;
}
if (!values.url || (values.connections === undefined) === (values.keepalive === undefined)) {
  process.stderr.write('usage: http-load.mjs --url URL (--connections N | --keepalive K --requests R)\n');
  process.exit(2);
}
const url = new URL(values.url);
const timeoutMs = intArg('timeout-ms', values['timeout-ms'], 1);
const deadlineMs = intArg('deadline-ms', values['deadline-ms'], 1);
const intervalMs = intArg('interval-ms', values['interval-ms'], 0);
const postBody = values['post-bytes'] !== undefined ? Buffer.alloc(intArg('post-bytes', values['post-bytes'], 0), 'u') : undefined;
const started = Date.now();
const deadline = started + deadlineMs;

const result = {
  mode: values.keepalive !== undefined ? 'keepalive' : 'connections',
  ok: 0, failed: 0, resets: 0, timeouts: 0, errors: {}, perBackend: {},
  connections: 0, reconnects: 0, backendSwitches: 0, bytes: 0, durationMs: 0, deadlineHit: false,
};

function finish() {
  result.durationMs = Date.now() - started;
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
// Hard bound: whatever is still in flight after the deadline plus one request timeout is abandoned.
setTimeout(() => {
  result.deadlineHit = true;
  finish();
}, deadlineMs + timeoutMs + 1000).unref();

function recordError(code) {
  result.failed++;
  result.errors[code] = (result.errors[code] ?? 0) + 1;
  if (code === 'ECONNRESET') result.resets++;
  if (code === 'ETIMEDOUT') result.timeouts++;
}

/** One GET; resolves to {backend, socket} or undefined on failure (already counted). */
function get(agent) {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (v) => {
      if (!settled) {
        settled = true;
        resolve(v);
      }
    };
    const req = http.request(url, {
      method: postBody ? 'POST' : 'GET',
      agent,
      timeout: timeoutMs,
      ...(values['local-address'] ? { localAddress: values['local-address'] } : {}),
      headers: {
        ...(agent ? {} : { connection: 'close' }),
        ...(postBody ? { 'content-length': String(postBody.length) } : {}),
      },
    });
    let socket;
    req.on('socket', (s) => (socket = s));
    req.on('timeout', () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (err) => {
      if (!settled) recordError(err.code ?? 'ERROR');
      settle(undefined);
    });
    req.on('response', (res) => {
      let bytes = 0;
      let body = '';
      res.on('data', (d) => {
        bytes += d.length;
        if (body.length < 256) body += d.toString('utf8', 0, Math.min(d.length, 256));
      });
      res.on('error', (err) => {
        if (!settled) recordError(err.code ?? 'ERROR');
        settle(undefined);
      });
      res.on('end', () => {
        const expected = res.headers['content-length'];
        if (res.statusCode !== 200 || (expected !== undefined && Number(expected) !== bytes)) {
          recordError(res.statusCode !== 200 ? `HTTP_${res.statusCode}` : 'SHORT_BODY');
          return settle(undefined);
        }
        const backend = String(res.headers['x-backend'] ?? body.trim());
        result.ok++;
        result.bytes += bytes;
        result.perBackend[backend] = (result.perBackend[backend] ?? 0) + 1;
        settle({ backend, socket });
      });
    });
    req.end(postBody);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function newConnections(total, concurrency) {
  let next = 0;
  const worker = async () => {
    while (next < total && Date.now() < deadline) {
      next++;
      result.connections++;
      await get(false);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
}

async function keepAliveConnection(requests) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const backends = new Set();
  const sockets = new Set();
  result.connections++;
  for (let i = 0; i < requests && Date.now() < deadline; i++) {
    if (i > 0 && intervalMs > 0) await sleep(intervalMs);
    const r = await get(agent);
    if (r) {
      backends.add(r.backend);
      if (r.socket) sockets.add(r.socket);
    }
  }
  agent.destroy();
  if (backends.size > 1) result.backendSwitches++;
  if (sockets.size > 1) result.reconnects += sockets.size - 1;
}

if (values.connections !== undefined) {
  await newConnections(intArg('connections', values.connections, 1), intArg('concurrency', values.concurrency, 1));
} else {
  const k = intArg('keepalive', values.keepalive, 1);
  const r = intArg('requests', values.requests, 1);
  await Promise.all(Array.from({ length: k }, () => keepAliveConnection(r)));
}
finish();
