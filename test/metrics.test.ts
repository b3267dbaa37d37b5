/**
 * Metrics against golden values computed by running neuralhydrology's metrics.py and the paper's
 * papercode/metrics.py (test/fixtures/metrics_golden.json, described in test/fixtures/README.md).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  alphaNse,
  betaKge,
  betaNse,
  CORE_METRIC_NAMES,
  calculateMetrics,
  calculateMetricsExplained,
  fdcFhv,
  fdcFlv,
  fdcFms,
  kge,
  METRIC_NAMES,
  meanAbsolutePercentagePeakError,
  meanPeakTiming,
  missedPeaks,
  mse,
  nse,
  paperAlphaNse,
  paperBetaNse,
  paperFdcFhv,
  paperFdcFlv,
  paperFdcFms,
  paperNse,
  paperPrefilter,
  pearsonR,
  rmse,
} from '../src/evaluation/metrics.js';
import {
  argsortNumpy,
  findPeaks,
  peakProminences,
  percentileLinear,
  quantileLinear,
  roundHalfEven,
} from '../src/util/numeric.js';
import { dayNumber } from '../src/util/dates.js';

type Num = number | null; // NaN is stored as null

interface Case {
  name: string;
  n: number;
  dates: string[];
  obs: Num[];
  sim: Num[];
  nh: Record<string, Num>;
  paper: { n: number; values: Record<string, Num> };
  paper_sim_clipped_at_0?: { values: Record<string, Num> };
  intermediates: {
    n_valid: number;
    fdc_indices: Record<string, number>;
    peak_timing_and_mape: { find_peaks_args: { distance: number; prominence: number }; obs_peak_indices_in_valid_series: number[] };
    missed_peaks: { percentile80_obs: number; percentile80_sim: number; obs_peak_indices: number[]; sim_peak_indices: number[] };
  };
}

const golden = JSON.parse(readFileSync(new URL('./fixtures/metrics_golden.json', import.meta.url), 'utf8')) as {
  nh_metric_names: string[];
  paper_metric_names: string[];
  cases: Case[];
  primitives: {
    find_peaks: { vectors: { name: string; x: number[]; kwargs: Record<string, number>; peaks: number[]; prominences: number[] }[] };
    percentile: { vectors: { x: number[]; q: number; np_percentile: number }[] };
  };
};

const toNumbers = (xs: Num[]): number[] => xs.map((v) => (v === null ? Number.NaN : v));

/** Fixture tolerance: relative 1e-9, absolute 1e-12 where |expected| < 1e-3; null means NaN. */
function assertClose(actual: number, expected: Num, what: string, rel = 1e-9): void {
  if (expected === null) {
    assert.ok(Number.isNaN(actual), `${what}: expected NaN, got ${actual}`);
    return;
  }
  const err = Math.abs(actual - expected);
  const ok = Math.abs(expected) < 1e-3 ? err <= 1e-12 : err <= rel * Math.abs(expected);
  assert.ok(ok, `${what}: got ${actual}, expected ${expected} (abs err ${err})`);
}

/** Counts and means of counts: compare at 1e-12 absolute. */
function assertExact(actual: number, expected: Num, what: string): void {
  if (expected === null) {
    assert.ok(Number.isNaN(actual), `${what}: expected NaN, got ${actual}`);
    return;
  }
  assert.ok(Math.abs(actual - expected) <= 1e-12, `${what}: got ${actual}, expected ${expected}`);
}

