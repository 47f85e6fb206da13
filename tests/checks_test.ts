import assert from "node:assert/strict";
import {
  matmul,
  RandomState,
  scaledDotProductAttention,
  softmax,
  Tensor,
  transpose,
} from "attention";
import {
  type Attention,
  CheckError,
  EXERCISE_TITLES,
  type GenerateInputs,
  NotDoneError,
  part1,
  part2,
  part3,
  part4,
  todo,
} from "attention/checks";

/** Runs `fn` with console.log captured and returns the logged lines. */
function captureLog(fn: () => void): string[] {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    fn();
  } finally {
    console.log = original;
  }
  return lines;
}

/** Asserts that `fn` throws a CheckError for `exercise` whose message matches `pattern`. */
function assertCheckError(
  fn: () => void,
  exercise: number,
  pattern: RegExp,
): CheckError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(
    caught instanceof CheckError,
    `expected a CheckError, got ${caught}`,
  );
  assert.equal(caught.exercise, exercise);
  assert.match(
    caught.message,
    new RegExp(`^Exercise ${exercise} is not right yet: `),
  );
  assert.match(caught.message, / Hint: /);
  assert.match(caught.message, pattern);
  return caught;
}

/** Code fragments of the solutions that no check message may contain. */
const SOLUTION_FRAGMENTS = [
  /rand\(batchSize, seqLen, dModel\)/,
  /transpose\(keys\)/,
  /Math\.sqrt\(/,
  /matmul\(weights, values\)/,
  /matmul\(queries, /,
];

function assertNoSolution(error: Error): void {
  for (const fragment of SOLUTION_FRAGMENTS) {
    assert.doesNotMatch(error.message, fragment);
  }
}

const rightSizes = () => ({ dModel: 64, seqLen: 10, batchSize: 2 });

const rightInputs: GenerateInputs = (rng, batchSize, seqLen, dModel) => {
  const queries = rng.rand(batchSize, seqLen, dModel);
  const keys = rng.rand(batchSize, seqLen, dModel);
  const values = rng.rand(batchSize, seqLen, dModel);
  return { queries, keys, values };
};

const rightScores = (queries: Tensor, keys: Tensor) =>
  matmul(queries, transpose(keys));

/** Attention built from the steps, with the scale factor as a parameter. */
function attentionWithScale(
  factor: (queries: Tensor, values: Tensor) => number,
): Attention {
  return (queries, keys, values) => {
    const scores = matmul(queries, transpose(keys));
    const c = factor(queries, values);
    const scaled = new Tensor(scores.data.map((x) => x * c), scores.shape);
    const weights = softmax(scaled);
    return { output: matmul(weights, values), weights };
  };
}

const rightAttention = attentionWithScale((q) => 1 / Math.sqrt(q.shape[2]));

Deno.test("todo() throws NotDoneError naming the cell", () => {
  for (const exercise of [1, 2, 3, 4] as const) {
    assert.throws(() => todo(exercise), NotDoneError);
    try {
      todo(exercise);
    } catch (caught) {
      assert.ok(caught instanceof NotDoneError);
      assert.equal(caught.name, "NotDoneError");
      assert.equal(caught.exercise, exercise);
      assert.ok(
        caught.message.startsWith(
          `Exercise ${exercise} is not done yet: complete the cell under ` +
            `"Exercise ${exercise}: ${EXERCISE_TITLES[exercise]}"`,
        ),
      );
      assert.equal(caught.stack, `NotDoneError: ${caught.message}`);
    }
  }
});

Deno.test("todo() rejects an unknown exercise", () => {
  assert.throws(() => todo(5 as 1), RangeError);
  assert.throws(() => todo(5 as 1), /exercise 5 does not exist/);
});

Deno.test("part1() passes the challenge sizes", () => {
  const lines = captureLog(() => part1(rightSizes));
  assert.deepEqual(lines, [
    "Exercise 1 passed: dModel = 64, seqLen = 10, batchSize = 2.",
  ]);
});

Deno.test("part1() lets NotDoneError through", () => {
  assert.throws(() => part1(() => todo(1)), NotDoneError);
});

Deno.test("part1() rejects wrong sizes without revealing them", () => {
  const error = assertCheckError(
    () => part1(() => ({ dModel: 32, seqLen: 10, batchSize: 2 })),
    1,
    /`seqLen` and `batchSize` are right, but `dModel` is 32/,
  );
  assert.doesNotMatch(error.message, /64/);
  assertCheckError(
    () => part1(() => ({ dModel: 64, seqLen: 2, batchSize: 10 })),
    1,
    /look swapped/,
  );
  const allWrong = assertCheckError(
    () => part1(() => ({ dModel: 32, seqLen: 2, batchSize: 10 })),
    1,
    /^Exercise 1 is not right yet: `dModel` is 32/,
  );
  assert.match(allWrong.message, /`seqLen` is 2, which is not the value/);
  assert.match(allWrong.message, /`batchSize` is 10, which is not the value/);
  assertCheckError(
    () => part1(() => ({ dModel: 64, seqLen: 10.5, batchSize: 2 })),
    1,
    /`seqLen` is 10\.5, but a size must be a positive integer/,
  );
  assertCheckError(
    () => part1(() => ({ d_model: 64, seqLen: 10, batchSize: 2 }) as never),
    1,
    /no `dModel` property; it has d_model, seqLen, batchSize/,
  );
  assertCheckError(
    () => part1(() => 64 as never),
    1,
    /returned 64, not an object/,
  );
});

Deno.test("part1() reports dModel and seqLen swapped", () => {
  const error = assertCheckError(
    () => part1(() => ({ dModel: 10, seqLen: 64, batchSize: 2 })),
    1,
    /^Exercise 1 is not right yet: `batchSize` is right, but /,
  );
  assert.match(
    error.message,
    /`dModel` is 10 and `seqLen` is 64, so the two values look swapped/,
  );
  assert.match(error.message, /`dModel` is d_model, the number of features/);
  assert.match(error.message, /`seqLen` is seq_len, the number of tokens/);
});

Deno.test("part1() reports every wrong size", () => {
  const error = assertCheckError(
    () => part1(() => ({ dModel: 32, seqLen: 5, batchSize: 2 })),
    1,
    /^Exercise 1 is not right yet: `batchSize` is right, but /,
  );
  assert.match(error.message, /`dModel` is 32, which is not the value/);
  assert.match(error.message, /`seqLen` is 5, which is not the value/);
  assert.doesNotMatch(error.message, /swapped/);
  assert.doesNotMatch(error.message, /64/);
});

Deno.test("part1() rejects a call result instead of the function", () => {
  assertCheckError(() => part1(rightSizes() as never), 1, /without calling it/);
});

Deno.test("part2() passes rand draws in order", () => {
  const lines = captureLog(() => part2(rightInputs));
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^Exercise 2 passed/);
});

Deno.test("part2() lets NotDoneError of any exercise through", () => {
  assert.throws(
    () => part2(() => todo(2)),
    (error) => error instanceof NotDoneError && error.exercise === 2,
  );
  assert.throws(
    () => part2(() => todo(1)),
    (error) => error instanceof NotDoneError && error.exercise === 1,
  );
});

Deno.test("part2() rejects wrong shapes", () => {
  const error = assertCheckError(
    () =>
      part2((rng, batchSize, seqLen, dModel) => ({
        queries: rng.rand(seqLen, batchSize, dModel),
        keys: rng.rand(seqLen, batchSize, dModel),
        values: rng.rand(seqLen, batchSize, dModel),
      })),
    2,
    /`queries` of shape \(4, 3, 5\), expected \(batch_size, seq_len, d_model\) = \(3, 4, 5\)/,
  );
  assertNoSolution(error);
  assertCheckError(
    () => part2((rng) => rightInputs(rng, 2, 10, 64)),
    2,
    /fixed sizes/,
  );
});

Deno.test("part2() rejects a different draw order", () => {
  const error = assertCheckError(
    () =>
      part2((rng, batchSize, seqLen, dModel) => {
        const keys = rng.rand(batchSize, seqLen, dModel);
        const queries = rng.rand(batchSize, seqLen, dModel);
        const values = rng.rand(batchSize, seqLen, dModel);
        return { queries, keys, values };
      }),
    2,
    /right numbers in a different order/,
  );
  assertNoSolution(error);
});

Deno.test("part2() rejects reused, normal or reseeded draws", () => {
  assertCheckError(
    () =>
      part2((rng, batchSize, seqLen, dModel) => {
        const queries = rng.rand(batchSize, seqLen, dModel);
        return { queries, keys: queries, values: queries };
      }),
    2,
    /Two of them contain the same numbers/,
  );
  assertCheckError(
    () =>
      part2((rng, batchSize, seqLen, dModel) => ({
        queries: rng.randn(batchSize, seqLen, dModel),
        keys: rng.randn(batchSize, seqLen, dModel),
        values: rng.randn(batchSize, seqLen, dModel),
      })),
    2,
    /outside \[0, 1\)/,
  );
  assertCheckError(
    () => part2((_rng, b, t, d) => rightInputs(new RandomState(0), b, t, d)),
    2,
    /match a generator seeded with 0, but this check passed a generator seeded with 7/,
  );
  assertCheckError(
    () =>
      part2((rng, b, t, d) => {
        rng.rand(1);
        return rightInputs(rng, b, t, d);
      }),
    2,
    /no other draws in between/,
  );
});

Deno.test("part2() rejects a result that is not three tensors", () => {
  assertCheckError(
    () => part2((rng, b, t, d) => rng.rand(b, t, d) as never),
    2,
    /returned a Tensor of shape \(3, 4, 5\), expected an object \{ queries, keys, values \}/,
  );
  assertCheckError(
    () =>
      part2((rng, b, t, d) =>
        ({
          queries: rng.rand(b, t, d),
          keys: rng.rand(b, t, d),
        }) as never
      ),
    2,
    /`values` is undefined, expected a Tensor/,
  );
});

Deno.test("part3() passes Q K^T", () => {
  const lines = captureLog(() => part3(rightScores));
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^Exercise 3 passed/);
});

