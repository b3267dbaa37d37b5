import { InputError } from '../util/errors.js';
import type { Tensor } from '../util/safetensors.js';
import type { RecurrentModel } from './model.js';

/**
 * Sets the model's parameters from tensors named as in models/layout.ts (a checkpoint or a bundle's
 * model.safetensors); `source` names the file in the error for a missing or misshapen parameter.
 */
export function applyWeights(model: RecurrentModel, tensors: Record<string, Tensor>, source: string): void {
  for (const p of model.layout) {
    const t = tensors[p.name];
    if (!t || t.data.length !== p.size) {
      throw new InputError(`${source}: parameter '${p.name}' is missing or has shape [${t?.shape ?? ''}] instead of [${p.shape}]`);
    }
    model.params.set(t.data, p.offset);
  }
  model.backend.hostWrote(model.params);
}
