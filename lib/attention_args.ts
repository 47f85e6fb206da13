/**
 * Argument checks shared by the attention entry points
 * `scaledDotProductAttention`, `attentionOutput` and `attentionParallel`.
 *
 * Every message names the calling operation, so the same mistake gets the
 * same error from every entry point.
 *
 * @module
 */

import { describeValue, formatShape, ShapeError } from "./errors.ts";
import { Mask, type MaskLike } from "./mask.ts";
import {
  castFloatArray,
  type DType,
  type Tensor,
  type TensorLike,
  validateDType,
} from "./tensor.ts";
import {
  commonDType,
  prefixError,
  requireNonEmpty,
  requireRank,
  toTensor,
} from "./validate.ts";

/** Kernel choice of the `backend` option. */
export type AttentionBackend = "auto" | "wasm" | "typescript";

const BACKENDS: readonly AttentionBackend[] = ["auto", "wasm", "typescript"];

/** Sizes of an attention problem: B batch, T queries, S keys, D width, Dv value width. */
export interface AttentionSizes {
  /** B, the batch size (1 for rank-2 inputs). */
  readonly batch: number;
  /** T, the number of queries. */
  readonly queries: number;
  /** S, the number of keys and values. */
  readonly keys: number;
  /** D, the width d_k of queries and keys. */
  readonly width: number;
  /** Dv, the width of the values. */
  readonly valueWidth: number;
  /** Rank of the inputs, 2 or 3. */
  readonly rank: number;
}

/** Checked arguments of one attention call. */
export interface AttentionArguments {
  /** Queries, shape (B, T, D) or (T, D), converted to `dtype`. */
  readonly query: Tensor;
  /** Keys, shape (B, S, D) or (S, D), converted to `dtype`. */
  readonly key: Tensor;
  /** Values, shape (B, S, Dv) or (S, Dv), converted to `dtype`. */
  readonly value: Tensor;
  /** Element type to compute in. */
  readonly dtype: DType;
  /** Problem sizes. */
  readonly sizes: AttentionSizes;
  /** Factor applied to Q K^T. */
  readonly scale: number;
  /** (T, S) or (B, T, S) bytes, nonzero where attention is allowed, or null. */
  readonly maskData: Uint8Array | null;
  /** T * S for a (B, T, S) mask, 0 for a (T, S) mask or none. */
  readonly maskStride: number;
  /** Whether query t attends only to keys s <= t. */
  readonly causal: boolean;
}

/** Row-major float64 data of Q, K and V. */
export interface Float64Inputs {
  /** Queries (B, T, D). */
  readonly q: Float64Array;
  /** Keys (B, S, D). */
  readonly k: Float64Array;
  /** Values (B, S, Dv). */
  readonly v: Float64Array;
}

/** The options every attention entry point accepts. */
export interface BaseAttentionOptions {
  /** Keys each query may attend to, shape (T, S) or (B, T, S); `true` allows. */
  mask?: MaskLike;
  /** Whether query t attends only to keys s <= t, combined with `mask` if both are given. */
  causal?: boolean;
  /** Factor applied to Q K^T; defaults to `1 / sqrt(d_k)`. */
  scale?: number;
}

/** Options that {@linkcode checkAttentionArguments} checks when the caller accepts them. */
export interface CheckedAttentionOptions extends BaseAttentionOptions {
  /** Kernel choice. */
  backend?: AttentionBackend;
  /** Element type to compute in. */
  dtype?: DType;
}

/**
 * Converts and checks the arguments of an attention function.
 *
 * Options are checked first, in the order: options object, unknown names,
 * `backend`, `dtype`, `causal`. Then come the dtype, the tensor conversion,
 * ranks and sizes, `scale`, `mask` and last the finite-value check.
 *
 * @param operation Name of the calling function, used in every message.
 * @param optionNames Every option the caller accepts, in the order its
 *   unknown-option message lists them. If it contains `"dtype"`, the inputs
 *   are converted to the `dtype` option, or else to the dtype shared by the
 *   tensor arguments, and a mix of float32 and float64 tensors is rejected.
 *   Without `"dtype"`, every input is converted to float64, whatever its dtype.
 * @param deferUnmaskedFinite Whether to skip the finite-value check when there
 *   is no mask and `causal` is off. The caller must then run
 *   {@linkcode requireFiniteInputs} before it computes anything.
 * @returns The inputs converted to the dtype computed in, with the sizes,
 *   scale and mask. A tensor that already has that dtype is returned as is.
 * @throws {TypeError} If an argument is not a tensor or nested numbers, an option is
 *   unknown or invalid, or the tensors mix float32 and float64 where the caller
 *   accepts the `dtype` option but it is not given.
 * @throws {ShapeError} If a rank is not 2 or 3, ranks differ, an axis has length 0,
 *   batch sizes or d_k differ, key and value lengths differ, or the mask shape is wrong.
 * @throws {RangeError} If `scale` is not finite, or Q, K or V contains NaN or Infinity
 *   at a position that is not masked out.
 */
