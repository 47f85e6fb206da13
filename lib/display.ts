/**
 * Text and HTML rendering of tensors for `console.log` and Jupyter.
 *
 * Text follows NumPy's `print(array)` layout. HTML is a plain table with inline
 * styles only (no scripts, SVG or element ids), so it renders the same in
 * JupyterLab, VS Code, classic Notebook and exported HTML.
 *
 * Large tensors are elided as NumPy does: when a tensor has more than
 * {@linkcode DEFAULT_PRINT_OPTIONS}`.threshold` (1000) elements, every axis
 * longer than 2 × `edgeItems` (3) shows only its first and last 3 entries,
 * with `...` (text) or `…` (HTML) in between.
 *
 * @module
 */
import {
  describeValue,
  formatShape,
  type Shape,
  ShapeError,
} from "./errors.ts";
import {
  createFloatFormatter,
  DEFAULT_PRECISION,
  type FloatFormatOptions,
  type FloatFormatter,
  formatScalar,
  validatePrecision,
} from "./format.ts";
import { BLUES, interpolateColor, legibleTextColor } from "./colors.ts";
import type { Tensor } from "./tensor.ts";

/** Options for printing tensors; each default matches NumPy's `get_printoptions()`. */
export interface PrintOptions extends FloatFormatOptions {
  /** Elide when the tensor has more elements than this; `Infinity` never elides. */
  threshold?: number;
  /** Entries shown at each end of an elided axis. */
  edgeItems?: number;
  /** Maximum characters per text line before a row wraps; `Infinity` never wraps. */
  lineWidth?: number;
}

/** NumPy's default print options, used by every text and HTML rendering that receives no override. */
export const DEFAULT_PRINT_OPTIONS = Object.freeze<Required<PrintOptions>>({
  precision: DEFAULT_PRECISION,
  suppress: false,
  threshold: 1000,
  edgeItems: 3,
  lineWidth: 75,
});

/** Row-major values and their shape: a `Tensor` or a flattened `number[][]`. */
interface ArrayView {
  readonly shape: Shape;
  readonly data: ArrayLike<number>;
}

/** Cells use the lighter half of Blues so that dark text stays legible on every cell. */
const TABLE_SCALE_END = 0.5;

const TABLE_STYLE = "border-collapse:collapse;margin:0 0 8px 0;" +
  "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px";
const CAPTION_STYLE =
  "caption-side:top;text-align:left;font-weight:bold;padding:2px 0";
const HEADER_STYLE =
  "padding:2px 6px;text-align:right;font-weight:normal;opacity:0.7";
const TITLE_STYLE = "font-weight:bold;padding:2px 0";
const CELL_STYLE = "padding:2px 6px;text-align:right;white-space:nowrap";
const ELLIPSIS = "…";

/**
 * Escapes `& < > " '` so that text is safe inside HTML or SVG content and quoted attributes.
 *
 * @example Usage
 * ```ts
 * import { escapeHtml } from "attention";
 * import assert from "node:assert/strict";
 *
 * assert.equal(escapeHtml(`<img src=x onerror="alert('1')">`),
 *   "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => {
    switch (character) {
      case "&":
        return "&amp;";
      case "<":
        return "&lt;";
      case ">":
        return "&gt;";
      case '"':
        return "&quot;";
      default:
        return "&#39;";
    }
  });
}

/** Merges `options` over the defaults and checks each value. */
function resolvePrintOptions(
  options: PrintOptions,
  operation: string,
): Required<PrintOptions> {
  const resolved: Required<PrintOptions> = {
    precision: options.precision ?? DEFAULT_PRINT_OPTIONS.precision,
    suppress: options.suppress ?? DEFAULT_PRINT_OPTIONS.suppress,
    threshold: options.threshold ?? DEFAULT_PRINT_OPTIONS.threshold,
    edgeItems: options.edgeItems ?? DEFAULT_PRINT_OPTIONS.edgeItems,
    lineWidth: options.lineWidth ?? DEFAULT_PRINT_OPTIONS.lineWidth,
  };
  validatePrecision(resolved.precision, operation);
  if (typeof resolved.suppress !== "boolean") {
    throw new TypeError(
      `${operation}: option \`suppress\` must be true or false, ` +
        `received ${describeValue(resolved.suppress)}.`,
    );
  }
  // NumPy accepts edgeitems=0 but then still prints the last entry of each
  // axis, so at least one edge entry is required here.
  const counts: [keyof PrintOptions, number, number][] = [
    ["threshold", resolved.threshold, 0],
    ["edgeItems", resolved.edgeItems, 1],
    ["lineWidth", resolved.lineWidth, 0],
  ];
  for (const [name, value, minimum] of counts) {
    const valid = typeof value === "number" && value >= minimum &&
      (Number.isInteger(value) || value === Infinity);
    if (!valid) {
      throw new RangeError(
        `${operation}: option \`${name}\` must be an integer >= ${minimum} ` +
          `or Infinity, received ${describeValue(value)}.`,
      );
    }
  }
  return resolved;
}

