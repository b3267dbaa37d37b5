/**
 * Hydrological signatures against golden values computed by running neuralhydrology's signatures.py
 * (test/fixtures/signatures_golden.json, described in test/fixtures/README.md).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { baseflowIndex, calculateSignatures, SIGNATURE_NAMES, slopeFdc } from '../src/evaluation/signatures.js';
import { dayNumber } from '../src/util/dates.js';

type Num = number | null; // NaN is stored as null

interface SignatureCase {
  basin?: string;
  name?: string;
  dates: string[];
  q_mm: Num[];
  prcp_mm: Num[];
  signatures: Record<string, Num>;
  baseflow_mm: Num[];
}

const golden = JSON.parse(readFileSync(new URL('./fixtures/signatures_golden.json', import.meta.url), 'utf8')) as {
  signature_names: string[];
  basins: SignatureCase[];
  edge_cases: SignatureCase[];
};

const toNumbers = (xs: Num[]): number[] => xs.map((v) => (v === null ? Number.NaN : v));

/** Count-type signatures are compared at 1e-12 absolute, the others at 1e-9 relative (fixture README). */
const COUNT_TYPE = new Set(['high_q_freq', 'high_q_dur', 'low_q_freq', 'low_q_dur', 'zero_q_freq', 'hfd_mean']);

function assertSignature(name: string, actual: number, expected: Num, what: string): void {
  if (expected === null) {
    assert.ok(Number.isNaN(actual), `${what}: expected NaN, got ${actual}`);
    return;
  }
  const err = Math.abs(actual - expected);
  const ok = COUNT_TYPE.has(name) ? err <= 1e-12 : err <= 1e-9 * Math.abs(expected) || err <= 1e-12;
  assert.ok(ok, `${what}: got ${actual}, expected ${expected} (abs err ${err})`);
}

describe('signatures match signatures_golden.json', () => {
  test('names are neuralhydrology’s, in its order', () => {
    assert.deepEqual([...SIGNATURE_NAMES], golden.signature_names);
  });

  for (const c of [...golden.basins, ...golden.edge_cases]) {
    const label = c.basin ?? (c.name as string);
    const q = toNumbers(c.q_mm);
    const prcp = toNumbers(c.prcp_mm);

    test(`${label}: all 13 signatures`, () => {
      const out = calculateSignatures(q, prcp, c.dates);
      for (const name of golden.signature_names) {
        assertSignature(name, out[name as keyof typeof out], c.signatures[name], `${label} ${name}`);
      }
    });

    test(`${label}: baseflow series (absolute 1e-9)`, () => {
      const { baseflow } = baseflowIndex(q);
      assert.equal(baseflow.length, c.baseflow_mm.length);
      c.baseflow_mm.forEach((expected, i) => {
        if (expected === null) assert.ok(Number.isNaN(baseflow[i]), `${label} baseflow[${i}] should be NaN`);
        else assert.ok(Math.abs(baseflow[i] - expected) <= 1e-9, `${label} baseflow[${i}]: ${baseflow[i]} vs ${expected}`);
      });
    });
  }

  test('dates as day numbers give the same values as ISO strings', () => {
    const c = golden.edge_cases[0];
    const days = c.dates.map((d) => dayNumber(Number(d.slice(0, 4)), Number(d.slice(5, 7)), Number(d.slice(8, 10))));
    const a = calculateSignatures(toNumbers(c.q_mm), toNumbers(c.prcp_mm), c.dates);
    const b = calculateSignatures(toNumbers(c.q_mm), toNumbers(c.prcp_mm), days);
    assert.deepEqual(a, b);
  });
});

describe('signature edge cases', () => {
  test('slope_fdc: NaNs sort first and shift the positions', () => {
    // 4 values + 2 NaN: n = 6, positions round(1.98) = 2 and round(3.96) = 4 of [NaN, NaN, 4, 3, 2, 1]
    const v = slopeFdc([1, Number.NaN, 2, 3, Number.NaN, 4]);
    assert.ok(Math.abs(v - (Math.log(4 + 1e-8) - Math.log(2 + 1e-8)) / (0.66 - 0.33)) < 1e-12);
  });

  test('baseflow: runs of 30 values or fewer are skipped, giving NaN', () => {
    const q = Array.from({ length: 30 }, (_, i) => 1 + i / 10);
    const { index, baseflow } = baseflowIndex(q);
    assert.ok(Number.isNaN(index));
    assert.ok(baseflow.every(Number.isNaN));
  });

  test('year windows: a record shorter than a full year gives NaN frequencies', () => {
    const dates = Array.from({ length: 200 }, (_, i) => dayNumber(2001, 1, 1) + i);
    const q = dates.map((_, i) => 1 + Math.sin(i / 10));
    const out = calculateSignatures(q, q, dates, ['high_q_freq', 'low_q_freq', 'hfd_mean', 'stream_elas']);
    for (const v of Object.values(out)) assert.ok(Number.isNaN(v));
  });

  test('unknown names throw', () => {
    assert.throws(() => calculateSignatures([1], [1], [0], ['nope' as never]), /Unknown signature/);
  });
});
