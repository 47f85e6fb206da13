/**
 * Tensor operations that attention is built from: batched matrix product,
 * transpose of the last two axes, and a numerically stable softmax.
 *
 * Each result has the dtype of its tensor arguments, and nested arrays take
 * that dtype too (float64 when no argument is a tensor). A float32 tensor
 * next to a float64 one raises a `TypeError` instead of being promoted.
 * `matmul` and `softmax` compute in float64 for either dtype and round the
 * result to float32 once at the end.
 *
 * @module
 */

import { formatShape, ShapeError } from "./errors.ts";
import {
  castFloatArray,
  createFloatArray,
  Tensor,
  type TensorLike,
} from "./tensor.ts";
import { commonDType, requireRank, toTensor } from "./validate.ts";

/**
 * Multiplies matrices, batched over a leading axis: `C[b] = A[b] B[b]`.
 *
 * Both arguments are 2-D (M, K) and (K, N), or 3-D (B, M, K) and (B, K, N).
 * A 2-D argument next to a 3-D one is used for every batch entry.
 * Float32 arguments are multiplied and summed in float64, and each entry of
 * the result is rounded to float32 once.
 *
 * @param a Left factor, shape (M, K) or (B, M, K).
 * @param b Right factor, shape (K, N) or (B, K, N).
 * @returns The product, shape (M, N), or (B, M, N) if either argument is 3-D,
 *   with the dtype of the arguments.
 * @throws {ShapeError} If a rank is not 2 or 3, the inner sizes K differ, or the batch sizes differ.
 * @throws {TypeError} If one argument is float32 and the other float64.
 *
 * @example Usage
 * ```ts
 * import { matmul, Tensor } from "attention";
 * import assert from "node:assert/strict";
 *
 * const c = matmul([[[1, 2], [3, 4]]], [[[5], [6]]]); // (1, 2, 2) x (1, 2, 1) -> (1, 2, 1)
 * assert.deepEqual(c.toArray(), [[[17], [39]]]);
 *
 * const a32 = Tensor.from([[1, 2]], { dtype: "float32" });
 * assert.equal(matmul(a32, [[3], [4]]).dtype, "float32");
 * assert.throws(() => matmul(a32, Tensor.from([[3], [4]])), TypeError);
 * ```
 */
export function matmul(a: TensorLike, b: TensorLike): Tensor {
  const dtype = commonDType("matmul", { a, b });
  const left = toTensor(a, "matmul", "a", dtype);
  const right = toTensor(b, "matmul", "b", dtype);
  requireRank(left, [2, 3], "matmul", "a", ["B", "M", "K"]);
  requireRank(right, [2, 3], "matmul", "b", ["B", "K", "N"]);

  const [m, k] = left.shape.slice(-2);
  const [k2, n] = right.shape.slice(-2);
  if (k !== k2) {
    throw new ShapeError(
      `matmul: inner sizes differ: \`a\` has shape ${
        formatShape(left.shape)
      } with ` +
        `${plural(k, "column")} but \`b\` has shape ${
          formatShape(right.shape)
        } with ${plural(k2, "row")}. ` +
        `The last axis of \`a\` must equal the second-to-last axis of \`b\`; ` +
        `transpose one of them if needed.`,
      right.shape,
      [...right.shape.slice(0, -2), k, null],
    );
  }
  const batchA = left.rank === 3 ? left.shape[0] : 0;
  const batchB = right.rank === 3 ? right.shape[0] : 0;
  if (batchA && batchB && batchA !== batchB) {
    throw new ShapeError(
      `matmul: batch sizes differ: \`a\` has shape ${
        formatShape(left.shape)
      } and ` +
        `\`b\` has shape ${
          formatShape(right.shape)
        }. Pass tensors with the same ` +
        `first axis, or a 2-D \`b\` to share it across the batch.`,
      right.shape,
      [batchA, k, null],
    );
  }

  const batch = Math.max(batchA, batchB, 1);
  // Float64 buffers only, so that V8 meets one element type at these loads and
  // stores. A float32 result is rounded once at the end.
  const out = new Float64Array(batch * m * n);
  const x = castFloatArray(left.data, "float64");
  const y = castFloatArray(right.data, "float64");
  for (let bi = 0; bi < batch; bi++) {
    const xBase = batchA ? bi * m * k : 0;
    const yBase = batchB ? bi * k * n : 0;
    const outBase = bi * m * n;
    // The i-p-j order reads rows of `b` and writes rows of the output contiguously.
    for (let i = 0; i < m; i++) {
      const outRow = outBase + i * n;
      for (let p = 0; p < k; p++) {
        const factor = x[xBase + i * k + p];
        const yRow = yBase + p * n;
        for (let j = 0; j < n; j++) out[outRow + j] += factor * y[yRow + j];
      }
    }
  }
  const shape = batchA || batchB ? [batch, m, n] : [m, n];
  return new Tensor(castFloatArray(out, dtype), shape);
}

