// Differential fuzzing of the backend decap program against its reference model
// (test/fuzz/decap-model.ts): a fixed seed and number of cases.
import { describe, expect, it } from 'vitest';
import { runDecapFuzz } from './decap-fuzz.js';

const CASES = Number(process.env.XLB_FUZZ_DECAP_CASES ?? 20_000);
const SEED = Number(process.env.XLB_FUZZ_SEED ?? 0x13);

describe('decap program vs. its model', () => {
  it(`${CASES} seeded cases: no crash, no mismatch (verdict, counter, frame)`, () => {
    const report = runDecapFuzz({ cases: CASES, seed: SEED });
    if (report.mismatches.length) console.error(JSON.stringify(report.mismatches, null, 2));
    expect(report.crashes).toBe(0);
    expect(report.mismatches).toEqual([]);
    expect(report.cases).toBe(CASES);
    expect(Object.keys(report.outcomes).sort()).toEqual([
      'innerNotLocal', 'innerTunnel', 'ip4in6', 'ip6in4', 'ip6ip6', 'ipip', 'malformed', 'notLocal', 'sourceDenied', 'untouched',
    ]);
    console.log(`decap fuzz: ${report.cases} cases, seed ${report.seed}, ${report.crashes} crashes, ${report.mismatches.length} mismatches; outcomes ${JSON.stringify(report.outcomes)}`);
  }, 600_000);
});
