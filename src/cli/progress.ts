import cliProgress from 'cli-progress';

/** A progress bar for training epochs that falls back to plain log lines when stdout is not a terminal. */
export function epochBar(): { update: (done: number, total: number, loss: number, rate: number, epoch: number) => void; stop: () => void } {
  const tty = Boolean(process.stderr.isTTY);
  const bar = new cliProgress.SingleBar(
    {
      format: 'epoch {epoch} [{bar}] {value}/{total} batches | loss {loss} | {rate} samples/s | eta {eta_formatted}',
      noTTYOutput: !tty,
      notTTYSchedule: 10_000,
      hideCursor: tty,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, loss, rate, epoch) {
      const payload = { loss: loss.toFixed(4), rate: Math.round(rate), epoch };
      if (!started) {
        bar.start(total, done, payload);
        started = true;
      } else bar.update(done, payload);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
