/**
 * Checks for the exercises of the Challenge 0 notebook.
 *
 * Each exercise is a function that the learner completes. A check calls that
 * function on its own inputs and prints a line when it passes. Otherwise it
 * throws a {@linkcode CheckError} whose message states what is right and what
 * is wrong, with a hint that does not give the solution away. A placeholder {@linkcode todo} throws a
 * {@linkcode NotDoneError} that names the cell to complete, and every check
 * lets that error through unchanged, so an unfinished notebook shows only
 * "not done yet" errors.
 *
 * Shape legend: B batch, T queries, S keys, D model width (d_k), Dv value width.
 *
 * @module
 */

import { formatShape } from "./errors.ts";
import { matmul, softmax, transpose } from "./ops.ts";
import { RandomState } from "./random.ts";
import { scaledDotProductAttention } from "./attention.ts";
import { Tensor } from "./tensor.ts";
import { findMismatch } from "./testing.ts";

/** Number of an exercise in the Challenge 0 notebook. */
export type ExerciseNumber = 1 | 2 | 3 | 4;

/** Headings of the exercise cells, as the notebook writes them after "Exercise N: ". */
export const EXERCISE_TITLES: Readonly<Record<ExerciseNumber, string>> = Object
  .freeze({
    1: "Define the key parameters",
    2: "Generate queries, keys and values",
    3: "Compute the attention scores",
    4: "Write scaled dot-product attention",
  });

/** The sizes that Exercise 1 defines. */
export interface Sizes {
  /** Width of each embedding, d_model (D). */
  dModel: number;
  /** Tokens per sequence (T = S). */
  seqLen: number;
  /** Sequences per batch (B). */
  batchSize: number;
}

/** The tensors that Exercise 2 draws, each of shape (B, T, D). */
export interface Inputs {
  /** Queries Q, shape (B, T, D). */
  queries: Tensor;
  /** Keys K, shape (B, S, D). */
  keys: Tensor;
  /** Values V, shape (B, S, D). */
  values: Tensor;
}

/** The result that Exercise 4 returns. */
export interface AttentionAnswer {
  /** Weighted sums of the values, shape (B, T, Dv). */
  output: Tensor;
  /** Softmax of the scaled scores over the keys, shape (B, T, S). */
  weights: Tensor;
}

/** Signature of the Exercise 1 function. */
export type DefineParameters = () => Sizes;
/** Signature of the Exercise 2 function. */
export type GenerateInputs = (
  rng: RandomState,
  batchSize: number,
  seqLen: number,
  dModel: number,
) => Inputs;
/** Signature of the Exercise 3 function. */
export type AttentionScores = (queries: Tensor, keys: Tensor) => Tensor;
/** Signature of the Exercise 4 function. */
export type Attention = (
  queries: Tensor,
  keys: Tensor,
  values: Tensor,
) => AttentionAnswer;

/**
 * Error of an exercise that still contains its {@linkcode todo} placeholder.
 *
 * The message names the exercise and the heading of the cell to complete.
 *
 * @example Usage
 * ```ts
 * import { NotDoneError } from "attention/checks";
 * import assert from "node:assert/strict";
 *
 * const error = new NotDoneError(2);
 * assert.equal(error.exercise, 2);
 * assert.match(error.message, /^Exercise 2 is not done yet/);
 * ```
 */
export class NotDoneError extends Error {
  /** The exercise that is not done. */
  readonly exercise: ExerciseNumber;

  /**
   * Creates the error for one exercise.
   *
   * @param exercise Number of the exercise, 1 to 4.
   * @throws {RangeError} If `exercise` is not 1, 2, 3 or 4.
   */
  constructor(exercise: ExerciseNumber) {
    const title = exerciseTitle(exercise, "NotDoneError");
    super(
      `Exercise ${exercise} is not done yet: complete the cell under ` +
        `"Exercise ${exercise}: ${title}" (replace each todo(${exercise}) with your ` +
        `code), run that cell, then run this one again.`,
    );
    this.name = "NotDoneError";
    this.exercise = exercise;
    hideStack(this);
  }
}

/**
 * Error of an exercise whose answer is wrong: what is right, what is wrong, and a hint.
 *
 * @example Usage
 * ```ts
 * import { CheckError } from "attention/checks";
 * import assert from "node:assert/strict";
 *
 * const error = new CheckError(3, "the scores have shape (2, 5, 3).", "Put the queries first.");
 * assert.match(error.message, /^Exercise 3 is not right yet: the scores/);
 * assert.match(error.message, /Hint: Put the queries first\.$/);
 * ```
 */
