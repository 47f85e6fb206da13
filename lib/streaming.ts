/**
 * Attention output without the (T, S) weights: the online softmax
 * recurrence processes the keys in blocks and keeps only a running max, a
 * running sum and an output row per query.
 *
 * @module
 */

import {
  type AttentionArguments,
  type AttentionBackend,
  type BaseAttentionOptions,
  checkAttentionArguments,
  float64Inputs,
} from "./attention_args.ts";
import { scaledDotProductAttention } from "./attention.ts";
import { describeValue } from "./errors.ts";
import { Tensor, type TensorLike } from "./tensor.ts";
import { streamingWasmSupported, streamSliceWasm } from "./wasm_streaming.ts";

const OPERATION = "attentionOutput";

/** Options of {@linkcode attentionOutput}. */
export interface StreamingAttentionOptions extends BaseAttentionOptions {
  /**
   * Whether to stream over key blocks: `true` always, `false` never (the
   * output of {@linkcode scaledDotProductAttention}), `"auto"` (the default)
   * when the (B, T, S) weights would take more than
   * {@linkcode STREAMING_AUTO_MIN_BYTES}.
   */
  streaming?: boolean | "auto";
  /**
   * Kernel: `"wasm"` (WebAssembly SIMD), `"typescript"`, or `"auto"` (the
   * default: WebAssembly where the runtime supports SIMD).
   */
  backend?: AttentionBackend;
}

const OPTION_NAMES = ["mask", "causal", "scale", "streaming", "backend"];

/**
 * Size of the (B, T, S) f64 weights, in bytes, above which `streaming: "auto"`
 * streams: 16 MiB, that is B * T * S > 2^21.
 *
 * Measured with `deno run -A bench/parallel_bench.ts` (minimum of at least 15
 * calls) on a 2-core AMD EPYC (Zen 4), Deno 2.9, with other processes
 * loading the cores: at (4, 512, 64), 8 MiB of weights, the materialising
 * WebAssembly path took 13.9 ms and streaming 15.8 ms; at (1, 2048, 64),
 * 32 MiB, materialising took 71 ms and streaming 63 ms. At T = S = 8192
 * (512 MiB) streaming took 1.2 s against 4.2 s (`bench/memory.ts`). The
 * crossover lies between 8 and 32 MiB, so the threshold sits between them.
 */
export const STREAMING_AUTO_MIN_BYTES = 16 * 2 ** 20;

/** Query rows per block of the TypeScript streaming kernel. */
const QUERY_BLOCK = 16;
/** Keys per block of the TypeScript streaming kernel. */
const KEY_BLOCK = 128;

/**
 * Computes the attention output `softmax(Q K^T * scale) V` without
 * materialising the (T, S) weights.
 *
 * The keys are processed in blocks. Each query keeps a running max m, a
 * running sum l of `exp(s - m)` and an accumulator row acc of
 * `exp(s - m) v` over the keys seen so far. For a new block with scores s_j,
 * m' = max(m, max_j s_j), both l and acc are multiplied by `exp(m - m')`
 * when the max grows, then `exp(s_j - m')` and `exp(s_j - m') v_j` are added.
 * The output row is acc / l. Extra memory is one block of scores plus the
 * output, O(T * Dv + block * rows), independent of S.
 *
 * Masking, fully masked rows (zero output, never NaN), unread values at masked
 * positions and input checks match {@linkcode scaledDotProductAttention},
 * with this function's name in the messages.
 *
 * @param query Queries Q, shape (B, T, D) or (T, D).
 * @param key Keys K, shape (B, S, D) or (S, D).
 * @param value Values V, shape (B, S, Dv) or (S, Dv).
 * @param options `mask`, `causal`, `scale`, `streaming` and `backend`.
 * @returns The output, shape (B, T, Dv), or (T, Dv) for rank-2 inputs.
 * @throws {ShapeError} If a rank is not 2 or 3, ranks differ, an axis has length 0,
 *   batch sizes or d_k differ, key and value lengths differ, or the mask shape is wrong.
 * @throws {TypeError} If an argument is not a tensor or nested numbers, or an option is
 *   unknown or of the wrong type.
 * @throws {RangeError} If Q, K or V contains NaN or Infinity at a position that is not
 *   masked out, or `scale` is not a finite number.
 *
 * @example Usage
 * ```ts
 * import { attentionOutput, scaledDotProductAttention } from "attention";
 * import assert from "node:assert/strict";
 *
 * const q = [[[1, 0], [0, 1]]]; // (1, 2, 2)
 * const k = [[[1, 0], [0, 1], [1, 1]]]; // (1, 3, 2)
 * const v = [[[1], [2], [3]]]; // (1, 3, 1)
 * const streamed = attentionOutput(q, k, v, { streaming: true });
 * const { output } = scaledDotProductAttention(q, k, v);
 * assert.deepEqual(streamed.shape, [1, 2, 1]);
 * assert.ok(Math.abs(streamed.get(0, 1, 0) - output.get(0, 1, 0)) < 1e-12);
 * ```
 */
export function attentionOutput(
  query: TensorLike,
  key: TensorLike,
  value: TensorLike,
  options: StreamingAttentionOptions = {},
): Tensor {
  const args = checkAttentionArguments(
    OPERATION,
    query,
    key,
    value,
    options,
    OPTION_NAMES,
  );
  const streaming = options.streaming ?? "auto";
  if (streaming !== true && streaming !== false && streaming !== "auto") {
    throw new TypeError(
      `${OPERATION}: option \`streaming\` is ${describeValue(streaming)}, ` +
        `expected true, false or "auto".`,
    );
  }
  const backend = options.backend ?? "auto";

  const { batch, queries: T, keys: S, valueWidth: Dv, rank } = args.sizes;
  const shape = rank === 3 ? [batch, T, Dv] : [T, Dv];
  if (!chooseStreaming(streaming, batch, T, S)) {
    const { mask, causal, scale } = options;
    const passed = { mask, causal, scale, backend };
    const result = scaledDotProductAttention(
      args.query,
      args.key,
      args.value,
      passed,
    );
    return result.output;
  }

  const output = new Float64Array(batch * T * Dv);
  const useWasm = backend === "wasm" ||
    (backend === "auto" && streamingWasmSupported());
  if (useWasm) streamWasm(args, output);
  else streamTypeScript(args, output);
  return new Tensor(output, shape);
}

