/**
 * Worker threads that share the WebAssembly kernels' memory, so that one
 * synchronous attention call can use more than one core.
 *
 * The calling thread posts the job to each ready worker through a small block
 * of shared memory. Then it and the workers claim chunks of query rows from a
 * shared counter until none are left, and the calling thread waits with
 * `Atomics.wait` for every worker that took part. The results are the same
 * bytes as on one thread, because every query row is computed by the same
 * kernel whichever thread runs it.
 *
 * The first call that is large enough starts the workers. They take a few
 * milliseconds to start, on their own threads. Calls made before they are
 * ready run on the calling thread alone, and `threadsReady` waits for them.
 * Once started, the workers do not keep the process alive, and
 * `stopThreads` ends them.
 *
 * @module
 */

import { describeValue } from "./errors.ts";
import { loadSharedKernels } from "./wasm_kernels.ts";
import {
  encodeJob,
  JOB_LENGTH,
  type RowJob,
  type RowKernels,
  runChunks,
  runRows,
} from "./wasm_rows.ts";
import {
  CONTROL,
  type ThreadWorkerData,
  threadWorkerSource,
} from "./threads_worker.ts";

/**
 * Smallest B * T * S for which attention uses worker threads. Smaller calls
 * run on the calling thread, where waking a worker costs more than it saves.
 *
 * Measured with `deno run -A bench/threads_bench.ts` on an idle 2-core AMD
 * EPYC, Deno 2.9.6, D = Dv = 64; see docs/benchmarks.md.
 *
 * NOTE: tuned on one 2-core machine; on more cores the break-even point may differ.
 */
export const THREADS_MIN_WORK = 2 ** 15;

/**
 * Maximum thread count that `setThreads` accepts. Each worker thread is a V8 isolate
 * that took about 12 MiB and a few milliseconds to start (Deno 2.9.6).
 */
export const MAX_THREADS = 256;

/**
 * Maximum thread count used by default, however many cores the machine reports.
 *
 * NOTE: chosen without measurements above 2 cores. It bounds the memory and
 * start-up time of the default pool on large machines; `setThreads` raises it.
 */
const DEFAULT_MAX_THREADS = 8;

/**
 * The Worker class of `node:worker_threads`, or null in a runtime without
 * it. It is imported here, not at the first large call, so that call can
 * start the workers at once instead of after an event-loop turn.
 */
const NodeWorker: typeof import("node:worker_threads").Worker | null =
  await import("node:worker_threads").then(
    (module) => module.Worker,
    () => null,
  );

const {
  STATE,
  READY,
  IDLE,
  POSTED,
  RUNNING,
  FAILED,
  STOP,
  STARTING,
  STARTED,
  BROKEN,
  JOB_OFFSET,
  MESSAGE_OFFSET,
  BYTES,
} = CONTROL;

interface ThreadWorker {
  readonly control: Int32Array;
  readonly job: Float64Array;
  readonly message: Uint8Array;
}

interface Pool {
  readonly memory: WebAssembly.Memory;
  readonly workers: ThreadWorker[];
  /** Int32 counter that the threads of a job claim rows from (see `runChunks`). */
  readonly counter: Int32Array;
  /** Settles when every worker has started or failed to start. */
  readonly started: Promise<void>;
}

let minWork = THREADS_MIN_WORK;
let callerWorksByDefault = true;
let lastThreads = 0;
/** The encoded job of the calling thread, reused by every call. */
const ownJob = new Float64Array(JOB_LENGTH);
let pool: Pool | null = null;
let maxThreads = defaultThreads();
let waitAllowed: boolean | undefined;

function defaultThreads(): number {
  const cores = typeof navigator === "object"
    ? navigator.hardwareConcurrency
    : undefined;
  return typeof cores === "number" && Number.isInteger(cores) && cores > 0
    ? Math.min(cores, DEFAULT_MAX_THREADS)
    : 1;
}