export class CheckError extends Error {
  /** The exercise that failed its check. */
  readonly exercise: ExerciseNumber;

  /**
   * Creates the error.
   *
   * @param exercise Number of the exercise, 1 to 4.
   * @param problem What is right and what is wrong, as full sentences.
   * @param hint A nudge towards the fix that does not give the code away.
   * @throws {RangeError} If `exercise` is not 1, 2, 3 or 4.
   */
  constructor(exercise: ExerciseNumber, problem: string, hint: string) {
    exerciseTitle(exercise, "CheckError");
    super(`Exercise ${exercise} is not right yet: ${problem} Hint: ${hint}`);
    this.name = "CheckError";
    this.exercise = exercise;
    hideStack(this);
  }
}

/**
 * Throws a {@linkcode NotDoneError} for an exercise; the placeholder that the learner replaces.
 *
 * Its return type is `never`, so `const dModel: number = todo(1);` type-checks
 * until the learner writes the real value.
 *
 * @param exercise Number of the exercise, 1 to 4.
 * @returns Never returns.
 * @throws {NotDoneError} Always.
 * @throws {RangeError} If `exercise` is not 1, 2, 3 or 4.
 *
 * @example Usage
 * ```ts
 * import { NotDoneError, todo } from "attention/checks";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => todo(1), NotDoneError);
 * ```
 */
export function todo(exercise: ExerciseNumber): never {
  throw new NotDoneError(exercise);
}

/**
 * Checks Exercise 1: the sizes of Challenge 0.
 *
 * Calls `defineParameters()` and expects d_model 64, 10 tokens per sequence
 * and 2 sequences per batch, as Part 1 of the notebook states. Prints a line
 * when the answer is right.
 *
 * @param defineParameters The learner's function, returning `{ dModel, seqLen, batchSize }`.
 * @throws {NotDoneError} If the function still calls `todo`.
 * @throws {CheckError} If a property is missing, not a positive integer or has another value.
 *
 * @example Usage
 * ```ts
 * import { CheckError, part1 } from "attention/checks";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => part1(() => ({ dModel: 10, seqLen: 64, batchSize: 2 })), CheckError);
 * ```
 */
export function part1(defineParameters: DefineParameters): void {
  requireFunction(1, defineParameters, "defineParameters");
  const sizes = callLearner(1, "defineParameters", defineParameters, []);
  if (sizes === null || typeof sizes !== "object") {
    throw new CheckError(
      1,
      `defineParameters() returned ${describe(sizes)}, not an object.`,
      "Return an object with the three properties dModel, seqLen and batchSize.",
    );
  }

  const expected: Record<keyof Sizes, number> = {
    dModel: 64,
    seqLen: 10,
    batchSize: 2,
  };
  const meaning: Record<keyof Sizes, string> = {
    dModel: "d_model, the number of features per token",
    seqLen: "seq_len, the number of tokens in a sequence",
    batchSize: "batch_size, the number of sequences processed at once",
  };

  const record = sizes as unknown as Record<string, unknown>;
  const names = Object.keys(expected) as (keyof Sizes)[];
  for (const name of names) {
    if (!(name in record)) {
      const found = Object.keys(record);
      throw new CheckError(
        1,
        `the returned object has no \`${name}\` property; it has ` +
          `${found.length === 0 ? "no properties" : found.join(", ")}.`,
        `Use the camelCase names dModel, seqLen and batchSize, as the cell does.`,
      );
    }
    const value = record[name];
    if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
      throw new CheckError(
        1,
        `\`${name}\` is ${
          describe(value)
        }, but a size must be a positive integer.`,
        `\`${name}\` is ${meaning[name]}; write it as a plain number.`,
      );
    }
  }

  // Report every wrong size at once, so that a learner who mixed up two of
  // them can fix both in one run instead of one at a time.
  const wrong = names.filter((name) => record[name] !== expected[name]);
  if (wrong.length > 0) {
    const right = names.filter((name) => !wrong.includes(name));
    const rightPart = right.length === 0
      ? ""
      : `${right.map((n) => `\`${n}\``).join(" and ")} ${
        right.length === 1 ? "is" : "are"
      } right, but `;
    const [first, second] = wrong;
    const swapped = wrong.length === 2 &&
      record[first] === expected[second] &&
      record[second] === expected[first];
    if (swapped) {
      throw new CheckError(
        1,
        `${rightPart}\`${first}\` is ${record[first]} and \`${second}\` is ` +
          `${record[second]}, so the two values look swapped.`,
        `\`${first}\` is ${meaning[first]}, and \`${second}\` is ${
          meaning[second]
        }.`,
      );
    }
    const details = wrong.map((name) =>
      `\`${name}\` is ${record[name]}, which is not the value that Part 1 ` +
      `gives for ${meaning[name]}.`
    );
    throw new CheckError(
      1,
      `${rightPart}${details.join(" ")}`,
      `Reread the list of key parameters at the start of Part 1.`,
    );
  }
  console.log(
    `Exercise 1 passed: dModel = ${expected.dModel}, seqLen = ${expected.seqLen}, ` +
      `batchSize = ${expected.batchSize}.`,
  );
}