/** Returns the positions shown along an axis; `null` marks the elided middle. */
function visibleIndices(
  length: number,
  elide: boolean,
  edgeItems: number,
): (number | null)[] {
  if (!elide || length <= 2 * edgeItems) {
    return Array.from({ length }, (_, i) => i);
  }
  const head = Array.from({ length: edgeItems }, (_, i) => i);
  const tail = Array.from(
    { length: edgeItems },
    (_, i) => length - edgeItems + i,
  );
  return [...head, null, ...tail];
}

/** Returns the row-major stride of each axis. */
function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = stride;
    stride *= shape[axis];
  }
  return strides;
}

/** Collects the values that an elided rendering shows; NumPy sizes the columns from these only. */
function visibleValues(
  view: ArrayView,
  elide: boolean,
  edgeItems: number,
): number[] {
  const strides = stridesOf(view.shape);
  const values: number[] = [];
  const visit = (axis: number, offset: number) => {
    if (axis === view.shape.length) {
      values.push(view.data[offset]);
      return;
    }
    for (const i of visibleIndices(view.shape[axis], elide, edgeItems)) {
      if (i !== null) visit(axis + 1, offset + i * strides[axis]);
    }
  };
  visit(0, 0);
  return values;
}

/**
 * Joins the words of the innermost row with single spaces, wrapping as NumPy does.
 *
 * A line starts with `indent` spaces that stand for the opening brackets. A
 * word moves to a new line when the line would exceed `lineWidth - indent`
 * characters, unless the line contains no word yet.
 */
function wrapWords(words: string[], indent: number, lineWidth: number): string {
  const limit = lineWidth - indent;
  const prefix = " ".repeat(indent);
  const lines: string[] = [];
  let line = prefix;
  words.forEach((word, index) => {
    if (index > 0) line += " ";
    if (line.length + word.length > limit && line.length > indent) {
      lines.push(line.trimEnd());
      line = prefix;
    }
    line += word;
  });
  lines.push(line);
  return lines.join("\n").slice(indent);
}

/** Lays out a non-empty array of rank >= 1 with nested brackets, one text line per row. */
function layoutText(
  view: ArrayView,
  format: FloatFormatter,
  elide: boolean,
  options: Required<PrintOptions>,
): string {
  const rank = view.shape.length;
  const strides = stridesOf(view.shape);
  const layoutAxis = (axis: number, offset: number): string => {
    const indices = visibleIndices(view.shape[axis], elide, options.edgeItems);
    if (axis === rank - 1) {
      const words = indices.map((i) =>
        i === null ? "..." : format(view.data[offset + i])
      );
      return `[${wrapWords(words, rank, options.lineWidth)}]`;
    }
    // Blocks of a rank-r array are separated by r - 1 newlines, as in NumPy.
    const separator = "\n".repeat(rank - axis - 1) + " ".repeat(axis + 1);
    const blocks = indices.map((i) =>
      i === null ? "..." : layoutAxis(axis + 1, offset + i * strides[axis])
    );
    return `[${blocks.join(separator)}]`;
  };
  return layoutAxis(0, 0);
}

/** Formats any array view as NumPy's `str(array)` would. */
function formatArrayText(
  view: ArrayView,
  options: Required<PrintOptions>,
): string {
  if (view.shape.length === 0) return formatScalar(view.data[0]);
  if (view.data.length === 0) return "[]";
  const elide = view.data.length > options.threshold;
  const format = createFloatFormatter(
    visibleValues(view, elide, options.edgeItems),
    options,
  );
  return layoutText(view, format, elide, options);
}

