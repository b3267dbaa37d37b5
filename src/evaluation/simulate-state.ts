/**
 * The state file of a continuous simulation (`ealstm predict --state-out`): for every run, the epoch used and
 * every basin's LSTM state (h and c of each layer) on the period's last day, to continue the simulation with
 * `--state-in` from the next day (a hot start). Numbers are written in full (JSON keeps every digit of a float),
 * so a simulation continued from the file equals one that never stopped.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isoDate } from '../util/dates.js';
import { InputError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';
import type { BasinState } from './simulate.js';

export const STATE_FORMAT = 'ealstm-predict-state';

export interface SimulationStateFile {
  format: typeof STATE_FORMAT;
  /** The last simulated day (ISO); the continuation starts the day after. */
  end: string;
  members: { run: string; epoch: number; hidden: number; layers: number; basins: Record<string, BasinState> }[];
}

/** Throws unless `file` may be written as a state file: it does not exist, or is a state file (never another file). */
export function checkStateOut(file: string): void {
  if (existsSync(file) && readStateFormat(file) !== STATE_FORMAT) {
    throw new InputError(`--state-out ${file} exists and is not a predict state file; it is not replaced (choose another name)`);
  }
}

/** Writes the state file (see checkStateOut). */
export function writeStateFile(file: string, state: SimulationStateFile): void {
  checkStateOut(file);
  writeFileAtomic(file, `${JSON.stringify(state)}\n`);
}

function readStateFormat(file: string): string | null {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { format?: string }).format ?? null;
  } catch {
    return null;
  }
}

/**
 * Reads a state file to continue from, checking it fits: it ends the day before `start`, was made by the same
 * runs (in the same order) with the same epochs and model sizes, and holds every basin asked for.
 */
export function readStateFile(
  file: string,
  expected: { start: number; members: { run: string; epoch: number; hidden: number; layers: number }[]; basins: string[] },
): SimulationStateFile {
  let state: SimulationStateFile;
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as SimulationStateFile;
  } catch (err) {
    throw new InputError(`--state-in ${file}: cannot read it as JSON (${(err as Error).message})`);
  }
  if (state?.format !== STATE_FORMAT || !Array.isArray(state.members)) {
    throw new InputError(`--state-in ${file}: not a state file written by \`ealstm predict --state-out\``);
  }
  const dayBefore = isoDate(expected.start - 1);
  if (state.end !== dayBefore) {
    throw new InputError(
      `--state-in ${file}: the simulation it continues ended on ${state.end}, so --start must be the day after it, not ${isoDate(expected.start)} (a state ending ${dayBefore} is needed)`,
    );
  }
  if (state.members.length !== expected.members.length) {
    throw new InputError(`--state-in ${file}: it holds the state of ${state.members.length} run(s), but ${expected.members.length} --run-dir are given`);
  }
  expected.members.forEach((want, i) => {
    const got = state.members[i];
    if (path.resolve(got.run) !== path.resolve(want.run) || got.epoch !== want.epoch) {
      throw new InputError(
        `--state-in ${file}: run ${i + 1} there is ${got.run} at epoch ${got.epoch}, but here it is ${want.run} at epoch ${want.epoch}; give the same runs in the same order`,
      );
    }
    if (got.hidden !== want.hidden || got.layers !== want.layers) {
      throw new InputError(`--state-in ${file}: run ${want.run}: the state is for hidden_size ${got.hidden} x ${got.layers} layer(s), the model has ${want.hidden} x ${want.layers}`);
    }
    for (const basin of expected.basins) {
      const b = got.basins[basin];
      if (!b || b.layers.length !== want.layers || b.layers.some((l) => l.h.length !== want.hidden || l.c.length !== want.hidden)) {
        throw new InputError(`--state-in ${file}: no state for basin ${basin} of run ${want.run} (simulate it in the previous chunk too)`);
      }
    }
  });
  return state;
}
