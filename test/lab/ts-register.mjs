// `node --import ./test/lab/ts-register.mjs script.ts`: runs the repo's TypeScript directly in a
// child process (inside a lab namespace, or to prove that something outlives the process that
// made it), without a prior `npm run build`. Type-only transpilation with the repo's typescript.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
