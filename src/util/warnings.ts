/**
 * Warnings: things the user should know that do not stop the command (a cache that cannot be written, a
 * questionable but valid configuration). Each distinct message is printed once per process, to stderr, as one
 * line starting `warning:`, so that a config read by several steps of one command does not repeat it.
 */
const printed = new Set<string>();

/** Prints `warning: <message>` unless a warning with the same `key` (default: the message) was printed. */
export function warnOnce(message: string, key = message): void {
  if (printed.has(key)) return;
  printed.add(key);
  process.stderr.write(`warning: ${message}\n`);
}
