/**
 * Scaled dot-product attention: `softmax(Q K^T / sqrt(d_k)) V`.
 *
 * @module
 */

import { describeValue, formatShape, ShapeError } from "./errors.ts";
import { Mask, type MaskLike } from "./mask.ts";
import { softmaxRowInPlace } from "./ops.ts";
import { Tensor, type TensorLike } from "./tensor.ts";
import { requireNonEmpty, requireRank, toTensor } from "./validate.ts";
import { attentionWasm, wasmSimdSupported } from "./wasm_backend.ts";

const OPERATION = "scaledDotProductAttention";

/** Options of {@linkcode scaledDotProductAttention}. */
export interface AttentionOptions {
  /**
   * Which keys each query may attend to, shape (T, S) or (B, T, S); `true` allows.
   * A (T, S) mask applies to every batch entry.
   */
  mask?: MaskLike;
  /** Lets query t attend only to keys s <= t (combined with `mask` if both are given). */
  causal?: boolean;
  /** Factor applied to Q K^T; defaults to `1 / sqrt(d_k)` with d_k the last axis of the query. */
  scale?: number;
  /**
   * Which kernel computes the result: `"wasm"` (WebAssembly SIMD), `"typescript"`
   * (the readable plain loop), or `"auto"` (the default: WebAssembly where the
   * runtime supports SIMD and the buffers fit in its memory, TypeScript otherwise).
   * Both agree to about 1e-15 relative; the property tests hold both to 1e-12.
   */
  backend?: AttentionBackend;
}

/** Kernel choice of {@linkcode AttentionOptions.backend}. */
export type AttentionBackend = "auto" | "wasm" | "typescript";

/** Result of {@linkcode scaledDotProductAttention}. */
export interface AttentionResult {
  /** Weighted sum of the values, shape (B, T, Dv). */
  readonly output: Tensor;
  /** Softmax of the scores over the keys, shape (B, T, S); masked positions are 0. */
  readonly weights: Tensor;
  /**
   * Scaled scores `Q K^T * scale`, shape (B, T, S); masked positions are `-Infinity`.
   * The WebAssembly backend computes them on first access, so code that reads
   * only the output and weights does not pay for a third (B, T, S) array.
   */
  readonly scores: Tensor;
}

const OPTION_NAMES = new Set(["mask", "causal", "scale", "backend"]);
const BACKENDS: readonly AttentionBackend[] = ["auto", "wasm", "typescript"];

/**
 * Computes scaled dot-product attention: `output = softmax(Q K^T / sqrt(d_k)) V`.
 *
 * For each batch entry, query t is compared with every key s by the dot
 * product `q_t . k_s`. The scores are divided by `sqrt(d_k)` so that their
 * spread does not grow with the width d_k, which would push the softmax
 * towards one-hot weights. The softmax over the keys turns each row of
 * scores into weights that sum to 1, and the output row t is the
 * weight-averaged value rows.
 *
 * Masking: a position where the mask is `false` (or above the diagonal with
 * `causal: true`) is left out of the softmax, as if its score were
 * `-Infinity`. The values of a masked key or query are never read, so NaN or
 * Infinity stored there do not change the result. A query row with every key
 * masked gets all-zero weights and an all-zero output row, never NaN.
 *
 * Shapes: query (B, T, D), key (B, S, D), value (B, S, Dv). Rank-2 inputs
 * (T, D), (S, D), (S, Dv) are accepted too and give rank-2 results. T may
 * differ from S, and Dv may differ from D.
 *
 * @param query Queries Q, shape (B, T, D) or (T, D).
 * @param key Keys K, shape (B, S, D) or (S, D).
 * @param value Values V, shape (B, S, Dv) or (S, Dv).
 * @param options `mask`, `causal` and `scale`; see {@linkcode AttentionOptions}.
 * @returns `output` (B, T, Dv), `weights` (B, T, S) and `scores` (B, T, S).
 * @throws {ShapeError} If a rank is not 2 or 3, ranks differ, an axis has length 0,
 *   batch sizes or d_k differ, key and value lengths differ, or the mask shape is wrong.
 * @throws {TypeError} If an argument is not a tensor or nested numbers, or an option is unknown.
 * @throws {RangeError} If Q, K or V holds NaN or Infinity at a position that is not
 *   masked out, or `scale` is not a finite number.
 *
 * @example Usage
 * ```ts
 * import { scaledDotProductAttention } from "attention";
 * import assert from "node:assert/strict";
 *
 * // One query that matches the first of two keys much better than the second.
 * const { weights, output } = scaledDotProductAttention(
 *   [[[10, 0]]], // (1, 1, 2)
 *   [[[10, 0], [0, 10]]], // (1, 2, 2)
 *   [[[1, 2], [3, 4]]], // (1, 2, 2)
 * );
 * const [[[w0, w1]]] = weights.toArray() as number[][][];
 * assert.ok(w0 > 0.99 && w1 < 0.01);
 * assert.ok(Math.abs(w0 + w1 - 1) < 1e-12);
 * assert.deepEqual(output.shape, [1, 1, 2]);
 * ```
 *
 * @example Causal attention
 * ```ts
 * import { scaledDotProductAttention } from "attention";
 * import assert from "node:assert/strict";
 *
 * const x = [[1, 0], [0, 1], [1, 1]]; // (T, D) = (3, 2)
 * const { weights } = scaledDotProductAttention(x, x, x, { causal: true });
 * assert.equal(weights.get(0, 0), 1); // the first query sees only the first key
 * assert.equal(weights.get(0, 1), 0);
 * ```
 */
