/**
 * Line charts for Jupyter: a Plotly figure plus a static SVG.
 *
 * The course plots score variance against d_k, run time against sequence
 * length and model width, and memory against sequence length with them. As
 * with `heatmap`, the MIME bundle carries the figure as Plotly JSON, which
 * JupyterLab and VS Code render interactively, and a library-drawn SVG inside
 * an `<img>` tag for offline, exported and untrusted notebooks. The bundle
 * never contains plotly.js, scripts or links to a CDN.
 *
 * @module
 */
import { describeValue, ShapeError } from "./errors.ts";
import { DARK_TEXT, SERIES_COLORS } from "./colors.ts";
import { escapeHtml } from "./display.ts";
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
import { formatScalar } from "./format.ts";
import {
  element,
  escapePlotlyText,
  estimateTextWidth,
  openTag,
  px,
  type SvgAttributes,
} from "./svg.ts";

/** One line of a {@linkcode lineChart}: points joined in the order given. */
export interface LineSeries {
  /** Legend entry, for example "scaled by 1/√d_k". */
  name: string;
  /** Horizontal positions; they need not be sorted. */
  x: ArrayLike<number>;
  /** Vertical positions, one per entry of `x`. */
  y: ArrayLike<number>;
  /** Whether to draw the line dashed; default false. */
  dash?: boolean;
}

/** Options of {@linkcode lineChart}. */
export interface LineChartOptions {
  /** Title above the chart. */
  title?: string;
  /** Title of the horizontal axis, for example "seq_len". */
  xTitle?: string;
  /** Title of the vertical axis, for example "time (ms)". */
  yTitle?: string;
  /** Whether the horizontal axis is logarithmic (base 10); default false. */
  logX?: boolean;
  /** Whether the vertical axis is logarithmic (base 10); default false. */
  logY?: boolean;
  /** Whether to draw a marker at every point; default true. */
  markers?: boolean;
  /** Width in CSS pixels; default 640, or wider when the legend needs room. */
  width?: number;
  /** Height in CSS pixels; default 400, or taller when the legend needs room. */
  height?: number;
  /** Lower end of the vertical axis; default a round value at or below the data. */
  yMin?: number;
  /** Upper end of the vertical axis; default a round value at or above the data. */
  yMax?: number;
}

/** Marker shapes, named as Plotly names them. */
export type MarkerSymbol = "circle" | "square" | "diamond" | "triangle-up";

/** A scatter trace of a {@linkcode PlotlyLineFigure}, drawn as a line. */
export interface PlotlyScatterTrace {
  /** Plotly's trace type for lines and markers. */
  type: "scatter";
  /** `"lines+markers"`, or `"lines"` when the option `markers` is false. */
  mode: "lines+markers" | "lines";
  /** Legend entry, escaped for Plotly's label markup. */
  name: string;
  /** Horizontal positions, copied from the series. */
  x: number[];
  /** Vertical positions, copied from the series. */
  y: number[];
  /** Line colour as `#rrggbb`, width in pixels and dash style. */
  line: { color: string; width: number; dash: "solid" | "dash" };
  /** Marker colour, shape and size in pixels; Plotly ignores it in `"lines"` mode. */
  marker: { color: string; symbol: MarkerSymbol; size: number };
}

/** A linear or logarithmic Plotly axis. */
export interface PlotlyLineAxis {
  /** Axis title, escaped for Plotly's label markup; empty when none was given. */
  title: { text: string };
  /** Axis type; `"log"` is base 10. */
  type: "linear" | "log";
  /** Axis ends, present when `yMin` or `yMax` is given; Plotly expects log10 of the ends on a log axis. */
  range?: [number, number];
}

/** A line chart in Plotly's JSON format (`application/vnd.plotly.v1+json`). */
export interface PlotlyLineFigure {
  /** One trace per series, in the order given. */
  data: PlotlyScatterTrace[];
  /** Title, axes, legend and size in CSS pixels. */
  layout: {
    title?: { text: string };
    xaxis: PlotlyLineAxis;
    yaxis: PlotlyLineAxis;
    showlegend: true;
    width: number;
    height: number;
  };
}

/** Marker shapes cycle separately from colours, so a repeated colour gets another shape. */
const MARKER_SYMBOLS: readonly MarkerSymbol[] = [
  "circle",
  "square",
  "diamond",
  "triangle-up",
];

const DEFAULT_WIDTH = 640;
const DEFAULT_HEIGHT = 400;
/** Default plot area width; a long legend widens the chart instead of squeezing the plot. */
const MIN_DEFAULT_PLOT_WIDTH = 400;
/** Explicit sizes must leave at least this many pixels for the plot area in each direction. */
const MIN_PLOT_SIZE = 40;
const TICK_FONT_SIZE = 12;
const TICK_LENGTH = 5;
const LINE_WIDTH = 2;
const DASH_PATTERN = "6 4";
const MARKER_SIZE = 7;
const LEGEND_ROW_HEIGHT = 20;
const LEGEND_SAMPLE_WIDTH = 26;
/** Legend names longer than this many characters are cut with "…" in the SVG. */
const MAX_LEGEND_CHARACTERS = 32;
/** Margin around the plot area in which markers at the axis ends stay visible. */
const CLIP_MARGIN = 6;
const AXIS_COLOR = "#8c8c8c";
const GRID_COLOR = "#e6e6e6";

