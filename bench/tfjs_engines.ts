/**
 * Runs attention on TensorFlow.js's CPU and WebAssembly backends, for
 * `bench/compare.ts`.
 *
 * Attention is `softmax(Q K^T * scale) V`, built from `tf.matMul` (with K
 * transposed by the `transposeB` flag), `tf.mul`, `tf.softmax` and a second
 * `tf.matMul`. TensorFlow.js computes in float32 only.
 *
 * The WebAssembly backend loads its `.wasm` binary from the npm package in
 * Deno's npm cache, found with `import.meta.resolve`, so nothing is fetched
 * over the network. Deno reports no multithreaded WebAssembly support to
 * TensorFlow.js 4.22.0, so that backend runs its single-threaded SIMD binary.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { fileURLToPath } from "node:url";

/** TensorFlow.js backends that the comparison times. */
export type TfjsBackendName = "cpu" | "wasm";

/** Version of @tensorflow/tfjs-core in use, for example "4.22.0". */
export const TFJS_VERSION: string = tf.version_core;

/** One attention problem placed in a backend's memory, ready to time. */
export interface TfjsAttentionCall {
  /** Computes the output, shape (B, T, D), and copies it out of the backend. */
  run(): Float32Array;
  /** Frees the input tensors. */
  dispose(): void;
}

let wasmPathsSet = false;

/**
 * Makes `backend` the active TensorFlow.js backend, loading it on first use.
 *
 * Production mode is switched on, so TensorFlow.js skips its debug checks
 * and does not print its hint to install tfjs-node.
 *
 * @param backend "cpu" (plain JavaScript kernels) or "wasm" (XNNPACK on WebAssembly).
 * @throws {Error} If the backend fails to initialise, for example when the
 *   `.wasm` binary is missing from the npm package.
 */
export async function activateTfjsBackend(
  backend: TfjsBackendName,
): Promise<void> {
  tf.enableProdMode();
  if (backend === "wasm" && !wasmPathsSet) {
    // Under Deno the backend takes its Node.js path and reads the binary with
    // fs, so a directory path (with its trailing slash) works as the prefix.
    const entry = import.meta.resolve("@tensorflow/tfjs-backend-wasm");
    setWasmPaths(fileURLToPath(new URL("./", entry)));
    wasmPathsSet = true;
  }
  const ready = await tf.setBackend(backend);
  if (!ready || tf.getBackend() !== backend) {
    throw new Error(
      `TensorFlow.js backend "${backend}" failed to initialise (active backend: ` +
        `${tf.getBackend()}). Check that npm:@tensorflow/tfjs-backend-${backend}` +
        `@${TFJS_VERSION} is installed with its dist/*.wasm files.`,
    );
  }
}

/**
 * Uploads Q, K and V to the active backend and returns a call that runs attention on them.
 *
 * @param q Queries, shape (B, T, D), row-major.
 * @param k Keys, shape (B, T, D); the comparison uses S = T.
 * @param v Values, shape (B, T, D).
 * @param shape [B, T, D].
 * @returns The call to time; dispose it before switching backends.
 */
export function prepareTfjsAttention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  shape: readonly [number, number, number],
): TfjsAttentionCall {
  const [B, T, D] = shape;
  const query = tf.tensor3d(q, [B, T, D], "float32");
  const key = tf.tensor3d(k, [B, T, D], "float32");
  const value = tf.tensor3d(v, [B, T, D], "float32");
  const scale = 1 / Math.sqrt(D);
  return {
    run(): Float32Array {
      const output = tf.tidy(() => {
        const scores = tf.mul(tf.matMul(query, key, false, true), scale);
        return tf.matMul(tf.softmax(scores), value);
      });
      // dataSync waits for the backend to finish and copies the result out.
      const data = output.dataSync() as Float32Array;
      output.dispose();
      return data;
    },
    dispose(): void {
      query.dispose();
      key.dispose();
      value.dispose();
    },
  };
}
