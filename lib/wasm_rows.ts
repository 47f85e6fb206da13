/**
 * Runs the materialising WebAssembly attention kernel over a range of query
 * rows, numbered across the whole batch, so that the calling thread and
 * worker threads can each take a share of one call.
 *
 * A call is described by a job of plain numbers (byte addresses into the
 * kernels' memory and sizes) that `encodeJob` packs into a Float64Array,
 * which `threads.ts` copies into shared memory for the workers.
 *
 * @module
 */

/** Signature of the exported `attention_f64` and `attention_f32` kernels. */
export type KernelFunction = (
  q: number,
  k: number,
  v: number,
  out: number,
  scores: number,
  weights: number,
  mask: number,
  T: number,
  S: number,
  D: number,
  Dv: number,
  scale: number,
) => void;

/** The kernel exports that `runRows` calls. */
export interface RowKernels {
  readonly attention_f64: KernelFunction;
  readonly attention_f32: KernelFunction;
}

/**
 * One attention call laid out in the kernels' memory. Addresses are byte
 * offsets; `scoresAt` is 0 when the scores are not kept and `maskAt` is 0
 * without a mask. A mask has shape (T, S), or (B, T, S) when `maskBatched`
 * is 1. `f32` is 1 for the f32 kernel and 0 for the f64 one.
 */
export interface RowJob {
  readonly f32: number;
  readonly qAt: number;
  readonly kAt: number;
  readonly vAt: number;
  readonly outAt: number;
  readonly weightsAt: number;
  readonly scoresAt: number;
  readonly maskAt: number;
  readonly maskBatched: number;
  readonly B: number;
  readonly T: number;
  readonly S: number;
  readonly D: number;
  readonly Dv: number;
  readonly scale: number;
}

/** Numbers in an encoded job. */
export const JOB_LENGTH = 15;

/** Packs `job` into `target[0 .. JOB_LENGTH)` in the order that `runRows` reads them. */
export function encodeJob(job: RowJob, target: Float64Array): void {
  target[0] = job.f32;
  target[1] = job.qAt;
  target[2] = job.kAt;
  target[3] = job.vAt;
  target[4] = job.outAt;
  target[5] = job.weightsAt;
  target[6] = job.scoresAt;
  target[7] = job.maskAt;
  target[8] = job.maskBatched;
  target[9] = job.B;
  target[10] = job.T;
  target[11] = job.S;
  target[12] = job.D;
  target[13] = job.Dv;
  target[14] = job.scale;
}

/**
 * Runs the kernel for rows `start` to `end` (exclusive) of the B * T query
 * rows of an encoded job. Each row's output, weights and scores depend on
 * that row's query only, so any split of the rows gives the same bytes as
 * one call.
 *
 * Worker threads run this function from its source text (see
 * `threads_worker.ts`), so it refers to nothing outside its parameters
 * except JavaScript built-ins.
 */
export function runRows(
  kernels: RowKernels,
  job: Float64Array,
  start: number,
  end: number,
): void {
  // Indexed reads, because destructuring a typed array runs its iterator,
  // which costs a measurable share of a (2, 10, 64) call.
  const f32 = job[0];
  const qAt = job[1];
  const kAt = job[2];
  const vAt = job[3];
  const outAt = job[4];
  const weightsAt = job[5];
  const scoresAt = job[6];
  const maskAt = job[7];
  const maskBatched = job[8];
  const T = job[10];
  const S = job[11];
  const D = job[12];
  const Dv = job[13];
  const scale = job[14];

  const e = f32 ? 4 : 8;
  const kernel = f32 ? kernels.attention_f32 : kernels.attention_f64;
  let row = start;
  while (row < end) {
    const b = Math.floor(row / T);
    const first = row - b * T;
    const rows = Math.min(T - first, end - row);
    const weights = weightsAt + row * S * e;
    kernel(
      qAt + row * D * e,
      kAt + b * S * D * e,
      vAt + b * S * Dv * e,
      outAt + row * Dv * e,
      scoresAt === 0 ? weights : scoresAt + row * S * e,
      weights,
      maskAt === 0 ? 0 : maskAt + (maskBatched ? b * T * S : 0) + first * S,
      rows,
      S,
      D,
      Dv,
      scale,
    );
    row += rows;
  }
}

/**
 * Claims ranges of `chunk` rows of an encoded job from `counter[0]` with
 * `Atomics.add` and runs them with `run` (which is `runRows`), until all
 * `rows` rows are claimed. Every thread that works on a job runs this on the
 * same counter, so a thread that starts late, or runs slowly because other
 * programs share its core, takes fewer ranges instead of holding up the
 * others.
 *
 * Worker threads run this from its source text, so it refers to nothing
 * outside its parameters except JavaScript built-ins. `run` is a parameter,
 * not a call by name, because a minifier renames functions.
 */
export function runChunks(
  run: typeof runRows,
  kernels: RowKernels,
  job: Float64Array,
  counter: Int32Array,
  rows: number,
  chunk: number,
): void {
  for (;;) {
    const start = Atomics.add(counter, 0, chunk);
    if (start >= rows) return;
    run(kernels, job, start, Math.min(start + chunk, rows));
  }
}