Deno.test("part3() lets NotDoneError through", () => {
  assert.throws(() => part3(() => todo(3)), NotDoneError);
});

Deno.test("part3() explains a missing transpose", () => {
  const error = assertCheckError(
    () => part3((queries, keys) => matmul(queries, keys)),
    3,
    /attentionScores threw ShapeError: matmul: inner sizes differ/,
  );
  assert.match(
    error.message,
    /Which of the two tensors has to change its shape\?/,
  );
  assertNoSolution(error);

  // Only square inputs reach the numeric test, because rectangular ones throw.
  const squareOnly = (queries: Tensor, keys: Tensor) =>
    queries.shape[1] === keys.shape[1]
      ? matmul(queries, keys)
      : rightScores(queries, keys);
  assertNoSolution(
    assertCheckError(
      () => part3(squareOnly),
      3,
      /product Q K without a transpose/,
    ),
  );
});

Deno.test("part3() rejects keys first", () => {
  assertCheckError(
    () => part3((queries, keys) => matmul(keys, transpose(queries))),
    3,
    /returned shape \(2, 5, 3\), expected \(B, T, S\) = \(2, 3, 5\).*rows belong to the keys/,
  );
});

Deno.test("part3() rejects scaling and softmax", () => {
  const scaled = (queries: Tensor, keys: Tensor) => {
    const scores = rightScores(queries, keys);
    const c = 1 / Math.sqrt(queries.shape[2]);
    return new Tensor(scores.data.map((x) => x * c), scores.shape);
  };
  assertCheckError(() => part3(scaled), 3, /already divided by sqrt\(d_k\)/);
  assertCheckError(
    () => part3((queries, keys) => softmax(rightScores(queries, keys))),
    3,
    /already went through softmax/,
  );
});

