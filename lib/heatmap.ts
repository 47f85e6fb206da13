/**
 * Annotated heatmaps of attention weights for Jupyter: a Plotly figure plus a static SVG.
 *
 * The MIME bundle carries the figure as Plotly JSON, which JupyterLab and VS
 * Code render interactively, and a library-drawn SVG inside an `<img>` tag,
 * which stays legible offline, in exported HTML and in untrusted notebooks.
 * The bundle never contains plotly.js, scripts or links to a CDN.
 *
 * @module
 */
import { describeValue, formatShape, ShapeError } from "./errors.ts";
import {
  annotationColor,
  type ColorScale,
  type ColorScaleName,
  DARK_TEXT,
  interpolateColor,
  resolveColorScale,
  toPlotlyColorScale,
} from "./colors.ts";
import { escapeHtml, formatMatrix } from "./display.ts";
import {
  AXIS_TITLE_FONT_SIZE,
  displayBundle,
  drawTitles,
  imageTag,
  openSvgDocument,
  readOptionalNumber,
  readOptionalString,
  TITLE_FONT_SIZE,
  withPlotlyTitle,
} from "./figure.ts";
import { validatePrecision } from "./format.ts";
import {
  element,
  escapePlotlyText,
  estimateTextWidth,
  openTag,
  px,
  type SvgAttributes,
} from "./svg.ts";
import { Tensor } from "./tensor.ts";

/** Options of {@linkcode heatmap}. */
export interface HeatmapOptions {
  /** Title above the heatmap. */
  title?: string;
  /** Title of the horizontal axis, for example "key". */
  xTitle?: string;
  /** Title of the vertical axis, for example "query". */
  yTitle?: string;
  /** One tick label per column (S), for example the key tokens; default the indices. */
  xLabels?: readonly (string | number)[];
  /** One tick label per row (T), for example the query tokens; default the indices. */
  yLabels?: readonly (string | number)[];
  /** Digits after the decimal point in cell annotations; default 2. */
  precision?: number;
  /** Whether to write each value in its cell; default true. */
  annotate?: boolean;
  /** Value mapped to the lowest colour; default the smallest value of the matrix. */
  zmin?: number;
  /** Value mapped to the highest colour; default the largest value of the matrix. */
  zmax?: number;
  /** `"Blues"` (default) or two or more `#rrggbb` colours from low to high. */
  colorScale?: ColorScaleName | readonly string[];
  /** Width of the figure in CSS pixels; by default each column is 14 to 48 px wide. */
  width?: number;
  /** Height of the figure in CSS pixels; by default each row is 14 to 48 px high. */
  height?: number;
}

/** The heatmap trace of a {@linkcode PlotlyFigure}. */
export interface PlotlyHeatmapTrace {
  type: "heatmap";
  /** Values, row 0 first; `null` marks NaN, which Plotly leaves blank. */
  z: (number | null)[][];
  /** Column positions 0..S-1; numeric, so repeated labels stay separate columns. */
  x: number[];
  /** Row positions 0..T-1. */
  y: number[];
  /** Cell annotations, present when `annotate` is true. */
  text?: string[][];
  /** `"%{text}"` when annotating. */
  texttemplate?: string;
  /** Per cell `[row label, column label]`, HTML-escaped, for the hover label. */
  customdata: [string, string][][];
  hovertemplate: string;
  colorscale: [number, string][];
  zmin: number;
  zmax: number;
  showscale: true;
}

/** A Plotly axis with explicit ticks. */
export interface PlotlyAxis {
  title: { text: string };
  tickmode: "array";
  tickvals: number[];
  ticktext: string[];
  showgrid: false;
  zeroline: false;
  autorange?: "reversed";
}

/** A figure in Plotly's JSON format (`application/vnd.plotly.v1+json`). */
export interface PlotlyFigure {
  data: [PlotlyHeatmapTrace];
  layout: {
    title?: { text: string };
    xaxis: PlotlyAxis;
    yaxis: PlotlyAxis;
    width: number;
    height: number;
  };
}

