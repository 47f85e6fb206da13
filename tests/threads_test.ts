import assert from "node:assert/strict";
import fc from "fast-check";
import { RandomState, scaledDotProductAttention } from "../lib/mod.ts";
import {
  getThreads,
  MAX_THREADS,
  runJob,
  setCallerWorks,
  setThreads,
  setThreadsMinWork,
  stopThreads,
  threadsReady,
  threadsUsedLastCall,
} from "../lib/threads.ts";
import {
  attentionWasm,
  attentionWasmF32,
  selectWasmKernels,
} from "../lib/wasm_backend.ts";
import { loadSharedKernels } from "../lib/wasm_kernels.ts";

/** Default thread count: the cores reported, at most 8. */
const DEFAULT_THREADS = Math.min(navigator.hardwareConcurrency, 8);

/** OS threads of this process, from /proc/self/status (Linux). */
function osThreads(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  return Number(/^Threads:\s+(\d+)/m.exec(status)![1]);
}

/** Waits up to 5 s for this process to have at most `count` OS threads, and returns the last count. */
async function settleOsThreads(count: number): Promise<number> {
  const deadline = performance.now() + 5000;
  while (osThreads() > count && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return osThreads();
}

/** `length` numbers uniform in [-2, 2), from NumPy's generator seeded with `seed`. */
function uniform(length: number, seed: number): Float64Array {
  const data = new RandomState(seed).rand(length).data as Float64Array;
  return data.map((x) => 4 * x - 2);
}

/** Asserts that two arrays hold the same bits, NaN and signed zeros included. */
function assertSameBits(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
) {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      assert.fail(`element ${i}: ${actual[i]} differs from ${expected[i]}`);
    }
  }
}

/** Returns what `fn` throws, or fails the test when it returns. */
function captureError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  assert.fail("expected an error");
}

/** Runs `body` with every size split across threads, then restores the threshold. */
async function withThreadsForEverySize(body: () => void | Promise<void>) {
  const previous = setThreadsMinWork(0);
  try {
    await body();
  } finally {
    setThreadsMinWork(previous);
  }
}

Deno.test("getThreads() defaults to the cores, at most 8", () => {
  assert.equal(getThreads(), DEFAULT_THREADS);
});

Deno.test("threadsReady() starts one worker per extra core", async () => {
  try {
    assert.equal(await threadsReady(), Math.max(1, DEFAULT_THREADS));
  } finally {
    stopThreads();
  }
});

Deno.test("setThreads() rejects invalid counts", () => {
  for (const bad of [0, -1, 1.5, NaN, Infinity, MAX_THREADS + 1]) {
    const error = captureError(() => setThreads(bad));
    assert.ok(error instanceof RangeError, `setThreads(${bad})`);
    assert.match(error.message, /`threads` must be an integer from 1 to 256/);
    assert.match(error.message, new RegExp(`received ${bad}\\.`));
    assert.match(error.message, /Pass a count from 1/);
  }
  for (const [bad, shown] of [["2", 'the string "2"'], [null, "null"]]) {
    const error = captureError(() => setThreads(bad as unknown as number));
    assert.ok(error instanceof TypeError, `setThreads(${shown})`);
    assert.match(error.message, /`threads` must be a number/);
    assert.ok(error.message.includes(`received ${shown}.`), error.message);
  }
  assert.equal(getThreads(), DEFAULT_THREADS);
});

Deno.test("setThreads(1) disables the workers", async () => {
  try {
    await threadsReady();
    const previous = setThreads(1);
    try {
      const T = 300;
      const q = uniform(T * 16, 1);
      attentionWasm(q, q, q, 1, T, T, 16, 16, 0.25);
      assert.equal(threadsUsedLastCall(), 1);
    } finally {
      setThreads(previous);
    }
  } finally {
    stopThreads();
  }
});

