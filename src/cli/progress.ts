/**
 * A training progress line. Training runs synchronously, so timer-driven progress libraries never get to
 * redraw; this one draws on each update, throttled: in place on a terminal, one line every 10 s in logs.
 */
export function epochProgress(stream: NodeJS.WriteStream = process.stderr): {
  update: (epoch: number, done: number, total: number, loss: number, samplesPerSecond: number) => void;
  end: () => void;
} {
  const tty = Boolean(stream.isTTY);
  const interval = tty ? 200 : 10_000;
  let lastDraw = 0;
  let started = 0;
  let drawn = false;
  return {
    update(epoch, done, total, loss, samplesPerSecond) {
      const now = Date.now();
      if (done === 1) started = now;
      if (now - lastDraw < interval && done < total) return;
      lastDraw = now;
      const width = 30;
      const filled = Math.round((width * done) / total);
      const eta = done > 1 ? Math.round(((now - started) / (done - 1)) * (total - done) / 1000) : 0;
      const text =
        `epoch ${epoch} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} batches` +
        ` | loss ${loss.toFixed(4)} | ${Math.round(samplesPerSecond)} samples/s | eta ${eta} s`;
      stream.write(tty ? `\r${text}\x1b[K` : `${text}\n`);
      drawn = true;
    },
    end() {
      if (tty && drawn) stream.write('\n');
      drawn = false;
    },
  };
}
