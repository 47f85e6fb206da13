import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT, runNotebook } from "../scripts/jupyter.ts";

const NOTEBOOK_DIRECTORY = join(REPO_ROOT, "notebooks");
const EXPECTED_NOTEBOOKS = [
  "00-challenge-0-learner.ipynb",
  "01-challenge-0-solution.ipynb",
  "02-attention-in-depth.ipynb",
  "03-how-attention-scales.ipynb",
];
const MIME_PLOTLY = "application/vnd.plotly.v1+json";
const ANSI_ESCAPE = "\x1b[";

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}

interface Cell {
  cell_type: string;
  id?: string;
  source: string | string[];
  execution_count?: number | null;
  outputs?: Output[];
}

interface Notebook {
  cells: Cell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

function joinText(text: string | string[] | undefined): string {
  return Array.isArray(text) ? text.join("") : text ?? "";
}

function codeCells(notebook: Notebook): Cell[] {
  return notebook.cells.filter((cell) => cell.cell_type === "code");
}

function cellById(notebook: Notebook, id: string): Cell {
  const cell = notebook.cells.find((candidate) => candidate.id === id);
  assert.ok(cell, `cell "${id}" not found`);
  return cell;
}

function errorsOf(notebook: Notebook): { cell: string; output: Output }[] {
  return codeCells(notebook).flatMap((cell) =>
    (cell.outputs ?? [])
      .filter((output) => output.output_type === "error")
      .map((output) => ({ cell: cell.id ?? "?", output }))
  );
}

function streamText(cell: Cell): string {
  return (cell.outputs ?? [])
    .filter((output) => output.output_type === "stream")
    .map((output) => joinText(output.text))
    .join("");
}

/** Outputs that carry a MIME bundle: execute_result and display_data. */
function bundles(cell: Cell): Record<string, unknown>[] {
  return (cell.outputs ?? [])
    .filter((output) => output.data !== undefined)
    .map((output) => output.data!);
}

async function listNotebooks(): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(NOTEBOOK_DIRECTORY)) {
    if (entry.isFile && entry.name.endsWith(".ipynb")) names.push(entry.name);
  }
  return names.sort();
}

const executed = new Map<string, Promise<Notebook>>();

/**
 * Executes a notebook once per test run into a temporary directory and returns the
 * executed copy, after checking that the source file kept its bytes.
 */
function execute(name: string): Promise<Notebook> {
  let result = executed.get(name);
  if (result === undefined) {
    result = executeOnce(name);
    executed.set(name, result);
  }
  return result;
}