/**
 * Checks Exercise 2: queries, keys and values drawn like `np.random.rand`.
 *
 * Calls `generateInputs(rng, B, T, D)` with a seeded generator for two sets of
 * sizes, (3, 4, 5) and (2, 10, 64), and expects three tensors of shape
 * (B, T, D) that equal `rng.rand(B, T, D)` drawn for queries, then keys, then
 * values. Prints a line when the answer is right.
 *
 * @param generateInputs The learner's function, returning `{ queries, keys, values }`.
 * @throws {NotDoneError} If the function still calls `todo` (also through Exercise 1).
 * @throws {CheckError} If a tensor is missing, has the wrong shape or the wrong numbers.
 *
 * @example Usage
 * ```ts
 * import { CheckError, part2 } from "attention/checks";
 * import { Tensor } from "attention";
 * import assert from "node:assert/strict";
 *
 * const zeros = (b: number, t: number, d: number) => Tensor.zeros([b, t, d]);
 * const allZeros = (_rng: unknown, b: number, t: number, d: number) => ({
 *   queries: zeros(b, t, d), keys: zeros(b, t, d), values: zeros(b, t, d),
 * });
 * assert.throws(() => part2(allZeros), CheckError);
 * ```
 */
export function part2(generateInputs: GenerateInputs): void {
  requireFunction(2, generateInputs, "generateInputs");
  const cases = [
    { seed: 7, batch: 3, seq: 4, width: 5 },
    { seed: 0, batch: 2, seq: 10, width: 64 },
  ];
  const names = ["queries", "keys", "values"] as const;
  for (const { seed, batch, seq, width } of cases) {
    const call = `generateInputs(rng, ${batch}, ${seq}, ${width})`;
    const result = callLearner(2, "generateInputs", generateInputs, [
      new RandomState(seed),
      batch,
      seq,
      width,
    ]);
    const tensors = requireTensors(2, call, result, names);
    const expectedShape = [batch, seq, width];
    for (const name of names) {
      const shape = tensors[name].shape;
      if (sameShape(shape, expectedShape)) continue;
      const ignoresSizes = sameShape(shape, [2, 10, 64]);
      throw new CheckError(
        2,
        `${call} returned \`${name}\` of shape ${
          formatShape(shape)
        }, expected ` +
          `(batch_size, seq_len, d_model) = ${formatShape(expectedShape)}.`,
        ignoresSizes
          ? `Your function seems to use fixed sizes; draw with its arguments ` +
            `batchSize, seqLen and dModel instead.`
          : `rng.rand takes the size of each axis as a separate argument, in the ` +
            `order of the shape.`,
      );
    }
    const reference = new RandomState(seed);
    const expected = names.map(() => reference.rand(batch, seq, width));
    const actual = names.map((name) => tensors[name]);
    diagnoseDraws(call, actual, expected, { seed, batch, seq, width });
  }
  console.log(
    "Exercise 2 passed: queries, keys and values have shape (batch_size, seq_len, " +
      "d_model) and equal np.random.rand's draws for the same seed, in the order " +
      "queries, keys, values.",
  );
}

