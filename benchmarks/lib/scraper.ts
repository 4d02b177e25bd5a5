// Prometheus scrapes of an xlbd that runs in a network namespace: this file is run as a child
// process inside that namespace (nsenter --net) and takes commands on stdin, one JSON per line:
//   { "n": 1 }                      one scrape; answers { "ms": [t], "bytes": b }
//   { "n": 20, "concurrent": true } 20 at once; answers when all are done, with each one's time
// Times are measured here, next to the daemon, so the spawn of the child is not in them.
import { request } from 'node:http';
import { createInterface } from 'node:readline';

function scrape(url: string): Promise<{ ms: number; bytes: number; status: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ ms: performance.now() - t0, bytes, status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
    req.end();
  });
}

const url = process.argv[2]!;
const rl = createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  try {
    const cmd = JSON.parse(line) as { n: number; concurrent?: boolean };
    const results = [];
    if (cmd.concurrent) results.push(...(await Promise.all(Array.from({ length: cmd.n }, () => scrape(url)))));
    else for (let i = 0; i < cmd.n; i++) results.push(await scrape(url));
    const bad = results.find((r) => r.status !== 200);
    if (bad) throw new Error(`HTTP ${bad.status}`);
    process.stdout.write(`${JSON.stringify({ ms: results.map((r) => r.ms), bytes: results[0]?.bytes ?? 0 })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ error: (e as Error).message })}\n`);
  }
});
