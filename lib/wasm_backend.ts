/**
 * Scaled dot-product attention on WebAssembly SIMD128 kernels, in f64 and f32.
 *
 * The kernels and their memory are loaded by `wasm_kernels.ts`. Inputs are
 * copied into that memory and results are copied out, so the returned arrays
 * belong to the caller and stay valid after later calls, unless the caller
 * asks for views (`WasmAttentionOptions.views`). Calls with at least
 * `THREADS_MIN_WORK` query-key pairs split their query rows between the
 * calling thread and worker threads (see `threads.ts`).
 *
 * @module
 */

import { describeValue } from "./errors.ts";
import { checkThreads, getThreads, runJob, shouldSplit } from "./threads.ts";
import {
  loadKernels,
  loadSharedKernels,
  MAX_MEMORY_BYTES,
  reserveMemory,
} from "./wasm_kernels.ts";

export {
  selectWasmKernels,
  type WasmKernelVariant,
  wasmSimdSupported,
} from "./wasm_kernels.ts";

/** Results of one attention call; every array is row-major. */
export interface WasmAttentionResult<A extends Float64Array | Float32Array> {
  /** Attention output, shape (B, T, Dv). */
  readonly output: A;
  /** Softmax weights, shape (B, T, S); masked keys have weight 0. */
  readonly weights: A;
  /**
   * Scaled scores Q K^T * scale, shape (B, T, S), or `null` unless requested.
   * Masked positions hold -Infinity.
   */
  readonly scores: A | null;
}

/** Shared options of `attentionWasm` and `attentionWasmF32`. */
export interface WasmAttentionOptions {
  /**
   * Keys each query may attend to, as bytes with 0 marking an excluded key:
   * shape (T, S), or (B, T, S) when `maskBatched` is true. `null` attends to every key.
   */
  readonly mask?: Uint8Array | null;
  /** Whether `mask` has one (T, S) matrix per batch entry. Default false. */
  readonly maskBatched?: boolean;
  /** Whether to return the scaled scores as well. Default false, which saves one (B, T, S) copy. */
  readonly wantScores?: boolean;
  /**
   * Whether to return views into the kernels' memory instead of new arrays.
   * Default false. Views skip allocating and copying the results. For 32 MB
   * of weights, shape (1, 2048, 2048), that copy took about 12 ms of CPU
   * time next to 45 ms for the kernels on one thread, on a 2-core AMD EPYC
   * with Deno 2.9. A later call of `attentionWasm` or
   * `attentionWasmF32` may overwrite a view. Calls split across threads and
   * calls on one thread use two different memories, and a view of the
   * unshared one is detached when a later call grows that memory.
   */
  readonly views?: boolean;
  /**
   * Maximum number of threads, the calling one included. Default and upper
   * limit `getThreads()`. Calls below `THREADS_MIN_WORK` query-key pairs
   * (B * T * S) use one.
   */
  readonly threads?: number;
}

function checkSize(operation: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(
      `${operation}: \`${name}\` must be a non-negative integer, received ${value}. ` +
        `Pass the size of that axis (B batch, T queries, S keys, D model width, Dv value width).`,
    );
  }
}

function checkType(
  operation: string,
  name: string,
  array: unknown,
  ArrayType: FloatArrayConstructor,
): void {
  if (!(array instanceof ArrayType)) {
    throw new TypeError(
      `${operation}: \`${name}\` must be a ${ArrayType.name}, received ${
        describeValue(array)
      }. ` +
        `Convert it with ${ArrayType.name}.from().`,
    );
  }
}

function checkLength(
  operation: string,
  name: string,
  actual: number,
  shape: string,
  expected: number,
): void {
  if (actual !== expected) {
    throw new RangeError(
      `${operation}: \`${name}\` must have ${shape} = ${expected} elements, received ${actual}. ` +
        `Pass a row-major array of that shape, or fix the sizes.`,
    );
  }
}

