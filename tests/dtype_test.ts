import assert from "node:assert/strict";
import fc from "fast-check";
import {
  allClose,
  assertAllClose,
  formatMatrix,
  formatTensorHtml,
  matmul,
  RandomState,
  scaledDotProductAttention,
  softmax,
  Tensor,
  tensorDisplayBundle,
  transpose,
} from "attention";

const BACKENDS = ["typescript", "wasm"] as const;

/** Same value range as the float64 property tests. */
const value = fc.double({
  min: -4,
  max: 4,
  noNaN: true,
  noDefaultInfinity: true,
});

/** Float64 (B, T, D), (B, S, D) and (B, S, Dv) tensors with small random sizes. */
const problems = fc
  .tuple(
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 1, max: 9 }),
    fc.integer({ min: 1, max: 9 }),
    fc.integer({ min: 1, max: 16 }),
    fc.integer({ min: 1, max: 5 }),
  )
  .chain(([B, T, S, D, Dv]) => {
    const tensor = (shape: number[]) => {
      const size = shape.reduce((a, b) => a * b, 1);
      return fc.array(value, { minLength: size, maxLength: size })
        .map((xs) => new Tensor(Float64Array.from(xs), shape));
    };
    return fc.record({
      dims: fc.constant([B, T, S] as const),
      query: tensor([B, T, D]),
      key: tensor([B, S, D]),
      value: tensor([B, S, Dv]),
    });
  });

const RUNS = { numRuns: 150 };

Deno.test("Tensor.from() builds float32 tensors on request", () => {
  const t = Tensor.from([[0.1, 2], [3, 1e40]], { dtype: "float32" });
  assert.equal(t.dtype, "float32");
  assert.ok(t.data instanceof Float32Array);
  assert.deepEqual(t.shape, [2, 2]);
  assert.equal(t.get(0, 0), Math.fround(0.1));
  assert.equal(t.get(1, 1), Infinity);
});

Deno.test("Tensor.from() keeps or converts a tensor's dtype", () => {
  const single = Tensor.from([1.5, 2.5], { dtype: "float32" });
  const copy = Tensor.from(single);
  assert.equal(copy.dtype, "float32");
  assert.notEqual(copy.data, single.data);
  assert.equal(Tensor.from(single, { dtype: "float64" }).dtype, "float64");
  assert.equal(Tensor.from([1, 2]).dtype, "float64");
});

Deno.test("Tensor.zeros() accepts a dtype", () => {
  const t = Tensor.zeros([2, 3], { dtype: "float32" });
  assert.equal(t.dtype, "float32");
  assert.ok(t.data instanceof Float32Array);
  assert.deepEqual(t.toArray(), [[0, 0, 0], [0, 0, 0]]);
  assert.equal(Tensor.zeros([2]).dtype, "float64");
});

Deno.test("Tensor constructor takes the dtype from the array", () => {
  const t = new Tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
  assert.equal(t.dtype, "float32");
  assert.equal(new Tensor(new Float64Array(2), [2]).dtype, "float64");
  assert.throws(
    () => new Tensor(new Int32Array(2) as unknown as Float64Array, [2]),
    /must be a Float64Array or Float32Array/,
  );
});

Deno.test("dtype options reject unknown names", () => {
  const bad = "float16" as unknown as "float32";
  assert.throws(
    () => Tensor.from([1], { dtype: bad }),
    {
      name: "TypeError",
      message: /Tensor\.from: `dtype` is the string "float16"/,
    },
  );
  assert.throws(() => Tensor.zeros([1], { dtype: bad }), TypeError);
  assert.throws(() => Tensor.from([1]).astype(bad), TypeError);
  assert.throws(
    () => scaledDotProductAttention([[1]], [[1]], [[1]], { dtype: bad }),
    /option `dtype` is the string "float16", expected "float32" or "float64"/,
  );
});

Deno.test("astype() round trip rounds once to float32", () => {
  const original = new RandomState(1).randn(3, 4);
  const single = original.astype("float32");
  const back = single.astype("float64");
  assert.equal(single.dtype, "float32");
  assert.equal(back.dtype, "float64");
  assert.deepEqual(back.shape, [3, 4]);
  for (let i = 0; i < original.size; i++) {
    assert.equal(back.data[i], Math.fround(original.data[i]), `element ${i}`);
  }
  // A float32 value survives float64 and back unchanged.
  assert.deepEqual(back.astype("float32").data, single.data);
});

