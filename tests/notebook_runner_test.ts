/**
 * Tests for scripts/run_notebook.py and scripts/jupyter.ts. They execute the
 * fixture notebooks in tests/notebooks/ through the real Deno Jupyter kernel,
 * so they need Python with nbclient and the "deno" kernel spec. When either is
 * missing, every test fails with the install instructions.
 *
 * Run with `deno test -A tests/notebook_runner_test.ts`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  hasDenoKernel,
  JupyterSetupError,
  REPO_ROOT,
  requirePython,
  RUNNER_SCRIPT,
  runNotebook,
} from "../scripts/jupyter.ts";

const NOTEBOOKS = join(REPO_ROOT, "tests", "notebooks");
const CANARY = join(NOTEBOOKS, "canary_error.ipynb");
const IMPORT_CHECK = join(NOTEBOOKS, "import_check.ipynb");
const LATE_OUTPUT = join(NOTEBOOKS, "late_output.ipynb");

/** Matches ANSI CSI and OSC escape sequences. */
// deno-lint-ignore no-control-regex
const ANSI_ESCAPE = /\x1b\[|\x1b\]/;

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
}

interface Cell {
  cell_type: string;
  id: string;
  outputs?: Output[];
}

let pythonPromise: Promise<string> | null = null;

/** Returns the Python interpreter, failing the test when Python or the kernel spec is missing. */
function setupPython(): Promise<string> {
  pythonPromise ??= (async () => {
    const python = await requirePython();
    if (!(await hasDenoKernel(python))) {
      throw new JupyterSetupError(
        `${python} does not find the "deno" Jupyter kernel spec. Run \`deno jupyter --install\`.`,
      );
    }
    return python;
  })();
  return pythonPromise;
}

async function readCodeCells(path: string): Promise<Cell[]> {
  const notebook = JSON.parse(await Deno.readTextFile(path)) as {
    cells: Cell[];
  };
  return notebook.cells.filter((cell) => cell.cell_type === "code");
}

function joinText(text: string | string[] | undefined): string {
  return Array.isArray(text) ? text.join("") : text ?? "";
}

/** Simplifies outputs to [type, text] pairs so that a failed comparison is easy to read. */
function describeOutputs(cell: Cell): [string, string][] {
  return (cell.outputs ?? []).map((output) => {
    if (output.output_type === "stream") {
      return [`stream:${output.name}`, joinText(output.text)];
    }
    if (output.output_type === "error") {
      return ["error", `${output.ename}: ${output.evalue}`];
    }
    return [output.output_type, joinText(output.data?.["text/plain"])];
  });
}

/** Expected outputs of late_output.ipynb, cell by cell, derived from how its cells are written. */
function expectedLateOutputs(): [string, string][][] {
  const cells: [string, string][][] = [];
  for (let i = 1; i <= 8; i++) {
    const lines = `cell ${i} line 1\ncell ${i} line 2\ncell ${i} line 3\n`;
    const value = i % 3 === 0 ? String(i * i) : `"value of cell ${i}"`;
    if (i % 2 === 0) {
      cells.push([
        ["stream:stdout", lines],
        ["display_data", `display from cell ${i}`],
        ["stream:stdout", `cell ${i} after display\n`],
        ["execute_result", value],
      ]);
    } else {
      cells.push([["stream:stdout", lines], ["execute_result", value]]);
    }
  }
  return cells;
}

async function withTempDir(
  body: (directory: string) => Promise<void>,
): Promise<void> {
  const directory = await Deno.makeTempDir({ prefix: "notebook_runner_test-" });
  try {
    await body(directory);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}

Deno.test("run_notebook.py exits 1 and names the failing cell", async () => {
  const python = await setupPython();
  await withTempDir(async (directory) => {
    const output = join(directory, "canary.ipynb");
    const result = await runNotebook(CANARY, output, { python });

    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /^FAILED canary_error\.ipynb cell 2\/3: RangeError: canary cell failed on purpose$/m,
    );
    assert.doesNotMatch(result.stderr, ANSI_ESCAPE);
    assert.equal(result.summary?.executed, 2);
    assert.deepEqual(result.summary?.errors, [
      {
        cell: 2,
        cell_id: "throws",
        ename: "RangeError",
        evalue: "canary cell failed on purpose",
      },
    ]);

    const cells = await readCodeCells(output);
    assert.deepEqual(describeOutputs(cells[0]), [
      ["stream:stdout", "before the error\n"],
      ["execute_result", "2"],
    ]);
    assert.deepEqual(describeOutputs(cells[1]), [
      ["error", "RangeError: canary cell failed on purpose"],
    ]);
    assert.deepEqual(
      describeOutputs(cells[2]),
      [],
      "the cell after the error must not run",
    );
  });
});