/** Throws a CheckError that explains how the drawn numbers differ from `rng.rand`. */
function diagnoseDraws(
  call: string,
  actual: Tensor[],
  expected: Tensor[],
  sizes: { seed: number; batch: number; seq: number; width: number },
): void {
  const names = ["queries", "keys", "values"];
  const equal = (a: Tensor, b: Tensor) => findMismatch(a, b, EXACT) === null;
  const wrong = names.filter((_, i) => !equal(actual[i], expected[i]));
  if (wrong.length === 0) return;

  const right = names.filter((name) => !wrong.includes(name));
  const shapesRight = `the shapes are right, but ${wrong.join(" and ")} ` +
    `${wrong.length === 1 ? "differs" : "differ"} from rng.rand's draws.`;
  const permutation = actual.map((tensor) =>
    expected.findIndex((candidate) => equal(tensor, candidate))
  );
  if (permutation.every((index) => index !== -1)) {
    if (new Set(permutation).size < names.length) {
      throw new CheckError(
        2,
        `${shapesRight} Two of them contain the same numbers.`,
        `Draw each tensor with its own rng.rand call.`,
      );
    }
    throw new CheckError(
      2,
      `${shapesRight} They contain the right numbers in a different order.`,
      `Each rng.rand call continues the same random stream, so the order of the ` +
        `calls matters: the Python notebook draws queries first, then keys, then values.`,
    );
  }
  const anyOutsideUnitInterval = actual.some((tensor) =>
    tensor.data.some((x) => !(x >= 0 && x < 1))
  );
  if (anyOutsideUnitInterval) {
    throw new CheckError(
      2,
      `${shapesRight} Some values lie outside [0, 1).`,
      `np.random.rand draws uniform numbers from [0, 1); the generator method ` +
        `with the same name does too.`,
    );
  }
  const { seed, batch, seq, width } = sizes;
  if (seed !== 0) {
    const seedZero = new RandomState(0);
    const fromSeedZero = names.map(() => seedZero.rand(batch, seq, width));
    if (actual.every((tensor, i) => equal(tensor, fromSeedZero[i]))) {
      throw new CheckError(
        2,
        `${shapesRight} They match a generator seeded with 0, but this check ` +
          `passed a generator seeded with ${seed}.`,
        `Draw from the \`rng\` argument instead of creating a new RandomState, ` +
          `so that the caller chooses the seed.`,
      );
    }
  }
  const rightPart = right.length === 0
    ? ""
    : ` ${right.join(" and ")} ${right.length === 1 ? "is" : "are"} right.`;
  throw new CheckError(
    2,
    `${shapesRight}${rightPart} ${call} must return the numbers that three ` +
      `np.random.rand calls return after np.random.seed(${seed}).`,
    `Draw each tensor with one rng.rand call and make no other draws in between.`,
  );
}

/**
 * Checks Exercise 3: the unscaled scores `Q K^T`, shape (B, T, S).
 *
 * Calls `attentionScores(queries, keys)` on queries (2, 3, 4) with keys
 * (2, 5, 4), where T differs from S so that a missing transpose shows, and on
 * square (1, 4, 4) inputs. Prints a line when the answer is right.
 *
 * @param attentionScores The learner's function, returning the scores.
 * @throws {NotDoneError} If the function still calls `todo`.
 * @throws {CheckError} If it throws, returns the wrong shape, scales, applies
 *   softmax, omits the transpose or returns other numbers.
 *
 * @example Usage
 * ```ts
 * import { CheckError, part3 } from "attention/checks";
 * import { matmul } from "attention";
 * import assert from "node:assert/strict";
 *
 * // Forgetting to transpose the keys fails the check.
 * assert.throws(() => part3((queries, keys) => matmul(queries, keys)), CheckError);
 * ```
 */
