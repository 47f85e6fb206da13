/**
 * The `Tensor` type: a row-major `Float64Array` or `Float32Array` plus a shape.
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

/** Element type of a tensor: 64-bit (the default) or 32-bit floats. */
export type DType = "float32" | "float64";

/** Storage of a tensor's elements, whose array type determines the dtype. */
export type FloatArray = Float64Array | Float32Array;

/** The `dtype` option of {@linkcode Tensor.from} and {@linkcode Tensor.zeros}. */
export interface DTypeOptions {
  /** Element type of the new tensor. Each method documents its default. */
  dtype?: DType;
}

const DTYPES: readonly DType[] = ["float32", "float64"];

/**
 * Checks that `dtype` is `"float32"` or `"float64"`.
 *
 * @param label How the message names the value, for example "option `dtype`".
 * @throws {TypeError} If it is anything else.
 */
export function validateDType(
  dtype: unknown,
  operation: string,
  label = "`dtype`",
): asserts dtype is DType {
  if (!DTYPES.includes(dtype as DType)) {
    throw new TypeError(
      `${operation}: ${label} is ${describeValue(dtype)}, expected ` +
        `"float32" or "float64".`,
    );
  }
}

/**
 * Allocates a zero-filled array of `length` elements of the given dtype.
 *
 * @param dtype `"float64"` gives a `Float64Array`, `"float32"` a `Float32Array`.
 * @param length Number of elements.
 */
export function createFloatArray(dtype: DType, length: number): FloatArray {
  return dtype === "float32"
    ? new Float32Array(length)
    : new Float64Array(length);
}

/**
 * Converts `data` to the array type of `dtype`, rounding to the nearest
 * float32 where needed.
 *
 * @returns `data` itself if it already has that dtype, otherwise a new array.
 */
