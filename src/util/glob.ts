/**
 * Path patterns with `*`, `?` and `[...]` in any segment (no `**`), expanded against the file system, for the
 * commands that take several runs or files in one argument (e.g. `compare --model 'EA=runs/seed*'`).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** The regular expression of one path segment's pattern. */
function segmentRegExp(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close < 0) re += '\\[';
      else {
        let body = segment.slice(i + 1, close);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export const hasGlob = (s: string): boolean => /[*?[]/.test(s);

/** The entries of a folder, sorted; none when it is not a readable folder. */
function entries(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/**
 * Expands a path pattern, sorted; names starting with '.' only match a segment that starts with '.'. A path
 * without glob characters is returned as is (whether or not it exists).
 */
export function expandGlob(pattern: string): string[] {
  if (!hasGlob(pattern)) return [pattern];
  const absolute = path.isAbsolute(pattern);
  const segments = pattern.split('/').filter((s, i) => s !== '' || i === 0);
  let current = [absolute ? '/' : ''];
  for (const segment of absolute ? segments.slice(1) : segments) {
    const next: string[] = [];
    if (!hasGlob(segment)) {
      for (const base of current) {
        const p = base ? path.join(base, segment) : segment;
        if (existsSync(p)) next.push(p);
      }
    } else {
      const re = segmentRegExp(segment);
      for (const base of current) {
        for (const name of entries(base || '.')) {
          if (name.startsWith('.') && !segment.startsWith('.')) continue;
          if (re.test(name)) next.push(base ? path.join(base, name) : name);
        }
      }
    }
    current = next;
    if (current.length === 0) break;
  }
  return current.sort();
}
