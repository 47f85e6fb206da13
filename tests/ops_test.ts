import assert from "node:assert/strict";
import fc from "fast-check";
import {
  assertAllClose,
  causalMask,
  fromMathjs,
  Mask,
  matmul,
  paddingMask,
  ShapeError,
  softmax,
  Tensor,
  toMathjs,
  transpose,
} from "attention";
import { multiply, transpose as transposeMatrix } from "mathjs";

Deno.test("Tensor.from() reads nested arrays row-major", () => {
  const t = Tensor.from([[[1, 2, 3], [4, 5, 6]]]);
  assert.deepEqual(t.shape, [1, 2, 3]);
  assert.deepEqual(Array.from(t.data), [1, 2, 3, 4, 5, 6]);
  assert.equal(t.rank, 3);
  assert.equal(t.size, 6);
  assert.equal(t.dtype, "float64");
});

Deno.test("Tensor indexing returns batch entries", () => {
  const t = Tensor.from([[[1, 2]], [[3, 4]]]);
  assert.deepEqual(t[0].toArray(), [[1, 2]]);
  assert.deepEqual(t[1].shape, [1, 2]);
  assert.deepEqual(t.at(-1).toArray(), [[3, 4]]);
  assert.throws(() => t[5], /index 5 is out of range/);
  assert.ok(0 in t);
  assert.ok(!(2 in t));
  assert.throws(
    () => t.at(2),
    /index 2 is out of range for axis 0 of shape \(2, 1, 2\)/,
  );
});

Deno.test("Tensor batch entry shares memory with its parent", () => {
  const t = Tensor.from([[1, 2], [3, 4]]);
  const row = t[1];
  assert.equal(row.data.buffer, t.data.buffer);
  assert.deepEqual(Array.from(row.data), [3, 4]);
});

Deno.test("Tensor.from() keeps scalars and empty arrays", () => {
  assert.deepEqual(Tensor.from(3).shape, []);
  assert.equal(Tensor.from(3).toArray(), 3);
  assert.deepEqual(Tensor.from([]).shape, [0]);
});

Deno.test("Tensor.from() rejects ragged arrays with both shapes", () => {
  assert.throws(
    () => Tensor.from([[1, 2, 3], [4, 5]]),
    (error: unknown) => {
      assert.ok(error instanceof ShapeError);
      assert.match(
        error.message,
        /entry \[1\] has length 2 .* expected shape is \(2, 3\)/,
      );
      assert.deepEqual(error.actual, [2, 2]);
      assert.deepEqual(error.expected, [2, 3]);
      return true;
    },
  );
  assert.throws(() => Tensor.from([[1], 2] as never), ShapeError);
});

Deno.test("Tensor constructor rejects a size mismatch", () => {
  assert.throws(
    () => new Tensor(new Float64Array(5), [2, 3]),
    /shape \(2, 3\) holds 6 elements but `data` has 5/,
  );
  assert.throws(() => new Tensor([1, 2] as never, [2]), TypeError);
});

Deno.test("Tensor JSON and mathjs round trips", () => {
  const t = Tensor.from([[1.5, -2], [3, 4]]);
  assert.equal(JSON.stringify(t), "[[1.5,-2],[3,4]]");
  const m = toMathjs(t);
  assert.deepEqual(m.size(), [2, 2]);
  assert.deepEqual(fromMathjs(m).toArray(), t.toArray());
  assert.throws(
    () => toMathjs(Tensor.zeros([1, 2, 2])),
    /toMathjs: expected a 2-D Tensor/,
  );
});

Deno.test("matmul() matches mathjs multiply per batch entry", () => {
  const sizes = fc.tuple(
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 1, max: 6 }),
    fc.integer({ min: 1, max: 6 }),
    fc.integer({ min: 1, max: 6 }),
  );
  fc.assert(
    fc.property(sizes, fc.integer(), ([b, m, k, n], seed) => {
      let state = (seed >>> 0) + 1;
      const next = () =>
        (state = (state * 48271) % 2147483647) / 2147483647 - 0.5;
      const a = new Tensor(Float64Array.from({ length: b * m * k }, next), [
        b,
        m,
        k,
      ]);
      const c = new Tensor(Float64Array.from({ length: b * k * n }, next), [
        b,
        k,
        n,
      ]);
      const product = matmul(a, c);
      assert.deepEqual(product.shape, [b, m, n]);
      for (let i = 0; i < b; i++) {
        const expected = multiply(
          a[i].toArray() as number[][],
          c[i].toArray() as number[][],
        ) as number[][];
        assertAllClose(product[i], expected);
      }
    }),
    { numRuns: 100 },
  );
});

