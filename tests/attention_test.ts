import assert from "node:assert/strict";
import fc from "fast-check";
import {
  assertAllClose,
  type AttentionOptions,
  causalMask,
  Mask,
  referenceAttention,
  scaledDotProductAttention,
  ShapeError,
  softmax,
  Tensor,
} from "attention";

/** Shapes (B, T, S, D, Dv) and values for one random attention problem. */
interface Problem {
  dims: [number, number, number, number, number];
  query: Tensor;
  key: Tensor;
  value: Tensor;
}

function tensorOf(values: number[], shape: number[]): Tensor {
  return new Tensor(Float64Array.from(values), shape);
}

const value = fc.double({
  min: -4,
  max: 4,
  noNaN: true,
  noDefaultInfinity: true,
});

/** Random attention problems with small, often unequal sizes. */
const problems: fc.Arbitrary<Problem> = fc
  .tuple(
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 1, max: 9 }),
    fc.integer({ min: 1, max: 9 }),
    fc.integer({ min: 1, max: 9 }),
    fc.integer({ min: 1, max: 5 }),
  )
  .chain(([B, T, S, D, Dv]) =>
    fc.record({
      dims: fc.constant(
        [B, T, S, D, Dv] as [number, number, number, number, number],
      ),
      query: fc.array(value, { minLength: B * T * D, maxLength: B * T * D })
        .map((xs) => tensorOf(xs, [B, T, D])),
      key: fc.array(value, { minLength: B * S * D, maxLength: B * S * D })
        .map((xs) => tensorOf(xs, [B, S, D])),
      value: fc.array(value, { minLength: B * S * Dv, maxLength: B * S * Dv })
        .map((xs) => tensorOf(xs, [B, S, Dv])),
    })
  );

/** Random (B, T, S) masks to go with a problem. */
function maskFor(problem: Problem): fc.Arbitrary<boolean[][][]> {
  const [B, T, S] = problem.dims;
  return fc.array(
    fc.array(fc.array(fc.boolean(), { minLength: S, maxLength: S }), {
      minLength: T,
      maxLength: T,
    }),
    { minLength: B, maxLength: B },
  );
}

const problemsWithMask = problems.chain((problem) =>
  maskFor(problem).map((mask) => ({ problem, mask }))
);

const RUNS = { numRuns: 200 };
const BACKENDS = ["typescript", "wasm"] as const;

