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
import { Tensor, type TensorLike } from "./tensor.ts";

/**
 * Converts an argument to a `Tensor`, naming the operation and argument in any error.
 *
 * @throws {TypeError} If `value` is neither a tensor nor nested arrays of numbers.
 * @throws {ShapeError} If nested arrays are ragged.
 */
export function toTensor(
  value: TensorLike,
  operation: string,
  argument: string,
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
    return Tensor.from(value);
  } catch (error) {
    const prefix = `${operation}: \`${argument}\`: `;
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