/** Labels longer than this many characters are cut with "…" in the SVG. */
const MAX_LABEL_CHARACTERS = 24;
const TICK_FONT_SIZE = 12;
const COLOR_BAR_WIDTH = 14;
const COLOR_BAR_SLICES = 64;

/** Settings after validation, shared by the figure, the SVG and the text. */
interface HeatmapSpec {
  values: number[][];
  rows: number;
  columns: number;
  title: string | undefined;
  xTitle: string | undefined;
  yTitle: string | undefined;
  xLabels: string[];
  yLabels: string[];
  xLabelsGiven: boolean;
  yLabelsGiven: boolean;
  precision: number;
  annotate: boolean;
  zmin: number;
  zmax: number;
  scale: ColorScale;
  scaleName: string;
  width: number | undefined;
  height: number | undefined;
}

/** Reads a (T, S) matrix of finite numbers or NaN from a tensor or nested arrays. */
function readMatrix(
  matrix: Tensor | readonly (readonly number[])[],
): number[][] {
  let values: number[][];
  if (matrix instanceof Tensor) {
    if (matrix.rank !== 2) {
      throw new ShapeError(
        `heatmap: \`matrix\` must have rank 2 (T, S), received shape ` +
          formatShape(matrix.shape) +
          ". Select one matrix first, for example weights[0].",
        matrix.shape,
        [null, null],
      );
    }
    values = matrix.toArray() as number[][];
  } else if (Array.isArray(matrix)) {
    const columns = Array.isArray(matrix[0]) ? matrix[0].length : 0;
    values = matrix.map((row, i) => {
      if (!Array.isArray(row)) {
        throw new TypeError(
          `heatmap: row ${i} of \`matrix\` is ${describeValue(row)}, ` +
            "expected an array of numbers. " +
            "Pass a 2-D array such as [[0.9, 0.1], [0.3, 0.7]].",
        );
      }
      if (row.length !== columns) {
        throw new ShapeError(
          `heatmap: row ${i} of \`matrix\` has length ${row.length}, expected ${columns} ` +
            `like row 0. Make every row the same length.`,
          [matrix.length, row.length],
          [matrix.length, columns],
        );
      }
      return row.map((value, j) => {
        if (typeof value !== "number") {
          throw new TypeError(
            `heatmap: entry [${i}][${j}] of \`matrix\` is ` +
              `${describeValue(value)}, expected a number. ` +
              "Pass rows that contain only numbers.",
          );
        }
        return value;
      });
    });
  } else {
    throw new TypeError(
      `heatmap: \`matrix\` must be a Tensor or an array of rows, received ` +
        `${describeValue(matrix)}. Pass a (T, S) tensor or number[][].`,
    );
  }

  const rows = values.length;
  const columns = rows === 0 ? 0 : values[0].length;
  if (rows === 0 || columns === 0) {
    throw new ShapeError(
      `heatmap: \`matrix\` is empty (shape ${formatShape([rows, columns])}), ` +
        "expected at least one row and one column. " +
        "Pass a non-empty (T, S) matrix.",
      [rows, columns],
      [null, null],
    );
  }
  values.forEach((row, i) =>
    row.forEach((value, j) => {
      if (value === Infinity || value === -Infinity) {
        throw new RangeError(
          `heatmap: entry [${i}][${j}] of \`matrix\` is ${value}, expected a finite ` +
            `number or NaN. Replace infinities, for example with NaN to leave the cell blank.`,
        );
      }
    })
  );
  return values;
}

