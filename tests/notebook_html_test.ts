/**
 * Executes the Challenge 0 solution notebook, exports it with
 * `jupyter nbconvert --to html` and checks the page in headless Chromium.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { withBrowser } from "../scripts/browser.ts";
import { REPO_ROOT, requirePython, runNotebook } from "../scripts/jupyter.ts";

const SOLUTION = join(REPO_ROOT, "notebooks", "01-challenge-0-solution.ipynb");

/** What the test reads from the page about each static heatmap image. */
interface HeatmapImage {
  width: number;
  visible: boolean;
  cells: number;
  texts: string[];
}

Deno.test("nbconvert HTML of the solution shows the heatmap and tables", async () => {
  const python = await requirePython();
  const folder = await Deno.makeTempDir({ prefix: "notebook-html-" });
  try {
    const executed = join(folder, "solution.ipynb");
    const run = await runNotebook(SOLUTION, executed, { python });
    assert.equal(run.code, 0, `the solution notebook failed:\n${run.stderr}`);

    const convert = await new Deno.Command(python, {
      args: [
        "-m",
        "nbconvert",
        "--to",
        "html",
        executed,
        "--output-dir",
        folder,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(convert.success, new TextDecoder().decode(convert.stderr));
    const page = join(folder, "solution.html");

    await withBrowser(async (browser) => {
      const tab = await browser.openPage(new URL(`file://${page}`));
      const images = await tab.evaluate<HeatmapImage[]>(`
        [...document.querySelectorAll('img[src^="data:image/svg+xml;base64,"]')].map((img) => {
          const svg = new DOMParser().parseFromString(
            new TextDecoder().decode(Uint8Array.from(atob(img.src.split(",")[1]), (c) => c.charCodeAt(0))),
            "image/svg+xml",
          );
          return {
            width: img.naturalWidth,
            visible: img.getBoundingClientRect().height > 0,
            cells: svg.querySelectorAll("text.cell-value").length,
            texts: [...svg.querySelectorAll("text")].map((t) => t.textContent),
          };
        }).filter((image) => image.cells > 0)`);
      const weights = images.find((image) =>
        image.texts.includes("Attention Weights for First Example in Batch")
      );
      assert.ok(
        weights,
        `no heatmap titled for the first example among ${images.length} images`,
      );
      assert.equal(weights.cells, 100);
      assert.ok(weights.texts.includes("Key Position"));
      assert.ok(weights.texts.includes("Query Position"));
      assert.ok(weights.width > 0, "the heatmap image did not load");
      assert.ok(weights.visible, "the heatmap image is not displayed");

      const tables = await tab.evaluate<number>(
        `[...document.querySelectorAll("table")].filter((t) => t.querySelector("td")).length`,
      );
      assert.ok(tables > 0, "no tensor table in the page");

      const scriptErrors = tab.errors.filter((error) =>
        error.startsWith("uncaught exception") ||
        error.startsWith("console.error")
      );
      assert.deepEqual(scriptErrors, []);
      await tab.close();
    });
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});
