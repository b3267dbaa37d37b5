import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openBackend, resolveBackend } from '../src/compute/select.js';
import { configSchema } from '../src/config/schema.js';
import { BACKEND_CHOICES, BACKEND_NAMES } from '../src/util/backend-names.js';
import { InputError } from '../src/util/errors.js';
import { repoRoot, tinyConfig } from './helpers/tiny-config.js';

/** Runs fn with EALSTM_NO_NATIVE=1 (the native addon refused whether or not it is built), restoring it after. */
function withoutNative<T>(fn: () => T): T {
  const saved = process.env.EALSTM_NO_NATIVE;
  process.env.EALSTM_NO_NATIVE = '1';
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.EALSTM_NO_NATIVE;
    else process.env.EALSTM_NO_NATIVE = saved;
  }
}

const close = (b: unknown) => (b as { close?: () => void }).close?.();

describe('backend registry (util/backend-names.ts, compute/select.ts)', () => {
  it('the config schema accepts exactly the registered names and auto', () => {
    const backend = configSchema.shape.backend;
    for (const name of BACKEND_CHOICES) assert.equal(backend.parse(name), name);
    assert.equal(backend.parse(undefined), 'auto');
    assert.throws(() => backend.parse('cuda'));
    assert.deepEqual([...BACKEND_CHOICES], ['auto', ...BACKEND_NAMES]);
  });

  it('every registered backend either loads or says why not; the TypeScript ones always load', () => {
    for (const name of BACKEND_NAMES) {
      const loaded = openBackend(name, 1);
      if (loaded.backend) close(loaded.backend);
      else assert.ok(loaded.reason.length > 10, `${name}: no reason`);
    }
    assert.equal(openBackend('reference').backend?.name, 'reference-f32');
    assert.equal(openBackend('reference-f64').backend?.name, 'reference-f64');
  });

  it("a named backend that does not load is an InputError saying why ('backend: native' without the addon)", () => {
    withoutNative(() => {
      assert.throws(
        () => resolveBackend('native', 1),
        (e: unknown) => e instanceof InputError && /^backend 'native' is not available: disabled by the EALSTM_NO_NATIVE/.test(e.message),
      );
    });
  });

  it("'auto' takes the first backend that loads and says why it skipped the ones before", () => {
    // webgpu comes first (taken only on a hardware GPU: test/webgpu-backend.test.ts); switched off here so that the
    // CPU order below is checked on GPU machines too.
    process.env.EALSTM_NO_WEBGPU = '1';
    const { backend, skipped: all } = withoutNative(() => resolveBackend('auto', 1));
    delete process.env.EALSTM_NO_WEBGPU;
    close(backend);
    assert.deepEqual(all[0], { name: 'webgpu', reason: 'disabled by the EALSTM_NO_WEBGPU environment variable' });
    const skipped = all.slice(1);
    assert.deepEqual(skipped[0], { name: 'native', reason: 'disabled by the EALSTM_NO_NATIVE environment variable' });
    const wasm = openBackend('wasm', 1);
    if (wasm.backend) {
      close(wasm.backend);
      assert.equal(skipped.length, 1);
      assert.match(backend.name, /^wasm-/);
    } else {
      assert.deepEqual(skipped[1], { name: 'wasm', reason: wasm.reason });
      assert.equal(backend.name, 'reference-f32');
    }
    assert.ok(!skipped.some((s) => s.name === 'reference-f64')); // never auto's choice
  });

  it("ealstm train with 'backend: native' that cannot load: exit 2, one error line saying why, no run directory", () => {
    const { dir, file } = tinyConfig({ backend: 'native' });
    const runDir = path.join(dir, 'run');
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src', 'cli', 'main.ts'), 'train', '--config', file, '--run-dir', runDir], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, EALSTM_NO_NATIVE: '1' },
      timeout: 60_000,
    });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim(), "error: backend 'native' is not available: disabled by the EALSTM_NO_NATIVE environment variable");
    assert.ok(!existsSync(runDir), 'nothing written');
  });
});
