/**
 * The `Tensor` type: a row-major `Float64Array` plus a shape.
 *
 * @module
 */

import {
  describeValue,
  formatShape,
  type Shape,
  ShapeError,
} from "./errors.ts";
import { formatTensorText, tensorDisplayBundle } from "./display.ts";

/** A number or arbitrarily nested arrays of numbers, as `Tensor.from` accepts. */
export type NestedArray = number | NestedArray[];

/** Element type of a tensor. Only 64-bit floats are supported. */
export type DType = "float64";

/** Input that operations accept: a `Tensor` or nested arrays of numbers. */
export type TensorLike = Tensor | NestedArray;

/**
 * Checks that `shape` lists non-negative integer sizes and returns its element count.
 *
 * @throws {RangeError} If a size is negative, fractional or not a number.
 */
export function validateShape(shape: Shape, operation: string): number {
  if (!Array.isArray(shape)) {
    throw new TypeError(
      `${operation}: \`shape\` must be an array of sizes such as [2, 10, 64], ` +
        `received ${describeValue(shape)}. Pass the sizes as an array.`,
    );
  }
  let size = 1;
  for (let axis = 0; axis < shape.length; axis++) {
    const n = shape[axis];
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
      throw new RangeError(
        `${operation}: size ${describeValue(n)} at axis ${axis} of shape ` +
          `[${
            shape.map(String).join(", ")
          }] is invalid: expected a non-negative integer. ` +
          `Pass whole-number sizes such as [2, 10, 64].`,
      );
    }
    size *= n;
  }
  return size;
}

/** Matches the property keys that a numeric index such as `weights[0]` produces. */
const INDEX_KEY = /^(0|[1-9][0-9]*)$/;

/**
 * An n-dimensional array of 64-bit floats stored in row-major order.
 *
 * Index a tensor like a NumPy array to take one entry of its first axis:
 * `weights[0]` (or `weights.at(0)`) is the (T, S) matrix of the first batch
 * entry. Such an entry is a view that shares memory with the parent tensor.
 * The library never modifies a tensor's `data` after creating it.
 *
 * @example Usage
 * ```ts
 * import { Tensor } from "attention";
 * import assert from "node:assert/strict";
 *
 * const t = Tensor.from([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]);
 * assert.deepEqual(t.shape, [2, 2, 2]);
 * assert.deepEqual(t[1].toArray(), [[5, 6], [7, 8]]);
 * assert.equal(t.get(0, 1, 0), 3);
 * ```
 */
export class Tensor {
  /** Elements in row-major order; the last axis varies fastest. */
  readonly data: Float64Array;
  /** Size of each axis. */
  readonly shape: Shape;
  /** Element type, always `"float64"`. */
  readonly dtype: DType = "float64";

  /** Entry `i` of the first axis, as a view; see {@linkcode Tensor.at}. */
  readonly [index: number]: Tensor;

