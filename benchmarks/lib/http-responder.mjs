#!/usr/bin/env node
// The health benchmark's backend: answers every request on a connection with one fixed, complete
// HTTP/1.1 200 response and closes. It stands in for a production web server's cheapest path so
// that the figure measured is xlbd's prober, not Node's http module on the same two cores (the
// lab's full HTTP server topped out near 6700 requests/s there). Runs inside a lab namespace;
// prints "listening <port>".
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string', default: '80' } } });
const port = Number(values.port);
const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n');

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on('error', () => {}); // probes of the tcp kind reset the connection at once
  socket.once('data', () => socket.end(RESPONSE));
});
server.listen({ host: '::', port, backlog: 4096 }, () => process.stdout.write(`listening ${port}\n`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
