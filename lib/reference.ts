/**
 * Attention written with mathjs in the notation of the formula, used as an
 * independent oracle in the tests, and conversions between tensors and mathjs matrices.
 *
 * @module
 */

import {
  divide,
  exp,
  map,
  type Matrix,
  matrix,
  max,
  multiply,
  sqrt,
  subtract,
  sum,
  transpose as transposeMatrix,
} from "mathjs";
import { describeValue, formatShape, ShapeError } from "./errors.ts";
import { Tensor, type TensorLike } from "./tensor.ts";
import { toTensor } from "./validate.ts";

/**
 * Converts a 2-D tensor to a dense mathjs matrix, copying the values.
 *
 * @param tensor Shape (M, N).
 * @returns A mathjs `Matrix` of size [M, N].
 * @throws {ShapeError} If the tensor is not 2-D.
 *
 * @example Usage
 * ```ts
 * import { Tensor, toMathjs } from "attention";
 * import assert from "node:assert/strict";
 *
 * const m = toMathjs(Tensor.from([[1, 2], [3, 4]]));
 * assert.deepEqual(m.size(), [2, 2]);
 * ```
 */
export function toMathjs(tensor: Tensor): Matrix {
  if (!(tensor instanceof Tensor) || tensor.rank !== 2) {
    const shape = tensor instanceof Tensor
      ? formatShape(tensor.shape)
      : describeValue(tensor);
    throw new ShapeError(
      `toMathjs: expected a 2-D Tensor of shape (M, N), received ${shape}. ` +
        `mathjs matrix operations are 2-D; convert one batch entry at a time, e.g. toMathjs(x[0]).`,
      tensor instanceof Tensor ? tensor.shape : [],
      [null, null],
    );
  }
  return matrix(tensor.toArray() as number[][]);
}

/**
 * Converts a mathjs matrix (or a nested array) to a tensor, copying the values.
 *
 * @param value A dense mathjs `Matrix` of numbers, or nested arrays of numbers.
 * @returns A tensor with the matrix's size as its shape.
 * @throws {TypeError} If an entry is not a plain number (for example a BigNumber or Complex).
 *
 * @example Usage
 * ```ts
 * import { fromMathjs } from "attention";
 * import { matrix } from "mathjs";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(fromMathjs(matrix([[1, 2]])).shape, [1, 2]);
 * ```
 */
export function fromMathjs(value: Matrix | TensorLike): Tensor {
  if (value instanceof Tensor) return Tensor.from(value);
  if (Array.isArray(value)) return toTensor(value, "fromMathjs", "value");
  if (value && typeof (value as Matrix).toArray === "function") {
    return toTensor(
      (value as Matrix).toArray() as TensorLike,
      "fromMathjs",
      "value",
    );
  }
  throw new TypeError(
    `fromMathjs: expected a mathjs Matrix or nested arrays of numbers, received ` +
      `${describeValue(value)}.`,
  );
}

/**
 * Computes attention with mathjs, one batch entry at a time, exactly as the formula reads:
 * `softmax(Q K^T / sqrt(d_k)) V`.
 *
 * It is slow and meant as a reference: the tests compare the fast kernel with
 * it. It shares no code with {@linkcode scaledDotProductAttention} beyond input
 * conversion. A `false` mask entry sets the score to `-Infinity`; a fully
 * masked row gives zero weights.
 *
 * @param query Shape (B, T, D).
 * @param key Shape (B, S, D).
 * @param value Shape (B, S, Dv).
 * @param mask Optional booleans of shape (B, T, S); `true` allows attention.
 * @returns `output` (B, T, Dv), `weights` (B, T, S) and `scores` (B, T, S) as tensors.
 * @throws {ShapeError} If the inputs are not 3-D or their sizes disagree.
 *
 * @example Usage
 * ```ts
 * import { referenceAttention, scaledDotProductAttention } from "attention";
 * import assert from "node:assert/strict";
 *
 * const q = [[[1, 0], [0, 1]]];
 * const expected = referenceAttention(q, q, q).output.toArray() as number[][][];
 * const actual = scaledDotProductAttention(q, q, q).output.toArray() as number[][][];
 * assert.ok(Math.abs(expected[0][1][0] - actual[0][1][0]) < 1e-12);
 * ```
 */
export function referenceAttention(
  query: TensorLike,
  key: TensorLike,
  value: TensorLike,
  mask?: boolean[][][],
): { output: Tensor; weights: Tensor; scores: Tensor } {
  const q = toTensor(query, "referenceAttention", "query");
  const k = toTensor(key, "referenceAttention", "key");
  const v = toTensor(value, "referenceAttention", "value");
  if (q.rank !== 3 || k.rank !== 3 || v.rank !== 3) {
    throw new ShapeError(
      `referenceAttention: expected 3-D query (B, T, D), key (B, S, D) and value ` +
        `(B, S, Dv), received ${formatShape(q.shape)}, ${
          formatShape(k.shape)
        } and ` +
        `${formatShape(v.shape)}.`,
      q.shape,
      [null, null, null],
    );
  }
  const [batch, , d] = q.shape;
  if (
    k.shape[0] !== batch || v.shape[0] !== batch || k.shape[2] !== d ||
    v.shape[1] !== k.shape[1]
  ) {
    throw new ShapeError(
      `referenceAttention: sizes disagree: query ${
        formatShape(q.shape)
      }, key ` +
        `${formatShape(k.shape)}, value ${
          formatShape(v.shape)
        }. Expected (B, T, D), ` +
        `(B, S, D) and (B, S, Dv).`,
      k.shape,
      [batch, v.shape[1], d],
    );
  }

  const outputs: number[][][] = [];
  const allWeights: number[][][] = [];
  const allScores: number[][][] = [];
  for (let b = 0; b < batch; b++) {
    const qb = toMathjs(q.at(b));
    const kb = toMathjs(k.at(b));
    const vb = toMathjs(v.at(b));

    // scores = Q K^T / sqrt(d_k)
    const scores = divide(
      multiply(qb, transposeMatrix(kb)),
      sqrt(d) as number,
    ) as Matrix;
    const rows = scores.toArray() as number[][];
    const maskRows = mask?.[b];
    const maskedRows = rows.map((row, t) =>
      row.map((score, s) => (maskRows && !maskRows[t][s] ? -Infinity : score))
    );

    // weights = exp(scores - row max) / sum(exp(scores - row max)), row by row
    const weights = maskedRows.map((row) => {
      const rowMax = max(row) as number;
      if (rowMax === -Infinity) return row.map(() => 0);
      const e = map(
        subtract(row, rowMax) as number[],
        (x: number) => exp(x),
      ) as number[];
      return divide(e, sum(e)) as number[];
    });

    // output = weights V, leaving out masked rows of V so NaN there cannot leak in
    const safeV = (vb.toArray() as number[][]).map((row, s) =>
      weights.every((w) => w[s] === 0) ? row.map(() => 0) : row
    );
    const output = multiply(matrix(weights), matrix(safeV)) as Matrix;

    outputs.push(output.toArray() as number[][]);
    allWeights.push(weights);
    allScores.push(maskedRows);
  }
  return {
    output: Tensor.from(outputs),
    weights: Tensor.from(allWeights),
    scores: Tensor.from(allScores),
  };
}