/** Tests whether this thread may block in `Atomics.wait`, which browsers forbid on their main thread. */
function canWait(): boolean {
  if (waitAllowed === undefined) {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      waitAllowed = true;
    } catch {
      waitAllowed = false;
    }
  }
  return waitAllowed;
}

/**
 * Checks a thread count given by a caller. Counts above `getThreads()` are
 * accepted in call options, which use at most `getThreads()` threads.
 *
 * @throws {TypeError} If `threads` is not a number.
 * @throws {RangeError} If `threads` is not a positive integer, or for
 *   `setThreads` is above `MAX_THREADS`.
 */
export function checkThreads(operation: string, threads: unknown): number {
  const hint = operation === "setThreads"
    ? `Pass a count from 1, which keeps attention on the calling thread, to ${MAX_THREADS}.`
    : "Pass 1 to stay on the calling thread, or leave it out to use up to getThreads() threads.";
  if (typeof threads !== "number") {
    throw new TypeError(
      `${operation}: \`threads\` must be a number, received ${
        describeValue(threads)
      }. ${hint}`,
    );
  }
  const limit = operation === "setThreads" ? MAX_THREADS : Infinity;
  if (!Number.isInteger(threads) || threads < 1 || threads > limit) {
    const expected = operation === "setThreads"
      ? `an integer from 1 to ${MAX_THREADS}`
      : "a positive integer";
    throw new RangeError(
      `${operation}: \`threads\` must be ${expected}, received ${threads}. ${hint}`,
    );
  }
  return threads;
}

/**
 * Sets how many threads attention may use, the calling one included. 1 keeps
 * every call on the calling thread. The default is
 * `navigator.hardwareConcurrency`, at most 8. A call's own `threads` option
 * can lower the count for that call but not raise it, because the pool has
 * `threads - 1` workers. A change ends the running workers. Counts above the
 * number of cores are accepted, but their threads then share cores.
 *
 * @param threads Integer from 1 to `MAX_THREADS`.
 * @returns The previous setting.
 * @throws {TypeError} If `threads` is not a number.
 * @throws {RangeError} If `threads` is not an integer from 1 to `MAX_THREADS`.
 *
 * @example Usage
 * ```ts
 * import { getThreads, setThreads } from "attention";
 * import assert from "node:assert/strict";
 *
 * const previous = setThreads(1);
 * assert.equal(getThreads(), 1);
 * setThreads(previous);
 * ```
 */
export function setThreads(threads: number): number {
  const previous = maxThreads;
  maxThreads = checkThreads("setThreads", threads);
  // The pool has maxThreads - 1 workers, so a new count needs a new pool,
  // which the next large call starts.
  if (maxThreads !== previous) stopThreads();
  return previous;
}

/**
 * Returns how many threads attention may use by default, the calling one included.
 *
 * @returns The setting of `setThreads`; unless changed,
 *   `navigator.hardwareConcurrency`, at most 8.
 *
 * @example Usage
 * ```ts
 * import { getThreads } from "attention";
 * import assert from "node:assert/strict";
 *
 * assert.ok(getThreads() >= 1);
 * ```
 */
export function getThreads(): number {
  return maxThreads;
}