Deno.test("part3() rejects other numbers and non-tensors", () => {
  assertCheckError(
    () =>
      part3((queries, keys) => {
        const scores = rightScores(queries, keys);
        return new Tensor(scores.data.map((x) => x + 1), scores.shape);
      }),
    3,
    /\d+ of 30 scores differ\. scores\[0\]\[0\]\[0\] is/,
  );
  assertCheckError(
    () =>
      part3((queries, keys) => rightScores(queries, keys).toArray() as never),
    3,
    /returned an array of length 2, not a Tensor/,
  );
});

Deno.test("part4() passes the step-by-step and library attention", () => {
  const lines = captureLog(() => {
    part4(rightAttention);
    part4((q, k, v) => scaledDotProductAttention(q, k, v));
  });
  assert.equal(lines.length, 2);
  for (const line of lines) assert.match(line, /^Exercise 4 passed/);
});

Deno.test("part4() lets NotDoneError of any exercise through", () => {
  assert.throws(
    () => part4(() => todo(4)),
    (error) => error instanceof NotDoneError && error.exercise === 4,
  );
  assert.throws(
    () => part4(() => todo(3)),
    (error) => error instanceof NotDoneError && error.exercise === 3,
  );
});

Deno.test("part4() names a missing or wrong scale", () => {
  const cases: [Attention, RegExp][] = [
    [
      attentionWithScale(() => 1),
      /softmax\(Q K\^T × 1\) instead.*You did not scale the scores/,
    ],
    [
      attentionWithScale((q) => 1 / q.shape[2]),
      /You divided the scores by d_k/,
    ],
    [
      attentionWithScale((q) => Math.sqrt(q.shape[2])),
      /You multiplied the scores/,
    ],
    [
      attentionWithScale((_q, v) => 1 / Math.sqrt(v.shape[2])),
      /square root of the width of the values \(6\)/,
    ],
    [
      attentionWithScale((q) => 1 / Math.sqrt(q.shape[1])),
      /square root of the number of queries \(3\)/,
    ],
    [
      attentionWithScale(() => 0.3),
      /× 0\.3\) instead\. This check uses its own inputs, where d_k = 4 .*Check the factor/,
    ],
  ];
  for (const [attention, pattern] of cases) {
    assertNoSolution(assertCheckError(() => part4(attention), 4, pattern));
  }
});

