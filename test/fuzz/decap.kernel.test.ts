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
    // Both settings of the inner-destination check ran, and the opt-out changed verdicts.
    expect(report.allowForwardedInner.cases).toBeGreaterThan(0);
    expect(report.allowForwardedInner.cases).toBeLessThan(CASES);
    if (CASES >= 1000) expect(report.allowForwardedInner.accepted).toBeGreaterThan(0);
    expect(Object.keys(report.outcomes).sort()).toEqual([
      'innerNotLocal', 'innerTunnel', 'ip4in6', 'ip6in4', 'ip6ip6', 'ipip', 'malformed', 'notLocal', 'sourceDenied', 'untouched',
    ]);
    console.log(`decap fuzz: ${report.cases} cases, seed ${report.seed}, ${report.crashes} crashes, ${report.mismatches.length} mismatches; outcomes ${JSON.stringify(report.outcomes)}; ` +
      `--allow-forwarded-inner: ${report.allowForwardedInner.cases} cases, ${report.allowForwardedInner.accepted} let through`);
  }, 600_000);
});