export function scaledDotProductAttention(
  query: TensorLike,
  key: TensorLike,
  value: TensorLike,
  options: AttentionOptions = {},
): AttentionResult {
  checkOptions(options);
  const q = toTensor(query, OPERATION, "query");
  const k = toTensor(key, OPERATION, "key");
  const v = toTensor(value, OPERATION, "value");
  const dims = checkShapes(q, k, v);
  const { batch, queries: T, keys: S, width: D, valueWidth: Dv } = dims;

  const scale = options.scale ?? 1 / Math.sqrt(D);
  if (typeof scale !== "number" || !Number.isFinite(scale)) {
    throw new RangeError(
      `${OPERATION}: option \`scale\` is ${
        describeValue(scale)
      }, expected a finite ` +
        `number. Omit it to use 1 / sqrt(d_k) = ${1 / Math.sqrt(D)}.`,
    );
  }
  const mask = options.mask === undefined
    ? null
    : checkMask(options.mask, dims);
  const causal = options.causal === true;
  const masked = mask !== null || causal;
  const maskData = mask?.data ?? null;
  const maskStride = mask !== null && mask.shape.length === 3 ? T * S : 0;

  // Reject NaN and Infinity wherever they could reach the result. Positions that
  // no query attends to are skipped, because the kernel never reads them.
  if (masked) {
    const used = findUsedRows(dims, maskData, maskStride, causal);
    requireFinite(q, "query", used.queries, dims.queries);
    requireFinite(k, "key", used.keys, dims.keys);
    requireFinite(v, "value", used.keys, dims.keys);
  } else {
    requireFinite(q, "query", null, dims.queries);
    requireFinite(k, "key", null, dims.keys);
    requireFinite(v, "value", null, dims.keys);
  }

  const shapeDims = { batch, queries: T, keys: S, width: D, valueWidth: Dv };
  const lead = dims.rank === 3 ? [batch] : [];
  const backend = options.backend ?? "auto";

  if (backend === "wasm" || (backend === "auto" && wasmFits(shapeDims))) {
    const { mask: wasmMask, batched } = combineMask(
      maskData,
      maskStride,
      causal,
      shapeDims,
    );
    const result = attentionWasm(
      q.data,
      k.data,
      v.data,
      batch,
      T,
      S,
      D,
      Dv,
      scale,
      {
        mask: wasmMask,
        maskBatched: batched,
      },
    );
    let scores: Tensor | null = null;
    return {
      output: new Tensor(result.output, [...lead, T, Dv]),
      weights: new Tensor(result.weights, [...lead, T, S]),
      get scores(): Tensor {
        if (scores === null) {
          const data = computeScores(
            q.data,
            k.data,
            shapeDims,
            scale,
            maskData,
            maskStride,
            causal,
          );
          scores = new Tensor(data, [...lead, T, S]);
        }
        return scores;
      },
    };
  }

  const scores = new Float64Array(batch * T * S);
  const weights = new Float64Array(batch * T * S);
  const output = new Float64Array(batch * T * Dv);
  attentionKernel(
    q.data,
    k.data,
    v.data,
    shapeDims,
    scale,
    maskData,
    maskStride,
    causal,
    {
      scores,
      weights,
      output,
    },
  );
  return {
    output: new Tensor(output, [...lead, T, Dv]),
    weights: new Tensor(weights, [...lead, T, S]),
    scores: new Tensor(scores, [...lead, T, S]),
  };
}