async function executeOnce(name: string): Promise<Notebook> {
  const input = join(NOTEBOOK_DIRECTORY, name);
  const before = await Deno.readFile(input);
  const directory = await Deno.makeTempDir({ prefix: "notebooks_test-" });
  try {
    const output = join(directory, name);
    const run = await runNotebook(input, output, { allowErrors: true });
    assert.notEqual(
      run.code,
      3,
      `the runner could not start the kernel:\n${run.stderr}`,
    );
    assert.equal(
      run.code,
      0,
      `run_notebook.py failed for ${name}:\n${run.stderr}`,
    );
    assert.ok(run.summary, `run_notebook.py wrote no summary for ${name}`);
    assert.equal(
      run.summary.executed,
      run.summary.cells,
      `not every cell of ${name} ran`,
    );

    const after = await Deno.readFile(input);
    assert.deepEqual(
      after,
      before,
      `executing ${name} changed the source notebook`,
    );
    return JSON.parse(await Deno.readTextFile(output)) as Notebook;
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}

function assertNoAnsi(notebook: Notebook, name: string): void {
  for (const cell of codeCells(notebook)) {
    for (const output of cell.outputs ?? []) {
      const texts = [joinText(output.text)];
      const plain = output.data?.["text/plain"];
      if (typeof plain === "string" || Array.isArray(plain)) {
        texts.push(joinText(plain));
      }
      for (const text of texts) {
        assert.ok(
          !text.includes(ANSI_ESCAPE),
          `${name}, cell "${cell.id}": output contains an ANSI escape: ${
            JSON.stringify(text)
          }`,
        );
      }
    }
  }
}

/** Asserts that a display carries the Plotly JSON, an SVG image in HTML and plain text. */
function assertFigureBundle(
  bundle: Record<string, unknown>,
  where: string,
): void {
  assert.ok(MIME_PLOTLY in bundle, `${where}: no ${MIME_PLOTLY}`);
  const figure = bundle[MIME_PLOTLY] as { data?: unknown[] };
  assert.ok(
    Array.isArray(figure.data) && figure.data.length > 0,
    `${where}: empty figure`,
  );
  const html = joinText(bundle["text/html"] as string | string[]);
  assert.match(
    html,
    /<img src="data:image\/svg\+xml;base64,/,
    `${where}: no SVG image`,
  );
  const plain = joinText(bundle["text/plain"] as string | string[]);
  assert.ok(plain.length > 0, `${where}: no text/plain`);
}

Deno.test("notebooks directory holds the course notebooks", async () => {
  const names = await listNotebooks();
  for (const expected of EXPECTED_NOTEBOOKS) {
    assert.ok(
      names.includes(expected),
      `${expected} is missing from notebooks/`,
    );
  }
});

Deno.test("notebooks are stored clean", async () => {
  for (const name of await listNotebooks()) {
    assert.match(
      name,
      /^\d\d-[a-z0-9-]+\.ipynb$/,
      `${name}: expected a numbered name`,
    );
    const notebook = JSON.parse(
      await Deno.readTextFile(join(NOTEBOOK_DIRECTORY, name)),
    ) as Notebook;
    assert.equal(notebook.nbformat, 4, name);
    assert.equal(notebook.nbformat_minor, 5, name);
    assert.deepEqual(notebook.metadata.kernelspec, {
      display_name: "Deno",
      language: "typescript",
      name: "deno",
    }, name);
    assert.deepEqual(
      notebook.metadata.language_info,
      { name: "typescript" },
      name,
    );

    const ids = notebook.cells.map((cell) => cell.id);
    for (const id of ids) {
      assert.match(
        id ?? "",
        /^[A-Za-z0-9_-]{1,64}$/,
        `${name}: invalid cell id ${id}`,
      );
    }
    assert.equal(new Set(ids).size, ids.length, `${name}: duplicate cell ids`);
    for (const cell of codeCells(notebook)) {
      assert.deepEqual(
        cell.outputs,
        [],
        `${name}, cell "${cell.id}" has outputs`,
      );
      assert.equal(
        cell.execution_count,
        null,
        `${name}, cell "${cell.id}" has a count`,
      );
    }
  }
});

Deno.test("learner notebook shows only not-done errors", async () => {
  const name = "00-challenge-0-learner.ipynb";
  const notebook = await execute(name);
  assertNoAnsi(notebook, name);

  const errors = errorsOf(notebook);
  assert.ok(
    errors.length > 0,
    "the unchanged learner notebook raised no error",
  );
  const exercisesNotDone = new Set<number>();
  for (const { cell, output } of errors) {
    assert.equal(
      output.ename,
      "NotDoneError",
      `cell "${cell}": ${output.evalue}`,
    );
    const match =
      /^Exercise ([1-4]) is not done yet: complete the cell under "Exercise \1: /
        .exec(output.evalue ?? "");
    assert.ok(match, `cell "${cell}": unexpected message ${output.evalue}`);
    exercisesNotDone.add(Number(match[1]));
  }
  assert.deepEqual([...exercisesNotDone].sort(), [1, 2, 3, 4]);

  // Each check cell reports its own exercise, so the message points at the cell to complete.
  for (const exercise of [1, 2, 3, 4]) {
    const outputs = cellById(notebook, `check${exercise}`).outputs ?? [];
    assert.equal(outputs.length, 1, `check${exercise} should have one output`);
    assert.match(
      outputs[0].evalue ?? "",
      new RegExp(`^Exercise ${exercise} is not done yet`),
    );
  }
});

Deno.test("solution notebook passes every check", async () => {
  const name = "01-challenge-0-solution.ipynb";
  const notebook = await execute(name);
  assertNoAnsi(notebook, name);
  assert.deepEqual(errorsOf(notebook), []);

  for (const exercise of [1, 2, 3, 4]) {
    assert.match(
      streamText(cellById(notebook, `check${exercise}`)),
      new RegExp(`^Exercise ${exercise} passed`),
    );
  }
  const inputs = streamText(cellById(notebook, "inputs"));
  assert.equal(inputs.match(/\(2, 10, 64\)/g)?.length, 3, inputs);
  assert.match(
    streamText(cellById(notebook, "scores")),
    /scores: \(2, 10, 10\)/,
  );
  const shapes = streamText(cellById(notebook, "attention"));
  assert.match(shapes, /output: +\(2, 10, 64\)/);
  assert.match(shapes, /weights: \(2, 10, 10\)/);
  assert.match(
    streamText(cellById(notebook, "library")),
    /equals scaledDotProductAttention/,
  );
  assert.match(
    streamText(cellById(notebook, "python")),
    /equal the Python notebook's numbers/,
  );
});

Deno.test("solution notebook draws and prints the first example", async () => {
  const notebook = await execute("01-challenge-0-solution.ipynb");

  const heatmapCell = cellById(notebook, "heatmap");
  assert.equal(heatmapCell.outputs?.length, 1);
  const [bundle] = bundles(heatmapCell);
  assertFigureBundle(bundle, "heatmap");
  const plain = joinText(bundle["text/plain"] as string[]);
  assert.match(
    plain,
    /^Heatmap "Attention Weights for First Example in Batch": 10 rows \(Query Position\) x 10 columns \(Key Position\), colour scale Blues/,
  );

  // One stream output in NumPy's layout; the first numbers are those Python prints.
  const outputCell = cellById(notebook, "output");
  assert.equal(outputCell.outputs?.length, 1);
  const printed = streamText(outputCell);
  assert.ok(
    printed.startsWith("[[0.53442618 0.57610605 0.62690026 0.3794078 "),
    printed.slice(0, 80),
  );
  assert.equal(
    printed.match(/\[/g)?.length,
    11,
    "expected 10 rows inside one matrix",
  );
});

Deno.test("in-depth notebook runs without errors", async () => {
  const name = "02-attention-in-depth.ipynb";
  const notebook = await execute(name);
  assertNoAnsi(notebook, name);
  assert.deepEqual(errorsOf(notebook), []);

  assert.match(
    streamText(cellById(notebook, "naive-softmax")),
    /Math\.exp\(1000\) += Infinity/,
  );
  assert.match(
    streamText(cellById(notebook, "naive-softmax")),
    /\[null,null,null\]/,
  );
  assert.match(
    streamText(cellById(notebook, "stable-softmax")),
    /0\.665241, 0\.244728, 0\.090031/,
  );

  const figures = [
    "variance",
    "saturation",
    "timing-chart",
    "self-heatmap",
    "query-heatmap",
    "causal-heatmap",
  ];
  for (const id of figures) {
    const cellBundles = bundles(cellById(notebook, id));
    assert.equal(cellBundles.length, 1, `cell "${id}" should show one figure`);
    assertFigureBundle(cellBundles[0], id);
  }

  // The repeated "the" keeps its own row and column in the sentence heatmap.
  const [sentence] = bundles(cellById(notebook, "query-heatmap"));
  const figure = sentence[MIME_PLOTLY] as {
    data: { z: number[][] }[];
    layout: { xaxis: { ticktext: string[] }; yaxis: { ticktext: string[] } };
  };
  const tokens = ["the", "cat", "sat", "on", "the", "mat"];
  assert.deepEqual(figure.layout.xaxis.ticktext, tokens);
  assert.deepEqual(figure.layout.yaxis.ticktext, tokens);
  assert.equal(figure.data[0].z.length, 6);
});

Deno.test("scaling notebook measures and draws", async () => {
  const name = "03-how-attention-scales.ipynb";
  const notebook = await execute(name);
  assertNoAnsi(notebook, name);
  assert.deepEqual(errorsOf(notebook), []);

  const figures = [
    "length-chart",
    "width-chart",
    "grid-heatmap",
    "memory-chart",
  ];
  for (const id of figures) {
    const cellBundles = bundles(cellById(notebook, id));
    assert.equal(cellBundles.length, 1, `cell "${id}" should show one figure`);
    assertFigureBundle(cellBundles[0], id);
  }

  // Timings vary by machine, so only the printed exponents' presence is checked.
  assert.match(
    streamText(cellById(notebook, "length-timing")),
    /exponent of seq_len, wasm: +\d+\.\d\d over 64-2048, \d+\.\d\d over 256-2048/,
  );
  assert.match(
    streamText(cellById(notebook, "width-timing")),
    /exponent of d_model, wasm: +\d+\.\d\d over 16-512, \d+\.\d\d over 64-512/,
  );

  const [grid] = bundles(cellById(notebook, "grid-heatmap"));
  const figure = grid[MIME_PLOTLY] as {
    data: { z: number[][] }[];
    layout: { xaxis: { ticktext: string[] }; yaxis: { ticktext: string[] } };
  };
  assert.deepEqual(figure.layout.xaxis.ticktext, [
    "16",
    "32",
    "64",
    "128",
    "256",
    "512",
  ]);
  assert.deepEqual(figure.layout.yaxis.ticktext, [
    "64",
    "128",
    "256",
    "512",
    "1024",
  ]);
  assert.equal(figure.data[0].z.length, 5);

  assert.match(
    streamText(cellById(notebook, "memory-chart")),
    /seq_len >= 1449 for one sequence/,
  );
  const memory = streamText(cellById(notebook, "memory-live"));
  assert.match(memory, /the weights take 128\.0 MiB, the output 2\.0 MiB/);
  const difference = /two outputs: (\S+)/.exec(memory);
  assert.ok(difference, memory);
  assert.ok(Number(difference[1]) < 1e-12, `outputs differ: ${difference[1]}`);

  const workers = streamText(cellById(notebook, "workers"));
  assert.match(
    workers,
    new RegExp(
      `scaledDotProductAttention, ${navigator.hardwareConcurrency} threads +\\d+\\.\\d ms`,
    ),
  );
  assert.match(workers, /output and weights identical: true/);
  assert.match(workers, /outputs identical: true/);
  assert.match(workers, /closeWorkers\(\) terminated \d+ workers/);
});

Deno.test("every notebook runs with only expected errors", async () => {
  // execute() also checks that the source keeps its bytes during the run.
  for (const name of await listNotebooks()) {
    const notebook = await execute(name);
    assertNoAnsi(notebook, name);
    const errors = errorsOf(notebook);
    if (name.includes("-learner")) {
      for (const { cell, output } of errors) {
        assert.equal(
          output.ename,
          "NotDoneError",
          `${name}, cell "${cell}": ${output.evalue}`,
        );
      }
    } else {
      assert.deepEqual(errors, [], `${name} raised errors`);
    }
  }
});