Deno.test("setThreads() resizes the pool", async () => {
  const previous = setThreads(DEFAULT_THREADS + 1);
  try {
    assert.equal(await threadsReady(), DEFAULT_THREADS + 1);
    const T = 300;
    const q = uniform(T * 16, 10);
    const all = attentionWasm(q, q, q, 1, T, T, 16, 16, 0.25);
    assert.equal(threadsUsedLastCall(), DEFAULT_THREADS + 1);
    const oneThread = attentionWasm(q, q, q, 1, T, T, 16, 16, 0.25, {
      threads: 1,
    });
    assertSameBits(all.output, oneThread.output);
    assertSameBits(all.weights, oneThread.weights);
  } finally {
    setThreads(previous);
    stopThreads();
  }
  assert.equal(await threadsReady(), DEFAULT_THREADS);
  stopThreads();
});

Deno.test("stopThreads() lets the worker threads exit", async () => {
  const before = osThreads();
  const previous = setThreads(3);
  try {
    for (let cycle = 0; cycle < 5; cycle++) {
      assert.equal(await threadsReady(), 3);
      assert.equal(stopThreads(), 2);
    }
  } finally {
    setThreads(previous);
  }
  // One runtime thread may stay after the first worker ends; a leak would
  // leave one per worker instead.
  assert.ok(
    await settleOsThreads(before + 1) <= before + 1,
    `threads: ${osThreads()}`,
  );
});

Deno.test("stopThreads() ends workers still starting", async () => {
  const before = osThreads();
  const T = 300;
  const q = uniform(T * 16, 11);
  // The large call starts the workers, and stopThreads() runs before any of
  // them can report ready.
  attentionWasm(q, q, q, 1, T, T, 16, 16, 0.25);
  assert.equal(stopThreads(), DEFAULT_THREADS - 1);
  // One runtime thread may stay after the first worker ends; a leak would
  // leave one per worker instead.
  assert.ok(
    await settleOsThreads(before + 1) <= before + 1,
    `threads: ${osThreads()}`,
  );
});

Deno.test("threads option is validated", () => {
  const q = uniform(8, 1);
  assert.throws(
    () => attentionWasm(q, q, q, 1, 2, 2, 4, 4, 0.5, { threads: 0 }),
    /attentionWasm: `threads` must be a positive integer, received 0\. Pass 1 to stay on the calling thread/,
  );
  assert.throws(
    () =>
      scaledDotProductAttention([[1, 2]], [[1, 2]], [[1, 2]], {
        threads: 2.5,
      }),
    /scaledDotProductAttention: `threads` must be a positive integer, received 2\.5/,
  );
});

const SHAPES: [string, number, number, number, number, number][] = [
  // name, B, T, S, D, Dv
  ["odd sizes", 3, 37, 53, 13, 7],
  ["one query per batch entry", 9, 1, 40, 8, 8],
  ["fewer rows than threads", 1, 1, 64, 8, 8],
  ["key tiles", 1, 70, 1100, 64, 64],
];

for (const [name, B, T, S, D, Dv] of SHAPES) {
  for (const dtype of ["f64", "f32"] as const) {
    Deno.test(`threaded results match one thread: ${name}, ${dtype}`, async () => {
      await withThreadsForEverySize(async () => {
        const ready = await threadsReady();
        try {
          const q = uniform(B * T * D, 1);
          const k = uniform(B * S * D, 2);
          const v = uniform(B * S * Dv, 3);
          const random = new RandomState(4);
          const bits = (length: number, p: number) =>
            Uint8Array.from(random.rand(length).data, (x) => x < p ? 1 : 0);
          const masks: [Uint8Array | null, boolean][] = [
            [null, false],
            [bits(T * S, 0.7), false],
            [bits(B * T * S, 0.5), true],
          ];
          for (const [mask, maskBatched] of masks) {
            const run = (threads: number) => {
              const options = { mask, maskBatched, wantScores: true, threads };
              return dtype === "f64"
                ? attentionWasm(q, k, v, B, T, S, D, Dv, 0.3, options)
                : attentionWasmF32(
                  Float32Array.from(q),
                  Float32Array.from(k),
                  Float32Array.from(v),
                  B,
                  T,
                  S,
                  D,
                  Dv,
                  0.3,
                  options,
                );
            };
            const oneThread = run(1);
            assert.equal(threadsUsedLastCall(), 1);
            const split = run(ready);
            assert.equal(threadsUsedLastCall(), Math.min(ready, B * T));
            assertSameBits(split.output, oneThread.output);
            assertSameBits(split.weights, oneThread.weights);
            assertSameBits(split.scores!, oneThread.scores!);
          }
        } finally {
          stopThreads();
        }
      });
    });
  }
}