/** Reads tick labels, defaulting to the indices, and checks there is one per row or column. */
function readLabels(
  labels: readonly (string | number)[] | undefined,
  name: "xLabels" | "yLabels",
  count: number,
  axis: string,
): string[] {
  if (labels === undefined) {
    return Array.from({ length: count }, (_, i) => String(i));
  }
  if (!Array.isArray(labels)) {
    throw new TypeError(
      `heatmap: option \`${name}\` must be an array of strings, received ` +
        `${describeValue(labels)}. Pass one label per ${axis}.`,
    );
  }
  if (labels.length !== count) {
    throw new ShapeError(
      `heatmap: option \`${name}\` has ${labels.length} labels but the matrix has ` +
        `${count} ${axis}s. Pass exactly one label per ${axis}.`,
      [labels.length],
      [count],
    );
  }
  return labels.map((label, i) => {
    if (typeof label !== "string" && typeof label !== "number") {
      throw new TypeError(
        `heatmap: label ${i} of \`${name}\` is ${describeValue(label)}, ` +
          "expected a string or a number.",
      );
    }
    return String(label);
  });
}

/** Validates the matrix and options and fills in the defaults. */
function resolveSpec(
  matrix: Tensor | readonly (readonly number[])[],
  options: HeatmapOptions,
): HeatmapSpec {
  const values = readMatrix(matrix);
  const rows = values.length;
  const columns = values[0].length;
  if (options.annotate !== undefined && typeof options.annotate !== "boolean") {
    throw new TypeError(
      `heatmap: option \`annotate\` must be true or false, received ` +
        `${describeValue(options.annotate)}.`,
    );
  }

  let dataMin = Infinity;
  let dataMax = -Infinity;
  for (const row of values) {
    for (const value of row) {
      if (value < dataMin) dataMin = value;
      if (value > dataMax) dataMax = value;
    }
  }
  const givenMin = readOptionalNumber("heatmap", options.zmin, "zmin", false);
  const givenMax = readOptionalNumber("heatmap", options.zmax, "zmax", false);
  let zmin = givenMin ?? (dataMin <= dataMax ? dataMin : 0);
  let zmax = givenMax ?? (dataMin <= dataMax ? dataMax : 1);
  if (givenMin === undefined && givenMax === undefined && zmin === zmax) {
    // A constant matrix gets a unit-wide range, so every cell shows the middle colour.
    zmin -= 0.5;
    zmax += 0.5;
  }
  if (!(zmin < zmax)) {
    throw new RangeError(
      `heatmap: \`zmin\` (${zmin}) must be less than \`zmax\` (${zmax}). Pass both ` +
        `options, or neither to use the smallest and largest values of the matrix.`,
    );
  }

  const scaleOption = options.colorScale ?? "Blues";
  return {
    values,
    rows,
    columns,
    title: readOptionalString("heatmap", options.title, "title"),
    xTitle: readOptionalString("heatmap", options.xTitle, "xTitle"),
    yTitle: readOptionalString("heatmap", options.yTitle, "yTitle"),
    xLabels: readLabels(options.xLabels, "xLabels", columns, "column"),
    yLabels: readLabels(options.yLabels, "yLabels", rows, "row"),
    xLabelsGiven: options.xLabels !== undefined,
    yLabelsGiven: options.yLabels !== undefined,
    precision: validatePrecision(options.precision ?? 2, "heatmap"),
    annotate: options.annotate ?? true,
    zmin,
    zmax,
    scale: resolveColorScale(scaleOption, "heatmap"),
    scaleName: typeof scaleOption === "string" ? scaleOption : "custom",
    width: readOptionalNumber("heatmap", options.width, "width", true),
    height: readOptionalNumber("heatmap", options.height, "height", true),
  };
}

/** Formats a cell annotation with `precision` fraction digits; NaN cells get no text. */
function annotationText(value: number, precision: number): string {
  if (Number.isNaN(value)) return "";
  const text = value.toFixed(precision);
  // Rounding a small negative value to zero should not print "-0.00".
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text;
}

/** Shortens a label to {@linkcode MAX_LABEL_CHARACTERS} characters for the SVG. */
function shortenLabel(label: string): string {
  const characters = [...label];
  if (characters.length <= MAX_LABEL_CHARACTERS) return label;
  return characters.slice(0, MAX_LABEL_CHARACTERS - 1).join("") + "…";
}

