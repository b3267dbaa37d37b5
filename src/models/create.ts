import type { ComputeBackend } from '../compute/backend.js';
import type { RunConfig } from '../config/schema.js';
import { RecurrentModel } from './model.js';

/** Builds a model for a config on a backend (parameters uninitialised). */
export function createModel(config: RunConfig, backend: ComputeBackend): RecurrentModel {
  return new RecurrentModel(
    backend,
    {
      kind: config.model,
      dynamicInputs: config.dynamic_inputs.length,
      staticInputs: config.static_attributes.length,
      hidden: config.hidden_size,
      layers: config.num_layers,
    },
    config.output_dropout,
  );
}
