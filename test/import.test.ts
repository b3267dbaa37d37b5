import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { readBundleInfo } from '../src/run/bundle.js';
import { type ImportFormat, importModel, mapStateDict } from '../src/run/import-model.js';
import { readRunConfig } from '../src/run/run-dir.js';
import { readTorchStateDict } from '../src/run/torch-pickle.js';
import { readZipEntries } from '../src/run/zip-archive.js';
import { loadRun } from '../src/run/load-run.js';
import { InputError } from '../src/util/errors.js';

// Fixtures: scripts/fixtures/make_import_fixtures.py (PyTorch models built as neuralhydrology and the paper's code
// define them; their state dicts saved with torch.save and their predictions on fixed raw inputs).
const FIXTURES = new URL('./fixtures/import/', import.meta.url).pathname;
const expected = JSON.parse(readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as Record<
  string,
  { x_d: number[][][]; x_s: number[][]; y: number[] }
>;
const work = mkdtempSync(path.join(tmpdir(), 'ealstm-import-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** Runs the bundle's model on the fixture's raw inputs (normalised with the bundle's scaler), in discharge units. */
function predictWithBundle(bundle: string, name: string): number[] {
  const { model, scaler } = loadRun(bundle, { backend: 'reference', threads: 1 });
  const { x_d, x_s } = expected[name];
  const n = x_d.length;
  const t = x_d[0].length;
  const d = x_d[0][0].length;
  model.ensureCapacity(n, t);
  for (let b = 0; b < n; b++) {
    for (let k = 0; k < t; k++)
      for (let j = 0; j < d; j++) model.dynamicInput[(k * n + b) * d + j] = (x_d[b][k][j] - scaler.input_mean[j]) / scaler.input_std[j];
    x_s[b].forEach((v, j) => {
      model.staticInput[b * x_s[b].length + j] = (v - scaler.static_mean[j]) / scaler.static_std[j];
    });
  }
  const out = model.forward(n);
  return Array.from(out.subarray(0, n), (v) => v * scaler.target_std + scaler.target_mean);
}

function importFixture(name: string, format: ImportFormat, from: string, withOurFiles = false): string {
  const output = path.join(work, `${name}.ealstm`);
  const dir = path.join(FIXTURES, name);
  importModel({
    from: path.join(dir, from),
    format,
    output,
    ...(withOurFiles ? { config: path.join(dir, 'config.yml'), scaler: path.join(dir, 'scaler.json') } : {}),
  });
  return output;
}

function assertClose(actual: number[], want: number[]): void {
  assert.equal(actual.length, want.length);
  actual.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1e-5, `prediction ${i}: ${v} vs PyTorch ${want[i]}`));
}

describe('import reproduces the PyTorch predictions within 1e-5', () => {
  const cases: [string, ImportFormat, string, boolean, 'lstm' | 'ealstm'][] = [
    ['nh_cudalstm', 'nh', 'model_epoch003.pt', false, 'lstm'],
    ['nh_ealstm', 'nh', 'model_epoch003.pt', false, 'ealstm'],
    ['paper_ealstm', 'paper', 'model_epoch030.pt', true, 'ealstm'],
    ['paper_lstm', 'paper', 'model_epoch030.pt', true, 'lstm'],
    ['paper_ealstm', 'paper', 'legacy_model_epoch030.pt', true, 'ealstm'],
    ['safetensors_ealstm', 'safetensors', 'weights.safetensors', true, 'ealstm'],
  ];
  for (const [name, format, from, ours, kind] of cases) {
    it(`${name} ${from} (--format ${format})`, () => {
      const bundle = importFixture(name, format, from, ours);
      const info = readBundleInfo(bundle);
      assert.equal(info?.model, kind);
      assert.equal(info?.hidden_size, 8);
      assert.deepEqual(info?.dynamic_inputs[0], { name: 'prcp(mm/day)', unit: 'mm/day' });
      assert.deepEqual(info?.static_attributes[1], { name: 'area_gages2', unit: 'km2' });
      assert.ok(existsSync(path.join(bundle, 'model_card.md')));
      assertClose(predictWithBundle(bundle, name), expected[name].y);
    });
  }
});