function startPool(
  memory: WebAssembly.Memory,
  module: WebAssembly.Module,
): Pool {
  const workers: ThreadWorker[] = [];
  const counterBuffer = new SharedArrayBuffer(4);
  const url = NodeWorker === null ? null : threadWorkerSource();
  const waits: Promise<void>[] = [];
  for (let i = 0; NodeWorker !== null && i < maxThreads - 1; i++) {
    const buffer = new SharedArrayBuffer(BYTES);
    const control = new Int32Array(buffer, 0, 4);
    const workerData: ThreadWorkerData = {
      module,
      memory,
      control: buffer,
      counter: counterBuffer,
    };
    let worker;
    try {
      worker = new NodeWorker(url!, { workerData });
    } catch (error) {
      console.warn(
        `attention: starting worker thread ${i + 1} failed (${
          String(error)
        }); ` +
          `attention continues on the threads already started.`,
      );
      break;
    }
    workers.push({
      control,
      job: new Float64Array(
        buffer,
        JOB_OFFSET,
        (MESSAGE_OFFSET - JOB_OFFSET) / 8,
      ),
      message: new Uint8Array(buffer, MESSAGE_OFFSET),
    });
    // A worker that cannot start, or ends, is never handed work again.
    const broken = () => {
      Atomics.store(control, READY, BROKEN);
      Atomics.notify(control, READY);
    };
    worker.on("error", (error: unknown) => {
      console.warn(
        `attention: worker thread ${i + 1} failed (${String(error)}); ` +
          `attention continues on the remaining threads.`,
      );
      broken();
    });
    worker.on("exit", broken);
    // The worker keeps the process alive only while it starts, because a
    // pending Atomics.waitAsync does not, and callers may await `started`.
    waits.push(
      (async () => {
        const result = Atomics.waitAsync(control, READY, STARTING);
        if (result.async) await result.value;
        worker.unref();
      })(),
    );
  }
  return {
    memory,
    workers,
    counter: new Int32Array(counterBuffer),
    started: Promise.all(waits).then(() => {}),
  };
}

/**
 * Returns the pool for the current kernels and starts it if needed. Returns
 * null when this runtime or the settings allow only one thread.
 */
function currentPool(): Pool | null {
  if (maxThreads < 2 || !canWait()) return null;
  const kernels = loadSharedKernels();
  if (kernels === null) return null;
  if (pool !== null && pool.memory !== kernels.exports.memory) stopThreads();
  pool ??= startPool(kernels.exports.memory, kernels.module);
  return pool;
}

/**
 * Starts the worker threads if they are not running, and waits until they
 * can take work. Attention calls made before then run on the calling
 * thread, so call this first when the first large call should use them too,
 * as benchmarks do.
 *
 * @returns The number of threads that attention can use now, the calling one included.
 *
 * @example Usage
 * ```ts
 * import { stopThreads, threadsReady } from "attention";
 * import assert from "node:assert/strict";
 *
 * assert.ok(await threadsReady() >= 1);
 * stopThreads();
 * ```
 */
export async function threadsReady(): Promise<number> {
  const current = currentPool();
  if (current === null) return 1;
  await current.started;
  return 1 + readyWorkers(current).length;
}

/**
 * Ends the worker threads: each one returns from its loop and its thread
 * exits shortly after. Later large calls start new ones. Tests use it to
 * leave no thread behind; a program need not call it, because started
 * workers do not keep the process alive.
 *
 * @returns The number of workers ended.
 *
 * @example Usage
 * ```ts
 * import { stopThreads } from "attention";
 * import assert from "node:assert/strict";
 *
 * assert.equal(typeof stopThreads(), "number");
 * ```
 */
export function stopThreads(): number {
  if (pool === null) return 0;
  const { workers } = pool;
  pool = null;
  // Each worker returns from its loop when it reads STOP, and its thread
  // then ends by itself, also if it is still starting.
  for (const { control } of workers) {
    Atomics.store(control, READY, BROKEN);
    Atomics.notify(control, READY);
    Atomics.store(control, STATE, STOP);
    Atomics.notify(control, STATE);
  }
  return workers.length;
}

function readyWorkers(current: Pool): ThreadWorker[] {
  return current.workers.filter((w) =>
    Atomics.load(w.control, READY) === STARTED
  );
}

/**
 * Tests whether a call with `work` query-key pairs (B * T * S) and at most
 * `threads` threads should run on the shared kernels and be split across
 * worker threads. Starts the workers in the background when it should.
 */
export function shouldSplit(work: number, threads: number): boolean {
  return threads > 1 && work >= minWork && currentPool() !== null;
}