export function part3(attentionScores: AttentionScores): void {
  requireFunction(3, attentionScores, "attentionScores");
  const rng = new RandomState(3);
  const cases = [
    { queries: rng.rand(2, 3, 4), keys: rng.rand(2, 5, 4) },
    { queries: rng.rand(1, 4, 4), keys: rng.rand(1, 4, 4) },
  ];
  for (const { queries, keys } of cases) {
    const call =
      `attentionScores(queries ${formatShape(queries.shape)}, keys ` +
      `${formatShape(keys.shape)})`;
    const scores = callLearner(3, "attentionScores", attentionScores, [
      queries,
      keys,
    ]);
    const [batch, t, width] = queries.shape;
    const s = keys.shape[1];
    if (!(scores instanceof Tensor)) {
      throw new CheckError(
        3,
        `${call} returned ${describe(scores)}, not a Tensor.`,
        `matmul returns a Tensor; return its result.`,
      );
    }
    const expectedShape = [batch, t, s];
    if (!sameShape(scores.shape, expectedShape)) {
      const flipped = sameShape(scores.shape, [batch, s, t]) && s !== t;
      throw new CheckError(
        3,
        `${call} returned shape ${formatShape(scores.shape)}, expected ` +
          `(B, T, S) = ${
            formatShape(expectedShape)
          }: one row per query and one ` +
          `column per key.`,
        flipped
          ? `Your rows belong to the keys. Which factor of the product gives the rows?`
          : `matmul multiplies (B, M, K) by (B, K, N) into (B, M, N). Which ` +
            `shape must the right-hand factor have so that M = T and N = S?`,
      );
    }
    const expected = matmul(queries, transpose(keys));
    if (findMismatch(scores, expected, CLOSE) === null) continue;

    const scaled = findMismatch(
      scores,
      scale(expected, 1 / Math.sqrt(width)),
      CLOSE,
    );
    if (scaled === null) {
      throw new CheckError(
        3,
        `the shape is right, but the scores are already divided by sqrt(d_k).`,
        `This exercise asks for the plain dot products; the scaling belongs to ` +
          `Exercise 4.`,
      );
    }
    if (
      findMismatch(scores, softmax(expected), CLOSE) === null ||
      findMismatch(
          scores,
          softmax(scale(expected, 1 / Math.sqrt(width))),
          CLOSE,
        ) ===
        null
    ) {
      throw new CheckError(
        3,
        `the shape is right, but the scores already went through softmax.`,
        `This exercise asks for the plain dot products; softmax belongs to Exercise 4.`,
      );
    }
    if (
      t === s && findMismatch(scores, matmul(queries, keys), CLOSE) === null
    ) {
      throw new CheckError(
        3,
        `the shape is right for these square inputs, but the numbers are the ` +
          `product Q K without a transpose.`,
        `A score must pair the features of one query with the features of one key. ` +
          `In a matrix product, row t of the left factor meets column s of the ` +
          `right factor, so the keys must enter as columns.`,
      );
    }
    const mismatch = findMismatch(scores, expected, CLOSE)!;
    const [b, row, column] = mismatch.index;
    throw new CheckError(
      3,
      `the shape is right, but ${mismatch.count} of ${expected.size} scores ` +
        `differ. scores[${b}][${row}][${column}] is ${mismatch.actual}, expected ` +
        `the dot product of query ${row} and key ${column} of batch entry ${b}, ` +
        `${mismatch.expected}.`,
      `Compute every score with one batched matrix product of the queries and ` +
        `the keys, and change nothing afterwards.`,
    );
  }
  console.log(
    "Exercise 3 passed: the scores have shape (batch_size, seq_len, seq_len) and " +
      "each entry is the dot product of one query with one key.",
  );
}

/**
 * Checks Exercise 4: scaled dot-product attention returning `{ output, weights }`.
 *
 * Compares the learner's function with {@linkcode scaledDotProductAttention}
 * on queries (2, 3, 4), keys (2, 5, 4) and values (2, 5, 6), where T, S, D
 * and Dv all differ so that a mixed-up axis shows, and on the Colab sizes
 * (2, 10, 64). Recognises a missing or wrong scale factor, softmax over the
 * wrong axis, a missing softmax and swapped results. Prints a line when the
 * answer is right.
 *
 * @param attention The learner's function.
 * @throws {NotDoneError} If the function, or the Exercise 3 function it calls, still calls `todo`.
 * @throws {CheckError} If the result has the wrong form, shapes or numbers.
 *
 * @example Usage
 * ```ts
 * import { CheckError, part4 } from "attention/checks";
 * import { matmul, softmax, type Tensor, transpose } from "attention";
 * import assert from "node:assert/strict";
 *
 * // Without the division by sqrt(d_k) the check fails.
 * const unscaled = (q: Tensor, k: Tensor, v: Tensor) => {
 *   const weights = softmax(matmul(q, transpose(k)));
 *   return { output: matmul(weights, v), weights };
 * };
 * assert.throws(() => part4(unscaled), /did not scale/);
 * ```
 */
export function part4(attention: Attention): void {
  requireFunction(4, attention, "attention");
  const rng = new RandomState(4);
  const cases = [
    {
      queries: rng.rand(2, 3, 4),
      keys: rng.rand(2, 5, 4),
      values: rng.rand(2, 5, 6),
    },
    {
      queries: rng.rand(2, 10, 64),
      keys: rng.rand(2, 10, 64),
      values: rng.rand(2, 10, 64),
    },
  ];
  for (const { queries, keys, values } of cases) {
    const shapes = `queries ${formatShape(queries.shape)}, keys ` +
      `${formatShape(keys.shape)}, values ${formatShape(values.shape)}`;
    const call = `attention(${shapes})`;
    const result = callLearner(4, "attention", attention, [
      queries,
      keys,
      values,
    ]);
    const { output, weights } = requireTensors(
      4,
      call,
      result,
      [
        "output",
        "weights",
      ] as const,
    );
    const reference = scaledDotProductAttention(queries, keys, values);
    checkAttentionShapes(call, output, weights, reference, keys);
    diagnoseWeights(call, weights, reference, queries, keys, values);
    diagnoseOutput(call, output, reference);
  }
  console.log(
    "Exercise 4 passed: the weights (B, T, S) are the softmax of Q K^T / sqrt(d_k) " +
      "over the keys, and the output (B, T, Dv) equals the library's " +
      "scaledDotProductAttention.",
  );
}

