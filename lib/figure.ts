/**
 * Parts that every figure class shares: option checks, the SVG document frame
 * with its titles, the Plotly title, the `<img>` tag and the MIME bundle for
 * Jupyter.
 *
 * `Heatmap` and `LineChart` both build their display with these helpers, so the
 * two figures validate, frame and embed their SVG in the same way. The module is
 * internal and not re-exported from `mod.ts`.
 *
 * @module
 */
import { DARK_TEXT } from "./colors.ts";
import { escapeHtml } from "./display.ts";
import { describeValue } from "./errors.ts";
import { element, encodeBase64, escapePlotlyText, openTag, px } from "./svg.ts";

/** Font size of a figure's title in CSS pixels. */
export const TITLE_FONT_SIZE = 15;
/** Font size of a figure's axis titles in CSS pixels. */
export const AXIS_TITLE_FONT_SIZE = 13;

/**
 * Checks that an option is a string or absent.
 *
 * @param operation Name of the public function, such as `"heatmap"`, for the error message.
 * @param value The option as the caller passed it.
 * @param name Option name, for the error message.
 * @returns `value`, or undefined when it is absent.
 * @throws {TypeError} If `value` is neither undefined nor a string.
 *
 * @example Usage
 * ```ts
 * import { readOptionalString } from "./figure.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(readOptionalString("heatmap", "key", "xTitle"), "key");
 * assert.throws(() => readOptionalString("heatmap", 5, "title"), TypeError);
 * ```
 */
export function readOptionalString(
  operation: string,
  value: unknown,
  name: string,
): string | undefined {
  if (value === undefined || typeof value === "string") return value;
  throw new TypeError(
    `${operation}: option \`${name}\` must be a string, received ` +
      `${describeValue(value)}.`,
  );
}

/**
 * Checks that an option is a finite number, or a positive one, or absent.
 *
 * @param operation Name of the public function, such as `"lineChart"`, for the error message.
 * @param value The option as the caller passed it.
 * @param name Option name, for the error message.
 * @param positive Whether the number must also be greater than 0.
 * @returns `value`, or undefined when it is absent.
 * @throws {RangeError} If `value` is present but not a finite number, or
 *   `positive` is true and `value` is 0 or less.
 *
 * @example Usage
 * ```ts
 * import { readOptionalNumber } from "./figure.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(readOptionalNumber("heatmap", -1, "zmin", false), -1);
 * assert.equal(readOptionalNumber("heatmap", undefined, "width", true), undefined);
 * assert.throws(() => readOptionalNumber("heatmap", 0, "width", true), RangeError);
 * ```
 */
export function readOptionalNumber(
  operation: string,
  value: unknown,
  name: string,
  positive: boolean,
): number | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== "number" || !Number.isFinite(value) ||
    (positive && value <= 0)
  ) {
    throw new RangeError(
      `${operation}: option \`${name}\` must be a ` +
        `${positive ? "positive" : "finite"} number, ` +
        `received ${describeValue(value)}.`,
    );
  }
  return value;
}

/**
 * Writes the start of a standalone SVG document: the root `<svg>` tag, a
 * `<title>` and an opaque white background.
 *
 * The white background keeps dark text legible under dark notebook themes.
 * The caller appends the figure's elements and the closing `</svg>`.
 *
 * @param width Document width in CSS pixels.
 * @param height Document height in CSS pixels.
 * @param label Accessible name of the figure, used as `aria-label` and `<title>`.
 * @returns Three lines of markup, in document order.
 *
 * @example Usage
 * ```ts
 * import { openSvgDocument } from "./figure.ts";
 * import assert from "node:assert/strict";
 *
 * const [open, title] = openSvgDocument(100, 50, "a < b");
 * assert.match(open, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="100"/);
 * assert.equal(title, "<title>a &lt; b</title>");
 * ```
 */