/** Largest buffer total, in bytes, that the automatic choice sends to WebAssembly. */
const WASM_AUTO_MAX_BYTES = 2 ** 31;

/**
 * Returns whether the automatic backend choice should use WebAssembly: the
 * runtime supports SIMD and inputs plus outputs stay well inside the 4 GiB
 * that 32-bit WebAssembly memory can address.
 */
function wasmFits(dims: AttentionDims): boolean {
  const { batch: B, queries: T, keys: S, width: D, valueWidth: Dv } = dims;
  const elements = B * (T * D + S * D + S * Dv + T * Dv + T * S) +
    B * T * S / 8;
  return elements * 8 <= WASM_AUTO_MAX_BYTES && wasmSimdSupported();
}

/** Folds the causal flag into the mask bytes that the WebAssembly kernels read. */
function combineMask(
  maskData: Uint8Array | null,
  maskStride: number,
  causal: boolean,
  dims: AttentionDims,
): { mask: Uint8Array | null; batched: boolean } {
  const batched = maskStride !== 0;
  if (!causal) return { mask: maskData, batched };
  const { batch, queries: T, keys: S } = dims;
  const copies = batched ? batch : 1;
  const mask = new Uint8Array(copies * T * S);
  for (let b = 0; b < copies; b++) {
    for (let t = 0; t < T; t++) {
      for (let s = 0; s <= Math.min(t, S - 1); s++) {
        const index = (b * T + t) * S + s;
        mask[index] = maskData === null ? 1 : maskData[index];
      }
    }
  }
  return { mask, batched };
}

/** Computes the (B, T, S) scaled scores alone, with `-Infinity` at masked positions. */
function computeScores(
  q: Float64Array,
  k: Float64Array,
  dims: AttentionDims,
  scale: number,
  maskData: Uint8Array | null,
  maskStride: number,
  causal: boolean,
): Float64Array {
  const { batch, queries: T, keys: S, width: D } = dims;
  const scores = new Float64Array(batch * T * S);
  const masked = maskData !== null || causal;
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * S;
      const maskRow = b * maskStride + t * S;
      for (let s = 0; s < S; s++) {
        scores[row + s] =
          masked && !isAllowed(maskData, maskRow + s, causal, t, s)
            ? -Infinity
            : dot(q, (b * T + t) * D, k, (b * S + s) * D, D) * scale;
      }
    }
  }
  return scores;
}

/** Sizes of an attention problem; see the shape legend in the module docs. */
export interface AttentionDims {
  /** B, the batch size (1 for rank-2 inputs). */
  batch: number;
  /** T, the number of queries. */
  queries: number;
  /** S, the number of keys and values. */
  keys: number;
  /** D, the width d_k of queries and keys. */
  width: number;
  /** Dv, the width of the values. */
  valueWidth: number;
}

/** Output buffers that {@linkcode attentionKernel} fills. */
export interface AttentionBuffers {
  /** (B, T, S) scaled scores. */
  scores: Float64Array;
  /** (B, T, S) softmax weights. */
  weights: Float64Array;
  /** (B, T, Dv) output, zero-filled on entry. */
  output: Float64Array;
}

/**
 * Runs attention on raw row-major buffers after the arguments have been checked.
 *
 * K is row-major, so each score is a dot product of two contiguous rows and
 * K^T is never built. Without a mask, query rows are processed four at a
 * time: each key row and value row is then loaded once for four queries,
 * which roughly halves the memory traffic of the two matrix products.
 *
 * @param maskData (T, S) or (B, T, S) bytes, nonzero where attention is allowed, or null.
 * @param maskStride T * S for a batched mask, 0 for a (T, S) mask.
 */
