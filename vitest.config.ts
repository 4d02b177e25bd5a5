import { defineConfig } from 'vitest/config';

// Three projects, by what a test needs (the file name says it: <topic>.<project>.test.ts):
//   unit    no root, no kernel objects: model, Maglev, config, state, metrics, CLI parsing (seconds)
//   kernel  BPF programs and maps through BPF_PROG_TEST_RUN (root, no namespaces)
//   lab     network namespaces, veth, daemons, real traffic (root)
// `npm test` runs all three; `npm run test:unit` only the first.
const shared = {
  // Native addon + setns() + network namespaces: one process per test file.
  pool: 'forks' as const,
  testTimeout: 120_000,
  hookTimeout: 120_000,
};

export default defineConfig({
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      { test: { ...shared, name: 'unit', include: ['test/**/*.unit.test.ts'], testTimeout: 30_000 } },
      { test: { ...shared, name: 'kernel', include: ['test/**/*.kernel.test.ts'] } },
      { test: { ...shared, name: 'lab', include: ['test/**/*.lab.test.ts'] } },
    ],
  },
});