/** Returns the escaped SVG content of a tick label; a shortened one keeps its full text as a tooltip. */
function tickLabelContent(label: string): string {
  const displayed = shortenLabel(label);
  if (displayed === label) return escapeHtml(label);
  return `<title>${escapeHtml(label)}</title>${escapeHtml(displayed)}`;
}

/** Chooses about five round tick values from `min` to `max` for the colour bar. */
function colorBarTicks(
  min: number,
  max: number,
): { value: number; label: string }[] {
  const rawStep = (max - min) / 4;
  const exponent = Math.floor(Math.log10(rawStep));
  const magnitude = 10 ** exponent;
  const residual = rawStep / magnitude;
  const factor = residual <= 1
    ? 1
    : residual <= 2
    ? 2
    : residual <= 2.5
    ? 2.5
    : residual <= 5
    ? 5
    : 10;
  const step = factor * magnitude;
  const decimals = Math.max(0, -exponent + (factor === 2.5 ? 1 : 0));
  const ticks: { value: number; label: string }[] = [];
  // A small tolerance keeps end points that floating-point division puts just outside.
  const first = Math.ceil(min / step - 1e-9);
  const last = Math.floor(max / step + 1e-9);
  // Fixed notation suits ordinary ranges. Very small or large values use
  // scientific notation, rounded to 12 digits to hide the noise of k * step.
  const fixed = decimals <= 6 && Math.max(Math.abs(min), Math.abs(max)) < 1e7;
  for (let k = first; k <= last; k++) {
    const value = k * step;
    const label = fixed
      ? value.toFixed(decimals)
      : Number(value.toPrecision(12)).toExponential();
    ticks.push({
      value,
      label: /^-0(\.0*)?$/.test(label) ? label.slice(1) : label,
    });
  }
  return ticks;
}

/** Builds the Plotly figure; every label is escaped for Plotly's markup. */
function buildFigure(
  spec: HeatmapSpec,
  width: number,
  height: number,
): PlotlyFigure {
  const xLabels = spec.xLabels.map(escapePlotlyText);
  const yLabels = spec.yLabels.map(escapePlotlyText);
  const xName = escapePlotlyText(spec.xTitle ?? "column");
  const yName = escapePlotlyText(spec.yTitle ?? "row");
  const trace: PlotlyHeatmapTrace = {
    type: "heatmap",
    z: spec.values.map((row) =>
      row.map((value) => Number.isNaN(value) ? null : value)
    ),
    x: xLabels.map((_, j) => j),
    y: yLabels.map((_, i) => i),
    customdata: yLabels.map((yLabel) =>
      xLabels.map((xLabel): [string, string] => [yLabel, xLabel])
    ),
    hovertemplate:
      `${yName}: %{customdata[0]}<br>${xName}: %{customdata[1]}<br>` +
      `value: %{z}<extra></extra>`,
    colorscale: toPlotlyColorScale(spec.scale),
    zmin: spec.zmin,
    zmax: spec.zmax,
    showscale: true,
  };
  if (spec.annotate) {
    trace.text = spec.values.map((row) =>
      row.map((value) => annotationText(value, spec.precision))
    );
    trace.texttemplate = "%{text}";
  }
  const axis = (title: string | undefined, labels: string[]): PlotlyAxis => ({
    title: { text: escapePlotlyText(title ?? "") },
    tickmode: "array",
    tickvals: labels.map((_, i) => i),
    ticktext: labels,
    showgrid: false,
    zeroline: false,
  });
  const figure: PlotlyFigure = {
    data: [trace],
    layout: {
      xaxis: axis(spec.xTitle, xLabels),
      yaxis: { ...axis(spec.yTitle, yLabels), autorange: "reversed" },
      width: Math.round(width),
      height: Math.round(height),
    },
  };
  figure.layout = withPlotlyTitle(figure.layout, spec.title);
  return figure;
}

