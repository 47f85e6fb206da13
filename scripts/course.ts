/**
 * Builds the course: executes every notebook in notebooks/ through the Deno
 * Jupyter kernel and writes the executed notebooks, one HTML page per
 * notebook and an index into the output directory (default `dist/`).
 *
 * Usage: `deno task course [--out DIR] [--only NAME] [--python PATH]
 * [--timeout SECONDS]`. Run with `--help` for details.
 *
 * Exit status: 0 built, 1 a notebook failed, 2 invalid options or output
 * directory, 3 Python, the Jupyter packages or the Deno kernel are missing.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join, relative } from "node:path";
import { REPO_ROOT } from "./jupyter.ts";
import { writeAssets } from "./course/assets.ts";
import {
  CourseError,
  EXIT_NOTEBOOK_FAILED,
  EXIT_OK,
  EXIT_SETUP,
  EXIT_USAGE,
} from "./course/errors.ts";
import { executeNotebook } from "./course/execute.ts";
import {
  type CourseNotebook,
  parseNotebook,
  readCourseNotebooks,
} from "./course/notebook.ts";
import {
  OutputDirectory,
  resolveOutputDirectory,
} from "./course/output_dir.ts";
import {
  describeNotebook,
  executedFileName,
  linkRewriter,
  type NotebookEntry,
  pageFileName,
  renderIndexPage,
  renderNotebookPage,
} from "./course/page.ts";
import { preparePython } from "./course/setup.ts";

/** Directory of the course notebooks; the build only reads it. */
export const NOTEBOOKS_DIRECTORY: string = join(REPO_ROOT, "notebooks");

const DEFAULT_TIMEOUT_SECONDS = 120;

const USAGE = `Usage: deno task course [options]

Executes every notebook in notebooks/ (sorted by name) with the Deno Jupyter
kernel and writes into the output directory:
  NAME.ipynb    the executed notebook
  NAME.html     its page, with interactive charts and rendered math
  index.html    the list of notebooks with their titles and goals
  assets/       plotly.js, KaTeX and the page style, so pages work offline

Notebooks whose metadata contains "course": {"allow_errors": true} are
exercises: their cells may raise, and the build records the errors.

Options:
  --out DIR          output directory (default: dist). It must be new, empty or
                     an earlier build; the build overwrites only its own files.
  --only NAME        build one notebook, named by file name with or without
                     .ipynb, or by its leading number (03); the index still
                     lists every notebook.
  --python PATH      Python interpreter to use; when it lacks the Jupyter
                     packages, the build creates .venv from it and installs them.
                     Default: $ATTENTION_PYTHON, .venv, /usr/bin/python3, python3.
  --timeout SECONDS  maximum run time of one cell (default: ${DEFAULT_TIMEOUT_SECONDS}; 0 = none)
  -h, --help         show this help

Exit status: 0 built, 1 a notebook failed, 2 invalid options or output
directory, 3 Python, the Jupyter packages or the Deno kernel are missing.`;

/** Parsed command line. */
interface CourseOptions {
  out: string;
  only: string | null;
  python: string | undefined;
  timeoutSeconds: number;
  help: boolean;
}

function parseOptions(args: string[]): CourseOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        out: { type: "string" },
        only: { type: "string" },
        python: { type: "string" },
        timeout: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    throw new CourseError(
      `${
        (error as Error).message
      }\nRun \`deno task course --help\` for the options.`,
      EXIT_USAGE,
    );
  }
  const timeoutText = values.timeout ?? String(DEFAULT_TIMEOUT_SECONDS);
  const timeoutSeconds = Number(timeoutText);
  if (!/^\d+$/.test(timeoutText) || !Number.isSafeInteger(timeoutSeconds)) {
    throw new CourseError(
      `--timeout expects a whole number of seconds (0 for no limit), received ${
        JSON.stringify(timeoutText)
      }.`,
      EXIT_USAGE,
    );
  }
  if (values.out === "") {
    throw new CourseError(
      '--out expects a directory path, received "".',
      EXIT_USAGE,
    );
  }
  return {
    out: values.out ?? join(REPO_ROOT, "dist"),
    only: values.only ?? null,
    python: values.python,
    timeoutSeconds,
    help: values.help ?? false,
  };
}

