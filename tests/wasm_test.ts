import assert from "node:assert/strict";
import {
  attentionWasm,
  attentionWasmF32,
  selectWasmKernels,
  type WasmAttentionOptions,
  type WasmKernelVariant,
  wasmSimdSupported,
} from "../lib/wasm_backend.ts";
import { buildArtifacts } from "../wasm/build.ts";

/** Reference attention in plain f64 loops with Math.exp, one batch entry at a time. */
function naiveAttention(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  B: number,
  T: number,
  S: number,
  D: number,
  Dv: number,
  scale: number,
  mask: Uint8Array | null,
  maskBatched: boolean,
): { output: Float64Array; weights: Float64Array; scores: Float64Array } {
  const output = new Float64Array(B * T * Dv);
  const weights = new Float64Array(B * T * S);
  const allScores = new Float64Array(B * T * S);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < T; i++) {
      const maskRow = (maskBatched ? b * T * S : 0) + i * S;
      const scores = allScores.subarray((b * T + i) * S, (b * T + i + 1) * S);
      let max = -Infinity;
      for (let j = 0; j < S; j++) {
        let dot = 0;
        for (let d = 0; d < D; d++) {
          dot += q[(b * T + i) * D + d] * k[(b * S + j) * D + d];
        }
        const allowed = mask === null || mask[maskRow + j] !== 0;
        scores[j] = allowed ? dot * scale : -Infinity;
        if (scores[j] > max) max = scores[j];
      }
      const row = (b * T + i) * S;
      if (max === -Infinity) continue;
      let sum = 0;
      for (let j = 0; j < S; j++) {
        weights[row + j] = Math.exp(scores[j] - max);
        sum += weights[row + j];
      }
      for (let j = 0; j < S; j++) weights[row + j] /= sum;
      for (let j = 0; j < S; j++) {
        if (mask !== null && mask[maskRow + j] === 0) continue;
        for (let d = 0; d < Dv; d++) {
          output[(b * T + i) * Dv + d] += weights[row + j] *
            v[(b * S + j) * Dv + d];
        }
      }
    }
  }
  return { output, weights, scores: allScores };
}

/** Deterministic uniform numbers in [-1, 1) (mulberry32), so failures reproduce. */
function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

function randomArray(
  random: () => number,
  length: number,
  magnitude = 1,
): Float64Array {
  return Float64Array.from({ length }, () => random() * magnitude);
}

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  relative: number,
  absolute: number,
  label: string,
): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    // Equal values pass first, so matching infinities (masked scores) do too.
    if (actual[i] === expected[i]) continue;
    const error = Math.abs(actual[i] - expected[i]);
    if (!(error <= absolute + relative * Math.abs(expected[i]))) {
      assert.fail(
        `${label}[${i}]: got ${actual[i]}, expected ${
          expected[i]
        } (difference ${error})`,
      );
    }
  }
}

interface Case {
  B: number;
  T: number;
  S: number;
  D: number;
  Dv: number;
}

const SIZES = [1, 2, 3, 7, 8, 65];

/** Shapes that cover the SIMD tails of every loop: sizes 1, 3, 7 and 65 leave remainders. */
function shapeCases(random: () => number, count: number): Case[] {
  const pick = () => SIZES[Math.floor((random() + 1) / 2 * SIZES.length)];
  const cases: Case[] = [
    { B: 1, T: 1, S: 1, D: 1, Dv: 1 },
    { B: 2, T: 10, S: 10, D: 64, Dv: 64 },
    { B: 1, T: 9, S: 33, D: 16, Dv: 5 },
  ];
  for (let n = 0; n < count; n++) {
    cases.push({ B: 1 + (n % 3), T: pick(), S: pick(), D: pick(), Dv: pick() });
  }
  return cases;
}

function describeCase({ B, T, S, D, Dv }: Case): string {
  return `B=${B} T=${T} S=${S} D=${D} Dv=${Dv}`;
}