describe('numeric primitives', () => {
  test('roundHalfEven is numpy rint (ties to even)', () => {
    const cases: [number, number][] = [
      [0.3, 0], [0.5, 0], [1.5, 2], [2.5, 2], [4.5, 4], [7.5, 8], [10.5, 10], [17.5, 18], [-0.5, -0], [-1.5, -2],
      [2.4999999999999996, 2], [0.02 * 25, 0], [0.3 * 15, 4], [0.7 * 15, 10], [0.3 * 25, 8], [0.7 * 25, 18],
    ];
    for (const [x, want] of cases) assert.equal(roundHalfEven(x), want, `round(${x})`);
    assert.ok(Number.isNaN(roundHalfEven(Number.NaN)));
  });

  test('percentileLinear matches numpy.percentile vectors', () => {
    for (const v of golden.primitives.percentile.vectors) {
      assert.equal(percentileLinear(v.x, v.q), v.np_percentile, `percentile(${v.q}) of ${v.x.length} values`);
    }
    assert.equal(quantileLinear([3, 1, 2], 1), 3);
    assert.equal(quantileLinear([3, 1, 2], 0), 1);
    assert.ok(Number.isNaN(quantileLinear([1, Number.NaN], 0.5)));
    assert.ok(Number.isNaN(quantileLinear([], 0.5)));
  });

  test('findPeaks and peakProminences match scipy vectors (plateaus, equal heights)', () => {
    for (const v of golden.primitives.find_peaks.vectors) {
      const peaks = findPeaks(v.x, v.kwargs);
      assert.deepEqual(peaks, v.peaks, `${v.name} ${JSON.stringify(v.kwargs)}`);
      const prom = peakProminences(v.x, peaks);
      prom.forEach((p, k) => assertClose(p, v.prominences[k], `${v.name} prominence ${k}`, 1e-12));
    }
  });

  test('findPeaks edge cases: short series, plateaus at the ends, distance < 1', () => {
    assert.deepEqual(findPeaks([]), []);
    assert.deepEqual(findPeaks([1, 2]), []);
    assert.deepEqual(findPeaks([2, 2, 1, 3, 3]), []); // plateaus touching an end are no maxima
    assert.deepEqual(findPeaks([0, 1, 1, 0]), [1]); // (1 + 2) // 2
    assert.throws(() => findPeaks([0, 1, 0], { distance: 0.5 }), RangeError);
  });

  test('argsortNumpy sorts (introsort, heapsort fallback path included)', () => {
    let seed = 12345;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (const n of [0, 1, 5, 16, 17, 100, 1000]) {
      const v = Array.from({ length: n }, () => Math.floor(rand() * 20)); // many ties
      const idx = argsortNumpy(v);
      assert.deepEqual([...idx].sort((a, b) => a - b), [...Array(n).keys()]);
      for (let i = 1; i < n; i++) assert.ok(v[idx[i - 1]] <= v[idx[i]]);
    }
    // up to 16 elements numpy insertion-sorts (stable); from 17 on it partitions and reorders ties.
    // Expected orders recorded from numpy's scalar introsort (np.argsort, kind='quicksort').
    assert.deepEqual([...argsortNumpy(Array(16).fill(4))], [...Array(16).keys()]);
    assert.deepEqual([...argsortNumpy(Array(17).fill(4))], [0, 14, 13, 12, 11, 10, 9, 15, 8, 6, 5, 4, 3, 2, 1, 7, 16]);
  });
});

describe('neuralhydrology metrics match metrics_golden.json', () => {
  const fns: Record<string, (o: number[], s: number[], dates: string[]) => number> = {
    nse: (o, s) => nse(o, s),
    mse: (o, s) => mse(o, s),
    rmse: (o, s) => rmse(o, s),
    alpha_nse: (o, s) => alphaNse(o, s),
    beta_nse: (o, s) => betaNse(o, s),
    beta_kge: (o, s) => betaKge(o, s),
    kge: (o, s) => kge(o, s),
    pearsonr: (o, s) => pearsonR(o, s),
    fdc_fms: (o, s) => fdcFms(o, s),
    fdc_fhv: (o, s) => fdcFhv(o, s),
    fdc_flv: (o, s) => fdcFlv(o, s),
    mean_peak_timing: (o, s, d) => meanPeakTiming(o, s, d),
    missed_peaks: (o, s, d) => missedPeaks(o, s, d),
    mean_absolute_percentage_peak_error: (o, s) => meanAbsolutePercentagePeakError(o, s),
  };
  const exactMetrics = new Set(['mean_peak_timing', 'missed_peaks']);

  test('every fixture metric has an implementation', () => {
    assert.deepEqual(Object.keys(fns).sort(), [...golden.nh_metric_names].sort());
  });

  for (const c of golden.cases) {
    test(c.name, () => {
      const obs = toNumbers(c.obs);
      const sim = toNumbers(c.sim);
      for (const name of golden.nh_metric_names) {
        const got = fns[name](obs, sim, c.dates);
        if (exactMetrics.has(name)) assertExact(got, c.nh[name], `${c.name} ${name}`);
        else assertClose(got, c.nh[name], `${c.name} ${name}`);
      }
    });

    test(`${c.name}: peak-finding intermediates`, () => {
      const keep = c.obs.map((o, i) => o !== null && c.sim[i] !== null);
      const obs = toNumbers(c.obs).filter((_, i) => keep[i]);
      const sim = toNumbers(c.sim).filter((_, i) => keep[i]);
      assert.equal(obs.length, c.intermediates.n_valid);
      const pt = c.intermediates.peak_timing_and_mape;
      assert.deepEqual(findPeaks(obs, pt.find_peaks_args), pt.obs_peak_indices_in_valid_series);
      const mp = c.intermediates.missed_peaks;
      const p80o = percentileLinear(obs, 80);
      const p80s = percentileLinear(sim, 80);
      assertClose(p80o, mp.percentile80_obs, 'percentile80 obs');
      assertClose(p80s, mp.percentile80_sim, 'percentile80 sim');
      assert.deepEqual(findPeaks(obs, { distance: 30, height: p80o }), mp.obs_peak_indices);
      assert.deepEqual(findPeaks(sim, { distance: 30, height: p80s }), mp.sim_peak_indices);
    });
  }
});

