// Runs lb/health probes in a child process (so they run in a lab node's network namespace: a
// socket belongs to the namespace of the thread that creates it, and Node creates them later than
// a withNetns callback returns). argv[2]: JSON list of ProbeSpec (payload as text); prints the
// JSON list of results.
import { runProbe, type ProbeSpec } from '../../lb/health/probes.js';

const specs = JSON.parse(process.argv[2] ?? '[]') as (Omit<ProbeSpec, 'payload'> & { payload?: string })[];
const results = [];
for (const s of specs) results.push(await runProbe({ ...s, payload: s.payload === undefined ? undefined : Buffer.from(s.payload) }));
process.stdout.write(`${JSON.stringify(results)}\n`);
