/**
 * Loads the WebAssembly SIMD128 attention kernels and owns their memory.
 *
 * The kernels come from `wasm/kernels.ts` and are embedded as base64 by
 * `wasm/build.ts`, so loading them reads no file. One module instance is
 * created on first use (see `selectWasmKernels` for the two variants), and
 * its memory grows to fit the largest call so far and never shrinks.
 *
 * Where the runtime can share WebAssembly memory between threads, the
 * instance imports a shared memory, so that worker threads can instantiate
 * the same module on it (see `threads.ts`). Elsewhere the instance defines
 * its own memory.
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
  /** Whether `exports.memory` is shared, so worker threads can use it. */
  readonly shared: boolean;
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
 * and `simd128` otherwise. Changing the choice drops the current instance and
 * its memory, and the next call that would use worker threads ends the old
 * ones and starts new ones on the new memory. Repeating a choice does nothing. The two give results that differ only by rounding (fused
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
  }
  return loadKernels().variant;
}

/**
 * Returns the loaded kernels, instantiating the preferred variant on first use.
 *
 * @throws {Error} If the runtime does not support the variant.
 */
export function loadKernels(): LoadedKernels {
  if (kernels !== null) return kernels;
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
  const shared = sharedMemorySupported();
  const module = new WebAssembly.Module(
    decode((shared ? SHARED_KERNEL_BASE64 : KERNEL_BASE64)[variant]),
  );
  const imports: WebAssembly.Imports = shared
    ? {
      env: {
        memory: new WebAssembly.Memory({
          initial: 1,
          maximum: MAX_MEMORY_BYTES / PAGE_BYTES,
          shared: true,
        }),
      },
    }
    : {};
  const instance = new WebAssembly.Instance(module, imports);
  kernels = {
    variant,
    module,
    exports: instance.exports as unknown as KernelExports,
    shared,
  };
  return kernels;
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
  if (memory.buffer.byteLength < bytes) {
    try {
      memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE_BYTES));
    } catch (error) {
      throw new RangeError(
        `${operation}: growing WebAssembly memory to ${bytes} bytes failed (${
          String(error)
        }). ` +
          `Split the batch into smaller calls.`,
      );
    }
  }
  // A shared memory's buffer is a SharedArrayBuffer; typed arrays read and
  // write it the same way, and the library never transfers or detaches it.
  return memory.buffer as ArrayBuffer;
}
