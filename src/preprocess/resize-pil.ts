/**
 * Pillow's resampling (`src/libImaging/Resample.c`, `Image.resize`) ported for 8-bit interleaved images, so a
 * TypeScript pipeline produces the very bytes timm/torchvision get from PIL.
 *
 * Written by hand because no installed library reproduces it: sharp/libvips use other kernels and rounding, and
 * the fixtures show what a near-port costs (keeping floats between the two passes misses PIL by 2–13 levels).
 * Every detail below is Pillow's:
 * - the filter support widens with the downscale factor (antialiasing);
 * - coefficients are normalised in double, then turned into fixed point with PRECISION_BITS = 32 - 8 - 2;
 * - the horizontal pass runs first, only over the rows the vertical pass needs, and is rounded and clipped
 *   to uint8 before the vertical pass reads it;
 * - a pass whose size does not change (and whose box is the whole axis) is skipped;
 * - box coordinates are C floats (float32), the kernel arithmetic is double.
 * NEAREST follows `ImagingScaleAffine` (accumulated double coordinates), which is what `Image.resize` uses for it.
 */

export type ResampleFilter = "nearest" | "box" | "bilinear" | "hamming" | "bicubic" | "lanczos";

/** Interleaved 8-bit image, row-major (H, W, C). `channels` defaults to 3 (RGB). */
export interface Image8 {
  data: Uint8Array;
  width: number;
  height: number;
  channels?: number;
}

/** Source region (left, top, right, bottom) in source pixels, as Pillow's `box` argument. */
export type ResizeBox = readonly [number, number, number, number];

interface Filter {
  fn: (x: number) => number;
  support: number;
}

const PRECISION_BITS = 32 - 8 - 2;

function sinc(x: number): number {
  if (x === 0.0) return 1.0;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

// Each kernel keeps Pillow's expression order: the coefficients must round exactly as in C.
const FILTERS: Record<Exclude<ResampleFilter, "nearest">, Filter> = {
  box: { support: 0.5, fn: (x) => (x > -0.5 && x <= 0.5 ? 1.0 : 0.0) },
  bilinear: {
    support: 1.0,
    fn: (x) => {
      if (x < 0.0) x = -x;
      return x < 1.0 ? 1.0 - x : 0.0;
    },
  },
  hamming: {
    support: 1.0,
    fn: (x) => {
      if (x < 0.0) x = -x;
      if (x === 0.0) return 1.0;
      if (x >= 1.0) return 0.0;
      x = x * Math.PI;
      // 0.54f / 0.46f are float literals in C.
      return (Math.sin(x) / x) * (Math.fround(0.54) + Math.fround(0.46) * Math.cos(x));
    },
  },
  bicubic: {
    support: 2.0,
    fn: (x) => {
      // a = -0.5 (Keys' cubic convolution), written out as the C macro expands it.
      if (x < 0.0) x = -x;
      if (x < 1.0) return ((-0.5 + 2.0) * x - (-0.5 + 3.0)) * x * x + 1;
      if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * -0.5;
      return 0.0;
    },
  },
  lanczos: { support: 3.0, fn: (x) => (-3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0) },
};

interface Coeffs {
  ksize: number;
  /** Per output index: first source index and number of taps. */
  bounds: Int32Array;
  /** Fixed-point weights, ksize per output index. */
  kk: Int32Array;
}

/** Pillow's `precompute_coeffs` followed by `normalize_coeffs_8bpc`. */
function precomputeCoeffs(inSize: number, in0: number, in1: number, outSize: number, filter: Filter): Coeffs {
  // in0/in1 are C floats, so their difference is a float subtraction.
  const scale = Math.fround(in1 - in0) / outSize;
  const filterscale = Math.max(scale, 1.0);
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const ss = 1.0 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    // C casts truncate toward zero; negatives are clamped to 0 right after, so trunc vs floor cannot differ.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0.0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.fn((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    const base = xx * ksize;
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0.0 ? k[x] / ww : k[x];
      kk[base + x] =
        w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

function clip8(ss: number): number {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : Math.min(v, 255);
}

/** Rows [rowOffset, rowOffset + outHeight) of `src`, resampled horizontally to `outWidth`. */
function resampleHorizontal(
  src: Uint8Array,
  srcWidth: number,
  channels: number,
  rowOffset: number,
  outHeight: number,
  outWidth: number,
  { ksize, bounds, kk }: Coeffs,
): Uint8Array {
  const out = new Uint8Array(outHeight * outWidth * channels);
  const half = 1 << (PRECISION_BITS - 1);
  for (let yy = 0; yy < outHeight; yy++) {
    const rowIn = (yy + rowOffset) * srcWidth * channels;
    const rowOut = yy * outWidth * channels;
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = bounds[xx * 2];
      const xmax = bounds[xx * 2 + 1];
      const kbase = xx * ksize;
      for (let c = 0; c < channels; c++) {
        let ss = half;
        let p = rowIn + xmin * channels + c;
        for (let x = 0; x < xmax; x++, p += channels) ss += src[p] * kk[kbase + x];
        out[rowOut + xx * channels + c] = clip8(ss);
      }
    }
  }
  return out;
}

function resampleVertical(
  src: Uint8Array,
  width: number,
  channels: number,
  outHeight: number,
  { ksize, bounds, kk }: Coeffs,
): Uint8Array {
  const rowLen = width * channels;
  const out = new Uint8Array(outHeight * rowLen);
  const half = 1 << (PRECISION_BITS - 1);
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = bounds[yy * 2];
    const ymax = bounds[yy * 2 + 1];
    const kbase = yy * ksize;
    const rowOut = yy * rowLen;
    for (let i = 0; i < rowLen; i++) {
      let ss = half;
      let p = ymin * rowLen + i;
      for (let y = 0; y < ymax; y++, p += rowLen) ss += src[p] * kk[kbase + y];
      out[rowOut + i] = clip8(ss);
    }
  }
  return out;
}

