import assert from "node:assert/strict";
import {
  causalMask,
  Mask,
  RandomState,
  scaledDotProductAttention,
  ShapeError,
  Tensor,
} from "attention";
import {
  attentionOutput,
  chooseStreaming,
  STREAMING_AUTO_MIN_BYTES,
  type StreamingAttentionOptions,
} from "../lib/streaming.ts";
import { streamingWasmSupported } from "../lib/wasm_streaming.ts";

const BACKENDS = streamingWasmSupported()
  ? (["wasm", "typescript"] as const)
  : (["typescript"] as const);

/** Largest absolute difference between two arrays of the same length. */
function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** Random (B, T, S) booleans with about `density` of them true. */
function randomMask(
  rng: RandomState,
  shape: number[],
  density: number,
): Mask {
  const draws = rng.rand(...shape).data;
  return new Mask(Uint8Array.from(draws, (x) => (x < density ? 1 : 0)), shape);
}

/** Asserts that streaming agrees with scaledDotProductAttention to 1e-12 on every backend. */
function assertMatchesReference(
  query: Tensor,
  key: Tensor,
  value: Tensor,
  options: StreamingAttentionOptions,
  label: string,
): void {
  const { output } = scaledDotProductAttention(query, key, value, {
    mask: options.mask,
    causal: options.causal,
    scale: options.scale,
  });
  for (const backend of BACKENDS) {
    const streamed = attentionOutput(query, key, value, {
      ...options,
      streaming: true,
      backend,
    });
    assert.deepEqual(streamed.shape, output.shape, `${label} ${backend}`);
    const difference = maxDifference(streamed.data, output.data);
    assert.ok(
      difference <= 1e-12,
      `${label} ${backend}: max difference ${difference}`,
    );
  }
}

// Sizes cross the kernel's blocks of 32 query rows and 128 keys, with odd widths.
const SHAPES: [number, number, number, number, number][] = [
  [1, 1, 1, 1, 1],
  [2, 5, 9, 3, 4],
  [3, 33, 130, 8, 5],
  [1, 70, 257, 17, 9],
  [2, 129, 64, 64, 64],
];

Deno.test("attentionOutput() matches scaledDotProductAttention on random shapes", () => {
  const rng = new RandomState(1);
  for (const [B, T, S, D, Dv] of SHAPES) {
    const q = rng.randn(B, T, D);
    const k = rng.randn(B, S, D);
    const v = rng.randn(B, S, Dv);
    const label = `(${B}, ${T}, ${S}, ${D}, ${Dv})`;
    assertMatchesReference(q, k, v, {}, label);
    assertMatchesReference(q, k, v, { causal: true }, `${label} causal`);
    assertMatchesReference(q, k, v, { scale: 0.3 }, `${label} scale`);
  }
});

Deno.test("attentionOutput() matches with (T, S) and (B, T, S) masks", () => {
  const rng = new RandomState(2);
  for (const [B, T, S, D, Dv] of SHAPES) {
    const q = rng.randn(B, T, D);
    const k = rng.randn(B, S, D);
    const v = rng.randn(B, S, Dv);
    const label = `(${B}, ${T}, ${S}, ${D}, ${Dv})`;
    const shared = randomMask(rng, [T, S], 0.6);
    const batched = randomMask(rng, [B, T, S], 0.3);
    assertMatchesReference(q, k, v, { mask: shared }, `${label} (T, S) mask`);
    assertMatchesReference(
      q,
      k,
      v,
      { mask: batched },
      `${label} (B, T, S) mask`,
    );
    assertMatchesReference(
      q,
      k,
      v,
      { mask: batched, causal: true },
      `${label} mask and causal`,
    );
  }
});

Deno.test("attentionOutput() gives zero rows for fully masked queries", () => {
  const rng = new RandomState(3);
  const [B, T, S, D] = [2, 40, 300, 8];
  const q = rng.randn(B, T, D);
  const k = rng.randn(B, S, D);
  const v = rng.randn(B, S, D);
  const mask = randomMask(rng, [B, T, S], 0.5);
  for (const t of [0, 17, 39]) {
    mask.data.fill(0, (1 * T + t) * S, (1 * T + t + 1) * S);
  }
  for (const backend of BACKENDS) {
    const out = attentionOutput(q, k, v, { mask, streaming: true, backend });
    for (const t of [0, 17, 39]) {
      for (let d = 0; d < D; d++) {
        assert.equal(out.get(1, t, d), 0, `${backend} row ${t} feature ${d}`);
      }
    }
    assert.ok(out.data.every(Number.isFinite), backend);
  }
  assertMatchesReference(q, k, v, { mask }, "fully masked rows");
});

