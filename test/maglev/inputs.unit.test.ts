// Every way a caller can get a Maglev request wrong is rejected with a MaglevError whose `field`
// names the culprit, and draining / all-draining services have a defined, documented result.
import { describe, expect, it } from 'vitest';
import {
  ALLOWED_TABLE_SIZES,
  buildMaglevTable,
  MAGLEV_NO_BACKEND,
  MaglevError,
  MAX_BACKENDS,
  type MaglevBackend,
} from '../../lb/maglev/index.js';

const good: MaglevBackend[] = [
  { key: '10.1.0.5', id: 5, weight: 1 },
  { key: '10.1.0.6', id: 6, weight: 2 },
  { key: '[2001:db8::5]', id: 7, weight: 1 },
];

function withBackend(index: number, patch: Record<string, unknown>): MaglevBackend[] {
  return good.map((b, i) => (i === index ? ({ ...b, ...patch } as MaglevBackend) : b));
}

/** Runs `build` and returns the MaglevError it must throw. */
function rejection(build: () => unknown): MaglevError {
  try {
    build();
  } catch (e) {
    expect(e).toBeInstanceOf(MaglevError);
    return e as MaglevError;
  }
  throw new Error('expected a MaglevError, but the table was built');
}

describe('buildMaglevTable rejects bad input, naming the field', () => {
  it('rejects an empty backend list', () => {
    const e = rejection(() => buildMaglevTable({ backends: [], size: 251 }));
    expect(e.field).toBe('backends');
    expect(e.message).toMatch(/backends: is empty/);
  });

  it('rejects a backends value that is not an array, and a missing options object', () => {
    expect(rejection(() => buildMaglevTable({ backends: 'x' as never })).field).toBe('backends');
    expect(rejection(() => buildMaglevTable(undefined as never)).field).toBe('options');
  });

  it('rejects an unknown option (a typo must not silently fall back to the default)', () => {
    const e = rejection(() => buildMaglevTable({ backends: good, sise: 251 } as never));
    expect(e.field).toBe('sise');
    expect(e.message).toMatch(/unknown option/);
  });

  it('rejects duplicate backend keys', () => {
    const e = rejection(() => buildMaglevTable({ backends: withBackend(2, { key: '10.1.0.5' }), size: 251 }));
    expect(e.field).toBe('backends[2].key');
    expect(e.message).toMatch(/duplicate backend key "10\.1\.0\.5" \(also backends\[0\]\)/);
  });

  it('rejects duplicate backend ids, draining backends included', () => {
    const e = rejection(() => buildMaglevTable({ backends: withBackend(1, { id: 5, weight: 0 }), size: 251 }));
    expect(e.field).toBe('backends[1].id');
    expect(e.message).toMatch(/duplicate backend id 5 \(backend 10\.1\.0\.6; also backends\[0\]\)/);
  });

  it.each([1000, 257, 65536, 0, -251, 251.5, '251'])('rejects table size %s, listing the allowed sizes', (size) => {
    const e = rejection(() => buildMaglevTable({ backends: good, size: size as number }));
    expect(e.field).toBe('size');
    expect(e.message).toContain('not an allowed Maglev table size');
    expect(e.message).toContain(ALLOWED_TABLE_SIZES.join(', '));
  });

  it.each([
    ['negative', -1],
    ['fractional', 1.5],
    ['huge', 65536],
    ['NaN', Number.NaN],
    ['infinite', Number.POSITIVE_INFINITY],
    ['a string', '2'],
    ['missing', undefined],
  ])('rejects a %s weight, naming the backend', (_what, weight) => {
    const e = rejection(() => buildMaglevTable({ backends: withBackend(1, { weight }), size: 251 }));
    expect(e.field).toBe('backends[1].weight');
    expect(e.message).toMatch(/\(backend 10\.1\.0\.6\) is not an integer 0 … 65535/);
  });

  it.each([
    ['negative', -1],
    ['fractional', 0.5],
    ['beyond uint32', 2 ** 32],
    ['NaN', Number.NaN],
    ['a string', '7'],
  ])('rejects a %s seed', (_what, seed) => {
    const e = rejection(() => buildMaglevTable({ backends: good, size: 251, seed: seed as number }));
    expect(e.field).toBe('seed');
    expect(e.message).toMatch(/is not a uint32/);
  });

  it('accepts the extreme seeds 0 and 2^32 − 1', () => {
    expect(buildMaglevTable({ backends: good, size: 251, seed: 0 }).seed).toBe(0);
    expect(buildMaglevTable({ backends: good, size: 251, seed: 0xffffffff }).seed).toBe(0xffffffff);
  });

  it.each([
    ['negative', -1],
    ['fractional', 1.5],
    ['beyond uint32', 2 ** 32],
    ['the reserved MAGLEV_NO_BACKEND', MAGLEV_NO_BACKEND],
  ])('rejects a %s backend id', (_what, id) => {
    const e = rejection(() => buildMaglevTable({ backends: withBackend(0, { id }), size: 251 }));
    expect(e.field).toBe('backends[0].id');
  });

  it.each([
    ['empty', '', /not a non-empty string/],
    ['not a string', 42, /not a non-empty string/],
    ['padded with a space', '10.1.0.9 ', /whitespace or a control character/],
    ['with a newline', '10.1.0.9\n', /whitespace or a control character/],
    ['a lone surrogate', 'x\uD800', /lone surrogate/],
    ['longer than 255 UTF-8 bytes', 'ü'.repeat(128), /256 UTF-8 bytes long; at most 255/],
  ])('rejects a key that is %s', (_what, key, message) => {
    const e = rejection(() => buildMaglevTable({ backends: withBackend(2, { key }), size: 251 }));
    expect(e.field).toBe('backends[2].key');
    expect(e.message).toMatch(message);
  });

  it('rejects a backend entry that is not an object', () => {
    const e = rejection(() => buildMaglevTable({ backends: [good[0]!, null as never], size: 251 }));
    expect(e.field).toBe('backends[1]');
  });

  it('rejects more than MAX_BACKENDS entries', () => {
    const many = Array.from({ length: MAX_BACKENDS + 1 }, (_, i) => ({ key: `k${i}`, id: i, weight: 1 }));
    const e = rejection(() => buildMaglevTable({ backends: many, size: 131071 }));
    expect(e.field).toBe('backends');
    expect(e.message).toMatch(/at most 65536 allowed/);
  });

  it('rejects a weight whose ideal share is below one slot, naming that backend', () => {
    const backends = [
      { key: 'heavy', id: 1, weight: 65535 },
      { key: 'light', id: 2, weight: 1 },
    ];
    const e = rejection(() => buildMaglevTable({ backends, size: 251 }));
    expect(e.field).toBe('backends[1].weight');
    expect(e.message).toMatch(/backend light has weight 1 of 65536 in total, an ideal share of 0\.004 slots of 251/);
    // The same weights fit a table large enough to give the light backend a slot.
    expect(buildMaglevTable({ backends, size: 131071 }).slotsPerBackend.get(2)).toBe(2);
  });
});

