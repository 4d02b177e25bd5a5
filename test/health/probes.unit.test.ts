// The native prober (the addon's prober thread) against the Node-socket prober, on loopback: every
// outcome the state machine and the status views rely on must read the same from both — success,
// "connect refused", "HTTP 503", "not an HTTP response", "connection closed without a response",
// "timeout (no response)", UDP replies, "port unreachable", "timeout (no reply)", and a taken local
// port (portBusy). Many probes at once, with local ports, end with one result each.
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareProbe, runProbe, runProbeInJs, type ProbeSpec } from '../../lb/health/index.js';

const LO = '127.0.0.1';
const servers: { close(): void }[] = [];

function tcpServer(onSocket: (s: net.Socket) => void, host = LO): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer((s) => {
      s.on('error', () => {});
      onSocket(s);
    });
    srv.listen({ port: 0, host, backlog: 4096 }, () => resolve((srv.address() as net.AddressInfo).port));
    servers.push(srv);
  });
}

function udpServer(echo: boolean): Promise<number> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    sock.on('message', (m, rinfo) => echo && sock.send(m, rinfo.port, rinfo.address));
    sock.bind(0, LO, () => resolve(sock.address().port));
    servers.push(sock);
  });
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, LO, r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

let ports: Record<string, number>;

beforeAll(async () => {
  const reply = (text: string) => (s: net.Socket) => s.once('data', () => s.end(text));
  ports = {
    ok: await tcpServer(reply('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')),
    ok6: await tcpServer(reply('HTTP/1.1 204 No Content\r\n\r\n'), '::1'),
    unavailable: await tcpServer(reply('HTTP/1.0 503 Service Unavailable\r\n\r\n')),
    garbage: await tcpServer(reply('SSH-2.0-OpenSSH\r\n')),
    hangup: await tcpServer((s) => s.once('data', () => s.end())),
    silent: await tcpServer(() => {}),
    closed: await closedPort(),
    echo: await udpServer(true),
    mute: await udpServer(false),
  };
});

afterAll(() => {
  for (const s of servers) s.close();
});

const spec = (s: Partial<ProbeSpec> & Pick<ProbeSpec, 'kind' | 'port'>): ProbeSpec => ({ address: LO, timeoutMs: 500, ...s });

describe('the native prober reads every outcome as the Node-socket prober does', () => {
  const cases: [string, () => ProbeSpec, object][] = [
    ['tcp connect', () => spec({ kind: 'tcp', port: ports.ok! }), { ok: true }],
    ['tcp refused', () => spec({ kind: 'tcp', port: ports.closed! }), { ok: false, error: 'connect refused' }],
    ['http 200', () => spec({ kind: 'http', port: ports.ok!, path: '/health' }), { ok: true }],
    ['http 503', () => spec({ kind: 'http', port: ports.unavailable! }), { ok: false, error: 'HTTP 503' }],
    ['http 503 expected', () => spec({ kind: 'http', port: ports.unavailable!, expectStatus: { min: 500, max: 503 } }), { ok: true }],
    ['http, not HTTP', () => spec({ kind: 'http', port: ports.garbage! }), { ok: false, error: 'not an HTTP response' }],
    ['http, closed', () => spec({ kind: 'http', port: ports.hangup! }), { ok: false, error: 'connection closed without a response' }],
    ['http, silent', () => spec({ kind: 'http', port: ports.silent!, timeoutMs: 200 }), { ok: false, error: 'timeout (no response)' }],
    ['http refused', () => spec({ kind: 'http', port: ports.closed! }), { ok: false, error: 'connect refused' }],
    ['http over IPv6', () => spec({ kind: 'http', address: '::1', port: ports.ok6! }), { ok: true }],
    ['tcp over IPv6, refused', () => spec({ kind: 'tcp', address: '::1', port: ports.closed! }), { ok: false, error: 'connect refused' }],
    ['udp reply', () => spec({ kind: 'udp', port: ports.echo!, payload: Buffer.from('ping') }), { ok: true }],
    ['udp no reply', () => spec({ kind: 'udp', port: ports.mute!, timeoutMs: 200 }), { ok: false, error: 'timeout (no reply)' }],
    ['udp unreachable', () => spec({ kind: 'udp', port: ports.closed! }), { ok: false, error: 'port unreachable' }],
  ];
  for (const [name, make, expected] of cases) {
    it(name, async () => {
      const s = make();
      expect(await runProbeInJs(s)).toEqual(expected);
      expect(await runProbe(s)).toEqual(expected);
      expect(await runProbe(prepareProbe(make()))).toEqual(expected);
    });
  }

  it('a local port someone else holds is portBusy (not the backend\'s fault)', async () => {
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '0.0.0.0', r));
    const taken = (holder.address() as net.AddressInfo).port;
    try {
      const s = spec({ kind: 'tcp', port: ports.ok!, localPort: taken });
      const expected = { ok: false, error: 'local port in use', portBusy: true };
      expect(await runProbeInJs(s)).toEqual(expected);
      expect(await runProbe(s)).toEqual(expected);
    } finally {
      holder.close();
    }
  });

  it('two thousand probes at once end with one result each', async () => {
    const base = prepareProbe(spec({ kind: 'http', port: ports.ok!, path: '/', timeoutMs: 5000 }));
    const results = await Promise.all(Array.from({ length: 2000 }, () => runProbe({ ...base })));
    const errors: Record<string, number> = {};
    for (const r of results) if (!r.ok) errors[r.error!] = (errors[r.error!] ?? 0) + 1;
    expect(errors).toEqual({});
  });
});
