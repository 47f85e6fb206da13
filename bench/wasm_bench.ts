/**
 * Benchmarks the WebAssembly attention kernels against a naive JavaScript loop.
 *
 * Run with `deno bench bench/wasm_bench.ts`. Shapes are (B, T = S, D = Dv), the
 * same as `bench/numpy_attention.py`. `deno bench` reports means, which a few
 * slow outliers on a busy machine distort, so
 * `deno run bench/wasm_bench.ts --json` instead prints median and minimum
 * milliseconds as JSON in the layout of the NumPy script, for ratio tables.
 * Every case warms up for at least 8 calls because V8 first runs a hot wasm
 * or JS function in a baseline tier and swaps in optimised code only after a
 * few calls.
 *
 * @module
 */

import {
  attentionWasm,
  attentionWasmF32,
  selectWasmKernels,
  type WasmKernelVariant,
} from "../lib/wasm_backend.ts";

const SHAPES: readonly [number, number, number][] = [
  [2, 10, 64],
  [8, 128, 64],
  [4, 512, 64],
  [1, 2048, 64],
];

/** Attention in plain f64 loops: scores, softmax with Math.exp, weights times V. */
function naiveAttention(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  B: number,
  T: number,
  S: number,
  D: number,
  Dv: number,
  scale: number,
): { output: Float64Array; weights: Float64Array } {
  const output = new Float64Array(B * T * Dv);
  const weights = new Float64Array(B * T * S);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < T; i++) {
      const qRow = (b * T + i) * D;
      const wRow = (b * T + i) * S;
      let max = -Infinity;
      for (let j = 0; j < S; j++) {
        const kRow = (b * S + j) * D;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[qRow + d] * k[kRow + d];
        weights[wRow + j] = dot * scale;
        if (weights[wRow + j] > max) max = weights[wRow + j];
      }
      let sum = 0;
      for (let j = 0; j < S; j++) {
        const e = Math.exp(weights[wRow + j] - max);
        weights[wRow + j] = e;
        sum += e;
      }
      const oRow = (b * T + i) * Dv;
      for (let j = 0; j < S; j++) {
        const w = weights[wRow + j] / sum;
        weights[wRow + j] = w;
        const vRow = (b * S + j) * Dv;
        for (let d = 0; d < Dv; d++) output[oRow + d] += w * v[vRow + d];
      }
    }
  }
  return { output, weights };
}

/** Uniform numbers in [-1, 1) from a fixed seed, so every run times the same data. */
function randomArray(length: number, seed: number): Float64Array {
  let state = seed >>> 0;
  return Float64Array.from({ length }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2147483648 - 1;
  });
}

const VARIANTS: WasmKernelVariant[] = ["relaxed-simd", "simd128"];

/** Returns [median, min] wall time of `fn` in ms after 10 warm-up calls, like the NumPy script. */
function timeMs(
  fn: () => void,
  budgetMs = 1000,
  minRuns = 20,
): [number, number] {
  for (let i = 0; i < 10; i++) fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minRuns || performance.now() - start < budgetMs) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return [times[times.length >> 1], times[0]];
}

/** Prints median and minimum ms per case and shape as JSON. */
function printJson(): void {
  const medians: Record<string, Record<string, number>> = {};
  const minima: Record<string, Record<string, number>> = {};
  const record = (name: string, shape: string, fn: () => void) => {
    const [median, minimum] = timeMs(fn);
    (medians[name] ??= {})[shape] = Number(median.toFixed(4));
    (minima[name] ??= {})[shape] = Number(minimum.toFixed(4));
  };
  for (const variant of VARIANTS) {
    selectWasmKernels(variant);
    for (const [B, T, D] of SHAPES) {
      const shape = `${B},${T},${T},${D}`;
      const q = randomArray(B * T * D, 1);
      const k = randomArray(B * T * D, 2);
      const v = randomArray(B * T * D, 3);
      const q32 = Float32Array.from(q);
      const k32 = Float32Array.from(k);
      const v32 = Float32Array.from(v);
      const scale = 1 / Math.sqrt(D);
      record(
        `float64 ${variant}`,
        shape,
        () => attentionWasm(q, k, v, B, T, T, D, D, scale),
      );
      record(
        `float32 ${variant}`,
        shape,
        () => attentionWasmF32(q32, k32, v32, B, T, T, D, D, scale),
      );
      if (variant === "relaxed-simd") {
        record(
          "float64 relaxed-simd views",
          shape,
          () => attentionWasm(q, k, v, B, T, T, D, D, scale, { views: true }),
        );
      }
    }
  }
  console.log(
    JSON.stringify(
      { deno: Deno.version.deno, median_ms: medians, min_ms: minima },
      null,
      1,
    ),
  );
}

if (import.meta.main && Deno.args.includes("--json")) printJson();

for (const [B, T, D] of SHAPES) {
  const group = `(${B}, ${T}, ${D})`;
  const q = randomArray(B * T * D, 1);
  const k = randomArray(B * T * D, 2);
  const v = randomArray(B * T * D, 3);
  const q32 = Float32Array.from(q);
  const k32 = Float32Array.from(k);
  const v32 = Float32Array.from(v);
  const scale = 1 / Math.sqrt(D);
  // Large shapes get fewer timed calls so the naive loop finishes in seconds.
  const n = T >= 512 ? 20 : undefined;

  for (const variant of VARIANTS) {
    Deno.bench({
      name: `wasm f64 ${variant} ${group}`,
      group,
      baseline: variant === "relaxed-simd",
      warmup: 10,
      n,
      fn() {
        selectWasmKernels(variant);
        attentionWasm(q, k, v, B, T, T, D, D, scale);
      },
    });
    Deno.bench({
      name: `wasm f32 ${variant} ${group}`,
      group,
      warmup: 10,
      n,
      fn() {
        selectWasmKernels(variant);
        attentionWasmF32(q32, k32, v32, B, T, T, D, D, scale);
      },
    });
  }
  Deno.bench({
    name: `wasm f64 views ${group}`,
    group,
    warmup: 10,
    n,
    fn() {
      selectWasmKernels("auto");
      attentionWasm(q, k, v, B, T, T, D, D, scale, { views: true });
    },
  });
  Deno.bench({
    name: `naive JS f64 ${group}`,
    group,
    warmup: 8,
    n: T >= 512 ? 8 : undefined,
    fn() {
      naiveAttention(q, k, v, B, T, T, D, D, scale);
    },
  });
}