Deno.test("astype() returns the same tensor for its own dtype", () => {
  const t = Tensor.from([[1, 2]], { dtype: "float32" });
  assert.equal(t.astype("float32"), t);
  const copy = t.astype("float64");
  copy.data[0] = 99;
  assert.equal(t.get(0, 0), 1);
});

Deno.test("float32 views keep the dtype and share memory", () => {
  const t = Tensor.from([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], {
    dtype: "float32",
  });
  assert.equal(t[1].dtype, "float32");
  assert.equal(t.at(-1)[0].dtype, "float32");
  assert.deepEqual(t[1].toArray(), [[5, 6], [7, 8]]);
  assert.equal(t[1].data.buffer, t.data.buffer);
  assert.ok(1 in t);
});

Deno.test("toArray() and JSON work for float32", () => {
  const t = Tensor.from([[0.5, -2]], { dtype: "float32" });
  assert.deepEqual(t.toArray(), [[0.5, -2]]);
  assert.equal(JSON.stringify(t), "[[0.5,-2]]");
});

Deno.test("matmul() keeps float32 and rounds the float64 product", () => {
  const rng = new RandomState(2);
  const a = rng.randn(2, 3, 5).astype("float32");
  const b = rng.randn(2, 5, 4).astype("float32");
  const product = matmul(a, b);
  assert.equal(product.dtype, "float32");
  const exact = matmul(a.astype("float64"), b.astype("float64"));
  for (let i = 0; i < exact.size; i++) {
    assert.equal(product.data[i], Math.fround(exact.data[i]), `element ${i}`);
  }
});

Deno.test("ops convert nested arrays to the tensor's dtype", () => {
  const a = Tensor.from([[1, 2]], { dtype: "float32" });
  assert.equal(matmul(a, [[3], [4]]).dtype, "float32");
  assert.equal(matmul([[3], [4]], a).dtype, "float32");
  assert.deepEqual(matmul(a, [[3], [4]]).toArray(), [[11]]);
  assert.equal(matmul([[1, 2]], [[3], [4]]).dtype, "float64");
});

Deno.test("transpose() and softmax() keep float32", () => {
  const x = new RandomState(3).randn(2, 3, 4);
  const single = x.astype("float32");
  const swapped = transpose(single);
  assert.equal(swapped.dtype, "float32");
  assert.deepEqual(swapped.shape, [2, 4, 3]);
  assert.deepEqual(
    swapped.data,
    transpose(x).astype("float32").data,
  );

  const weights = softmax(single);
  assert.equal(weights.dtype, "float32");
  assertAllClose(weights, softmax(x), { rtol: 1e-6, atol: 1e-7 });
  assert.equal(softmax(x).dtype, "float64");
});

Deno.test("matmul() rejects mixed dtypes", () => {
  const a = Tensor.from([[1, 2]], { dtype: "float32" });
  const b = Tensor.from([[3], [4]]);
  assert.throws(() => matmul(a, b), TypeError);
  assert.throws(
    () => matmul(a, b),
    /matmul: dtypes differ: `a` is float32 but `b` is float64/,
  );
  assert.throws(() => matmul(a, b), /\.astype\("float64"\)/);
  assert.throws(() => matmul(b.astype("float64"), a), /`a` is float64/);
});

Deno.test("scaledDotProductAttention() rejects mixed dtypes", () => {
  const x = new RandomState(4).randn(1, 3, 2);
  const single = x.astype("float32");
  assert.throws(() => scaledDotProductAttention(single, single, x), TypeError);
  assert.throws(
    () => scaledDotProductAttention(single, single, x),
    /`query` is float32 but `value` is float64/,
  );
  assert.throws(
    () => scaledDotProductAttention(x, single, x),
    /\.astype\("float64"\).*option dtype: "float64"/,
  );
});

Deno.test("dtype option converts mixed and nested inputs", () => {
  const x = new RandomState(5).randn(1, 3, 2);
  const single = x.astype("float32");
  const mixed = scaledDotProductAttention(single, x, x, { dtype: "float64" });
  assert.equal(mixed.output.dtype, "float64");
  assert.equal(mixed.weights.dtype, "float64");

  const nested = x.toArray() as number[][][];
  for (const backend of BACKENDS) {
    const result = scaledDotProductAttention(nested, nested, nested, {
      dtype: "float32",
      backend,
    });
    assert.equal(result.output.dtype, "float32", backend);
    assert.equal(result.weights.dtype, "float32", backend);
    assert.equal(result.scores.dtype, "float32", backend);
  }
});