test('camels_02064000: distance ties follow numpy introsort, not a stable sort', () => {
  // Equal obs heights (integer cfs) compete within distance=30; numpy's argsort keeps peak 754 where a stable
  // sort would keep 769, and missed_peaks would become 0.15 instead of 0.2 (the fixture flags it tie_sensitive).
  const c = golden.cases.find((k) => k.name === 'camels_02064000') as Case;
  const obs = toNumbers(c.obs);
  const peaks = findPeaks(obs, { distance: 30, height: percentileLinear(obs, 80) });
  assert.ok(peaks.includes(754) && !peaks.includes(769));
  assertExact(missedPeaks(obs, toNumbers(c.sim), c.dates), 0.2, 'missed_peaks');
});

describe('paper-code metrics match metrics_golden.json', () => {
  const fns: Record<string, (o: Float64Array, s: Float64Array) => number> = {
    calc_nse: paperNse,
    calc_alpha_nse: paperAlphaNse,
    calc_beta_nse: paperBetaNse,
    calc_fdc_fhv: (o, s) => paperFdcFhv(o, s),
    calc_fdc_flv: (o, s) => paperFdcFlv(o, s),
    calc_fdc_fms: (o, s) => paperFdcFms(o, s),
  };

  test('every fixture metric has an implementation', () => {
    assert.deepEqual(Object.keys(fns).sort(), [...golden.paper_metric_names].sort());
  });

  for (const c of golden.cases) {
    test(c.name, () => {
      const { obs, sim } = paperPrefilter(toNumbers(c.obs), toNumbers(c.sim));
      assert.equal(obs.length, c.paper.n);
      for (const name of golden.paper_metric_names) {
        assertClose(fns[name](obs, sim), c.paper.values[name], `${c.name} ${name}`);
      }
      const clipped = c.paper_sim_clipped_at_0;
      if (clipped) {
        // main.py clips the predictions at 0 before evaluating
        const simClipped = sim.map((v) => Math.max(v, 0));
        for (const name of golden.paper_metric_names) {
          assertClose(fns[name](obs, simClipped), clipped.values[name], `${c.name} clipped ${name}`);
        }
      }
    });
  }

  test('paper NSE throws on constant observations; ours is NaN there (numpy gives -inf or nan)', () => {
    assert.throws(() => paperNse([1, 1, 1], [1, 2, 3]), /not defined/);
    assert.ok(Number.isNaN(nse([1, 1, 1], [1, 2, 3])));
    assert.ok(Number.isNaN(nse([1, 1, 1], [1, 1, 1])));
  });
});

