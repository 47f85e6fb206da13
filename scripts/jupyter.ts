/**
 * Helpers that execute notebooks through the Deno Jupyter kernel with
 * `scripts/run_notebook.py`, for the tests and the course build.
 *
 * They need `--allow-run`, `--allow-read`, `--allow-write` and `--allow-env`.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Root of the repository: the parent of the `scripts/` directory. */
export const REPO_ROOT: string = dirname(
  dirname(fileURLToPath(import.meta.url)),
);

/** Path of the Python notebook runner. */
export const RUNNER_SCRIPT: string = join(
  REPO_ROOT,
  "scripts",
  "run_notebook.py",
);

/** Install instructions shown when no usable Python or kernel is found. */
export const INSTALL_HINT: string = [
  "Install the Jupyter client packages, then register the Deno kernel:",
  "  Debian/Ubuntu: sudo apt-get install jupyter-nbconvert python3-nbclient python3-ipykernel",
  "  pip:           python3 -m pip install nbclient ipykernel",
  "  Deno kernel:   deno jupyter --install",
  "Set ATTENTION_PYTHON to choose the Python interpreter.",
].join("\n");

const PACKAGE_CHECK =
  "import sys, nbclient, nbformat, jupyter_client; print(sys.executable)";

/** Error thrown when Python, its Jupyter packages or the Deno kernel spec are missing. */
export class JupyterSetupError extends Error {
  /** Creates the error with a message that ends with the install instructions. */
  constructor(message: string) {
    super(`${message}\n${INSTALL_HINT}`);
    this.name = "JupyterSetupError";
  }
}

/** Returns the Python interpreters that `findPython()` tries, in order. */
export function pythonCandidates(): string[] {
  const candidates: string[] = [];
  const fromEnvironment = Deno.env.get("ATTENTION_PYTHON");
  if (fromEnvironment) candidates.push(fromEnvironment);
  candidates.push(
    join(REPO_ROOT, ".venv", "bin", "python"),
    "/usr/bin/python3",
    "python3",
  );
  return candidates;
}

