/**
 * Wilcoxon signed-rank test (scipy 1.10.1), the paper's Cohen's d and ECDF against golden values computed by
 * running the original code (test/fixtures/stats_golden.json, described in test/fixtures/README.md).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  cohensD,
  ecdf,
  erfc,
  normalSf,
  rankAverage,
  type WilcoxonOptions,
  wilcoxon,
  wilcoxonNullDistribution,
} from '../src/evaluation/statistics.js';

interface WilcoxonExpected {
  args: WilcoxonOptions;
  statistic: number;
  pvalue: number;
  zstatistic?: number;
  warnings?: string[];
}

const golden = JSON.parse(readFileSync(new URL('./fixtures/stats_golden.json', import.meta.url), 'utf8')) as {
  samples: {
    name: string;
    x: number[];
    y: number[];
    wilcoxon: Record<string, WilcoxonExpected>;
    cohens_d: number;
    cohens_d_swapped_args: number;
  }[];
  ecdf: { examples: { name: string; x: number[]; xs: number[]; ys: number[] }[] };
};

/** p-values: relative 1e-9 above 1e-10, relative 1e-6 below (fixture README). */
function assertPValue(actual: number, expected: number, what: string): void {
  const rel = expected > 1e-10 ? 1e-9 : 1e-6;
  assert.ok(Math.abs(actual - expected) <= rel * expected, `${what}: got ${actual}, expected ${expected}`);
}

function assertRelative(actual: number, expected: number, rel: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= rel * Math.abs(expected), `${what}: got ${actual}, expected ${expected}`);
}

describe('wilcoxon matches scipy 1.10.1 (stats_golden.json)', () => {
  for (const s of golden.samples) {
    for (const [variant, expected] of Object.entries(s.wilcoxon)) {
      test(`${s.name} ${variant}`, () => {
        const res = wilcoxon(s.x, s.y, expected.args);
        assert.equal(res.statistic, expected.statistic, 'statistic');
        assertPValue(res.pvalue, expected.pvalue, 'pvalue');
        if (expected.zstatistic !== undefined) {
          assert.ok(res.zstatistic !== undefined);
          assertRelative(res.zstatistic, expected.zstatistic, 1e-9, 'zstatistic');
        }
        // scipy's zero-difference fallback warning is reported too
        const switched = (expected.warnings ?? []).some((w) => w.includes('Switching to normal approximation'));
        assert.equal(res.warnings.some((w) => w.includes('Switching to normal approximation')), switched);
        if (switched) assert.equal(res.method, 'approx');
      });
    }
  }

  test('exact null distribution sums to 1 and is symmetric', () => {
    const pmf = wilcoxonNullDistribution(12);
    assert.equal(pmf.length, 79);
    assert.ok(Math.abs(pmf.reduce((a, b) => a + b, 0) - 1) < 1e-15);
    for (let i = 0; i < pmf.length; i++) assert.equal(pmf[i], pmf[pmf.length - 1 - i]);
  });

  test('average ranks for ties', () => {
    assert.deepEqual([...rankAverage([3, 1, 3, 2])], [3.5, 1, 3.5, 2]);
  });

  test('NaN input propagates; all-zero differences throw in approx mode', () => {
    assert.ok(Number.isNaN(wilcoxon([1, Number.NaN], [0, 0]).pvalue));
    assert.throws(() => wilcoxon([1, 2, 3], [1, 2, 3], { method: 'approx' }), RangeError);
  });
});

describe('normal tail', () => {
  test('erfc keeps relative accuracy far in the tail', () => {
    // reference values from Python math.erfc
    assertRelative(erfc(5), 1.5374597944280351e-12, 1e-13, 'erfc(5)');
    assertRelative(erfc(10), 2.088487583762545e-45, 1e-13, 'erfc(10)');
    assert.equal(erfc(0), 1);
    assertRelative(erfc(-1), 1.842700792949715, 1e-15, 'erfc(-1)');
    assertRelative(normalSf(1.959963984540054), 0.025, 1e-12, 'sf(1.96)');
  });
});

describe("the paper's Cohen's d and ECDF", () => {
  for (const s of golden.samples) {
    test(`Cohen's d ${s.name}`, () => {
      assertRelative(cohensD(s.x, s.y), s.cohens_d, 1e-12, 'd');
      assertRelative(cohensD(s.y, s.x), s.cohens_d_swapped_args, 1e-12, 'd swapped');
    });
  }

  for (const e of golden.ecdf.examples) {
    test(`ECDF ${e.name}`, () => {
      const { xs, ys } = ecdf(e.x);
      assert.deepEqual([...xs], e.xs);
      assert.deepEqual([...ys], e.ys);
    });
  }
});