export function openSvgDocument(
  width: number,
  height: number,
  label: string,
): string[] {
  const open = openTag("svg", {
    xmlns: "http://www.w3.org/2000/svg",
    width,
    height,
    viewBox: `0 0 ${px(width)} ${px(height)}`,
    "font-family": "sans-serif",
    role: "img",
    "aria-label": label,
  });
  return [
    open,
    `<title>${escapeHtml(label)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
  ];
}

/** Titles of a figure. An undefined title is not drawn. */
export interface FigureTitles {
  /** Title above the figure. */
  title: string | undefined;
  /** Title below the horizontal axis. */
  xTitle: string | undefined;
  /** Title left of the vertical axis, read bottom to top. */
  yTitle: string | undefined;
}

/** Positions of a figure's titles, in CSS pixels from the top left corner. */
export interface TitlePlacement {
  /** Width of the whole figure; the title is centred on it. */
  width: number;
  /** Left edge of the plot area. */
  plotLeft: number;
  /** Top edge of the plot area. */
  plotTop: number;
  /** Width of the plot area; the x title is centred on it. */
  plotWidth: number;
  /** Height of the plot area; the y title is centred on it. */
  plotHeight: number;
  /** Baseline of the x title, below the tick labels. */
  xTitleY: number;
}

/**
 * Draws the title and the axis titles that were given, escaped.
 *
 * @param titles Title texts; undefined ones are not drawn.
 * @param placement Figure width, plot area and x title baseline.
 * @returns One `<text>` element per given title, in the order title, x title, y title.
 *
 * @example Usage
 * ```ts
 * import { drawTitles } from "./figure.ts";
 * import assert from "node:assert/strict";
 *
 * const parts = drawTitles(
 *   { title: "Q & K", xTitle: undefined, yTitle: "query" },
 *   { width: 200, plotLeft: 40, plotTop: 30, plotWidth: 120, plotHeight: 100, xTitleY: 170 },
 * );
 * assert.equal(parts.length, 2);
 * assert.match(parts[0], />Q &amp; K<\/text>$/);
 * assert.match(parts[1], /class="y-title"/);
 * ```
 */
export function drawTitles(
  titles: FigureTitles,
  placement: TitlePlacement,
): string[] {
  const parts: string[] = [];
  const common = { "text-anchor": "middle", fill: DARK_TEXT };
  if (titles.title !== undefined) {
    const attributes = {
      class: "title",
      x: placement.width / 2,
      y: 12 + TITLE_FONT_SIZE,
      "font-size": TITLE_FONT_SIZE,
      "font-weight": "bold",
      ...common,
    };
    parts.push(element("text", attributes, escapeHtml(titles.title)));
  }
  if (titles.xTitle !== undefined) {
    const attributes = {
      class: "x-title",
      x: placement.plotLeft + placement.plotWidth / 2,
      y: placement.xTitleY,
      "font-size": AXIS_TITLE_FONT_SIZE,
      ...common,
    };
    parts.push(element("text", attributes, escapeHtml(titles.xTitle)));
  }
  if (titles.yTitle !== undefined) {
    const x = 10 + AXIS_TITLE_FONT_SIZE * 0.8;
    const y = placement.plotTop + placement.plotHeight / 2;
    const attributes = {
      class: "y-title",
      x,
      y,
      transform: `rotate(-90 ${px(x)} ${px(y)})`,
      "font-size": AXIS_TITLE_FONT_SIZE,
      ...common,
    };
    parts.push(element("text", attributes, escapeHtml(titles.yTitle)));
  }
  return parts;
}

/**
 * Adds an escaped title to a Plotly layout, as its first key.
 *
 * @param layout A layout without a title.
 * @param title Title text, or undefined for none.
 * @returns `layout` itself when `title` is undefined, else a copy that starts
 *   with `title: { text }`, the text escaped with `escapePlotlyText`.
 *
 * @example Usage
 * ```ts
 * import { withPlotlyTitle } from "./figure.ts";
 * import assert from "node:assert/strict";
 *
 * const layout: { title?: { text: string }; width: number } = { width: 300 };
 * assert.equal(withPlotlyTitle(layout, undefined), layout);
 * assert.deepEqual(withPlotlyTitle(layout, "Q < K"), {
 *   title: { text: "Q &lt; K" },
 *   width: 300,
 * });
 * ```
 */
export function withPlotlyTitle<Layout extends { title?: { text: string } }>(
  layout: Layout,
  title: string | undefined,
): Layout {
  if (title === undefined) return layout;
  return { title: { text: escapePlotlyText(title) }, ...layout };
}

/**
 * Writes an `<img>` tag that embeds an SVG document as a base64 `data:` URL.
 *
 * An `<img>` shows in exported HTML and untrusted notebooks, where inline SVG
 * or scripts may be stripped.
 *
 * @param svg The SVG document.
 * @param alt Alternative text, HTML-escaped into the `alt` attribute.
 * @param width Display width in CSS pixels.
 * @param height Display height in CSS pixels.
 * @returns The `<img>` tag.
 *
 * @example Usage
 * ```ts
 * import { imageTag } from "./figure.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   imageTag("<svg/>", "a & b", 10, 20),
 *   '<img src="data:image/svg+xml;base64,PHN2Zy8+" alt="a &amp; b" width="10" height="20">',
 * );
 * ```
 */
export function imageTag(
  svg: string,
  alt: string,
  width: number,
  height: number,
): string {
  const source = `data:image/svg+xml;base64,${encodeBase64(svg)}`;
  return `<img src="${source}" alt="${escapeHtml(alt)}" ` +
    `width="${px(width)}" height="${px(height)}">`;
}

/**
 * Builds the MIME bundle that Deno's Jupyter kernel shows for a figure.
 *
 * Front ends pick the richest type they can render: Plotly JSON in JupyterLab
 * and VS Code, else the HTML `<img>`, else the text.
 *
 * @param figure The figure in Plotly's JSON format.
 * @param html HTML fallback, usually from {@linkcode imageTag}.
 * @param text Plain-text summary.
 * @returns The bundle keyed by MIME type.
 *
 * @example Usage
 * ```ts
 * import { displayBundle } from "./figure.ts";
 * import assert from "node:assert/strict";
 *
 * const bundle = displayBundle({ data: [] }, "<img>", "empty");
 * assert.deepEqual(Object.keys(bundle), [
 *   "application/vnd.plotly.v1+json",
 *   "text/html",
 *   "text/plain",
 * ]);
 * ```
 */
export function displayBundle(
  figure: unknown,
  html: string,
  text: string,
): Record<string, unknown> {
  return {
    "application/vnd.plotly.v1+json": figure,
    "text/html": html,
    "text/plain": text,
  };
}
