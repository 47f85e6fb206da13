import assert from "node:assert/strict";
import {
  assertAllClose,
  RandomState,
  scaledDotProductAttention,
} from "attention";

interface AttentionFixture {
  seed: number;
  query_shape: number[];
  key_shape: number[];
  value_shape: number[];
  queries: number[][][];
  keys: number[][][];
  values: number[][][];
  scores: number[][][];
  weights: number[][][];
  output: number[][][];
}

const fixture: AttentionFixture & { attention_cases: AttentionFixture[] } = JSON
  .parse(
    await Deno.readTextFile(
      new URL("./fixtures/attention_seed0.json", import.meta.url),
    ),
  );

function checkCase(expected: AttentionFixture) {
  const rng = new RandomState(expected.seed);
  const queries = rng.rand(...expected.query_shape);
  const keys = rng.rand(...expected.key_shape);
  const values = rng.rand(...expected.value_shape);

  // The draws are exact; the products go through different summation orders than BLAS.
  assert.deepEqual(queries.toArray(), expected.queries);
  assert.deepEqual(keys.toArray(), expected.keys);
  assert.deepEqual(values.toArray(), expected.values);

  const result = scaledDotProductAttention(queries, keys, values);
  assertAllClose(result.scores, expected.scores, {}, "scores");
  assertAllClose(result.weights, expected.weights, {}, "weights");
  assertAllClose(result.output, expected.output, {}, "output");
}

Deno.test("seed 0 at (2, 10, 64) reproduces NumPy to 1e-12", () => {
  assert.deepEqual(fixture.query_shape, [2, 10, 64]);
  assert.equal(fixture.seed, 0);
  checkCase(fixture);
});

for (const extra of fixture.attention_cases) {
  const shapes =
    `q ${extra.query_shape}, k ${extra.key_shape}, v ${extra.value_shape}`;
  Deno.test(`seed ${extra.seed} with ${shapes} reproduces NumPy`, () =>
    checkCase(extra));
}