function align16(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

type FloatArray = Float64Array | Float32Array;
type FloatArrayConstructor = Float64ArrayConstructor | Float32ArrayConstructor;

function runAttention<A extends FloatArray>(
  operation: string,
  ArrayType: FloatArrayConstructor,
  kernelName: "attention_f64" | "attention_f32",
  q: A,
  k: A,
  v: A,
  B: number,
  T: number,
  S: number,
  D: number,
  Dv: number,
  scale: number,
  options: WasmAttentionOptions,
  checkFinite: (() => void) | null,
): WasmAttentionResult<A> {
  checkSize(operation, "B", B);
  checkSize(operation, "T", T);
  checkSize(operation, "S", S);
  checkSize(operation, "D", D);
  checkSize(operation, "Dv", Dv);
  if (typeof scale !== "number" || !Number.isFinite(scale)) {
    throw new RangeError(
      `${operation}: \`scale\` must be a finite number, received ${scale}. Pass 1 / Math.sqrt(D) for standard attention.`,
    );
  }
  checkType(operation, "q", q, ArrayType);
  checkType(operation, "k", k, ArrayType);
  checkType(operation, "v", v, ArrayType);
  checkLength(operation, "q", q.length, "B * T * D", B * T * D);
  checkLength(operation, "k", k.length, "B * S * D", B * S * D);
  checkLength(operation, "v", v.length, "B * S * Dv", B * S * Dv);
  const mask = options.mask ?? null;
  const maskBatched = options.maskBatched ?? false;
  const wantScores = options.wantScores ?? false;
  const views = options.views ?? false;
  const threads = options.threads === undefined
    ? getThreads()
    : checkThreads(operation, options.threads);
  if (mask !== null) {
    if (!(mask instanceof Uint8Array)) {
      throw new TypeError(
        `${operation}: \`mask\` must be a Uint8Array or null, received ${
          describeValue(mask)
        }. ` +
          `Convert it with Uint8Array.from().`,
      );
    }
    if (maskBatched) {
      checkLength(operation, "mask", mask.length, "B * T * S", B * T * S);
    } else checkLength(operation, "mask", mask.length, "T * S", T * S);
  }

  // Calls that the worker threads share run on the kernels in shared memory;
  // the rest keep to the unshared ones, which copy their data faster.
  const split = shouldSplit(B * T * S, threads);
  const { exports } = split ? loadSharedKernels()! : loadKernels();
  const e = ArrayType.BYTES_PER_ELEMENT;
  // heap_base is above 0, so a zero pointer can mean "no mask".
  const qAt = exports.heap_base.value as number;
  const kAt = qAt + align16(B * T * D * e);
  const vAt = kAt + align16(B * S * D * e);
  const outAt = vAt + align16(B * S * Dv * e);
  const weightsAt = outAt + align16(B * T * Dv * e);
  const scoresAt = weightsAt + align16(B * T * S * e);
  const maskAt = scoresAt + (wantScores ? align16(B * T * S * e) : 0);
  const end = maskAt + (mask === null ? 0 : align16(mask.length));
  if (end > MAX_MEMORY_BYTES) {
    // The caller's finite-value check comes before any wasm work in every
    // other path, so a NaN or Infinity outranks this error here too.
    checkFinite?.();
    throw new RangeError(
      `${operation}: inputs and outputs need ${end} bytes, more than the 4 GiB that WebAssembly memory can address. ` +
        `Split the batch into smaller calls.`,
    );
  }

  let buffer: ArrayBuffer;
  try {
    buffer = reserveMemory(operation, exports.memory, end);
  } catch (error) {
    checkFinite?.();
    throw error;
  }
  const heap = new ArrayType(buffer);
  heap.set(q, qAt / e);
  heap.set(k, kAt / e);
  heap.set(v, vAt / e);
  if (mask !== null) new Uint8Array(buffer).set(mask, maskAt);
  if (checkFinite !== null) {
    const allFinite = kernelName === "attention_f64"
      ? exports.all_finite_f64
      : exports.all_finite_f32;
    // The scan in wasm only detects a non-finite value; the JavaScript check
    // finds it again and raises its error.
    if (
      allFinite(qAt, q.length) === 0 || allFinite(kAt, k.length) === 0 ||
      allFinite(vAt, v.length) === 0
    ) {
      checkFinite();
    }
  }

  runJob(exports, {
    f32: kernelName === "attention_f32" ? 1 : 0,
    qAt,
    kAt,
    vAt,
    outAt,
    weightsAt,
    scoresAt: wantScores ? scoresAt : 0,
    maskAt: mask === null ? 0 : maskAt,
    maskBatched: maskBatched ? 1 : 0,
    B,
    T,
    S,
    D,
    Dv,
    scale,
  }, split ? threads : 1);

  // A new array filled by set() beat slice() for the f32 results of
  // (2, 10, 64) attention, about 6.5 against 7.4 us per call, and tied for
  // f64 (Deno 2.9, 2-core x86-64 VM).
  const result = (at: number, length: number): A => {
    const view = heap.subarray(at / e, at / e + length) as A;
    if (views) return view;
    const copy = new ArrayType(length) as A;
    copy.set(view);
    return copy;
  };
  return {
    output: result(outAt, B * T * Dv),
    weights: result(weightsAt, B * T * S),
    scores: wantScores ? result(scoresAt, B * T * S) : null,
  };
}

/**
 * Runs `attentionWasm` or `attentionWasmF32`, picked by the type of `q`, and
 * checks that q, k and v are finite with a SIMD scan of their copies in wasm
 * memory, which is cheaper than a scan in JavaScript.
 *
 * @param checkFinite Check that throws when q, k or v contains NaN or Infinity,
 *   and returns otherwise. It runs only when the wasm scan finds such a value,
 *   or before a memory error, so the caller gets the same error as from
 *   running it first.
 * @returns The result of `attentionWasm` or `attentionWasmF32`.
 */
export function attentionWasmCheckingFinite<
  A extends Float64Array | Float32Array,
>(
  q: A,
  k: A,
  v: A,
  B: number,
  T: number,
  S: number,
  D: number,
  Dv: number,
  scale: number,
  options: WasmAttentionOptions,
  checkFinite: () => void,
): WasmAttentionResult<A> {
  const f32 = q instanceof Float32Array;
  return runAttention(
    f32 ? "attentionWasmF32" : "attentionWasm",
    f32 ? Float32Array : Float64Array,
    f32 ? "attention_f32" : "attention_f64",
    q,
    k,
    v,
    B,
    T,
    S,
    D,
    Dv,
    scale,
    options,
    checkFinite,
  );
}

/**
 * Computes scaled dot-product attention in f64 with WebAssembly SIMD128 kernels.
 *
 * output = softmax(Q K^T * scale) V per batch entry, where the softmax runs
 * over the S keys and masked keys get weight 0. A query whose keys are all
 * masked gets zero weights and a zero output row. V is never read at a masked
 * key, so NaN stored there does not reach the output.
 *
 * @param q Queries, shape (B, T, D), row-major.
 * @param k Keys, shape (B, S, D).
 * @param v Values, shape (B, S, Dv).
 * @param B Batch size.
 * @param T Number of queries per batch entry.
 * @param S Number of keys per batch entry.
 * @param D Query and key width.
 * @param Dv Value width.
 * @param scale Factor applied to Q K^T, usually 1 / sqrt(D).
 * @param options Optional mask, shape (T, S) or (B, T, S), whether to return the scores
 *   or views, and the maximum number of threads.
 * @returns New arrays: output (B, T, Dv), weights (B, T, S) and scores (B, T, S) or null.
 * @throws {RangeError} If a size is not a non-negative integer, an array length does not
 *   match its shape, `scale` is not finite, `threads` is not a positive integer, or the
 *   call needs more wasm memory than the runtime grants (at most 4 GiB).
 * @throws {TypeError} If q, k or v is not a Float64Array, the mask is not a Uint8Array, or
 *   `threads` is not a number.
 * @throws {Error} If the runtime lacks WebAssembly SIMD128 (see `wasmSimdSupported`), or a
 *   worker thread failed while computing its rows.
 *
 * @example Usage
 * ```ts
 * import { attentionWasm } from "attention";
 * import assert from "node:assert/strict";
 *
 * // One query that matches the second of two keys far better than the first.
 * const q = new Float64Array([0, 10]);
 * const k = new Float64Array([1, 0, 0, 1]);
 * const v = new Float64Array([1, 2, 3, 4]);
 * const { output, weights } = attentionWasm(q, k, v, 1, 1, 2, 2, 2, 1);
 * assert.ok(weights[1] > 0.9999);
 * assert.ok(Math.abs(output[0] - 3) < 1e-3);
 * ```
 */
export function attentionWasm(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  B: number,
  T: number,
  S: number,
  D: number,
  Dv: number,
  scale: number,
  options: WasmAttentionOptions = {},
): WasmAttentionResult<Float64Array> {
  return runAttention(
    "attentionWasm",
    Float64Array,
    "attention_f64",
    q,
    k,
    v,
    B,
    T,
    S,
    D,
    Dv,
    scale,
    options,
    null,
  );
}

/**
 * Computes scaled dot-product attention in f32 with WebAssembly SIMD128 kernels.
 *
 * Same contract as `attentionWasm`, with every input, intermediate and result
 * in 32-bit floats, and `scale` rounded to f32. The tests check agreement
 * with an f64 computation on the same inputs to 1e-5 relative for scores of
 * order 1; larger scores amplify f32 rounding in the exponent.
 *
 * @param q Queries, shape (B, T, D), row-major.
 * @param k Keys, shape (B, S, D).
 * @param v Values, shape (B, S, Dv).
 * @param B Batch size.
 * @param T Number of queries per batch entry.
 * @param S Number of keys per batch entry.
 * @param D Query and key width.
 * @param Dv Value width.
 * @param scale Factor applied to Q K^T, usually 1 / sqrt(D).
 * @param options Optional mask, shape (T, S) or (B, T, S), whether to return the scores
 *   or views, and the maximum number of threads.
 * @returns New arrays: output (B, T, Dv), weights (B, T, S) and scores (B, T, S) or null.
 * @throws {RangeError} If a size is not a non-negative integer, an array length does not
 *   match its shape, `scale` is not finite, `threads` is not a positive integer, or the
 *   call needs more wasm memory than the runtime grants (at most 4 GiB).
 * @throws {TypeError} If q, k or v is not a Float32Array, the mask is not a Uint8Array, or
 *   `threads` is not a number.
 * @throws {Error} If the runtime lacks WebAssembly SIMD128 (see `wasmSimdSupported`), or a
 *   worker thread failed while computing its rows.
 *
 * @example Usage
 * ```ts
 * import { attentionWasmF32 } from "attention";
 * import assert from "node:assert/strict";
 *
 * // Two queries, two keys; the mask hides the second key from the first query.
 * const q = new Float32Array([1, 0, 0, 1]);
 * const k = new Float32Array([1, 0, 0, 1]);
 * const v = new Float32Array([10, 20]);
 * const mask = new Uint8Array([1, 0, 1, 1]);
 * const { output, weights } = attentionWasmF32(q, k, v, 1, 2, 2, 2, 1, 1, { mask });
 * assert.equal(weights[0], 1);
 * assert.equal(weights[1], 0);
 * assert.equal(output[0], 10);
 * ```
 */
export function attentionWasmF32(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  B: number,
  T: number,
  S: number,
  D: number,
  Dv: number,
  scale: number,
  options: WasmAttentionOptions = {},
): WasmAttentionResult<Float32Array> {
  return runAttention(
    "attentionWasmF32",
    Float32Array,
    "attention_f32",
    q,
    k,
    v,
    B,
    T,
    S,
    D,
    Dv,
    scale,
    options,
    null,
  );
}