describe('calculateMetrics', () => {
  const c = golden.cases.find((k) => k.name === 'synthetic_nan') as Case;
  const obs = toNumbers(c.obs);
  const sim = toNumbers(c.sim);
  const mapping: Record<string, string> = {
    NSE: 'nse', MSE: 'mse', RMSE: 'rmse', alpha_nse: 'alpha_nse', beta_nse: 'beta_nse', beta_kge: 'beta_kge',
    KGE: 'kge', pearson_r: 'pearsonr', FHV: 'fdc_fhv', FMS: 'fdc_fms', FLV: 'fdc_flv',
    peak_timing: 'mean_peak_timing', missed_peaks: 'missed_peaks', peak_mape: 'mean_absolute_percentage_peak_error',
  };

  test('default: all metrics, neuralhydrology definitions, keyed by output names', () => {
    const out = calculateMetrics(obs, sim, c.dates);
    assert.deepEqual(Object.keys(out), [...METRIC_NAMES]);
    for (const name of METRIC_NAMES) assertClose(out[name], c.nh[mapping[name]], name);
  });

  test('dates as day numbers give the same peak metrics as ISO strings', () => {
    const days = c.dates.map((d) => dayNumber(Number(d.slice(0, 4)), Number(d.slice(5, 7)), Number(d.slice(8, 10))));
    const out = calculateMetrics(obs, sim, days, ['peak_timing', 'missed_peaks']);
    assertExact(out.peak_timing, c.nh.mean_peak_timing, 'peak_timing');
    assertExact(out.missed_peaks, c.nh.missed_peaks, 'missed_peaks');
    // without dates the input steps count as consecutive days, so NaN gaps are still seen
    assertExact(calculateMetrics(obs, sim, null, ['peak_timing']).peak_timing, c.nh.mean_peak_timing, 'no dates');
    // an already compacted series needs its dates: without them the peak after the gap is not skipped
    const keep = obs.map((o, i) => !Number.isNaN(o) && !Number.isNaN(sim[i]));
    const [o2, s2] = [obs.filter((_, i) => keep[i]), sim.filter((_, i) => keep[i])];
    const d2 = c.dates.filter((_, i) => keep[i]);
    assertExact(meanPeakTiming(o2, s2, d2), c.nh.mean_peak_timing, 'compacted with dates');
    assertExact(missedPeaks(o2, s2, d2), c.nh.missed_peaks, 'compacted with dates');
    assert.notEqual(meanPeakTiming(o2, s2), c.nh.mean_peak_timing);
  });

  test("fdcVariant 'paper' swaps in the paper's FHV/FMS/FLV only", () => {
    const out = calculateMetrics(obs, sim, c.dates, CORE_METRIC_NAMES, { fdcVariant: 'paper' });
    assert.deepEqual(Object.keys(out), [...CORE_METRIC_NAMES]);
    assertClose(out.FHV, c.paper.values.calc_fdc_fhv, 'FHV');
    assertClose(out.FMS, c.paper.values.calc_fdc_fms, 'FMS');
    assertClose(out.FLV, c.paper.values.calc_fdc_flv, 'FLV');
    assertClose(out.NSE, c.nh.nse, 'NSE');
    assertClose(out.KGE, c.nh.kge, 'KGE');
  });

  test('all-NaN input gives NaN everywhere; unknown names throw', () => {
    const nan = obs.map(() => Number.NaN);
    const out = calculateMetrics(nan, sim, c.dates);
    for (const name of METRIC_NAMES) assert.ok(Number.isNaN(out[name]), name);
    assert.throws(() => calculateMetrics(obs, sim, c.dates, ['Alpha-NSE' as never]), /Unknown metric/);
    assert.throws(() => calculateMetrics(obs, sim.slice(1), c.dates), RangeError);
  });
});

