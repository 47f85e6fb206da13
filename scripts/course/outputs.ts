/**
 * HTML for the outputs of executed code cells.
 *
 * Rich outputs are shown by MIME priority. A Plotly figure
 * (`application/vnd.plotly.v1+json`) becomes an interactive chart that the
 * page's script draws with plotly.js. The bundle's static picture stays in
 * the page and is hidden only after Plotly has drawn, so it remains visible
 * without JavaScript. `text/html` outputs are inserted as they are, as
 * Jupyter does for trusted notebooks. Every text output (streams, errors,
 * `text/plain`) is escaped, with ANSI codes removed.
 *
 * @module
 */

import { escapeHtml, jsonForScript, stripAnsi } from "./html.ts";
import { joinText, type NotebookOutput } from "./notebook.ts";
import { renderMarkdown, renderMath } from "./markdown.ts";

/** MIME type of Plotly figures in Jupyter bundles. */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** Static MIME types in the order the page prefers them. */
const STATIC_MIME_PRIORITY = [
  "text/html",
  "image/svg+xml",
  "image/png",
  "image/jpeg",
  "image/gif",
  "text/markdown",
  "text/latex",
  "application/json",
  "text/plain",
] as const;

/** Result of rendering the outputs of one cell. */
export interface RenderedOutputs {
  html: string;
  /** Whether an output needs plotly.js on the page. */
  usesPlotly: boolean;
}

function textOf(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.join("");
  return JSON.stringify(value, null, 2);
}

function preformatted(className: string, text: string): string {
  return `<pre class="${className}">${escapeHtml(stripAnsi(text))}</pre>`;
}

function imageTag(mime: string, value: unknown): string {
  const text = textOf(value);
  // nbformat stores SVG as text and bitmaps as base64.
  const base64 = mime === "image/svg+xml"
    ? encodeBase64Utf8(text)
    : text.replace(/\s+/g, "");
  return `<img class="output-image" alt="" src="data:${mime};base64,${base64}">`;
}

function encodeBase64Utf8(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (let offset = 0; offset < bytes.length; offset += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(offset, offset + 0x8000));
  }
  return btoa(binary);
}

/** Renders one MIME bundle entry as static HTML. */
function renderStatic(mime: string, value: unknown): string {
  switch (mime) {
    case "text/html":
      return `<div class="output-html">${textOf(value)}</div>`;
    case "image/svg+xml":
    case "image/png":
    case "image/jpeg":
    case "image/gif":
      return imageTag(mime, value);
    case "text/markdown":
      return `<div class="output-markdown">${
        renderMarkdown(textOf(value))
      }</div>`;
    case "text/latex":
      return `<div class="output-latex">${
        renderMath(textOf(value).replace(/^\$\$?|\$\$?$/g, ""), true)
      }</div>`;
    case "application/json":
      return preformatted("output-text", JSON.stringify(value, null, 2));
    default:
      return preformatted("output-text", textOf(value));
  }
}

/** Renders the best static entry of a bundle, or a note naming the types it cannot show. */
function renderBundleStatically(data: Record<string, unknown>): string {
  for (const mime of STATIC_MIME_PRIORITY) {
    if (mime in data) return renderStatic(mime, data[mime]);
  }
  const types = Object.keys(data).join(", ") || "none";
  return `<p class="output-note">This output has no type the page can show (${
    escapeHtml(types)
  }).</p>`;
}

/** Returns the figure of a Plotly bundle entry, or null when it is not a JSON object. */
function readPlotlyFigure(stored: unknown): Record<string, unknown> | null {
  let figure = stored;
  // nbformat keeps JSON MIME data as an object, but some writers store text.
  if (typeof stored === "string") {
    try {
      figure = JSON.parse(stored);
    } catch {
      return null;
    }
  }
  const isObject = typeof figure === "object" && figure !== null &&
    !Array.isArray(figure);
  return isObject ? figure as Record<string, unknown> : null;
}

function renderPlotly(
  figure: Record<string, unknown>,
  data: Record<string, unknown>,
): string {
  const { [PLOTLY_MIME]: _figure, ...rest } = data;
  return `<div class="plotly-output">` +
    `<script type="application/json" class="plotly-figure">${
      jsonForScript(figure)
    }</script>` +
    `<div class="plotly-fallback">${renderBundleStatically(rest)}</div>` +
    `</div>`;
}

function renderError(output: NotebookOutput): string {
  const traceback = output.traceback ?? [];
  const text = traceback.length > 0
    ? traceback.join("\n")
    : `${output.ename ?? "Error"}: ${output.evalue ?? ""}`;
  return preformatted("output-error", text);
}

/** Renders one output and reports whether it is a Plotly figure. */
export function renderOutput(
  output: NotebookOutput,
): { html: string; usesPlotly: boolean } {
  switch (output.output_type) {
    case "stream": {
      const className = output.name === "stderr"
        ? "output-stream output-stderr"
        : "output-stream";
      return {
        html: preformatted(className, joinText(output.text)),
        usesPlotly: false,
      };
    }
    case "error":
      return { html: renderError(output), usesPlotly: false };
    case "display_data":
    case "execute_result": {
      const data = output.data ?? {};
      const figure = readPlotlyFigure(data[PLOTLY_MIME]);
      if (figure !== null) {
        return { html: renderPlotly(figure, data), usesPlotly: true };
      }
      return { html: renderBundleStatically(data), usesPlotly: false };
    }
    default:
      return {
        html: `<p class="output-note">Unknown output type ${
          escapeHtml(String(output.output_type))
        }.</p>`,
        usesPlotly: false,
      };
  }
}

/** Renders every output of a code cell, in order. */
export function renderOutputs(
  outputs: readonly NotebookOutput[],
): RenderedOutputs {
  let usesPlotly = false;
  const parts: string[] = [];
  for (const output of outputs) {
    const rendered = renderOutput(output);
    usesPlotly ||= rendered.usesPlotly;
    const prompt = output.output_type === "execute_result" &&
        typeof output.execution_count === "number"
      ? `Out [${output.execution_count}]:`
      : "";
    parts.push(
      `<div class="output"><div class="prompt">${prompt}</div>` +
        `<div class="output-body">${rendered.html}</div></div>`,
    );
  }
  return { html: parts.join("\n"), usesPlotly };
}
