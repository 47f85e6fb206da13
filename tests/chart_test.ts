import assert from "node:assert/strict";
import { ShapeError } from "../lib/errors.ts";
import { LineChart, lineChart, type LineSeries } from "../lib/chart.ts";

const XSS = "<img src=x onerror=alert(1)>";
const SEQ_LEN = [64, 128, 256, 512, 1024, 2048, 4096];

/** Quadratic and linear timings against sequence length, as in the course. */
function timings(): LineSeries[] {
  return [
    { name: "attention", x: SEQ_LEN, y: SEQ_LEN.map((n) => 1e-5 * n * n) },
    {
      name: "linear",
      x: SEQ_LEN,
      y: SEQ_LEN.map((n) => 1e-3 * n),
      dash: true,
    },
  ];
}

/** Returns the text of every `<text class="name">` element in SVG text. */
function texts(svg: string, name: string): string[] {
  const pattern = new RegExp(`<text class="${name}"[^>]*>([^<]*)</text>`, "g");
  return [...svg.matchAll(pattern)].map((match) => match[1]);
}

/** Returns the value of `attribute` of every `<tag class="name">` element. */
function attributes(
  svg: string,
  tag: string,
  name: string,
  attribute: string,
): string[] {
  const elements =
    svg.match(new RegExp(`<${tag} class="${name}"[^>]*>`, "g")) ?? [];
  return elements.map((element) =>
    element.match(new RegExp(` ${attribute}="([^"]*)"`))?.[1] ?? ""
  );
}

