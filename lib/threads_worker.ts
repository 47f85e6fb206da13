/**
 * The code of the worker threads started by `threads.ts`.
 *
 * Workers run `serveThread` from a `data:` URL module built by
 * `threadWorkerSource`, so starting one reads no file and needs no
 * permission. A worker instantiates the kernel module on the shared memory
 * it is given, marks itself ready in its control block, and then waits for
 * jobs there. For each job it claims chunks of query rows with `runChunks`
 * until none are left, and then marks the job done, or failed with a
 * message. It returns, and so ends, when its control block contains STOP.
 *
 * @module
 */

import {
  JOB_LENGTH,
  type RowKernels,
  runChunks,
  runRows,
} from "./wasm_rows.ts";

/** Data that `threads.ts` passes to each worker. */
export interface ThreadWorkerData {
  /** The compiled kernel module, instantiated with the shared memory. */
  readonly module: WebAssembly.Module;
  /** The kernels' shared memory. */
  readonly memory: WebAssembly.Memory;
  /** The worker's control block, laid out as `CONTROL` describes. */
  readonly control: SharedArrayBuffer;
  /** The pool's row counter, an Int32 that every thread claims rows from. */
  readonly counter: SharedArrayBuffer;
}

/**
 * Layout of a control block: Int32 slots `STATE` and `READY`, then from
 * byte `JOB_OFFSET` the encoded job followed by its row count and chunk size
 * as f64 numbers, then from byte `MESSAGE_OFFSET` an error message in UTF-8.
 */
export const CONTROL = {
  STATE: 0,
  READY: 1,
  /**
   * STATE values. The calling thread posts a job (POSTED), and takes it back
   * (IDLE) if the worker has not claimed it (RUNNING) by the time every row
   * is done. A worker that claimed the job ends it with DONE or FAILED.
   */
  IDLE: 0,
  POSTED: 1,
  DONE: 2,
  FAILED: 3,
  RUNNING: 4,
  /**
   * Set by `stopThreads`: the worker returns from its loop, so its thread
   * ends by itself. Deno 2.9 does not free the thread of a worker that
   * `terminate()` ends while it waits in `Atomics.wait`.
   */
  STOP: 5,
  /** READY values. */
  STARTING: 0,
  STARTED: 1,
  BROKEN: 2,
  JOB_OFFSET: 16,
  JOB_LENGTH,
  MESSAGE_OFFSET: 256,
  BYTES: 1280,
} as const;

/**
 * Serves jobs forever on the worker thread. Like `runRows`, it runs from its
 * source text, so it uses only its parameters and JavaScript built-ins.
 */
export function serveThread(
  data: ThreadWorkerData,
  runChunksOf: typeof runChunks,
  run: typeof runRows,
  layout: typeof CONTROL,
): void {
  const control = new Int32Array(data.control, 0, 4);
  const counter = new Int32Array(data.counter, 0, 1);
  const slots = (layout.MESSAGE_OFFSET - layout.JOB_OFFSET) / 8;
  const numbers = new Float64Array(data.control, layout.JOB_OFFSET, slots);
  const message = new Uint8Array(data.control, layout.MESSAGE_OFFSET);
  let kernels: RowKernels;
  try {
    kernels = new WebAssembly.Instance(data.module, {
      env: { memory: data.memory },
    }).exports as unknown as RowKernels;
  } catch {
    Atomics.store(control, layout.READY, layout.BROKEN);
    Atomics.notify(control, layout.READY);
    return;
  }
  Atomics.store(control, layout.READY, layout.STARTED);
  Atomics.notify(control, layout.READY);
  for (;;) {
    const state = Atomics.load(control, layout.STATE);
    if (state === layout.STOP) return;
    if (state !== layout.POSTED) {
      Atomics.wait(control, layout.STATE, state);
      continue;
    }
    // The calling thread may have taken the job back in the meantime.
    const claimed = Atomics.compareExchange(
      control,
      layout.STATE,
      layout.POSTED,
      layout.RUNNING,
    );
    if (claimed !== layout.POSTED) continue;
    let result: number = layout.DONE;
    try {
      const job = numbers.subarray(0, layout.JOB_LENGTH);
      const rows = numbers[layout.JOB_LENGTH];
      const chunk = numbers[layout.JOB_LENGTH + 1];
      runChunksOf(run, kernels, job, counter, rows, chunk);
    } catch (error) {
      const text = new TextEncoder().encode(String(error));
      message.fill(0);
      message.set(text.subarray(0, message.length - 1));
      result = layout.FAILED;
    }
    Atomics.store(control, layout.STATE, result);
    Atomics.notify(control, layout.STATE);
  }
}

/**
 * Returns the worker module as a `data:` URL that calls `serveThread` with
 * the worker's data, `runChunks`, `runRows` and `CONTROL`. The functions are
 * inserted from their source text as expressions, so they work under any
 * names that a bundler gives them.
 */
export function threadWorkerSource(): URL {
  const source = [
    'import { workerData } from "node:worker_threads";',
    `(${serveThread.toString()})(`,
    "  workerData,",
    `  (${runChunks.toString()}),`,
    `  (${runRows.toString()}),`,
    `  ${JSON.stringify(CONTROL)},`,
    ");",
  ].join("\n");
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}