/**
 * The entries rewritten as a stored zip whose central directory keeps every size and offset in zip64 extra fields
 * (0xFFFFFFFF markers in the 32-bit fields) and whose end records are zip64 ones, as a writer does for files beyond
 * 4 GiB (and miniz, which torch.save uses, for any file when told to).
 */
function zip64Archive(entries: Map<string, Uint8Array>): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(45, 4);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    parts.push(local, nameBytes, Buffer.from(data));
    const extra = Buffer.alloc(4 + 24);
    extra.writeUInt16LE(1, 0);
    extra.writeUInt16LE(24, 2);
    extra.writeBigUInt64LE(BigInt(data.length), 4);
    extra.writeBigUInt64LE(BigInt(data.length), 12);
    extra.writeBigUInt64LE(BigInt(offset), 20);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(45, 4);
    entry.writeUInt16LE(45, 6);
    entry.writeUInt32LE(0xffffffff, 20);
    entry.writeUInt32LE(0xffffffff, 24);
    entry.writeUInt16LE(nameBytes.length, 28);
    entry.writeUInt16LE(extra.length, 30);
    entry.writeUInt32LE(0xffffffff, 42);
    central.push(entry, nameBytes, extra);
    offset += 30 + nameBytes.length + data.length;
  }
  const dirSize = central.reduce((n, b) => n + b.length, 0);
  const end64 = Buffer.alloc(56);
  end64.writeUInt32LE(0x06064b50, 0);
  end64.writeBigUInt64LE(44n, 4);
  end64.writeBigUInt64LE(BigInt(entries.size), 24);
  end64.writeBigUInt64LE(BigInt(entries.size), 32);
  end64.writeBigUInt64LE(BigInt(dirSize), 40);
  end64.writeBigUInt64LE(BigInt(offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(offset + dirSize), 8);
  locator.writeUInt32LE(1, 16);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0xffff, 8);
  end.writeUInt16LE(0xffff, 10);
  end.writeUInt32LE(0xffffffff, 12);
  end.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([...parts, ...central, end64, locator, end]);
}

it('a checkpoint whose zip keeps its sizes and offsets in zip64 fields imports the same', () => {
  const dir = path.join(FIXTURES, 'nh_ealstm');
  const run = path.join(work, 'nh_zip64');
  cpSync(dir, run, { recursive: true });
  const original = readFileSync(path.join(dir, 'model_epoch003.pt'));
  const rewritten = zip64Archive(readZipEntries(original, 'model_epoch003.pt'));
  assert.ok(rewritten.includes(Buffer.from([0xff, 0xff, 0xff, 0xff])));
  writeFileSync(path.join(run, 'model_epoch003.pt'), rewritten);
  const output = path.join(work, 'nh_zip64.ealstm');
  importModel({ from: path.join(run, 'model_epoch003.pt'), format: 'nh', output });
  assertClose(predictWithBundle(output, 'nh_ealstm'), expected.nh_ealstm.y);
  // Markers without the zip64 end record are a damaged file, not a misread one.
  const noRecord = Buffer.from(rewritten);
  noRecord.writeUInt32LE(0, noRecord.length - 22 - 20);
  assert.throws(() => readZipEntries(noRecord, 'cut.pt'), (e: Error) => e instanceof InputError && /zip64 markers without a zip64 end record/.test(e.message));
});