function runCases(
  precision: "f64" | "f32",
  options: (random: () => number, c: Case) => WasmAttentionOptions,
  fixedCases?: Case[],
): void {
  const random = randomSource(precision === "f64" ? 1 : 2);
  const cases = fixedCases ?? shapeCases(random, 40);
  for (const [index, c] of cases.entries()) {
    const { B, T, S, D, Dv } = c;
    const q = randomArray(random, B * T * D);
    const k = randomArray(random, B * S * D);
    const v = randomArray(random, B * S * Dv);
    const scale = 1 / Math.sqrt(D);
    // Every other case keeps the scores, which runs the softmax out of place.
    const opts = { ...options(random, c), wantScores: index % 2 === 0 };
    const mask = opts.mask ?? null;
    const label = `${precision} ${describeCase(c)}${mask ? " masked" : ""}`;
    if (precision === "f64") {
      const expected = naiveAttention(
        q,
        k,
        v,
        B,
        T,
        S,
        D,
        Dv,
        scale,
        mask,
        opts.maskBatched ?? false,
      );
      const actual = attentionWasm(q, k, v, B, T, S, D, Dv, scale, opts);
      assertClose(
        actual.weights,
        expected.weights,
        1e-12,
        1e-300,
        `${label} weights`,
      );
      assertClose(
        actual.output,
        expected.output,
        1e-12,
        1e-14,
        `${label} output`,
      );
      if (opts.wantScores) {
        assert.ok(actual.scores !== null, `${label}: scores missing`);
        assertClose(
          actual.scores,
          expected.scores,
          1e-13,
          1e-15,
          `${label} scores`,
        );
      } else {
        assert.equal(actual.scores, null);
      }
    } else {
      const q32 = Float32Array.from(q);
      const k32 = Float32Array.from(k);
      const v32 = Float32Array.from(v);
      const expected = naiveAttention(
        q32,
        k32,
        v32,
        B,
        T,
        S,
        D,
        Dv,
        Math.fround(scale),
        mask,
        opts.maskBatched ?? false,
      );
      const actual = attentionWasmF32(
        q32,
        k32,
        v32,
        B,
        T,
        S,
        D,
        Dv,
        scale,
        opts,
      );
      assertClose(
        actual.weights,
        expected.weights,
        1e-5,
        1e-7,
        `${label} weights`,
      );
      assertClose(
        actual.output,
        expected.output,
        1e-5,
        1e-6,
        `${label} output`,
      );
      if (opts.wantScores) {
        assert.ok(actual.scores !== null, `${label}: scores missing`);
        assertClose(
          actual.scores,
          expected.scores,
          1e-5,
          1e-6,
          `${label} scores`,
        );
      }
    }
  }
}

function randomMask(random: () => number, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => (random() > -0.4 ? 1 : 0));
}

Deno.test("wasmSimdSupported() is true on this runtime", () => {
  assert.equal(wasmSimdSupported(), true);
});

Deno.test("selectWasmKernels() picks relaxed SIMD on auto here", () => {
  // Deno 2.x ships V8 with relaxed SIMD enabled.
  assert.equal(selectWasmKernels("auto"), "relaxed-simd");
  assert.equal(selectWasmKernels("simd128"), "simd128");
  assert.throws(() => selectWasmKernels("sse" as never), RangeError);
  selectWasmKernels("auto");
});

const VARIANTS: WasmKernelVariant[] = ["simd128", "relaxed-simd"];