/**
 * Picks the notebooks to build, by file name with or without `.ipynb`, or by
 * the number that starts the file name, such as `03`.
 */
function selectNotebooks(
  notebooks: CourseNotebook[],
  only: string | null,
): CourseNotebook[] {
  if (only === null) return notebooks;
  const match = notebooks.find((notebook) =>
    notebook.fileName === only || notebook.stem === only ||
    (/^\d+$/.test(only) && notebook.stem.startsWith(`${only}-`))
  );
  if (match === undefined) {
    const names = notebooks.map((notebook) => `  ${notebook.fileName}`);
    throw new CourseError(
      `--only ${
        JSON.stringify(only)
      } does not name a notebook in ${NOTEBOOKS_DIRECTORY}. ` +
        `Valid names (with or without .ipynb, or just the leading number):\n${
          names.join("\n")
        }`,
      EXIT_USAGE,
    );
  }
  return [match];
}

function log(line: string): void {
  console.error(line);
}

function displayPath(path: string): string {
  const fromCwd = relative(Deno.cwd(), path);
  return fromCwd === "" ? "." : fromCwd.startsWith("..") ? path : fromCwd;
}

/** Lists the notebooks whose page exists in the output directory. */
async function builtStems(
  output: OutputDirectory,
  entries: readonly NotebookEntry[],
): Promise<Set<string>> {
  const stems = new Set<string>();
  for (const entry of entries) {
    if (await output.hasBuilt(pageFileName(entry.stem))) stems.add(entry.stem);
  }
  return stems;
}

async function writeIndex(
  output: OutputDirectory,
  entries: readonly NotebookEntry[],
): Promise<void> {
  const available = await builtStems(output, entries);
  await output.write("index.html", renderIndexPage(entries, available));
}

/** Describes the first error of a failed run as "NAME failed at code cell i/N: Error: message". */
function describeFailure(
  notebook: CourseNotebook,
  summary: Awaited<ReturnType<typeof executeNotebook>>["summary"],
): string {
  const error = summary?.errors[0];
  if (summary === null || error === undefined) {
    return `${notebook.fileName} failed`;
  }
  return `${notebook.fileName} failed at code cell ${error.cell}/${summary.cells}: ` +
    `${error.ename}: ${error.evalue}`;
}

/** State that {@linkcode buildNotebook} shares across the notebooks of one build. */
interface BuildContext {
  output: OutputDirectory;
  python: string;
  timeoutSeconds: number;
  /** Every course notebook in order, for the navigation links. */
  notebooks: readonly CourseNotebook[];
  entries: readonly NotebookEntry[];
  /** Stems whose pages exist or are being built. */
  planned: ReadonlySet<string>;
  rewriteLink: (href: string) => string;
}

/**
 * Executes one notebook into the output directory and writes its page.
 *
 * @throws {CourseError} With exit status 1 if a cell fails, or 3 if the
 *   runner finds Jupyter or the kernel missing. The index is rewritten first,
 *   so the pages already built stay reachable.
 */