/** Positions of every part of the SVG, in CSS pixels. */
interface SvgLayout {
  width: number;
  height: number;
  left: number;
  top: number;
  cellWidth: number;
  cellHeight: number;
  rotateXLabels: boolean;
  xTickHeight: number;
  colorBarX: number;
  ticks: { value: number; label: string }[];
}

/** Computes the SVG layout from the labels, titles and the requested size. */
function layoutSvg(spec: HeatmapSpec): SvgLayout {
  const yLabelWidth = Math.max(
    ...spec.yLabels.map((label) =>
      estimateTextWidth(shortenLabel(label), TICK_FONT_SIZE)
    ),
  );
  const xLabelWidth = Math.max(
    ...spec.xLabels.map((label) =>
      estimateTextWidth(shortenLabel(label), TICK_FONT_SIZE)
    ),
  );
  const ticks = colorBarTicks(spec.zmin, spec.zmax);
  const tickLabelWidth = Math.max(
    ...ticks.map((tick) => estimateTextWidth(tick.label, TICK_FONT_SIZE)),
  );

  const top = 12 + (spec.title === undefined ? 0 : TITLE_FONT_SIZE + 14);
  const left = 10 +
    (spec.yTitle === undefined ? 0 : AXIS_TITLE_FONT_SIZE + 10) +
    yLabelWidth + 8;
  const right = 18 + COLOR_BAR_WIDTH + 6 + tickLabelWidth + 10;
  const xTitleHeight = spec.xTitle === undefined
    ? 0
    : AXIS_TITLE_FONT_SIZE + 10;

  // Default cells are square: 44 px for a 10 x 10 matrix, never below 14 px.
  const longestAxis = Math.max(spec.rows, spec.columns);
  const defaultCell = Math.min(48, Math.max(14, Math.round(440 / longestAxis)));
  const cellWidth = spec.width === undefined
    ? defaultCell
    : (spec.width - left - right) / spec.columns;
  const rotateXLabels = xLabelWidth + 4 > cellWidth;
  const xTickHeight = rotateXLabels ? xLabelWidth + 10 : TICK_FONT_SIZE + 10;
  const bottom = xTickHeight + xTitleHeight + 8;
  const cellHeight = spec.height === undefined
    ? defaultCell
    : (spec.height - top - bottom) / spec.rows;
  if (!(cellWidth >= 1 && cellHeight >= 1)) {
    const width = spec.width ?? "(default)";
    const height = spec.height ?? "(default)";
    throw new RangeError(
      `heatmap: options width ${width} and height ${height} leave less than ` +
        `1 px per cell for ${spec.rows} rows and ${spec.columns} columns ` +
        "after labels and colour bar. Pass a larger size.",
    );
  }

  const plotWidth = cellWidth * spec.columns;
  const titleWidth = spec.title === undefined
    ? 0
    : estimateTextWidth(spec.title, TITLE_FONT_SIZE) + 24;
  const width = spec.width ??
    Math.ceil(Math.max(left + plotWidth + right, titleWidth));
  const height = spec.height ??
    Math.ceil(top + cellHeight * spec.rows + bottom);
  return {
    width,
    height,
    left,
    top,
    cellWidth,
    cellHeight,
    rotateXLabels,
    xTickHeight,
    colorBarX: left + plotWidth + 18,
    ticks,
  };
}

/** Geometry and colour mapping shared by the parts of the SVG. */
interface SvgContext {
  spec: HeatmapSpec;
  layout: SvgLayout;
  plotWidth: number;
  plotHeight: number;
  colorOf: (value: number) => string;
}

