/**
 * HTML pages of the course: one page per executed notebook and the index.
 *
 * @module
 */

import {
  ASSET_VERSIONS,
  COURSE_CSS_ASSET,
  COURSE_JS_ASSET,
  KATEX_CSS_ASSET,
  PLOTLY_ASSET,
} from "./assets.ts";
import { escapeHtml } from "./html.ts";
import {
  type MarkdownOptions,
  markdownToPlainText,
  renderInlineMarkdown,
  renderMarkdown,
  summarizeMarkdown,
} from "./markdown.ts";
import {
  type CourseNotebook,
  joinText,
  type Notebook,
  type NotebookCell,
} from "./notebook.ts";
import { renderOutputs } from "./outputs.ts";

/** Title of the index page and suffix of every page title. */
export const COURSE_TITLE = "Attention in TypeScript";

/** Title, goal and kind of a notebook, for the index and the navigation links. */
export interface NotebookEntry {
  /** File name without `.ipynb`. */
  stem: string;
  /** Source file name. */
  fileName: string;
  /** First Markdown heading, as inline HTML; the file name when there is none. */
  titleHtml: string;
  /** The same title as plain text, for `<title>` and link labels. */
  titleText: string;
  /** `course.goal` or the first paragraph, as inline HTML; empty when there is none. */
  goalHtml: string;
  /** Whether the notebook is an exercise run with errors allowed. */
  exercise: boolean;
}

/** Returns the relative URL of a notebook's page. */
export function pageFileName(stem: string): string {
  return `${stem}.html`;
}

/** Returns the relative URL of a notebook's executed copy. */
export function executedFileName(stem: string): string {
  return `${stem}.ipynb`;
}

function relativeUrl(fileName: string): string {
  return encodeURIComponent(fileName);
}

/**
 * Returns a function that turns a relative link to a course notebook, such as
 * `01-x.ipynb#part-2`, into a link to its page. Other links stay as they are.
 */