Deno.test("run_notebook.py --allow-errors records the error and exits 0", async () => {
  const python = await setupPython();
  await withTempDir(async (directory) => {
    const output = join(directory, "canary.ipynb");
    const result = await runNotebook(CANARY, output, {
      python,
      allowErrors: true,
    });

    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /^FAILED/m);
    assert.equal(result.summary?.executed, 3);
    assert.deepEqual(
      result.summary?.errors.map((error) => [error.cell, error.ename]),
      [
        [2, "RangeError"],
      ],
    );

    const cells = await readCodeCells(output);
    assert.deepEqual(describeOutputs(cells[1]), [
      ["error", "RangeError: canary cell failed on purpose"],
    ]);
    assert.deepEqual(describeOutputs(cells[2]), [
      ["stream:stdout", "after the error\n"],
      ["execute_result", '"unreachable unless errors are allowed"'],
    ]);
  });
});

Deno.test("run_notebook.py rejects OUTPUT equal to INPUT", async () => {
  const python = await setupPython();
  await withTempDir(async (directory) => {
    const input = join(directory, "canary.ipynb");
    await Deno.copyFile(CANARY, input);
    const link = join(directory, "link.ipynb");
    await Deno.symlink(input, link);
    const before = await Deno.readFile(input);

    for (const output of [input, join(directory, ".", "canary.ipynb"), link]) {
      const result = await runNotebook(input, output, { python });
      assert.equal(result.code, 2, `--output ${output}: ${result.stderr}`);
      assert.match(result.stderr, /never overwrites its input/);
      assert.equal(result.summary, null);
    }
    assert.deepEqual(await Deno.readFile(input), before);
  });
});

Deno.test("run_notebook.py imports Tensor from the import map", async () => {
  const python = await setupPython();
  await withTempDir(async (directory) => {
    const output = join(directory, "import_check.ipynb");
    const result = await runNotebook(IMPORT_CHECK, output, {
      python,
      progress: "plain",
    });

    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /^import_check\.ipynb: cell 3\/3 \(\d+\.\d s\)$/m,
    );
    assert.deepEqual(result.summary?.errors, []);
    const cells = await readCodeCells(output);
    assert.deepEqual(cells.map(describeOutputs), [
      [["execute_result", "[ 2, 2 ]"]],
      [["stream:stdout", "2x2\n"], ["execute_result", "3"]],
      [["execute_result", "10"]],
    ]);
  });
});

Deno.test("run_notebook.py keeps late outputs in five runs", async () => {
  const python = await setupPython();
  const expected = expectedLateOutputs();
  await withTempDir(async (directory) => {
    for (let run = 1; run <= 5; run++) {
      const output = join(directory, `late_output-${run}.ipynb`);
      const result = await runNotebook(LATE_OUTPUT, output, { python });

      assert.equal(result.code, 0, `run ${run}: ${result.stderr}`);
      assert.equal(
        result.summary?.suspect_outputs,
        0,
        `run ${run}: ${result.stderr}`,
      );
      const cells = await readCodeCells(output);
      cells.forEach((cell, position) => {
        assert.deepEqual(
          describeOutputs(cell),
          expected[position],
          `run ${run}, cell ${cell.id}`,
        );
      });
    }
  });
});

Deno.test("run_notebook.py writes text/plain without ANSI escapes", async () => {
  const python = await setupPython();
  await withTempDir(async (directory) => {
    for (const input of [IMPORT_CHECK, LATE_OUTPUT]) {
      const output = join(directory, "executed.ipynb");
      const result = await runNotebook(input, output, { python });
      assert.equal(result.code, 0, result.stderr);

      for (const cell of await readCodeCells(output)) {
        for (const [kind, text] of describeOutputs(cell)) {
          assert.doesNotMatch(
            text,
            ANSI_ESCAPE,
            `${input}, cell ${cell.id}, ${kind}`,
          );
        }
      }
    }
  });
});

Deno.test("run_notebook.py exits 3 for a missing kernel spec", async () => {
  const python = await setupPython();
  await withTempDir(async (directory) => {
    const output = join(directory, "out.ipynb");
    const result = await runNotebook(IMPORT_CHECK, output, {
      python,
      kernel: "no-such-kernel-for-test",
    });

    assert.equal(result.code, 3, result.stderr);
    assert.match(
      result.stderr,
      /kernel spec 'no-such-kernel-for-test' was not found/,
    );
    assert.match(result.stderr, /deno jupyter --install/);
    assert.doesNotMatch(result.stderr, /Traceback/);
  });
});

Deno.test("run_notebook.py exits 3 without nbclient", async () => {
  await withTempDir(async (directory) => {
    // -S skips site-packages and -I ignores PYTHONPATH, so the Jupyter packages cannot import.
    const python = await setupPython();
    const output = join(directory, "out.ipynb");
    const result = await new Deno.Command(python, {
      args: ["-I", "-S", RUNNER_SCRIPT, IMPORT_CHECK, "--output", output],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(result.stderr);

    assert.equal(result.code, 3, stderr);
    assert.match(stderr, /is missing for/);
    assert.match(stderr, /pip install nbclient ipykernel/);
    assert.doesNotMatch(stderr, /Traceback/);
  });
});
