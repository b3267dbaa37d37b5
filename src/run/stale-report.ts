import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/files.js';
import { escapeHtml } from '../util/html.js';

const START = '<!-- ealstm:stale -->';
const END = '<!-- /ealstm:stale -->';


/**
 * Marks a report page as showing results that were replaced: a banner at the top of its body saying `reason`,
 * replacing an earlier banner. The page is otherwise unchanged (regenerating the report removes the banner).
 * Returns false when there is no report, or it is not a page this tool wrote (no <body>), which is left alone.
 */
export function markReportStale(file: string, reason: string): boolean {
  if (!existsSync(file)) return false;
  const html = readFileSync(file, 'utf8');
  const body = /<body[^>]*>/.exec(html);
  if (!body) return false;
  const banner =
    `${START}<div role="alert" style="background:#fde2e1;border:2px solid #b3261e;color:#3b0a08;padding:12px 16px;margin:0 0 12px;font:16px sans-serif">` +
    `<strong>Stale report.</strong> ${escapeHtml(reason)}</div>${END}`;
  const withoutOld = html.replace(new RegExp(`${START}[\\s\\S]*?${END}`), '');
  const at = (/<body[^>]*>/.exec(withoutOld) as RegExpExecArray).index + body[0].length;
  writeFileAtomic(file, `${withoutOld.slice(0, at)}\n${banner}${withoutOld.slice(at)}`);
  return true;
}

/** Whether a report page carries the stale banner. */
export function isReportStale(file: string): boolean {
  return existsSync(file) && readFileSync(file, 'utf8').includes(START);
}