/**
 * Formats a tensor as NumPy's `print(array)` does, as one string without ANSI codes.
 *
 * Columns are aligned and numbers use NumPy's defaults (at most 8 fraction
 * digits, shared positional or scientific notation, `nan`, `inf`, `-inf`).
 * Rows wrap at 75 characters. A tensor with more than 1000 elements shows the
 * first and last 3 entries of each axis longer than 6, with `...` between.
 * A rank-0 tensor prints like Python's `repr(float)`, an empty one as `[]`.
 *
 * @param tensor Any tensor.
 * @param options Overrides of {@linkcode DEFAULT_PRINT_OPTIONS}.
 * @returns The layout; lines are separated by `\n`.
 * @throws {RangeError} If an option is out of range.
 *
 * @example Usage
 * ```ts
 * import { formatTensorText, Tensor } from "attention";
 * import assert from "node:assert/strict";
 *
 * const t = Tensor.from([[0.5488135, 0.71518937], [1, NaN]]);
 * assert.equal(formatTensorText(t), "[[0.5488135  0.71518937]\n [1.                nan]]");
 * ```
 */
export function formatTensorText(
  tensor: Tensor,
  options: PrintOptions = {},
): string {
  return formatArrayText(
    tensor,
    resolvePrintOptions(options, "formatTensorText"),
  );
}

/** Converts a `Tensor` or `number[][]` into a rank-2 view, checking its shape and entries. */
function matrixView(
  matrix: Tensor | readonly (readonly number[])[],
  operation: string,
): ArrayView {
  if (!Array.isArray(matrix)) {
    const candidate = matrix as Partial<ArrayView> | null;
    if (
      candidate === null || typeof candidate !== "object" ||
      !Array.isArray(candidate.shape) ||
      !(candidate.data instanceof Float64Array ||
        candidate.data instanceof Float32Array)
    ) {
      throw new TypeError(
        `${operation}: \`matrix\` must be a Tensor or an array of rows, received ` +
          `${describeValue(matrix)}. Pass a (T, S) tensor or number[][].`,
      );
    }
    if (candidate.shape.length !== 2) {
      throw new ShapeError(
        `${operation}: \`matrix\` must have rank 2 (T, S), received shape ` +
          formatShape(candidate.shape) +
          ". Select one matrix first, for example weights[0].",
        candidate.shape,
        [null, null],
      );
    }
    return candidate as ArrayView;
  }
  const rows = matrix.length;
  const columns = Array.isArray(matrix[0]) ? matrix[0].length : 0;
  const data = new Float64Array(rows * columns);
  matrix.forEach((row, i) => {
    if (!Array.isArray(row)) {
      throw new TypeError(
        `${operation}: row ${i} of \`matrix\` is ${describeValue(row)}, ` +
          "expected an array of numbers. " +
          "Pass a 2-D array such as [[1, 2], [3, 4]].",
      );
    }
    if (row.length !== columns) {
      throw new ShapeError(
        `${operation}: row ${i} of \`matrix\` has length ${row.length}, expected ` +
          `${columns} like row 0. Make every row the same length.`,
        [rows, row.length],
        [rows, columns],
      );
    }
    row.forEach((value, j) => {
      if (typeof value !== "number") {
        throw new TypeError(
          `${operation}: entry [${i}][${j}] of \`matrix\` is ` +
            `${describeValue(value)}, expected a number. ` +
            "Pass rows that contain only numbers.",
        );
      }
      data[i * columns + j] = value;
    });
  });
  return { shape: [rows, columns], data };
}

/**
 * Formats a whole (T, S) matrix as NumPy text, never eliding rows or columns.
 *
 * Use it to print a full matrix in one notebook output, for example
 * `console.log(formatMatrix(output[0], { precision: 3 }))`: VS Code shows only
 * the last of several consecutive `console.log` outputs from the Deno kernel.
 *
 * @param matrix A rank-2 tensor or an array of equal-length rows, shape (T, S).
 * @param options Print options; `threshold` is ignored and `precision` defaults to 8.
 * @returns The layout; rows wrap at `lineWidth` (75) characters unless it is `Infinity`.
 * @throws {ShapeError} If `matrix` does not have rank 2 or its rows differ in length.
 * @throws {TypeError} If `matrix` is neither a tensor nor an array, or an entry is not a number.
 * @throws {RangeError} If an option is out of range.
 *
 * @example Usage
 * ```ts
 * import { formatMatrix } from "attention";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatMatrix([[0.125, 1], [2, 0.5]], { precision: 2 }), "[[0.12 1.  ]\n [2.   0.5 ]]");
 * ```
 */
