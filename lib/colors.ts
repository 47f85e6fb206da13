/**
 * Sequential colour scales, interpolation and legible text colours.
 *
 * @module
 */

import { describeValue } from "./errors.ts";

/** A colour scale: two or more `#rrggbb` colours at evenly spaced positions from 0 to 1. */
export type ColorScale = readonly string[];

/** Names of the built-in colour scales. */
export type ColorScaleName = "Blues";

/**
 * ColorBrewer's 9-class sequential Blues scale, light to dark.
 *
 * Matplotlib's "Blues" colormap, which seaborn uses for `cmap="Blues"`,
 * interpolates these nine colours (checked against matplotlib 3.6.3).
 */
export const BLUES: ColorScale = Object.freeze([
  "#f7fbff",
  "#deebf7",
  "#c6dbef",
  "#9ecae1",
  "#6baed6",
  "#4292c6",
  "#2171b5",
  "#08519c",
  "#08306b",
]);

const NAMED_SCALES: Readonly<Record<ColorScaleName, ColorScale>> = {
  Blues: BLUES,
};

/** Dark grey that seaborn's heatmap uses for annotations on light cells (matplotlib's ".15"). */
export const DARK_TEXT = "#262626";

/** White, for annotations on dark cells. */
export const LIGHT_TEXT = "#ffffff";

/**
 * Line colours of `lineChart`, in the order that series take them.
 *
 * The palette is Okabe and Ito's ("Color Universal Design", 2008) without its
 * yellow, which is too faint on white. Its colours stay apart for the common
 * forms of colour blindness. A chart with more than seven series starts the
 * list again. Marker shapes cycle through four, so in charts of up to 28 series
 * no two series share both colour and shape.
 *
 * @example Usage
 * ```ts
 * import { SERIES_COLORS } from "./colors.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(SERIES_COLORS.length, 7);
 * assert.equal(SERIES_COLORS[0], "#0072b2");
 * ```
 */
export const SERIES_COLORS: readonly string[] = Object.freeze([
  "#0072b2",
  "#d55e00",
  "#009e73",
  "#cc79a7",
  "#e69f00",
  "#56b4e9",
  "#000000",
]);

const HEX_COLOR = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;

/**
 * Parses a `#rgb` or `#rrggbb` colour into red, green and blue from 0 to 255.
 *
 * @param color A hexadecimal colour, case-insensitive.
 * @returns The channels `[red, green, blue]`.
 * @throws {RangeError} If `color` is not a hexadecimal colour.
 *
 * @example Usage
 * ```ts
 * import { parseHexColor } from "attention";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseHexColor("#08306b"), [8, 48, 107]);
 * assert.deepEqual(parseHexColor("#fff"), [255, 255, 255]);
 * ```
 */
export function parseHexColor(color: string): [number, number, number] {
  const match = typeof color === "string" ? HEX_COLOR.exec(color) : null;
  if (match === null) {
    throw new RangeError(
      `parseHexColor: colour ${JSON.stringify(color)} is invalid: ` +
        'expected "#rgb" or "#rrggbb", such as "#08306b".',
    );
  }
  let hex = match[1];
  if (hex.length === 3) hex = [...hex].map((digit) => digit + digit).join("");
  return [0, 2, 4].map((start) =>
    parseInt(hex.slice(start, start + 2), 16)
  ) as [
    number,
    number,
    number,
  ];
}

function toHex(channel: number): string {
  return Math.round(channel).toString(16).padStart(2, "0");
}

/**
 * Resolves a colour scale given by name or as a list of colours.
 *
 * @param scale `"Blues"`, or two or more `#rgb` / `#rrggbb` colours from low to high.
 * @param operation Name of the calling operation, for error messages.
 * @returns The scale as lowercase `#rrggbb` colours.
 * @throws {RangeError} If the name is unknown, fewer than two colours are given or a colour is invalid.
 *
 * @example Usage
 * ```ts
 * import { BLUES, resolveColorScale } from "attention";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(resolveColorScale("Blues", "heatmap"), BLUES);
 * assert.deepEqual(resolveColorScale(["#FFF", "#000000"], "heatmap"), ["#ffffff", "#000000"]);
 * ```
 */
export function resolveColorScale(
  scale: ColorScaleName | readonly string[],
  operation: string,
): ColorScale {
  if (typeof scale === "string") {
    if (!Object.hasOwn(NAMED_SCALES, scale)) {
      const names = Object.keys(NAMED_SCALES);
      const known = names.map((name) => JSON.stringify(name)).join(", ");
      throw new RangeError(
        `${operation}: colour scale ${JSON.stringify(scale)} is unknown. ` +
          `Use one of ${known}, ` +
          'or pass an array of colours such as ["#f7fbff", "#08306b"].',
      );
    }
    return NAMED_SCALES[scale as ColorScaleName];
  }
  if (!Array.isArray(scale) || scale.length < 2) {
    const received = Array.isArray(scale)
      ? `${scale.length} colours`
      : describeValue(scale);
    throw new RangeError(
      `${operation}: option \`colorScale\` must be "Blues" or an array of ` +
        `at least two colours, received ${received}.`,
    );
  }
  return scale.map((color, index) => {
    const match = typeof color === "string" && HEX_COLOR.test(color);
    if (!match) {
      throw new RangeError(
        `${operation}: colour ${index} of \`colorScale\` is ` +
          `${JSON.stringify(color)}, expected "#rgb" or "#rrggbb", ` +
          'such as "#08306b".',
      );
    }
    return "#" + parseHexColor(color).map(toHex).join("");
  });
}