  /**
   * Wraps `data` with `shape` without copying.
   *
   * @param data Elements in row-major order.
   * @param shape Sizes of the axes; their product must equal `data.length`.
   * @throws {RangeError} If a size is not a non-negative integer.
   * @throws {ShapeError} If the sizes do not multiply to `data.length`.
   */
  constructor(data: Float64Array, shape: Shape) {
    if (!(data instanceof Float64Array)) {
      throw new TypeError(
        `Tensor: \`data\` must be a Float64Array, received ${
          describeValue(data)
        }. ` +
          `Use Tensor.from(nestedArray) to build a tensor from plain arrays.`,
      );
    }
    const size = validateShape(shape, "Tensor");
    if (size !== data.length) {
      throw new ShapeError(
        `Tensor: shape ${
          formatShape(shape)
        } holds ${size} elements but \`data\` ` +
          `has ${data.length}. Pass a shape whose sizes multiply to ${data.length}.`,
        [data.length],
        [size],
      );
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    // A proxy turns numeric keys into `at(i)`, so `weights[0]` reads like NumPy.
    return new Proxy(this, {
      get(target, key, receiver) {
        if (typeof key === "string" && INDEX_KEY.test(key)) {
          return target.at(Number(key));
        }
        return Reflect.get(target, key, receiver);
      },
      has(target, key) {
        if (typeof key === "string" && INDEX_KEY.test(key)) {
          return target.shape.length > 0 && Number(key) < target.shape[0];
        }
        return Reflect.has(target, key);
      },
    });
  }

  /**
   * Builds a tensor from nested arrays of numbers, copying the values.
   *
   * @param values Nested arrays such as `[[1, 2], [3, 4]]`, a number, or a tensor (copied).
   * @returns A tensor whose shape is the nesting depth and lengths of `values`.
   * @throws {ShapeError} If the nested arrays are ragged (siblings of different lengths).
   * @throws {TypeError} If an entry is not a number.
   *
   * @example Usage
   * ```ts
   * import { ShapeError, Tensor } from "attention";
   * import assert from "node:assert/strict";
   *
   * assert.deepEqual(Tensor.from([[1, 2, 3], [4, 5, 6]]).shape, [2, 3]);
   * assert.throws(() => Tensor.from([[1, 2], [3]]), ShapeError);
   * ```
   */
  static from(values: TensorLike): Tensor {
    if (values instanceof Tensor) {
      return new Tensor(new Float64Array(values.data), values.shape);
    }
    const shape: number[] = [];
    let probe: unknown = values;
    while (Array.isArray(probe)) {
      shape.push(probe.length);
      if (probe.length === 0) break;
      probe = probe[0];
    }
    const data = new Float64Array(shape.reduce((a, b) => a * b, 1));
    let offset = 0;
    const visit = (node: unknown, depth: number, path: string) => {
      if (depth === shape.length) {
        if (typeof node !== "number") {
          throw new TypeError(
            `Tensor.from: entry ${path || "(the value)"} is ${
              describeValue(node)
            }, ` +
              `expected a number. Pass nested arrays that contain only numbers.`,
          );
        }
        data[offset++] = node;
        return;
      }
      if (!Array.isArray(node)) {
        throw new ShapeError(
          `Tensor.from: nested array is ragged: entry ${path} is ` +
            `${
              describeValue(node)
            } but the first entry at that depth is an array of ` +
            `length ${shape[depth]}, so the expected shape is ${
              formatShape(shape)
            }. ` +
            `Make every row the same length.`,
          shape.slice(0, depth),
          shape,
        );
      }
      if (node.length !== shape[depth]) {
        throw new ShapeError(
          `Tensor.from: nested array is ragged: entry ${
            path || "(the value)"
          } has ` +
            `length ${node.length} but the first entry at that depth has length ` +
            `${shape[depth]}, so the expected shape is ${
              formatShape(shape)
            }. ` +
            `Make every row the same length.`,
          [...shape.slice(0, depth), node.length],
          shape.slice(0, depth + 1),
        );
      }
      for (let i = 0; i < node.length; i++) {
        visit(node[i], depth + 1, `${path}[${i}]`);
      }
    };
    visit(values, 0, "");
    return new Tensor(data, shape);
  }

  /**
   * Creates a tensor of zeros.
   *
   * @param shape Sizes of the axes, for example `[2, 10, 64]`.
   * @returns A tensor of that shape filled with `0`.
   * @throws {RangeError} If a size is not a non-negative integer.
   *
   * @example Usage
   * ```ts
   * import { Tensor } from "attention";
   * import assert from "node:assert/strict";
   *
   * assert.deepEqual(Tensor.zeros([2, 3]).toArray(), [[0, 0, 0], [0, 0, 0]]);
   * ```
   */
  static zeros(shape: Shape): Tensor {
    return new Tensor(
      new Float64Array(validateShape(shape, "Tensor.zeros")),
      shape,
    );
  }

  /** Number of axes. */
  get rank(): number {
    return this.shape.length;
  }

  /** Number of elements: the product of the sizes. */
  get size(): number {
    return this.data.length;
  }

  /**
   * Returns entry `index` of the first axis as a view that shares memory.
   *
   * @param index Position along the first axis; negative values count from the end.
   * @returns A tensor of rank `rank - 1`, for example the (T, S) weights of one batch entry.
   * @throws {RangeError} If the tensor has rank 0 or `index` is out of range.
   *
   * @example Usage
   * ```ts
   * import { Tensor } from "attention";
   * import assert from "node:assert/strict";
   *
   * const t = Tensor.from([[1, 2], [3, 4]]);
   * assert.deepEqual(t.at(-1).toArray(), [3, 4]);
   * ```
   */
  at(index: number): Tensor {
    if (this.shape.length === 0) {
      throw new RangeError(
        `Tensor.at: cannot index a tensor of rank 0 (a single number). ` +
          `Read its value with .get() instead.`,
      );
    }
    const length = this.shape[0];
    const i = index < 0 ? index + length : index;
    if (!Number.isInteger(index) || i < 0 || i >= length) {
      throw new RangeError(
        `Tensor.at: index ${
          describeValue(index)
        } is out of range for axis 0 of ` +
          `shape ${
            formatShape(this.shape)
          }: expected an integer from ${-length} to ${length - 1}.`,
      );
    }
    const rowSize = length === 0 ? 0 : this.data.length / length;
    return new Tensor(
      this.data.subarray(i * rowSize, (i + 1) * rowSize),
      this.shape.slice(1),
    );
  }

  /**
   * Reads one element.
   *
   * @param indices One integer per axis.
   * @returns The element at that position.
   * @throws {RangeError} If the number of indices differs from the rank or one is out of range.
   */
  get(...indices: number[]): number {
    if (indices.length !== this.shape.length) {
      throw new RangeError(
        `Tensor.get: received ${indices.length} indices for a tensor of shape ` +
          `${
            formatShape(this.shape)
          }: expected ${this.shape.length}, one per axis.`,
      );
    }
    let offset = 0;
    for (let axis = 0; axis < indices.length; axis++) {
      const i = indices[axis];
      if (!Number.isInteger(i) || i < 0 || i >= this.shape[axis]) {
        throw new RangeError(
          `Tensor.get: index ${
            describeValue(i)
          } is out of range for axis ${axis} ` +
            `of shape ${
              formatShape(this.shape)
            }: expected an integer from 0 to ${this.shape[axis] - 1}.`,
        );
      }
      offset = offset * this.shape[axis] + i;
    }
    return this.data[offset];
  }

  /**
   * Copies the elements into nested arrays.
   *
   * @returns Nested arrays with the tensor's shape; a number for rank 0.
   */
  toArray(): NestedArray {
    const build = (depth: number, offset: number): NestedArray => {
      if (depth === this.shape.length) return this.data[offset];
      const length = this.shape[depth];
      let stride = 1;
      for (let axis = depth + 1; axis < this.shape.length; axis++) {
        stride *= this.shape[axis];
      }
      const out: NestedArray[] = new Array(length);
      for (let i = 0; i < length; i++) {
        out[i] = build(depth + 1, offset + i * stride);
      }
      return out;
    };
    return build(0, 0);
  }

  /** Returns the nested arrays, so `JSON.stringify(tensor)` writes the values. */
  toJSON(): NestedArray {
    return this.toArray();
  }

  /** Formats the tensor like NumPy prints an array. */
  toString(): string {
    return formatTensorText(this);
  }

  /** Shows the NumPy-like text layout in `console.log` under Deno. */
  [Symbol.for("Deno.customInspect")](): string {
    return formatTensorText(this);
  }

  /** Returns the MIME bundle that Deno's Jupyter kernel shows for this tensor. */
  [Symbol.for("Jupyter.display")](): Record<string, string> {
    return tensorDisplayBundle(this);
  }
}