for (const backend of [...BACKENDS, "auto"] as const) {
  Deno.test(`float32 attention returns float32 tensors (${backend})`, () => {
    const rng = new RandomState(6);
    const q = rng.randn(2, 4, 8).astype("float32");
    const k = rng.randn(2, 5, 8).astype("float32");
    const v = rng.randn(2, 5, 3).astype("float32");
    const result = scaledDotProductAttention(q, k, v, { backend });
    assert.ok(result.output.data instanceof Float32Array);
    assert.ok(result.weights.data instanceof Float32Array);
    assert.ok(result.scores.data instanceof Float32Array);
    assert.deepEqual(result.output.shape, [2, 4, 3]);
    assert.deepEqual(result.scores.shape, [2, 4, 5]);
    assert.equal(result.weights[0].dtype, "float32");
  });
}

for (const backend of BACKENDS) {
  const attend = (
    q: Tensor,
    k: Tensor,
    v: Tensor,
    options: { causal?: boolean } = {},
  ) => scaledDotProductAttention(q, k, v, { ...options, backend });

  Deno.test(`float32 attention matches float64 (${backend})`, () => {
    fc.assert(
      fc.property(problems, fc.boolean(), (problem, causal) => {
        const { query, key, value } = problem;
        const expected = attend(query, key, value, { causal });
        const actual = attend(
          query.astype("float32"),
          key.astype("float32"),
          value.astype("float32"),
          { causal },
        );
        assert.equal(actual.output.dtype, "float32");
        // Weights do not cancel, so 1e-5 relative holds down to 1e-7. Scores and
        // outputs can cancel to near 0 from terms up to 4 * 4 * 16, so they get
        // an absolute floor of 1e-5; the measured worst was about 2e-6.
        assertAllClose(
          actual.weights,
          expected.weights,
          { rtol: 1e-5, atol: 1e-7 },
          "weights",
        );
        assertAllClose(
          actual.output,
          expected.output,
          { rtol: 1e-5, atol: 1e-5 },
          "output",
        );
        assertAllClose(
          actual.scores,
          expected.scores,
          { rtol: 1e-5, atol: 1e-5 },
          "scores",
        );
      }),
      RUNS,
    );
  });

  Deno.test(`float32 weights rows sum to 1 (${backend})`, () => {
    fc.assert(
      fc.property(problems, (problem) => {
        const { dims, query, key, value } = problem;
        const [B, T, S] = dims;
        const { weights } = attend(
          query.astype("float32"),
          key.astype("float32"),
          value.astype("float32"),
        );
        for (let row = 0; row < B * T; row++) {
          let sum = 0;
          for (let s = 0; s < S; s++) {
            const w = weights.data[row * S + s];
            assert.ok(w >= 0, `weight ${w} is negative`);
            assert.ok(w <= 1, `weight ${w} is above 1`);
            sum += w;
          }
          assert.ok(Math.abs(sum - 1) <= 1e-5, `row ${row} sums to ${sum}`);
        }
      }),
      RUNS,
    );
  });

  Deno.test(`float32 masked rows give zeros (${backend})`, () => {
    const x = new RandomState(7).randn(2, 3).astype("float32");
    const mask = [[false, false], [true, false]];
    const { weights, output } = scaledDotProductAttention(x, x, x, {
      mask,
      backend,
    });
    assert.deepEqual(weights.toArray(), [[0, 0], [1, 0]]);
    assert.deepEqual(Array.from(output.data.subarray(0, 3)), [0, 0, 0]);
    assert.deepEqual(output[1].data, x[0].data);
  });
}

Deno.test("allClose() uses 1e-5 defaults for float32", () => {
  const exact = new RandomState(8).randn(50);
  const single = exact.astype("float32");
  assert.ok(allClose(single, exact));
  assert.ok(allClose(exact, single));
  assert.ok(!allClose(single, exact, { rtol: 1e-12, atol: 1e-12 }));
  assert.ok(
    !allClose(exact.astype("float32"), [...exact.data].map((x) => x + 1e-3)),
  );
  assert.throws(
    () => assertAllClose(single, exact, { rtol: 0, atol: 0 }),
    /rtol 0, atol 0/,
  );
});

Deno.test("display caption names float32", () => {
  const t = Tensor.from([[1, 2], [3, 4]], { dtype: "float32" });
  assert.match(
    formatTensorHtml(t),
    /<caption[^>]*>Tensor \(2, 2\) float32<\/caption>/,
  );
  assert.match(tensorDisplayBundle(t)["text/html"], /float32/);
  assert.match(
    formatTensorHtml(t.astype("float64")),
    /Tensor \(2, 2\) float64/,
  );
  assert.equal(formatMatrix(t), formatMatrix(t.astype("float64")));
});
