import assert from "node:assert/strict";
import { ShapeError } from "../lib/errors.ts";
import { Tensor } from "../lib/tensor.ts";
import { BLUES, interpolateColor } from "../lib/colors.ts";
import { createFloatFormatter, formatScalar } from "../lib/format.ts";
import {
  DEFAULT_PRINT_OPTIONS,
  escapeHtml,
  formatMatrix,
  formatTensorHtml,
  formatTensorText,
  tensorDisplayBundle,
} from "../lib/display.ts";

// Expected strings below were printed by NumPy 1.24.2 with `str(array)` or
// `np.array2string(array, precision=...)` and pasted unchanged.

/** Start of every ANSI escape sequence, such as the colour code "\x1b[33m". */
const ANSI_ESCAPE = "\x1b[";

/** Returns a tensor of 0, 1, 2, ... with the given shape, like `np.arange(n).reshape(shape)`. */
function arange(shape: number[], scale = 1): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return new Tensor(
    Float64Array.from({ length: size }, (_, i) => i / scale),
    shape,
  );
}

/** Runs `action` and returns the error it throws. */
function thrown(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error, but none was thrown");
}

Deno.test("formatTensorText() matches NumPy for a random matrix", () => {
  // np.random.seed(0); np.random.rand(2, 3)
  const t = Tensor.from([
    [0.5488135039273248, 0.7151893663724195, 0.6027633760716439],
    [0.5448831829968969, 0.4236547993389047, 0.6458941130666561],
  ]);
  assert.equal(
    formatTensorText(t),
    "[[0.5488135  0.71518937 0.60276338]\n [0.54488318 0.4236548  0.64589411]]",
  );
});

Deno.test("formatTensorText() prints nan and inf like NumPy", () => {
  const t = Tensor.from([NaN, 1.25, 100.5, -Infinity]);
  assert.equal(formatTensorText(t), "[   nan   1.25 100.5    -inf]");
});

Deno.test("formatTensorText() switches to scientific notation like NumPy", () => {
  assert.equal(formatTensorText(Tensor.from([1e-5, 1.5])), "[1.0e-05 1.5e+00]");
  assert.equal(
    formatTensorText(Tensor.from([[1e-9, 0.5], [0.25, 2e8]])),
    "[[1.0e-09 5.0e-01]\n [2.5e-01 2.0e+08]]",
  );
  assert.equal(formatTensorText(Tensor.from([5e-324, 1])), "[5.e-324 1.e+000]");
});

Deno.test("formatTensorText() separates 3-D blocks by a blank line", () => {
  assert.equal(
    formatTensorText(arange([2, 2, 2])),
    "[[[0. 1.]\n  [2. 3.]]\n\n [[4. 5.]\n  [6. 7.]]]",
  );
});

Deno.test("formatTensorText() wraps rows at 75 characters", () => {
  const t = new Tensor(Float64Array.from({ length: 12 }, (_, i) => i / 11), [
    12,
  ]);
  assert.equal(
    formatTensorText(t),
    "[0.         0.09090909 0.18181818 0.27272727 0.36363636 0.45454545\n" +
      " 0.54545455 0.63636364 0.72727273 0.81818182 0.90909091 1.        ]",
  );
});

Deno.test("formatTensorText() rounds half to even with a precision", () => {
  assert.equal(
    formatTensorText(Tensor.from([0.125, 0.375, -0]), { precision: 2 }),
    "[ 0.12  0.38 -0.  ]",
  );
});

Deno.test("formatTensorText() keeps 1000 elements and elides 1001", () => {
  assert.equal(DEFAULT_PRINT_OPTIONS.threshold, 1000);
  assert.equal(DEFAULT_PRINT_OPTIONS.edgeItems, 3);

  const full = formatTensorText(arange([1000]));
  assert.ok(!full.includes("..."));
  assert.ok(full.includes(" 500. "));

  assert.equal(
    formatTensorText(arange([1001])),
    "[   0.    1.    2. ...  998.  999. 1000.]",
  );
});

