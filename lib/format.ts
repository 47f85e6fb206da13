/**
 * Number formatting that follows NumPy's printing rules for float64 arrays.
 *
 * The rules reproduce NumPy 1.24's defaults (`floatmode="maxprec"`,
 * `suppress=False`): each value prints the shortest decimal that round-trips,
 * cut to `precision` digits with round-half-to-even, and all values of an array
 * share one layout, either positional or scientific, padded to one width.
 *
 * @module
 */

/** Options that control how numbers of one array are formatted. */
export interface FloatFormatOptions {
  /**
   * Maximum digits after the decimal point, counted in the mantissa for
   * scientific notation. NumPy's default is 8.
   */
  precision?: number;
  /**
   * Whether to print small numbers in positional notation, rounded by
   * `precision`, as NumPy's `suppress=True` does. With the default `false`, an
   * array switches to scientific notation when a non-zero magnitude is below
   * 1e-4 or the largest magnitude exceeds 1000 times the smallest.
   */
  suppress?: boolean;
}

/** Formats one element of an array to a fixed width, as NumPy aligns columns. */
export type FloatFormatter = (value: number) => string;

/** Digits of `precision` that NumPy prints by default. */
export const DEFAULT_PRECISION = 8;

/** A non-negative decimal `d.ddd × 10^exponent`; `digits` has no trailing zeros. */
interface Decimal {
  digits: string;
  exponent: number;
}

const ZERO: Decimal = { digits: "0", exponent: 0 };

/**
 * Checks that `precision` is an integer from 0 to 100 and returns it.
 *
 * The upper bound is the largest digit count that `Number.prototype.toFixed`
 * accepts, which heatmap annotations use.
 *
 * @param precision The value of a `precision` option.
 * @param operation Name of the calling operation, for the error message.
 * @returns `precision`, typed as a number.
 * @throws {RangeError} If `precision` is not an integer from 0 to 100.
 */
export function validatePrecision(
  precision: unknown,
  operation: string,
): number {
  if (
    typeof precision !== "number" || !Number.isInteger(precision) ||
    precision < 0 ||
    precision > 100
  ) {
    throw new RangeError(
      `${operation}: option \`precision\` must be an integer from 0 to 100, ` +
        `received ${String(precision)}. ` +
        "Pass the number of digits to show, such as 2.",
    );
  }
  return precision;
}

/** Returns the shortest decimal that converts back to `magnitude` (which must be finite and >= 0). */
function shortestDecimal(magnitude: number): Decimal {
  if (magnitude === 0) return ZERO;
  // Without an argument, toExponential prints the shortest round-trip digits.
  const [mantissa, exponent] = magnitude.toExponential().split("e");
  return { digits: mantissa.replace(".", ""), exponent: Number(exponent) };
}

/** Splits a finite, non-negative double into `significand * 2^exponent` with integer parts. */
function binaryParts(magnitude: number): [bigint, number] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, magnitude);
  const high = view.getUint32(0);
  const low = view.getUint32(4);
  const biasedExponent = (high >>> 20) & 0x7ff;
  const fraction = (BigInt(high & 0xfffff) << 32n) | BigInt(low);
  if (biasedExponent === 0) return [fraction, -1074];
  return [fraction | (1n << 52n), biasedExponent - 1075];
}

/** Compares the exact binary value of `magnitude` with `decimal`: -1, 0 or 1. */
function compareExact(magnitude: number, decimal: Decimal): number {
  const [significand, binaryExponent] = binaryParts(magnitude);
  // Scale both sides to integers: significand * 2^binaryExponent vs integer * 10^decimalExponent.
  let left = significand;
  let right = BigInt(decimal.digits);
  const decimalExponent = decimal.exponent - (decimal.digits.length - 1);
  if (binaryExponent >= 0) left <<= BigInt(binaryExponent);
  else right <<= BigInt(-binaryExponent);
  if (decimalExponent >= 0) right *= 10n ** BigInt(decimalExponent);
  else left *= 10n ** BigInt(-decimalExponent);
  if (left === right) return 0;
  return left > right ? 1 : -1;
}

/** Returns every decimal digit of a finite, non-negative double, whose binary fraction has a finite decimal expansion. */
function exactDecimal(magnitude: number): Decimal {
  if (magnitude === 0) return ZERO;
  const [significand, binaryExponent] = binaryParts(magnitude);
  if (binaryExponent >= 0) {
    const digits = (significand << BigInt(binaryExponent)).toString();
    return { digits: trimZeros(digits), exponent: digits.length - 1 };
  }
  // significand / 2^k equals significand * 5^k / 10^k.
  const digits = (significand * 5n ** BigInt(-binaryExponent)).toString();
  return {
    digits: trimZeros(digits),
    exponent: digits.length - 1 + binaryExponent,
  };
}