/**
 * Swaps the last two axes: (..., M, N) becomes (..., N, M).
 *
 * Only the last two axes move, so keys of shape (B, S, D) become (B, D, S),
 * which is the K^T in QK^T.
 *
 * @param x Tensor of rank 2 or more, shape (..., M, N).
 * @returns A new tensor of shape (..., N, M) with the dtype of `x`.
 * @throws {ShapeError} If `x` has fewer than 2 axes.
 *
 * @example Usage
 * ```ts
 * import { Tensor, transpose } from "attention";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(transpose(Tensor.zeros([2, 10, 64])).shape, [2, 64, 10]);
 * assert.deepEqual(transpose([[1, 2, 3]]).toArray(), [[1], [2], [3]]);
 * ```
 */
export function transpose(x: TensorLike): Tensor {
  const tensor = toTensor(x, "transpose", "x");
  if (tensor.rank < 2) {
    throw new ShapeError(
      `transpose: \`x\` must have at least 2 axes, received shape ` +
        `${
          formatShape(tensor.shape)
        }. A vector has no second axis to swap with; ` +
        `wrap it in an array to make a (1, N) matrix.`,
      tensor.shape,
      [null, null],
    );
  }
  const [m, n] = tensor.shape.slice(-2);
  const lead = tensor.shape.slice(0, -2);
  const matrices = lead.reduce((a, b) => a * b, 1);
  const source = tensor.data;
  const out = createFloatArray(tensor.dtype, source.length);
  for (let mi = 0; mi < matrices; mi++) {
    const base = mi * m * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        out[base + j * m + i] = source[base + i * n + j];
      }
    }
  }
  return new Tensor(out, [...lead, n, m]);
}

/**
 * Applies softmax over the last axis: `softmax(x)_j = exp(x_j - max(x)) / sum_k exp(x_k - max(x))`.
 *
 * Subtracting the row maximum keeps every exponent at or below 0, so `exp`
 * cannot overflow even for scores near 1000, and the result is unchanged
 * because the factor `exp(-max)` cancels. Entries equal to `-Infinity` get
 * weight 0, and a row made only of `-Infinity` becomes a row of zeros rather
 * than NaN. A row containing NaN or `+Infinity` becomes NaN.
 *
 * For a float32 `x`, the softmax is computed in float64 and each weight is
 * rounded to float32 once.
 *
 * @param x Tensor of rank 1 or more, shape (..., N).
 * @returns Weights of the same shape and dtype; each row lies in [0, 1] and sums to 1
 *   (or is all zeros), within rounding of the dtype.
 * @throws {ShapeError} If `x` has rank 0.
 *
 * @example Usage
 * ```ts
 * import { softmax } from "attention";
 * import assert from "node:assert/strict";
 *
 * const [row] = softmax([[1000, 1000]]).toArray() as number[][];
 * assert.deepEqual(row, [0.5, 0.5]);
 * ```
 */
export function softmax(x: TensorLike): Tensor {
  const tensor = toTensor(x, "softmax", "x");
  if (tensor.rank < 1) {
    throw new ShapeError(
      `softmax: \`x\` must have at least 1 axis, received a rank-0 tensor. ` +
        `Pass a row of scores such as [1, 2, 3].`,
      tensor.shape,
      [null],
    );
  }
  const n = tensor.shape[tensor.rank - 1];
  // Copies into float64 for either dtype: softmaxRowInPlace also runs inside the
  // attention kernel, which slows down once it receives a Float32Array.
  const out = new Float64Array(tensor.data);
  const rows = n === 0 ? 0 : out.length / n;
  for (let r = 0; r < rows; r++) softmaxRowInPlace(out, r * n, n);
  return new Tensor(castFloatArray(out, tensor.dtype), tensor.shape);
}

/**
 * Replaces `row[offset .. offset + n)` by its softmax, in place.
 *
 * A row whose maximum is `-Infinity` (every entry masked) becomes zeros.
 */
export function softmaxRowInPlace(
  row: Float64Array,
  offset: number,
  n: number,
): void {
  const end = offset + n;
  let max = -Infinity;
  for (let j = offset; j < end; j++) {
    const value = row[j];
    if (value > max || value !== value) max = value;
  }
  if (max === -Infinity) {
    row.fill(0, offset, end);
    return;
  }
  let sum = 0;
  for (let j = offset; j < end; j++) {
    const e = Math.exp(row[j] - max);
    row[j] = e;
    sum += e;
  }
  const inverse = 1 / sum;
  for (let j = offset; j < end; j++) row[j] *= inverse;
}

/** Formats a count with its noun, for example "1 row" or "3 rows". */
function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
