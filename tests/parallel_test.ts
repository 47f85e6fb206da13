import assert from "node:assert/strict";
import { Mask, RandomState, Tensor } from "attention";
import {
  attentionParallel,
  closeWorkers,
  PARALLEL_MIN_WORK,
  splitRows,
  workerCount,
} from "../lib/parallel.ts";
import { attentionOutput } from "../lib/streaming.ts";

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

Deno.test("attentionParallel() equals the single-thread output", async () => {
  const rng = new RandomState(7);
  // Each case has B * T * S >= PARALLEL_MIN_WORK, so the workers run.
  const cases: [number, number, number, number, number][] = [
    [8, 128, 512, 64, 64],
    [1, 1024, 600, 16, 9],
    [3, 257, 700, 8, 5],
  ];
  try {
    for (const [B, T, S, D, Dv] of cases) {
      assert.ok(B * T * S >= PARALLEL_MIN_WORK);
      const q = rng.randn(B, T, D);
      const k = rng.randn(B, S, D);
      const v = rng.randn(B, S, Dv);
      const mask = new Mask(
        Uint8Array.from(rng.rand(B, T, S).data, (x) => (x < 0.7 ? 1 : 0)),
        [B, T, S],
      );
      for (const options of [{}, { causal: true }, { mask }]) {
        const label = `(${B}, ${T}, ${S}) ${Object.keys(options)}`;
        const single = attentionOutput(q, k, v, {
          ...options,
          streaming: true,
        });
        const parallel = await attentionParallel(q, k, v, {
          ...options,
          workers: 3,
        });
        assert.deepEqual(parallel.shape, single.shape, label);
        assert.ok(maxDifference(parallel.data, single.data) <= 1e-12, label);
      }
    }
    assert.ok(workerCount() > 0);
  } finally {
    closeWorkers();
  }
});

Deno.test("attentionParallel() runs small calls on the calling thread", async () => {
  const x = new RandomState(8).randn(2, 16, 4);
  const output = await attentionParallel(x, x, x, { workers: 4 });
  assert.equal(workerCount(), 0);
  assert.ok(maxDifference(output.data, attentionOutput(x, x, x).data) <= 1e-12);
});

Deno.test("closeWorkers() terminates the pool", async () => {
  const x = new RandomState(9).randn(1, 1024, 8);
  await attentionParallel(x, x, x, { workers: 2 });
  assert.equal(workerCount(), 2);
  assert.equal(closeWorkers(), 2);
  assert.equal(workerCount(), 0);
  assert.equal(closeWorkers(), 0);
});

Deno.test("attentionParallel() rejects an invalid worker count", () => {
  const x = Tensor.zeros([1, 2, 2]);
  for (const workers of [0, 1.5, -1]) {
    assert.throws(
      () => attentionParallel(x, x, x, { workers }),
      /option `workers` is .*, expected a positive integer/,
    );
  }
});

Deno.test("splitRows() covers every row once with balanced causal work", () => {
  for (
    const [B, T, causal, shares] of [[3, 5, false, 2], [1, 100, true, 3], [
      4,
      7,
      true,
      8,
    ]] as const
  ) {
    const parts = splitRows(B, T, T, causal, shares);
    assert.ok(parts.length <= shares);
    const seen = new Uint8Array(B * T);
    for (const part of parts) {
      for (const { batch, start, rows } of part) {
        for (let t = start; t < start + rows; t++) seen[batch * T + t]++;
      }
    }
    assert.ok(
      seen.every((count) => count === 1),
      `${B} ${T} ${causal} ${shares}`,
    );
  }
  // Causal work of row t is t + 1, so the later of two shares has fewer rows.
  const [first, second] = splitRows(1, 100, 100, true, 2);
  assert.ok(first[0].rows > second[0].rows);
});
