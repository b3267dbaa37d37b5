import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

/**
 * The layer order of src/, lowest first. A module may import only from its own folder and from folders of a
 * lower rank; folders of equal rank (config, compute, render) do not import each other. This list is the one
 * place the order is written down (the README's code-layout section describes it).
 */
const LAYERS: string[][] = [
  ['util'],
  ['config', 'compute', 'render'],
  ['data'],
  ['models'],
  ['run'],
  ['export'],
  ['training'],
  ['evaluation'],
  ['analysis'],
  ['report'],
  ['bench'],
  ['study'],
  ['web'],
  ['cli'],
];
const RANK = new Map(LAYERS.flatMap((names, rank) => names.map((n) => [n, rank] as const)));
const SRC = path.resolve(import.meta.dirname, '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') ? [full] : [];
  });
}

/** Relative imports (static, dynamic and re-exports) of a file, resolved to paths below src/. */
function relativeImports(file: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g)) {
        out.push({ line: i + 1, target: path.relative(SRC, path.resolve(path.dirname(file), m[1])) });
      }
    });
  return out;
}

const layerOf = (relative: string) => relative.split(path.sep)[0];

test('every folder of src/ has a place in the layer order', () => {
  const folders = readdirSync(SRC).filter((n) => statSync(path.join(SRC, n)).isDirectory());
  for (const folder of folders) assert.ok(RANK.has(folder), `src/${folder} is not in LAYERS (test/layers.test.ts)`);
});

test('no module imports from its own or a higher layer', () => {
  const violations: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const own = layerOf(path.relative(SRC, file));
    if (!RANK.has(own)) continue; // src/index.ts: the library entry point re-exports every layer
    for (const { line, target } of relativeImports(file)) {
      const other = layerOf(target);
      if (other === own) continue;
      const ok = RANK.has(other) && (RANK.get(other) as number) < (RANK.get(own) as number);
      if (!ok) violations.push(`${path.relative(SRC, file)}:${line} (${own}) imports ${target} (${other})`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the import graph of src/ has no cycle', () => {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const from = path.relative(SRC, file);
    graph.set(
      from,
      relativeImports(file).map(({ target }) => target.replace(/\.js$/, '.ts')),
    );
  }
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[] = [];
  const visit = (node: string) => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'open') {
      cycles.push([...stack.slice(stack.indexOf(node)), node].join(' -> '));
      return;
    }
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) visit(next);
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) visit(node);
  assert.deepEqual(cycles, []);
});
