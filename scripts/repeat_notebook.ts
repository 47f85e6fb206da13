/**
 * Executes one notebook several times with `scripts/run_notebook.py` and
 * checks that every run produces the same cell outputs as the first.
 *
 * Usage: `deno run -A scripts/repeat_notebook.ts NOTEBOOK [--runs 30] [--allow-errors]
 * [--grace SECONDS]`. `--grace` is passed to the runner; `--grace 0` shows the
 * late-output loss that the default grace window prevents.
 *
 * Exits 1 when a run fails or its outputs differ from the first run's, and
 * prints the first differing cell. Cell metadata is not compared because
 * it contains nbclient's execution timestamps.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { basename, join } from "node:path";
import { ensureDenoKernel, requirePython, runNotebook } from "./jupyter.ts";

interface NotebookCell {
  cell_type: string;
  id?: string;
  outputs?: unknown[];
}

/** Reads an executed notebook and returns the JSON text of each code cell's outputs. */
async function readCodeCellOutputs(
  path: string,
): Promise<{ id: string; outputs: string }[]> {
  const notebook = JSON.parse(await Deno.readTextFile(path)) as {
    cells: NotebookCell[];
  };
  return notebook.cells
    .filter((cell) => cell.cell_type === "code")
    .map((cell, position) => ({
      id: cell.id ?? `code cell ${position + 1}`,
      outputs: JSON.stringify(cell.outputs ?? [], null, 1),
    }));
}

/** Returns a description of the first cell whose outputs differ, or null when all match. */
function describeFirstDifference(
  reference: { id: string; outputs: string }[],
  current: { id: string; outputs: string }[],
): string | null {
  if (reference.length !== current.length) {
    return `the notebook has ${current.length} code cells, the first run had ${reference.length}`;
  }
  for (let position = 0; position < reference.length; position++) {
    if (reference[position].outputs !== current[position].outputs) {
      return `code cell ${position + 1}/${reference.length} (id ${
        reference[position].id
      })\n` +
        `first run:\n${reference[position].outputs}\nthis run:\n${
          current[position].outputs
        }`;
    }
  }
  return null;
}

function parseRunCount(text: string): number {
  const runs = Number(text);
  if (!Number.isInteger(runs) || runs < 1) {
    console.error(
      `repeat_notebook: --runs must be a positive integer, received "${text}".`,
    );
    Deno.exit(2);
  }
  return runs;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: {
      runs: { type: "string", default: "30" },
      "allow-errors": { type: "boolean", default: false },
      grace: { type: "string" },
    },
    allowPositionals: true,
  });
  if (positionals.length !== 1) {
    console.error(
      "Usage: deno run -A scripts/repeat_notebook.ts NOTEBOOK [--runs 30] [--allow-errors] " +
        "[--grace SECONDS]",
    );
    return 2;
  }
  const notebook = positionals[0];
  const runs = parseRunCount(values.runs);
  const graceSeconds = values.grace === undefined
    ? undefined
    : Number(values.grace);
  if (graceSeconds !== undefined && !(graceSeconds >= 0)) {
    console.error(
      `repeat_notebook: --grace must be a number of seconds >= 0, received "${values.grace}".`,
    );
    return 2;
  }
  const python = await requirePython();
  await ensureDenoKernel(python);

  const workDirectory = await Deno.makeTempDir({ prefix: "repeat_notebook-" });
  let reference: { id: string; outputs: string }[] | null = null;
  let identical = 0;
  let failedRuns = 0;
  let recovered = 0;
  let firstDifference: string | null = null;
  const started = performance.now();
  try {
    for (let run = 1; run <= runs; run++) {
      const output = join(workDirectory, `run-${run}.ipynb`);
      const result = await runNotebook(notebook, output, {
        python,
        progress: "none",
        allowErrors: values["allow-errors"],
        graceSeconds,
      });
      recovered += result.summary?.recovered_outputs ?? 0;
      if (result.code !== 0) {
        failedRuns++;
        console.error(
          `run ${run}: run_notebook.py exited ${result.code}\n${result.stderr.trim()}`,
        );
        continue;
      }

      const outputs = await readCodeCellOutputs(output);
      if (reference === null) {
        reference = outputs;
        identical++;
      } else {
        const difference = describeFirstDifference(reference, outputs);
        if (difference === null) {
          identical++;
        } else {
          firstDifference ??= `run ${run} differs from run 1 in ${difference}`;
          console.error(`run ${run}: outputs differ from run 1`);
        }
      }
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.error(
        `${basename(notebook)}: run ${run}/${runs} done (${seconds} s)`,
      );
    }
  } finally {
    await Deno.remove(workDirectory, { recursive: true });
  }

  const differing = runs - identical - failedRuns;
  console.log(
    `${runs} runs, ${identical} identical, ${differing} differing, ${failedRuns} failed, ` +
      `${recovered} late outputs recovered`,
  );
  if (firstDifference !== null) {
    console.log(`First difference: ${firstDifference}`);
  }
  return differing === 0 && failedRuns === 0 ? 0 : 1;
}

if (import.meta.main) {
  Deno.exit(await main());
}
