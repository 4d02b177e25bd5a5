#!/usr/bin/env node
// A pool of long-lived HTTP/1.1 keep-alive connections, driven step by step over stdin so a test can
// change the LB between requests and see, per TCP connection, what happened. Run inside a client
// namespace. One JSON command per stdin line, one JSON answer per stdout line:
//   {"op":"open","host":H,"port":P,"count":N[,"path":"/"]} → {"op":"open","conns":[{id,localAddress,localPort,backend|error}]}
//   {"op":"round"[,"path":"/"]}                          → {"op":"round","results":[{id,backend|error}]}
//   {"op":"close"}                                        → {"op":"close"} and exit
// Every connection is one socket for its whole life: it is never silently re-opened, so a reset or
// a timeout shows up as that connection's error and it stays dead ("closed") afterwards.
// The pool exits when stdin ends (its test process is gone), so it never outlives its owner.
import net from 'node:net';
import readline from 'node:readline';

const TIMEOUT_MS = Number(process.env.CONN_POOL_TIMEOUT_MS ?? 3000);
let conns = [];
let nextId = 0;

class Conn {
  constructor(host, port) {
    this.id = nextId++;
    this.host = host;
    this.error = undefined;
    this.buf = Buffer.alloc(0);
    this.waiter = undefined;
    this.socket = net.connect({ host, port });
    this.socket.setNoDelay(true);
    this.connected = new Promise((resolve) => {
      this.socket.once('connect', () => resolve(true));
      this.socket.once('error', () => resolve(false));
    });
    this.socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.tryParse();
    });
    this.socket.on('error', (e) => this.fail(e.code ?? 'ERROR'));
    this.socket.on('close', () => this.fail('CLOSED'));
  }

  fail(code) {
    if (this.error === undefined) this.error = code;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(code);
  }

  tryParse() {
    if (!this.waiter) return;
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.buf.subarray(0, end).toString('latin1').split('\r\n');
    const headers = Object.fromEntries(head.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const length = Number(headers['content-length'] ?? 0);
    if (this.buf.length < end + 4 + length) return;
    const status = Number(head[0].split(' ')[1]);
    this.buf = this.buf.subarray(end + 4 + length);
    const w = this.waiter;
    this.waiter = undefined;
    if (status !== 200) w.reject(`HTTP_${status}`);
    else w.resolve(headers['x-backend']);
  }

  /** One GET on this connection; resolves to the backend name, rejects with an error code. */
  request(path) {
    if (this.error !== undefined) return Promise.reject(this.error === 'CLOSED' ? 'CLOSED' : 'DEAD');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail('ETIMEDOUT');
        this.socket.destroy();
      }, TIMEOUT_MS);
      this.waiter = {
        resolve: (b) => (clearTimeout(timer), resolve(b)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
      this.socket.write(`GET ${path} HTTP/1.1\r\nHost: ${this.host}\r\nConnection: keep-alive\r\n\r\n`);
    });
  }
}

async function requestAll(list, path) {
  return Promise.all(list.map(async (c) => {
    try {
      return { id: c.id, backend: await c.request(path) };
    } catch (e) {
      return { id: c.id, error: String(e) };
    }
  }));
}

async function handle(cmd) {
  switch (cmd.op) {
    case 'open': {
      const fresh = Array.from({ length: cmd.count }, () => new Conn(cmd.host, cmd.port));
      conns.push(...fresh);
      await Promise.all(fresh.map((c) => c.connected));
      const results = await requestAll(fresh, cmd.path ?? '/');
      return {
        op: 'open',
        conns: results.map((r, i) => ({ ...r, localAddress: fresh[i].socket.localAddress, localPort: fresh[i].socket.localPort })),
      };
    }
    case 'round':
      return { op: 'round', results: await requestAll(conns, cmd.path ?? '/') };
    case 'close':
      for (const c of conns) c.socket.destroy();
      conns = [];
      return { op: 'close' };
    default:
      return { op: 'error', error: `unknown op ${JSON.stringify(cmd.op)}` };
  }
}

const rl = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
rl.on('line', (line) => {
  queue = queue.then(async () => {
    let answer;
    try {
      answer = await handle(JSON.parse(line));
    } catch (e) {
      answer = { op: 'error', error: String(e?.message ?? e) };
    }
    process.stdout.write(`${JSON.stringify(answer)}\n`);
    if (answer.op === 'close') process.exit(0);
  });
});
rl.on('close', () => queue.then(() => process.exit(0)));