Deno.test("matmul() shares a 2-D factor across the batch", () => {
  const a = Tensor.from([[[1, 0]], [[0, 1]]]); // (2, 1, 2)
  const b = Tensor.from([[1, 2], [3, 4]]); // (2, 2)
  assert.deepEqual(matmul(a, b).toArray(), [[[1, 2]], [[3, 4]]]);
  assert.deepEqual(matmul([[1, 2]], [[3], [4]]).toArray(), [[11]]);
});

Deno.test("matmul() rejects mismatched inner and batch sizes", () => {
  assert.throws(
    () => matmul(Tensor.zeros([2, 10, 64]), Tensor.zeros([2, 10, 64])),
    (error: unknown) => {
      assert.ok(error instanceof ShapeError);
      assert.match(
        error.message,
        /inner sizes differ: `a` has shape \(2, 10, 64\) with 64 columns but `b` has shape \(2, 10, 64\) with 10 rows/,
      );
      return true;
    },
  );
  assert.throws(
    () => matmul(Tensor.zeros([2, 3, 4]), Tensor.zeros([3, 4, 5])),
    /batch sizes differ: `a` has shape \(2, 3, 4\) and `b` has shape \(3, 4, 5\)/,
  );
  assert.throws(
    () => matmul(Tensor.zeros([4]), Tensor.zeros([4, 1])),
    /`a` must have rank 2 or 3/,
  );
});

Deno.test("transpose() swaps only the last two axes", () => {
  const k = Tensor.zeros([2, 10, 64]);
  assert.deepEqual(transpose(k).shape, [2, 64, 10]);
  const x = Tensor.from([[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]]);
  const t = transpose(x);
  for (let b = 0; b < 2; b++) {
    assert.deepEqual(
      t[b].toArray(),
      transposeMatrix(x[b].toArray() as number[][]),
    );
  }
  assert.throws(
    () => transpose([1, 2, 3]),
    /transpose: `x` must have at least 2 axes, received shape \(3,\)/,
  );
});

Deno.test("softmax() subtracts the row maximum", () => {
  const [row] = softmax([[1000, 1001, 1002]]).toArray() as number[][];
  const e = [Math.exp(-2), Math.exp(-1), 1];
  const total = e[0] + e[1] + e[2];
  assertAllClose(row, e.map((x) => x / total));
  assert.ok(row.every(Number.isFinite));
});

Deno.test("softmax() maps a row of -Infinity to zeros", () => {
  assert.deepEqual(softmax([[-Infinity, -Infinity]]).toArray(), [[0, 0]]);
  assert.deepEqual(softmax([[-Infinity, 0]]).toArray(), [[0, 1]]);
  assert.ok(Number.isNaN(softmax([[NaN, 0]]).data[1]));
});

Deno.test("Mask helpers build the expected patterns", () => {
  assert.deepEqual(causalMask(2, 3).toArray(), [[true, false, false], [
    true,
    true,
    false,
  ]]);
  assert.deepEqual(paddingMask([2, 0], 1, 3).toArray(), [
    [[true, true, false]],
    [[false, false, false]],
  ]);
  assert.throws(
    () => paddingMask([4], 1, 3),
    /lengths\[0\] is 4, expected an integer from 0 to 3/,
  );
  assert.throws(() => Mask.from([[true], [true, false]]), ShapeError);
  assert.throws(
    () => Mask.from([true] as never),
    /shape must be \(T, S\) or \(B, T, S\), received \(1,\)/,
  );
  assert.equal(Mask.from([[false, true]]).get(0, 1), true);
});
