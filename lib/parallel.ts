/**
 * Attention output computed by a pool of Web Workers, each running the
 * streaming WebAssembly kernel on a share of the query rows.
 *
 * Workers start on the first call that is large enough to split, are reused
 * by later calls, and keep the process alive until {@linkcode closeWorkers}
 * terminates them.
 *
 * @module
 */

import {
  type AttentionArguments,
  type BaseAttentionOptions,
  checkAttentionArguments,
  float64Inputs,
} from "./attention_args.ts";
import { describeValue } from "./errors.ts";
import type {
  RowSlice,
  WorkerReply,
  WorkerRequest,
} from "./parallel_worker.ts";
import { attentionOutput } from "./streaming.ts";
import { Tensor, type TensorLike } from "./tensor.ts";
import { streamingWasmSupported } from "./wasm_streaming.ts";

const OPERATION = "attentionParallel";

/** Options of {@linkcode attentionParallel}. */
export interface ParallelAttentionOptions extends BaseAttentionOptions {
  /**
   * Maximum number of workers; defaults to `navigator.hardwareConcurrency`.
   * 1 runs on the calling thread.
   */
  workers?: number;
  /**
   * Smallest B * T * S that is split across workers; defaults to
   * {@linkcode PARALLEL_MIN_WORK}. 0 uses the workers for every size.
   */
  minWork?: number;
}

const OPTION_NAMES = ["mask", "causal", "scale", "workers", "minWork"];

/**
 * Smallest B * T * S for which `attentionParallel` starts workers. Smaller
 * calls run on the calling thread, because they save little time and a
 * loaded machine can make the workers slower than one thread.
 *
 * Measured with `deno run -A bench/parallel_bench.ts --threshold` on an idle
 * 2-core AMD EPYC (Zen 4), Deno 2.9.6, B = 1, D = Dv = 64: two workers were
 * 1.36 times as fast as one thread at 2^14, 1.7 times at 2^16 to 2^18 and 1.9
 * to 2.0 times from 2^19 up. While other processes loaded both cores, the
 * ratio scattered between 0.6 and 1.9 at every size, so the threshold sits
 * where the gain on an idle machine is near its maximum and a loss under
 * load costs little in absolute time.
 *
 * NOTE: tuned on one 2-core machine; on more cores or a slower worker
 * start-up the break-even point may differ.
 */
export const PARALLEL_MIN_WORK = 2 ** 19;

interface Pending {
  resolve(): void;
  reject(error: Error): void;
}

interface PooledWorker {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
}

const pool: PooledWorker[] = [];
let nextId = 0;

function startWorker(): PooledWorker {
  const worker = new Worker(
    new URL("./parallel_worker.ts", import.meta.url).href,
    { type: "module" },
  );
  const pooled: PooledWorker = { worker, pending: new Map() };
  worker.onmessage = (event: MessageEvent<WorkerReply>) => {
    const { id, error } = event.data;
    const entry = pooled.pending.get(id);
    if (entry === undefined) return;
    pooled.pending.delete(id);
    if (error === undefined) entry.resolve();
    else entry.reject(new Error(`${OPERATION}: a worker failed: ${error}`));
  };
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    const error = new Error(
      `${OPERATION}: a worker stopped with an uncaught error: ${event.message}`,
    );
    for (const entry of pooled.pending.values()) entry.reject(error);
    pooled.pending.clear();
    const index = pool.indexOf(pooled);
    if (index !== -1) pool.splice(index, 1);
    worker.terminate();
  };
  return pooled;
}

/**
 * Terminates every worker that {@linkcode attentionParallel} started.
 *
 * Calls still waiting for a worker are rejected. A later call starts new
 * workers. Call it before exit, and at the end of tests, because idle workers
 * keep the process alive.
 *
 * @returns The number of workers terminated.
 *
 * @example Usage
 * ```ts
 * import { closeWorkers } from "attention";
 * import assert from "node:assert/strict";
 *
 * assert.equal(typeof closeWorkers(), "number");
 * ```
 */
export function closeWorkers(): number {
  const count = pool.length;
  for (const pooled of pool.splice(0)) {
    pooled.worker.terminate();
    const error = new Error(
      `${OPERATION}: closeWorkers() terminated the worker before it replied.`,
    );
    for (const entry of pooled.pending.values()) entry.reject(error);
    pooled.pending.clear();
  }
  return count;
}

/** Returns the number of live workers in the pool. */
export function workerCount(): number {
  return pool.length;
}

/**
 * Computes the attention output `softmax(Q K^T * scale) V` on up to
 * `workers` Web Workers, each running the streaming WebAssembly kernel.
 *
 * The B * T query rows are cut into one contiguous share per worker, with
 * equal numbers of (query, key) pairs per share, so with `causal: true` the
 * later, longer rows get smaller shares. A share may span batch entries, and
 * a single batch entry (B = 1) is split by query rows. Inputs are copied once
 * into SharedArrayBuffers that every worker reads, and the workers write the
 * output straight into a shared buffer, which the returned tensor wraps.
 *
 * Calls with B * T * S below {@linkcode PARALLEL_MIN_WORK}, with `workers: 1`,
 * or in a runtime without WebAssembly SIMD128 or SharedArrayBuffer run
 * {@linkcode attentionOutput} with `streaming: true` on the calling thread.
 * Every path gives the same rows as that call, bit for bit, because each row
 * is computed by the same kernel with the same key blocks.
 *
 * @param query Queries Q, shape (B, T, D) or (T, D).
 * @param key Keys K, shape (B, S, D) or (S, D).
 * @param value Values V, shape (B, S, Dv) or (S, Dv).
 * @param options `mask`, `causal`, `scale`, `workers` and `minWork`.
 * @returns The output, shape (B, T, Dv), or (T, Dv) for rank-2 inputs.
 * @throws {ShapeError} If the shapes do not fit, as for `scaledDotProductAttention`.
 * @throws {TypeError} If an argument or option has the wrong type or an option is unknown.
 * @throws {RangeError} If `workers` is not a positive integer, `minWork` is negative,
 *   `scale` is not finite,
 *   or Q, K or V contains NaN or Infinity at a position that is not masked out.
 *   The checks throw synchronously, before any promise is returned.
 *
 * @example Usage
 * ```ts
 * import { attentionOutput, attentionParallel, closeWorkers, RandomState } from "attention";
 * import assert from "node:assert/strict";
 *
 * const rng = new RandomState(0);
 * const q = rng.rand(1, 1024, 16);
 * const k = rng.rand(1, 1024, 16);
 * const v = rng.rand(1, 1024, 16);
 * const output = await attentionParallel(q, k, v, { workers: 2 });
 * closeWorkers();
 * const single = attentionOutput(q, k, v, { streaming: true });
 * assert.deepEqual(output.shape, [1, 1024, 16]);
 * assert.equal(output.get(0, 700, 3), single.get(0, 700, 3));
 * ```
 */
