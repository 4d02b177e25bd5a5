#!/usr/bin/env node
// UDP listener for decap tests: binds ADDRESS:PORT (e.g. a VIP on lo) and prints one JSON line per
// datagram: {"from":"10.1.1.2","fromPort":1234,"to":"10.100.0.10","data":"..."}. With --echo it
// also answers each datagram with the same payload, from the bound address.
// Prints "bound ADDRESS PORT" when ready.
import dgram from 'node:dgram';
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { address: { type: 'string' }, port: { type: 'string' }, echo: { type: 'boolean', default: false } },
});
if (!values.address || !values.port || !net.isIP(values.address)) {
  process.stderr.write('usage: udp-sink.mjs --address IP --port PORT [--echo]\n');
  process.exit(2);
}
const sock = dgram.createSocket(net.isIPv6(values.address) ? 'udp6' : 'udp4');
sock.on('message', (msg, rinfo) => {
  process.stdout.write(`${JSON.stringify({ from: rinfo.address, fromPort: rinfo.port, to: values.address, data: msg.toString('utf8') })}\n`);
  if (values.echo) sock.send(msg, rinfo.port, rinfo.address);
});
sock.on('error', (err) => {
  process.stderr.write(`udp-sink: ${err.message}\n`);
  process.exit(1);
});
sock.bind(Number(values.port), values.address, () => process.stdout.write(`bound ${values.address} ${values.port}\n`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
