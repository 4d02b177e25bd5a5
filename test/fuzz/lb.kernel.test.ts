// Differential fuzzing of the XDP load balancer against its reference model (test/fuzz/lb-model.ts):
// a fixed seed and number of cases, so CI runs the same frames every time. A mismatch is either a
// datapath bug or a gap in the model; the report names the case, the frame and both answers.
import { describe, expect, it } from 'vitest';
import { runLbFuzz } from './lb-fuzz.js';

const CASES = Number(process.env.XLB_FUZZ_LB_CASES ?? 20_000);
const SEED = Number(process.env.XLB_FUZZ_SEED ?? 0x13);

describe('XDP load balancer vs. its model', () => {
  it(`${CASES} seeded cases: no crash, no mismatch (verdict, reason, counters, backend, frame, flows)`, () => {
    const report = runLbFuzz({ cases: CASES, seed: SEED });
    if (report.mismatches.length) console.error(JSON.stringify(report.mismatches, null, 2));
    expect(report.crashes).toBe(0);
    expect(report.mismatches).toEqual([]);
    expect(report.cases).toBe(CASES);
    // The cases reached every outcome the datapath has (else the generator has gone blind somewhere).
    expect(Object.keys(report.reasons).sort()).toEqual([
      'drop.fragment', 'drop.ipOptions', 'drop.ipv6ExtHeader', 'drop.malformed', 'drop.noBackend', 'drop.noConfig',
      'drop.tooBig', 'drop.unsupportedProtocol',
      'pass.l3Short', 'pass.noService', 'pass.notIp', 'pass.notVip', 'pass.vipIcmp',
      'tx.icmp6PacketTooBig', 'tx.icmpFragNeeded', 'tx.ip4in6', 'tx.ip6in4', 'tx.ip6ip6', 'tx.ipip',
    ]);
    expect(Object.keys(report.events).sort()).toEqual([
      'event.encapOverMtu', 'event.icmpForwarded', 'event.vlan', 'flow.hit', 'flow.miss', 'flow.new', 'flow.reselect', 'flow.synKept',
    ]);
    console.log(`lb fuzz: ${report.cases} cases, seed ${report.seed}, ${report.changes} control-plane changes, ${report.crashes} crashes, ${report.mismatches.length} mismatches; outcomes ${JSON.stringify(report.reasons)}, events ${JSON.stringify(report.events)}`);
  }, 600_000);

  // The same seed with a recording armed that matches nothing: every frame takes the general path
  // (the one above mostly takes the one-pass parse of plain untagged IPv4 TCP/UDP), and the model
  // must still agree — the two parses give the same verdicts, counters, frames and flows.
  it(`${CASES} seeded cases with a recording armed (general path only): no crash, no mismatch`, () => {
    const report = runLbFuzz({ cases: CASES, seed: SEED, recorderArmed: true });
    if (report.mismatches.length) console.error(JSON.stringify(report.mismatches, null, 2));
    expect(report.crashes).toBe(0);
    expect(report.mismatches).toEqual([]);
    expect(report.reasons['tx.ipip']).toBeGreaterThan(0);
    expect(report.events['flow.hit']).toBeGreaterThan(0);
  }, 600_000);
});