/** Throws a CheckError unless `output` is (B, T, Dv) and `weights` is (B, T, S). */
function checkAttentionShapes(
  call: string,
  output: Tensor,
  weights: Tensor,
  reference: { output: Tensor; weights: Tensor },
  keys: Tensor,
): void {
  const outputShape = reference.output.shape;
  const weightsShape = reference.weights.shape;
  const outputRight = sameShape(output.shape, outputShape);
  const weightsRight = sameShape(weights.shape, weightsShape);
  if (outputRight && weightsRight) return;

  if (
    sameShape(output.shape, weightsShape) &&
    sameShape(weights.shape, outputShape)
  ) {
    throw new CheckError(
      4,
      `${call} returned \`output\` of shape ${formatShape(output.shape)} and ` +
        `\`weights\` of shape ${
          formatShape(weights.shape)
        }: the two look swapped.`,
      `The weights have one entry per query and key; the output has one row per ` +
        `query with the width of the values.`,
    );
  }
  if (!weightsRight) {
    throw new CheckError(
      4,
      `${call} returned \`weights\` of shape ${formatShape(weights.shape)}, ` +
        `expected (B, T, S) = ${formatShape(weightsShape)}.`,
      `The weights have one row per query and one column per key, like the ` +
        `scores of Exercise 3.`,
    );
  }

  const [batch, t, s] = weightsShape;
  const valueWidth = outputShape[2];
  const keyWidth = keys.shape[2];
  let hint =
    `Each output row is a weighted sum of value rows, one weight per key.`;
  if (
    sameShape(output.shape, [batch, t, keyWidth]) && keyWidth !== valueWidth
  ) {
    hint =
      `Your output has the width of the keys (${keyWidth}), not of the values ` +
      `(${valueWidth}). Keys decide where a query looks; the values are what it collects.`;
  } else if (sameShape(output.shape, [batch, t, s])) {
    hint =
      `Your output has one column per key, like the weights. Each output row ` +
      `is a weighted sum of value rows, so it has the width of the values.`;
  }

  throw new CheckError(
    4,
    `the weights have the right shape, but \`output\` has shape ` +
      `${formatShape(output.shape)}, expected (B, T, Dv) = ${
        formatShape(outputShape)
      }.`,
    hint,
  );
}

