import assert from "node:assert/strict";
import { ShapeError } from "../lib/errors.ts";
import { Tensor } from "../lib/tensor.ts";
import {
  annotationColor,
  BLUES,
  interpolateColor,
  relativeLuminance,
  resolveColorScale,
} from "../lib/colors.ts";
import { type Heatmap, heatmap } from "../lib/heatmap.ts";

const XSS = "<img src=x onerror=alert(1)>";

/** Returns a 10 x 10 matrix whose rows are softmax-like weights that sum to 1. */
function weights10(): number[][] {
  return Array.from({ length: 10 }, (_, i) => {
    const row = Array.from(
      { length: 10 },
      (_, j) => Math.exp(Math.sin(i * 3 + j * 7) * 2),
    );
    const sum = row.reduce((a, b) => a + b, 0);
    return row.map((value) => value / sum);
  });
}

/** Reads an attribute of every element `<tag class="name" ...>` in SVG text. */
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

/** Runs `action` and returns the error it throws. */
function thrown(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error, but none was thrown");
}

function displayBundle(figure: Heatmap): Record<string, unknown> {
  const display =
    (figure as unknown as Record<symbol, () => Record<string, unknown>>)[
      Symbol.for("Jupyter.display")
    ];
  return display.call(figure);
}

Deno.test("heatmap() bundle has exactly three MIME types", () => {
  const bundle = displayBundle(heatmap(weights10(), { title: "Weights" }));
  assert.deepEqual(Object.keys(bundle).sort(), [
    "application/vnd.plotly.v1+json",
    "text/html",
    "text/plain",
  ]);
  const html = bundle["text/html"] as string;
  assert.match(
    html,
    /^<img src="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+" alt="Weights"/,
  );
  const everything = JSON.stringify(bundle);
  assert.doesNotMatch(everything, /<script/i);
  assert.doesNotMatch(everything, /cdn|https?:\/\/(?!www\.w3\.org)/i);
});

