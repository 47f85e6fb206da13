/**
 * Argument conversion and checks shared by the operations.
 *
 * @module
 */

import {
  describeValue,
  formatExpectedShape,
  formatShape,
  ShapeError,
} from "./errors.ts";
import { type DType, Tensor, type TensorLike } from "./tensor.ts";

/**
 * Converts an argument to a `Tensor`, naming the operation and argument in any error.
 *
 * @param dtype Element type for nested arrays, `"float64"` by default. A tensor
 *   is returned unchanged, whatever its dtype.
 * @throws {TypeError} If `value` is neither a tensor nor nested arrays of numbers.
 * @throws {ShapeError} If nested arrays are ragged.
 */
export function toTensor(
  value: TensorLike,
  operation: string,
  argument: string,
  dtype: DType = "float64",
): Tensor {
  if (value instanceof Tensor) return value;
  if (!Array.isArray(value)) {
    throw new TypeError(
      `${operation}: \`${argument}\` must be a Tensor or nested arrays of numbers, ` +
        `received ${
          describeValue(value)
        }. Pass Tensor.from([...]) or a nested array.`,
    );
  }
  try {
    return Tensor.from(value, { dtype });
  } catch (error) {
    throw prefixError(error, `${operation}: \`${argument}\`: `);
  }
}

/**
 * Puts `prefix` before the message of a `ShapeError` or `TypeError`, so an
 * error raised by a helper such as `Tensor.from` names the operation and
 * argument the caller passed.
 *
 * @returns A new error of the same class, keeping the shapes of a `ShapeError`,
 *   or `error` itself if it is of another class.
 */
export function prefixError(error: unknown, prefix: string): unknown {
  if (error instanceof ShapeError) {
    return new ShapeError(prefix + error.message, error.actual, error.expected);
  }
  if (error instanceof TypeError) return new TypeError(prefix + error.message);
  return error;
}

/**
 * Returns the dtype shared by the `Tensor` arguments, or `"float64"` if none is a tensor.
 *
 * Nested arrays have no dtype of their own, so they are skipped here and the
 * caller converts them to the returned dtype. Mixed float32 and float64
 * tensors are rejected rather than promoted (NumPy upcasts such a pair to
 * float64 silently), so that a float32 computation never turns into a float64 one
 * without the caller asking.
 *
 * @param args Argument names and values, in the order of the signature.
 * @param alternative A sentence appended to the error, naming another fix.
 * @throws {TypeError} If two tensor arguments have different dtypes.
 */
export function commonDType(
  operation: string,
  args: Readonly<Record<string, TensorLike>>,
  alternative = "",
): DType {
  let first: [string, Tensor] | null = null;
  for (const [argument, value] of Object.entries(args)) {
    if (!(value instanceof Tensor)) continue;
    if (first === null) {
      first = [argument, value];
      continue;
    }
    const [firstArgument, firstTensor] = first;
    if (value.dtype !== firstTensor.dtype) {
      throw new TypeError(
        `${operation}: dtypes differ: \`${firstArgument}\` is ${firstTensor.dtype} ` +
          `but \`${argument}\` is ${value.dtype}, and mixed dtypes are not ` +
          `promoted. Convert the float32 tensor with .astype("float64"), or the ` +
          `float64 one with .astype("float32") to compute in float32.` +
          (alternative === "" ? "" : ` ${alternative}`),
      );
    }
  }
  return first === null ? "float64" : first[1].dtype;
}

/**
 * Checks the rank of a tensor argument.
 *
 * @param letters Legend letters for the axes of each accepted rank, e.g. `["B", "T", "D"]`.
 * @throws {ShapeError} If the rank is not one of the accepted ranks.
 */
export function requireRank(
  tensor: Tensor,
  ranks: readonly number[],
  operation: string,
  argument: string,
  letters: readonly string[],
): void {
  if (ranks.includes(tensor.rank)) return;
  const forms = ranks.map((rank) =>
    formatExpectedShape(new Array(rank).fill(null), letters.slice(-rank))
  );
  throw new ShapeError(
    `${operation}: \`${argument}\` must have rank ${
      ranks.join(" or ")
    } with shape ` +
      `${forms.join(" or ")}, received rank ${tensor.rank} with shape ` +
      `${formatShape(tensor.shape)}. Reshape it or add the missing batch axis.`,
    tensor.shape,
    new Array(ranks[ranks.length - 1]).fill(null),
  );
}

/**
 * Rejects tensors with a zero-length axis.
 *
 * @throws {ShapeError} If any size in the shape is 0.
 */
export function requireNonEmpty(
  tensor: Tensor,
  operation: string,
  argument: string,
): void {
  const axis = tensor.shape.indexOf(0);
  if (axis === -1) return;
  throw new ShapeError(
    `${operation}: \`${argument}\` has a zero-length axis ${axis} in shape ` +
      `${formatShape(tensor.shape)}: every axis needs at least one element. ` +
      `Pass a tensor with at least one query, key and feature.`,
    tensor.shape,
    tensor.shape.map((size) => (size === 0 ? null : size)),
  );
}