/** Throws a CheckError that explains how `weights` differs from the reference weights. */
function diagnoseWeights(
  call: string,
  weights: Tensor,
  reference: { weights: Tensor },
  queries: Tensor,
  keys: Tensor,
  values: Tensor,
): void {
  if (findMismatch(weights, reference.weights, CLOSE) === null) return;
  const [, t, s] = reference.weights.shape;
  const width = queries.shape[2];
  const shapesRight = `the shapes are right, but the weights differ from ` +
    `softmax(Q K^T / sqrt(d_k)).`;

  if (weights.data.some((x) => !Number.isFinite(x))) {
    throw new CheckError(
      4,
      `${shapesRight} They contain NaN or Infinity.`,
      `Use the library's softmax, which subtracts each row's maximum before exp.`,
    );
  }
  const rowsSumToOne = axisSumsAreOne(weights, "rows");
  const columnsSumToOne = axisSumsAreOne(weights, "columns");
  if (!rowsSumToOne && columnsSumToOne) {
    throw new CheckError(
      4,
      `${shapesRight} Each column of the weights sums to 1, but each row must: ` +
        `the softmax ran over the queries instead of the keys.`,
      `For every query, its weights over the ${s} keys must sum to 1. The ` +
        `library's softmax normalises the last axis; which axis is last when you call it?`,
    );
  }
  if (!rowsSumToOne) {
    throw new CheckError(
      4,
      `${shapesRight} Their rows do not sum to 1.`,
      `Weights come from turning each row of scaled scores into a probability ` +
        `distribution over the keys.`,
    );
  }
  const raw = matmul(queries, transpose(keys));
  const factor = impliedScale(weights, raw);
  if (factor !== null) {
    const candidates: [number, string][] = [
      [
        1,
        "You did not scale the scores. Divide them by sqrt(d_k) before softmax, " +
        "so that their spread does not grow with the width d_k.",
      ],
      [
        1 / width,
        "You divided the scores by d_k. The formula divides by its " +
        "square root.",
      ],
      [
        Math.sqrt(width),
        "You multiplied the scores by sqrt(d_k). The formula divides " +
        "by it.",
      ],
    ];
    const wrongAxes: [number, string][] = [
      [t, "the number of queries"],
      [s, "the number of keys"],
      [values.shape[2], "the width of the values"],
      [queries.shape[0], "the batch size"],
    ];
    for (const [size, name] of wrongAxes) {
      if (size !== width) {
        candidates.push([
          1 / Math.sqrt(size),
          `You divided by the square root of ${name} (${size}). d_k is the width ` +
          `of the queries and keys: the size of their last axis.`,
        ]);
      }
    }
    for (const [candidate, hint] of candidates) {
      if (Math.abs(factor - candidate) <= 1e-6 * candidate) {
        throw new CheckError(
          4,
          `${shapesRight} The rows sum to 1 and follow softmax(Q K^T × ` +
            `${round(factor)}) instead.`,
          hint,
        );
      }
    }
    // A factor of 1/sqrt(n) for a whole n other than d_k most likely comes
    // from a fixed number, such as the 8 = sqrt(64) of the Challenge 0 sizes,
    // which is right only for inputs whose d_k happens to equal n.
    const fixedWidth = Math.round(1 / (factor * factor));
    if (
      fixedWidth >= 2 && fixedWidth !== width &&
      Math.abs(1 / (factor * factor) - fixedWidth) <= 1e-6 * fixedWidth
    ) {
      const divisor = round(Math.sqrt(fixedWidth));
      throw new CheckError(
        4,
        `${shapesRight} The rows sum to 1 and follow softmax(Q K^T / ${divisor}) ` +
          `instead, as if d_k were ${fixedWidth}. ` +
          `This check uses its own inputs, where d_k = ${width} (${call}).`,
        `Read d_k from the shape of the queries instead of writing it as a fixed ` +
          `number, so that the function works for every width.`,
      );
    }
    throw new CheckError(
      4,
      `${shapesRight} The rows sum to 1 and follow softmax(Q K^T × ${
        round(factor)
      }) ` +
        `instead. This check uses its own inputs, where d_k = ${width} (${call}).`,
      `Check the factor: the scores are divided by the square root of d_k, the ` +
        `width of the queries and keys. Read d_k from the shape of the queries ` +
        `rather than writing it as a fixed number.`,
    );
  }
  const mismatch = findMismatch(weights, reference.weights, CLOSE)!;
  throw new CheckError(
    4,
    `${shapesRight} The rows sum to 1, but weights[${
      mismatch.index.join("][")
    }] ` +
      `is ${mismatch.actual}, expected ${mismatch.expected} (${call}).`,
    `Compute the weights from the scores of Exercise 3, divided by sqrt(d_k), ` +
      `then softmax.`,
  );
}

/** Throws a CheckError that gives the first output entry that differs from the reference. */
function diagnoseOutput(
  call: string,
  output: Tensor,
  reference: { output: Tensor },
): void {
  const mismatch = findMismatch(output, reference.output, CLOSE);
  if (mismatch === null) return;
  throw new CheckError(
    4,
    `the weights are right, but the output is not: output[${
      mismatch.index.join("][")
    }] ` +
      `is ${mismatch.actual}, expected ${mismatch.expected} (${call}).`,
    `Output row t of a batch entry is the sum over the keys s of weight[t][s] ` +
      `times value row s.`,
  );
}

/**
 * Returns `c` if `weights` equals `softmax(raw × c)` for one positive `c`, else null.
 *
 * Within a row, log(w_s / w_0) = c (raw_s - raw_0), so `c` follows from a
 * least-squares fit over all rows and is confirmed by recomputing the softmax.
 */
function impliedScale(weights: Tensor, raw: Tensor): number | null {
  const n = raw.shape[raw.rank - 1];
  let numerator = 0;
  let denominator = 0;
  for (let row = 0; row < raw.data.length; row += n) {
    for (let s = 1; s < n; s++) {
      const ds = raw.data[row + s] - raw.data[row];
      const dl = Math.log(weights.data[row + s]) - Math.log(weights.data[row]);
      if (!Number.isFinite(dl)) return null;
      numerator += ds * dl;
      denominator += ds * ds;
    }
  }
  if (denominator === 0) return null;
  const factor = numerator / denominator;
  if (!(factor > 0)) return null;
  const candidate = softmax(scale(raw, factor));
  return findMismatch(weights, candidate, { rtol: 1e-6, atol: 1e-9 }) === null
    ? factor
    : null;
}

