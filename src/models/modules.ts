import type { ModelKind, ParamSlice } from './layout.js';
import { upperLayerNames } from './layout.js';

/**
 * The named parts of a model that fine-tuning can train or freeze (neuralhydrology's `finetune_modules` names where it
 * has them): `head` (the linear output layer), for the EA-LSTM `input_gate` (the static layer) and `dynamic_gates`
 * (its recurrent layer's forget, output and cell gates), for the LSTM `lstm` (its first recurrent layer), and for
 * stacked models `lstm_l1`, `lstm_l2`, ... (the layers above the first). The parts cover every parameter once.
 */
export function parameterModules(kind: ModelKind, layout: readonly ParamSlice[]): Map<string, ParamSlice[]> {
  const byName = new Map(layout.map((p) => [p.name, p]));
  const pick = (...names: string[]) => names.map((n) => byName.get(n)).filter((p): p is ParamSlice => p !== undefined);
  const modules = new Map<string, ParamSlice[]>();
  if (kind === 'ealstm') {
    modules.set('input_gate', pick('weight_sh', 'bias_s'));
    modules.set('dynamic_gates', pick('weight_ih', 'weight_hh', 'bias'));
  } else {
    modules.set('lstm', pick('weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'));
  }
  for (let l = 1; byName.has(upperLayerNames(l).weightIh); l++) {
    const names = upperLayerNames(l);
    modules.set(`lstm_l${l}`, pick(names.weightIh, names.weightHh, names.biasIh, names.biasHh));
  }
  modules.set('head', pick('fc_weight', 'fc_bias'));
  return modules;
}

/**
 * The parameters that stay fixed when only `trained` modules are trained ([] trains everything). An unknown
 * module name is reported by the caller with the list of valid ones: returns it as `unknown`.
 */
export function frozenParameters(
  kind: ModelKind,
  layout: readonly ParamSlice[],
  trained: readonly string[],
): { frozen: ParamSlice[]; unknown: string[]; known: string[] } {
  const modules = parameterModules(kind, layout);
  const known = [...modules.keys()];
  const unknown = trained.filter((name) => !modules.has(name));
  if (trained.length === 0) return { frozen: [], unknown, known };
  const frozen = [...modules.entries()].filter(([name]) => !trained.includes(name)).flatMap(([, params]) => params);
  return { frozen, unknown, known };
}