Deno.test("formatTensorText() elides rows and columns like NumPy", () => {
  const expected = [
    "[[[0.000e+00 1.000e+00 2.000e+00 ... 4.700e+01 4.800e+01 4.900e+01]",
    "  [5.000e+01 5.100e+01 5.200e+01 ... 9.700e+01 9.800e+01 9.900e+01]",
    "  [1.000e+02 1.010e+02 1.020e+02 ... 1.470e+02 1.480e+02 1.490e+02]",
    "  ...",
    "  [2.000e+02 2.010e+02 2.020e+02 ... 2.470e+02 2.480e+02 2.490e+02]",
    "  [2.500e+02 2.510e+02 2.520e+02 ... 2.970e+02 2.980e+02 2.990e+02]",
    "  [3.000e+02 3.010e+02 3.020e+02 ... 3.470e+02 3.480e+02 3.490e+02]]",
    "",
    " [[3.500e+02 3.510e+02 3.520e+02 ... 3.970e+02 3.980e+02 3.990e+02]",
    "  [4.000e+02 4.010e+02 4.020e+02 ... 4.470e+02 4.480e+02 4.490e+02]",
    "  [4.500e+02 4.510e+02 4.520e+02 ... 4.970e+02 4.980e+02 4.990e+02]",
    "  ...",
    "  [5.500e+02 5.510e+02 5.520e+02 ... 5.970e+02 5.980e+02 5.990e+02]",
    "  [6.000e+02 6.010e+02 6.020e+02 ... 6.470e+02 6.480e+02 6.490e+02]",
    "  [6.500e+02 6.510e+02 6.520e+02 ... 6.970e+02 6.980e+02 6.990e+02]]",
    "",
    " [[7.000e+02 7.010e+02 7.020e+02 ... 7.470e+02 7.480e+02 7.490e+02]",
    "  [7.500e+02 7.510e+02 7.520e+02 ... 7.970e+02 7.980e+02 7.990e+02]",
    "  [8.000e+02 8.010e+02 8.020e+02 ... 8.470e+02 8.480e+02 8.490e+02]",
    "  ...",
    "  [9.000e+02 9.010e+02 9.020e+02 ... 9.470e+02 9.480e+02 9.490e+02]",
    "  [9.500e+02 9.510e+02 9.520e+02 ... 9.970e+02 9.980e+02 9.990e+02]",
    "  [1.000e+03 1.001e+03 1.002e+03 ... 1.047e+03 1.048e+03 1.049e+03]]]",
  ].join("\n");
  assert.equal(formatTensorText(arange([3, 7, 50])), expected);
});

Deno.test("formatTensorText() prints rank 0 and empty tensors like NumPy", () => {
  assert.equal(formatTensorText(Tensor.from(0.5)), "0.5");
  assert.equal(formatTensorText(Tensor.from(1)), "1.0");
  assert.equal(formatTensorText(Tensor.zeros([2, 0])), "[]");
});

Deno.test("formatTensorText() rejects an invalid option", () => {
  const error = thrown(() => formatTensorText(arange([3]), { edgeItems: 0 }));
  assert.ok(error instanceof RangeError);
  assert.match(
    error.message,
    /formatTensorText: option `edgeItems` must be an integer >= 1/,
  );
});

Deno.test("console.log(tensor) prints one plain string", () => {
  const t = arange([2, 10, 64], 1280);
  const inspected = Deno.inspect(t, { colors: true });
  assert.equal(inspected, formatTensorText(t));
  assert.ok(!inspected.includes(ANSI_ESCAPE));
  assert.ok(inspected.includes("..."));
  // Per batch entry: 6 rows that each wrap onto 2 lines, plus one "..." line;
  // a blank line separates the two entries.
  assert.equal(inspected.split("\n").length, 2 * (6 * 2 + 1) + 1);
  assert.equal(String(t), inspected);
});

Deno.test("formatMatrix() prints every row of a large matrix", () => {
  const text = formatMatrix(arange([40, 40], 1600), {
    precision: 3,
    lineWidth: Infinity,
  });
  const lines = text.split("\n");
  assert.equal(lines.length, 40);
  assert.ok(!text.includes("..."));
  // First and last characters of NumPy's array2string with threshold and
  // max_line_width set to sys.maxsize.
  assert.ok(
    lines[0].startsWith("[[0.000e+00 6.250e-04 1.250e-03 1.875e-03 2.500e-03"),
  );
  assert.ok(lines[39].endsWith("9.981e-01 9.988e-01 9.994e-01]]"));
});

Deno.test("formatMatrix() accepts nested arrays and a precision", () => {
  assert.equal(
    formatMatrix([[0.125, 1], [2, 0.5]], { precision: 2 }),
    "[[0.12 1.  ]\n [2.   0.5 ]]",
  );
});

Deno.test("formatMatrix() rejects a non-matrix with clear errors", () => {
  const rank3 = thrown(() => formatMatrix(arange([2, 2, 2])));
  assert.ok(rank3 instanceof ShapeError);
  assert.match(
    rank3.message,
    /formatMatrix: `matrix` must have rank 2 \(T, S\), received shape \(2, 2, 2\)/,
  );

  const ragged = thrown(() => formatMatrix([[1, 2], [3]]));
  assert.ok(ragged instanceof ShapeError);
  assert.match(ragged.message, /row 1 of `matrix` has length 1, expected 2/);

  const text = thrown(() => formatMatrix([[1, "2" as unknown as number]]));
  assert.ok(text instanceof TypeError);
  assert.match(
    text.message,
    /entry \[0\]\[1\] of `matrix` is the string "2", expected a number/,
  );
});

Deno.test("createFloatFormatter() pads values to one width", () => {
  const values = [0.5, 0.125, 100, NaN];
  const format = createFloatFormatter(values);
  assert.deepEqual(values.map(format), [
    "  0.5  ",
    "  0.125",
    "100.   ",
    "    nan",
  ]);
});

Deno.test("formatScalar() follows Python's float repr", () => {
  assert.equal(formatScalar(0.1), "0.1");
  assert.equal(formatScalar(-0), "-0.0");
  assert.equal(formatScalar(1e16), "1e+16");
  assert.equal(formatScalar(1.5e-7), "1.5e-07");
  assert.equal(formatScalar(123456789012345.6), "123456789012345.6");
  assert.equal(formatScalar(-Infinity), "-inf");
});