/** `_resize` in `_imaging.c` for NEAREST: `ImagingScaleAffine` with fill, coordinates accumulated in double. */
function resizeNearest(img: Required<Image8>, width: number, height: number, box: number[]): Image8 {
  const { data, channels } = img;
  const a0 = Math.fround(box[2] - box[0]) / width;
  const a4 = Math.fround(box[3] - box[1]) / height;
  const coord = (v: number) => (v < 0.0 ? -1 : Math.trunc(v));
  const xintab = new Int32Array(width).fill(-1);
  let xo = box[0] + a0 * 0.5;
  for (let x = 0; x < width; x++) {
    const xin = coord(xo);
    if (xin >= 0 && xin < img.width) xintab[x] = xin;
    xo += a0;
  }
  // Pixels that map outside the source stay 0, as with Pillow's fill=1.
  const out = new Uint8Array(width * height * channels);
  let yo = box[1] + a4 * 0.5;
  for (let y = 0; y < height; y++) {
    const yi = coord(yo);
    if (yi >= 0 && yi < img.height) {
      for (let x = 0; x < width; x++) {
        const xin = xintab[x];
        if (xin < 0) continue;
        const s = (yi * img.width + xin) * channels;
        const d = (y * width + x) * channels;
        for (let c = 0; c < channels; c++) out[d + c] = data[s + c];
      }
    }
    yo += a4;
  }
  return { data: out, width, height, channels };
}

function crop(img: Required<Image8>, left: number, top: number, width: number, height: number): Image8 {
  const { channels } = img;
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const s = ((top + y) * img.width + left) * channels;
    out.set(img.data.subarray(s, s + width * channels), y * width * channels);
  }
  return { data: out, width, height, channels };
}

/**
 * `Image.resize((width, height), filter, box)` of Pillow for an 8-bit image (no `reducing_gap`, as torchvision
 * calls it). Returns a new image; the input is not modified.
 */
export function resizePil(
  image: Image8,
  width: number,
  height: number,
  filter: ResampleFilter = "bicubic",
  box?: ResizeBox,
): Image8 {
  const img: Required<Image8> = { channels: 3, ...image };
  const { channels } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`resize: output size must be positive integers, got ${width}x${height}`);
  }
  if (img.data.length !== img.width * img.height * channels) {
    throw new Error(
      `resize: ${img.width}x${img.height}x${channels} image needs ${img.width * img.height * channels} bytes, got ${img.data.length}`,
    );
  }
  // Pillow parses the box as C floats.
  const b = (box ?? [0, 0, img.width, img.height]).map((v) => Math.fround(v));
  if (b[0] < 0 || b[1] < 0) throw new Error(`resize: box offset can't be negative (${box})`);
  if (b[2] > img.width || b[3] > img.height)
    throw new Error(`resize: box can't exceed the image size (${box})`);
  if (b[2] - b[0] < 0 || b[3] - b[1] < 0) throw new Error(`resize: box can't be empty (${box})`);

  // An integer box of the requested size is a plain crop (also covers resizing to the same size).
  if (Number.isInteger(b[0]) && b[2] - b[0] === width && Number.isInteger(b[1]) && b[3] - b[1] === height) {
    return crop(img, b[0], b[1], width, height);
  }
  if (filter === "nearest") return resizeNearest(img, width, height, b);

  const f = FILTERS[filter];
  if (!f) throw new Error(`resize: unknown filter '${filter}'`);
  const needHorizontal = width !== img.width || b[0] !== 0 || b[2] !== width;
  const needVertical = height !== img.height || b[1] !== 0 || b[3] !== height;

  const vert = precomputeCoeffs(img.height, b[1], b[3], height, f);
  // Source rows the vertical pass reads: the horizontal pass computes only these.
  const yFirst = vert.bounds[0];
  const yLast = vert.bounds[height * 2 - 2] + vert.bounds[height * 2 - 1];

  let out = img;
  if (needHorizontal) {
    const horiz = precomputeCoeffs(img.width, b[0], b[2], width, f);
    for (let i = 0; i < height; i++) vert.bounds[i * 2] -= yFirst;
    const rows = yLast - yFirst;
    out = {
      data: resampleHorizontal(img.data, img.width, channels, yFirst, rows, width, horiz),
      width,
      height: rows,
      channels,
    };
  }
  if (needVertical) {
    out = {
      data: resampleVertical(out.data, out.width, channels, height, vert),
      width: out.width,
      height,
      channels,
    };
  }
  return out === img ? { ...img, data: img.data.slice() } : out;
}
