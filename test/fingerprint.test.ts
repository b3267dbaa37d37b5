import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { checkFingerprint, checkModelSettings, fingerprintFile, writeFingerprint } from '../src/run/fingerprint.js';
import { scalerFile } from '../src/run/run-dir.js';
import { tinyConfig } from './helpers/tiny-config.js';

/** A run directory with a fingerprint whose config lacks `dropped` keys, as one written by an older version. */
function olderRun(dropped: string[]): { runDir: string; config: ReturnType<typeof loadConfig> } {
  const config = loadConfig(tinyConfig().file);
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'ealstm-fp-'));
  writeFileSync(scalerFile(runDir), '{}\n');
  writeFingerprint(runDir, config);
  const fp = JSON.parse(readFileSync(fingerprintFile(runDir), 'utf8'));
  for (const key of dropped) delete fp.config[key];
  writeFileSync(fingerprintFile(runDir), JSON.stringify(fp));
  return { runDir, config };
}

test('a key added to the config schema after a run was made counts as its default, not as an edit', () => {
  const { runDir, config } = olderRun(['num_layers', 'finetune_modules', 'refit_scaler', 'missing_values']);
  assert.equal(checkFingerprint(runDir, config), null);
  checkModelSettings(runDir, config);
  assert.throws(() => checkFingerprint(runDir, { ...config, num_layers: 2 }), /num_layers \(was 1, now 2\)/);
  assert.throws(() => checkModelSettings(runDir, { ...config, num_layers: 2 }), /edited after training: num_layers \(was 1, now 2\)/);
});
