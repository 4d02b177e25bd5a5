// The byte-level pieces of the /metrics renderer: numbers written as String() would, the
// tight-loop interface of ByteWriter, and process_open_fds listed off the scrape's path.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ByteWriter, MAX_NUMBER_BYTES, putNumber } from '../../lb/metrics/byte-writer.js';
import { OPEN_FDS, registerOpenFds } from '../../lb/metrics/open-fds.js';
import { XlbMetrics } from '../../lb/metrics/index.js';

const written = (v: number) => {
  const out = new Uint8Array(MAX_NUMBER_BYTES + 8).fill(0x21);
  const end = putNumber(out, 3, v);
  expect(out[end]).toBe(0x21); // nothing past the end it returned
  return Buffer.from(out.subarray(3, end)).toString('latin1');
};

describe('putNumber', () => {
  it('writes exactly what String() does (prom-client), at every digit count and in every path', () => {
    const values = [0, 1, 9, 10, 99, 100, 12345, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, 999_999_999, 1_000_000_000, 2 ** 53 - 1, 2 ** 53, 2 ** 64,
      -1, -0, 0.5, 1e-7, -1.2345678901234567e-308, Number.MAX_VALUE, -Number.MIN_VALUE, NaN];
    for (let d = 1, v = 7; d <= 16; d++, v = v * 10 + 7) values.push(v, 10 ** (d - 1));
    for (const v of values) expect(written(v), `value ${v}`).toBe(String(v));
    expect(written(Infinity)).toBe('+Inf');
    expect(written(-Infinity)).toBe('-Inf');
  });

  it('fits MAX_NUMBER_BYTES for the longest String() of a number', () => {
    for (const v of [-1.2345678901234567e-308, -2.2250738585072014e-308, -1.7976931348623157e308, -5e-324]) {
      expect(String(v).length).toBeLessThanOrEqual(MAX_NUMBER_BYTES);
    }
  });
});

describe('ByteWriter room/length', () => {
  it('grows on room() and refuses a length outside what was written and reserved', () => {
    const w = new ByteWriter(64);
    w.text('ab');
    const out = w.room(200);
    expect(out.length).toBeGreaterThanOrEqual(202);
    out.set([0x63, 0x64], 2);
    w.length = 4;
    expect(w.view().toString()).toBe('abcd');
    expect(() => (w.length = 3)).toThrow(/length 3/);
    expect(() => (w.length = out.length + 1)).toThrow(RangeError);
  });
});

describe('process_open_fds', () => {
  it('counts the directory (first scrape at once, later ones from a background listing)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xlb-fds-'));
    try {
      // The listing's own fd is subtracted: n entries read as n - 1, as for /proc/self/fd.
      for (let i = 0; i < 5; i++) writeFileSync(join(dir, String(i)), '');
      const r = new Registry();
      registerOpenFds(r, dir);
      const value = async () => (await r.getSingleMetric(OPEN_FDS)!.get()).values[0]?.value;
      expect(await value()).toBe(4);
      for (let i = 5; i < 9; i++) writeFileSync(join(dir, String(i)), '');
      expect(await value()).toBe(4); // the figure of the previous listing; this scrape started a new one
      await new Promise((r) => setTimeout(r, 50));
      expect(await value()).toBe(8);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('replaces prom-client’s gauge in the daemon registry, once, with the real count', async () => {
    const m = new XlbMetrics();
    const text = await m.metrics();
    const lines = text.split('\n').filter((l) => l.startsWith(`${OPEN_FDS} `));
    expect(lines).toHaveLength(1);
    expect(Number(lines[0]!.split(' ')[1])).toBeGreaterThan(2);
    expect(text.match(new RegExp(`^# TYPE ${OPEN_FDS} gauge$`, 'gm'))).toHaveLength(1);
  });
});
