/**
 * Loads the WebAssembly SIMD128 attention kernels and owns their memory.
 *
 * The kernels come from `wasm/kernels.ts` and are embedded as base64 by
 * `wasm/build.ts`, so loading them reads no file. The library keeps up to
 * two module instances (see `selectWasmKernels` for the two variants), each
 * created by the first call that needs it. Calls on the calling thread alone
 * use one with a memory of its own. Calls split across worker threads use
 * one on a shared memory, which the workers instantiate the same module on
 * (see `threads.ts`). That one exists only where the runtime can share
 * WebAssembly memory. Each memory grows to fit the largest call so far that used it, and
 * never shrinks.
 *
 * @module
 */

import {
  ATTENTION_RELAXED_SHARED_WASM_BASE64,
  ATTENTION_RELAXED_WASM_BASE64,
  ATTENTION_SHARED_WASM_BASE64,
  ATTENTION_WASM_BASE64,
} from "./wasm/attention_wasm.ts";
import type { KernelFunction } from "./wasm_rows.ts";

/** The exports of one kernel module instance that the library calls. */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  /** First byte of memory that the module does not use for its own data. */
  readonly heap_base: WebAssembly.Global;
  readonly attention_f64: KernelFunction;
  readonly attention_f32: KernelFunction;
  /** Returns 1 when the `n` elements at byte address `ptr` are all finite, else 0. */
  readonly all_finite_f64: (ptr: number, n: number) => number;
  /** f32 version of `all_finite_f64`. */
  readonly all_finite_f32: (ptr: number, n: number) => number;
}

/** The loaded kernels: which variant, its compiled module and its instance. */
export interface LoadedKernels {
  readonly variant: WasmKernelVariant;
  /** The compiled module; worker threads instantiate it on `exports.memory`. */
  readonly module: WebAssembly.Module;
  readonly exports: KernelExports;
}

/** Bytes of one WebAssembly memory page. */
export const PAGE_BYTES = 65536;
/** Largest memory a wasm32 module can address: 65536 pages of 64 KiB. */
export const MAX_MEMORY_BYTES = 65536 * PAGE_BYTES;

/** Kernel module variants: `relaxed-simd` adds fused multiply-add to `simd128`. */
export type WasmKernelVariant = "simd128" | "relaxed-simd";

const KERNEL_BASE64: Record<WasmKernelVariant, string> = {
  "simd128": ATTENTION_WASM_BASE64,
  "relaxed-simd": ATTENTION_RELAXED_WASM_BASE64,
};

const SHARED_KERNEL_BASE64: Record<WasmKernelVariant, string> = {
  "simd128": ATTENTION_SHARED_WASM_BASE64,
  "relaxed-simd": ATTENTION_RELAXED_SHARED_WASM_BASE64,
};

const binaries = new Map<string, Uint8Array<ArrayBuffer>>();
const supported = new Map<WasmKernelVariant, boolean>();
let preferred: WasmKernelVariant | "auto" = "auto";
let kernels: LoadedKernels | null = null;
let sharedKernels: LoadedKernels | null = null;
let sharedMemory: boolean | undefined;

function decode(base64: string): Uint8Array<ArrayBuffer> {
  let bytes = binaries.get(base64);
  if (bytes === undefined) {
    bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    binaries.set(base64, bytes);
  }
  return bytes;
}

function variantSupported(variant: WasmKernelVariant): boolean {
  let result = supported.get(variant);
  if (result === undefined) {
    result = typeof WebAssembly === "object" &&
      WebAssembly.validate(decode(KERNEL_BASE64[variant]));
    supported.set(variant, result);
  }
  return result;
}

/**
 * Tests whether this runtime can create a shared WebAssembly memory, which
 * Deno and Node.js can and browsers can only on cross-origin isolated pages.
 */
function sharedMemorySupported(): boolean {
  if (sharedMemory === undefined) {
    try {
      new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
      sharedMemory = typeof SharedArrayBuffer === "function";
    } catch {
      sharedMemory = false;
    }
  }
  return sharedMemory;
}

/**
 * Tests whether this runtime supports WebAssembly SIMD128, which the kernels need.
 *
 * @returns True when the SIMD128 kernel module validates.
 *
 * @example Usage
 * ```ts
 * import { wasmSimdSupported } from "attention";
 * import assert from "node:assert/strict";
 *
 * assert.equal(typeof wasmSimdSupported(), "boolean");
 * ```
 */
export function wasmSimdSupported(): boolean {
  return variantSupported("simd128");
}