for (const backend of BACKENDS) {
  const attend = (
    q: Tensor,
    k: Tensor,
    v: Tensor,
    options: AttentionOptions = {},
  ) => scaledDotProductAttention(q, k, v, { ...options, backend });

  Deno.test(`attend() matches the mathjs reference (${backend})`, () => {
    fc.assert(
      fc.property(problems, ({ query, key, value }) => {
        const actual = attend(query, key, value);
        const expected = referenceAttention(query, key, value);
        assertAllClose(actual.scores, expected.scores, {}, "scores");
        assertAllClose(actual.weights, expected.weights, {}, "weights");
        assertAllClose(actual.output, expected.output, {}, "output");
      }),
      RUNS,
    );
  });

  Deno.test(`attend() matches the reference with masks (${backend})`, () => {
    fc.assert(
      fc.property(problemsWithMask, ({ problem, mask }) => {
        const { query, key, value } = problem;
        const actual = attend(query, key, value, { mask });
        const expected = referenceAttention(query, key, value, mask);
        assertAllClose(actual.weights, expected.weights, {}, "weights");
        assertAllClose(actual.output, expected.output, {}, "output");
      }),
      RUNS,
    );
  });

  Deno.test(`weights rows sum to 1 and lie in [0, 1] (${backend})`, () => {
    fc.assert(
      fc.property(problems, ({ dims, query, key, value }) => {
        const [B, T, S] = dims;
        const { weights } = attend(query, key, value);
        for (let row = 0; row < B * T; row++) {
          let sum = 0;
          for (let s = 0; s < S; s++) {
            const w = weights.data[row * S + s];
            assert.ok(w >= 0, `weight ${w} is negative`);
            assert.ok(w <= 1, `weight ${w} is above 1`);
            sum += w;
          }
          assert.ok(Math.abs(sum - 1) <= 1e-12, `row ${row} sums to ${sum}`);
        }
      }),
      RUNS,
    );
  });

  Deno.test(`softmax() is unchanged when a constant is added to a row (${backend})`, () => {
    const rows = fc.array(value, { minLength: 1, maxLength: 16 });
    fc.assert(
      fc.property(
        rows,
        fc.double({ min: -100, max: 100, noNaN: true }),
        (row, c) => {
          const shifted = row.map((x) => x + c);
          assertAllClose(softmax([shifted]), softmax([row]), {
            rtol: 1e-11,
            atol: 1e-13,
          });
        },
      ),
      RUNS,
    );
  });

  Deno.test(`permuting keys and values together leaves the output unchanged (${backend})`, () => {
    const cases = problems.chain((problem) =>
      fc.shuffledSubarray(
        Array.from({ length: problem.dims[2] }, (_, i) => i),
        { minLength: problem.dims[2], maxLength: problem.dims[2] },
      ).map((order) => ({ problem, order }))
    );
    fc.assert(
      fc.property(cases, ({ problem, order }) => {
        const { query, key, value } = problem;
        const permute = (x: Tensor) =>
          Tensor.from(
            (x.toArray() as number[][][]).map((rows) =>
              order.map((s) => rows[s])
            ),
          );
        const base = attend(query, key, value);
        const moved = attend(
          query,
          permute(key),
          permute(value),
        );
        assertAllClose(moved.output, base.output);
        const baseWeights = base.weights.toArray() as number[][][];
        const movedWeights = moved.weights.toArray() as number[][][];
        baseWeights.forEach((rows, b) =>
          rows.forEach((row, t) =>
            order.forEach((s, i) =>
              assert.ok(Math.abs(movedWeights[b][t][i] - row[s]) <= 1e-12)
            )
          )
        );
      }),
      RUNS,
    );
  });

  Deno.test(`each output entry lies within its column of values (${backend})`, () => {
    fc.assert(
      fc.property(problems, ({ dims, query, key, value }) => {
        const [B, T, S, , Dv] = dims;
        const { output } = attend(query, key, value);
        for (let b = 0; b < B; b++) {
          for (let d = 0; d < Dv; d++) {
            let low = Infinity;
            let high = -Infinity;
            for (let s = 0; s < S; s++) {
              const x = value.get(b, s, d);
              low = Math.min(low, x);
              high = Math.max(high, x);
            }
            for (let t = 0; t < T; t++) {
              const y = output.get(b, t, d);
              assert.ok(
                y >= low - 1e-12 && y <= high + 1e-12,
                `${y} not in [${low}, ${high}]`,
              );
            }
          }
        }
      }),
      RUNS,
    );
  });

  Deno.test(`causal option equals a hand-built lower-triangular mask (${backend})`, () => {
    fc.assert(
      fc.property(problems, ({ dims, query, key, value }) => {
        const [, T, S] = dims;
        const lower = Array.from(
          { length: T },
          (_, t) => Array.from({ length: S }, (_, s) => s <= t),
        );
        const causal = attend(query, key, value, {
          causal: true,
        });
        const masked = attend(query, key, value, {
          mask: lower,
        });
        assert.deepEqual(causal.weights.toArray(), masked.weights.toArray());
        assert.deepEqual(causal.output.toArray(), masked.output.toArray());
        assert.deepEqual(causalMask(T, S).toArray(), lower);
      }),
      RUNS,
    );
  });

  Deno.test(`scores up to 1e4 in magnitude give finite weights (${backend})`, () => {
    fc.assert(
      fc.property(problems, ({ dims, query, key, value }) => {
        const [B, T, S] = dims;
        const times100 = (x: Tensor) =>
          new Tensor(x.data.map((v) => v * 100), x.shape);
        const result = attend(
          times100(query),
          times100(key),
          value,
        );
        for (const w of result.weights.data) assert.ok(Number.isFinite(w));
        for (const y of result.output.data) assert.ok(Number.isFinite(y));
        for (let row = 0; row < B * T; row++) {
          let sum = 0;
          for (let s = 0; s < S; s++) sum += result.weights.data[row * S + s];
          assert.ok(Math.abs(sum - 1) <= 1e-12);
        }
      }),
      RUNS,
    );
  });

  Deno.test(`values at masked positions do not change the output (${backend})`, () => {
    fc.assert(
      fc.property(
        problemsWithMask,
        fc.constantFrom(NaN, Infinity, -Infinity, 1e308),
        (
          { problem, mask },
          poison,
        ) => {
          const [B, T, S, D, Dv] = problem.dims;
          const base = attend(
            problem.query,
            problem.key,
            problem.value,
            {
              mask,
            },
          );
          const key = new Float64Array(problem.key.data);
          const val = new Float64Array(problem.value.data);
          const query = new Float64Array(problem.query.data);
          for (let b = 0; b < B; b++) {
            for (let s = 0; s < S; s++) {
              if (mask[b].some((row) => row[s])) continue;
              key.fill(poison, (b * S + s) * D, (b * S + s + 1) * D);
              val.fill(poison, (b * S + s) * Dv, (b * S + s + 1) * Dv);
            }
            for (let t = 0; t < T; t++) {
              if (mask[b][t].some((x) => x)) continue;
              query.fill(poison, (b * T + t) * D, (b * T + t + 1) * D);
            }
          }
          const poisoned = attend(
            new Tensor(query, [B, T, D]),
            new Tensor(key, [B, S, D]),
            new Tensor(val, [B, S, Dv]),
            { mask },
          );
          assert.deepEqual(poisoned.output.toArray(), base.output.toArray());
          assert.deepEqual(poisoned.weights.toArray(), base.weights.toArray());
        },
      ),
      RUNS,
    );
  });
}

