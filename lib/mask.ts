/**
 * Boolean attention masks: which keys each query may attend to.
 *
 * @module
 */

import { describeValue, formatShape, ShapeError } from "./errors.ts";
import { validateShape } from "./tensor.ts";

/** Nested arrays of booleans, shape (T, S) or (B, T, S). */
export type NestedBooleans = boolean[][] | boolean[][][];

/** A `Mask` or nested booleans, as attention's `mask` option accepts. */
export type MaskLike = Mask | NestedBooleans;

/**
 * A boolean mask of shape (T, S) or (B, T, S), stored as bytes in row-major order.
 *
 * `true` (stored as 1) at [t, s] means query t may attend to key s; `false`
 * excludes that key from the query's softmax. A (T, S) mask applies to every
 * batch entry.
 *
 * @example Usage
 * ```ts
 * import { Mask } from "attention";
 * import assert from "node:assert/strict";
 *
 * const mask = Mask.from([[true, false], [true, true]]);
 * assert.deepEqual(mask.shape, [2, 2]);
 * assert.equal(mask.get(0, 1), false);
 * ```
 */
export class Mask {
  /** 1 where attention is allowed, 0 where it is masked out. */
  readonly data: Uint8Array;
  /** (T, S) or (B, T, S). */
  readonly shape: readonly number[];