export function formatMatrix(
  matrix: Tensor | readonly (readonly number[])[],
  options: PrintOptions = {},
): string {
  const resolved = resolvePrintOptions(options, "formatMatrix");
  const view = matrixView(matrix, "formatMatrix");
  return formatArrayText(view, { ...resolved, threshold: Infinity });
}

/** Minimum and maximum of the finite values, or `null` when there are none. */
function finiteRange(data: ArrayLike<number>): [number, number] | null {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const value = data[i];
    if (!Number.isFinite(value)) continue;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return min <= max ? [min, max] : null;
}

/** Renders one `<td>` whose background follows the value's place in `range`. */
function valueCell(
  value: number,
  text: string,
  range: [number, number] | null,
): string {
  if (range === null || !Number.isFinite(value)) {
    return `<td style="${CELL_STYLE}">${escapeHtml(text)}</td>`;
  }
  const [min, max] = range;
  const t = max > min ? (value - min) / (max - min) : 0;
  const background = interpolateColor(BLUES, t * TABLE_SCALE_END);
  const color = legibleTextColor(background);
  return `<td style="${CELL_STYLE};background:${background};color:${color}">` +
    `${escapeHtml(text)}</td>`;
}

function headerCell(text: string): string {
  return `<th style="${HEADER_STYLE}">${escapeHtml(text)}</th>`;
}

function htmlTable(caption: string, head: string, body: string): string {
  return `<table style="${TABLE_STYLE}"><caption style="${CAPTION_STYLE}">` +
    `${escapeHtml(caption)}</caption>${head}<tbody>${body}</tbody></table>`;
}

/** Layout of the HTML table for one matrix (or one vector) of a tensor. */
interface TableLayout {
  rows: (number | null)[] | null;
  columns: (number | null)[];
  rowStride: number;
  cellText: (offset: number) => string;
  range: [number, number] | null;
  data: ArrayLike<number>;
}

/** Renders a matrix at `offset` as a table; `rows === null` renders a vector as one row. */
function matrixTable(
  caption: string,
  offset: number,
  layout: TableLayout,
): string {
  const { rows, columns } = layout;
  const corner = rows === null ? "" : headerCell("");
  const columnHeaders = columns.map((j) =>
    headerCell(j === null ? ELLIPSIS : String(j))
  );
  const head = `<thead><tr>${corner}${columnHeaders.join("")}</tr></thead>`;
  const renderRow = (rowOffset: number) =>
    columns.map((j) => {
      if (j === null) return `<td style="${CELL_STYLE}">${ELLIPSIS}</td>`;
      const value = layout.data[rowOffset + j];
      return valueCell(value, layout.cellText(rowOffset + j), layout.range);
    }).join("");
  if (rows === null) {
    return htmlTable(caption, head, `<tr>${renderRow(offset)}</tr>`);
  }
  const body = rows.map((i) => {
    if (i === null) {
      const ellipses = columns.map(() =>
        `<td style="${CELL_STYLE}">${ELLIPSIS}</td>`
      ).join("");
      return `<tr>${headerCell(ELLIPSIS)}${ellipses}</tr>`;
    }
    const cells = renderRow(offset + i * layout.rowStride);
    return `<tr>${headerCell(String(i))}${cells}</tr>`;
  }).join("");
  return htmlTable(caption, head, body);
}

/** Lists the index tuples of the leading axes (all but the last two); `null` marks elided runs. */
function leadingEntries(
  shape: Shape,
  elide: boolean,
  edgeItems: number,
): ({ label: string; offset: number } | null)[] {
  const strides = stridesOf(shape);
  const entries: ({ label: string; offset: number } | null)[] = [];
  const visit = (axis: number, prefix: number[], offset: number) => {
    if (axis === shape.length - 2) {
      entries.push({ label: `[${prefix.join(", ")}]`, offset });
      return;
    }
    for (const i of visibleIndices(shape[axis], elide, edgeItems)) {
      if (i === null) {
        // One marker stands for a whole elided run, however many axes it spans.
        if (entries[entries.length - 1] !== null) entries.push(null);
      } else {
        visit(axis + 1, [...prefix, i], offset + i * strides[axis]);
      }
    }
  };
  visit(0, [], 0);
  return entries;
}