export function attentionKernel(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  dims: AttentionDims,
  scale: number,
  maskData: Uint8Array | null,
  maskStride: number,
  causal: boolean,
  buffers: AttentionBuffers,
): void {
  const { batch, queries: T, keys: S, width: D, valueWidth: Dv } = dims;
  const { scores, weights, output } = buffers;
  const masked = maskData !== null || causal;

  for (let b = 0; b < batch; b++) {
    const qBatch = b * T * D;
    const kBatch = b * S * D;
    const vBatch = b * S * Dv;
    let t = 0;

    if (!masked) {
      for (; t + 4 <= T; t += 4) {
        const row = (b * T + t) * S;
        scoreBlock(q, k, qBatch + t * D, kBatch, S, D, scale, scores, row);
        weights.set(scores.subarray(row, row + 4 * S), row);
        for (let r = 0; r < 4; r++) softmaxRowInPlace(weights, row + r * S, S);
        accumulateBlock(
          weights,
          row,
          v,
          vBatch,
          S,
          Dv,
          output,
          (b * T + t) * Dv,
        );
      }
    }

    for (; t < T; t++) {
      const row = (b * T + t) * S;
      const maskRow = b * maskStride + t * S;
      const qRow = qBatch + t * D;

      // Scores: q_t . k_s * scale, or -Infinity where the mask leaves key s out.
      for (let s = 0; s < S; s++) {
        scores[row + s] =
          masked && !isAllowed(maskData, maskRow + s, causal, t, s)
            ? -Infinity
            : dot(q, qRow, k, kBatch + s * D, D) * scale;
      }

      // Softmax over the keys; a fully masked row becomes zeros, not NaN.
      for (let s = 0; s < S; s++) weights[row + s] = scores[row + s];
      softmaxRowInPlace(weights, row, S);

      // Output: sum over s of weight(t, s) * v_s. Zero weights are skipped, so the
      // values of masked keys are never read and NaN stored there cannot leak in.
      const outRow = (b * T + t) * Dv;
      for (let s = 0; s < S; s++) {
        const w = weights[row + s];
        if (w === 0) continue;
        const vRow = vBatch + s * Dv;
        for (let d = 0; d < Dv; d++) output[outRow + d] += w * v[vRow + d];
      }
    }
  }
}

/** Returns `x[xStart ..] . y[yStart ..]` over n elements, with four accumulators. */
function dot(
  x: Float64Array,
  xStart: number,
  y: Float64Array,
  yStart: number,
  n: number,
): number {
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    a0 += x[xStart + i] * y[yStart + i];
    a1 += x[xStart + i + 1] * y[yStart + i + 1];
    a2 += x[xStart + i + 2] * y[yStart + i + 2];
    a3 += x[xStart + i + 3] * y[yStart + i + 3];
  }
  for (; i < n; i++) a0 += x[xStart + i] * y[yStart + i];
  return a0 + a1 + (a2 + a3);
}

/** Writes the scaled scores of four consecutive query rows against all S keys. */
function scoreBlock(
  q: Float64Array,
  k: Float64Array,
  qStart: number,
  kBatch: number,
  S: number,
  D: number,
  scale: number,
  scores: Float64Array,
  row: number,
): void {
  const q1 = qStart + D, q2 = qStart + 2 * D, q3 = qStart + 3 * D;
  for (let s = 0; s < S; s++) {
    const kRow = kBatch + s * D;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (let d = 0; d < D; d++) {
      const kd = k[kRow + d];
      a0 += q[qStart + d] * kd;
      a1 += q[q1 + d] * kd;
      a2 += q[q2 + d] * kd;
      a3 += q[q3 + d] * kd;
    }
    scores[row + s] = a0 * scale;
    scores[row + S + s] = a1 * scale;
    scores[row + 2 * S + s] = a2 * scale;
    scores[row + 3 * S + s] = a3 * scale;
  }
}

/** Adds `weights(t, s) * v_s` over s into four consecutive output rows. */
function accumulateBlock(
  weights: Float64Array,
  row: number,
  v: Float64Array,
  vBatch: number,
  S: number,
  Dv: number,
  output: Float64Array,
  outStart: number,
): void {
  const o1 = outStart + Dv, o2 = outStart + 2 * Dv, o3 = outStart + 3 * Dv;
  for (let s = 0; s < S; s++) {
    const w0 = weights[row + s];
    const w1 = weights[row + S + s];
    const w2 = weights[row + 2 * S + s];
    const w3 = weights[row + 3 * S + s];
    const vRow = vBatch + s * Dv;
    for (let d = 0; d < Dv; d++) {
      const vd = v[vRow + d];
      output[outStart + d] += w0 * vd;
      output[o1 + d] += w1 * vd;
      output[o2 + d] += w2 * vd;
      output[o3 + d] += w3 * vd;
    }
  }
}

