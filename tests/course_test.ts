/**
 * Tests for `deno task course` (scripts/course.ts) and `deno task lab`
 * (scripts/lab.ts).
 *
 * The build tests execute the real notebooks through the Deno Jupyter kernel,
 * so they need Python with nbclient and the "deno" kernel spec, and they open
 * the pages in Debian's Chromium through scripts/browser.ts. Tests that need a
 * changed repository (other notebooks, no Python) run on a copy of it in a
 * temporary directory, so the real notebooks/ and .venv are never touched.
 *
 * Run with `deno test -A tests/course_test.ts`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  type BrowserPage,
  type HeadlessBrowser,
  withBrowser,
} from "../scripts/browser.ts";
import { REPO_ROOT, requirePython } from "../scripts/jupyter.ts";
import { jsonForScript, stripAnsi } from "../scripts/course/html.ts";
import { renderMarkdown } from "../scripts/course/markdown.ts";
import { renderOutput } from "../scripts/course/outputs.ts";
import { readCourseNotebooks } from "../scripts/course/notebook.ts";
import {
  describeNotebook,
  linkRewriter,
  renderNotebookPage,
} from "../scripts/course/page.ts";

const COURSE_SCRIPT = join("scripts", "course.ts");
const LAB_SCRIPT = join("scripts", "lab.ts");
const NOTEBOOKS = join(REPO_ROOT, "notebooks");
const SOLUTION = "01-challenge-0-solution";
const LEARNER = "00-challenge-0-learner";

interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs a Deno script of a repository (the real one or a copy) and collects its output. */
async function runScript(
  root: string,
  script: string,
  args: string[],
  env?: Record<string, string>,
): Promise<CommandResult> {
  const started = performance.now();
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", script, ...args],
    cwd: root,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(env === undefined
      ? { env: { NO_COLOR: "1" } }
      : { env, clearEnv: true }),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: result.code,
    stdout: decoder.decode(result.stdout),
    stderr: decoder.decode(result.stderr),
    seconds: (performance.now() - started) / 1000,
  };
}

async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    await Deno.readFile(path),
  );
  return Array.from(
    new Uint8Array(digest),
    (byte) => byte.toString(16).padStart(2, "0"),
  ).join("");
}

async function hashNotebooks(directory: string): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  for await (const entry of Deno.readDir(directory)) {
    if (entry.isFile) {
      hashes.set(entry.name, await sha256(join(directory, entry.name)));
    }
  }
  return hashes;
}

async function notebookNames(directory: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(directory)) {
    if (entry.isFile && entry.name.endsWith(".ipynb")) names.push(entry.name);
  }
  return names.sort();
}

