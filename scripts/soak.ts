// `npm run soak` (node dist/scripts/soak.js, as root; not part of `npm test`): traffic, API churn,
// recordings, SIGHUP and kill -9 against the real xlbd for N minutes in a namespace lab, then
// (optionally) the datapath and decap fuzzers in their long mode. test/lab/soak.ts says what it does.
//   node dist/scripts/soak.js [--minutes 10] [--fuzz-cases 1000000] [--seed S] [--hup-every 20]
//                             [--kill-every 60] [--json FILE]
import { runSoak } from '../test/lab/index.js';

runSoak(process.argv.slice(2)).then(
  (r) => {
    process.exitCode = r.problems.length ? 1 : 0;
  },
  (err: unknown) => {
    process.stderr.write(`soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