/**
 * Interpolates a colour scale at position `t`, linearly in sRGB between neighbouring colours.
 *
 * @param scale Colours at evenly spaced positions from 0 to 1.
 * @param t Position; values outside 0..1 are clamped.
 * @returns The colour as `#rrggbb`.
 *
 * @example Usage
 * ```ts
 * import { BLUES, interpolateColor } from "attention";
 * import assert from "node:assert/strict";
 *
 * assert.equal(interpolateColor(BLUES, 0), "#f7fbff");
 * assert.equal(interpolateColor(BLUES, 1), "#08306b");
 * assert.equal(interpolateColor(["#000000", "#ffffff"], 0.5), "#808080");
 * ```
 */
export function interpolateColor(scale: ColorScale, t: number): string {
  const position = Math.min(Math.max(Number.isNaN(t) ? 0 : t, 0), 1) *
    (scale.length - 1);
  const lower = Math.min(Math.floor(position), scale.length - 2);
  const fraction = position - lower;
  const from = parseHexColor(scale[lower]);
  const to = parseHexColor(scale[lower + 1]);
  return "#" +
    from.map((channel, i) => toHex(channel + (to[i] - channel) * fraction))
      .join("");
}

/**
 * Computes the relative luminance of a colour as WCAG 2 defines it.
 *
 * Formula: L = 0.2126 R + 0.7152 G + 0.0722 B, where each channel c in 0..1 is
 * linearised as c / 12.92 when c <= 0.04045, else ((c + 0.055) / 1.055)^2.4.
 *
 * @param color A `#rgb` or `#rrggbb` colour.
 * @returns Luminance from 0 (black) to 1 (white).
 * @throws {RangeError} If `color` is not a hexadecimal colour.
 *
 * @example Usage
 * ```ts
 * import { relativeLuminance } from "attention";
 * import assert from "node:assert/strict";
 *
 * assert.equal(relativeLuminance("#ffffff"), 1);
 * assert.equal(relativeLuminance("#000000"), 0);
 * ```
 */
export function relativeLuminance(color: string): number {
  const [red, green, blue] = parseHexColor(color).map((channel) => {
    const c = channel / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * red + 0.7152 * green + 0.0722 * blue;
}

/**
 * Computes the WCAG 2 contrast ratio between two colours.
 *
 * Formula: (L_lighter + 0.05) / (L_darker + 0.05), from 1 (none) to 21,
 * where L is {@linkcode relativeLuminance}.
 *
 * @throws {RangeError} If a colour is not hexadecimal.
 *
 * @example Usage
 * ```ts
 * import { contrastRatio } from "attention";
 * import assert from "node:assert/strict";
 *
 * assert.equal(contrastRatio("#000000", "#ffffff"), 21);
 * assert.equal(contrastRatio("#808080", "#808080"), 1);
 * ```
 */
export function contrastRatio(first: string, second: string): number {
  const a = relativeLuminance(first);
  const b = relativeLuminance(second);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}

/**
 * Picks the annotation colour for a heatmap cell with seaborn's rule.
 *
 * Seaborn's heatmap writes dark grey (matplotlib's ".15") on cells whose
 * relative luminance exceeds 0.408 and white on darker cells.
 *
 * @param background Cell colour as `#rgb` or `#rrggbb`.
 * @returns {@linkcode DARK_TEXT} or {@linkcode LIGHT_TEXT}.
 * @throws {RangeError} If `background` is not a hexadecimal colour.
 *
 * @example Usage
 * ```ts
 * import { annotationColor, BLUES } from "attention";
 * import assert from "node:assert/strict";
 *
 * assert.equal(annotationColor(BLUES[0]), "#262626");
 * assert.equal(annotationColor(BLUES[8]), "#ffffff");
 * ```
 */
export function annotationColor(background: string): string {
  return relativeLuminance(background) > 0.408 ? DARK_TEXT : LIGHT_TEXT;
}

/**
 * Picks whichever of dark grey and white contrasts more with `background`.
 *
 * @param background A `#rgb` or `#rrggbb` colour.
 * @returns {@linkcode DARK_TEXT} or {@linkcode LIGHT_TEXT}.
 * @throws {RangeError} If `background` is not a hexadecimal colour.
 *
 * @example Usage
 * ```ts
 * import { legibleTextColor } from "attention";
 * import assert from "node:assert/strict";
 *
 * assert.equal(legibleTextColor("#6baed6"), "#262626");
 * assert.equal(legibleTextColor("#08306b"), "#ffffff");
 * ```
 */
export function legibleTextColor(background: string): string {
  return contrastRatio(background, DARK_TEXT) >=
      contrastRatio(background, LIGHT_TEXT)
    ? DARK_TEXT
    : LIGHT_TEXT;
}

/**
 * Converts a colour scale to Plotly's `colorscale` format.
 *
 * @param scale Two or more colours from low to high.
 * @returns Pairs `[position, colour]` with positions evenly spaced from 0 to 1.
 *
 * @example Usage
 * ```ts
 * import { toPlotlyColorScale } from "attention";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(toPlotlyColorScale(["#ffffff", "#808080", "#000000"]), [
 *   [0, "#ffffff"],
 *   [0.5, "#808080"],
 *   [1, "#000000"],
 * ]);
 * ```
 */
export function toPlotlyColorScale(scale: ColorScale): [number, string][] {
  return scale.map((color, index) => [index / (scale.length - 1), color]);
}