for (const callerWorks of [true, false]) {
  const rowsBy = callerWorks ? "all threads" : "workers only";
  Deno.test(`threaded results match one thread: random, ${rowsBy}`, async () => {
    const sizes = fc.record({
      B: fc.integer({ min: 1, max: 4 }),
      T: fc.integer({ min: 1, max: 40 }),
      S: fc.integer({ min: 1, max: 60 }),
      D: fc.integer({ min: 1, max: 20 }),
      Dv: fc.integer({ min: 1, max: 12 }),
      f32: fc.boolean(),
      maskKind: fc.constantFrom("none", "shared", "batched"),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    });
    await withThreadsForEverySize(async () => {
      const ready = await threadsReady();
      const previous = setCallerWorks(callerWorks);
      try {
        fc.assert(
          fc.property(sizes, ({ B, T, S, D, Dv, f32, maskKind, seed }) => {
            const q = uniform(B * T * D, seed);
            const k = uniform(B * S * D, seed + 1);
            const v = uniform(B * S * Dv, seed + 2);
            const maskLength = maskKind === "batched" ? B * T * S : T * S;
            const mask = maskKind === "none" ? null : Uint8Array.from(
              new RandomState(seed + 3).rand(maskLength).data,
              (x) => x < 0.6 ? 1 : 0,
            );
            const run = (threads: number) => {
              const options = {
                mask,
                maskBatched: maskKind === "batched",
                wantScores: true,
                threads,
              };
              return f32
                ? attentionWasmF32(
                  Float32Array.from(q),
                  Float32Array.from(k),
                  Float32Array.from(v),
                  B,
                  T,
                  S,
                  D,
                  Dv,
                  0.7,
                  options,
                )
                : attentionWasm(q, k, v, B, T, S, D, Dv, 0.7, options);
            };
            const oneThread = run(1);
            const split = run(ready);
            assert.equal(threadsUsedLastCall(), Math.min(ready, B * T));
            assertSameBits(split.output, oneThread.output);
            assertSameBits(split.weights, oneThread.weights);
            assertSameBits(split.scores!, oneThread.scores!);
          }),
          { numRuns: 200 },
        );
      } finally {
        setCallerWorks(previous);
        stopThreads();
      }
    });
  });
}

Deno.test("scaledDotProductAttention() splits large calls", async () => {
  const ready = await threadsReady();
  try {
    const random = new RandomState(0);
    const q = random.rand(2, 128, 64);
    const k = random.rand(2, 128, 64);
    const v = random.rand(2, 128, 64);
    const split = scaledDotProductAttention(q, k, v, { causal: true });
    assert.equal(threadsUsedLastCall(), ready);
    const oneThread = scaledDotProductAttention(q, k, v, {
      causal: true,
      threads: 1,
    });
    assert.equal(threadsUsedLastCall(), 1);
    assertSameBits(split.output.data, oneThread.output.data);
    assertSameBits(split.weights.data, oneThread.weights.data);
  } finally {
    stopThreads();
  }
});