/** Draws one rectangle per non-NaN cell, row 0 at the top. */
function drawCells({ spec, layout, colorOf }: SvgContext): string[] {
  const rects: string[] = [];
  spec.values.forEach((row, i) =>
    row.forEach((value, j) => {
      if (Number.isNaN(value)) return;
      rects.push(element("rect", {
        class: "cell",
        x: layout.left + j * layout.cellWidth,
        y: layout.top + i * layout.cellHeight,
        width: layout.cellWidth,
        height: layout.cellHeight,
        fill: colorOf(value),
      }));
    })
  );
  return [`<g class="cells" shape-rendering="crispEdges">`, ...rects, `</g>`];
}

/** Writes each value centred in its cell, white on dark cells and dark grey on light ones. */
function drawAnnotations({ spec, layout, colorOf }: SvgContext): string[] {
  const { cellWidth, cellHeight } = layout;
  const texts = spec.values.map((row) =>
    row.map((value) => annotationText(value, spec.precision))
  );
  const longest = Math.max(1, ...texts.flat().map((text) => text.length));
  // The font shrinks until the longest annotation fits its cell, down to 4 px.
  const fontSize = Math.max(
    4,
    Math.min(12, cellHeight * 0.45, cellWidth / (0.62 * longest + 0.4)),
  );
  const annotations: string[] = [];
  spec.values.forEach((row, i) =>
    row.forEach((value, j) => {
      if (Number.isNaN(value)) return;
      const attributes = {
        class: "cell-value",
        x: layout.left + (j + 0.5) * cellWidth,
        y: layout.top + (i + 0.5) * cellHeight,
        dy: "0.35em",
        fill: annotationColor(colorOf(value)),
      };
      annotations.push(element("text", attributes, escapeHtml(texts[i][j])));
    })
  );
  const group = openTag("g", {
    class: "annotations",
    "text-anchor": "middle",
    "font-size": fontSize,
  });
  return [group, ...annotations, `</g>`];
}

/** Draws the row labels left of the cells and the column labels below them. */
function drawTickLabels({ spec, layout, plotHeight }: SvgContext): string[] {
  const { left, top, cellWidth, cellHeight } = layout;
  const parts = [
    `<g class="y-ticks" text-anchor="end" font-size="${TICK_FONT_SIZE}" fill="${DARK_TEXT}">`,
  ];
  spec.yLabels.forEach((label, i) => {
    const attributes = {
      class: "y-tick",
      x: left - 6,
      y: top + (i + 0.5) * cellHeight,
      dy: "0.35em",
    };
    parts.push(element("text", attributes, tickLabelContent(label)));
  });
  parts.push(`</g>`);

  const anchor = layout.rotateXLabels ? "end" : "middle";
  parts.push(
    `<g class="x-ticks" text-anchor="${anchor}" font-size="${TICK_FONT_SIZE}" fill="${DARK_TEXT}">`,
  );
  const y = top + plotHeight + 6;
  spec.xLabels.forEach((label, j) => {
    const x = left + (j + 0.5) * cellWidth;
    // Rotated labels read bottom to top and end just below their column.
    const attributes: SvgAttributes = layout.rotateXLabels
      ? {
        class: "x-tick",
        x,
        y,
        dy: "0.35em",
        transform: `rotate(-90 ${px(x)} ${px(y)})`,
      }
      : { class: "x-tick", x, y, dy: "0.71em" };
    parts.push(element("text", attributes, tickLabelContent(label)));
  });
  parts.push(`</g>`);
  return parts;
}

/** Draws the title and the axis titles that were given. */
function drawHeatmapTitles(
  { spec, layout, plotWidth, plotHeight }: SvgContext,
): string[] {
  return drawTitles(spec, {
    width: layout.width,
    plotLeft: layout.left,
    plotTop: layout.top,
    plotWidth,
    plotHeight,
    xTitleY: layout.top + plotHeight + layout.xTickHeight +
      AXIS_TITLE_FONT_SIZE,
  });
}

