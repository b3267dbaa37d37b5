import { z } from 'zod';
import { BACKEND_CHOICES } from '../util/backend-names.js';

const ddmmyyyy = z.string().regex(/^\d{1,2}\/\d{1,2}\/\d{4}$/, 'expected a date as DD/MM/YYYY');
const forcing = z.enum(['daymet', 'maurer', 'maurer_extended', 'nldas']);
const positiveInt = z.number().int().positive();

/** {epoch: learning rate}, e.g. the paper's {1: 1e-3, 11: 5e-4, 21: 1e-4}; a plain number means constant. */
const learningRate = z.union([
  z.number().positive(),
  z.record(z.string().regex(/^\d+$/, 'expected an epoch number as key'), z.number().positive()),
]);

/**
 * The run configuration. Key names follow neuralhydrology wherever it has one, so its users can bring their
 * configs; unknown or misspelt keys are errors.
 */
/** log_interval's default: a read every 16 batches costs a GPU little and still shows progress. */
export const DEFAULT_LOG_INTERVAL = 16;

export const configSchema = z.strictObject({
  experiment_name: z.string().min(1).default('ealstm_run'),
  model: z.enum(['lstm', 'ealstm']).default('ealstm'),
  /** A dataset registered in data/datasets.ts (camels_us, caravan, generic); an unknown name is an error when data are loaded. */
  dataset: z.string().min(1).default('camels_us'),
  data_dir: z.string().min(1),
  /** CAMELS-US forcing product (ignored for caravan); one, given as a name or a one-element list. */
  forcings: z.union([forcing, z.array(forcing).length(1, 'one forcing product at a time is supported')]).default('daymet'),
  /**
   * More texts or numbers that mean "missing" in the data files of `dataset: generic`, in addition to the fixed
   * rule of util/missing.ts (empty, NA, NaN, -999, -9999), e.g. ['-99', 'M']. Only for dataset generic.
   */
  missing_values: z.array(z.union([z.string(), z.number()]).transform(String)).default([]),
  dynamic_inputs: z.array(z.string()).min(1),
  static_attributes: z.array(z.string()).default([]),
  target_variables: z.array(z.string()).length(1, 'exactly one target variable is supported'),
  train_basin_file: z.string().min(1),
  test_basin_file: z.string().min(1),
  train_start_date: ddmmyyyy,
  train_end_date: ddmmyyyy,
  test_start_date: ddmmyyyy,
  test_end_date: ddmmyyyy,
  seq_length: positiveInt.default(270),
  hidden_size: positiveInt.max(8192, 'at most 8192 cells (the paper uses 256; larger models do not fit in memory)').default(256),
  initial_forget_bias: z.number().default(5),
  /** Stacked recurrent layers (torch.nn.LSTM's num_layers; the paper's Appendix B tried 1 and 2). */
  num_layers: positiveInt.max(8, 'at most 8 stacked layers').default(1),
  output_dropout: z.number().min(0).lt(1).default(0.4),
  loss: z.enum(['NSE', 'MSE']).default('NSE'),
  learning_rate: learningRate.default({ '1': 1e-3, '11': 5e-4, '21': 1e-4 }),
  batch_size: positiveInt.default(256),
  epochs: positiveInt.default(30),
  clip_gradient_norm: z.number().min(0).default(1),
  /**
   * Batches between reads of the training loss (neuralhydrology's name): the loss is read after the first batch, every
   * log_interval batches and at the end of an epoch, and checked for divergence there. On a GPU each read waits for
   * the queued work; 1 reads every batch.
   */
  log_interval: positiveInt.default(DEFAULT_LOG_INTERVAL),
  seed: z.number().int().min(0).optional(),
  /** Where parsed data is cached; default: $EALSTM_CACHE_DIR or ~/.cache/ealstm. */
  cache_dir: z.string().optional(),
  /** Compute backend: auto picks the fastest available. */
  backend: z.enum(BACKEND_CHOICES).default('auto'),
  /** Threads for the compute backend (0: all cores). */
  num_workers: z.number().int().min(0).default(0),
  /** Folder under which `<experiment_name>_<seed>` run directories are created when --run-dir is not given. */
  run_root: z.string().default('runs'),
  /**
   * Fine-tuning (neuralhydrology's names): the run whose weights this run starts from, and the epoch of those weights
   * (default: its last). `ealstm finetune --from` sets both.
   */
  base_run_dir: z.string().min(1).optional(),
  base_epoch: positiveInt.optional(),
  /** The parts trained when fine-tuning (models/modules.ts: head, input_gate, dynamic_gates, lstm, lstm_l1, ...); [] = all. */
  finetune_modules: z.array(z.string()).default([]),
  /** Fine-tuning normalises with the base run's scaler (as the model learned); true refits it on this run's training data. */
  refit_scaler: z.boolean().default(false),
});

export type RunConfig = z.output<typeof configSchema>;
