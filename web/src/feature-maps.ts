/** A stage's feature map (C, H, W) as a picture: the mean absolute activation per pixel, stretched to 0..255. */
import type { Float32Tensor } from "convnext/browser";

export function featureMapCanvas(t: Float32Tensor): HTMLCanvasElement {
  const [c, h, w] = t.dims;
  const energy = new Float32Array(h * w);
  for (let k = 0; k < c; k++) for (let p = 0; p < h * w; p++) energy[p] += Math.abs(t.data[k * h * w + p]);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of energy) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d")!;
  const img = ctx.createImageData(w, h);
  for (let p = 0; p < h * w; p++) {
    const v = hi > lo ? Math.round((255 * (energy[p] - lo)) / (hi - lo)) : 0;
    img.data.set([v, v, v, 255], p * 4);
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}