export function linkRewriter(
  stems: ReadonlySet<string>,
): (href: string) => string {
  return (href) => {
    const match = /^(?:\.\/)?([^/?#]+)\.ipynb(#.*)?$/.exec(href);
    if (match === null) return href;
    let stem: string;
    try {
      stem = decodeURIComponent(match[1]);
    } catch {
      return href;
    }
    if (!stems.has(stem)) return href;
    return relativeUrl(pageFileName(stem)) + (match[2] ?? "");
  };
}

/** Builds the index entry of a notebook from its Markdown cells and course settings. */
export function describeNotebook(source: CourseNotebook): NotebookEntry {
  let heading: string | null = null;
  let paragraph: string | null = null;
  for (const cell of source.notebook.cells) {
    if (cell.cell_type !== "markdown") continue;
    const summary = summarizeMarkdown(joinText(cell.source));
    heading ??= summary.heading;
    paragraph ??= summary.paragraph;
    if (heading !== null && paragraph !== null) break;
  }
  const goal = source.settings.goal ?? paragraph;
  return {
    stem: source.stem,
    fileName: source.fileName,
    titleHtml: heading === null
      ? escapeHtml(source.stem)
      : renderInlineMarkdown(heading),
    titleText: heading === null ? source.stem : markdownToPlainText(heading),
    goalHtml: goal === null ? "" : renderInlineMarkdown(goal),
    exercise: source.settings.allowErrors,
  };
}

function renderCell(cell: NotebookCell, markdown: MarkdownOptions): {
  html: string;
  usesPlotly: boolean;
} {
  const source = joinText(cell.source);
  if (cell.cell_type === "markdown") {
    const html = renderMarkdown(source, {
      ...markdown,
      attachments: cell.attachments,
    });
    return {
      html: `<section class="cell markdown-cell">\n${html}</section>`,
      usesPlotly: false,
    };
  }
  if (cell.cell_type !== "code") {
    // Raw cells hold text for other converters, which Jupyter does not show either.
    return { html: "", usesPlotly: false };
  }
  const count = typeof cell.execution_count === "number"
    ? String(cell.execution_count)
    : " ";
  const outputs = renderOutputs(cell.outputs ?? []);
  const html = `<section class="cell code-cell">` +
    `<div class="input"><div class="prompt">In [${count}]:</div>` +
    `<pre class="source"><code class="language-typescript">${
      escapeHtml(source)
    }</code></pre></div>` +
    (outputs.html === "" ? "" : `<div class="outputs">${outputs.html}</div>`) +
    `</section>`;
  return { html, usesPlotly: outputs.usesPlotly };
}

function navigationLink(
  label: string,
  entry: NotebookEntry | undefined,
  available: ReadonlySet<string>,
  rel: string,
): string {
  // An empty element keeps the index link in the middle of the navigation grid.
  if (entry === undefined) return "<span></span>";
  const text = `${label}: ${entry.titleHtml}`;
  if (!available.has(entry.stem)) {
    return `<span class="disabled">${text} (not built)</span>`;
  }
  return `<a rel="${rel}" href="${
    relativeUrl(pageFileName(entry.stem))
  }">${text}</a>`;
}

function navigation(
  position: "top" | "bottom",
  previous: NotebookEntry | undefined,
  next: NotebookEntry | undefined,
  available: ReadonlySet<string>,
): string {
  return `<nav class="course-nav ${position}">` +
    navigationLink("Previous", previous, available, "prev") +
    `<a href="index.html">All notebooks</a>` +
    navigationLink("Next", next, available, "next") +
    `</nav>`;
}

function documentHead(title: string, extraStyles: string[]): string {
  const styles = [...extraStyles, COURSE_CSS_ASSET]
    .map((href) => `<link rel="stylesheet" href="${href}">`)
    .join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="scripts/course.ts">
<title>${escapeHtml(title)}</title>
${styles}
</head>`;
}

/** Everything a notebook page needs besides the executed notebook. */
export interface PageContext {
  entry: NotebookEntry;
  previous?: NotebookEntry;
  next?: NotebookEntry;
  /** Stems whose pages exist or are being built, for the navigation links. */
  available: ReadonlySet<string>;
  /** Rewrites links between notebooks into links between pages. */
  rewriteLink: (href: string) => string;
}

/**
 * Renders the page of one executed notebook.
 *
 * The page loads plotly.js and the drawing script only when an output contains
 * a Plotly figure.
 */
export function renderNotebookPage(
  executed: Notebook,
  context: PageContext,
): string {
  const { entry, previous, next, available } = context;
  let usesPlotly = false;
  const cells: string[] = [];
  for (const cell of executed.cells) {
    const rendered = renderCell(cell, { rewriteLink: context.rewriteLink });
    usesPlotly ||= rendered.usesPlotly;
    if (rendered.html !== "") cells.push(rendered.html);
  }
  const scripts = usesPlotly
    ? `<script src="${PLOTLY_ASSET}"></script>\n<script src="${COURSE_JS_ASSET}"></script>\n`
    : "";
  const executedLink = `<a href="${
    relativeUrl(executedFileName(entry.stem))
  }" download>${escapeHtml(entry.fileName)}</a>`;

  return `${
    documentHead(`${entry.titleText} | ${COURSE_TITLE}`, [KATEX_CSS_ASSET])
  }
<body>
${navigation("top", previous, next, available)}
<main>
<p class="notebook-file">Executed notebook: ${executedLink}</p>
${cells.join("\n")}
</main>
${navigation("bottom", previous, next, available)}
${scripts}</body>
</html>
`;
}

/**
 * Renders the index: every notebook in order with its title and goal.
 *
 * Notebooks without a built page are listed without a link.
 */
export function renderIndexPage(
  entries: readonly NotebookEntry[],
  available: ReadonlySet<string>,
): string {
  const items = entries.map((entry) => {
    const built = available.has(entry.stem);
    const title = built
      ? `<a class="title" href="${
        relativeUrl(pageFileName(entry.stem))
      }">${entry.titleHtml}</a>`
      : `<span class="title">${entry.titleHtml}</span> <span class="kind">(not built)</span>`;
    const kind = entry.exercise
      ? ` <span class="kind">exercise: its cells raise until you solve them</span>`
      : "";
    const goal = entry.goalHtml === ""
      ? ""
      : `\n<p class="goal">${entry.goalHtml}</p>`;
    const files = built
      ? `\n<p class="files"><a href="${
        relativeUrl(executedFileName(entry.stem))
      }" download>${escapeHtml(entry.fileName)}</a> (executed notebook)</p>`
      : "";
    return `<li data-notebook="${
      escapeHtml(entry.stem)
    }">${title}${kind}${goal}${files}</li>`;
  });

  return `${documentHead(COURSE_TITLE, [KATEX_CSS_ASSET])}
<body>
<main>
<h1>${escapeHtml(COURSE_TITLE)}</h1>
<p>Work through the notebooks in order. Each page shows a notebook after it ran,
with its outputs; open the notebook in Jupyter with <code>deno task lab</code> to run it yourself.</p>
<ol class="challenges">
${items.join("\n")}
</ol>
<p class="files">Charts use plotly.js ${
    escapeHtml(ASSET_VERSIONS.plotly)
  } and formulas KaTeX ${
    escapeHtml(ASSET_VERSIONS.katex)
  }, both copied into assets/.</p>
</main>
</body>
</html>
`;
}