Deno.test("fully masked row gives zero weights and output", () => {
  const x = [[[1, 2], [3, 4], [5, 6]]];
  const mask = [[true, true, false], [false, false, false], [
    true,
    false,
    true,
  ]];
  const { weights, output, scores } = scaledDotProductAttention(x, x, x, {
    mask,
  });
  assert.deepEqual((weights.toArray() as number[][][])[0][1], [0, 0, 0]);
  assert.deepEqual((output.toArray() as number[][][])[0][1], [0, 0]);
  assert.deepEqual((scores.toArray() as number[][][])[0][1], [
    -Infinity,
    -Infinity,
    -Infinity,
  ]);
  assert.ok(weights.data.every((w) => !Number.isNaN(w)));
});

Deno.test("batched mask applies per batch entry", () => {
  const x = [[[1, 0], [0, 1]], [[1, 0], [0, 1]]];
  const mask = Mask.from([[[true, false], [true, false]], [[false, true], [
    false,
    true,
  ]]]);
  const { weights } = scaledDotProductAttention(x, x, x, { mask });
  assert.deepEqual(weights.toArray(), [[[1, 0], [1, 0]], [[0, 1], [0, 1]]]);
});

Deno.test("causal option aligns the triangle top-left when T != S", () => {
  const q = [[[1, 0]], [[0, 1]]].flat(); // (T, D) = (2, 2)
  const k = [[1, 0], [0, 1], [1, 1]]; // (S, D) = (3, 2)
  const { weights } = scaledDotProductAttention(q, k, k, { causal: true });
  const rows = weights.toArray() as number[][];
  assert.equal(rows[0][1], 0);
  assert.equal(rows[0][2], 0);
  assert.ok(rows[1][0] > 0);
  assert.ok(rows[1][1] > 0);
  assert.equal(rows[1][2], 0);
});

Deno.test("scale option replaces 1 / sqrt(d_k)", () => {
  const q = [[[1, 2]]];
  const k = [[[3, 4], [5, 6]]];
  const { scores } = scaledDotProductAttention(q, k, k, { scale: 0.5 });
  assert.deepEqual(scores.toArray(), [[[5.5, 8.5]]]);
  const defaults = scaledDotProductAttention(q, k, k).scores
    .toArray() as number[][][];
  assert.ok(Math.abs(defaults[0][0][0] - 11 / Math.sqrt(2)) < 1e-12);
});

Deno.test("rank-2 inputs give rank-2 results", () => {
  const x = [[1, 0, 0], [0, 1, 0]];
  const v = [[1], [2]];
  const { output, weights, scores } = scaledDotProductAttention(x, x, v);
  assert.deepEqual(output.shape, [2, 1]);
  assert.deepEqual(weights.shape, [2, 2]);
  assert.deepEqual(scores.shape, [2, 2]);
});

