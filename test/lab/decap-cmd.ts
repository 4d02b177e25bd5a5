// Stand-in for `xlb decap attach|detach|status` in the lab until the CLI exists: runs one decap
// operation as its own process and prints the result as JSON.
//   node --import test/lab/ts-register.mjs test/lab/decap-cmd.ts attach '{"ifname":"eth0","pinDir":"..."}'
import { attachDecap, decapStatus, detachDecap } from '../../lb/decap/index.js';

const [op, json] = process.argv.slice(2);
const ops = { attach: attachDecap, detach: detachDecap, status: decapStatus } as const;
if (!op || !(op in ops) || !json) {
  process.stderr.write('usage: decap-cmd.ts attach|detach|status JSON-OPTIONS\n');
  process.exit(2);
}
try {
  const result = ops[op as keyof typeof ops](JSON.parse(json));
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
