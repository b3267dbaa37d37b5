import { writeFileSync } from 'node:fs';

/**
 * A test hook at a named point of a multi-step write (e.g. between the two renames of a folder swap). When the
 * environment has EALSTM_TEST_PAUSE_AT=<name>, the process writes its pid to $EALSTM_TEST_PAUSE_FILE and sleeps,
 * so a crash test can SIGKILL it exactly there. Without that variable it does nothing.
 */
export function pausePoint(name: string): void {
  if (process.env.EALSTM_TEST_PAUSE_AT !== name) return;
  const signal = process.env.EALSTM_TEST_PAUSE_FILE;
  if (signal) writeFileSync(signal, `${process.pid}\n`);
  // Block this thread (no event loop runs); give up after 5 minutes so a forgotten process ends by itself.
  const cell = new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(cell, 0, 0, 300_000);
}
