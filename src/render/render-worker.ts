/**
 * Worker side of render.ts: renders vega-lite specs to SVG (vega, headless) and PNG (resvg) on request. vega's
 * rendering API is asynchronous; running it here lets render.ts offer a synchronous API (the caller blocks on
 * Atomics.wait until the answer is posted).
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import { renderSvgAsync, svgToPng } from './render-core.js';

interface Request {
  id: number;
  spec: object;
  png: boolean;
}

const { port, flag } = workerData as { port: MessagePort; flag: Int32Array };

port.on('message', async (req: Request) => {
  try {
    const svg = await renderSvgAsync(req.spec);
    const png = req.png ? svgToPng(svg) : undefined;
    port.postMessage({ id: req.id, svg, png });
  } catch (err) {
    port.postMessage({ id: req.id, error: err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err) });
  } finally {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  }
});