for (const variant of VARIANTS) {
  Deno.test(`${variant}: attentionWasm() matches naive f64 attention on odd shapes`, () => {
    selectWasmKernels(variant);
    runCases("f64", () => ({}));
  });

  Deno.test(`${variant}: attentionWasmF32() matches naive attention on odd shapes`, () => {
    selectWasmKernels(variant);
    runCases("f32", () => ({}));
  });

  // V rows of 130 elements make key tiles of 252 (f64) or 504 (f32) keys, so
  // S = 1100 crosses several tiles, and T = 37 crosses blocks of 16 query rows.
  const tiled: Case[] = [{ B: 2, T: 37, S: 1100, D: 9, Dv: 130 }];

  Deno.test(`${variant}: attentionWasm() matches naive attention across key tiles`, () => {
    selectWasmKernels(variant);
    runCases("f64", () => ({}), tiled);
    runCases(
      "f64",
      (random, { T, S }) => ({ mask: randomMask(random, T * S) }),
      tiled,
    );
  });

  Deno.test(`${variant}: attentionWasmF32() matches naive attention across key tiles`, () => {
    selectWasmKernels(variant);
    runCases("f32", () => ({}), tiled);
    runCases(
      "f32",
      (random, { B, T, S }) => ({
        mask: randomMask(random, B * T * S),
        maskBatched: true,
      }),
      tiled,
    );
  });

  Deno.test(`${variant}: attentionWasm() matches naive attention with masks`, () => {
    selectWasmKernels(variant);
    runCases(
      "f64",
      (random, { T, S }) => ({ mask: randomMask(random, T * S) }),
    );
    runCases(
      "f64",
      (random, { B, T, S }) => ({
        mask: randomMask(random, B * T * S),
        maskBatched: true,
      }),
    );
  });

  Deno.test(`${variant}: attentionWasmF32() matches naive attention with masks`, () => {
    selectWasmKernels(variant);
    runCases(
      "f32",
      (random, { T, S }) => ({ mask: randomMask(random, T * S) }),
    );
    runCases(
      "f32",
      (random, { B, T, S }) => ({
        mask: randomMask(random, B * T * S),
        maskBatched: true,
      }),
    );
  });

  for (const precision of ["f64", "f32"] as const) {
    const run = precision === "f64" ? attentionWasm : attentionWasmF32;
    const ArrayType = precision === "f64" ? Float64Array : Float32Array;
    const name = precision === "f64" ? "attentionWasm()" : "attentionWasmF32()";

    Deno.test(`${variant}: ${name} ignores NaN in V at masked keys`, () => {
      // T=3, S=5, D=3, Dv=7: key 1 is masked for every query and its V row is NaN;
      // query 2 has every key masked.
      const random = randomSource(3);
      const [T, S, D, Dv] = [3, 5, 3, 7];
      const q = ArrayType.from(randomArray(random, T * D));
      const k = ArrayType.from(randomArray(random, S * D));
      const v = ArrayType.from(randomArray(random, S * Dv));
      v.fill(NaN, 1 * Dv, 2 * Dv);
      const mask = Uint8Array.from([
        1,
        0,
        1,
        1,
        0,
        0,
        0,
        1,
        1,
        1,
        0,
        0,
        0,
        0,
        0,
      ]);
      const { output, weights } = run(
        q as never,
        k as never,
        v as never,
        1,
        T,
        S,
        D,
        Dv,
        0.5,
        { mask },
      );
      for (const value of output.subarray(0, 2 * Dv)) {
        assert.ok(Number.isFinite(value), `output ${value}`);
      }
      assert.deepEqual(
        Array.from(output.subarray(2 * Dv)),
        new Array(Dv).fill(0),
      );
      assert.deepEqual(
        Array.from(weights.subarray(2 * S)),
        new Array(S).fill(0),
      );
      assert.equal(weights[1], 0);
      assert.equal(weights[4], 0);
      assert.equal(weights[5], 0);
    });

    Deno.test(`${variant}: ${name} keeps large scores finite`, () => {
      // Q and K scaled by 100 give scores near 1e4, where exp without the max shift overflows.
      const random = randomSource(4);
      const [B, T, S, D, Dv] = [2, 13, 37, 64, 9];
      const q = ArrayType.from(randomArray(random, B * T * D, 100));
      const k = ArrayType.from(randomArray(random, B * S * D, 100));
      const v = ArrayType.from(randomArray(random, B * S * Dv));
      const { output, weights } = run(
        q as never,
        k as never,
        v as never,
        B,
        T,
        S,
        D,
        Dv,
        1 / 8,
      );
      for (const value of output) {
        assert.ok(Number.isFinite(value), `output ${value}`);
      }
      for (let row = 0; row < B * T; row++) {
        let sum = 0;
        for (let j = 0; j < S; j++) {
          const w = weights[row * S + j];
          assert.ok(w >= 0, `weight ${w}`);
          assert.ok(w <= 1, `weight ${w}`);
          sum += w;
        }
        assert.ok(
          Math.abs(sum - 1) < (precision === "f64" ? 1e-14 : 1e-6),
          `row ${row} sums to ${sum}`,
        );
      }
    });

    Deno.test(`${variant}: ${name} returns masked scores when asked`, () => {
      selectWasmKernels(variant);
      const q = ArrayType.from([1, 2]);
      const k = ArrayType.from([3, 4, 5, 6]);
      const v = ArrayType.from([1, 1]);
      const mask = Uint8Array.from([1, 0]);
      const { scores, weights } = run(
        q as never,
        k as never,
        v as never,
        1,
        1,
        2,
        2,
        1,
        0.5,
        { mask, wantScores: true },
      );
      assert.ok(scores !== null);
      assert.equal(scores[0], 5.5);
      assert.equal(scores[1], -Infinity);
      assert.deepEqual(Array.from(weights), [1, 0]);
    });

    Deno.test(`${variant}: ${name} rejects invalid arguments`, () => {
      selectWasmKernels(variant);
      const x = new ArrayType(6);
      assert.throws(
        () => run(x as never, x as never, x as never, 1, 2, 3, 2, 2, 1),
        RangeError,
      );
      assert.throws(
        () =>
          run(x as never, x as never, x as never, 1, 3, 3, 2, 2, 1, {
            mask: new Uint8Array(5),
          }),
        RangeError,
      );
      assert.throws(
        () =>
          run(
            x as never,
            x as never,
            x as never,
            1,
            3,
            3,
            2,
            2,
            NaN,
          ),
        RangeError,
      );
    });
  }
}

