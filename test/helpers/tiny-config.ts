import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const demoData = path.join(repoRoot, 'data', 'demo', 'camels_us');

/** The lines of a small but real training setup on the bundled basins; `overrides` replace keys, '' drops one. */
export function tinyConfigLines(basins: string, cacheDir: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    experiment_name: 'tiny',
    model: 'ealstm',
    dataset: 'camels_us',
    data_dir: demoData,
    forcings: 'daymet',
    dynamic_inputs: '[prcp(mm/day), srad(W/m2), tmax(C), tmin(C), vp(Pa)]',
    static_attributes: '[p_mean, aridity, elev_mean, frac_forest]',
    target_variables: '[QObs(mm/d)]',
    train_basin_file: basins,
    test_basin_file: basins,
    train_start_date: '01/10/2000',
    train_end_date: '30/09/2001',
    test_start_date: '01/10/2001',
    test_end_date: '31/03/2002',
    seq_length: '20',
    hidden_size: '6',
    output_dropout: '0.3',
    learning_rate: '{1: 5.0e-3, 2: 1.0e-3}',
    batch_size: '64',
    epochs: '2',
    seed: '5',
    cache_dir: cacheDir,
    backend: 'reference',
    num_workers: '1',
    ...overrides,
  };
}

/** YAML text of config lines, without the dropped ('') keys. */
export function configYaml(lines: Record<string, string>): string {
  const text = Object.entries(lines)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
  return `${text}\n`;
}

/** A small but real training setup on the bundled CAMELS-US basins, in a new temporary folder. */
export function tinyConfig(overrides: Record<string, string> = {}): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ealstm-test-'));
  const basins = path.join(dir, 'basins.txt');
  writeFileSync(basins, '01022500\n02053200\n02464000\n');
  const file = path.join(dir, 'config.yml');
  writeFileSync(file, configYaml(tinyConfigLines(basins, path.join(dir, 'cache'), overrides)));
  return { dir, file };
}