/**
 * Runs rows 0 to B * T of `job` on up to `threads` threads: the calling
 * thread and the ready workers, which claim chunks of rows from a shared
 * counter until none are left (see `runChunks`). Returns when every row is
 * done. The caller decides whether to split with `shouldSplit` and passes 1
 * when not. With `threads` above 1, `kernels` must be the shared kernels,
 * because the workers run on their memory.
 *
 * A worker that has not claimed the job when the rows run out is taken off
 * it, so a worker that wakes late never delays the call. `callerWorks` false
 * leaves every row to the workers, for tests of the workers' results and
 * failures; it defaults to the setting of `setCallerWorks`.
 *
 * @throws {Error} If a worker failed, with its error message.
 */
export function runJob(
  kernels: RowKernels,
  job: RowJob,
  threads: number,
  callerWorks = callerWorksByDefault,
): void {
  const rows = job.B * job.T;
  const current = threads > 1 ? currentPool() : null;
  const helpers = current === null
    ? []
    : readyWorkers(current).slice(0, Math.min(threads, rows) - 1);
  lastThreads = helpers.length + 1;

  encodeJob(job, ownJob);
  if (current === null || helpers.length === 0) {
    runRows(kernels, ownJob, 0, rows);
    return;
  }

  // Chunks of whole 16-row blocks of the kernel, about 4 per thread, so the
  // threads end within about one chunk of each other.
  const shares = helpers.length + 1;
  const chunk = Math.max(16, Math.ceil(rows / (4 * shares) / 16) * 16);
  Atomics.store(current.counter, 0, 0);
  for (const helper of helpers) {
    helper.job.set(ownJob);
    helper.job[JOB_LENGTH] = rows;
    helper.job[JOB_LENGTH + 1] = chunk;
    Atomics.store(helper.control, STATE, POSTED);
    Atomics.notify(helper.control, STATE);
  }

  let failure: string | null = null;
  try {
    if (callerWorks) {
      runChunks(runRows, kernels, ownJob, current.counter, rows, chunk);
    }
  } finally {
    // Wait for every worker that claimed the job, even when this thread's
    // share threw, because those workers are still writing to the memory.
    for (const helper of helpers) {
      const { control } = helper;
      if (
        callerWorks &&
        Atomics.compareExchange(control, STATE, POSTED, IDLE) === POSTED
      ) {
        continue;
      }
      // NOTE: a worker that died after claiming the job would block this
      // wait forever. Its exit event cannot run while this thread waits, and
      // no way to kill a worker thread mid-job was found, but none did.
      for (;;) {
        const state = Atomics.load(control, STATE);
        if (state !== POSTED && state !== RUNNING) break;
        Atomics.wait(control, STATE, state);
      }
      if (Atomics.load(control, STATE) === FAILED) {
        const length = helper.message.indexOf(0);
        failure ??= new TextDecoder().decode(
          helper.message.slice(0, length < 0 ? undefined : length),
        );
      }
      Atomics.store(control, STATE, IDLE);
    }
  }

  if (failure !== null) {
    throw new Error(
      `attention: a worker thread failed: ${failure}. ` +
        `Pass \`threads: 1\` to compute on the calling thread alone, and report the shapes of the call as a bug.`,
    );
  }
}

/**
 * Returns how many threads the last attention call on the WebAssembly
 * kernels used, the calling one included, for tests. Not part of the public API.
 */
export function threadsUsedLastCall(): number {
  return lastThreads;
}

/**
 * Sets whether the calling thread computes rows of the calls it splits, for
 * tests that need every row computed by the workers. Not part of the public
 * API.
 *
 * @returns The previous value.
 */
export function setCallerWorks(works: boolean): boolean {
  const previous = callerWorksByDefault;
  callerWorksByDefault = works;
  return previous;
}

/**
 * Sets the smallest B * T * S that uses worker threads, for benchmarks and
 * tests that measure or exercise the threads below `THREADS_MIN_WORK`. Not
 * part of the public API.
 *
 * @returns The previous value.
 */
export function setThreadsMinWork(work: number): number {
  const previous = minWork;
  minWork = work;
  return previous;
}