describe('draining backends (weight 0)', () => {
  it('a draining backend gets no slot and leaves the table exactly as if it were absent', () => {
    const backends = Array.from({ length: 20 }, (_, i) => ({ key: `10.2.0.${i}`, id: 100 + i, weight: 1 + (i % 3) }));
    const drained = backends.map((b, i) => (i === 7 ? { ...b, weight: 0 } : b));
    const withDraining = buildMaglevTable({ backends: drained, size: 4093 });
    const without = buildMaglevTable({ backends: backends.filter((_, i) => i !== 7), size: 4093 });
    expect(withDraining.table).toEqual(without.table);
    expect(withDraining.table.includes(107)).toBe(false);
    expect(withDraining.slotsPerBackend.get(107)).toBe(0);
    expect(withDraining.activeBackends).toBe(19);
  });

  it('a service whose backends are all draining gets a full table of MAGLEV_NO_BACKEND and a warning', () => {
    const result = buildMaglevTable({
      backends: [
        { key: '10.1.0.5', id: 5, weight: 0 },
        { key: '10.1.0.6', id: 6, weight: 0 },
      ],
      size: 509,
    });
    expect(result.table.length).toBe(509);
    expect(result.table.every((id) => id === MAGLEV_NO_BACKEND)).toBe(true);
    expect(result.activeBackends).toBe(0);
    expect([...result.slotsPerBackend]).toEqual([
      [5, 0],
      [6, 0],
    ]);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatch(/no active backends: all 2 have weight 0/);
  });
});