Deno.test("formatTensorHtml() renders a captioned table with inline styles only", () => {
  const html = formatTensorHtml(arange([3, 4]));
  assert.match(
    html,
    /^<table style="[^"]*"><caption[^>]*>Tensor \(3, 4\) float64<\/caption>/,
  );
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /<svg/i);
  assert.doesNotMatch(html, / id=/);
  assert.doesNotMatch(html, / class=/);
  const head = html.match(/<thead>(.*)<\/thead>/)?.[1] ?? "";
  assert.deepEqual(
    [...head.matchAll(/<th[^>]*>([^<]*)<\/th>/g)].map((m) => m[1]),
    [
      "",
      "0",
      "1",
      "2",
      "3",
    ],
  );
  const body = html.match(/<tbody>(.*)<\/tbody>/)?.[1] ?? "";
  assert.deepEqual(
    [...body.matchAll(/<th[^>]*>([^<]*)<\/th>/g)].map((m) => m[1]),
    [
      "0",
      "1",
      "2",
    ],
  );
  assert.equal(body.match(/<td /g)?.length, 12);
});

Deno.test("formatTensorHtml() colours cells from a light Blues scale", () => {
  const html = formatTensorHtml(Tensor.from([[0, 1], [0.5, NaN]]));
  const cells = [...html.matchAll(/<td style="([^"]*)">([^<]*)<\/td>/g)];
  const background = (text: string) =>
    cells.find((cell) => cell[2] === text)?.[1].match(
      /background:(#[0-9a-f]{6})/,
    )?.[1];
  assert.equal(background("0."), BLUES[0]);
  assert.equal(background("1."), interpolateColor(BLUES, 0.5));
  assert.equal(background("0.5"), interpolateColor(BLUES, 0.25));
  assert.equal(background("nan"), undefined);
  for (const cell of cells.filter((c) => c[2] !== "nan")) {
    assert.match(cell[1], /color:#262626/);
  }
});

Deno.test("formatTensorHtml() makes one table per batch entry", () => {
  const html = formatTensorHtml(arange([2, 3, 4]));
  assert.ok(html.includes("Tensor (2, 3, 4) float64"));
  assert.equal(html.match(/<table /g)?.length, 2);
  const captions = [...html.matchAll(/<caption[^>]*>([^<]*)<\/caption>/g)].map((
    m,
  ) => m[1]);
  assert.deepEqual(captions, ["[0]", "[1]"]);
  assert.doesNotMatch(html, / id=/);
});

Deno.test("formatTensorHtml() shows a vector as one row and a scalar as one cell", () => {
  const vector = formatTensorHtml(Tensor.from([1, 2, 3]));
  assert.equal(vector.match(/<tr>/g)?.length, 2);
  assert.equal(vector.match(/<td /g)?.length, 3);

  const scalar = formatTensorHtml(Tensor.from(0.25));
  assert.match(scalar, /Tensor \(\) float64/);
  assert.equal(scalar.match(/<td /g)?.length, 1);
  assert.match(scalar, />0\.25<\/td>/);
});

Deno.test("formatTensorHtml() elides above the threshold with ellipsis cells", () => {
  const small = formatTensorHtml(arange([10, 100]));
  assert.ok(!small.includes("…"));
  assert.equal(small.match(/<td /g)?.length, 1000);

  const large = formatTensorHtml(arange([11, 100]));
  const body = large.match(/<tbody>(.*)<\/tbody>/)?.[1] ?? "";
  const rows = body.split("</tr>").filter((row) => row !== "");
  assert.equal(rows.length, 7);
  assert.deepEqual(
    rows.map((row) => row.match(/<th[^>]*>([^<]*)<\/th>/)?.[1]),
    ["0", "1", "2", "…", "8", "9", "10"],
  );
  assert.equal(rows[0].match(/<td /g)?.length, 7);
  assert.match(rows[0], /<td [^>]*>…<\/td>/);
  const head = large.match(/<thead>(.*)<\/thead>/)?.[1] ?? "";
  assert.ok(
    head.includes(">97<") && head.includes(">99<") && !head.includes(">3<"),
  );
});

Deno.test("tensorDisplayBundle() returns text and HTML", () => {
  const t = arange([2, 3]);
  const bundle = tensorDisplayBundle(t);
  assert.deepEqual(Object.keys(bundle).sort(), ["text/html", "text/plain"]);
  assert.equal(bundle["text/plain"], "[[0. 1. 2.]\n [3. 4. 5.]]");
  assert.ok(!bundle["text/plain"].includes(ANSI_ESCAPE));
  const display =
    (t as unknown as Record<symbol, () => Record<string, string>>)[
      Symbol.for("Jupyter.display")
    ];
  assert.deepEqual(display.call(t), bundle);
});

Deno.test("escapeHtml() escapes all five markup characters", () => {
  assert.equal(
    escapeHtml(`<a href="x">'&'</a>`),
    "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
  );
});