Deno.test("blocked and row-by-row kernels agree", () => {
  // T = 9 runs two blocks of four rows and one single row; a mask that allows
  // everything forces the row-by-row path for all nine.
  const rng = (seed: number) => () =>
    (seed = (seed * 16807) % 2147483647) / 2147483647;
  const next = rng(7);
  const make = (shape: number[]) =>
    new Tensor(
      Float64Array.from({ length: shape.reduce((a, b) => a * b) }, next),
      shape,
    );
  const q = make([2, 9, 13]);
  const k = make([2, 11, 13]);
  const v = make([2, 11, 5]);
  const all = Array.from({ length: 9 }, () => new Array(11).fill(true));
  const fast = scaledDotProductAttention(q, k, v, { backend: "typescript" });
  const rowwise = scaledDotProductAttention(q, k, v, {
    mask: all,
    backend: "typescript",
  });
  assertAllClose(fast.output, rowwise.output);
  assertAllClose(fast.weights, rowwise.weights);
});

Deno.test("wasm and typescript backends agree with causal masks", () => {
  const next = (() => {
    let seed = 11;
    return () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  })();
  const make = (shape: number[]) =>
    new Tensor(
      Float64Array.from({ length: shape.reduce((a, b) => a * b) }, next),
      shape,
    );
  const q = make([3, 37, 65]);
  const k = make([3, 41, 65]);
  const v = make([3, 41, 7]);
  for (const causal of [false, true]) {
    const wasm = scaledDotProductAttention(q, k, v, {
      causal,
      backend: "wasm",
    });
    const plain = scaledDotProductAttention(q, k, v, {
      causal,
      backend: "typescript",
    });
    assertAllClose(wasm.weights, plain.weights);
    assertAllClose(wasm.output, plain.output);
    assertAllClose(wasm.scores, plain.scores);
  }
});

