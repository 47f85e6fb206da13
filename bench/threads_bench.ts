/**
 * Measures where splitting one attention call between threads starts to pay.
 *
 * Usage: `deno run -A bench/threads_bench.ts` sweeps B * T * S from 2^10 to
 * 2^22 at D = Dv = 64, in f64 and f32, and prints a markdown table of the
 * median milliseconds of `attentionWasm` (or `attentionWasmF32`) on the
 * calling thread alone (`threads: 1`) and on every thread the hardware
 * reports, with the threshold lowered to 0 so that every size is split. Each
 * case runs 8 warm-up calls, then at least 15 timed calls and 0.5 s.
 * `THREADS_MIN_WORK` in lib/threads.ts is chosen from this table.
 *
 * @module
 */

import {
  getThreads,
  setThreadsMinWork,
  stopThreads,
  threadsReady,
} from "../lib/threads.ts";
import { attentionWasm, attentionWasmF32 } from "../lib/wasm_backend.ts";

const WARMUP_CALLS = 8;
const MIN_TIMED_CALLS = 15;
const BUDGET_MS = 500;

function medianMs(run: () => void): number {
  for (let i = 0; i < WARMUP_CALLS; i++) run();
  const times: number[] = [];
  const start = performance.now();
  while (
    times.length < MIN_TIMED_CALLS || performance.now() - start < BUDGET_MS
  ) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

function uniform(length: number, seed: number): Float64Array {
  let state = seed >>> 0;
  return Float64Array.from({ length }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2147483648 - 1;
  });
}

/** (B, T = S) pairs: B = 1 with T from 32 to 2048, then batches of short sequences. */
const CASES: readonly [number, number][] = [
  [1, 32],
  [1, 64],
  [1, 128],
  [1, 181],
  [1, 256],
  [1, 362],
  [1, 512],
  [1, 1024],
  [1, 2048],
  [64, 10],
  [256, 10],
  [1024, 10],
  [8, 128],
  [4, 512],
];
const D = 64;

const available = await threadsReady();
console.log(
  `Threads: ${available} of getThreads() = ${getThreads()}; Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores reported.`,
);
setThreadsMinWork(0);
console.log(
  "\n| (B, T = S, D) | B * T * S | f64, 1 thread (ms) | f64, " + available +
    " threads (ms) | speedup | f32, 1 thread (ms) | f32, " + available +
    " threads (ms) | speedup |",
);
console.log("|---|---|---|---|---|---|---|---|");
for (const [B, T] of CASES) {
  const q = uniform(B * T * D, 1);
  const k = uniform(B * T * D, 2);
  const v = uniform(B * T * D, 3);
  const [q32, k32, v32] = [q, k, v].map((a) => Float32Array.from(a));
  const scale = 1 / Math.sqrt(D);
  const cells: string[] = [];
  for (const f32 of [false, true]) {
    const run = (threads: number) => () =>
      f32
        ? attentionWasmF32(q32, k32, v32, B, T, T, D, D, scale, { threads })
        : attentionWasm(q, k, v, B, T, T, D, D, scale, { threads });
    const single = medianMs(run(1));
    const split = medianMs(run(available));
    cells.push(
      single.toFixed(3),
      split.toFixed(3),
      `${(single / split).toFixed(2)}x`,
    );
  }
  console.log(`| (${B}, ${T}, ${D}) | ${B * T * T} | ${cells.join(" | ")} |`);
}
stopThreads();
