/**
 * Runs one notebook through `scripts/run_notebook.py` for the course build.
 *
 * Unlike `runNotebook()` in scripts/jupyter.ts, which collects the runner's
 * stderr through a pipe, this gives the runner this process's stderr. On a
 * terminal the runner then draws its own updating progress line
 * (notebook, cell i/N, elapsed seconds); elsewhere it prints plain lines.
 *
 * @module
 */

import { join } from "node:path";
import { type NotebookSummary, runnerArguments } from "../jupyter.ts";

/** Options of {@linkcode executeNotebook}. */
export interface ExecuteOptions {
  /** Python interpreter with nbclient. */
  python: string;
  /** Record cell errors as outputs and keep going. */
  allowErrors: boolean;
  /** Progress format of the runner; `auto` draws a line on a terminal. */
  progress: "auto" | "plain" | "none";
  /** Maximum run time of one cell in seconds; 0 disables the limit. */
  timeoutSeconds: number;
}

/** Result of {@linkcode executeNotebook}. */
export interface ExecuteResult {
  /** Exit status of the runner: 0 ok, 1 cell failed, 2 usage error, 3 setup missing. */
  code: number;
  /** The runner's summary, or null when it stopped before writing one (status 2 and 3). */
  summary: NotebookSummary | null;
}

/**
 * Executes `input` with the runner and writes the executed copy to `output`.
 *
 * @param input Source notebook; the runner never writes it.
 * @param output Path of the executed copy.
 * @param options Interpreter, error handling, progress and time limit.
 */
export async function executeNotebook(
  input: string,
  output: string,
  options: ExecuteOptions,
): Promise<ExecuteResult> {
  const summaryDirectory = await Deno.makeTempDir({ prefix: "course-run-" });
  const summaryPath = join(summaryDirectory, "summary.json");
  const args = runnerArguments(input, output, {
    summaryPath,
    progress: options.progress,
    timeoutSeconds: options.timeoutSeconds,
    allowErrors: options.allowErrors,
  });

  try {
    const status = await new Deno.Command(options.python, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "inherit",
    }).output();
    let summary: NotebookSummary | null = null;
    try {
      summary = JSON.parse(await Deno.readTextFile(summaryPath));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return { code: status.code, summary };
  } finally {
    await Deno.remove(summaryDirectory, { recursive: true });
  }
}