function isAllowed(
  maskData: Uint8Array | null,
  index: number,
  causal: boolean,
  t: number,
  s: number,
): boolean {
  if (causal && s > t) return false;
  return maskData === null || maskData[index] !== 0;
}

function checkOptions(options: AttentionOptions): void {
  if (
    options === null || typeof options !== "object" || Array.isArray(options)
  ) {
    throw new TypeError(
      `${OPERATION}: \`options\` must be an object such as { causal: true }, ` +
        `received ${describeValue(options)}.`,
    );
  }
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.has(name)) {
      throw new TypeError(
        `${OPERATION}: unknown option \`${name}\`. Valid options are mask, causal, ` +
          `scale and backend; check the spelling.`,
      );
    }
  }
  if (options.backend !== undefined && !BACKENDS.includes(options.backend)) {
    throw new TypeError(
      `${OPERATION}: option \`backend\` is ${
        describeValue(options.backend)
      }, ` +
        `expected "auto", "wasm" or "typescript".`,
    );
  }
  if (options.causal !== undefined && typeof options.causal !== "boolean") {
    throw new TypeError(
      `${OPERATION}: option \`causal\` is ${describeValue(options.causal)}, ` +
        `expected true or false.`,
    );
  }
}

interface CheckedDims extends AttentionDims {
  rank: number;
}

function checkShapes(q: Tensor, k: Tensor, v: Tensor): CheckedDims {
  requireRank(q, [2, 3], OPERATION, "query", ["B", "T", "D"]);
  requireRank(k, [2, 3], OPERATION, "key", ["B", "S", "D"]);
  requireRank(v, [2, 3], OPERATION, "value", ["B", "S", "Dv"]);
  if (k.rank !== q.rank || v.rank !== q.rank) {
    throw new ShapeError(
      `${OPERATION}: query, key and value must have the same rank, received ` +
        `query ${formatShape(q.shape)}, key ${
          formatShape(k.shape)
        } and value ` +
        `${formatShape(v.shape)}. Give all three a batch axis, or none.`,
      k.rank !== q.rank ? k.shape : v.shape,
      new Array(q.rank).fill(null),
    );
  }
  requireNonEmpty(q, OPERATION, "query");
  requireNonEmpty(k, OPERATION, "key");
  requireNonEmpty(v, OPERATION, "value");

  const rank = q.rank;
  const [batch, T, D] = rank === 3 ? q.shape : [1, ...q.shape];
  const [keyBatch, S, keyWidth] = rank === 3 ? k.shape : [1, ...k.shape];
  const [valueBatch, valueLength, Dv] = rank === 3 ? v.shape : [1, ...v.shape];
  const lead = rank === 3 ? [batch] : [];

  if (keyBatch !== batch) {
    throw new ShapeError(
      `${OPERATION}: batch sizes differ: query has shape ${
        formatShape(q.shape)
      } ` +
        `(B = ${batch}) but key has shape ${
          formatShape(k.shape)
        } (B = ${keyBatch}). ` +
        `Pass one key sequence per query sequence.`,
      k.shape,
      [batch, null, D],
    );
  }
  if (valueBatch !== batch) {
    throw new ShapeError(
      `${OPERATION}: batch sizes differ: query has shape ${
        formatShape(q.shape)
      } ` +
        `(B = ${batch}) but value has shape ${
          formatShape(v.shape)
        } (B = ${valueBatch}). ` +
        `Pass one value sequence per query sequence.`,
      v.shape,
      [batch, S, null],
    );
  }
  if (keyWidth !== D) {
    throw new ShapeError(
      `${OPERATION}: d_k differs: query has shape ${formatShape(q.shape)} ` +
        `(d_k = ${D}) but key has shape ${
          formatShape(k.shape)
        } (d_k = ${keyWidth}). ` +
        `Queries and keys are compared by dot products, so their last axes must be ` +
        `equal; project them to a common width first.`,
      k.shape,
      [...lead, S, D],
    );
  }
  if (valueLength !== S) {
    throw new ShapeError(
      `${OPERATION}: key and value lengths differ: key has shape ` +
        `${formatShape(k.shape)} (S = ${S}) but value has shape ${
          formatShape(v.shape)
        } ` +
        `(S = ${valueLength}). Each key needs exactly one value; pass as many value ` +
        `rows as key rows.`,
      v.shape,
      [...lead, S, null],
    );
  }
  return { rank, batch, queries: T, keys: S, width: D, valueWidth: Dv };
}