Deno.test("attentionOutput() never reads NaN at masked positions", () => {
  const rng = new RandomState(4);
  const [T, S, D] = [50, 200, 6];
  const q = rng.randn(1, T, D);
  const k = rng.randn(1, S, D);
  const v = rng.randn(1, S, D);
  // The mask hides key 10 from every query; causality hides key 199 (S > T).
  const mask = new Mask(new Uint8Array(T * S).fill(1), [T, S]);
  for (let t = 0; t < T; t++) mask.data[t * S + 10] = 0;
  for (const s of [10, 199]) {
    for (let d = 0; d < D; d++) {
      k.data[s * D + d] = NaN;
      v.data[s * D + d] = NaN;
    }
  }
  for (const backend of BACKENDS) {
    const out = attentionOutput(q, k, v, {
      mask,
      causal: true,
      streaming: true,
      backend,
    });
    assert.ok(out.data.every(Number.isFinite), backend);
  }
  assertMatchesReference(q, k, v, { mask, causal: true }, "NaN masked");
  // Without causal, key 199 is read, so the NaN there is rejected.
  assert.throws(
    () => attentionOutput(q, k, v, { mask, streaming: true }),
    /`key` contains NaN at index \[0, 199, 0\]/,
  );
});

Deno.test("attentionOutput() stays finite for scores scaled by 100", () => {
  const rng = new RandomState(5);
  const [B, T, S, D] = [1, 64, 500, 16];
  const scaleUp = (t: Tensor) =>
    new Tensor(t.data.map((x) => x * 100), t.shape);
  const q = scaleUp(rng.randn(B, T, D));
  const k = scaleUp(rng.randn(B, S, D));
  const v = rng.randn(B, S, D);
  for (const backend of BACKENDS) {
    const out = attentionOutput(q, k, v, { streaming: true, backend });
    assert.ok(out.data.every(Number.isFinite), backend);
  }
  assertMatchesReference(q, k, v, {}, "large scores");
  assertMatchesReference(q, k, v, { causal: true }, "large scores causal");
});

Deno.test("attentionOutput() accepts rank-2 inputs and returns rank 2", () => {
  const x = [[1, 0], [0, 1], [1, 1]];
  const out = attentionOutput(x, x, x, { streaming: true, causal: true });
  assert.deepEqual(out.shape, [3, 2]);
  assert.deepEqual([out.get(0, 0), out.get(0, 1)], [1, 0]);
});

Deno.test("attentionOutput() rejects bad inputs like scaledDotProductAttention", () => {
  const q = Tensor.zeros([1, 2, 3]);
  assert.throws(
    () => attentionOutput(q, Tensor.zeros([1, 2, 4]), Tensor.zeros([1, 2, 3])),
    (error: unknown) =>
      error instanceof ShapeError &&
      /attentionOutput: d_k differs/.test(error.message),
  );
  assert.throws(
    () => attentionOutput(q, q, q, { mask: causalMask(3, 3) }),
    ShapeError,
  );
  assert.throws(() => attentionOutput(q, q, q, { scale: NaN }), RangeError);
  assert.throws(
    () => attentionOutput(q, q, q, { streaming: "yes" as unknown as boolean }),
    TypeError,
  );
  assert.throws(
    () =>
      attentionOutput(q, q, q, { weights: true } as StreamingAttentionOptions),
    /unknown option `weights`/,
  );
  const bad = Tensor.zeros([1, 2, 3]);
  bad.data[4] = Infinity;
  assert.throws(
    () => attentionOutput(bad, q, q),
    /`query` contains Infinity at index \[0, 1, 1\]/,
  );
});

Deno.test("chooseStreaming() streams only above the documented threshold", () => {
  const elements = STREAMING_AUTO_MIN_BYTES / 8;
  assert.equal(chooseStreaming("auto", 1, 1, elements), false);
  assert.equal(chooseStreaming("auto", 1, 1, elements + 1), true);
  assert.equal(chooseStreaming("auto", 4, 512, 512), false);
  assert.equal(chooseStreaming("auto", 1, 2048, 2048), true);
  assert.equal(chooseStreaming(false, 1, 8192, 8192), false);
  assert.equal(chooseStreaming(true, 1, 1, 1), true);
});

Deno.test("attentionOutput() with auto streaming returns the reference output", () => {
  // (1, 2048, 2048) streams and (4, 512, 512) does not; both must agree with the reference.
  const rng = new RandomState(6);
  for (const [B, T] of [[4, 512], [1, 2048]]) {
    const q = rng.randn(B, T, 16);
    const k = rng.randn(B, T, 16);
    const v = rng.randn(B, T, 16);
    const { output } = scaledDotProductAttention(q, k, v);
    const auto = attentionOutput(q, k, v);
    assert.ok(maxDifference(auto.data, output.data) <= 1e-12, `(${B}, ${T})`);
  }
});