/** A series after validation; values are copied into plain arrays. */
interface ResolvedSeries {
  name: string;
  x: number[];
  y: number[];
  dash: boolean;
  color: string;
  symbol: MarkerSymbol;
}

/** Settings after validation, shared by the figure, the SVG and the text. */
interface ChartSpec {
  series: ResolvedSeries[];
  title: string | undefined;
  xTitle: string | undefined;
  yTitle: string | undefined;
  logX: boolean;
  logY: boolean;
  markers: boolean;
  width: number | undefined;
  height: number | undefined;
  yMin: number | undefined;
  yMax: number | undefined;
}

/** A tick: its position in data units and its label. */
interface Tick {
  value: number;
  label: string;
}

/** An axis: its ends in data units, whether it is logarithmic, and its ticks. */
interface AxisScale {
  min: number;
  max: number;
  log: boolean;
  ticks: Tick[];
}

/** Shortens a legend name to {@linkcode MAX_LEGEND_CHARACTERS} characters. */
function shortenName(name: string): string {
  const characters = [...name];
  if (characters.length <= MAX_LEGEND_CHARACTERS) return name;
  return characters.slice(0, MAX_LEGEND_CHARACTERS - 1).join("") + "…";
}

/** Names a series in error messages by index and, when it has one, by name. */
function seriesLabel(index: number, name: unknown): string {
  return typeof name === "string"
    ? `series ${index} (${JSON.stringify(name)})`
    : `series ${index}`;
}

/** Reads `x` or `y` of one series as a non-empty array of finite numbers. */
function readValues(
  values: unknown,
  field: "x" | "y",
  label: string,
): number[] {
  const isArray = Array.isArray(values) ||
    (ArrayBuffer.isView(values) && !(values instanceof DataView) &&
      !(values instanceof BigInt64Array) &&
      !(values instanceof BigUint64Array));
  if (!isArray) {
    throw new TypeError(
      `lineChart: \`${field}\` of ${label} is ${describeValue(values)}, ` +
        `expected an array of numbers. Pass ${field} as number[] or Float64Array.`,
    );
  }
  const result = Array.from(values as ArrayLike<unknown>, (value, i) => {
    if (typeof value !== "number") {
      throw new TypeError(
        `lineChart: ${field}[${i}] of ${label} is ${describeValue(value)}, ` +
          "expected a number. Pass only numbers.",
      );
    }
    if (!Number.isFinite(value)) {
      throw new RangeError(
        `lineChart: ${field}[${i}] of ${label} is ${value}, expected a finite ` +
          "number. Remove the point from both x and y.",
      );
    }
    return value;
  });
  if (result.length === 0) {
    throw new ShapeError(
      `lineChart: ${label} has no points (\`${field}\` is empty). ` +
        "Pass at least one x value and one y value.",
      [0],
      [null],
    );
  }
  return result;
}

/** Rejects values that a logarithmic axis cannot show. */
function requirePositive(
  values: readonly number[],
  field: "x" | "y",
  label: string,
): void {
  const option = field === "x" ? "logX" : "logY";
  values.forEach((value, i) => {
    if (value <= 0) {
      throw new RangeError(
        `lineChart: ${field}[${i}] of ${label} is ${value}, but option ` +
          `\`${option}\` needs values > 0. Remove non-positive points or set ` +
          `\`${option}\` to false.`,
      );
    }
  });
}

/** Validates one entry of `series` and assigns its colour and marker shape. */
function readSeries(
  entry: unknown,
  index: number,
  logX: boolean,
  logY: boolean,
): ResolvedSeries {
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
    throw new TypeError(
      `lineChart: series ${index} is ${describeValue(entry)}, expected an ` +
        `object { name, x, y }. Pass one object per line.`,
    );
  }
  const { name, x, y, dash } = entry as Record<string, unknown>;
  const label = seriesLabel(index, name);
  if (typeof name !== "string") {
    throw new TypeError(
      `lineChart: \`name\` of ${label} is ${describeValue(name)}, expected a ` +
        "string. Give every series a name for the legend.",
    );
  }
  if (dash !== undefined && typeof dash !== "boolean") {
    throw new TypeError(
      `lineChart: \`dash\` of ${label} is ${describeValue(dash)}, expected ` +
        "true, false or no value.",
    );
  }
  const xs = readValues(x, "x", label);
  const ys = readValues(y, "y", label);
  if (xs.length !== ys.length) {
    throw new ShapeError(
      `lineChart: ${label} has ${xs.length} x values but ${ys.length} y ` +
        "values. Pass exactly one y value per x value.",
      [ys.length],
      [xs.length],
    );
  }
  if (logX) requirePositive(xs, "x", label);
  if (logY) requirePositive(ys, "y", label);
  return {
    name,
    x: xs,
    y: ys,
    dash: dash ?? false,
    color: SERIES_COLORS[index % SERIES_COLORS.length],
    symbol: MARKER_SYMBOLS[index % MARKER_SYMBOLS.length],
  };
}

function readBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === "boolean") return value;
  throw new TypeError(
    `lineChart: option \`${name}\` must be true or false, received ` +
      `${describeValue(value)}.`,
  );
}

/** Validates the series and options and fills in the defaults. */
function resolveSpec(
  series: readonly LineSeries[],
  options: LineChartOptions,
): ChartSpec {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `lineChart: \`options\` must be an object, received ` +
        `${describeValue(options)}. Pass {} for the defaults.`,
    );
  }
  if (!Array.isArray(series)) {
    throw new TypeError(
      `lineChart: \`series\` must be an array of { name, x, y } objects, ` +
        `received ${describeValue(series)}. Wrap a single series in [ ].`,
    );
  }
  if (series.length === 0) {
    throw new ShapeError(
      "lineChart: `series` is empty, expected at least one series. " +
        'Pass an array such as [{ name: "time", x: [1, 2], y: [3, 4] }].',
      [0],
      [null],
    );
  }
  const logX = readBoolean(options.logX, "logX", false);
  const logY = readBoolean(options.logY, "logY", false);
  const yMin = readOptionalNumber("lineChart", options.yMin, "yMin", false);
  const yMax = readOptionalNumber("lineChart", options.yMax, "yMax", false);
  if (yMin !== undefined && yMax !== undefined && !(yMin < yMax)) {
    throw new RangeError(
      `lineChart: option \`yMin\` (${yMin}) must be less than \`yMax\` ` +
        `(${yMax}). Swap them, or leave one out to fit it to the data.`,
    );
  }
  for (const [name, value] of [["yMin", yMin], ["yMax", yMax]] as const) {
    if (logY && value !== undefined && value <= 0) {
      throw new RangeError(
        `lineChart: option \`${name}\` is ${value}, but option \`logY\` needs ` +
          `a value > 0. Pass a positive \`${name}\` or set \`logY\` to false.`,
      );
    }
  }
  return {
    series: series.map((entry, index) => readSeries(entry, index, logX, logY)),
    title: readOptionalString("lineChart", options.title, "title"),
    xTitle: readOptionalString("lineChart", options.xTitle, "xTitle"),
    yTitle: readOptionalString("lineChart", options.yTitle, "yTitle"),
    logX,
    logY,
    markers: readBoolean(options.markers, "markers", true),
    width: readOptionalNumber("lineChart", options.width, "width", true),
    height: readOptionalNumber("lineChart", options.height, "height", true),
    yMin,
    yMax,
  };
}

/** Multiplies a small integer by a power of ten, dividing for negative powers so that 3 × 0.1 prints as 0.3. */
function scaleByPowerOfTen(multiple: number, exponent: number): number {
  return exponent >= 0 ? multiple * 10 ** exponent : multiple / 10 ** -exponent;
}

/** Picks the smallest step of the form 1, 2 or 5 × 10^k that is at least `rawStep`. */
function niceStep(rawStep: number): { factor: number; exponent: number } {
  let exponent = Math.floor(Math.log10(rawStep));
  const residual = rawStep / 10 ** exponent;
  // The tolerance keeps a step of exactly 2 × 10^k from rounding up to 5 × 10^k.
  let factor = residual <= 1 + 1e-9
    ? 1
    : residual <= 2 + 1e-9
    ? 2
    : residual <= 5 + 1e-9
    ? 5
    : 10;
  if (factor === 10) {
    factor = 1;
    exponent += 1;
  }
  return { factor, exponent };
}

/** Writes `value` as mantissa and exponent with the digits that `resolution` needs, such as "2.5e5". */
function scientificLabel(value: number, resolution: number): string {
  if (value === 0) return "0";
  const magnitude = Math.floor(Math.log10(Math.abs(value)) + 1e-9);
  const digits = Math.max(
    0,
    magnitude - Math.floor(Math.log10(resolution) + 1e-9),
  );
  const [mantissa, exponent] = value.toExponential(Math.min(digits, 20)).split(
    "e",
  );
  const trimmed = mantissa.includes(".")
    ? mantissa.replace(/\.?0+$/, "")
    : mantissa;
  return `${trimmed}e${exponent.replace("+", "")}`;
}

/** Writes `value` with the fraction digits of a step 10^exponent, never as "-0". */
function positionalLabel(value: number, exponent: number): string {
  const text = value.toFixed(Math.min(Math.max(0, -exponent), 100));
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text;
}

/**
 * Chooses round ticks with 1, 2 or 5 × 10^k steps from `low` to `high`.
 *
 * The labels of one axis share a format: scientific ("2e5") when a tick
 * reaches 1e5 or the step is below 1e-4, positional otherwise.
 */
function linearTicks(low: number, high: number, intervals: number): Tick[] {
  const { factor, exponent } = niceStep((high - low) / intervals);
  const step = scaleByPowerOfTen(factor, exponent);
  // The tolerance keeps end points that floating-point division puts just outside.
  const first = Math.ceil(low / step - 1e-9);
  const last = Math.floor(high / step + 1e-9);
  const values: number[] = [];
  for (let k = first; k <= last; k++) {
    values.push(scaleByPowerOfTen(k * factor, exponent));
  }
  const largest = Math.max(...values.map(Math.abs));
  const scientific = largest >= 1e5 || exponent < -4;
  return values.map((value) => ({
    value,
    label: scientific
      ? scientificLabel(value, step)
      : positionalLabel(value, exponent),
  }));
}