export function checkAttentionArguments(
  operation: string,
  query: TensorLike,
  key: TensorLike,
  value: TensorLike,
  options: CheckedAttentionOptions,
  optionNames: readonly string[],
  deferUnmaskedFinite = false,
): AttentionArguments {
  checkOptions(operation, options, optionNames);
  const dtype = !optionNames.includes("dtype") ? "float64" : options.dtype ??
    commonDType(
      operation,
      { query, key, value },
      `Or pass the option dtype: "float64" to convert all three.`,
    );
  const q = toTensor(query, operation, "query", dtype).astype(dtype);
  const k = toTensor(key, operation, "key", dtype).astype(dtype);
  const v = toTensor(value, operation, "value", dtype).astype(dtype);
  const sizes = checkShapes(operation, q, k, v);

  const scale = options.scale ?? 1 / Math.sqrt(sizes.width);
  if (typeof scale !== "number" || !Number.isFinite(scale)) {
    throw new RangeError(
      `${operation}: option \`scale\` is ${
        describeValue(scale)
      }, expected a finite ` +
        `number. Omit it to use 1 / sqrt(d_k) = ${1 / Math.sqrt(sizes.width)}.`,
    );
  }
  const mask = options.mask === undefined
    ? null
    : checkMask(operation, options.mask, sizes);
  const causal = options.causal === true;
  const maskData = mask?.data ?? null;
  const maskStride = mask !== null && mask.shape.length === 3
    ? sizes.queries * sizes.keys
    : 0;

  // Reject NaN and Infinity wherever they could reach the result. Positions
  // that no query attends to are skipped, because no kernel reads them.
  if (mask !== null || causal) {
    const used = findUsedRows(sizes, maskData, maskStride, causal);
    requireFinite(operation, q, "query", used.queries, sizes.queries);
    requireFinite(operation, k, "key", used.keys, sizes.keys);
    requireFinite(operation, v, "value", used.keys, sizes.keys);
  } else if (!deferUnmaskedFinite) {
    requireFinite(operation, q, "query", null, sizes.queries);
    requireFinite(operation, k, "key", null, sizes.keys);
    requireFinite(operation, v, "value", null, sizes.keys);
  }

  return {
    query: q,
    key: k,
    value: v,
    dtype,
    sizes,
    scale,
    maskData,
    maskStride,
    causal,
  };
}

/**
 * Checks that the query, key and value contain only finite numbers. This is
 * the check of unmasked calls that `checkAttentionArguments` can defer.
 *
 * @throws {RangeError} If Q, K or V contains NaN or Infinity, with the same
 *   message as `checkAttentionArguments`.
 */
export function requireFiniteInputs(
  operation: string,
  args: AttentionArguments,
): void {
  const { queries, keys } = args.sizes;
  requireFinite(operation, args.query, "query", null, queries);
  requireFinite(operation, args.key, "key", null, keys);
  requireFinite(operation, args.value, "value", null, keys);
}

/**
 * Returns the data of Q, K and V as float64 arrays, for the kernels that
 * compute in float64 only. Float64 data is returned as is, not copied.
 */
export function float64Inputs(args: AttentionArguments): Float64Inputs {
  return {
    q: castFloatArray(args.query.data, "float64"),
    k: castFloatArray(args.key.data, "float64"),
    v: castFloatArray(args.value.data, "float64"),
  };
}

