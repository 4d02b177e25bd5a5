// `npm run demo` (node dist/scripts/demo.js, as root): xlb end to end in a network-namespace lab,
// driven with xlbd and the xlb CLI (the story is test/lab/demo.ts; docs/demo.md shows a run).
//   node dist/scripts/demo.js [--requests N] [--ipv4-only]
//   node --import ./test/lab/ts-register.mjs scripts/demo.ts    # from the TypeScript sources
import { runDemo } from '../test/lab/index.js';

runDemo(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