/** Runs a command and returns its exit code and decoded output, or null when it cannot start. */
async function tryCommand(
  command: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string } | null> {
  try {
    const result = await new Deno.Command(command, {
      args,
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const decoder = new TextDecoder();
    return {
      code: result.code,
      stdout: decoder.decode(result.stdout),
      stderr: decoder.decode(result.stderr),
    };
  } catch (error) {
    if (
      error instanceof Deno.errors.NotFound ||
      error instanceof Deno.errors.PermissionDenied
    ) {
      return null;
    }
    throw error;
  }
}

/**
 * Finds a Python interpreter that can import nbclient, nbformat and jupyter_client.
 *
 * Tries, in order: `$ATTENTION_PYTHON`, `<repo>/.venv/bin/python`,
 * `/usr/bin/python3` and `python3` on `PATH`.
 *
 * @returns The interpreter's absolute path (`sys.executable`), or null when none qualifies.
 */
export async function findPython(): Promise<string | null> {
  for (const candidate of pythonCandidates()) {
    const result = await tryCommand(candidate, ["-c", PACKAGE_CHECK]);
    if (result?.code === 0 && result.stdout.trim() !== "") {
      return result.stdout.trim();
    }
  }
  return null;
}

/**
 * Finds a Python interpreter as `findPython()` does and fails loudly when there is none.
 *
 * @throws {JupyterSetupError} If no candidate can import nbclient, nbformat and jupyter_client.
 */
export async function requirePython(): Promise<string> {
  const python = await findPython();
  if (python === null) {
    throw new JupyterSetupError(
      `No Python interpreter with nbclient, nbformat and jupyter_client was found. ` +
        `Tried: ${pythonCandidates().join(", ")}.`,
    );
  }
  return python;
}

/**
 * Checks with jupyter_client's KernelSpecManager whether a kernel spec is installed.
 *
 * @param python Interpreter returned by `findPython()`.
 * @param kernel Kernel spec name, `"deno"` by default.
 */
export async function hasDenoKernel(
  python: string,
  kernel = "deno",
): Promise<boolean> {
  const script = [
    "import sys",
    "from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel",
    "try:",
    "    KernelSpecManager().get_kernel_spec(sys.argv[1])",
    "except NoSuchKernel:",
    "    sys.exit(1)",
  ].join("\n");
  const result = await tryCommand(python, ["-c", script, kernel]);
  return result?.code === 0;
}

/**
 * Registers the Deno kernel with `deno jupyter --install` when jupyter_client cannot find it.
 *
 * Prints the command before it runs it.
 *
 * @param python Interpreter returned by `findPython()`.
 * @throws {JupyterSetupError} If the install command fails or the kernel spec is still missing.
 */
export async function ensureDenoKernel(python: string): Promise<void> {
  if (await hasDenoKernel(python)) return;

  const deno = Deno.execPath();
  console.error(
    `Deno Jupyter kernel not found; registering it with: ${deno} jupyter --install`,
  );
  const result = await new Deno.Command(deno, {
    args: ["jupyter", "--install"],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (result.code !== 0) {
    throw new JupyterSetupError(
      `\`${deno} jupyter --install\` failed with exit code ${result.code}.`,
    );
  }
  if (!(await hasDenoKernel(python))) {
    throw new JupyterSetupError(
      `\`deno jupyter --install\` succeeded, but ${python} still does not find the "deno" kernel spec.`,
    );
  }
}

/** One cell error as the runner reports it. */
export interface NotebookError {
  /** 1-based position of the cell among the notebook's code cells. */
  cell: number;
  /** The cell's `id`, or null when the failure had no execute reply (timeout, dead kernel). */
  cell_id: string | null;
  /** Error class name, such as `RangeError`. */
  ename: string;
  /** Error message without ANSI escapes. */
  evalue: string;
}

/** Summary that `run_notebook.py --summary-json` writes. */
export interface NotebookSummary {
  /** Absolute path of the input notebook. */
  notebook: string;
  /** Absolute path of the executed copy. */
  output: string;
  /** Number of code cells in the notebook. */
  cells: number;
  /** Number of code cells that started, including a failed one. */
  executed: number;
  /** Cell errors, in execution order. */
  errors: NotebookError[];
  /** Wall time of the run in seconds, kernel start-up included. */
  seconds: number;
  /** Output messages that arrived after their cell reported idle and were kept. */
  recovered_outputs: number;
  /** Output messages that arrived before their cell's execute_input (possibly mislabelled). */
  suspect_outputs: number;
}

/** Options of `runNotebook()`. */
export interface RunNotebookOptions {
  /** Record cell errors and keep executing. Default false. */
  allowErrors?: boolean;
  /** Maximum run time of one cell in seconds; 0 disables it. Default 120. */
  timeoutSeconds?: number;
  /** Progress format on stderr. Default `"plain"`, because stderr is a pipe. */
  progress?: "auto" | "plain" | "none";
  /** Kernel spec name. Default `"deno"`. */
  kernel?: string;
  /** Quiet time in seconds to wait for late outputs after a cell reports idle. */
  graceSeconds?: number;
  /** Python interpreter. Default: `requirePython()`. */
  python?: string;
  /** Also copy the runner's stderr to this process's stderr while it runs. Default false. */
  echoStderr?: boolean;
}

/** Result of `runNotebook()`. */
export interface RunNotebookResult {
  /** Exit code of run_notebook.py: 0 ok, 1 cell failed, 2 usage error, 3 setup missing. */
  code: number;
  /** Parsed summary, or null when the runner stopped before writing it (exit codes 2 and 3). */
  summary: NotebookSummary | null;
  /** Everything the runner wrote to stderr. */
  stderr: string;
}

/** Flags of `runnerArguments()`. An optional flag is left out when it is undefined or false. */
export interface RunnerFlags {
  /** Path where the runner writes its JSON summary. */
  summaryPath: string;
  /** Progress format on stderr. */
  progress: "auto" | "plain" | "none";
  /** Maximum run time of one cell in seconds; 0 disables it. */
  timeoutSeconds: number;
  /** Kernel spec name; without it the runner picks its own default. */
  kernel?: string;
  /** Record cell errors and keep executing. */
  allowErrors?: boolean;
  /** Quiet time in seconds to wait for late outputs after a cell reports idle. */
  graceSeconds?: number;
}

/**
 * Builds the argument list that runs `scripts/run_notebook.py` on `input`, to pass after the Python interpreter.
 *
 * @param input Notebook to execute.
 * @param output Path of the executed copy.
 * @param flags Summary path, progress format, time limit and the optional flags.
 * @returns The runner script path followed by its arguments.
 *
 * @example Usage
 * ```ts
 * import { runnerArguments, RUNNER_SCRIPT } from "./jupyter.ts";
 * import assert from "node:assert/strict";
 *
 * const args = runnerArguments("in.ipynb", "out.ipynb", {
 *   summaryPath: "summary.json",
 *   progress: "plain",
 *   timeoutSeconds: 60,
 *   allowErrors: true,
 * });
 * assert.deepEqual(args, [
 *   RUNNER_SCRIPT, "in.ipynb", "--output", "out.ipynb",
 *   "--summary-json", "summary.json", "--progress", "plain",
 *   "--timeout", "60", "--allow-errors",
 * ]);
 * ```
 */
export function runnerArguments(
  input: string,
  output: string,
  flags: RunnerFlags,
): string[] {
  const args = [
    RUNNER_SCRIPT,
    input,
    "--output",
    output,
    "--summary-json",
    flags.summaryPath,
    "--progress",
    flags.progress,
    "--timeout",
    String(flags.timeoutSeconds),
  ];
  if (flags.kernel !== undefined) args.push("--kernel", flags.kernel);
  if (flags.allowErrors) args.push("--allow-errors");
  if (flags.graceSeconds !== undefined) {
    args.push("--grace", String(flags.graceSeconds));
  }
  return args;
}

/** Reads a child's stderr to the end, optionally copying each chunk to our stderr. */
async function collectStderr(
  stream: ReadableStream<Uint8Array>,
  echo: boolean,
): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of stream) {
    if (echo) await Deno.stderr.write(chunk);
    text += decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}

/**
 * Executes a notebook with `scripts/run_notebook.py` and writes the executed copy to `output`.
 *
 * The kernel's working directory is the directory of `input`.
 *
 * @param input Notebook to execute. The runner never writes it.
 * @param output Path of the executed copy. The runner rejects a path equal to `input`.
 * @param options Runner flags, interpreter and stderr echo.
 * @returns The runner's exit code, its parsed summary and its stderr.
 * @throws {JupyterSetupError} If `options.python` is absent and no usable Python is found.
 */
export async function runNotebook(
  input: string,
  output: string,
  options: RunNotebookOptions = {},
): Promise<RunNotebookResult> {
  const python = options.python ?? await requirePython();
  const summaryDirectory = await Deno.makeTempDir({ prefix: "run_notebook-" });
  const summaryPath = join(summaryDirectory, "summary.json");
  const args = runnerArguments(input, output, {
    summaryPath,
    progress: options.progress ?? "plain",
    timeoutSeconds: options.timeoutSeconds ?? 120,
    kernel: options.kernel ?? "deno",
    allowErrors: options.allowErrors,
    graceSeconds: options.graceSeconds,
  });

  try {
    const child = new Deno.Command(python, {
      args,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const [stderr, status] = await Promise.all([
      collectStderr(child.stderr, options.echoStderr ?? false),
      child.status,
    ]);
    let summary: NotebookSummary | null = null;
    try {
      summary = JSON.parse(
        await Deno.readTextFile(summaryPath),
      ) as NotebookSummary;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return { code: status.code, summary, stderr };
  } finally {
    await Deno.remove(summaryDirectory, { recursive: true });
  }
}