function checkMask(mask: MaskLike, dims: CheckedDims): Mask {
  let checked: Mask;
  try {
    checked = Mask.from(mask);
  } catch (error) {
    const prefix = `${OPERATION}: option \`mask\`: `;
    if (error instanceof ShapeError) {
      throw new ShapeError(
        prefix + error.message,
        error.actual,
        error.expected,
      );
    }
    if (error instanceof TypeError) throw new TypeError(prefix + error.message);
    throw error;
  }
  const { batch, queries: T, keys: S } = dims;
  const shape = checked.shape;
  const fits = (shape.length === 2 && shape[0] === T && shape[1] === S) ||
    (shape.length === 3 && shape[0] === batch && shape[1] === T &&
      shape[2] === S);
  if (!fits) {
    const expected = dims.rank === 3
      ? `(${T}, ${S}) or (${batch}, ${T}, ${S})`
      : `(${T}, ${S})`;
    throw new ShapeError(
      `${OPERATION}: option \`mask\` has shape ${
        formatShape(shape)
      }, expected ` +
        `${expected}: one row per query (T = ${T}) and one column per key (S = ${S}). ` +
        `Build it with causalMask(${T}, ${S}) or Mask.from(rows).`,
      shape,
      [T, S],
    );
  }
  if (dims.rank === 2 && shape.length === 3) {
    throw new ShapeError(
      `${OPERATION}: option \`mask\` has shape ${
        formatShape(shape)
      } but the inputs ` +
        `have no batch axis. Pass a (${T}, ${S}) mask.`,
      shape,
      [T, S],
    );
  }
  return checked;
}

interface UsedRows {
  /** (B * T) bytes: 1 where the query attends to at least one key. */
  queries: Uint8Array;
  /** (B * S) bytes: 1 where at least one query attends to the key. */
  keys: Uint8Array;
}

function findUsedRows(
  dims: AttentionDims,
  maskData: Uint8Array | null,
  maskStride: number,
  causal: boolean,
): UsedRows {
  const { batch, queries: T, keys: S } = dims;
  const queries = new Uint8Array(batch * T);
  const keys = new Uint8Array(batch * S);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < T; t++) {
      const maskRow = b * maskStride + t * S;
      for (let s = 0; s < S; s++) {
        if (!isAllowed(maskData, maskRow + s, causal, t, s)) continue;
        queries[b * T + t] = 1;
        keys[b * S + s] = 1;
      }
    }
  }
  return { queries, keys };
}

/**
 * Throws if a row that the kernel reads holds NaN or Infinity.
 *
 * @param used One byte per row (B * rows): 1 if the row is read; null if every row is read.
 */
function requireFinite(
  tensor: Tensor,
  argument: string,
  used: Uint8Array | null,
  rowsPerBatch: number,
): void {
  const data = tensor.data;
  const width = tensor.shape[tensor.rank - 1];
  const rows = data.length / width;
  for (let r = 0; r < rows; r++) {
    if (used !== null && used[r] === 0) continue;
    const start = r * width;
    for (let i = start; i < start + width; i++) {
      if (Number.isFinite(data[i])) continue;
      const b = Math.floor(r / rowsPerBatch);
      const position = r % rowsPerBatch;
      const d = i - start;
      const index = tensor.rank === 3
        ? `[${b}, ${position}, ${d}]`
        : `[${position}, ${d}]`;
      const axis = argument === "query" ? "query" : "key";
      throw new RangeError(
        `${OPERATION}: \`${argument}\` contains ${data[i]} at index ${index} ` +
          `(${axis} position ${position}, feature ${d}), which is not masked out. ` +
          `Attention needs finite numbers: replace the value, or mask out that ` +
          `${axis} position.`,
      );
    }
  }
}