/**
 * Chooses the kernel module that later calls use, and loads it.
 *
 * `"auto"`, the default, takes `relaxed-simd` where the runtime validates it
 * and `simd128` otherwise. Changing the choice drops the current instances
 * and their memories, and the next call that would use worker threads ends
 * the old ones and starts new ones on the new memory. Repeating a choice
 * does nothing. The two give results that differ only by rounding (fused
 * multiply-add rounds once), so tests and benchmarks force each one.
 *
 * @param variant Variant to use, or `"auto"`.
 * @returns The variant now in use.
 * @throws {Error} If the runtime does not support the requested variant.
 *
 * @example Usage
 * ```ts
 * import { selectWasmKernels } from "attention";
 * import assert from "node:assert/strict";
 *
 * assert.equal(selectWasmKernels("simd128"), "simd128");
 * selectWasmKernels("auto");
 * ```
 */
export function selectWasmKernels(
  variant: WasmKernelVariant | "auto",
): WasmKernelVariant {
  if (
    variant !== "auto" && variant !== "simd128" && variant !== "relaxed-simd"
  ) {
    throw new RangeError(
      `selectWasmKernels: \`variant\` must be "auto", "simd128" or "relaxed-simd", received ${
        String(variant)
      }.`,
    );
  }
  // Keep the instance, and with it V8's optimised code, when nothing changes.
  if (variant !== preferred) {
    preferred = variant;
    kernels = null;
    sharedKernels = null;
  }
  return loadKernels().variant;
}

/** Returns the variant that `"auto"` or the caller's choice selects, or throws if it is unsupported. */
function chosenVariant(): WasmKernelVariant {
  const variant = preferred === "auto"
    ? (variantSupported("relaxed-simd") ? "relaxed-simd" : "simd128")
    : preferred;
  if (!variantSupported(variant)) {
    throw new Error(
      `attentionWasm: this runtime does not support WebAssembly ${
        variant === "simd128" ? "SIMD128" : "relaxed SIMD"
      }, ` +
        `which the ${variant} kernels need. ` +
        (variant === "simd128"
          ? "Use the TypeScript attention instead, or a runtime with SIMD128 (Deno 1.9+, Node 16.4+)."
          : 'Call selectWasmKernels("auto") to use the SIMD128 kernels.'),
    );
  }
  return variant;
}

/** Compiles the preferred variant from one of the base64 tables and instantiates it. */
function instantiate(
  base64: Record<WasmKernelVariant, string>,
  imports: WebAssembly.Imports,
): LoadedKernels {
  const variant = chosenVariant();
  const module = new WebAssembly.Module(decode(base64[variant]));
  const instance = new WebAssembly.Instance(module, imports);
  return {
    variant,
    module,
    exports: instance.exports as unknown as KernelExports,
  };
}

/**
 * Returns the kernels on a memory of their own, which calls on the calling
 * thread alone use, instantiating the preferred variant on first use.
 *
 * @throws {Error} If the runtime does not support the variant.
 */
export function loadKernels(): LoadedKernels {
  kernels ??= instantiate(KERNEL_BASE64, {});
  return kernels;
}

/**
 * Returns the kernels on a shared memory, which calls split across worker
 * threads use, or null where the runtime cannot share WebAssembly memory.
 *
 * Calls on one thread keep to `loadKernels`, because V8 copies into and out
 * of a SharedArrayBuffer with relaxed atomic copies, which added about 0.5
 * us to a (2, 10, 64) call (Deno 2.9.6, 2-core AMD EPYC).
 *
 * @throws {Error} If the runtime does not support the variant.
 */
export function loadSharedKernels(): LoadedKernels | null {
  if (sharedKernels !== null) return sharedKernels;
  if (!sharedMemorySupported()) return null;
  const memory = new WebAssembly.Memory({
    initial: 1,
    maximum: MAX_MEMORY_BYTES / PAGE_BYTES,
    shared: true,
  });
  sharedKernels = instantiate(SHARED_KERNEL_BASE64, { env: { memory } });
  return sharedKernels;
}

/**
 * Grows the kernels' memory to at least `bytes`, and returns its buffer.
 *
 * @throws {RangeError} If the runtime refuses to grow the memory.
 */
export function reserveMemory(
  operation: string,
  memory: WebAssembly.Memory,
  bytes: number,
): ArrayBuffer {
  const buffer = memory.buffer;
  if (buffer.byteLength < bytes) {
    try {
      memory.grow(Math.ceil((bytes - buffer.byteLength) / PAGE_BYTES));
    } catch (error) {
      throw new RangeError(
        `${operation}: growing WebAssembly memory to ${bytes} bytes failed (${
          String(error)
        }). ` +
          `Split the batch into smaller calls.`,
      );
    }
  }
  // A shared memory's buffer is a SharedArrayBuffer. Typed arrays read and
  // write it the same way, and the library never transfers or detaches it.
  return (buffer.byteLength < bytes ? memory.buffer : buffer) as ArrayBuffer;
}