/** Returns the first Markdown heading of a notebook without `*`, `_` and backticks. */
async function firstHeading(path: string): Promise<string> {
  const notebook = JSON.parse(await Deno.readTextFile(path)) as {
    cells: { cell_type: string; source: string | string[] }[];
  };
  for (const cell of notebook.cells) {
    if (cell.cell_type !== "markdown") continue;
    const source = Array.isArray(cell.source)
      ? cell.source.join("")
      : cell.source;
    const match = /^#{1,6}\s+(.+?)\s*$/m.exec(source);
    if (match) return match[1].replace(/[*_`]/g, "");
  }
  return "";
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Copies a directory tree, skipping Python bytecode caches. */
async function copyTree(source: string, target: string): Promise<void> {
  await Deno.mkdir(target, { recursive: true });
  for await (const entry of Deno.readDir(source)) {
    if (entry.name === "__pycache__") continue;
    const from = join(source, entry.name);
    const to = join(target, entry.name);
    if (entry.isDirectory) await copyTree(from, to);
    else if (entry.isFile) await Deno.copyFile(from, to);
  }
}

/**
 * Copies what the build needs (lib, scripts, deno.json, deno.lock) into a
 * temporary directory, without .venv, and fills its notebooks/ folder.
 */
async function copyRepository(
  notebooks: Record<string, unknown> | "real",
): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "course_test-repo-" });
  await copyTree(join(REPO_ROOT, "lib"), join(root, "lib"));
  await copyTree(join(REPO_ROOT, "scripts"), join(root, "scripts"));
  for (const file of ["deno.json", "deno.lock"]) {
    await Deno.copyFile(join(REPO_ROOT, file), join(root, file));
  }
  if (notebooks === "real") {
    await copyTree(NOTEBOOKS, join(root, "notebooks"));
  } else {
    await Deno.mkdir(join(root, "notebooks"));
    for (const [name, notebook] of Object.entries(notebooks)) {
      await Deno.writeTextFile(
        join(root, "notebooks", name),
        JSON.stringify(notebook, null, 1),
      );
    }
  }
  return root;
}

/** Builds a minimal Deno notebook whose code cells have the given sources. */
function denoNotebook(title: string, ...code: string[]): unknown {
  return {
    cells: [
      {
        cell_type: "markdown",
        id: "title",
        metadata: {},
        source: `# ${title}\n\nA notebook for the build tests.`,
      },
      ...code.map((source, index) => ({
        cell_type: "code",
        id: `code-${index + 1}`,
        execution_count: null,
        metadata: {},
        outputs: [],
        source,
      })),
    ],
    metadata: {
      kernelspec: {
        name: "deno",
        display_name: "Deno",
        language: "typescript",
      },
      language_info: { name: "typescript" },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

let denoDirectoryPromise: Promise<string> | null = null;

/** Returns Deno's cache directory, so a child with a temporary HOME needs no download. */
function denoDirectory(): Promise<string> {
  denoDirectoryPromise ??= (async () => {
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return JSON.parse(new TextDecoder().decode(result.stdout)).denoDir;
  })();
  return denoDirectoryPromise;
}

/**
 * Makes a bin directory with a `deno` link and optional scripts, and the
 * environment of a machine whose PATH holds only that directory.
 */
async function bareEnvironment(
  root: string,
  scripts: Record<string, string>,
): Promise<Record<string, string>> {
  const bin = join(root, "bin");
  const home = join(root, "home");
  await Deno.mkdir(bin, { recursive: true });
  await Deno.mkdir(home, { recursive: true });
  await Deno.symlink(Deno.execPath(), join(bin, "deno"));
  for (const [name, text] of Object.entries(scripts)) {
    await Deno.writeTextFile(join(bin, name), text, { mode: 0o755 });
  }
  return {
    PATH: bin,
    HOME: home,
    DENO_DIR: await denoDirectory(),
    NO_COLOR: "1",
  };
}

/**
 * A `python3` without Jupyter packages whose pip fails as it does without
 * access to PyPI. `-m venv DIR` copies the script to DIR/bin/python.
 */
const PYTHON_WITHOUT_PIP = `#!/bin/sh
case "$1" in
  -c)
    echo "ModuleNotFoundError: No module named 'nbclient'" >&2
    exit 1 ;;
  -m)
    case "$2" in
      venv) /bin/mkdir -p "$3/bin" && /bin/cp "$0" "$3/bin/python" && exit 0 ;;
      pip)
        echo "ERROR: Could not find a version that satisfies the requirement nbclient" >&2
        exit 1 ;;
    esac ;;
esac
echo "fake python: unexpected arguments: $*" >&2
exit 2
`;

/** Builds a `python3` stand-in that imports jupyterlab and logs the arguments JupyterLab would get. */
function pythonWithLab(log: string): string {
  return `#!/bin/sh
case "$1" in
  -c) exit 0 ;;
  -m) printf '%s\\n' "$@" > '${log}'; exit 0 ;;
esac
exit 2
`;
}

/** Formats a command's exit code and output for an assertion message. */
function describe(result: CommandResult): string {
  return `exit code ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

async function openBuiltPage(
  browser: HeadlessBrowser,
  out: string,
  name: string,
  javaScript = true,
): Promise<BrowserPage> {
  return await browser.openPage(pathToFileURL(join(out, name)), {
    javaScript,
  });
}

Deno.test("jsonForScript() escapes every <", () => {
  const text = jsonForScript({ title: "</script><!-- x" });
  assert.equal(text.includes("<"), false);
  assert.deepEqual(JSON.parse(text), { title: "</script><!-- x" });
});

Deno.test("renderOutput() escapes stream text and strips ANSI", () => {
  const { html } = renderOutput({
    output_type: "stream",
    name: "stdout",
    text: ["\x1b[31m<b>red</b>\x1b[0m & done\n"],
  });
  assert.equal(
    html,
    '<pre class="output-stream">&lt;b&gt;red&lt;/b&gt; &amp; done\n</pre>',
  );
});

Deno.test("renderOutput() shows an error traceback as text", () => {
  const { html } = renderOutput({
    output_type: "error",
    ename: "NotDoneError",
    evalue: "Exercise 1 is not done yet",
    traceback: ["\x1b[1mNotDoneError\x1b[0m: <Exercise 1>", "    at cell:1:1"],
  });
  assert.equal(
    html,
    '<pre class="output-error">NotDoneError: &lt;Exercise 1&gt;\n    at cell:1:1</pre>',
  );
});

Deno.test("renderOutput() keeps a static fallback beside a Plotly figure", () => {
  const { html, usesPlotly } = renderOutput({
    output_type: "display_data",
    data: {
      "application/vnd.plotly.v1+json": {
        data: [],
        layout: { title: "</script>" },
      },
      "text/html": '<img src="data:image/svg+xml;base64,AA==">',
      "text/plain": "Heatmap",
    },
  });
  assert.equal(usesPlotly, true);
  assert.match(html, /<script type="application\/json" class="plotly-figure">/);
  assert.equal(html.match(/<\/script>/g)?.length, 1);
  assert.match(
    html,
    /<div class="plotly-fallback"><div class="output-html"><img src="data:image\/svg\+xml;base64,AA=="><\/div><\/div>/,
  );
});

Deno.test("renderOutput() escapes text/plain but not text/html", () => {
  const plain = renderOutput({
    output_type: "execute_result",
    execution_count: 1,
    data: { "text/plain": "<Tensor>" },
  });
  assert.equal(plain.html, '<pre class="output-text">&lt;Tensor&gt;</pre>');
  const table = renderOutput({
    output_type: "execute_result",
    execution_count: 2,
    data: {
      "text/html": "<table><tr><td>1</td></tr></table>",
      "text/plain": "1",
    },
  });
  assert.equal(
    table.html,
    '<div class="output-html"><table><tr><td>1</td></tr></table></div>',
  );
});

Deno.test("renderMarkdown() renders inline and display math with KaTeX", () => {
  const html = renderMarkdown(
    "Weights $w_i = e^{x_i}$ and *text*.\n\n$$\\frac{Q K^\\top}{\\sqrt{d_k}}$$\n",
  );
  assert.equal(html.match(/class="katex"/g)?.length, 2);
  assert.match(html, /class="katex-display"/);
  assert.match(html, /<em>text<\/em>/);
  assert.equal(html.includes("$"), false);
});

Deno.test("renderMarkdown() keeps dollar amounts and code as text", () => {
  const html = renderMarkdown("It costs $5 and $6, see `$x$`.");
  assert.equal(html.includes("katex"), false);
  assert.match(html, /\$5 and \$6/);
  assert.match(html, /<code>\$x\$<\/code>/);
});

Deno.test("renderMarkdown() keeps * inside math out of emphasis", () => {
  const html = renderMarkdown("*a $b*c$ d*");
  assert.ok(html.startsWith('<p><em>a <span class="katex">'), html);
  assert.ok(html.endsWith(" d</em></p>\n"), html);
  assert.equal(html.match(/class="katex"/g)?.length, 1);
});

Deno.test("linkRewriter() points notebook links at pages", () => {
  const rewrite = linkRewriter(new Set(["01-solution"]));
  assert.equal(rewrite("01-solution.ipynb"), "01-solution.html");
  assert.equal(
    rewrite("./01-solution.ipynb#part-2"),
    "01-solution.html#part-2",
  );
  assert.equal(rewrite("other.ipynb"), "other.ipynb");
  assert.equal(
    rewrite("https://example.com/01-solution.ipynb"),
    "https://example.com/01-solution.ipynb",
  );
});

Deno.test("describeNotebook() gives each notebook its own goal", async () => {
  const entries = (await readCourseNotebooks(NOTEBOOKS)).map(describeNotebook);
  assert.ok(entries.length >= 4, `found ${entries.length} notebooks`);
  const goals = entries.map((entry) => entry.goalHtml);
  assert.equal(new Set(goals).size, goals.length, goals.join("\n"));
  for (const entry of entries) {
    assert.notEqual(entry.goalHtml, "", `${entry.stem} has no goal`);
    assert.doesNotMatch(entry.goalHtml, /:\s*$/, `${entry.stem} goal is cut`);
  }
  const goalOf = (stem: string) =>
    entries.find((entry) => entry.stem === stem)?.goalHtml ?? "";
  assert.match(goalOf(LEARNER), /exercise version/);
  assert.match(goalOf(SOLUTION), /worked solution/);
});

Deno.test("renderNotebookPage() links back to all notebooks", async () => {
  const [source] = await readCourseNotebooks(NOTEBOOKS);
  const entry = describeNotebook(source);
  const html = renderNotebookPage(source.notebook, {
    entry,
    available: new Set([entry.stem]),
    rewriteLink: (href) => href,
  });
  const links = html.match(/<a href="index\.html">[^<]*<\/a>/g) ?? [];
  assert.deepEqual(links, [
    `<a href="index.html">All notebooks</a>`,
    `<a href="index.html">All notebooks</a>`,
  ]);
});

Deno.test("course build of the real notebooks", async (t) => {
  const folder = await Deno.makeTempDir({ prefix: "course_test-dist-" });
  const out = join(folder, "dist");
  try {
    const before = await hashNotebooks(NOTEBOOKS);
    const result = await runScript(REPO_ROOT, COURSE_SCRIPT, ["--out", out]);
    const after = await hashNotebooks(NOTEBOOKS);
    console.log(`full course build: ${result.seconds.toFixed(1)} s`);
    assert.equal(result.code, 0, describe(result));
    const names = await notebookNames(NOTEBOOKS);

    await t.step("writes every notebook, page and asset", async () => {
      for (const name of names) {
        const stem = name.replace(/\.ipynb$/, "");
        assert.ok(
          await exists(join(out, `${stem}.ipynb`)),
          `${stem}.ipynb missing`,
        );
        assert.ok(
          await exists(join(out, `${stem}.html`)),
          `${stem}.html missing`,
        );
      }
      for (
        const asset of [
          "index.html",
          "assets/plotly.min.js",
          "assets/course.js",
          "assets/course.css",
          "assets/katex/katex.min.css",
          "assets/katex/fonts/KaTeX_Main-Regular.woff2",
        ]
      ) {
        assert.ok(await exists(join(out, asset)), `${asset} missing`);
      }
    });

    await t.step("leaves notebooks/ unchanged", () => {
      assert.ok(before.size > 0);
      assert.deepEqual(after, before);
    });

    await withBrowser(async (browser) => {
      await t.step("index lists every notebook in order", async () => {
        const expected: [string, string][] = [];
        for (const name of names) {
          expected.push([
            name.replace(/\.ipynb$/, ""),
            await firstHeading(join(NOTEBOOKS, name)),
          ]);
        }
        const page = await openBuiltPage(browser, out, "index.html");
        const listed = await page.evaluate<[string, string, string | null][]>(`
          [...document.querySelectorAll(".challenges > li")].map((item) => [
            item.dataset.notebook,
            item.querySelector(".title").textContent,
            item.querySelector("a.title")?.getAttribute("href") ?? null,
          ])`);
        assert.deepEqual(
          listed.map(([stem, title]) => [stem, title]),
          expected,
        );
        assert.deepEqual(
          listed.map(([, , href]) => href),
          expected.map(([stem]) => `${stem}.html`),
        );
        const goals = await page.evaluate<number>(
          `document.querySelectorAll(".challenges .goal").length`,
        );
        assert.equal(goals, names.length);
        assert.deepEqual(page.errors, []);
      });

      await t.step(
        "solution page draws the heatmap with plotly.js",
        async () => {
          const page = await openBuiltPage(browser, out, `${SOLUTION}.html`);
          await page.waitFor(
            `document.querySelector(".plotly-drawn") !== null`,
          );
          const plots = await page.evaluate<number>(
            `document.querySelectorAll(".js-plotly-plot").length`,
          );
          assert.ok(plots >= 1, `expected a .js-plotly-plot, found ${plots}`);
          const labels = await page.evaluate<string[]>(`
          [...document.querySelector(".js-plotly-plot").querySelectorAll(".heatmaplayer text")]
            .map((text) => text.textContent)`);
          assert.equal(labels.length, 100);
          assert.ok(
            labels.every((label) => /^\d\.\d\d$/.test(label)),
            `unexpected cell labels: ${labels.slice(0, 5).join(", ")}`,
          );
          const fallbackHidden = await page.evaluate<boolean>(
            `document.querySelector(".plotly-drawn .plotly-fallback").hidden`,
          );
          assert.equal(fallbackHidden, true);
          const katex = await page.evaluate<number>(
            `document.querySelectorAll(".katex").length`,
          );
          assert.ok(katex > 0, "no .katex element: math was not rendered");
          const katexErrors = await page.evaluate<number>(
            `document.querySelectorAll(".katex-error").length`,
          );
          assert.equal(katexErrors, 0);
          const navigation = await page.evaluate<string[]>(
            `[...document.querySelector(".course-nav").querySelectorAll("a")].map((a) => a.getAttribute("href"))`,
          );
          assert.ok(navigation.includes("index.html"));
          // Cells stack in one column: each starts at the same x, below the previous one.
          const misplaced = await page.evaluate<string[]>(`
            (() => {
              const boxes = [...document.querySelectorAll("main > section.cell")]
                .map((cell) => cell.getBoundingClientRect());
              return boxes.slice(1).flatMap((box, i) =>
                box.left !== boxes[0].left || box.top < boxes[i].bottom
                  ? ["cell " + (i + 2) + " at " + box.left + "," + box.top]
                  : []
              );
            })()`);
          assert.deepEqual(misplaced, []);
          assert.deepEqual(page.errors, []);
        },
      );

      await t.step(
        "solution page shows the static heatmap without JavaScript",
        async () => {
          const page = await openBuiltPage(
            browser,
            out,
            `${SOLUTION}.html`,
            false,
          );
          const images = await page.evaluate<
            { width: number; visible: boolean; svg: boolean }[]
          >(`
          [...document.querySelectorAll(".plotly-fallback img")].map((img) => ({
            width: img.naturalWidth,
            visible: img.checkVisibility(),
            svg: img.src.startsWith("data:image/svg+xml;base64,"),
          }))`);
          assert.ok(images.length >= 1, "no static heatmap image on the page");
          for (const image of images) {
            assert.ok(image.width > 0, "the static heatmap did not load");
            assert.equal(image.visible, true);
            assert.equal(image.svg, true);
          }
          const plots = await page.evaluate<number>(
            `document.querySelectorAll(".js-plotly-plot").length`,
          );
          assert.equal(plots, 0);
          const katex = await page.evaluate<number>(
            `document.querySelectorAll(".katex").length`,
          );
          assert.ok(
            katex > 0,
            "math needs no JavaScript, but no .katex was found",
          );
          assert.deepEqual(page.errors, []);
        },
      );

      await t.step("learner page shows cell errors as text", async () => {
        const page = await openBuiltPage(browser, out, `${LEARNER}.html`);
        const errors = await page.evaluate<string[]>(
          `[...document.querySelectorAll(".output-error")].map((pre) => pre.textContent)`,
        );
        assert.ok(errors.length > 0, "the learner page shows no error output");
        assert.ok(errors.some((text) => text.includes("not done yet")));
        assert.equal(errors.some((text) => text.includes("\x1b")), false);
        assert.deepEqual(page.errors, []);
      });
    });

    await t.step("--only 01 rebuilds one notebook in place", async () => {
      const learnerPage = await sha256(join(out, `${LEARNER}.html`));
      const solutionPage = join(out, `${SOLUTION}.html`);
      const stampBefore = (await Deno.stat(solutionPage)).mtime;

      const only = await runScript(REPO_ROOT, COURSE_SCRIPT, [
        "--out",
        out,
        "--only",
        "01",
      ]);
      assert.equal(only.code, 0, describe(only));
      assert.match(only.stderr, /\[1\/1\] 01-challenge-0-solution\.ipynb/);
      assert.equal(await sha256(join(out, `${LEARNER}.html`)), learnerPage);
      assert.notDeepEqual((await Deno.stat(solutionPage)).mtime, stampBefore);
      const index = await Deno.readTextFile(join(out, "index.html"));
      assert.match(index, new RegExp(`href="${LEARNER}\\.html"`));
    });
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("course --only with an unknown name exits 2 with the list", async () => {
  const result = await runScript(REPO_ROOT, COURSE_SCRIPT, [
    "--only",
    "no-such-notebook",
  ]);
  assert.equal(result.code, 2, describe(result));
  assert.match(
    result.stderr,
    /--only "no-such-notebook" does not name a notebook/,
  );
  for (const name of await notebookNames(NOTEBOOKS)) {
    assert.ok(result.stderr.includes(`  ${name}`), `${name} not listed`);
  }
});

Deno.test("course rejects --out in notebooks/ or a foreign directory", async () => {
  const inside = await runScript(REPO_ROOT, COURSE_SCRIPT, [
    "--out",
    join(NOTEBOOKS, "pages"),
  ]);
  assert.equal(inside.code, 2, describe(inside));
  assert.match(inside.stderr, /inside the notebooks directory/);
  assert.equal(await exists(join(NOTEBOOKS, "pages")), false);

  const root = await runScript(REPO_ROOT, COURSE_SCRIPT, ["--out", "."]);
  assert.equal(root.code, 2, describe(root));
  assert.match(root.stderr, /is the repository root/);

  const foreign = await Deno.makeTempDir({ prefix: "course_test-foreign-" });
  try {
    await Deno.writeTextFile(join(foreign, "notes.txt"), "keep me");
    const result = await runScript(REPO_ROOT, COURSE_SCRIPT, [
      "--out",
      foreign,
    ]);
    assert.equal(result.code, 2, describe(result));
    assert.match(result.stderr, /is not empty and has no \.course-build\.json/);
    assert.deepEqual(
      [...Deno.readDirSync(foreign)].map((entry) => entry.name),
      ["notes.txt"],
    );
  } finally {
    await Deno.remove(foreign, { recursive: true });
  }
});

Deno.test("course stops at a failing notebook and keeps earlier pages", async () => {
  const root = await copyRepository({
    "01-first.ipynb": denoNotebook("First", 'console.log("first ran");'),
    "02-broken.ipynb": denoNotebook(
      "Broken",
      "const ok = 1;",
      'throw new RangeError("broken on purpose");',
      'console.log("never printed");',
    ),
    "03-after.ipynb": denoNotebook("After", "1 + 1;"),
  });
  try {
    const out = join(root, "dist");
    const result = await runScript(root, COURSE_SCRIPT, []);
    assert.equal(result.code, 1, describe(result));
    assert.match(
      result.stderr,
      /02-broken\.ipynb failed at code cell 2\/3: RangeError: broken on purpose/,
    );
    assert.equal(
      result.stderr.includes("    at "),
      false,
      "stack trace printed",
    );
    assert.ok(await exists(join(out, "01-first.html")));
    assert.equal(await exists(join(out, "02-broken.html")), false);
    assert.equal(await exists(join(out, "03-after.ipynb")), false);
    const index = await Deno.readTextFile(join(out, "index.html"));
    assert.match(index, /href="01-first\.html"/);
    assert.match(index, /Broken<\/span> <span class="kind">\(not built\)/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("course rebuild replaces only its own files", async () => {
  const root = await copyRepository({
    "01-first.ipynb": denoNotebook("First", "1;"),
  });
  try {
    const out = join(root, "dist");
    const first = await runScript(root, COURSE_SCRIPT, []);
    assert.equal(first.code, 0, describe(first));
    assert.ok(await exists(join(out, "01-first.html")));
    await Deno.writeTextFile(join(out, "notes.txt"), "keep me");

    await Deno.rename(
      join(root, "notebooks", "01-first.ipynb"),
      join(root, "notebooks", "01-renamed.ipynb"),
    );
    const second = await runScript(root, COURSE_SCRIPT, []);
    assert.equal(second.code, 0, describe(second));
    assert.match(
      second.stderr,
      /removed 01-first\.html, left over from an earlier build/,
    );
    assert.ok(await exists(join(out, "01-renamed.html")));
    assert.equal(await exists(join(out, "01-first.html")), false);
    assert.equal(await exists(join(out, "01-first.ipynb")), false);
    assert.equal(await Deno.readTextFile(join(out, "notes.txt")), "keep me");
    const manifest = JSON.parse(
      await Deno.readTextFile(join(out, ".course-build.json")),
    );
    assert.ok(manifest.files.includes("01-renamed.ipynb"));
    assert.equal(manifest.files.includes("01-first.html"), false);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("course registers a missing Deno kernel", async () => {
  const python = await requirePython();
  const root = await copyRepository({
    "01-first.ipynb": denoNotebook("First", "1;"),
  });
  try {
    // A fresh HOME has no user kernel specs, so the build must install one
    // into Jupyter's user data directory, ~/.local/share/jupyter on Linux.
    const env = await bareEnvironment(root, {});
    const result = await runScript(
      root,
      COURSE_SCRIPT,
      ["--python", python],
      env,
    );
    assert.equal(result.code, 0, describe(result));
    assert.match(
      result.stderr,
      /registering it with: .*deno jupyter --install/,
    );
    const kernelSpec = join(
      env.HOME,
      ".local",
      "share",
      "jupyter",
      "kernels",
      "deno",
      "kernel.json",
    );
    assert.ok(await exists(kernelSpec), `${kernelSpec} missing`);
    assert.ok(await exists(join(root, "dist", "01-first.html")));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("course without Jupyter or pip prints what to install", async () => {
  const root = await copyRepository({
    "01-first.ipynb": denoNotebook("First", "1;"),
  });
  try {
    const env = await bareEnvironment(root, { python3: PYTHON_WITHOUT_PIP });
    // /usr/bin/python3 may have the Jupyter packages, and findPython() would
    // use it, so --python limits the build to the python3 on this PATH.
    const result = await runScript(
      root,
      COURSE_SCRIPT,
      ["--python", "python3"],
      env,
    );
    assert.equal(result.code, 3, describe(result));
    assert.match(
      result.stderr,
      /Creating a virtual environment: python3 -m venv /,
    );
    assert.match(result.stderr, /Installing the Jupyter packages: /);
    assert.match(result.stderr, /pip could not install nbclient/);
    assert.match(result.stderr, /pip install nbclient ipykernel/);
    assert.match(
      result.stderr,
      /apt-get install jupyter-nbconvert python3-nbclient python3-ipykernel/,
    );
    assert.equal(result.stderr.includes("Traceback"), false);
    assert.equal(
      result.stderr.includes("    at "),
      false,
      "stack trace printed",
    );
    assert.ok(await exists(join(root, ".venv", "bin", "python")));
    assert.equal(await exists(join(root, "dist", "01-first.html")), false);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("course without any python3 prints what to install", async () => {
  const root = await copyRepository({
    "01-first.ipynb": denoNotebook("First", "1;"),
  });
  try {
    const env = await bareEnvironment(root, {});
    const result = await runScript(
      root,
      COURSE_SCRIPT,
      ["--python", "python3"],
      env,
    );
    assert.equal(result.code, 3, describe(result));
    assert.match(
      result.stderr,
      /Python was not found: `python3` could not be started/,
    );
    assert.match(result.stderr, /pip install nbclient ipykernel/);
    assert.equal(
      result.stderr.includes("    at "),
      false,
      "stack trace printed",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("lab without JupyterLab or Notebook prints what to install", async () => {
  const root = await Deno.makeTempDir({ prefix: "course_test-lab-" });
  try {
    const env = await bareEnvironment(root, { python3: PYTHON_WITHOUT_PIP });
    const result = await runScript(
      REPO_ROOT,
      LAB_SCRIPT,
      ["--python", "python3"],
      env,
    );
    assert.equal(result.code, 3, describe(result));
    assert.match(
      result.stderr,
      /Neither JupyterLab nor Jupyter Notebook is installed/,
    );
    assert.match(result.stderr, /pip install jupyterlab/);
    assert.equal(
      result.stderr.includes("    at "),
      false,
      "stack trace printed",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("lab starts JupyterLab on notebooks/ with extra arguments", async () => {
  const root = await Deno.makeTempDir({ prefix: "course_test-lab-" });
  try {
    const log = join(root, "jupyter-args.txt");
    const env = await bareEnvironment(root, { python3: pythonWithLab(log) });
    const result = await runScript(
      REPO_ROOT,
      LAB_SCRIPT,
      ["--python", "python3", "--", "--port", "8890"],
      env,
    );
    assert.equal(result.code, 0, describe(result));
    assert.deepEqual((await Deno.readTextFile(log)).trim().split("\n"), [
      "-m",
      "jupyterlab",
      `--notebook-dir=${NOTEBOOKS}`,
      "--port",
      "8890",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("stripAnsi() removes colour and link sequences", () => {
  assert.equal(
    stripAnsi("\x1b[1;31merror\x1b[0m \x1b]8;;https://x\x07link\x1b]8;;\x07"),
    "error link",
  );
});