/**
 * Fits a linear axis to the data, extending free ends outward to a multiple of the tick step.
 *
 * `fixedMin` and `fixedMax` (from `yMin` and `yMax`) are kept exactly.
 */
function linearScale(
  dataMin: number,
  dataMax: number,
  fixedMin: number | undefined,
  fixedMax: number | undefined,
  intervals: number,
): AxisScale {
  let low = fixedMin ?? dataMin;
  let high = fixedMax ?? dataMax;
  if (!(low < high)) {
    // The data are constant or lie beyond a fixed end, so widen the free end.
    const span = Math.abs(fixedMin ?? fixedMax ?? low) || 1;
    if (fixedMin === undefined && fixedMax === undefined) {
      low -= span / 2;
      high += span / 2;
    } else if (fixedMin === undefined) {
      low = high - span;
    } else {
      high = low + span;
    }
  }
  const { factor, exponent } = niceStep((high - low) / intervals);
  const step = scaleByPowerOfTen(factor, exponent);
  const min = fixedMin ??
    scaleByPowerOfTen(Math.floor(low / step + 1e-9) * factor, exponent);
  const max = fixedMax ??
    scaleByPowerOfTen(Math.ceil(high / step - 1e-9) * factor, exponent);
  return { min, max, log: false, ticks: linearTicks(min, max, intervals) };
}

/** Labels the log-axis tick multiple × 10^exponent; "1e5" style outside 1e-4 to 1e4. */
function logTickLabel(multiple: number, exponent: number): string {
  if (exponent < -4 || exponent > 4) return `${multiple}e${exponent}`;
  return positionalLabel(scaleByPowerOfTen(multiple, exponent), exponent);
}

/**
 * Fits a base-10 logarithmic axis to positive data, extending free ends to whole decades.
 *
 * Ticks sit on decades, or on every n-th decade when there are more than
 * `intervals + 1`. When fewer than three decades show, 2 and 5 × 10^k are
 * added. If that still leaves fewer than two ticks, the axis takes the ticks
 * of a linear axis over the same range.
 */
function logScale(
  dataMin: number,
  dataMax: number,
  fixedMin: number | undefined,
  fixedMax: number | undefined,
  intervals: number,
): AxisScale {
  // Exponents are rounded with a tolerance because Math.log10 of a power of
  // ten may be off by one unit in the last place.
  let low = fixedMin === undefined
    ? Math.floor(Math.log10(dataMin) + 1e-9)
    : Math.log10(fixedMin);
  let high = fixedMax === undefined
    ? Math.ceil(Math.log10(dataMax) - 1e-9)
    : Math.log10(fixedMax);
  if (!(low < high)) {
    if (fixedMin === undefined && fixedMax === undefined) {
      low -= 1;
      high += 1;
    } else if (fixedMin === undefined) {
      low = Math.floor(high - 1e-9) - 1;
    } else {
      high = Math.ceil(low + 1e-9) + 1;
    }
  }
  const min = fixedMin ?? 10 ** low;
  const max = fixedMax ?? 10 ** high;

  const firstDecade = Math.ceil(low - 1e-9);
  const lastDecade = Math.floor(high + 1e-9);
  const decades = lastDecade - firstDecade + 1;
  const stride = decades > intervals + 1
    ? Math.ceil((decades - 1) / intervals)
    : 1;
  const candidates: { multiple: number; exponent: number }[] = [];
  for (let k = firstDecade; k <= lastDecade; k++) {
    if (((k % stride) + stride) % stride === 0) {
      candidates.push({ multiple: 1, exponent: k });
    }
  }
  if (decades < 3) {
    for (let k = Math.floor(low + 1e-9); k <= lastDecade; k++) {
      candidates.push({ multiple: 2, exponent: k }, {
        multiple: 5,
        exponent: k,
      });
    }
  }
  const ticks = candidates
    .map(({ multiple, exponent }) => ({
      value: scaleByPowerOfTen(multiple, exponent),
      label: logTickLabel(multiple, exponent),
    }))
    .filter((tick) =>
      tick.value >= min * (1 - 1e-9) && tick.value <= max * (1 + 1e-9)
    )
    .sort((a, b) => a.value - b.value);
  if (ticks.length >= 2) return { min, max, log: true, ticks };
  const fallback = linearTicks(min, max, intervals).filter((tick) =>
    tick.value > 0
  );
  return { min, max, log: true, ticks: fallback };
}

/** Fits an axis to every value of one coordinate over all series. */
function fitScale(
  values: readonly number[],
  log: boolean,
  fixedMin: number | undefined,
  fixedMax: number | undefined,
  intervals: number,
): AxisScale {
  let dataMin = Infinity;
  let dataMax = -Infinity;
  for (const value of values) {
    if (value < dataMin) dataMin = value;
    if (value > dataMax) dataMax = value;
  }
  return log
    ? logScale(dataMin, dataMax, fixedMin, fixedMax, intervals)
    : linearScale(dataMin, dataMax, fixedMin, fixedMax, intervals);
}

