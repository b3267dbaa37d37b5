/** Which network: 'lstm' (static attributes, if any, concatenated to every step) or 'ealstm'. */
export type ModelKind = 'lstm' | 'ealstm';

export interface ModelSpec {
  kind: ModelKind;
  dynamicInputs: number;
  staticInputs: number;
  hidden: number;
  /** Stacked recurrent layers (torch.nn.LSTM's num_layers); layers above the first are plain LSTM layers. Default 1. */
  layers?: number;
}

export interface ParamSlice {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/** The parameter names of stacked layer `index` (1-based above the first), torch.nn.LSTM's `_l<index>` suffix. */
export function upperLayerNames(index: number): { weightIh: string; weightHh: string; biasIh: string; biasHh: string } {
  return { weightIh: `weight_ih_l${index}`, weightHh: `weight_hh_l${index}`, biasIh: `bias_ih_l${index}`, biasHh: `bias_hh_l${index}` };
}

/**
 * All parameters live in one flat buffer so that Adam, clipping and checkpoints treat them as one vector.
 * Gate columns are [f | o | g] for the EA-LSTM (the paper's order) and [f | o | g | i] for the LSTM, so both
 * share one cell kernel. The LSTM's weight_ih holds the dynamic rows first, then the static rows, and it has
 * two bias vectors like torch.nn.LSTM (and neuralhydrology's CudaLSTM): the model is the same as with one,
 * but Adam and gradient clipping see both, which is what PyTorch-trained LSTMs went through. Stacked layers'
 * parameters sit between the first layer's and the head's, so a one-layer model's layout is unchanged.
 */
export function parameterLayout(spec: ModelSpec): ParamSlice[] {
  const { kind, dynamicInputs: d, staticInputs: s, hidden: h } = spec;
  const gates = kind === 'ealstm' ? 3 * h : 4 * h;
  const shapes: [string, number[]][] =
    kind === 'ealstm'
      ? [
          ['weight_ih', [d, gates]],
          ['weight_hh', [h, gates]],
          ['bias', [gates]],
          ['weight_sh', [s, h]],
          ['bias_s', [h]],
          ['fc_weight', [1, h]],
          ['fc_bias', [1]],
        ]
      : [
          ['weight_ih', [d + s, gates]],
          ['weight_hh', [h, gates]],
          ['bias_ih', [gates]],
          ['bias_hh', [gates]],
          ['fc_weight', [1, h]],
          ['fc_bias', [1]],
        ];
  // Layers above the first: plain LSTM layers over the hidden sequence below, [H, 4H] input weights, two biases.
  const upper: [string, number[]][] = [];
  for (let l = 1; l < (spec.layers ?? 1); l++) {
    const names = upperLayerNames(l);
    upper.push([names.weightIh, [h, 4 * h]], [names.weightHh, [h, 4 * h]], [names.biasIh, [4 * h]], [names.biasHh, [4 * h]]);
  }
  shapes.splice(shapes.length - 2, 0, ...upper);
  let offset = 0;
  return shapes.map(([name, shape]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const slice = { name, shape, offset, size };
    offset += size;
    return slice;
  });
}

export function parameterCount(layout: ParamSlice[]): number {
  const last = layout[layout.length - 1];
  return last.offset + last.size;
}

export function slice(layout: ParamSlice[], name: string): ParamSlice {
  const found = layout.find((p) => p.name === name);
  if (!found) throw new Error(`no parameter '${name}'`);
  return found;
}
