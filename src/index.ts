/**
 * The library: what the `ealstm` commands do, callable from code. The pipeline reads top to bottom:
 * config -> data -> models -> run -> training -> evaluation -> analysis -> report -> study.
 */
export { loadConfig, parseConfig, learningRateAt } from './config/load.js';
export type { RunConfig } from './config/schema.js';
export { InputError } from './util/errors.js';
export type { BasinTimeSeries, AttributeTable } from './data/types.js';
export { readCamelsUsBasin, readCamelsUsAttributes } from './data/camels-us.js';
export { readCaravanBasin, readCaravanAttributes } from './data/caravan.js';
export { loadBasinCached, loadAttributes, defaultCacheDir } from './data/cache.js';
export { readBasinList } from './data/basin-list.js';
export { loadPeriod, fitScaler } from './data/dataset.js';
export { normalize } from './data/normalize.js';
export type { ComputeBackend, FloatArray } from './compute/backend.js';
export { createBackend } from './compute/select.js';
export { ReferenceBackend } from './compute/reference.js';
export { RecurrentModel } from './models/model.js';
export type { ModelSpec, ModelKind } from './models/layout.js';
export { train } from './training/trainer.js';
export { createModel } from './models/create.js';
export { evaluateRun } from './evaluation/evaluate.js';
export { predictBasin } from './evaluation/predict.js';
export { runPredict } from './evaluation/simulate-run.js';
export { simulateContinuous, simulateWindows } from './evaluation/simulate.js';
export { calculateMetrics, calculateMetricsExplained, METRIC_NAMES } from './evaluation/metrics.js';
export { summarizeMetric } from './evaluation/summary.js';
export { readMetricsFile, readPredictions } from './evaluation/results-files.js';
export { calculateSignatures, SIGNATURE_NAMES } from './evaluation/signatures.js';
export { wilcoxon, cohensD, ecdf } from './evaluation/statistics.js';
export { buildEnsemble } from './evaluation/ensemble.js';
export { runCompare } from './evaluation/compare.js';
export { runSignatures } from './evaluation/signature-run.js';
export { runRobustness } from './analysis/robustness.js';
export { runSensitivity } from './analysis/sensitivity.js';
export { analyzeEmbedding } from './analysis/embedding.js';
export { writeReport } from './report/html.js';
export { exportRun } from './run/export-bundle.js';
export { importModel } from './run/import-model.js';
export { exportOnnxRun } from './export/onnx-run.js';
export { loadStudy } from './study/study-file.js';
export { expandStudy } from './study/expand.js';
export { runLocal } from './study/local-executor.js';
export { collectStudy } from './study/collect.js';
