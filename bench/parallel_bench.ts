/**
 * Compares attention on the calling thread with `attentionParallel` on Web
 * Workers, and streaming with materialising attention.
 *
 * Usage: `deno run -A bench/parallel_bench.ts` prints markdown tables of
 * minimum milliseconds (at least 15 timed calls or 1 s per case, after 5
 * warm-up calls) at (B, T = S, D = Dv) = (8, 128, 64), (4, 512, 64) and
 * (1, 2048, 64):
 * - `scaledDotProductAttention`: the materialising WebAssembly path, output
 *   and weights, on the calling thread only (`threads: 1`) and with its
 *   default worker threads (see lib/threads.ts);
 * - `attentionOutput` with `streaming: true`: one thread, output only;
 * - `attentionParallel` with every worker the hardware reports, forced on
 *   with `minWork: 0`.
 *
 * `--threshold` instead sweeps B * T * S from 2^14 to 2^22 at B = 1, T = S,
 * D = 64 and prints the single-thread and worker times, from which
 * `PARALLEL_MIN_WORK` is chosen.
 *
 * @module
 */

import { scaledDotProductAttention } from "../lib/attention.ts";
import { attentionParallel, closeWorkers } from "../lib/parallel.ts";
import { stopThreads, threadsReady } from "../lib/threads.ts";
import { attentionOutput } from "../lib/streaming.ts";
import { Tensor } from "../lib/tensor.ts";

const SHAPES: readonly [number, number, number][] = [
  [8, 128, 64],
  [4, 512, 64],
  [1, 2048, 64],
];

/** Uniform numbers in [-1, 1) from a fixed seed, so every run times the same data. */
function randomTensor(shape: number[], seed: number): Tensor {
  let state = seed >>> 0;
  const length = shape.reduce((a, b) => a * b, 1);
  const data = Float64Array.from({ length }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2147483648 - 1;
  });
  return new Tensor(data, shape);
}

/**
 * Returns the minimum wall time of `fn` in ms after 5 warm-up calls. The
 * minimum, not the median, because other processes sharing the cores inflate
 * the slow calls far more than the fast ones.
 */
async function minimumMs(fn: () => unknown): Promise<number> {
  for (let i = 0; i < 5; i++) await fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 15 || performance.now() - start < 1000) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return Math.min(...times);
}

async function compareShapes(workers: number): Promise<void> {
  const threads = await threadsReady();
  console.log(
    `Minimum ms, Deno ${Deno.version.deno}, ${workers} workers, ${threads} threads, causal: false.\n`,
  );
  console.log(
    "| (B, T = S, D) | materialising, 1 thread | materialising, threads | streaming, 1 thread | streaming, workers | workers speedup |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const [B, T, D] of SHAPES) {
    const q = randomTensor([B, T, D], 1);
    const k = randomTensor([B, T, D], 2);
    const v = randomTensor([B, T, D], 3);
    const materialising = await minimumMs(() =>
      scaledDotProductAttention(q, k, v, { threads: 1 })
    );
    const threaded = await minimumMs(() => scaledDotProductAttention(q, k, v));
    const single = await minimumMs(() =>
      attentionOutput(q, k, v, { streaming: true })
    );
    const parallel = await minimumMs(() =>
      attentionParallel(q, k, v, { workers, minWork: 0 })
    );
    console.log(
      `| (${B}, ${T}, ${D}) | ${materialising.toFixed(2)} | ${
        threaded.toFixed(2)
      } | ${single.toFixed(2)} | ${parallel.toFixed(2)} | ${
        (single / parallel).toFixed(2)
      } |`,
    );
  }
}

async function sweepThreshold(workers: number): Promise<void> {
  console.log(`B = 1, T = S, D = 64, ${workers} workers; minimum ms.\n`);
  console.log("| B * T * S | 1 thread | workers | ratio |");
  console.log("| ---: | ---: | ---: | ---: |");
  for (let exponent = 14; exponent <= 22; exponent += 1) {
    const T = Math.round(Math.sqrt(2 ** exponent));
    const q = randomTensor([1, T, 64], 1);
    const k = randomTensor([1, T, 64], 2);
    const v = randomTensor([1, T, 64], 3);
    const single = await minimumMs(() =>
      attentionOutput(q, k, v, { streaming: true })
    );
    const parallel = await minimumMs(() =>
      attentionParallel(q, k, v, { workers, minWork: 0 })
    );
    console.log(
      `| 2^${exponent} (T = ${T}) | ${single.toFixed(3)} | ${
        parallel.toFixed(3)
      } | ${(single / parallel).toFixed(2)} |`,
    );
  }
}

if (import.meta.main) {
  const workers = navigator.hardwareConcurrency;
  try {
    if (Deno.args.includes("--threshold")) await sweepThreshold(workers);
    else await compareShapes(workers);
  } finally {
    closeWorkers();
    stopThreads();
  }
}