/**
 * Decides whether `attentionOutput` streams, by the rule documented at
 * {@linkcode STREAMING_AUTO_MIN_BYTES}.
 *
 * @param streaming The `streaming` option.
 * @returns True when the call streams.
 *
 * @example Usage
 * ```ts
 * import { chooseStreaming } from "attention";
 * import assert from "node:assert/strict";
 *
 * assert.equal(chooseStreaming("auto", 4, 512, 512), false); // 8 MiB of weights
 * assert.equal(chooseStreaming("auto", 1, 2048, 2048), true); // 32 MiB
 * assert.equal(chooseStreaming(true, 1, 2, 2), true);
 * ```
 */
export function chooseStreaming(
  streaming: boolean | "auto",
  batch: number,
  queries: number,
  keys: number,
): boolean {
  if (streaming !== "auto") return streaming;
  return batch * queries * keys * 8 > STREAMING_AUTO_MIN_BYTES;
}

function streamWasm(args: AttentionArguments, output: Float64Array): void {
  const { q, k, v } = float64Inputs(args);
  const { batch, queries: T, keys: S, width: D, valueWidth: Dv } = args.sizes;
  for (let b = 0; b < batch; b++) {
    const maskStart = b * args.maskStride;
    streamSliceWasm({
      q: q.subarray(b * T * D, (b + 1) * T * D),
      k: k.subarray(b * S * D, (b + 1) * S * D),
      v: v.subarray(b * S * Dv, (b + 1) * S * Dv),
      queries: T,
      keys: S,
      width: D,
      valueWidth: Dv,
      scale: args.scale,
      mask: args.maskData === null
        ? null
        : args.maskData.subarray(maskStart, maskStart + T * S),
      causalOffset: args.causal ? 0 : -1,
    }, output.subarray(b * T * Dv, (b + 1) * T * Dv));
  }
}

/**
 * Runs the online softmax recurrence in TypeScript, in blocks of QUERY_BLOCK
 * queries by KEY_BLOCK keys, so one block of K and V rows is reused by every
 * query of the block while it is in cache.
 */
function streamTypeScript(
  args: AttentionArguments,
  output: Float64Array,
): void {
  const { q, k, v } = float64Inputs(args);
  const { scale, maskData, maskStride, causal } = args;
  const { batch, queries: T, keys: S, width: D, valueWidth: Dv } = args.sizes;
  const scores = new Float64Array(KEY_BLOCK);
  const runningMax = new Float64Array(QUERY_BLOCK);
  const runningSum = new Float64Array(QUERY_BLOCK);

  for (let b = 0; b < batch; b++) {
    for (let t0 = 0; t0 < T; t0 += QUERY_BLOCK) {
      const rows = Math.min(QUERY_BLOCK, T - t0);
      runningMax.fill(-Infinity);
      runningSum.fill(0);
      const keyEnd = causal ? Math.min(S, t0 + rows) : S;

      for (let s0 = 0; s0 < keyEnd; s0 += KEY_BLOCK) {
        const n = Math.min(KEY_BLOCK, keyEnd - s0);
        for (let r = 0; r < rows; r++) {
          const t = t0 + r;
          // Causal: query t attends to keys s <= t, the first t - s0 + 1 of this block.
          const allowed = causal ? Math.min(n, t - s0 + 1) : n;
          if (allowed <= 0) continue;
          const qRow = (b * T + t) * D;
          const maskRow = maskData === null ? -1 : b * maskStride + t * S + s0;
          let blockMax = -Infinity;
          for (let j = 0; j < allowed; j++) {
            if (maskRow >= 0 && maskData![maskRow + j] === 0) {
              scores[j] = -Infinity;
              continue;
            }
            const kRow = (b * S + s0 + j) * D;
            let dot = 0;
            for (let d = 0; d < D; d++) dot += q[qRow + d] * k[kRow + d];
            const score = dot * scale;
            scores[j] = score;
            if (score > blockMax) blockMax = score;
          }
          const old = runningMax[r];
          const max = blockMax > old ? blockMax : old;
          if (max === -Infinity) continue;

          const outRow = (b * T + t) * Dv;
          if (max > old && old !== -Infinity) {
            const alpha = Math.exp(old - max);
            runningSum[r] *= alpha;
            for (let d = 0; d < Dv; d++) output[outRow + d] *= alpha;
          }
          runningMax[r] = max;
          let sum = 0;
          for (let j = 0; j < allowed; j++) {
            // Skipping masked keys keeps their V rows unread.
            if (scores[j] === -Infinity) continue;
            const p = Math.exp(scores[j] - max);
            sum += p;
            const vRow = (b * S + s0 + j) * Dv;
            for (let d = 0; d < Dv; d++) output[outRow + d] += p * v[vRow + d];
          }
          runningSum[r] += sum;
        }
      }

      for (let r = 0; r < rows; r++) {
        const l = runningSum[r];
        if (l === 0) continue;
        const inverse = 1 / l;
        const outRow = (b * T + t0 + r) * Dv;
        for (let d = 0; d < Dv; d++) output[outRow + d] *= inverse;
      }
    }
  }
}