/** Returns whether every row (last axis) or every column (second-to-last axis) sums to 1. */
function axisSumsAreOne(x: Tensor, axis: "rows" | "columns"): boolean {
  const [batch, rows, columns] = x.shape;
  for (let b = 0; b < batch; b++) {
    const base = b * rows * columns;
    const outer = axis === "rows" ? rows : columns;
    const inner = axis === "rows" ? columns : rows;
    for (let i = 0; i < outer; i++) {
      let sum = 0;
      for (let j = 0; j < inner; j++) {
        sum += axis === "rows"
          ? x.data[base + i * columns + j]
          : x.data[base + j * columns + i];
      }
      if (Math.abs(sum - 1) > 1e-9) return false;
    }
  }
  return true;
}

/** Tolerance for answers that reach the reference numbers by another order of operations. */
const CLOSE = { rtol: 1e-9, atol: 1e-12 };
/** Tolerance for random draws, which must equal NumPy's bit for bit. */
const EXACT = { rtol: 0, atol: 0 };

function scale(x: Tensor, factor: number): Tensor {
  return new Tensor(x.data.map((value) => value * factor), x.shape);
}

function round(x: number): string {
  return String(Number(x.toPrecision(6)));
}

function sameShape(
  shape: readonly number[],
  expected: readonly number[],
): boolean {
  return shape.length === expected.length &&
    shape.every((n, i) => n === expected[i]);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (value instanceof Tensor) {
    return `a Tensor of shape ${formatShape(value.shape)}`;
  }
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  if (typeof value === "number" || typeof value === "boolean") {
    return String(value);
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === "function") return "a function";
  return "an object";
}

function exerciseTitle(exercise: number, operation: string): string {
  const title = EXERCISE_TITLES[exercise as ExerciseNumber];
  if (title === undefined) {
    throw new RangeError(
      `${operation}: exercise ${
        describe(exercise)
      } does not exist: expected 1, 2, 3 ` +
        `or 4. Pass the number of the exercise the cell belongs to.`,
    );
  }
  return title;
}

/**
 * Replaces the stack with the message alone.
 *
 * Deno's Jupyter kernel prints an error's stack as the cell's traceback, and
 * frames inside this module would only distract from the message.
 */
function hideStack(error: Error): void {
  error.stack = `${error.name}: ${error.message}`;
}

function requireFunction(
  exercise: ExerciseNumber,
  value: unknown,
  name: string,
): void {
  if (typeof value === "function") return;
  throw new CheckError(
    exercise,
    `the check received ${
      describe(value)
    } instead of your function \`${name}\`.`,
    `Pass the function itself, without calling it: part${exercise}(${name}).`,
  );
}

/**
 * Calls the learner's function and turns any error except NotDoneError into a CheckError.
 */
function callLearner<A extends unknown[], R>(
  exercise: ExerciseNumber,
  name: string,
  fn: (...args: A) => R,
  args: A,
): R {
  try {
    return fn(...args);
  } catch (error) {
    if (error instanceof NotDoneError) throw error;
    const text = error instanceof Error
      ? `${error.name}: ${error.message}`
      : String(error);
    const hints: Record<ExerciseNumber, string> = {
      1: "Return an object literal with the three sizes.",
      2: "Call rng.rand once for each tensor with the sizes your function receives.",
      3: "matmul multiplies (B, M, K) by (B, K, N): the last axis of the left " +
        "factor must match the second-to-last axis of the right one. Which of " +
        "the two tensors has to change its shape?",
      4: "Build it from the scores, a scale, softmax and one more matmul, and " +
        "check the shape of each step against the formula.",
    };
    throw new CheckError(exercise, `${name} threw ${text}`, hints[exercise]);
  }
}

/** Checks that `result` is an object whose properties `names` are tensors, and returns them. */
function requireTensors<const N extends string>(
  exercise: ExerciseNumber,
  call: string,
  result: unknown,
  names: readonly N[],
): Record<N, Tensor> {
  const expectedForm = `{ ${names.join(", ")} }`;
  if (
    result === null || typeof result !== "object" || result instanceof Tensor
  ) {
    throw new CheckError(
      exercise,
      `${call} returned ${
        describe(result)
      }, expected an object ${expectedForm}.`,
      `Return an object literal with the properties ${names.join(", ")}.`,
    );
  }
  const record = result as Record<string, unknown>;
  for (const name of names) {
    const value = record[name];
    if (value instanceof Tensor) continue;
    throw new CheckError(
      exercise,
      `${call} returned an object whose \`${name}\` is ${describe(value)}, ` +
        `expected a Tensor.`,
      `Return an object literal with the properties ${
        names.join(", ")
      }, each a ` +
        `Tensor from the library's functions.`,
    );
  }
  return record as Record<N, Tensor>;
}