Deno.test("part4() explains a fixed d_k of 64", () => {
  const fixed = assertCheckError(
    () => part4(attentionWithScale(() => 1 / 8)),
    4,
    /softmax\(Q K\^T \/ 8\) instead, as if d_k were 64\./,
  );
  assert.match(fixed.message, /uses its own inputs, where d_k = 4 \(/);
  assert.match(fixed.message, /Hint: Read d_k from the shape of the queries/);
  assert.doesNotMatch(fixed.message, /Check the factor/);
  assert.doesNotMatch(fixed.message, /\.shape\[/);
  assertNoSolution(fixed);
});

Deno.test("part4() explains a fixed d_k on the Colab sizes", () => {
  // sqrt(4) is right for the first inputs, so the second ones, with d_k = 64, fail.
  const error = assertCheckError(
    () => part4(attentionWithScale(() => 1 / 2)),
    4,
    /as if d_k were 4\. This check uses its own inputs, where d_k = 64 /,
  );
  assert.match(error.message, /queries \(2, 10, 64\)/);
  assertNoSolution(error);
});

Deno.test("part4() explains softmax over the wrong axis", () => {
  const columns: Attention = (queries, keys, values) => {
    const scores = matmul(queries, transpose(keys));
    const c = 1 / Math.sqrt(queries.shape[2]);
    const scaled = new Tensor(scores.data.map((x) => x * c), scores.shape);
    const weights = transpose(softmax(transpose(scaled)));
    return { output: matmul(weights, values), weights };
  };
  const error = assertCheckError(
    () => part4(columns),
    4,
    /Each column of the weights sums to 1, but each row must/,
  );
  assertNoSolution(error);
});

Deno.test("part4() explains a missing softmax", () => {
  const noSoftmax: Attention = (queries, keys, values) => {
    const scores = matmul(queries, transpose(keys));
    const c = 1 / Math.sqrt(queries.shape[2]);
    const weights = new Tensor(scores.data.map((x) => x * c), scores.shape);
    return { output: matmul(weights, values), weights };
  };
  assertCheckError(() => part4(noSoftmax), 4, /Their rows do not sum to 1/);
});

Deno.test("part4() explains wrong result shapes", () => {
  assertCheckError(
    () =>
      part4((q, k, v) => {
        const { output, weights } = rightAttention(q, k, v);
        return { output: weights, weights: output };
      }),
    4,
    /the two look swapped/,
  );
  assertCheckError(
    () =>
      part4((q, k, v) => {
        const { weights } = rightAttention(q, k, v);
        return { output: matmul(weights, k), weights };
      }),
    4,
    /`output` has shape \(2, 3, 4\), expected \(B, T, Dv\) = \(2, 3, 6\).*width of the keys \(4\)/,
  );
  assertCheckError(
    () =>
      part4((q, k, v) => {
        const { weights } = rightAttention(q, k, v);
        return { output: weights, weights };
      }),
    4,
    /one column per key, like the weights/,
  );
});

Deno.test("part4() explains wrong output numbers", () => {
  assertCheckError(
    () =>
      part4((q, k, v) => {
        const { output, weights } = rightAttention(q, k, v);
        return {
          output: new Tensor(output.data.map((x) => 2 * x), output.shape),
          weights,
        };
      }),
    4,
    /the weights are right, but the output is not: output\[0\]\[0\]\[0\] is/,
  );
});

Deno.test("part4() wraps errors of the learner's code", () => {
  const error = assertCheckError(
    () => part4((q, k, v) => ({ output: matmul(v, q), weights: matmul(q, k) })),
    4,
    /attention threw ShapeError/,
  );
  assertNoSolution(error);
  assertCheckError(
    () => part4((q) => q as never),
    4,
    /expected an object \{ output, weights \}/,
  );
});