/**
 * Renders a tensor as an HTML table whose cell backgrounds follow a light Blues scale.
 *
 * The caption gives shape and dtype, for example "Tensor (10, 64) float64". A
 * rank-1 tensor is one row, a rank-0 tensor one cell. A tensor of rank 3 or
 * more gets one table per entry of its leading axes, headed "[0]", "[1]"
 * (or "[0, 1]" for rank 4). Colours span the tensor's finite minimum to
 * maximum; NaN and ±Infinity cells stay uncoloured. Elision follows
 * {@linkcode formatTensorText}, with `…` cells. The HTML uses inline styles only.
 *
 * @param tensor Any tensor.
 * @param options Overrides of {@linkcode DEFAULT_PRINT_OPTIONS}; `lineWidth` is ignored.
 * @returns One HTML fragment.
 * @throws {RangeError} If an option is out of range.
 *
 * @example Usage
 * ```ts
 * import { formatTensorHtml, Tensor } from "attention";
 * import assert from "node:assert/strict";
 *
 * const html = formatTensorHtml(Tensor.from([[1, 2], [3, 4]]));
 * assert.match(html, /<caption[^>]*>Tensor \(2, 2\) float64<\/caption>/);
 * assert.equal(html.match(/<td /g)?.length, 4);
 * ```
 */
export function formatTensorHtml(
  tensor: Tensor,
  options: PrintOptions = {},
): string {
  const resolved = resolvePrintOptions(options, "formatTensorHtml");
  const { shape, data } = tensor;
  const caption = `Tensor ${formatShape(shape)} ${tensor.dtype}`;
  const range = finiteRange(data);

  if (shape.length === 0) {
    const cell = valueCell(data[0], formatScalar(data[0]), range);
    return htmlTable(caption, "", `<tr>${cell}</tr>`);
  }
  if (data.length === 0) {
    return htmlTable(
      caption,
      "",
      `<tr><td style="${CELL_STYLE}">(empty)</td></tr>`,
    );
  }

  const elide = data.length > resolved.threshold;
  const format = createFloatFormatter(
    visibleValues(tensor, elide, resolved.edgeItems),
    resolved,
  );
  const rank = shape.length;
  const layout: TableLayout = {
    rows: rank === 1
      ? null
      : visibleIndices(shape[rank - 2], elide, resolved.edgeItems),
    columns: visibleIndices(shape[rank - 1], elide, resolved.edgeItems),
    rowStride: shape[rank - 1],
    cellText: (offset) => format(data[offset]).trim(),
    range,
    data,
  };
  if (rank <= 2) return matrixTable(caption, 0, layout);

  const tables = leadingEntries(shape, elide, resolved.edgeItems).map((entry) =>
    entry === null
      ? `<div style="padding:0 0 8px 6px">${ELLIPSIS}</div>`
      : matrixTable(entry.label, entry.offset, layout)
  );
  const title = `<div style="${TITLE_STYLE}">${escapeHtml(caption)}</div>`;
  return `<div>${title}${tables.join("")}</div>`;
}

/**
 * Builds the Jupyter MIME bundle for a tensor: NumPy-like `text/plain` and a `text/html` table.
 *
 * `Tensor` returns this from its `Symbol.for("Jupyter.display")` method, which
 * Deno's Jupyter kernel calls to show a cell's result.
 *
 * @example Usage
 * ```ts
 * import { Tensor, tensorDisplayBundle } from "attention";
 * import assert from "node:assert/strict";
 *
 * const bundle = tensorDisplayBundle(Tensor.from([0.5, 1]));
 * assert.equal(bundle["text/plain"], "[0.5 1. ]");
 * assert.ok(bundle["text/html"].startsWith("<table"));
 * ```
 */
export function tensorDisplayBundle(tensor: Tensor): Record<string, string> {
  return {
    "text/plain": formatTensorText(tensor),
    "text/html": formatTensorHtml(tensor),
  };
}
