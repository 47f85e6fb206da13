/**
 * Error types and message helpers shared by every module.
 *
 * Shape legend used in every message: B batch, T queries, S keys, D model width.
 *
 * @module
 */

/** A tensor shape: one non-negative integer size per axis. */
export type Shape = readonly number[];

/**
 * Formats a shape the way NumPy prints it, for example `(2, 10, 64)`.
 *
 * @param shape Sizes of each axis. A one-axis shape prints with a trailing comma.
 * @returns The shape in parentheses.
 *
 * @example Usage
 * ```ts
 * import { formatShape } from "attention";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatShape([2, 10, 64]), "(2, 10, 64)");
 * assert.equal(formatShape([5]), "(5,)");
 * ```
 */
export function formatShape(shape: Shape): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(", ")})`;
}

/**
 * Shape mismatch between the arguments of an operation.
 *
 * The message names the operation, the argument, both full shapes and the fix;
 * `actual` and `expected` keep the shapes for code that handles the error.
 * In `expected`, `null` marks an axis whose size may be anything.
 *
 * @example Usage
 * ```ts
 * import { matmul, ShapeError, Tensor } from "attention";
 * import assert from "node:assert/strict";
 *
 * const a = Tensor.zeros([1, 2, 3]);
 * const b = Tensor.zeros([1, 4, 5]);
 * assert.throws(() => matmul(a, b), ShapeError);
 * ```
 */
export class ShapeError extends RangeError {
  /** Shape that the operation received. */
  readonly actual: Shape;
  /** Shape that the operation expected; `null` marks a free axis. */
  readonly expected: readonly (number | null)[];

  /**
   * Creates a shape error.
   *
   * @param message Full message: operation, argument, both shapes and the fix.
   * @param actual Shape that the operation received.
   * @param expected Shape that it expected, `null` where any size fits.
   */
  constructor(
    message: string,
    actual: Shape,
    expected: readonly (number | null)[],
  ) {
    super(message);
    this.name = "ShapeError";
    this.actual = [...actual];
    this.expected = [...expected];
  }
}

/** Formats an expected shape, printing free axes with their legend letter. */
export function formatExpectedShape(
  expected: readonly (number | null)[],
  letters: readonly string[],
): string {
  const parts = expected.map((size, axis) =>
    size === null ? (letters[axis] ?? "?") : String(size)
  );
  return parts.length === 1 ? `(${parts[0]},)` : `(${parts.join(", ")})`;
}

/** Describes any JavaScript value briefly for an error message. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "string") {
    const text = value.length > 40 ? `${value.slice(0, 40)}...` : value;
    return `the string ${JSON.stringify(text)}`;
  }
  if (typeof value === "number" || typeof value === "boolean") {
    return String(value);
  }
  if (typeof value === "bigint") return `${value}n`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === "function") return "a function";
  const name = (value as { constructor?: { name?: string } }).constructor?.name;
  return name ? `a ${name}` : "an object";
}