  /**
   * Wraps `data` with `shape` without copying.
   *
   * @param data One byte per position: nonzero allows attention.
   * @param shape (T, S) or (B, T, S).
   * @throws {ShapeError} If the rank is not 2 or 3 or the sizes do not match `data.length`.
   */
  constructor(data: Uint8Array, shape: readonly number[]) {
    const size = validateShape(shape, "Mask");
    if (shape.length !== 2 && shape.length !== 3) {
      throw new ShapeError(
        `Mask: shape must be (T, S) or (B, T, S), received ${
          formatShape(shape)
        }. ` +
          `Pass one row per query and one column per key.`,
        shape,
        [null, null, null],
      );
    }
    if (size !== data.length) {
      throw new ShapeError(
        `Mask: shape ${
          formatShape(shape)
        } holds ${size} positions but \`data\` has ` +
          `${data.length}. Pass a shape whose sizes multiply to ${data.length}.`,
        [data.length],
        [size],
      );
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
  }

  /**
   * Builds a mask from nested arrays of booleans.
   *
   * @param values Shape (T, S) or (B, T, S); `true` allows attention.
   * @returns The mask.
   * @throws {TypeError} If an entry is not a boolean.
   * @throws {ShapeError} If the arrays are ragged or the rank is not 2 or 3.
   */
  static from(values: MaskLike): Mask {
    if (values instanceof Mask) return values;
    const shape: number[] = [];
    let probe: unknown = values;
    while (Array.isArray(probe)) {
      shape.push(probe.length);
      if (probe.length === 0) break;
      probe = probe[0];
    }
    const data = new Uint8Array(shape.reduce((a, b) => a * b, 1));
    let offset = 0;
    const visit = (node: unknown, depth: number, path: string) => {
      if (depth === shape.length) {
        if (typeof node !== "boolean") {
          throw new TypeError(
            `Mask.from: entry ${path || "(the value)"} is ${
              describeValue(node)
            }, ` +
              `expected true or false. Build the mask from booleans, for example ` +
              `rows.map((row) => row.map((x) => x !== 0)).`,
          );
        }
        data[offset++] = node ? 1 : 0;
        return;
      }
      if (!Array.isArray(node) || node.length !== shape[depth]) {
        throw new ShapeError(
          `Mask.from: nested array is ragged: entry ${path} is ` +
            `${describeValue(node)} but the expected shape is ${
              formatShape(shape)
            }. ` +
            `Give every row one entry per key.`,
          shape.slice(0, depth),
          shape,
        );
      }
      for (let i = 0; i < node.length; i++) {
        visit(node[i], depth + 1, `${path}[${i}]`);
      }
    };
    if (!Array.isArray(values)) {
      throw new TypeError(
        `Mask.from: expected nested arrays of booleans of shape (T, S) or (B, T, S), ` +
          `received ${describeValue(values)}.`,
      );
    }
    visit(values, 0, "");
    return new Mask(data, shape);
  }

  /**
   * Reads one position.
   *
   * @param indices (t, s) or (b, t, s), one integer per axis.
   * @returns Whether attention is allowed there.
   * @throws {RangeError} If the number of indices differs from the rank or one is out of range.
   */
  get(...indices: number[]): boolean {
    if (indices.length !== this.shape.length) {
      throw new RangeError(
        `Mask.get: received ${indices.length} indices for a mask of shape ` +
          `${formatShape(this.shape)}: expected ${this.shape.length}.`,
      );
    }
    let offset = 0;
    for (let axis = 0; axis < indices.length; axis++) {
      const i = indices[axis];
      if (!Number.isInteger(i) || i < 0 || i >= this.shape[axis]) {
        throw new RangeError(
          `Mask.get: index ${
            describeValue(i)
          } is out of range for axis ${axis} of ` +
            `shape ${formatShape(this.shape)}.`,
        );
      }
      offset = offset * this.shape[axis] + i;
    }
    return this.data[offset] !== 0;
  }

  /** Copies the mask into nested arrays of booleans. */
  toArray(): NestedBooleans {
    const [lead, t, s] = this.shape.length === 3
      ? this.shape
      : [1, this.shape[0], this.shape[1]];
    const batches: boolean[][][] = [];
    for (let b = 0; b < lead; b++) {
      const rows: boolean[][] = [];
      for (let i = 0; i < t; i++) {
        const start = (b * t + i) * s;
        rows.push(
          Array.from(this.data.subarray(start, start + s), (x) => x !== 0),
        );
      }
      batches.push(rows);
    }
    return this.shape.length === 3 ? batches : batches[0];
  }
}

/**
 * Builds the causal (lower-triangular) mask: query t may attend to key s only if `s <= t`.
 *
 * With T != S the triangle is aligned at the top-left corner, as PyTorch's
 * `torch.tril(torch.ones(T, S))` is.
 *
 * @param queries Number of queries T, a positive integer.
 * @param keys Number of keys S, a positive integer; defaults to T.
 * @returns A mask of shape (T, S).
 * @throws {RangeError} If a size is not a positive integer.
 *
 * @example Usage
 * ```ts
 * import { causalMask } from "attention";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(causalMask(3).toArray(), [
 *   [true, false, false],
 *   [true, true, false],
 *   [true, true, true],
 * ]);
 * ```
 */
export function causalMask(queries: number, keys: number = queries): Mask {
  requirePositiveSize(queries, "causalMask", "queries");
  requirePositiveSize(keys, "causalMask", "keys");
  const data = new Uint8Array(queries * keys);
  for (let t = 0; t < queries; t++) {
    data.fill(1, t * keys, t * keys + Math.min(t + 1, keys));
  }
  return new Mask(data, [queries, keys]);
}

/**
 * Builds a key padding mask: in batch entry b, only the first `lengths[b]` keys are visible.
 *
 * Use it when sequences of different lengths are padded to a common length S.
 *
 * @param lengths Number of real (unpadded) keys per batch entry, each from 0 to S.
 * @param queries Number of queries T.
 * @param keys Padded number of keys S.
 * @returns A mask of shape (B, T, S) with B = `lengths.length`.
 * @throws {RangeError} If a length or size is not an integer in range.
 *
 * @example Usage
 * ```ts
 * import { paddingMask } from "attention";
 * import assert from "node:assert/strict";
 *
 * const mask = paddingMask([1, 2], 1, 2);
 * assert.deepEqual(mask.toArray(), [[[true, false]], [[true, true]]]);
 * ```
 */
export function paddingMask(
  lengths: readonly number[],
  queries: number,
  keys: number,
): Mask {
  requirePositiveSize(queries, "paddingMask", "queries");
  requirePositiveSize(keys, "paddingMask", "keys");
  if (!Array.isArray(lengths) || lengths.length === 0) {
    throw new RangeError(
      `paddingMask: \`lengths\` must be a non-empty array with one length per batch ` +
        `entry, received ${describeValue(lengths)}.`,
    );
  }
  const data = new Uint8Array(lengths.length * queries * keys);
  lengths.forEach((length, b) => {
    if (!Number.isInteger(length) || length < 0 || length > keys) {
      throw new RangeError(
        `paddingMask: lengths[${b}] is ${describeValue(length)}, expected an ` +
          `integer from 0 to ${keys} (the padded number of keys).`,
      );
    }
    for (let t = 0; t < queries; t++) {
      const start = (b * queries + t) * keys;
      data.fill(1, start, start + length);
    }
  });
  return new Mask(data, [lengths.length, queries, keys]);
}

function requirePositiveSize(value: number, operation: string, name: string) {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `${operation}: \`${name}\` is ${
        describeValue(value)
      }, expected a positive ` +
        `integer such as 10.`,
    );
  }
}