/** Maps a value to its position along an axis: 0 at `min`, 1 at `max`. */
function axisFraction(scale: AxisScale, value: number): number {
  if (scale.log) {
    const low = Math.log10(scale.min);
    return (Math.log10(value) - low) / (Math.log10(scale.max) - low);
  }
  return (value - scale.min) / (scale.max - scale.min);
}

/** Chooses how many tick intervals suit an axis of `length` pixels, from 2 to 10. */
function tickIntervals(length: number, pixelsPerInterval: number): number {
  return Math.min(10, Math.max(2, Math.round(length / pixelsPerInterval)));
}

/** Positions of every part of the SVG, in CSS pixels. */
interface SvgLayout {
  width: number;
  height: number;
  left: number;
  top: number;
  plotWidth: number;
  plotHeight: number;
  xScale: AxisScale;
  yScale: AxisScale;
}

/** Computes the SVG layout and both axes from the data, titles and requested size. */
function layoutSvg(spec: ChartSpec): SvgLayout {
  const top = 14 + (spec.title === undefined ? 0 : TITLE_FONT_SIZE + 14);
  const xTitleHeight = spec.xTitle === undefined
    ? 0
    : AXIS_TITLE_FONT_SIZE + 10;
  const bottom = TICK_LENGTH + TICK_FONT_SIZE + 10 + xTitleHeight + 8;
  const legendHeight = spec.series.length * LEGEND_ROW_HEIGHT + 8;
  const height = spec.height ??
    Math.max(DEFAULT_HEIGHT, Math.ceil(top + legendHeight + bottom));
  const plotHeight = height - top - bottom;
  if (spec.height !== undefined && plotHeight < legendHeight) {
    throw new RangeError(
      `lineChart: option \`height\` (${spec.height}) leaves room for ` +
        `${Math.max(0, Math.floor((plotHeight - 8) / LEGEND_ROW_HEIGHT))} ` +
        `legend entries but there are ${spec.series.length} series. Pass a ` +
        `height of at least ${Math.ceil(top + legendHeight + bottom)}, or ` +
        "leave it out.",
    );
  }
  if (plotHeight < MIN_PLOT_SIZE) {
    throw new RangeError(
      `lineChart: option \`height\` (${spec.height}) leaves a plot area ` +
        `${
          px(plotHeight)
        } px high after titles and labels, expected at least ` +
        `${MIN_PLOT_SIZE} px. Pass a height of at least ` +
        `${Math.ceil(top + bottom + MIN_PLOT_SIZE)}.`,
    );
  }
  const yScale = fitScale(
    spec.series.flatMap((series) => series.y),
    spec.logY,
    spec.yMin,
    spec.yMax,
    tickIntervals(plotHeight, 50),
  );

  const yTickWidth = Math.max(
    ...yScale.ticks.map((tick) =>
      estimateTextWidth(tick.label, TICK_FONT_SIZE)
    ),
  );
  const left = 10 +
    (spec.yTitle === undefined ? 0 : AXIS_TITLE_FONT_SIZE + 10) +
    yTickWidth + TICK_LENGTH + 4;
  const nameWidth = Math.max(
    ...spec.series.map((series) =>
      estimateTextWidth(shortenName(series.name), TICK_FONT_SIZE)
    ),
  );
  const right = 16 + LEGEND_SAMPLE_WIDTH + 6 + nameWidth + 12;
  const titleWidth = spec.title === undefined
    ? 0
    : estimateTextWidth(spec.title, TITLE_FONT_SIZE) + 24;
  const width = spec.width ??
    Math.ceil(
      Math.max(
        DEFAULT_WIDTH,
        left + MIN_DEFAULT_PLOT_WIDTH + right,
        titleWidth,
      ),
    );
  const plotWidth = width - left - right;
  if (plotWidth < MIN_PLOT_SIZE) {
    throw new RangeError(
      `lineChart: option \`width\` (${spec.width}) leaves a plot area ` +
        `${px(plotWidth)} px wide after tick labels and legend, expected at ` +
        `least ${MIN_PLOT_SIZE} px. Pass a width of at least ` +
        `${Math.ceil(left + right + MIN_PLOT_SIZE)}, or shorten the names.`,
    );
  }
  const xScale = fitScale(
    spec.series.flatMap((series) => series.x),
    spec.logX,
    undefined,
    undefined,
    tickIntervals(plotWidth, 90),
  );
  return { width, height, left, top, plotWidth, plotHeight, xScale, yScale };
}

