/**
 * Markdown to HTML with `marked`, and TeX math rendered at build time by
 * KaTeX, so formulas show without JavaScript and without a network.
 *
 * Math follows Jupyter's delimiters: `$$...$$` for display math and `$...$`
 * for inline math. An inline `$` opens math only when a non-space character
 * follows it, and closes it only after a non-space character and before a
 * non-digit, so prices such as "$5 and $6" stay text. Inline math never
 * contains a backtick, so a `$` inside a code span cannot close it.
 *
 * @module
 */

import katex from "katex";
import { Marked, type Token, type Tokens } from "marked";

/** Options of {@linkcode renderMarkdown} and {@linkcode renderInlineMarkdown}. */
export interface MarkdownOptions {
  /** Files embedded in the cell, referenced as `attachment:NAME` in image links. */
  attachments?: Record<string, Record<string, string>>;
  /** Maps a relative link target such as `01-x.ipynb` to the page that replaces it. */
  rewriteLink?: (href: string) => string;
}

const DISPLAY_MATH = /^\$\$([\s\S]+?)\$\$/;
const BLOCK_DISPLAY_MATH = /^ {0,3}\$\$([\s\S]+?)\$\$[^\S\n]*(?:\n+|$)/;
const INLINE_MATH = /^\$(?=\S)((?:\\[\s\S]|[^\\$`])+?)(?<=\S)\$(?!\d)/;
// Finds math spans in text already masked by marked, so `*` and `_` inside
// formulas never pair up with emphasis delimiters outside them.
const MATH_SPANS =
  /\$\$[\s\S]+?\$\$|\$(?=\S)(?:\\[\s\S]|[^\\$`])+?(?<=\S)\$(?!\d)/g;

/**
 * Renders TeX with KaTeX to HTML plus MathML.
 *
 * Invalid TeX does not throw: KaTeX shows the source in red with the parse
 * error as its tooltip, so a typo stays readable.
 */
export function renderMath(tex: string, displayMode: boolean): string {
  return katex.renderToString(tex.trim(), {
    displayMode,
    throwOnError: false,
    output: "htmlAndMathml",
  });
}

function mathToken(
  type: "math" | "blockMath",
  match: RegExpExecArray,
  displayMode: boolean,
): Tokens.Generic {
  return { type, raw: match[0], text: match[1], displayMode };
}

function createMarked(options: MarkdownOptions): Marked {
  const marked = new Marked({ gfm: true });
  marked.use({
    extensions: [
      {
        name: "blockMath",
        level: "block",
        start: (source) => source.match(/^ {0,3}\$\$/m)?.index,
        tokenizer(source) {
          const match = BLOCK_DISPLAY_MATH.exec(source);
          return match ? mathToken("blockMath", match, true) : undefined;
        },
        renderer: (token) =>
          `<div class="math-display">${renderMath(token.text, true)}</div>\n`,
      },
      {
        name: "math",
        level: "inline",
        start: (source) => {
          const index = source.indexOf("$");
          return index === -1 ? undefined : index;
        },
        tokenizer(source) {
          const display = DISPLAY_MATH.exec(source);
          if (display) return mathToken("math", display, true);
          const inline = INLINE_MATH.exec(source);
          return inline ? mathToken("math", inline, false) : undefined;
        },
        renderer: (token) => renderMath(token.text, token.displayMode),
      },
    ],
    hooks: {
      emStrongMask: (source) =>
        source.replace(MATH_SPANS, (span) => span.replace(/[*_~]/g, "+")),
    },
    walkTokens(token: Token) {
      if (token.type === "link" && options.rewriteLink) {
        token.href = options.rewriteLink(token.href);
      }
      if (token.type === "image" && token.href.startsWith("attachment:")) {
        token.href = attachmentUrl(token.href, options.attachments);
      }
    },
  });
  return marked;
}

/** Turns `attachment:NAME` into a `data:` URL of the cell's attachment, if it has one. */
function attachmentUrl(
  href: string,
  attachments: MarkdownOptions["attachments"],
): string {
  const name = decodeURIComponent(href.slice("attachment:".length));
  const bundle = attachments?.[name];
  if (bundle === undefined) return href;
  for (const [mime, data] of Object.entries(bundle)) {
    if (mime.startsWith("image/") && typeof data === "string") {
      return `data:${mime};base64,${data.replace(/\s+/g, "")}`;
    }
  }
  return href;
}

/**
 * Renders a Markdown cell to HTML, math included.
 *
 * Raw HTML in the Markdown passes through, as in Jupyter, because cells are
 * written by the course authors.
 */
export function renderMarkdown(
  source: string,
  options: MarkdownOptions = {},
): string {
  return createMarked(options).parse(source, { async: false });
}

/** Renders one line of Markdown, such as a heading's text, to inline HTML. */
export function renderInlineMarkdown(
  source: string,
  options: MarkdownOptions = {},
): string {
  return createMarked(options).parseInline(source, { async: false });
}

/** Heading and first paragraph of a Markdown document, as Markdown source. */
export interface MarkdownSummary {
  /** Inline Markdown of the first heading, or null when there is none. */
  heading: string | null;
  /** Inline Markdown of the first paragraph, or null when there is none. */
  paragraph: string | null;
}

/** Finds the first heading and the first paragraph of a Markdown document. */
export function summarizeMarkdown(source: string): MarkdownSummary {
  const tokens = new Marked({ gfm: true }).lexer(source);
  let heading: string | null = null;
  let paragraph: string | null = null;
  for (const token of tokens) {
    if (heading === null && token.type === "heading") heading = token.text;
    if (paragraph === null && token.type === "paragraph") {
      paragraph = token.text.replace(/\s*\n\s*/g, " ");
    }
  }
  return { heading, paragraph };
}

/**
 * Turns inline Markdown into plain text for a `<title>`: drops emphasis and
 * code markers and keeps math source without its dollar signs.
 */
export function markdownToPlainText(source: string): string {
  const html = renderInlineMarkdown(
    source.replace(/\$\$?([^$]+)\$\$?/g, (_, tex: string) => `\`${tex}\``),
  );
  return decodeEntities(html.replace(/<[^>]*>/g, "")).replace(/\s+/g, " ")
    .trim();
}

function decodeEntities(text: string): string {
  return text.replace(
    /&(amp|lt|gt|quot|#39);/g,
    (_, name: string) =>
      ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" })[name] ?? "",
  );
}
