/**
 * Benchmarks the library's attention kernel against the mathjs reference at
 * the shapes of the course and of longer sequences.
 *
 * Run with `deno task bench`. For ratios to NumPy measured in one run, use
 * `deno task bench:compare`, which writes docs/benchmarks.md.
 */

import {
  RandomState,
  referenceAttention,
  scaledDotProductAttention,
} from "attention";

/** (B, T = S, D) shapes; the first is Challenge 0's. */
export const SHAPES: readonly [number, number, number][] = [
  [2, 10, 64],
  [8, 128, 64],
  [4, 512, 64],
  [1, 2048, 64],
];

for (const [B, T, D] of SHAPES) {
  const rng = new RandomState(0);
  const q = rng.rand(B, T, D);
  const k = rng.rand(B, T, D);
  const v = rng.rand(B, T, D);
  const group = `(${B}, ${T}, ${D})`;
  // V8 runs a hot function in a slower tier for its first calls, so every case warms up.
  const large = B * T * T > 1_000_000;
  Deno.bench({
    name: `library ${group}`,
    group,
    baseline: true,
    warmup: 8,
    n: large ? 20 : undefined,
    fn: () => {
      scaledDotProductAttention(q, k, v);
    },
  });
  Deno.bench({
    name: `mathjs reference ${group}`,
    group,
    warmup: large ? 1 : 8,
    n: B * T * T >= 1_000_000 ? 3 : undefined,
    fn: () => {
      referenceAttention(q, k, v);
    },
  });
}