/** Builds the Plotly figure; every text is escaped for Plotly's markup. */
function buildFigure(spec: ChartSpec, layout: SvgLayout): PlotlyLineFigure {
  const data = spec.series.map((series): PlotlyScatterTrace => ({
    type: "scatter",
    mode: spec.markers ? "lines+markers" : "lines",
    name: escapePlotlyText(series.name),
    x: [...series.x],
    y: [...series.y],
    line: {
      color: series.color,
      width: LINE_WIDTH,
      dash: series.dash ? "dash" : "solid",
    },
    marker: { color: series.color, symbol: series.symbol, size: MARKER_SIZE },
  }));
  const xaxis: PlotlyLineAxis = {
    title: { text: escapePlotlyText(spec.xTitle ?? "") },
    type: spec.logX ? "log" : "linear",
  };
  const yaxis: PlotlyLineAxis = {
    title: { text: escapePlotlyText(spec.yTitle ?? "") },
    type: spec.logY ? "log" : "linear",
  };
  if (spec.yMin !== undefined || spec.yMax !== undefined) {
    // Both ends are set because plotly.js releases before mid-2023 ignore a
    // range with a null end, and notebook front ends may bundle one. The free
    // end is the one the SVG uses.
    const { min, max } = layout.yScale;
    yaxis.range = spec.logY ? [Math.log10(min), Math.log10(max)] : [min, max];
  }
  const figure: PlotlyLineFigure = {
    data,
    layout: {
      xaxis,
      yaxis,
      showlegend: true,
      width: Math.round(layout.width),
      height: Math.round(layout.height),
    },
  };
  figure.layout = withPlotlyTitle(figure.layout, spec.title);
  return figure;
}

/** Geometry shared by the parts of the SVG. */
interface SvgContext {
  spec: ChartSpec;
  layout: SvgLayout;
  toX: (value: number) => number;
  toY: (value: number) => number;
}

/** Draws grid lines, the two axis lines, tick marks and tick labels. */
function drawAxes({ layout, toX, toY }: SvgContext): string[] {
  const { left, top, plotWidth, plotHeight, xScale, yScale } = layout;
  const bottom = top + plotHeight;
  const grid: string[] = [];
  const marks: string[] = [];
  const xLabels: string[] = [];
  const yLabels: string[] = [];
  for (const tick of xScale.ticks) {
    const x = toX(tick.value);
    grid.push(element("line", { x1: x, x2: x, y1: top, y2: bottom }));
    marks.push(
      element("line", { x1: x, x2: x, y1: bottom, y2: bottom + TICK_LENGTH }),
    );
    xLabels.push(element(
      "text",
      { class: "x-tick", x, y: bottom + TICK_LENGTH + 3, dy: "0.71em" },
      escapeHtml(tick.label),
    ));
  }
  for (const tick of yScale.ticks) {
    const y = toY(tick.value);
    grid.push(
      element("line", { x1: left, x2: left + plotWidth, y1: y, y2: y }),
    );
    marks.push(
      element("line", { x1: left - TICK_LENGTH, x2: left, y1: y, y2: y }),
    );
    yLabels.push(element(
      "text",
      { class: "y-tick", x: left - TICK_LENGTH - 3, y, dy: "0.35em" },
      escapeHtml(tick.label),
    ));
  }
  const axisLines = [
    element("line", { x1: left, x2: left, y1: top, y2: bottom }),
    element("line", { x1: left, x2: left + plotWidth, y1: bottom, y2: bottom }),
  ];
  return [
    openTag("g", {
      class: "grid",
      stroke: GRID_COLOR,
      "shape-rendering": "crispEdges",
    }),
    ...grid,
    `</g>`,
    openTag("g", {
      class: "axes",
      stroke: AXIS_COLOR,
      "shape-rendering": "crispEdges",
    }),
    ...axisLines,
    ...marks,
    `</g>`,
    openTag("g", {
      class: "x-ticks",
      "text-anchor": "middle",
      "font-size": TICK_FONT_SIZE,
      fill: DARK_TEXT,
    }),
    ...xLabels,
    `</g>`,
    openTag("g", {
      class: "y-ticks",
      "text-anchor": "end",
      "font-size": TICK_FONT_SIZE,
      fill: DARK_TEXT,
    }),
    ...yLabels,
    `</g>`,
  ];
}

/** Draws the title and the axis titles that were given. */
function drawChartTitles({ spec, layout }: SvgContext): string[] {
  return drawTitles(spec, {
    width: layout.width,
    plotLeft: layout.left,
    plotTop: layout.top,
    plotWidth: layout.plotWidth,
    plotHeight: layout.plotHeight,
    xTitleY: layout.top + layout.plotHeight + TICK_LENGTH + TICK_FONT_SIZE +
      10 + AXIS_TITLE_FONT_SIZE,
  });
}

/** Draws one marker of `symbol` centred on (x, y), filled by the enclosing group. */
function drawMarker(symbol: MarkerSymbol, x: number, y: number): string {
  const r = MARKER_SIZE / 2;
  switch (symbol) {
    case "circle":
      return element("circle", { class: "marker", cx: x, cy: y, r });
    case "square":
      return element("rect", {
        class: "marker",
        x: x - r * 0.9,
        y: y - r * 0.9,
        width: r * 1.8,
        height: r * 1.8,
      });
    case "diamond":
      return element("polygon", {
        class: "marker",
        points: `${px(x)},${px(y - r * 1.25)} ${px(x + r * 1.25)},${px(y)} ` +
          `${px(x)},${px(y + r * 1.25)} ${px(x - r * 1.25)},${px(y)}`,
      });
    case "triangle-up":
      return element("polygon", {
        class: "marker",
        points:
          `${px(x)},${px(y - r * 1.3)} ${px(x + r * 1.2)},${px(y + r * 0.9)} ` +
          `${px(x - r * 1.2)},${px(y + r * 0.9)}`,
      });
  }
}