/** Parses the `points` attribute of each polyline into [x, y] pairs. */
function polylinePoints(svg: string): [number, number][][] {
  return attributes(svg, "polyline", "line", "points").map((points) =>
    points.split(" ").map((pair) =>
      pair.split(",").map(Number) as [
        number,
        number,
      ]
    )
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

function displayBundle(chart: LineChart): Record<string, unknown> {
  const display =
    (chart as unknown as Record<symbol, () => Record<string, unknown>>)[
      Symbol.for("Jupyter.display")
    ];
  return display.call(chart);
}

Deno.test("lineChart() bundle has exactly three MIME types", () => {
  const chart = lineChart(timings(), { title: "Time", logX: true, logY: true });
  assert.ok(chart instanceof LineChart);
  const bundle = displayBundle(chart);
  assert.deepEqual(Object.keys(bundle).sort(), [
    "application/vnd.plotly.v1+json",
    "text/html",
    "text/plain",
  ]);
  assert.equal(bundle["application/vnd.plotly.v1+json"], chart.figure);
  assert.match(
    bundle["text/html"] as string,
    /^<img src="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+" alt="Time" width="\d+" height="\d+">$/,
  );
  assert.equal(bundle["text/plain"], String(chart));
  const everything = JSON.stringify(bundle) + chart.toSVG();
  assert.doesNotMatch(everything, /<script/i);
  assert.doesNotMatch(everything, /cdn|https?:\/\/(?!www\.w3\.org)/i);
});

Deno.test("lineChart() HTML embeds the SVG as UTF-8 base64", () => {
  const chart = lineChart([{ name: "café 日本", x: [1, 2], y: [3, 4] }]);
  const encoded = chart.toHTML().match(/base64,([^"]+)"/)?.[1] ?? "";
  const bytes = Uint8Array.from(
    atob(encoded),
    (character) => character.charCodeAt(0),
  );
  assert.equal(new TextDecoder().decode(bytes), chart.toSVG());
  assert.ok(chart.toSVG().includes(">café 日本</text>"));
});

Deno.test("lineChart() plotly figure has one scatter trace per series", () => {
  const figure = lineChart(timings(), {
    title: "Time against seq_len",
    xTitle: "seq_len",
    yTitle: "time (ms)",
    logX: true,
    logY: true,
  }).figure;
  assert.equal(figure.data.length, 2);
  for (const trace of figure.data) {
    assert.equal(trace.type, "scatter");
    assert.equal(trace.mode, "lines+markers");
    assert.deepEqual(trace.x, SEQ_LEN);
  }
  assert.deepEqual(figure.data.map((trace) => trace.name), [
    "attention",
    "linear",
  ]);
  assert.deepEqual(figure.data.map((trace) => trace.line.dash), [
    "solid",
    "dash",
  ]);
  assert.notEqual(figure.data[0].line.color, figure.data[1].line.color);
  assert.deepEqual(figure.layout.title, { text: "Time against seq_len" });
  assert.deepEqual(figure.layout.xaxis, {
    title: { text: "seq_len" },
    type: "log",
  });
  assert.deepEqual(figure.layout.yaxis, {
    title: { text: "time (ms)" },
    type: "log",
  });
  assert.equal(figure.layout.showlegend, true);
});

Deno.test("lineChart() plotly axes are linear by default", () => {
  const figure = lineChart(timings()).figure;
  assert.equal(figure.layout.xaxis.type, "linear");
  assert.equal(figure.layout.yaxis.type, "linear");
  assert.equal(figure.layout.title, undefined);
  assert.equal(figure.layout.yaxis.range, undefined);
});

Deno.test("lineChart() without markers draws lines only", () => {
  const chart = lineChart(timings(), { markers: false });
  assert.deepEqual(chart.figure.data.map((trace) => trace.mode), [
    "lines",
    "lines",
  ]);
  assert.equal(chart.toSVG().match(/class="marker"/g), null);
  assert.equal(chart.toSVG().match(/<polyline class="line"/g)?.length, 2);
});

Deno.test("lineChart() polylines have one point per value", () => {
  const chart = lineChart([
    { name: "a", x: [1, 2, 3], y: [1, 4, 9] },
    { name: "b", x: new Float64Array([1, 2, 3, 4, 5]), y: [5, 4, 3, 2, 1] },
    { name: "single", x: [2.5], y: [2.5] },
  ]);
  const svg = chart.toSVG();
  assert.deepEqual(polylinePoints(svg).map((points) => points.length), [
    3,
    5,
    1,
  ]);
  const markerGroups = svg.split(`<g class="markers"`).slice(1);
  assert.deepEqual(
    markerGroups.map((group) =>
      group.slice(0, group.indexOf("</g>")).match(/class="marker"/g)?.length
    ),
    [3, 5, 1],
  );
  assert.deepEqual(chart.figure.data[1].x, [1, 2, 3, 4, 5]);
});

Deno.test("lineChart() joins points in the given order", () => {
  const svg = lineChart([{ name: "a", x: [3, 1, 2], y: [0, 1, 2] }]).toSVG();
  const [points] = polylinePoints(svg);
  assert.ok(points[0][0] > points[2][0], "x = 3 is right of x = 2");
  assert.ok(points[1][0] < points[2][0], "x = 1 is left of x = 2");
  assert.ok(points[0][1] > points[1][1], "y = 0 is below y = 1");
});

Deno.test("lineChart() puts points on their ticks", () => {
  const svg = lineChart([{ name: "a", x: [10, 100, 1000], y: [1, 10, 100] }], {
    logX: true,
    logY: true,
  }).toSVG();
  const [points] = polylinePoints(svg);
  const xTicks = texts(svg, "x-tick");
  const tickX = attributes(svg, "text", "x-tick", "x").map(Number);
  const yTicks = texts(svg, "y-tick");
  const tickY = attributes(svg, "text", "y-tick", "y").map(Number);
  assert.equal(points[1][0], tickX[xTicks.indexOf("100")]);
  assert.equal(points[2][0], tickX[xTicks.indexOf("1000")]);
  assert.equal(points[0][1], tickY[yTicks.indexOf("1")]);
  assert.equal(points[2][1], tickY[yTicks.indexOf("100")]);
  // Equal ratios are equal distances on a log axis.
  assert.ok(
    Math.abs((points[1][0] - points[0][0]) - (points[2][0] - points[1][0])) <
      0.02,
  );
});

Deno.test("lineChart() log-axis tick labels are decades", () => {
  const svg = lineChart(timings(), { logX: true, logY: true }).toSVG();
  assert.deepEqual(texts(svg, "x-tick"), ["10", "100", "1000", "10000"]);
  assert.deepEqual(texts(svg, "y-tick"), [
    "0.01",
    "0.1",
    "1",
    "10",
    "100",
    "1000",
  ]);
});

Deno.test("lineChart() log axis adds 2 and 5 within one decade", () => {
  const svg = lineChart([{ name: "a", x: [1, 8], y: [0.2, 0.9] }], {
    logX: true,
    logY: true,
  }).toSVG();
  assert.deepEqual(texts(svg, "x-tick"), ["1", "2", "5", "10"]);
  assert.deepEqual(texts(svg, "y-tick"), ["0.1", "0.2", "0.5", "1"]);
});

Deno.test("lineChart() log axis thins many decades", () => {
  const svg = lineChart([{ name: "a", x: [1e-6, 1e6], y: [1, 2] }], {
    logX: true,
    width: 500,
  }).toSVG();
  const labels = texts(svg, "x-tick");
  assert.ok(labels.length <= 7, `${labels.length} ticks: ${labels}`);
  assert.ok(labels.includes("1"));
  assert.ok(labels.includes("1e-6"));
  assert.ok(labels.includes("1e6"));
});

Deno.test("lineChart() linear ticks step by 1, 2 or 5", () => {
  const svg = lineChart([{
    name: "memory",
    x: [128, 256, 512, 1024, 2048],
    y: [0.13, 0.5, 2, 8, 32],
  }]).toSVG();
  assert.deepEqual(texts(svg, "x-tick"), [
    "0",
    "500",
    "1000",
    "1500",
    "2000",
    "2500",
  ]);
  assert.deepEqual(texts(svg, "y-tick"), [
    "0",
    "5",
    "10",
    "15",
    "20",
    "25",
    "30",
    "35",
  ]);
});

Deno.test("lineChart() linear tick labels keep step digits", () => {
  const small = lineChart([{ name: "a", x: [0, 1], y: [0.1, 0.3] }], {
    height: 300,
  }).toSVG();
  assert.deepEqual(texts(small, "y-tick"), [
    "0.10",
    "0.15",
    "0.20",
    "0.25",
    "0.30",
  ]);
  const large = lineChart([{ name: "a", x: [0, 4e5], y: [0, 1] }], {
    width: 500,
  }).toSVG();
  assert.deepEqual(texts(large, "x-tick"), ["0", "1e5", "2e5", "3e5", "4e5"]);
  const fraction = lineChart([{ name: "a", x: [1e5, 3e5], y: [0, 1] }], {
    width: 500,
  }).toSVG();
  assert.deepEqual(texts(fraction, "x-tick"), [
    "1e5",
    "1.5e5",
    "2e5",
    "2.5e5",
    "3e5",
  ]);
});

Deno.test("lineChart() gives a constant series a range", () => {
  const svg = lineChart([{ name: "flat", x: [1, 2, 3], y: [1, 1, 1] }])
    .toSVG();
  const labels = texts(svg, "y-tick").map(Number);
  assert.ok(labels[0] < 1, `lowest tick ${labels[0]}`);
  assert.ok(labels[labels.length - 1] > 1, `highest tick ${labels.at(-1)}`);
  const [points] = polylinePoints(svg);
  assert.ok(points.every(([, y]) => Number.isFinite(y)));
});

Deno.test("lineChart() applies yMin and yMax", () => {
  const chart = lineChart(timings(), { yMin: 0, yMax: 20 });
  assert.deepEqual(chart.figure.layout.yaxis.range, [0, 20]);
  const labels = texts(chart.toSVG(), "y-tick");
  assert.equal(labels[0], "0");
  assert.equal(labels[labels.length - 1], "20");

  const onlyMin = lineChart(timings(), { yMin: 0 });
  assert.deepEqual(onlyMin.figure.layout.yaxis.range, [0, 200]);

  const log = lineChart(timings(), { logY: true, yMin: 0.01, yMax: 1000 });
  assert.deepEqual(log.figure.layout.yaxis.range, [-2, 3]);
});

Deno.test("lineChart() clips lines to the plot area", () => {
  const svg = lineChart(timings(), { yMax: 20 }).toSVG();
  assert.match(svg, /<svg class="plot-area"[^>]* overflow="hidden">/);
  const plotArea = svg.slice(
    svg.indexOf(`<svg class="plot-area"`),
    svg.indexOf(`<g class="legend"`),
  );
  assert.equal(plotArea.match(/<polyline class="line"/g)?.length, 2);
});

Deno.test("lineChart() dashes only dashed series", () => {
  const svg = lineChart(timings()).toSVG();
  assert.deepEqual(
    attributes(svg, "polyline", "line", "stroke-dasharray"),
    ["", "6 4"],
  );
  assert.deepEqual(
    attributes(svg, "line", "legend-line", "stroke-dasharray"),
    ["", "6 4"],
  );
});

Deno.test("lineChart() gives series distinct colours and a legend", () => {
  const series = Array.from({ length: 7 }, (_, i) => ({
    name: `series ${i}`,
    x: [0, 1],
    y: [i, i + 1],
  }));
  const svg = lineChart(series).toSVG();
  const colors = attributes(svg, "polyline", "line", "stroke");
  assert.equal(new Set(colors).size, 7);
  assert.deepEqual(
    attributes(svg, "line", "legend-line", "stroke"),
    colors,
  );
  assert.deepEqual(texts(svg, "legend-label"), series.map((s) => s.name));
});

Deno.test("lineChart() escapes a series name in SVG", () => {
  const chart = lineChart([{ name: XSS, x: [1, 2], y: [1, 2] }], {
    title: `A & "B"`,
    yTitle: "it's",
  });
  const svg = chart.toSVG();
  assert.ok(!svg.includes("<img"));
  assert.ok(
    svg.includes(">&lt;img src=x onerror=alert(1)&gt;</text>"),
    "legend label",
  );
  assert.ok(svg.includes("<title>&lt;img src=x onerror=alert(1)&gt;</title>"));
  assert.ok(svg.includes("A &amp; &quot;B&quot;"));
  assert.ok(svg.includes("it&#39;s"));

  const html = chart.toHTML();
  assert.equal(html.match(/<img /g)?.length, 1);
  assert.ok(html.includes(`alt="A &amp; &quot;B&quot;"`));
});

Deno.test("lineChart() escapes a series name in plotly JSON", () => {
  const figure = lineChart([{ name: XSS, x: [1, 2], y: [1, 2] }], {
    title: "A & <b>B</b>",
    xTitle: "<q>",
  }).figure;
  assert.equal(figure.data[0].name, "&lt;img src=x onerror=alert(1)&gt;");
  assert.deepEqual(figure.layout.title, {
    text: "A &amp; &lt;b&gt;B&lt;/b&gt;",
  });
  assert.deepEqual(figure.layout.xaxis.title, { text: "&lt;q&gt;" });
  const json = JSON.stringify(figure);
  assert.ok(!json.includes("<img"));
  assert.ok(!json.includes("<b>"));
});

Deno.test("lineChart() shortens long legend names", () => {
  const name = "a".repeat(40);
  const svg = lineChart([{ name, x: [1, 2], y: [1, 2] }]).toSVG();
  assert.ok(svg.includes(`<title>${name}</title>${"a".repeat(31)}…</text>`));
});

Deno.test("lineChart() output is deterministic", () => {
  const first = lineChart(timings(), { title: "T", logX: true });
  const second = lineChart(timings(), { title: "T", logX: true });
  assert.equal(first.toSVG(), second.toSVG());
  assert.equal(first.toSVG(), first.toSVG());
  assert.equal(first.toHTML(), second.toHTML());
  assert.equal(JSON.stringify(first.figure), JSON.stringify(second.figure));
  assert.equal(String(first), String(second));
});

Deno.test("lineChart() uses width and height", () => {
  const chart = lineChart(timings(), { width: 500, height: 300 });
  assert.match(chart.toSVG(), /^<svg [^>]*width="500" height="300"/);
  assert.equal(chart.figure.layout.width, 500);
  assert.equal(chart.figure.layout.height, 300);
});

Deno.test("lineChart() grows the default size for the legend", () => {
  const series = Array.from({ length: 30 }, (_, i) => ({
    name: `series ${i} with a long legend name`,
    x: [0, 1],
    y: [0, i],
  }));
  const figure = lineChart(series).figure;
  assert.ok(figure.layout.height > 400, `height ${figure.layout.height}`);
  assert.ok(figure.layout.width > 640, `width ${figure.layout.width}`);
});

Deno.test("lineChart() text summary describes each series", () => {
  const chart = lineChart(timings(), {
    title: "Time",
    xTitle: "seq_len",
    logX: true,
  });
  assert.equal(
    String(chart),
    [
      `LineChart "Time": 2 series; x: seq_len (log); y: y`,
      "- attention: 7 points, x from 64.0 to 4096.0, y from 0.04096 to 167.77216",
      "- linear (dashed): 7 points, x from 64.0 to 4096.0, y from 0.064 to 4.096",
    ].join("\n"),
  );
  assert.equal(Deno.inspect(chart), String(chart));
});

Deno.test("lineChart() rejects invalid series with clear errors", () => {
  const empty = thrown(() => lineChart([]));
  assert.ok(empty instanceof ShapeError);
  assert.match(empty.message, /^lineChart: `series` is empty/);

  const notArray = thrown(() =>
    lineChart({ name: "a", x: [1], y: [1] } as unknown as LineSeries[])
  );
  assert.ok(notArray instanceof TypeError);
  assert.match(notArray.message, /`series` must be an array.*Wrap a single/);

  const notObject = thrown(() => lineChart([null as unknown as LineSeries]));
  assert.ok(notObject instanceof TypeError);
  assert.match(notObject.message, /series 0 is null, expected an object/);

  const unnamed = thrown(() =>
    lineChart([{ name: 42, x: [1], y: [1] } as unknown as LineSeries])
  );
  assert.ok(unnamed instanceof TypeError);
  assert.match(unnamed.message, /`name` of series 0 is 42, expected a string/);

  const mismatch = thrown(() =>
    lineChart([
      { name: "a", x: [1], y: [1] },
      { name: "b", x: [1, 2, 3], y: [1, 2] },
    ])
  );
  assert.ok(mismatch instanceof ShapeError);
  assert.match(
    mismatch.message,
    /series 1 \("b"\) has 3 x values but 2 y values\. Pass exactly one y value per x value/,
  );
  assert.deepEqual(mismatch.actual, [2]);
  assert.deepEqual(mismatch.expected, [3]);

  const noPoints = thrown(() => lineChart([{ name: "a", x: [], y: [] }]));
  assert.ok(noPoints instanceof ShapeError);
  assert.match(noPoints.message, /series 0 \("a"\) has no points/);

  const missing = thrown(() =>
    lineChart([{ name: "a", x: [1] } as unknown as LineSeries])
  );
  assert.ok(missing instanceof TypeError);
  assert.match(
    missing.message,
    /`y` of series 0 \("a"\) is undefined, expected an array of numbers/,
  );

  const text = thrown(() =>
    lineChart([{ name: "a", x: [1, 2], y: [1, "2" as unknown as number] }])
  );
  assert.ok(text instanceof TypeError);
  assert.match(
    text.message,
    /y\[1\] of series 0 \("a"\) is the string "2", expected a number/,
  );

  const nan = thrown(() => lineChart([{ name: "a", x: [1, NaN], y: [1, 2] }]));
  assert.ok(nan instanceof RangeError);
  assert.match(
    nan.message,
    /x\[1\] of series 0 \("a"\) is NaN, expected a finite number\. Remove the point/,
  );

  const dash = thrown(() =>
    lineChart([
      { name: "a", x: [1], y: [1], dash: "yes" } as unknown as LineSeries,
    ])
  );
  assert.ok(dash instanceof TypeError);
  assert.match(dash.message, /`dash` of series 0 \("a"\) is the string "yes"/);
});

Deno.test("lineChart() rejects non-positive values on log axes", () => {
  const zero = thrown(() =>
    lineChart([{ name: "a", x: [1, 2], y: [1, 2] }, {
      name: "b",
      x: [1, 2],
      y: [0, 1],
    }], { logY: true })
  );
  assert.ok(zero instanceof RangeError);
  assert.match(
    zero.message,
    /y\[0\] of series 1 \("b"\) is 0, but option `logY` needs values > 0\. Remove non-positive points or set `logY` to false/,
  );

  const negative = thrown(() =>
    lineChart([{ name: "a", x: [-1, 2], y: [1, 2] }], { logX: true })
  );
  assert.ok(negative instanceof RangeError);
  assert.match(negative.message, /x\[0\] of series 0 \("a"\) is -1.*`logX`/);

  // The same data is valid on linear axes.
  assert.ok(lineChart([{ name: "a", x: [-1, 2], y: [0, 2] }]));

  const bound = thrown(() => lineChart(timings(), { logY: true, yMin: 0 }));
  assert.ok(bound instanceof RangeError);
  assert.match(bound.message, /option `yMin` is 0, but option `logY` needs/);
});

Deno.test("lineChart() rejects invalid options", () => {
  const range = thrown(() => lineChart(timings(), { yMin: 5, yMax: 1 }));
  assert.ok(range instanceof RangeError);
  assert.match(range.message, /`yMin` \(5\) must be less than `yMax` \(1\)/);

  const infinite = thrown(() => lineChart(timings(), { yMax: Infinity }));
  assert.ok(infinite instanceof RangeError);
  assert.match(infinite.message, /option `yMax` must be a finite number/);

  const width = thrown(() => lineChart(timings(), { width: -1 }));
  assert.ok(width instanceof RangeError);
  assert.match(width.message, /option `width` must be a positive number/);

  const narrow = thrown(() => lineChart(timings(), { width: 150 }));
  assert.ok(narrow instanceof RangeError);
  assert.match(narrow.message, /option `width` \(150\) leaves a plot area/);

  const short = thrown(() => lineChart(timings(), { height: 60 }));
  assert.ok(short instanceof RangeError);
  assert.match(short.message, /option `height` \(60\) leaves/);

  const markers = thrown(() =>
    lineChart(timings(), { markers: "no" as unknown as boolean })
  );
  assert.ok(markers instanceof TypeError);
  assert.match(markers.message, /option `markers` must be true or false/);

  const title = thrown(() =>
    lineChart(timings(), { title: 1 as unknown as string })
  );
  assert.ok(title instanceof TypeError);
  assert.match(title.message, /option `title` must be a string/);
});