/** Removes trailing zeros from a digit string, keeping at least one digit. */
function trimZeros(digits: string): string {
  const trimmed = digits.replace(/0+$/, "");
  return trimmed === "" ? "0" : trimmed;
}

/**
 * Rounds `decimal` to `keep` significant digits, sending exact ties to the even digit.
 *
 * `decimal` is either the exact value or its shortest round-trip form. Rounding
 * the shortest digits gives the same result as rounding the exact binary value,
 * except when those digits end exactly on the halfway point. Only then is
 * `compareWithExact` called. It returns the sign of (exact value - decimal).
 */
function roundDecimal(
  decimal: Decimal,
  keep: number,
  compareWithExact: () => number,
): Decimal {
  if (decimal.digits.length <= keep) return decimal;
  if (keep < 0) return ZERO;
  const keptDigits = decimal.digits.slice(0, keep);
  const droppedDigits = decimal.digits.slice(keep);
  let roundUp: boolean;
  if (droppedDigits[0] !== "5") {
    roundUp = droppedDigits[0] > "5";
  } else if (droppedDigits.length > 1) {
    roundUp = true;
  } else {
    const comparison = compareWithExact();
    const lastDigit = keptDigits === ""
      ? 0
      : Number(keptDigits[keptDigits.length - 1]);
    roundUp = comparison > 0 || (comparison === 0 && lastDigit % 2 === 1);
  }
  if (!roundUp) {
    return keptDigits === ""
      ? ZERO
      : { digits: trimZeros(keptDigits), exponent: decimal.exponent };
  }
  // The incremented digit has place value 10^(exponent - keep + 1). A carry
  // that adds a digit ("99" to "100"), or rounding up from no kept digits,
  // moves the leading digit one place up.
  const keptValue = BigInt(keptDigits === "" ? "0" : keptDigits);
  const incremented = (keptValue + 1n).toString();
  const carried = keptDigits === "" || incremented.length > keptDigits.length;
  const exponent = decimal.exponent + (carried ? 1 : 0);
  return { digits: trimZeros(incremented), exponent };
}

/** Splits `decimal` into integer digits and fraction digits without padding. */
function positionalParts(decimal: Decimal): [string, string] {
  const { digits, exponent } = decimal;
  if (digits === "0") return ["0", ""];
  if (exponent >= 0) {
    return [
      digits.slice(0, exponent + 1).padEnd(exponent + 1, "0"),
      digits.slice(exponent + 1),
    ];
  }
  return ["0", "0".repeat(-exponent - 1) + digits];
}

function isNegative(value: number): boolean {
  return value < 0 || Object.is(value, -0);
}

/** Rounds the shortest round-trip digits of `magnitude` to `keep` significant digits. */
function roundShortest(magnitude: number, keep: number): Decimal {
  const decimal = shortestDecimal(magnitude);
  return roundDecimal(decimal, keep, () => compareExact(magnitude, decimal));
}

/** Formats a finite value in positional notation with at most `precision` fraction digits. */
function positional(value: number, precision: number): [string, string] {
  const magnitude = Math.abs(value);
  const exponent = shortestDecimal(magnitude).exponent;
  const [integer, fraction] = positionalParts(
    roundShortest(magnitude, exponent + 1 + precision),
  );
  return [(isNegative(value) ? "-" : "") + integer, fraction];
}

/** Formats a finite value as sign, mantissa digits and decimal exponent. */
function scientific(
  value: number,
  precision: number,
): Decimal & { sign: string } {
  return {
    ...roundShortest(Math.abs(value), precision + 1),
    sign: isNegative(value) ? "-" : "",
  };
}

function nonFiniteText(value: number): string {
  if (Number.isNaN(value)) return "nan";
  return value > 0 ? "inf" : "-inf";
}

/**
 * Creates a formatter that prints every value of an array to one width, as NumPy does.
 *
 * Scientific notation is chosen when the largest non-zero magnitude is at least
 * 1e8, or, unless `suppress` is set, when the smallest is below 1e-4 or the
 * ratio of largest to smallest exceeds 1000. Positional values keep their own
 * digits and pad with spaces (`1.5` and `2.` print as `1.5` and `2. `);
 * scientific values all show the same number of mantissa digits. NaN and
 * ±Infinity print as `nan`, `inf` and `-inf`, right-aligned to the same width.
 *
 * @param values Every value the formatter will print; they set the layout and width.
 * @param options Precision (default 8) and `suppress` (default false).
 * @returns A function that formats one of those values to the common width.
 * @throws {RangeError} If `precision` is not an integer from 0 to 100.
 *
 * @example Usage
 * ```ts
 * import { createFloatFormatter } from "attention";
 * import assert from "node:assert/strict";
 *
 * const values = [0.5, 0.125, 100];
 * const format = createFloatFormatter(values);
 * assert.deepEqual(values.map(format), ["  0.5  ", "  0.125", "100.   "]);
 * ```
 */