/** Draws each series as one polyline plus its markers, clipped to the plot area. */
function drawSeries({ spec, layout, toX, toY }: SvgContext): string[] {
  const parts: string[] = [];
  // A nested <svg> clips to its viewport without a clipPath, which would need
  // an element id. The margin keeps markers at the axis ends whole.
  const x = layout.left - CLIP_MARGIN;
  const y = layout.top - CLIP_MARGIN;
  const width = layout.plotWidth + 2 * CLIP_MARGIN;
  const height = layout.plotHeight + 2 * CLIP_MARGIN;
  parts.push(openTag("svg", {
    class: "plot-area",
    x,
    y,
    width,
    height,
    viewBox: `${px(x)} ${px(y)} ${px(width)} ${px(height)}`,
    overflow: "hidden",
  }));
  for (const series of spec.series) {
    const points = series.x.map((value, i) =>
      `${px(toX(value))},${px(toY(series.y[i]))}`
    ).join(" ");
    const lineAttributes: SvgAttributes = {
      class: "line",
      points,
      fill: "none",
      stroke: series.color,
      "stroke-width": LINE_WIDTH,
      "stroke-linejoin": "round",
      "stroke-linecap": "round",
    };
    if (series.dash) lineAttributes["stroke-dasharray"] = DASH_PATTERN;
    parts.push(openTag("g", { class: "series" }));
    parts.push(element("title", {}, escapeHtml(series.name)));
    parts.push(element("polyline", lineAttributes));
    if (spec.markers) {
      parts.push(openTag("g", { class: "markers", fill: series.color }));
      series.x.forEach((value, i) => {
        parts.push(drawMarker(series.symbol, toX(value), toY(series.y[i])));
      });
      parts.push(`</g>`);
    }
    parts.push(`</g>`);
  }
  parts.push(`</svg>`);
  return parts;
}

/** Draws the legend right of the plot: a line sample, a marker and the name of each series. */
function drawLegend({ spec, layout }: SvgContext): string[] {
  const x = layout.left + layout.plotWidth + 16;
  const parts = [
    openTag("g", {
      class: "legend",
      "font-size": TICK_FONT_SIZE,
      fill: DARK_TEXT,
    }),
  ];
  spec.series.forEach((series, i) => {
    const y = layout.top + 4 + (i + 0.5) * LEGEND_ROW_HEIGHT;
    const sample: SvgAttributes = {
      class: "legend-line",
      x1: x,
      x2: x + LEGEND_SAMPLE_WIDTH,
      y1: y,
      y2: y,
      stroke: series.color,
      "stroke-width": LINE_WIDTH,
    };
    if (series.dash) sample["stroke-dasharray"] = DASH_PATTERN;
    parts.push(
      openTag("g", { class: "legend-entry" }),
      element("line", sample),
    );
    if (spec.markers) {
      parts.push(
        openTag("g", { fill: series.color }),
        drawMarker(series.symbol, x + LEGEND_SAMPLE_WIDTH / 2, y),
        `</g>`,
      );
    }
    const legendText = shortenName(series.name);
    // A shortened name keeps its full text as a tooltip.
    const content = legendText === series.name
      ? escapeHtml(series.name)
      : `<title>${escapeHtml(series.name)}</title>${escapeHtml(legendText)}`;
    parts.push(
      element(
        "text",
        {
          class: "legend-label",
          x: x + LEGEND_SAMPLE_WIDTH + 6,
          y,
          dy: "0.35em",
        },
        content,
      ),
      `</g>`,
    );
  });
  parts.push(`</g>`);
  return parts;
}

/** Returns the title, or a description of the chart when there is none. */
function describeChart(spec: ChartSpec): string {
  if (spec.title !== undefined) return spec.title;
  const count = spec.series.length;
  return `Line chart of ${count} series`;
}

/** Draws the chart as a standalone SVG document. */
function drawSvg(spec: ChartSpec, layout: SvgLayout): string {
  const context: SvgContext = {
    spec,
    layout,
    toX: (value) =>
      layout.left + axisFraction(layout.xScale, value) * layout.plotWidth,
    toY: (value) =>
      layout.top +
      (1 - axisFraction(layout.yScale, value)) * layout.plotHeight,
  };
  return [
    ...openSvgDocument(layout.width, layout.height, describeChart(spec)),
    ...drawChartTitles(context),
    ...drawAxes(context),
    ...drawSeries(context),
    ...drawLegend(context),
    `</svg>`,
  ].join("\n");
}

/** Describes an axis for the text summary, for example "seq_len (log)". */
function describeAxis(
  title: string | undefined,
  fallback: string,
  log: boolean,
) {
  return `${title ?? fallback}${log ? " (log)" : ""}`;
}

