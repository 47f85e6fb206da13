/**
 * Markup helpers shared by the figures: SVG elements, coordinates, text width
 * estimates, base64 `data:` payloads and Plotly label escaping.
 *
 * `heatmap` and `lineChart` both draw their SVG with these helpers, so the two
 * figures round and escape in the same way. The module is internal and not
 * re-exported from `mod.ts`.
 *
 * @module
 */
import { escapeHtml } from "./display.ts";

/** Attributes of an SVG element by name. Numbers are written through {@linkcode px}. */
export type SvgAttributes = Record<string, string | number>;

/**
 * Escapes the characters that Plotly's label markup interprets: `& < >`.
 *
 * Plotly reads titles, legend names and tick text as a small subset of HTML,
 * so a label such as `"<b>"` would otherwise turn bold instead of showing.
 * Quotes need no escape, because without `<` no tag can start.
 *
 * @param text Plain text of a title, legend entry or tick label.
 * @returns The text with `&`, `<` and `>` replaced by entities.
 *
 * @example Usage
 * ```ts
 * import { escapePlotlyText } from "./svg.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(escapePlotlyText("a < b & c"), "a &lt; b &amp; c");
 * assert.equal(escapePlotlyText('"d_k"'), '"d_k"');
 * ```
 */
export function escapePlotlyText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(
    />/g,
    "&gt;",
  );
}

/**
 * Encodes text as UTF-8 and then as base64, as a `data:` URL needs.
 *
 * `btoa` alone rejects characters above U+00FF, so the text goes through
 * `TextEncoder` first.
 *
 * @param text Any string, for example an SVG document.
 * @returns Standard base64 (RFC 4648) of the UTF-8 bytes, with `=` padding.
 *
 * @example Usage
 * ```ts
 * import { encodeBase64 } from "./svg.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(encodeBase64("<svg/>"), "PHN2Zy8+");
 * assert.equal(encodeBase64("√"), "4oia");
 * ```
 */
export function encodeBase64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  // Chunks keep the argument list of String.fromCharCode within engine limits.
  for (let start = 0; start < bytes.length; start += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(start, start + 0x8000));
  }
  return btoa(binary);
}

/**
 * Estimates the rendered width of `text` in a sans-serif font, without measuring it.
 *
 * Formula: width = fontSize × Σ w(c) over the code points c of `text`, where
 * w(c) = 1 em for c ≥ U+2E80 (from the CJK radicals on, which includes kana,
 * Hangul and emoji) and 0.6 em otherwise. The estimate sizes margins and legends; real widths depend on the
 * font that the viewer picks.
 *
 * @param text The text to be drawn.
 * @param fontSize Font size in CSS pixels.
 * @returns The estimated width in CSS pixels.
 *
 * @example Usage
 * ```ts
 * import { estimateTextWidth } from "./svg.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(estimateTextWidth("key", 10), 18);
 * assert.equal(estimateTextWidth("注意", 12), 24);
 * ```
 */
export function estimateTextWidth(text: string, fontSize: number): number {
  let ems = 0;
  for (const character of text) {
    ems += (character.codePointAt(0) ?? 0) >= 0x2e80 ? 1 : 0.6;
  }
  return ems * fontSize;
}

/**
 * Formats a coordinate rounded to two decimals, which keeps SVG compact.
 *
 * Formula: String(Math.round(value × 100) / 100), so exact halves round towards +∞
 * and whole numbers print without a decimal point.
 *
 * @param value A coordinate or length in CSS pixels.
 * @returns The rounded value as text.
 *
 * @example Usage
 * ```ts
 * import { px } from "./svg.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(px(12.3456), "12.35");
 * assert.equal(px(40), "40");
 * ```
 */
export function px(value: number): string {
  return String(Math.round(value * 100) / 100);
}

/** Writes the attributes of an SVG tag, escaping every value. */
function writeAttributes(attributes: SvgAttributes): string {
  return Object.entries(attributes).map(([name, value]) => {
    const text = typeof value === "number" ? px(value) : value;
    return ` ${name}="${escapeHtml(text)}"`;
  }).join("");
}

/**
 * Writes an opening SVG tag, for an element whose content and closing tag follow later.
 *
 * @param tag Element name, written as given.
 * @param attributes Attributes in insertion order; values are HTML-escaped and
 *   numbers are formatted with {@linkcode px}. Names are written as given.
 * @returns The tag, such as `<g class="x-ticks">`.
 *
 * @example Usage
 * ```ts
 * import { openTag } from "./svg.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(openTag("g", { "font-size": 12.5 }), '<g font-size="12.5">');
 * ```
 */
export function openTag(tag: string, attributes: SvgAttributes): string {
  return `<${tag}${writeAttributes(attributes)}>`;
}

/**
 * Writes one complete SVG element.
 *
 * @param tag Element name, written as given.
 * @param attributes Attributes in insertion order; values are HTML-escaped and
 *   numbers are formatted with {@linkcode px}. Names are written as given.
 * @param content Markup between the tags. It is written unescaped, so escape
 *   text with `escapeHtml` first. Without it the element is self-closing.
 * @returns The element as SVG markup.
 *
 * @example Usage
 * ```ts
 * import { element } from "./svg.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   element("rect", { x: 0.125, fill: "#fff" }),
 *   '<rect x="0.13" fill="#fff"/>',
 * );
 * assert.equal(
 *   element("text", { title: 'say "hi"' }, "a &lt; b"),
 *   '<text title="say &quot;hi&quot;">a &lt; b</text>',
 * );
 * ```
 */
export function element(
  tag: string,
  attributes: SvgAttributes,
  content?: string,
): string {
  if (content === undefined) return `<${tag}${writeAttributes(attributes)}/>`;
  return `${openTag(tag, attributes)}${content}</${tag}>`;
}