/** Joins names as "a, b and c". */
function listNames(names: readonly string[]): string {
  if (names.length < 2) return names.join("");
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

function checkOptions(
  operation: string,
  options: CheckedAttentionOptions,
  names: readonly string[],
): void {
  if (
    options === null || typeof options !== "object" || Array.isArray(options)
  ) {
    throw new TypeError(
      `${operation}: \`options\` must be an object such as { causal: true }, ` +
        `received ${describeValue(options)}.`,
    );
  }
  for (const name of Object.keys(options)) {
    if (!names.includes(name)) {
      throw new TypeError(
        `${operation}: unknown option \`${name}\`. Valid options are ${
          listNames(names)
        }; check the spelling.`,
      );
    }
  }
  if (options.backend !== undefined && !BACKENDS.includes(options.backend)) {
    throw new TypeError(
      `${operation}: option \`backend\` is ${
        describeValue(options.backend)
      }, ` +
        `expected "auto", "wasm" or "typescript".`,
    );
  }
  if (options.dtype !== undefined) {
    validateDType(options.dtype, operation, "option `dtype`");
  }
  if (options.causal !== undefined && typeof options.causal !== "boolean") {
    throw new TypeError(
      `${operation}: option \`causal\` is ${describeValue(options.causal)}, ` +
        `expected true or false.`,
    );
  }
}

function checkShapes(
  operation: string,
  q: Tensor,
  k: Tensor,
  v: Tensor,
): AttentionSizes {
  requireRank(q, [2, 3], operation, "query", ["B", "T", "D"]);
  requireRank(k, [2, 3], operation, "key", ["B", "S", "D"]);
  requireRank(v, [2, 3], operation, "value", ["B", "S", "Dv"]);
  if (k.rank !== q.rank || v.rank !== q.rank) {
    throw new ShapeError(
      `${operation}: query, key and value must have the same rank, received ` +
        `query ${formatShape(q.shape)}, key ${formatShape(k.shape)} and ` +
        `value ${formatShape(v.shape)}. Give all three a batch axis, or none.`,
      k.rank !== q.rank ? k.shape : v.shape,
      new Array(q.rank).fill(null),
    );
  }
  requireNonEmpty(q, operation, "query");
  requireNonEmpty(k, operation, "key");
  requireNonEmpty(v, operation, "value");

  const rank = q.rank;
  const [batch, T, D] = rank === 3 ? q.shape : [1, ...q.shape];
  const [keyBatch, S, keyWidth] = rank === 3 ? k.shape : [1, ...k.shape];
  const [valueBatch, valueLength, Dv] = rank === 3 ? v.shape : [1, ...v.shape];
  const lead = rank === 3 ? [batch] : [];

  if (keyBatch !== batch) {
    throw new ShapeError(
      `${operation}: batch sizes differ: query has shape ${
        formatShape(q.shape)
      } (B = ${batch}) but key has shape ${
        formatShape(k.shape)
      } (B = ${keyBatch}). Pass one key sequence per query sequence.`,
      k.shape,
      [batch, null, D],
    );
  }
  if (valueBatch !== batch) {
    throw new ShapeError(
      `${operation}: batch sizes differ: query has shape ${
        formatShape(q.shape)
      } (B = ${batch}) but value has shape ${
        formatShape(v.shape)
      } (B = ${valueBatch}). Pass one value sequence per query sequence.`,
      v.shape,
      [batch, S, null],
    );
  }
  if (keyWidth !== D) {
    throw new ShapeError(
      `${operation}: d_k differs: query has shape ${formatShape(q.shape)} ` +
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
      `${operation}: key and value lengths differ: key has shape ` +
        `${formatShape(k.shape)} (S = ${S}) but value has shape ${
          formatShape(v.shape)
        } (S = ${valueLength}). Each key needs exactly one value; pass as many ` +
        `value rows as key rows.`,
      v.shape,
      [...lead, S, null],
    );
  }
  return { rank, batch, queries: T, keys: S, width: D, valueWidth: Dv };
}

function checkMask(
  operation: string,
  mask: MaskLike,
  sizes: AttentionSizes,
): Mask {
  let checked: Mask;
  try {
    checked = Mask.from(mask);
  } catch (error) {
    throw prefixError(error, `${operation}: option \`mask\`: `);
  }
  const { batch, queries: T, keys: S } = sizes;
  const shape = checked.shape;
  const fits = (shape.length === 2 && shape[0] === T && shape[1] === S) ||
    (shape.length === 3 && shape[0] === batch && shape[1] === T &&
      shape[2] === S);
  if (!fits) {
    const expected = sizes.rank === 3
      ? `(${T}, ${S}) or (${batch}, ${T}, ${S})`
      : `(${T}, ${S})`;
    throw new ShapeError(
      `${operation}: option \`mask\` has shape ${
        formatShape(shape)
      }, expected ` +
        `${expected}: one row per query (T = ${T}) and one column per key (S = ${S}). ` +
        `Build it with causalMask(${T}, ${S}) or Mask.from(rows).`,
      shape,
      [T, S],
    );
  }
  if (sizes.rank === 2 && shape.length === 3) {
    throw new ShapeError(
      `${operation}: option \`mask\` has shape ${
        formatShape(shape)
      } but the inputs ` +
        `have no batch axis. Pass a (${T}, ${S}) mask.`,
      shape,
      [T, S],
    );
  }
  return checked;
}

/** Rows that some allowed (query, key) pair reads, one byte per row. */
interface UsedRows {
  /** (B * T) bytes: 1 where the query attends to at least one key. */
  queries: Uint8Array;
  /** (B * S) bytes: 1 where at least one query attends to the key. */
  keys: Uint8Array;
}

function findUsedRows(
  sizes: AttentionSizes,
  maskData: Uint8Array | null,
  maskStride: number,
  causal: boolean,
): UsedRows {
  const { batch, queries: T, keys: S } = sizes;
  const queries = new Uint8Array(batch * T);
  const keys = new Uint8Array(batch * S);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < T; t++) {
      const maskRow = b * maskStride + t * S;
      const end = causal ? Math.min(S, t + 1) : S;
      for (let s = 0; s < end; s++) {
        if (maskData !== null && maskData[maskRow + s] === 0) continue;
        queries[b * T + t] = 1;
        keys[b * S + s] = 1;
      }
    }
  }
  return { queries, keys };
}

function requireFinite(
  operation: string,
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
        `${operation}: \`${argument}\` contains ${data[i]} at index ${index} ` +
          `(${axis} position ${position}, feature ${d}), which is not masked out. ` +
          `Attention needs finite numbers: replace the value, or mask out that ` +
          `${axis} position.`,
      );
    }
  }
}