/**
 * A line chart that Deno's Jupyter kernel displays as Plotly JSON, SVG and text.
 *
 * Build one with {@linkcode lineChart}.
 */
export class LineChart {
  /** The figure in Plotly's JSON format, without plotly.js. */
  readonly figure: PlotlyLineFigure;
  readonly #spec: ChartSpec;
  readonly #layout: SvgLayout;

  /**
   * Validates `series` and `options` and builds the figure.
   *
   * @param series One entry per line.
   * @param options Titles, log axes, markers, size and vertical range.
   * @throws {ShapeError} See {@linkcode lineChart}.
   * @throws {TypeError} See {@linkcode lineChart}.
   * @throws {RangeError} See {@linkcode lineChart}.
   */
  constructor(
    series: readonly LineSeries[],
    options: LineChartOptions = {},
  ) {
    this.#spec = resolveSpec(series, options);
    this.#layout = layoutSvg(this.#spec);
    this.figure = buildFigure(this.#spec, this.#layout);
  }

  /**
   * Draws the chart as a standalone SVG document.
   *
   * Each series is a `<g class="series">` holding one `<polyline class="line">`
   * through its points in the given order and, unless `markers` is false, one
   * element of class `marker` per point. Tick labels are `<text>` elements of
   * class `x-tick` and `y-tick`. All text is escaped. The same input always
   * gives the same SVG.
   */
  toSVG(): string {
    return drawSvg(this.#spec, this.#layout);
  }

  /** Returns an `<img>` tag that embeds the SVG as a base64 `data:` URL. */
  toHTML(): string {
    return imageTag(
      this.toSVG(),
      describeChart(this.#spec),
      this.#layout.width,
      this.#layout.height,
    );
  }

  /** Summarises the chart in one line and each series in one more. */
  toString(): string {
    const spec = this.#spec;
    const name = spec.title === undefined
      ? "LineChart"
      : `LineChart "${spec.title}"`;
    const lines = [
      `${name}: ${spec.series.length} series; ` +
      `x: ${describeAxis(spec.xTitle, "x", spec.logX)}; ` +
      `y: ${describeAxis(spec.yTitle, "y", spec.logY)}`,
    ];
    for (const series of spec.series) {
      const range = (values: number[]) =>
        `${formatScalar(Math.min(...values))} to ${
          formatScalar(Math.max(...values))
        }`;
      const style = series.dash ? " (dashed)" : "";
      lines.push(
        `- ${series.name}${style}: ${series.x.length} points, ` +
          `x from ${range(series.x)}, y from ${range(series.y)}`,
      );
    }
    return lines.join("\n");
  }

  /** Shows the text summary in `console.log` under Deno. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** Returns the MIME bundle that Deno's Jupyter kernel shows for this chart. */
  [Symbol.for("Jupyter.display")](): Record<string, unknown> {
    return displayBundle(this.figure, this.toHTML(), this.toString());
  }
}

/**
 * Draws one or more series as lines, for example run time against sequence length.
 *
 * Points are joined in the order given, so `x` need not be sorted. Axes get
 * round ticks: steps of 1, 2 or 5 × 10^k on a linear axis, and decades on a
 * logarithmic one (with 2 and 5 × 10^k added when fewer than three decades
 * show). Each series takes the next colour of a colour-blind-safe palette
 * (Okabe and Ito) and the next marker shape. Quadratic growth, such as
 * attention time against sequence length, shows as a straight line of slope
 * 2 when both `logX` and `logY` are set, and linear growth as slope 1.
 *
 * @param series One `{ name, x, y, dash? }` per line; `x` and `y` hold the same
 *   number (at least one) of finite numbers.
 * @param options Titles, log axes, markers, size and vertical range.
 * @returns A {@linkcode LineChart}; end a notebook cell with it to display it.
 * @throws {ShapeError} If `series` is empty, a series has no points, or its
 *   `x` and `y` differ in length.
 * @throws {TypeError} If `series` is not an array, an entry is not an object,
 *   a name is not a string, `x` or `y` is not an array, a value is not a
 *   number, or an option has the wrong type.
 * @throws {RangeError} If a value is NaN or ±Infinity, a value on a log axis
 *   is not positive, `yMin >= yMax`, `width` or `height` is not positive, or
 *   the size leaves no room for the plot or the legend.
 *
 * @example Usage
 * ```ts
 * import { lineChart } from "attention";
 * import assert from "node:assert/strict";
 *
 * const seqLen = [128, 256, 512, 1024];
 * const chart = lineChart([
 *   { name: "attention", x: seqLen, y: [1, 4, 16, 64] },
 *   { name: "feed-forward", x: seqLen, y: [1, 2, 4, 8], dash: true },
 * ], { xTitle: "seq_len", yTitle: "time (ms)", logX: true, logY: true });
 *
 * assert.equal(chart.figure.data[0].mode, "lines+markers");
 * assert.equal(chart.figure.layout.yaxis.type, "log");
 * assert.equal(chart.toSVG().match(/<polyline class="line"/g)?.length, 2);
 * ```
 */
export function lineChart(
  series: readonly LineSeries[],
  options: LineChartOptions = {},
): LineChart {
  return new LineChart(series, options);
}