/** Draws a vertical colour bar from `zmin` (bottom) to `zmax` (top) with tick values. */
function drawColorBar({ spec, layout, plotHeight }: SvgContext): string[] {
  const x = layout.colorBarX;
  const top = layout.top;
  // Stacked slices stand in for a gradient, which would need an element id.
  const sliceHeight = plotHeight / COLOR_BAR_SLICES;
  const slices: string[] = [];
  for (let k = 0; k < COLOR_BAR_SLICES; k++) {
    const last = k === COLOR_BAR_SLICES - 1;
    slices.push(element("rect", {
      x,
      y: top + plotHeight - (k + 1) * sliceHeight,
      width: COLOR_BAR_WIDTH,
      // Slices overlap by half a pixel so that no hairline gap shows between them.
      height: last ? sliceHeight : sliceHeight + 0.5,
      fill: interpolateColor(spec.scale, (k + 0.5) / COLOR_BAR_SLICES),
    }));
  }
  const outline = element("rect", {
    x,
    y: top,
    width: COLOR_BAR_WIDTH,
    height: plotHeight,
    fill: "none",
    stroke: "#8c8c8c",
    "stroke-width": 0.5,
  });
  const ticks: string[] = [];
  const range = spec.zmax - spec.zmin;
  for (const tick of layout.ticks) {
    const y = top + plotHeight * (1 - (tick.value - spec.zmin) / range);
    const right = x + COLOR_BAR_WIDTH;
    ticks.push(
      element("line", {
        x1: right,
        x2: right + 4,
        y1: y,
        y2: y,
        stroke: "#8c8c8c",
      }),
      element(
        "text",
        { class: "colorbar-tick", x: right + 6, y, dy: "0.35em" },
        escapeHtml(tick.label),
      ),
    );
  }
  return [
    `<g class="colorbar">`,
    `<g shape-rendering="crispEdges">`,
    ...slices,
    `</g>`,
    outline,
    `<g font-size="${TICK_FONT_SIZE}" fill="${DARK_TEXT}">`,
    ...ticks,
    `</g>`,
    `</g>`,
  ];
}

/** Draws the heatmap as a standalone SVG document. */
function drawSvg(spec: HeatmapSpec, layout: SvgLayout): string {
  const range = spec.zmax - spec.zmin;
  const context: SvgContext = {
    spec,
    layout,
    plotWidth: layout.cellWidth * spec.columns,
    plotHeight: layout.cellHeight * spec.rows,
    colorOf: (value) =>
      interpolateColor(spec.scale, (value - spec.zmin) / range),
  };
  return [
    ...openSvgDocument(layout.width, layout.height, describeHeatmap(spec)),
    ...drawHeatmapTitles(context),
    ...drawCells(context),
    ...(spec.annotate ? drawAnnotations(context) : []),
    ...drawTickLabels(context),
    ...drawColorBar(context),
    `</svg>`,
  ].join("\n");
}

