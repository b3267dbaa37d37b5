import type { FloatArray } from '../../compute/backend.js';

/**
 * The model's flat parameter and gradient buffers (one vector for Adam, clipping and checkpoints). A layer keeps
 * the offsets of its own slices into them (see ../layout.ts) and adds its gradients into `grads`.
 */
export interface ParameterBuffers {
  readonly params: FloatArray;
  readonly grads: FloatArray;
}
