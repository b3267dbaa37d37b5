/**
 * Computes the values asked for by name from a table of functions (metrics, signatures), in the order asked;
 * an unknown name is a RangeError listing the known names.
 */
export function computeByName<K extends string, N extends K>(compute: Record<K, () => number>, names: readonly N[], kind: string): Record<N, number> {
  const out = {} as Record<N, number>;
  for (const name of names) {
    const fn = Object.hasOwn(compute, name) ? compute[name] : undefined;
    if (!fn) throw new RangeError(`Unknown ${kind} '${name}'. Known: ${Object.keys(compute).join(', ')}`);
    out[name] = fn();
  }
  return out;
}