async function buildNotebook(
  notebook: CourseNotebook,
  context: BuildContext,
): Promise<void> {
  const { output, entries } = context;
  const executedPath = await output.claim(executedFileName(notebook.stem));
  const result = await executeNotebook(notebook.path, executedPath, {
    python: context.python,
    allowErrors: notebook.settings.allowErrors,
    progress: "auto",
    timeoutSeconds: context.timeoutSeconds,
  });
  // The runner creates the file with mkstemp, which allows only its owner
  // to read it, but the notebooks are meant to be downloaded from the pages.
  await Deno.chmod(executedPath, 0o644).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });

  if (result.code !== 0) {
    await writeIndex(output, entries);
    const reason = result.code === 1
      ? `${describeFailure(notebook, result.summary)}\n` +
        "If this notebook is an exercise whose cells raise on purpose, add " +
        '"course": {"allow_errors": true} to its notebook metadata.'
      : `the notebook runner stopped with exit code ${result.code} on ${notebook.fileName} ` +
        "(see its message above).";
    throw new CourseError(
      `Build stopped: ${reason}\nPages already written stay in ${
        displayPath(output.path)
      }.`,
      result.code === 3 ? EXIT_SETUP : EXIT_NOTEBOOK_FAILED,
    );
  }

  const executed = parseNotebook(
    await Deno.readTextFile(executedPath),
    executedFileName(notebook.stem),
  );
  const position = context.notebooks.indexOf(notebook);
  const page = renderNotebookPage(executed, {
    entry: entries[position],
    previous: entries[position - 1],
    next: entries[position + 1],
    available: context.planned,
    rewriteLink: context.rewriteLink,
  });
  await output.write(pageFileName(notebook.stem), page);

  const errors = result.summary?.errors.length ?? 0;
  const recorded = errors > 0
    ? `, ${errors} cell error(s) recorded as the exercise expects`
    : "";
  log(
    `  wrote ${displayPath(output.resolve(pageFileName(notebook.stem)))} ` +
      `(${(result.summary?.seconds ?? 0).toFixed(1)} s${recorded})`,
  );
}

/** Builds the course and returns the exit status. */
async function build(options: CourseOptions): Promise<number> {
  const started = performance.now();
  let notebooks: CourseNotebook[];
  try {
    notebooks = await readCourseNotebooks(NOTEBOOKS_DIRECTORY);
  } catch (error) {
    if (error instanceof TypeError) {
      throw new CourseError(error.message, EXIT_USAGE);
    }
    throw error;
  }
  if (notebooks.length === 0) {
    throw new CourseError(
      `No .ipynb files were found in ${NOTEBOOKS_DIRECTORY}, so there is nothing to build.`,
      EXIT_USAGE,
    );
  }
  const selected = selectNotebooks(notebooks, options.only);
  const outPath = await resolveOutputDirectory(
    options.out,
    REPO_ROOT,
    NOTEBOOKS_DIRECTORY,
  );
  const output = await OutputDirectory.open(outPath);

  const python = await preparePython({ python: options.python, log });
  log(`Python: ${python}`);
  await writeAssets(output);

  const entries = notebooks.map(describeNotebook);
  const context: BuildContext = {
    output,
    python,
    timeoutSeconds: options.timeoutSeconds,
    notebooks,
    entries,
    planned: new Set([
      ...await builtStems(output, entries),
      ...selected.map((notebook) => notebook.stem),
    ]),
    rewriteLink: linkRewriter(new Set(entries.map((entry) => entry.stem))),
  };

  for (const [index, notebook] of selected.entries()) {
    const mode = notebook.settings.allowErrors
      ? "exercise, errors allowed"
      : "errors stop the build";
    log(`[${index + 1}/${selected.length}] ${notebook.fileName} (${mode})`);
    await buildNotebook(notebook, context);
  }

  await writeIndex(output, entries);
  if (options.only === null) {
    for (const removed of await output.removeStaleFiles()) {
      log(`  removed ${removed}, left over from an earlier build`);
    }
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  log(
    `Built ${selected.length} notebook(s) in ${seconds} s. Open ${
      displayPath(output.resolve("index.html"))
    }`,
  );
  return EXIT_OK;
}

function isFileSystemError(error: unknown): boolean {
  return Object.values(Deno.errors).some((errorClass) =>
    error instanceof errorClass
  );
}

/** Runs the command line and returns the exit status, printing expected failures without a stack trace. */
export async function main(args: string[]): Promise<number> {
  try {
    const options = parseOptions(args);
    if (options.help) {
      console.log(USAGE);
      return EXIT_OK;
    }
    return await build(options);
  } catch (error) {
    if (error instanceof CourseError) {
      console.error(`course: ${error.message}`);
      return error.exitCode;
    }
    // File system errors (permission denied, disk full) name the path in
    // their message, which helps the user more than a stack trace.
    if (isFileSystemError(error)) {
      console.error(`course: ${(error as Error).message}`);
      return EXIT_NOTEBOOK_FAILED;
    }
    throw error;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
