import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Default look for every figure: a generic sans-serif font (resolved by resvg from the system fonts). */
export const FONT = 'sans-serif';

const baseConfig = {
  font: FONT,
  background: 'white',
  view: { stroke: '#ccc' },
  axis: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: 'normal', gridColor: '#e6e6e6' },
  legend: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: 'normal', labelLimit: 400 },
  title: { fontSize: 15, subtitleFontSize: 12, subtitleColor: '#555', anchor: 'start' },
};

/** Compiles a vega-lite spec (with the report's default config merged under its own) to a vega spec. */
export function toVegaSpec(spec: object): vega.Spec {
  const s = spec as TopLevelSpec & { config?: Record<string, unknown> };
  const config = { ...baseConfig, ...(s.config ?? {}) };
  return compile({ ...s, config } as TopLevelSpec).spec as vega.Spec;
}

/** vega-lite spec -> SVG markup (vega View with renderer 'none', then toSVG). */
export async function renderSvgAsync(spec: object): Promise<string> {
  const view = new vega.View(vega.parse(toVegaSpec(spec)), { renderer: 'none', logLevel: vega.Warn });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function rasterize(svg: string, scale: number) {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: {
      // resvg has no fonts of its own: use the system's, with the generic sans-serif mapped to a common font
      // (resvg falls back to another installed font if DejaVu Sans is missing).
      loadSystemFonts: true,
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
    },
  });
  return resvg.render();
}

/** SVG markup -> PNG bytes at `scale` (default 2x; resvg with the system fonts). */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  return new Uint8Array(rasterize(svg, scale).asPng());
}

/** SVG markup -> raw RGBA pixels, as svgToPng draws them (for checks). */
export function svgToPixels(svg: string, scale = 1): { width: number; height: number; rgba: Uint8Array } {
  const image = rasterize(svg, scale);
  return { width: image.width, height: image.height, rgba: new Uint8Array(image.pixels) };
}