/** Writes a count with its noun, such as "1 row" or "10 rows". */
function countOf(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** Returns the title, or a description of the matrix size when there is none. */
function describeHeatmap(spec: HeatmapSpec): string {
  return spec.title ?? `Heatmap of a ${spec.rows} by ${spec.columns} matrix`;
}

/**
 * An annotated heatmap that Deno's Jupyter kernel displays as Plotly JSON, SVG and text.
 *
 * Build one with {@linkcode heatmap}. Row 0 (query 0) is the top row.
 */
export class Heatmap {
  /** The figure in Plotly's JSON format, without plotly.js. */
  readonly figure: PlotlyFigure;
  readonly #spec: HeatmapSpec;
  readonly #layout: SvgLayout;

  /**
   * Validates `matrix` and `options` and builds the figure.
   *
   * @param matrix Shape (T, S): a rank-2 tensor or equal-length rows of numbers.
   * @param options Titles, labels, annotation and colour settings.
   * @throws {ShapeError} See {@linkcode heatmap}.
   * @throws {TypeError} See {@linkcode heatmap}.
   * @throws {RangeError} See {@linkcode heatmap}.
   */
  constructor(
    matrix: Tensor | readonly (readonly number[])[],
    options: HeatmapOptions = {},
  ) {
    this.#spec = resolveSpec(matrix, options);
    this.#layout = layoutSvg(this.#spec);
    this.figure = buildFigure(
      this.#spec,
      this.#layout.width,
      this.#layout.height,
    );
  }

  /**
   * Draws the heatmap as a standalone SVG document.
   *
   * Each cell is a `<rect class="cell">`; each annotation is a
   * `<text class="cell-value">` centred in its cell, white on dark cells and
   * dark grey on light ones. Labels and titles are escaped.
   */
  toSVG(): string {
    return drawSvg(this.#spec, this.#layout);
  }

  /** Returns an `<img>` tag that embeds the SVG as a base64 `data:` URL. */
  toHTML(): string {
    return imageTag(
      this.toSVG(),
      describeHeatmap(this.#spec),
      this.#layout.width,
      this.#layout.height,
    );
  }

  /** Returns a one-line summary, the labels that were given and every value. */
  toString(): string {
    const spec = this.#spec;
    const name = spec.title === undefined
      ? "Heatmap"
      : `Heatmap "${spec.title}"`;
    const rows = `${countOf(spec.rows, "row")} (${spec.yTitle ?? "y"})`;
    const columns = `${countOf(spec.columns, "column")} (${
      spec.xTitle ?? "x"
    })`;
    const scale =
      `colour scale ${spec.scaleName} from ${spec.zmin} to ${spec.zmax}`;
    const lines = [`${name}: ${rows} x ${columns}, ${scale}`];
    if (spec.yLabelsGiven) lines.push(`rows: ${spec.yLabels.join(" | ")}`);
    if (spec.xLabelsGiven) lines.push(`columns: ${spec.xLabels.join(" | ")}`);
    lines.push(
      formatMatrix(spec.values, { precision: spec.precision, suppress: true }),
    );
    return lines.join("\n");
  }

  /** Shows the text summary in `console.log` under Deno. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** Returns the MIME bundle that Deno's Jupyter kernel shows for this heatmap. */
  [Symbol.for("Jupyter.display")](): Record<string, unknown> {
    return displayBundle(this.figure, this.toHTML(), this.toString());
  }
}

/**
 * Draws an annotated heatmap of a (T, S) matrix, such as one batch entry of attention weights.
 *
 * Row 0 is the top row. Cells take their colour from `colorScale` between
 * `zmin` and `zmax`; NaN cells stay blank. Repeated labels stay separate rows
 * and columns, because the Plotly axes use positions 0..n-1 with the labels
 * as tick text.
 *
 * @param matrix Shape (T, S): a rank-2 tensor or equal-length rows of numbers; values finite or NaN.
 * @param options Titles, tick labels, annotation precision, colour range and size.
 * @returns A {@linkcode Heatmap}; end a notebook cell with it to display it.
 * @throws {ShapeError} If `matrix` is not rank 2, is empty or is ragged, or a
 *   label list's length differs from the number of columns or rows.
 * @throws {TypeError} If `matrix` is neither a tensor nor an array, an entry is
 *   not a number, or an option has the wrong type.
 * @throws {RangeError} If an entry is ±Infinity, `zmin >= zmax`, `precision` is
 *   not an integer from 0 to 100, the colour scale is invalid, or the size is too small.
 *
 * @example Usage
 * ```ts
 * import { heatmap, Tensor } from "attention";
 * import assert from "node:assert/strict";
 *
 * const weights = Tensor.from([[0.9, 0.1], [0.3, 0.7]]);
 * const figure = heatmap(weights, { xLabels: ["the", "cat"], yLabels: ["the", "cat"] });
 * assert.equal(figure.figure.data[0].type, "heatmap");
 * assert.equal(figure.toSVG().match(/class="cell-value"/g)?.length, 4);
 * ```
 */
export function heatmap(
  matrix: Tensor | readonly (readonly number[])[],
  options: HeatmapOptions = {},
): Heatmap {
  return new Heatmap(matrix, options);
}