Deno.test("heatmap() plotly figure is a reversed-y heatmap", () => {
  const figure =
    heatmap(weights10(), { title: "T", xTitle: "key", yTitle: "query" }).figure;
  const trace = figure.data[0];
  assert.equal(trace.type, "heatmap");
  assert.equal(trace.z.length, 10);
  assert.deepEqual(trace.y, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(trace.texttemplate, "%{text}");
  assert.equal(trace.text?.[0].length, 10);
  assert.equal(figure.layout.yaxis.autorange, "reversed");
  assert.equal(figure.layout.xaxis.autorange, undefined);
  assert.deepEqual(figure.layout.title, { text: "T" });
  assert.deepEqual(figure.layout.xaxis.title, { text: "key" });
  assert.deepEqual(figure.layout.yaxis.title, { text: "query" });
});

Deno.test("heatmap() SVG has one annotation per cell", () => {
  const svg = heatmap(weights10()).toSVG();
  assert.equal(svg.match(/<text class="cell-value"/g)?.length, 100);
  assert.equal(svg.match(/<rect class="cell"/g)?.length, 100);
});

Deno.test("heatmap() SVG has titles, ticks and a colour bar", () => {
  const svg = heatmap([[0, 1], [0.5, 0.25]], {
    title: "Weights",
    xTitle: "key",
    yTitle: "query",
    xLabels: ["a", "b"],
    yLabels: ["c", "d"],
  }).toSVG();
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" /);
  assert.match(svg, /<text class="title"[^>]*>Weights<\/text>/);
  assert.match(svg, /<text class="x-title"[^>]*>key<\/text>/);
  assert.match(svg, /<text class="y-title"[^>]*>query<\/text>/);
  const ticks = (name: string) =>
    [...svg.matchAll(new RegExp(`<text class="${name}"[^>]*>([^<]*)<`, "g"))]
      .map((match) => match[1]);
  assert.deepEqual(ticks("x-tick"), ["a", "b"]);
  assert.deepEqual(ticks("y-tick"), ["c", "d"]);
  assert.deepEqual(ticks("colorbar-tick"), [
    "0.00",
    "0.25",
    "0.50",
    "0.75",
    "1.00",
  ]);
  assert.doesNotMatch(svg, / id=/);
});

Deno.test("heatmap() draws row 0 at the top", () => {
  const svg = heatmap(weights10(), { yLabels: "abcdefghij".split("") }).toSVG();
  const cellY = attributes(svg, "rect", "cell", "y").map(Number);
  const textY = attributes(svg, "text", "cell-value", "y").map(Number);
  const tickY = attributes(svg, "text", "y-tick", "y").map(Number);
  // Cells are written row by row, so every tenth entry starts a new row.
  for (let i = 1; i < 10; i++) {
    assert.ok(
      cellY[i * 10] > cellY[(i - 1) * 10],
      `row ${i} is below row ${i - 1}`,
    );
    assert.ok(textY[i * 10] > textY[(i - 1) * 10]);
    assert.ok(tickY[i] > tickY[i - 1]);
  }
  assert.equal(Math.min(...cellY), cellY[0]);
  assert.match(svg, /<text class="y-tick"[^>]*>a<\/text>/);
});

Deno.test("heatmap() maps min and max to the Blues endpoints", () => {
  const h = heatmap([[0, 0.5], [1, 0.25]]);
  const fills = attributes(h.toSVG(), "rect", "cell", "fill");
  assert.deepEqual(fills, [
    "#f7fbff",
    interpolateColor(BLUES, 0.5),
    "#08306b",
    interpolateColor(BLUES, 0.25),
  ]);
  const scale = h.figure.data[0].colorscale;
  assert.deepEqual(scale[0], [0, "#f7fbff"]);
  assert.deepEqual(scale[scale.length - 1], [1, "#08306b"]);
  assert.equal(scale.length, 9);
  assert.equal(h.figure.data[0].zmin, 0);
  assert.equal(h.figure.data[0].zmax, 1);
});

Deno.test("heatmap() writes white text on dark cells", () => {
  const svg = heatmap([[0, 1]]).toSVG();
  assert.deepEqual(attributes(svg, "text", "cell-value", "fill"), [
    "#262626",
    "#ffffff",
  ]);
  assert.equal(annotationColor(BLUES[0]), "#262626");
  assert.equal(annotationColor(BLUES[8]), "#ffffff");
  assert.ok(relativeLuminance("#ffffff") > 0.99);
});

Deno.test("heatmap() respects zmin and zmax", () => {
  const h = heatmap([[0.5, 0.75]], { zmin: 0, zmax: 1 });
  assert.deepEqual(attributes(h.toSVG(), "rect", "cell", "fill"), [
    interpolateColor(BLUES, 0.5),
    interpolateColor(BLUES, 0.75),
  ]);
  assert.equal(h.figure.data[0].zmin, 0);
});

Deno.test("heatmap() formats annotations with the precision", () => {
  const h = heatmap([[0.12345, -0.0001]], { precision: 3 });
  assert.deepEqual(h.figure.data[0].text, [["0.123", "0.000"]]);
  const texts = [
    ...h.toSVG().matchAll(/<text class="cell-value"[^>]*>([^<]*)<\/text>/g),
  ];
  assert.deepEqual(texts.map((m) => m[1]), ["0.123", "0.000"]);
});

Deno.test("heatmap() without annotations has no cell text", () => {
  const h = heatmap(weights10(), { annotate: false });
  assert.equal(h.toSVG().match(/cell-value/g), null);
  assert.equal(h.figure.data[0].texttemplate, undefined);
  assert.equal(h.figure.data[0].text, undefined);
});

Deno.test("heatmap() leaves NaN cells blank", () => {
  const h = heatmap([[NaN, 1], [2, 3]]);
  assert.deepEqual(h.figure.data[0].z, [[null, 1], [2, 3]]);
  assert.equal(h.toSVG().match(/class="cell-value"/g)?.length, 3);
  assert.doesNotMatch(JSON.stringify(h.figure), /NaN/);
});

Deno.test("heatmap() escapes labels and titles in SVG", () => {
  const h = heatmap([[1, 2]], {
    title: `A & "B"`,
    xTitle: "it's",
    xLabels: [XSS, "ok"],
    yLabels: ["row"],
  });
  const svg = h.toSVG();
  assert.ok(!svg.includes("<img"));
  assert.ok(svg.includes("<title>&lt;img src=x onerror=alert(1)&gt;</title>"));
  assert.ok(svg.includes("&lt;img src=x onerror=aler…</text>"));
  assert.ok(svg.includes("A &amp; &quot;B&quot;"));
  assert.ok(svg.includes("it&#39;s"));

  const html = h.toHTML();
  assert.equal(html.match(/<img /g)?.length, 1);
  assert.ok(html.includes(`alt="A &amp; &quot;B&quot;"`));
});

Deno.test("heatmap() escapes labels in plotly JSON", () => {
  const figure = heatmap([[1, 2]], {
    title: "A & <b>B</b>",
    yTitle: "<q>",
    xLabels: [XSS, "ok"],
  }).figure;
  assert.deepEqual(figure.layout.xaxis.ticktext, [
    "&lt;img src=x onerror=alert(1)&gt;",
    "ok",
  ]);
  assert.deepEqual(figure.layout.title, {
    text: "A &amp; &lt;b&gt;B&lt;/b&gt;",
  });
  assert.deepEqual(figure.layout.yaxis.title, { text: "&lt;q&gt;" });
  assert.equal(
    figure.data[0].customdata[0][0][1],
    "&lt;img src=x onerror=alert(1)&gt;",
  );
  const json = JSON.stringify(figure);
  assert.ok(!json.includes("<img"));
  assert.ok(!json.includes("<b>"));
});

Deno.test("heatmap() keeps repeated labels as distinct columns", () => {
  const labels = ["the", "cat", "the"];
  const h = heatmap([[1, 2, 3], [4, 5, 6], [7, 8, 9]], {
    xLabels: labels,
    yLabels: labels,
  });
  const trace = h.figure.data[0];
  assert.deepEqual(trace.x, [0, 1, 2]);
  assert.deepEqual(trace.y, [0, 1, 2]);
  assert.deepEqual(h.figure.layout.xaxis.tickvals, [0, 1, 2]);
  assert.deepEqual(h.figure.layout.xaxis.ticktext, labels);
  assert.deepEqual(h.figure.layout.yaxis.ticktext, labels);
  const svg = h.toSVG();
  assert.equal(svg.match(/<text class="x-tick"[^>]*>the<\/text>/g)?.length, 2);
  assert.equal(svg.match(/<text class="y-tick"[^>]*>the<\/text>/g)?.length, 2);
});

Deno.test("heatmap() base64 encodes non-ASCII labels as UTF-8", () => {
  const h = heatmap([[1, 2]], { xLabels: ["café", "日本"] });
  const encoded = h.toHTML().match(/base64,([^"]+)"/)?.[1] ?? "";
  const bytes = Uint8Array.from(
    atob(encoded),
    (character) => character.charCodeAt(0),
  );
  const svg = new TextDecoder().decode(bytes);
  assert.equal(svg, h.toSVG());
  assert.ok(svg.includes(">café</text>"));
  assert.ok(svg.includes(">日本</text>"));
});

Deno.test("heatmap() text summary lists the values", () => {
  const h = heatmap(Tensor.from([[0.125, 0.875]]), {
    title: "w",
    xLabels: ["a", "b"],
  });
  const text = displayBundle(h)["text/plain"] as string;
  assert.equal(text, String(h));
  assert.ok(text.startsWith(`Heatmap "w": 1 row (y) x 2 columns (x)`));
  assert.ok(text.includes("columns: a | b"));
  assert.ok(text.endsWith("[[0.12 0.88]]"));
  assert.equal(Deno.inspect(h), text);
});

Deno.test("heatmap() uses width and height", () => {
  const svg = heatmap(weights10(), { width: 500, height: 400 }).toSVG();
  assert.match(svg, /^<svg [^>]*width="500" height="400"/);
  const rects = svg.match(/<rect class="cell"[^>]*>/g) ?? [];
  assert.equal(rects.length, 100);
});

Deno.test("heatmap() rejects invalid matrices with clear errors", () => {
  const rank3 = thrown(() => heatmap(Tensor.zeros([2, 2, 2])));
  assert.ok(rank3 instanceof ShapeError);
  assert.match(
    rank3.message,
    /heatmap: `matrix` must have rank 2 \(T, S\), received shape \(2, 2, 2\)/,
  );
  assert.deepEqual(rank3.actual, [2, 2, 2]);

  const empty = thrown(() => heatmap([]));
  assert.ok(empty instanceof ShapeError);
  assert.match(empty.message, /`matrix` is empty \(shape \(0, 0\)\)/);

  const ragged = thrown(() => heatmap([[1, 2], [3]]));
  assert.ok(ragged instanceof ShapeError);
  assert.match(ragged.message, /row 1 of `matrix` has length 1, expected 2/);

  const flat = thrown(() => heatmap([1, 2] as unknown as number[][]));
  assert.ok(flat instanceof TypeError);
  assert.match(
    flat.message,
    /row 0 of `matrix` is 1, expected an array of numbers/,
  );

  const text = thrown(() => heatmap([[1, "x" as unknown as number]]));
  assert.ok(text instanceof TypeError);
  assert.match(
    text.message,
    /entry \[0\]\[1\] of `matrix` is the string "x", expected a number/,
  );

  const infinite = thrown(() => heatmap([[1, -Infinity]]));
  assert.ok(infinite instanceof RangeError);
  assert.match(
    infinite.message,
    /entry \[0\]\[1\] of `matrix` is -Infinity, expected a finite number or NaN/,
  );
});

Deno.test("heatmap() rejects labels of the wrong length", () => {
  const error = thrown(() => heatmap([[1, 2]], { xLabels: ["a", "b", "c"] }));
  assert.ok(error instanceof ShapeError);
  assert.match(
    error.message,
    /option `xLabels` has 3 labels but the matrix has 2 columns/,
  );

  const rows = thrown(() => heatmap([[1, 2]], { yLabels: [] }));
  assert.ok(rows instanceof ShapeError);
  assert.match(
    rows.message,
    /option `yLabels` has 0 labels but the matrix has 1 rows/,
  );
});

Deno.test("heatmap() rejects invalid options", () => {
  const range = thrown(() => heatmap([[1, 2]], { zmin: 3, zmax: 1 }));
  assert.ok(range instanceof RangeError);
  assert.match(range.message, /`zmin` \(3\) must be less than `zmax` \(1\)/);

  const precision = thrown(() => heatmap([[1, 2]], { precision: -1 }));
  assert.ok(precision instanceof RangeError);
  assert.match(
    precision.message,
    /option `precision` must be an integer from 0 to 100/,
  );

  const scale = thrown(() =>
    heatmap([[1, 2]], { colorScale: "Viridis" as "Blues" })
  );
  assert.ok(scale instanceof RangeError);
  assert.match(scale.message, /colour scale "Viridis" is unknown/);

  const size = thrown(() => heatmap(weights10(), { width: 40 }));
  assert.ok(size instanceof RangeError);
  assert.match(size.message, /leave less than 1 px per cell/);
});

Deno.test("resolveColorScale() accepts custom colours", () => {
  assert.deepEqual(resolveColorScale(["#FFF", "#000000"], "heatmap"), [
    "#ffffff",
    "#000000",
  ]);
  const h = heatmap([[0, 1]], { colorScale: ["#ffffff", "#000000"] });
  assert.deepEqual(attributes(h.toSVG(), "rect", "cell", "fill"), [
    "#ffffff",
    "#000000",
  ]);
  assert.deepEqual(h.figure.data[0].colorscale, [[0, "#ffffff"], [
    1,
    "#000000",
  ]]);
});