describe('undefined metrics are NaN with a reason, never ±Infinity or a 1e-6-guard artefact', () => {
  const days = 120;
  const varying = Array.from({ length: days }, (_, i) => 1 + Math.sin(i / 7) ** 2 * 4);

  test('constant observed flow: NSE, alpha/beta-NSE, KGE, FMS, FLV undefined (were -Infinity, 7e7, -9e10)', () => {
    const obs = varying.map(() => 2.5);
    for (const variant of ['nh', 'paper'] as const) {
      const { values, reasons } = calculateMetricsExplained(obs, varying, null, CORE_METRIC_NAMES, { fdcVariant: variant });
      for (const m of CORE_METRIC_NAMES) {
        if (m === 'FHV') continue; // the bias of the highest flows is defined
        assert.ok(Number.isNaN(values[m]), `${variant} ${m}: expected NaN, got ${values[m]}`);
        assert.equal(reasons[m], `constant observed flow (2.5 on all ${days} days)`, `${variant} ${m}`);
      }
      assert.ok(Number.isFinite(values.FHV) && reasons.FHV === undefined);
    }
    // the raw functions agree: no value where neuralhydrology's guards produced huge numbers
    assert.ok(Number.isNaN(fdcFms(obs, varying)) && Number.isNaN(fdcFlv(obs, varying)) && Number.isNaN(paperFdcFms(obs, varying)));
    assert.ok(Number.isNaN(alphaNse(obs, varying)) && Number.isNaN(betaNse(obs, varying)));
  });

  test('constant observed flow whose float mean is not exact (variance ~1e-33): still undefined, not NSE -1e32', () => {
    const obs = varying.map(() => 0.4237811863); // as read back from a predictions file
    assert.notEqual(obs.reduce((a, b) => a + b, 0) / obs.length, obs[0], 'the mean is off by an ulp');
    const { values, reasons } = calculateMetricsExplained(obs, varying, null, CORE_METRIC_NAMES);
    for (const m of ['NSE', 'alpha_nse', 'beta_nse', 'KGE'] as const) {
      assert.ok(Number.isNaN(values[m]), `${m}: expected NaN, got ${values[m]}`);
      assert.equal(reasons[m], `constant observed flow (0.4238 on all ${days} days)`);
    }
  });

  test('a one-day period: every metric undefined, with the reason', () => {
    const { values, reasons } = calculateMetricsExplained([1.2], [1.0], [dayNumber(2001, 10, 1)]);
    for (const m of METRIC_NAMES) {
      if (['MSE', 'RMSE', 'beta_kge', 'missed_peaks'].includes(m)) continue; // defined on one day
      assert.ok(Number.isNaN(values[m]), `${m}: expected NaN, got ${values[m]}`);
      assert.equal(reasons[m], 'only 1 day with both an observed and a simulated value', m);
    }
    assert.ok(Number.isNaN(fdcFlv([1.2], [1.0])), 'FLV of one day is not 0 ("perfect")');
  });

  test('short series: FHV has no top 2% below 25 days, in both variants (the paper code says 0.0)', () => {
    const obs = varying.slice(0, 20);
    const sim = obs.map((v) => v * 1.1);
    for (const variant of ['nh', 'paper'] as const) {
      const { values, reasons } = calculateMetricsExplained(obs, sim, null, ['NSE', 'FHV'], { fdcVariant: variant });
      assert.ok(Number.isFinite(values.NSE));
      assert.ok(Number.isNaN(values.FHV), variant);
      assert.equal(reasons.FHV, 'too few days (20) for the highest 2% of the flow duration curve (at least 25 needed)');
      assert.equal(reasons.NSE, undefined);
    }
  });

  test('a flat low-flow segment (zero flow on a third of the days) leaves FLV undefined, other metrics defined', () => {
    const obs = varying.map((v, i) => (i % 3 === 0 ? 0 : v));
    const { values, reasons } = calculateMetricsExplained(obs, varying, null, CORE_METRIC_NAMES);
    assert.ok(Number.isNaN(values.FLV));
    assert.equal(reasons.FLV, 'the observed flow duration curve is flat over its lowest 30%');
    for (const m of ['NSE', 'KGE', 'FHV', 'FMS'] as const) assert.ok(Number.isFinite(values[m]), m);
  });

  test('no valid pair at all: every metric NaN, one reason', () => {
    const { values, reasons } = calculateMetricsExplained([Number.NaN, 1], [1, Number.NaN], null, CORE_METRIC_NAMES);
    for (const m of CORE_METRIC_NAMES) {
      assert.ok(Number.isNaN(values[m]));
      assert.equal(reasons[m], 'no day with both an observed and a simulated value');
    }
  });
});
