/**
 * Closeness checks for tensors, used by the tests and by the notebooks' self-checks.
 *
 * @module
 */

import { formatShape, ShapeError } from "./errors.ts";
import { Tensor, type TensorLike } from "./tensor.ts";
import { toTensor } from "./validate.ts";

/**
 * Tolerances of {@linkcode allClose} and {@linkcode assertAllClose}.
 *
 * The defaults depend on the dtypes compared: 1e-12 when both sides are
 * float64 (nested arrays count as float64), 1e-5 when either is float32,
 * whose rounding unit is about 6e-8.
 */
export interface CloseOptions {
  /** Relative tolerance: 1e-12 by default, or 1e-5 if either side is float32. */
  rtol?: number;
  /** Absolute tolerance: 1e-12 by default, or 1e-5 if either side is float32. */
  atol?: number;
}

/** Returns the default tolerance for comparing `actual` with `expected`. */
function defaultTolerance(actual: TensorLike, expected: TensorLike): number {
  const float32 = (x: TensorLike) =>
    x instanceof Tensor && x.dtype === "float32";
  return float32(actual) || float32(expected) ? 1e-5 : 1e-12;
}

/** The first element that is not close, as {@linkcode findMismatch} returns it. */
export interface Mismatch {
  /** Flat row-major position. */
  offset: number;
  /** Position as one index per axis. */
  index: number[];
  /** Value in `actual`. */
  actual: number;
  /** Value in `expected`. */
  expected: number;
  /** Number of elements that are not close. */
  count: number;
}

/**
 * Finds elements where `|actual - expected| > atol + rtol * |expected|`.
 *
 * NaN matches only NaN, and an infinity matches only the same infinity.
 * Tensors of either dtype can be compared with each other.
 *
 * @returns The first mismatch with the total count, or null if every element is close.
 * @throws {ShapeError} If the shapes differ.
 */
export function findMismatch(
  actual: TensorLike,
  expected: TensorLike,
  options: CloseOptions = {},
): Mismatch | null {
  const a = toTensor(actual, "allClose", "actual");
  const e = toTensor(expected, "allClose", "expected");
  if (
    a.shape.length !== e.shape.length ||
    a.shape.some((n, i) => n !== e.shape[i])
  ) {
    throw new ShapeError(
      `allClose: shapes differ: actual ${formatShape(a.shape)}, expected ` +
        `${formatShape(e.shape)}.`,
      a.shape,
      e.shape,
    );
  }
  const rtol = options.rtol ?? defaultTolerance(actual, expected);
  const atol = options.atol ?? defaultTolerance(actual, expected);
  let first = -1;
  let count = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i];
    const y = e.data[i];
    const close = x === y || (x !== x && y !== y) ||
      Math.abs(x - y) <= atol + rtol * Math.abs(y);
    if (close) continue;
    if (first === -1) first = i;
    count++;
  }
  if (first === -1) return null;
  const index: number[] = [];
  let rest = first;
  for (let axis = a.shape.length - 1; axis >= 0; axis--) {
    index.unshift(rest % a.shape[axis]);
    rest = Math.floor(rest / a.shape[axis]);
  }
  return {
    offset: first,
    index,
    actual: a.data[first],
    expected: e.data[first],
    count,
  };
}

/**
 * Returns whether two tensors have the same shape and close elements:
 * `|actual - expected| <= atol + rtol * |expected|` everywhere.
 *
 * @param actual Tensor or nested arrays, of either dtype.
 * @param expected Tensor or nested arrays of the same shape, of either dtype.
 * @param options `rtol` and `atol`, both 1e-12 by default, or 1e-5 if either side is float32.
 * @returns `true` if every element is close.
 * @throws {ShapeError} If the shapes differ.
 *
 * @example Usage
 * ```ts
 * import { allClose } from "attention";
 * import assert from "node:assert/strict";
 *
 * assert.ok(allClose([0.1 + 0.2], [0.3]));
 * assert.ok(!allClose([1], [1.001]));
 * ```
 *
 * @example Float32 against float64
 * ```ts
 * import { allClose, Tensor } from "attention";
 * import assert from "node:assert/strict";
 *
 * const exact = Tensor.from([0.1, 1 / 3]);
 * const single = exact.astype("float32");
 * assert.ok(allClose(single, exact)); // float32 defaults: rtol and atol 1e-5
 * assert.ok(!allClose(single, exact, { rtol: 1e-12, atol: 0 }));
 * ```
 */
export function allClose(
  actual: TensorLike,
  expected: TensorLike,
  options: CloseOptions = {},
): boolean {
  return findMismatch(actual, expected, options) === null;
}

/**
 * Throws unless two tensors have the same shape and close elements; see {@linkcode allClose}.
 *
 * @param message Text that starts the error message, e.g. what is being compared.
 * @throws {ShapeError} If the shapes differ.
 * @throws {RangeError} If an element is not close; the message gives the first index,
 *   both values and how many elements differ.
 *
 * @example Usage
 * ```ts
 * import { assertAllClose } from "attention";
 * import assert from "node:assert/strict";
 *
 * assertAllClose([[1, 2]], [[1, 2 + 1e-15]]);
 * assert.throws(() => assertAllClose([1, 2], [1, 3]), /index \[1\]/);
 * ```
 */
export function assertAllClose(
  actual: TensorLike,
  expected: TensorLike,
  options: CloseOptions = {},
  message = "values differ",
): void {
  const mismatch = findMismatch(actual, expected, options);
  if (mismatch === null) return;
  const rtol = options.rtol ?? defaultTolerance(actual, expected);
  const atol = options.atol ?? defaultTolerance(actual, expected);
  throw new RangeError(
    `${message}: ${mismatch.count} element(s) are not close (rtol ${rtol}, atol ${atol}); ` +
      `the first is at index [${
        mismatch.index.join(", ")
      }]: actual ${mismatch.actual}, ` +
      `expected ${mismatch.expected}.`,
  );
}