export function castFloatArray(
  data: FloatArray,
  dtype: "float64",
): Float64Array;
export function castFloatArray(
  data: FloatArray,
  dtype: "float32",
): Float32Array;
export function castFloatArray(data: FloatArray, dtype: DType): FloatArray;
export function castFloatArray(data: FloatArray, dtype: DType): FloatArray {
  if (dtype === "float32") {
    return data instanceof Float32Array ? data : new Float32Array(data);
  }
  return data instanceof Float64Array ? data : new Float64Array(data);
}

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
 * An n-dimensional array of 64-bit or 32-bit floats stored in row-major order.
 *
 * The dtype follows the storage: a `Float64Array` makes a `"float64"` tensor
 * and a `Float32Array` a `"float32"` one. Operations keep the dtype of their
 * inputs and reject a mix of the two; convert with {@linkcode Tensor.astype}.
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
 * assert.equal(t.dtype, "float64");
 * assert.equal(t.astype("float32")[1].dtype, "float32");
 * ```
 */
export class Tensor {
  /** Elements in row-major order; the last axis varies fastest. */
  readonly data: FloatArray;
  /** Size of each axis. */
  readonly shape: Shape;
  /** Element type: `"float32"` for a `Float32Array`, `"float64"` for a `Float64Array`. */
  readonly dtype: DType;

  /** Entry `i` of the first axis, as a view; see {@linkcode Tensor.at}. */
  readonly [index: number]: Tensor;

  /**
   * Wraps `data` with `shape` without copying.
   *
   * @param data Elements in row-major order; a `Float32Array` makes a float32 tensor.
   * @param shape Sizes of the axes; their product must equal `data.length`.
   * @throws {TypeError} If `data` is neither a `Float64Array` nor a `Float32Array`.
   * @throws {RangeError} If a size is not a non-negative integer.
   * @throws {ShapeError} If the sizes do not multiply to `data.length`.
   */
  constructor(data: FloatArray, shape: Shape) {
    if (!(data instanceof Float64Array || data instanceof Float32Array)) {
      throw new TypeError(
        `Tensor: \`data\` must be a Float64Array or Float32Array, received ${
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
    this.dtype = data instanceof Float32Array ? "float32" : "float64";
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
   * With `dtype: "float32"` each value is rounded to the nearest 32-bit float.
   *
   * @param values Nested arrays such as `[[1, 2], [3, 4]]`, a number, or a tensor (copied).
   * @param options `dtype` of the result: `"float64"` by default for nested arrays,
   *   the tensor's own dtype for a tensor.
   * @returns A tensor whose shape is the nesting depth and lengths of `values`.
   * @throws {ShapeError} If the nested arrays are ragged (siblings of different lengths).
   * @throws {TypeError} If an entry is not a number, or `dtype` is not "float32" or "float64".
   *
   * @example Usage
   * ```ts
   * import { ShapeError, Tensor } from "attention";
   * import assert from "node:assert/strict";
   *
   * assert.deepEqual(Tensor.from([[1, 2, 3], [4, 5, 6]]).shape, [2, 3]);
   * assert.throws(() => Tensor.from([[1, 2], [3]]), ShapeError);
   *
   * const single = Tensor.from([0.1, 0.5], { dtype: "float32" });
   * assert.equal(single.dtype, "float32");
   * assert.equal(single.get(0), Math.fround(0.1));
   * ```
   */
  static from(values: TensorLike, options: DTypeOptions = {}): Tensor {
    const requested = options.dtype;
    if (requested !== undefined) validateDType(requested, "Tensor.from");
    if (values instanceof Tensor) {
      const data = createFloatArray(
        requested ?? values.dtype,
        values.data.length,
      );
      data.set(values.data);
      return new Tensor(data, values.shape);
    }
    const shape: number[] = [];
    let probe: unknown = values;
    while (Array.isArray(probe)) {
      shape.push(probe.length);
      if (probe.length === 0) break;
      probe = probe[0];
    }
    const data = createFloatArray(
      requested ?? "float64",
      shape.reduce((a, b) => a * b, 1),
    );
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
   * @param options `dtype` of the result, `"float64"` by default.
   * @returns A tensor of that shape and dtype filled with `0`.
   * @throws {RangeError} If a size is not a non-negative integer.
   * @throws {TypeError} If `dtype` is not "float32" or "float64".
   *
   * @example Usage
   * ```ts
   * import { Tensor } from "attention";
   * import assert from "node:assert/strict";
   *
   * assert.deepEqual(Tensor.zeros([2, 3]).toArray(), [[0, 0, 0], [0, 0, 0]]);
   * assert.equal(Tensor.zeros([2, 3], { dtype: "float32" }).dtype, "float32");
   * ```
   */
  static zeros(shape: Shape, options: DTypeOptions = {}): Tensor {
    const dtype = options.dtype ?? "float64";
    validateDType(dtype, "Tensor.zeros");
    return new Tensor(
      createFloatArray(dtype, validateShape(shape, "Tensor.zeros")),
      shape,
    );
  }

  /**
   * Converts the elements to another dtype.
   *
   * Converting to `"float32"` rounds each element to the nearest 32-bit float
   * (values beyond its range become Infinity), and converting back to
   * `"float64"` is exact, so a float64 round trip returns the rounded values.
   *
   * @param dtype Element type of the result.
   * @returns This tensor if it already has `dtype`, otherwise a converted copy
   *   of the same shape that does not share memory.
   * @throws {TypeError} If `dtype` is not "float32" or "float64".
   *
   * @example Usage
   * ```ts
   * import { Tensor } from "attention";
   * import assert from "node:assert/strict";
   *
   * const t = Tensor.from([[0.1, 2]]);
   * const single = t.astype("float32");
   * assert.equal(single.dtype, "float32");
   * assert.deepEqual(single.shape, [1, 2]);
   * assert.equal(single.get(0, 0), Math.fround(0.1));
   * assert.equal(t.astype("float64"), t);
   * ```
   */
  astype(dtype: DType): Tensor {
    validateDType(dtype, "Tensor.astype");
    if (dtype === this.dtype) return this;
    return Tensor.from(this, { dtype });
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