Deno.test("attentionWasm() returns zeros for empty key sets", () => {
  const { output, weights } = attentionWasm(
    new Float64Array(4),
    new Float64Array(0),
    new Float64Array(0),
    1,
    2,
    0,
    2,
    3,
    1,
  );
  assert.deepEqual(Array.from(output), [0, 0, 0, 0, 0, 0]);
  assert.equal(weights.length, 0);
});

Deno.test("attentionWasm() views are overwritten by the next call", () => {
  const q = new Float64Array([1, 0]);
  const k = new Float64Array([1, 0, 0, 1]);
  const v1 = new Float64Array([1, 2]);
  const v2 = new Float64Array([5, 7]);
  const copied = attentionWasm(q, k, v1, 1, 1, 2, 2, 1, 1);
  const viewed = attentionWasm(q, k, v1, 1, 1, 2, 2, 1, 1, { views: true });
  assert.deepEqual(Array.from(viewed.output), Array.from(copied.output));
  assert.deepEqual(Array.from(viewed.weights), Array.from(copied.weights));
  const before = viewed.output[0];
  attentionWasm(q, k, v2, 1, 1, 2, 2, 1, 1);
  assert.notEqual(viewed.output[0], before);
  assert.equal(copied.output[0], before);
});

Deno.test("attentionWasm() rejects a Float32Array input", () => {
  const x = new Float32Array(4);
  assert.throws(
    () => attentionWasm(x as never, x as never, x as never, 1, 2, 2, 2, 2, 1),
    TypeError,
  );
});

Deno.test("wasm/build.ts output matches the committed files", async () => {
  const root = new URL("..", import.meta.url);
  for (const artifact of await buildArtifacts()) {
    const committed = await Deno.readFile(new URL(artifact.path, root));
    assert.deepEqual(
      committed,
      artifact.bytes,
      `${artifact.path} is stale: run deno run -A wasm/build.ts`,
    );
  }
});