export function createFloatFormatter(
  values: Iterable<number>,
  options: FloatFormatOptions = {},
): FloatFormatter {
  const precision = validatePrecision(
    options.precision ?? DEFAULT_PRECISION,
    "createFloatFormatter",
  );
  const suppress = options.suppress ?? false;

  const finite: number[] = [];
  let hasNonFinite = false;
  let hasNegativeInfinity = false;
  let largest = 0;
  let smallest = Infinity;
  for (const value of values) {
    if (!Number.isFinite(value)) {
      hasNonFinite = true;
      if (value === -Infinity) hasNegativeInfinity = true;
      continue;
    }
    finite.push(value);
    const magnitude = Math.abs(value);
    if (magnitude !== 0) {
      largest = Math.max(largest, magnitude);
      smallest = Math.min(smallest, magnitude);
    }
  }
  const useScientific = largest !== 0 &&
    (largest >= 1e8 ||
      (!suppress && (smallest < 1e-4 || largest / smallest > 1e3)));

  let integerWidth = 0;
  let fractionWidth = 0;
  let formatFinite: (value: number) => string;
  if (useScientific) {
    const parts = finite.map((value) => scientific(value, precision));
    let mantissaDigits = 0;
    let exponentDigits = 2;
    for (const part of parts) {
      integerWidth = Math.max(integerWidth, part.sign.length + 1);
      mantissaDigits = Math.max(mantissaDigits, part.digits.length - 1);
      exponentDigits = Math.max(
        exponentDigits,
        String(Math.abs(part.exponent)).length,
      );
    }
    fractionWidth = mantissaDigits + 2 + exponentDigits;
    formatFinite = (value) => {
      let part = scientific(value, precision);
      if (part.digits.length - 1 < mantissaDigits) {
        // NumPy fills the extra mantissa digits from the exact binary value, not
        // with zeros, which shows for subnormals: 5e-324 prints as 4.94e-324.
        const exact = roundDecimal(
          exactDecimal(Math.abs(value)),
          mantissaDigits + 1,
          () => 0,
        );
        part = { ...exact, sign: part.sign };
      }
      const lead = (part.sign + part.digits[0]).padStart(integerWidth);
      const fraction = part.digits.slice(1).padEnd(mantissaDigits, "0");
      const exponentSign = part.exponent < 0 ? "-" : "+";
      const exponent = String(Math.abs(part.exponent)).padStart(
        exponentDigits,
        "0",
      );
      return `${lead}.${fraction}e${exponentSign}${exponent}`;
    };
  } else {
    for (const value of finite) {
      const [integer, fraction] = positional(value, precision);
      integerWidth = Math.max(integerWidth, integer.length);
      fractionWidth = Math.max(fractionWidth, fraction.length);
    }
    formatFinite = (value) => {
      const [integer, fraction] = positional(value, precision);
      return integer.padStart(integerWidth) + "." +
        fraction.padEnd(fractionWidth);
    };
  }

  if (hasNonFinite) {
    // Widen the integer column so that "nan", "inf" or "-inf" fits the common width.
    const longest = hasNegativeInfinity ? 4 : 3;
    integerWidth = Math.max(integerWidth, longest - (fractionWidth + 1));
  }
  const width = integerWidth + 1 + fractionWidth;
  return (value) =>
    Number.isFinite(value)
      ? formatFinite(value)
      : nonFiniteText(value).padStart(width);
}

/**
 * Formats one number the way Python's `repr(float)` does, as NumPy prints a 0-d array.
 *
 * Positional notation is used for decimal exponents from -4 to 15, with at
 * least one fraction digit (`1.0`). Other values use scientific notation with
 * an exponent of at least two digits (`1e-05`, `1.5e+16`).
 *
 * @param value Any number.
 * @returns The shortest round-trip text, or `nan`, `inf`, `-inf`.
 *
 * @example Usage
 * ```ts
 * import { formatScalar } from "attention";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatScalar(1), "1.0");
 * assert.equal(formatScalar(0.00001), "1e-05");
 * assert.equal(formatScalar(NaN), "nan");
 * ```
 */
export function formatScalar(value: number): string {
  if (!Number.isFinite(value)) return nonFiniteText(value);
  const sign = isNegative(value) ? "-" : "";
  const decimal = shortestDecimal(Math.abs(value));
  if (
    decimal.digits === "0" || (decimal.exponent >= -4 && decimal.exponent < 16)
  ) {
    const [integer, fraction] = positionalParts(decimal);
    return `${sign}${integer}.${fraction === "" ? "0" : fraction}`;
  }
  const mantissa = decimal.digits.length > 1
    ? `${decimal.digits[0]}.${decimal.digits.slice(1)}`
    : decimal.digits;
  const exponentSign = decimal.exponent < 0 ? "-" : "+";
  const exponent = String(Math.abs(decimal.exponent)).padStart(2, "0");
  return `${sign}${mantissa}e${exponentSign}${exponent}`;
}