Deno.test("small calls stay on the calling thread", async () => {
  await threadsReady();
  try {
    const q = uniform(2 * 10 * 64, 1);
    attentionWasm(q, q, q, 2, 10, 10, 64, 64, 0.125);
    assert.equal(threadsUsedLastCall(), 1);
  } finally {
    stopThreads();
  }
});

Deno.test("threads restart after stop and reselect", async () => {
  const T = 300;
  const q = uniform(T * 16, 5);
  try {
    await threadsReady();
    const before = attentionWasm(q, q, q, 1, T, T, 16, 16, 0.25);
    assert.equal(stopThreads(), DEFAULT_THREADS - 1);
    assert.equal(stopThreads(), 0);
    selectWasmKernels("simd128");
    const ready = await threadsReady();
    attentionWasm(q, q, q, 1, T, T, 16, 16, 0.25);
    assert.equal(threadsUsedLastCall(), ready);
    selectWasmKernels("auto");
    await threadsReady();
    const after = attentionWasm(q, q, q, 1, T, T, 16, 16, 0.25);
    assert.equal(threadsUsedLastCall(), ready);
    assertSameBits(after.output, before.output);
  } finally {
    selectWasmKernels("auto");
    stopThreads();
  }
});

Deno.test("worker errors reach the caller", async () => {
  const ready = await threadsReady();
  try {
    if (ready < 2) return;
    // Grow the memory to several rows of the job below.
    attentionWasm(
      uniform(300 * 16, 7),
      uniform(300 * 16, 8),
      uniform(300 * 16, 9),
      1,
      300,
      300,
      16,
      16,
      0.25,
    );
    const { exports } = loadSharedKernels()!;
    const base = exports.heap_base.value as number;
    const bytes = exports.memory.buffer.byteLength;
    // Rows are 64 KiB of f64 queries, and the second half of them lies past
    // the end of memory. runJob's last argument leaves every row to the
    // worker, so the worker traps.
    const D = 8192;
    const rows = 2 * Math.floor((bytes - base) / (D * 8));
    const job = {
      f32: 0,
      qAt: base,
      kAt: base,
      vAt: base,
      outAt: base,
      weightsAt: base,
      scoresAt: 0,
      maskAt: 0,
      maskBatched: 0,
      B: 1,
      T: rows,
      S: 1,
      D,
      Dv: 1,
      scale: 1,
    };
    await withThreadsForEverySize(() => {
      assert.throws(
        () => runJob(exports, job, 2, false),
        /attention: a worker thread failed: RuntimeError: memory access out of bounds/,
      );
      const T = 300;
      const q = uniform(T * 16, 6);
      const oneThread = attentionWasm(q, q, q, 1, T, T, 16, 16, 0.25, {
        threads: 1,
      });
      const two = attentionWasm(q, q, q, 1, T, T, 16, 16, 0.25, {
        threads: 2,
      });
      assert.equal(threadsUsedLastCall(), 2);
      assertSameBits(two.output, oneThread.output);
    });
  } finally {
    stopThreads();
  }
});

Deno.test("threads need no permission, allow exit", async () => {
  const script = `
import { RandomState, scaledDotProductAttention, threadsReady } from ${
    JSON.stringify(new URL("../lib/mod.ts", import.meta.url).href)
  };
const threads = await threadsReady();
const q = new RandomState(0).rand(1, 256, 64);
const { output } = scaledDotProductAttention(q, q, q);
console.log(threads, output.shape.join("x"));
`;
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--config",
      new URL("../deno.json", import.meta.url).pathname,
      "-",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const child = command.spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const timer = setTimeout(() => child.kill(), 60_000);
  const { code, stdout, stderr } = await child.output();
  clearTimeout(timer);
  const errors = new TextDecoder().decode(stderr);
  assert.equal(code, 0, errors);
  assert.equal(
    new TextDecoder().decode(stdout).trim(),
    `${Math.max(1, DEFAULT_THREADS)} 1x256x64`,
  );
});