/** A table of bad inputs: each gives its error class and a message pattern. */
const q3 = Tensor.zeros([2, 10, 64]);
const badInputs: {
  name: string;
  run: () => unknown;
  error:
    | ErrorConstructor
    | RangeErrorConstructor
    | TypeErrorConstructor
    | typeof ShapeError;
  message: RegExp;
}[] = [
  {
    name: "batch mismatch",
    run: () =>
      scaledDotProductAttention(
        q3,
        Tensor.zeros([3, 10, 64]),
        Tensor.zeros([3, 10, 64]),
      ),
    error: ShapeError,
    message:
      /batch sizes differ: query has shape \(2, 10, 64\).*key has shape \(3, 10, 64\)/,
  },
  {
    name: "value batch mismatch",
    run: () => scaledDotProductAttention(q3, q3, Tensor.zeros([1, 10, 64])),
    error: ShapeError,
    message: /batch sizes differ.*value has shape \(1, 10, 64\)/,
  },
  {
    name: "d_k mismatch",
    run: () => scaledDotProductAttention(q3, Tensor.zeros([2, 10, 32]), q3),
    error: ShapeError,
    message:
      /d_k differs: query has shape \(2, 10, 64\) \(d_k = 64\) but key has shape \(2, 10, 32\)/,
  },
  {
    name: "key and value length mismatch",
    run: () => scaledDotProductAttention(q3, q3, Tensor.zeros([2, 9, 64])),
    error: ShapeError,
    message:
      /key and value lengths differ: key has shape \(2, 10, 64\).*value has shape \(2, 9, 64\)/,
  },
  {
    name: "wrong rank",
    run: () => scaledDotProductAttention(Tensor.zeros([64]), q3, q3),
    error: ShapeError,
    message:
      /`query` must have rank 2 or 3 with shape \(T, D\) or \(B, T, D\), received rank 1 with shape \(64,\)/,
  },
  {
    name: "mixed ranks",
    run: () => scaledDotProductAttention(q3, Tensor.zeros([10, 64]), q3),
    error: ShapeError,
    message: /same rank.*query \(2, 10, 64\), key \(10, 64\)/,
  },
  {
    name: "zero-length axis",
    run: () => scaledDotProductAttention(Tensor.zeros([2, 0, 64]), q3, q3),
    error: ShapeError,
    message: /`query` has a zero-length axis 1 in shape \(2, 0, 64\)/,
  },
  {
    name: "ragged nested array",
    run: () => scaledDotProductAttention([[[1, 2], [3]]], q3, q3),
    error: ShapeError,
    message:
      /`query`: Tensor.from: nested array is ragged: entry \[0\]\[1\] has length 1/,
  },
  {
    name: "non-number entry",
    run: () =>
      scaledDotProductAttention(
        [[["1", 2]]] as unknown as number[][][],
        q3,
        q3,
      ),
    error: TypeError,
    message:
      /`query`: Tensor.from: entry \[0\]\[0\]\[0\] is the string "1", expected a number/,
  },
  {
    name: "argument that is not an array",
    run: () =>
      scaledDotProductAttention("queries" as unknown as number[], q3, q3),
    error: TypeError,
    message:
      /`query` must be a Tensor or nested arrays of numbers, received the string "queries"/,
  },
  {
    name: "mask of the wrong shape",
    run: () =>
      scaledDotProductAttention(q3, q3, q3, { mask: causalMask(10, 9) }),
    error: ShapeError,
    message:
      /option `mask` has shape \(10, 9\), expected \(10, 10\) or \(2, 10, 10\)/,
  },
  {
    name: "mask with numbers",
    run: () =>
      scaledDotProductAttention([[1]], [[1]], [[1]], {
        mask: [[1]] as unknown as boolean[][],
      }),
    error: TypeError,
    message:
      /option `mask`: Mask.from: entry \[0\]\[0\] is 1, expected true or false/,
  },
  {
    name: "NaN in query",
    run: () => scaledDotProductAttention([[[1, NaN]]], [[[1, 2]]], [[[1]]]),
    error: RangeError,
    message:
      /`query` contains NaN at index \[0, 0, 1\] \(query position 0, feature 1\), which is not masked out/,
  },
  {
    name: "Infinity in key",
    run: () =>
      scaledDotProductAttention([[[1, 2]]], [[[1, 2], [Infinity, 0]]], [[[1], [
        2,
      ]]]),
    error: RangeError,
    message: /`key` contains Infinity at index \[0, 1, 0\] \(key position 1/,
  },
  {
    name: "NaN in value at an attended key",
    run: () =>
      scaledDotProductAttention(
        [[[1, 2]]],
        [[[1, 2], [3, 4]]],
        [[[1], [NaN]]],
        {
          mask: [[true, true]],
        },
      ),
    error: RangeError,
    message: /`value` contains NaN at index \[0, 1, 0\]/,
  },
  {
    name: "unknown option",
    run: () => scaledDotProductAttention(q3, q3, q3, { casual: true } as never),
    error: TypeError,
    message:
      /unknown option `casual`. Valid options are mask, causal, scale, backend, dtype and threads/,
  },
  {
    name: "unknown backend",
    run: () =>
      scaledDotProductAttention(q3, q3, q3, { backend: "gpu" as never }),
    error: TypeError,
    message:
      /option `backend` is the string "gpu", expected "auto", "wasm" or "typescript"/,
  },
  {
    name: "non-finite scale",
    run: () => scaledDotProductAttention(q3, q3, q3, { scale: NaN }),
    error: RangeError,
    message: /option `scale` is NaN, expected a finite number/,
  },
  {
    name: "negative size",
    run: () => Tensor.zeros([2, -1]),
    error: RangeError,
    message:
      /size -1 at axis 1 of shape \[2, -1\] is invalid: expected a non-negative integer/,
  },
  {
    name: "fractional size",
    run: () => Tensor.zeros([2.5]),
    error: RangeError,
    message: /size 2.5 at axis 0/,
  },
  {
    name: "fractional causal size",
    run: () => causalMask(1.5),
    error: RangeError,
    message: /causalMask: `queries` is 1.5, expected a positive integer/,
  },
];

for (const bad of badInputs) {
  Deno.test(`scaledDotProductAttention() rejects ${bad.name}`, () => {
    assert.throws(bad.run, (error: unknown) => {
      assert.ok(
        error instanceof bad.error,
        `expected ${bad.error.name}, got ${error}`,
      );
      assert.match((error as Error).message, bad.message);
      return true;
    });
  });
}

Deno.test("ShapeError carries actual and expected shapes", () => {
  try {
    scaledDotProductAttention(q3, Tensor.zeros([2, 10, 32]), q3);
    assert.fail("expected a ShapeError");
  } catch (error) {
    assert.ok(error instanceof ShapeError);
    assert.ok(error instanceof RangeError);
    assert.deepEqual(error.actual, [2, 10, 32]);
    assert.deepEqual(error.expected, [2, 10, 64]);
  }
});
