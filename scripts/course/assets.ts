/**
 * Files the course pages load: plotly.js and KaTeX's style sheet and fonts,
 * copied from the pinned npm packages, plus the course's own CSS and script.
 * Pages refer to them by relative paths, so the output works offline, from
 * `file://` and from any static host.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
// These JSON imports put both packages into Deno's module graph, so that
// import.meta.resolve() returns file URLs inside Deno's npm cache (or
// node_modules) for their files. They also name the copied versions.
import plotlyPackage from "plotly.js-dist-min/package.json" with {
  type: "json",
};
import katexPackage from "katex/package.json" with { type: "json" };
import type { OutputDirectory } from "./output_dir.ts";

/** Path of plotly.js in the output directory. */
export const PLOTLY_ASSET = "assets/plotly.min.js";
/** Path of KaTeX's style sheet in the output directory; its fonts are in `fonts/` beside it. */
export const KATEX_CSS_ASSET = "assets/katex/katex.min.css";
/** Path of the course style sheet in the output directory. */
export const COURSE_CSS_ASSET = "assets/course.css";
/** Path of the script that draws the Plotly figures. */
export const COURSE_JS_ASSET = "assets/course.js";

/** Versions of the copied packages, shown in page footers. */
export const ASSET_VERSIONS = {
  plotly: plotlyPackage.version,
  katex: katexPackage.version,
} as const;

function packageDirectory(specifier: string): string {
  const url = import.meta.resolve(`${specifier}/package.json`);
  if (!url.startsWith("file:")) {
    throw new Error(
      `Deno resolved ${specifier} to ${url}, not to a file. Run \`deno install\` ` +
        "in the repository, then build again.",
    );
  }
  return fileURLToPath(new URL(".", url));
}

async function copyFile(
  output: OutputDirectory,
  source: string,
  target: string,
): Promise<void> {
  await output.write(target, await Deno.readFile(source));
}

/**
 * Copies plotly.js, KaTeX's CSS and fonts and the course CSS and script into
 * the output directory, with the packages' licence files.
 *
 * @returns The relative paths written.
 */
export async function writeAssets(output: OutputDirectory): Promise<string[]> {
  const written: string[] = [];
  const copy = async (source: string, target: string) => {
    await copyFile(output, source, target);
    written.push(target);
  };

  const plotly = packageDirectory("plotly.js-dist-min");
  await copy(join(plotly, plotlyPackage.main), PLOTLY_ASSET);
  await copy(join(plotly, "LICENSE"), "assets/plotly.LICENSE");

  const katex = packageDirectory("katex");
  await copy(join(katex, "dist", "katex.min.css"), KATEX_CSS_ASSET);
  await copy(join(katex, "LICENSE"), "assets/katex/LICENSE");
  const fonts = join(katex, "dist", "fonts");
  const fontNames: string[] = [];
  for await (const entry of Deno.readDir(fonts)) {
    if (entry.isFile) fontNames.push(entry.name);
  }
  for (const name of fontNames.sort()) {
    await copy(join(fonts, name), `assets/katex/fonts/${name}`);
  }

  const staticDirectory = fileURLToPath(new URL("./static/", import.meta.url));
  await copy(join(staticDirectory, "course.css"), COURSE_CSS_ASSET);
  await copy(join(staticDirectory, "course.js"), COURSE_JS_ASSET);
  return written;
}