export function attentionParallel(
  query: TensorLike,
  key: TensorLike,
  value: TensorLike,
  options: ParallelAttentionOptions = {},
): Promise<Tensor> {
  const args = checkAttentionArguments(
    OPERATION,
    query,
    key,
    value,
    options,
    OPTION_NAMES,
  );
  const hardware = globalThis.navigator?.hardwareConcurrency ?? 1;
  const workers = options.workers ?? hardware;
  if (
    typeof workers !== "number" || !Number.isInteger(workers) || workers < 1
  ) {
    throw new RangeError(
      `${OPERATION}: option \`workers\` is ${
        describeValue(workers)
      }, expected ` +
        `a positive integer. Omit it to use navigator.hardwareConcurrency = ${hardware}.`,
    );
  }
  const minWork = options.minWork ?? PARALLEL_MIN_WORK;
  if (typeof minWork !== "number" || !(minWork >= 0)) {
    throw new RangeError(
      `${OPERATION}: option \`minWork\` is ${
        describeValue(minWork)
      }, expected ` +
        `a number >= 0. Omit it to use PARALLEL_MIN_WORK = ${PARALLEL_MIN_WORK}.`,
    );
  }
  const { batch, queries: T, keys: S } = args.sizes;
  const shares = Math.min(workers, batch * T);
  const parallel = shares > 1 && batch * T * S >= minWork &&
    typeof SharedArrayBuffer === "function" && streamingWasmSupported();
  if (!parallel) {
    return Promise.resolve(attentionOutput(
      args.query,
      args.key,
      args.value,
      {
        mask: options.mask,
        causal: args.causal,
        scale: args.scale,
        streaming: true,
      },
    ));
  }
  return runOnWorkers(args, shares);
}

/** Copies f64 data into a new SharedArrayBuffer. */
function shareFloat64(data: Float64Array): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(data.length * 8);
  new Float64Array(buffer).set(data);
  return buffer;
}

/** Copies bytes into a new SharedArrayBuffer. */
function shareBytes(data: Uint8Array): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(data.length);
  new Uint8Array(buffer).set(data);
  return buffer;
}

async function runOnWorkers(
  args: AttentionArguments,
  shares: number,
): Promise<Tensor> {
  const { batch, queries: T, keys: S, width: D, valueWidth: Dv, rank } =
    args.sizes;
  while (pool.length < shares) pool.push(startWorker());
  const { q, k, v } = float64Inputs(args);

  const out = new SharedArrayBuffer(batch * T * Dv * 8);
  const base = {
    q: shareFloat64(q),
    k: shareFloat64(k),
    v: shareFloat64(v),
    mask: args.maskData === null ? null : shareBytes(args.maskData),
    maskStride: args.maskStride,
    out,
    queries: T,
    keys: S,
    width: D,
    valueWidth: Dv,
    scale: args.scale,
    causal: args.causal,
  };
  const parts = splitRows(batch, T, S, args.causal, shares);
  await Promise.all(parts.map((slices, index) => {
    const pooled = pool[index];
    const id = nextId++;
    const request: WorkerRequest = { ...base, id, slices };
    return new Promise<void>((resolve, reject) => {
      pooled.pending.set(id, { resolve, reject });
      pooled.worker.postMessage(request);
    });
  }));
  const lead = rank === 3 ? [batch] : [];
  return new Tensor(new Float64Array(out), [...lead, T, Dv]);
}

/**
 * Cuts the B * T query rows into `shares` contiguous parts with about equal
 * numbers of (query, key) pairs, then splits each part at batch boundaries.
 */
export function splitRows(
  batch: number,
  queries: number,
  keys: number,
  causal: boolean,
  shares: number,
): RowSlice[][] {
  const rowWork = (t: number) => (causal ? Math.min(keys, t + 1) : keys);
  let total = 0;
  for (let t = 0; t < queries; t++) total += rowWork(t);
  total *= batch;

  const parts: RowSlice[][] = Array.from({ length: shares }, () => []);
  let done = 0;
  let part = 0;
  for (let b = 0; b < batch; b++) {
    let start = 0;
    for (let t = 0; t < queries; t++) {
      done += rowWork(t);
      // Close the current part once it has its share of the work.
      if (part < shares - 1 && done >= (total * (part + 1)) / shares) {
        parts[part].push({ batch: b, start, rows: t + 1 - start });
        start = t + 1;
        part++;
      }
    }
    if (start < queries) {
      parts[part].push({ batch: b, start, rows: queries - start });
    }
  }
  return parts.filter((slices) => slices.length > 0);
}
