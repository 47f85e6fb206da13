/**
 * Streaming (online softmax) attention on the WebAssembly SIMD128 kernel
 * `attention_stream_f64` from `wasm/kernels.ts`.
 *
 * This module keeps its own instance of the kernel module, separate from the
 * one in `wasm_kernels.ts`, so a streaming call never grows or overwrites the
 * memory that views returned by `attentionWasm` point into. Like that one, the
 * instance memory grows to fit the largest call so far and never shrinks.
 *
 * @module
 */

import {
  ATTENTION_RELAXED_WASM_BASE64,
  ATTENTION_WASM_BASE64,
} from "./wasm/attention_wasm.ts";

/** Arguments of one streaming kernel call: one batch entry, or a block of its query rows. */
export interface StreamingSlice {
  /** Queries of the slice, shape (T, D). */
  readonly q: Float64Array;
  /** Keys of the batch entry, shape (S, D). */
  readonly k: Float64Array;
  /** Values of the batch entry, shape (S, Dv). */
  readonly v: Float64Array;
  /** Number of query rows in the slice. */
  readonly queries: number;
  /** S, the number of keys. */
  readonly keys: number;
  /** D, the query and key width. */
  readonly width: number;
  /** Dv, the value width. */
  readonly valueWidth: number;
  /** Factor applied to Q K^T. */
  readonly scale: number;
  /** (T, S) bytes of the slice, 0 marking an excluded key, or null for no mask. */
  readonly mask: Uint8Array | null;
  /** -1 without a causal mask, else the index of the slice's first query row in its sequence. */
  readonly causalOffset: number;
}

interface StreamingExports {
  readonly memory: WebAssembly.Memory;
  readonly heap_base: WebAssembly.Global;
  readonly stream_scratch_elements: WebAssembly.Global;
  readonly attention_stream_f64: (
    q: number,
    k: number,
    v: number,
    out: number,
    scratch: number,
    mask: number,
    T: number,
    S: number,
    D: number,
    Dv: number,
    scale: number,
    causal: number,
  ) => void;
}

const PAGE_BYTES = 65536;
const MAX_MEMORY_BYTES = 65536 * PAGE_BYTES;

let instance: StreamingExports | null | undefined;

function decode(base64: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

/**
 * Returns the kernel exports, instantiating the relaxed-SIMD module where it
 * validates and the SIMD128 one otherwise, or null when neither validates.
 */
function loadStreamingKernel(): StreamingExports | null {
  if (instance !== undefined) return instance;
  instance = null;
  if (typeof WebAssembly !== "object") return instance;
  for (const base64 of [ATTENTION_RELAXED_WASM_BASE64, ATTENTION_WASM_BASE64]) {
    const bytes = decode(base64);
    if (!WebAssembly.validate(bytes)) continue;
    const module = new WebAssembly.Module(bytes);
    instance = new WebAssembly.Instance(module, {})
      .exports as unknown as StreamingExports;
    break;
  }
  return instance;
}

/**
 * Tests whether the streaming WebAssembly kernel can run in this runtime,
 * which needs WebAssembly SIMD128.
 */
export function streamingWasmSupported(): boolean {
  return loadStreamingKernel() !== null;
}

function align16(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

/**
 * Computes the attention output of one slice with the streaming kernel and
 * writes it to `out`, shape (T, Dv).
 *
 * The arguments must already be checked: sizes match the array lengths and
 * every value that an allowed (query, key) pair reads is finite.
 *
 * @throws {Error} If the runtime lacks WebAssembly SIMD128.
 * @throws {RangeError} If the slice needs more than the 4 GiB of wasm32 memory.
 */
export function streamSliceWasm(
  slice: StreamingSlice,
  out: Float64Array,
): void {
  const kernel = loadStreamingKernel();
  if (kernel === null) {
    throw new Error(
      "attentionOutput: this runtime does not support WebAssembly SIMD128, which the " +
        'streaming kernel needs. Pass backend: "typescript" instead.',
    );
  }
  const { queries: T, keys: S, width: D, valueWidth: Dv } = slice;
  const e = 8;
  const qAt = kernel.heap_base.value as number;
  const kAt = qAt + align16(T * D * e);
  const vAt = kAt + align16(S * D * e);
  const outAt = vAt + align16(S * Dv * e);
  const scratchAt = outAt + align16(T * Dv * e);
  const maskAt = scratchAt +
    align16((kernel.stream_scratch_elements.value as number) * e);
  const end = maskAt + (slice.mask === null ? 0 : align16(slice.mask.length));
  if (end > MAX_MEMORY_BYTES) {
    throw new RangeError(
      `attentionOutput: one batch entry needs ${end} bytes of WebAssembly memory, ` +
        `more than the 4 GiB that wasm32 can address. Pass backend: "typescript".`,
    );
  }
  const memory = kernel.memory;
  if (memory.buffer.byteLength < end) {
    memory.grow(Math.ceil((end - memory.buffer.byteLength) / PAGE_BYTES));
  }
  const buffer = memory.buffer as ArrayBuffer;
  const heap = new Float64Array(buffer);
  heap.set(slice.q, qAt / e);
  heap.set(slice.k, kAt / e);
  heap.set(slice.v, vAt / e);
  if (slice.mask !== null) new Uint8Array(buffer).set(slice.mask, maskAt);
  kernel.attention_stream_f64(
    qAt,
    kAt,
    vAt,
    outAt,
    scratchAt,
    slice.mask === null ? 0 : maskAt,
    T,
    S,
    D,
    Dv,
    slice.scale,
    slice.causalOffset,
  );
  out.set(heap.subarray(outAt / e, outAt / e + T * Dv));
}