describe('import rejects bad files with a clear InputError', () => {
  it('a pickle that calls os.system is refused, naming the global, and runs nothing', () => {
    assert.throws(
      () => importModel({ from: path.join(FIXTURES, 'malicious_os_system.pt'), format: 'nh', config: path.join(FIXTURES, 'nh_ealstm', 'config.yml'), scaler: path.join(FIXTURES, 'nh_ealstm', 'train_data', 'train_data_scaler.yml'), output: path.join(work, 'evil.ealstm') }),
      (err: Error) => err instanceof InputError && /refused to load: the pickle calls 'posix\.system'/.test(err.message),
    );
    assert.ok(!existsSync('/tmp/ealstm-import-pwned'));
    assert.ok(!existsSync(path.join(work, 'evil.ealstm')));
  });
  it("an older neuralhydrology run's pickled train_data_scaler.p is refused with what to give instead", () => {
    const scaler = path.join(work, 'train_data_scaler.p');
    writeFileSync(scaler, Buffer.from([0x80, 0x04, 0x95])); // the start of any protocol-4 pickle
    assert.throws(
      () => importModel({ from: path.join(FIXTURES, 'nh_ealstm', 'model_epoch003.pt'), format: 'nh', scaler, output: path.join(work, 'old.ealstm') }),
      (err: Error) => err instanceof InputError && err.message.includes('train_data_scaler.p of older neuralhydrology versions is not read') && err.message.includes('--scaler'),
    );
    assert.ok(!existsSync(path.join(work, 'old.ealstm')));
  });
  it('weights of another hidden size than the config are refused, naming the parameter and both shapes', () => {
    assert.throws(
      () => importModel({ from: path.join(FIXTURES, 'nh_wrong_shape', 'model_epoch003.pt'), format: 'nh', output: path.join(work, 'wrong.ealstm') }),
      (err: Error) => err instanceof InputError && /'lstm\.weight_ih_l0' has shape \[24,5\], expected \[32,5\]/.test(err.message),
    );
  });
  it('a truncated checkpoint (zip or legacy format) is refused', () => {
    const zip = readFileSync(path.join(FIXTURES, 'nh_ealstm', 'model_epoch003.pt'));
    const legacy = readFileSync(path.join(FIXTURES, 'paper_ealstm', 'legacy_model_epoch030.pt'));
    const cuts: [string, Uint8Array][] = [
      ['zip-end', zip.subarray(0, zip.length - 100)],
      ['zip-start', zip.subarray(0, 600)],
      ['legacy-data', legacy.subarray(0, legacy.length - 50)],
      ['legacy-pickle', legacy.subarray(0, 300)],
    ];
    for (const [what, bytes] of cuts) {
      const file = path.join(work, `${what}.pt`);
      writeFileSync(file, bytes);
      assert.throws(
        () => importModel({ from: file, format: 'paper', config: path.join(FIXTURES, 'paper_ealstm', 'config.yml'), scaler: path.join(FIXTURES, 'paper_ealstm', 'scaler.json'), output: path.join(work, 'cut.ealstm') }),
        (err: Error) => err instanceof InputError && /not a readable PyTorch zip file|ends early|truncated/.test(err.message),
        what,
      );
    }
  });
  it('an opcode a state_dict does not need is refused', () => {
    // A zip whose data.pkl is protocol 2 then an INST opcode ('i'), which builds arbitrary objects.
    const bytes = readFileSync(path.join(FIXTURES, 'nh_ealstm', 'model_epoch003.pt'));
    const at = bytes.indexOf(Buffer.from([0x80, 0x02, 0x63]));
    const evil = Buffer.from(bytes);
    evil[at + 2] = 0x69;
    const file = path.join(work, 'inst.pt');
    writeFileSync(file, evil);
    assert.throws(
      () => importModel({ from: file, format: 'nh', config: path.join(FIXTURES, 'nh_ealstm', 'config.yml'), scaler: path.join(FIXTURES, 'nh_ealstm', 'train_data', 'train_data_scaler.yml'), output: path.join(work, 'inst.ealstm') }),
      (err: Error) => err instanceof InputError && /opcode 0x69/.test(err.message),
    );
  });
  it('a state dict with parameters of a part we do not have (an embedding network) is refused, naming them', () => {
    const file = path.join(FIXTURES, 'paper_ealstm', 'model_epoch030.pt');
    const sd = readTorchStateDict(readFileSync(file), file);
    sd.set('embedding_net.statics_embedding.net.0.weight', { shape: [2, 2], data: new Float64Array(4) });
    assert.throws(
      () => mapStateDict(sd, readRunConfig(path.join(FIXTURES, 'paper_ealstm')), file),
      (err: Error) => err instanceof InputError && /'embedding_net\.statics_embedding\.net\.0\.weight' are not part of a one-layer ealstm/.test(err.message),
    );
  });
});
