import assert from "node:assert/strict";
import {
  assertAllClose,
  RandomState,
  scaledDotProductAttention,
} from "attention";

const SCRIPT = new URL("../scripts/attention.ts", import.meta.url).pathname;

async function runCli(...args: string[]) {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", SCRIPT, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
  const { code, stdout, stderr } = await command.output();
  const decoder = new TextDecoder();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

const fixture = JSON.parse(
  await Deno.readTextFile(
    new URL("./fixtures/attention_seed0.json", import.meta.url),
  ),
);

Deno.test("attention CLI --json reproduces the NumPy values for seed 0", async () => {
  const { code, stdout } = await runCli("--seed", "0", "--json");
  assert.equal(code, 0);
  const result = JSON.parse(stdout);
  assert.deepEqual(Object.keys(result), [
    "queries",
    "keys",
    "values",
    "scores",
    "weights",
    "output",
  ]);
  assert.deepEqual(result.queries, fixture.queries);
  assert.deepEqual(result.keys, fixture.keys);
  assert.deepEqual(result.values, fixture.values);
  assertAllClose(result.scores, fixture.scores);
  assertAllClose(result.weights, fixture.weights);
  assertAllClose(result.output, fixture.output);
});

Deno.test("attention CLI --json matches the library for other sizes", async () => {
  const { code, stdout } = await runCli(
    "--json",
    "--seed",
    "5",
    "--d-model",
    "8",
    "--seq-len",
    "3",
    "--batch-size",
    "4",
  );
  assert.equal(code, 0);
  const result = JSON.parse(stdout);
  const rng = new RandomState(5);
  const q = rng.rand(4, 3, 8);
  const k = rng.rand(4, 3, 8);
  const v = rng.rand(4, 3, 8);
  const expected = scaledDotProductAttention(q, k, v);
  assert.deepEqual(result.queries, q.toArray());
  assert.deepEqual(result.weights, expected.weights.toArray());
  assert.deepEqual(result.output, expected.output.toArray());
});

Deno.test("attention CLI prints shapes, weights and output", async () => {
  const { code, stdout } = await runCli();
  assert.equal(code, 0);
  assert.match(stdout, /Queries shape: \(2, 10, 64\)/);
  assert.match(stdout, /Scores shape: \(2, 10, 10\)/);
  assert.match(stdout, /Attention weights shape: \(2, 10, 10\)/);
  assert.match(stdout, /Attention output shape: \(2, 10, 64\)/);
  assert.match(stdout, /Attention output \(first example\):\n\[\[/);
  assert.ok(stdout.includes(fixture.weights[0][0][0].toFixed(8)));
  assert.ok(
    !stdout.includes("\x1b["),
    "plain output contains ANSI escape codes",
  );
});

Deno.test("attention CLI --color paints weight cells", async () => {
  const { code, stdout } = await runCli("--color", "--seq-len", "3");
  assert.equal(code, 0);
  const cells = stdout.match(
    // deno-lint-ignore no-control-regex -- the test counts ANSI colour sequences.
    /\x1b\[48;2;\d+;\d+;\d+;38;2;\d+;\d+;\d+m 0\.\d{4} \x1b\[0m/g,
  ) ?? [];
  assert.equal(cells.length, 9);
});

Deno.test("attention CLI shortens large matrices like NumPy", async () => {
  const { code, stdout } = await runCli("--seq-len", "40", "--color");
  assert.equal(code, 0);
  assert.ok(
    !stdout.includes("\x1b["),
    "a grid wider than 120 columns is drawn in colour",
  );
  const weights = stdout.split("Attention weights (first example")[1];
  assert.match(weights, /\.\.\./);
  assert.ok(stdout.split("\n").length < 40, "the output is not shortened");
});

Deno.test("attention CLI --help exits 0", async () => {
  const { code, stdout } = await runCli("--help");
  assert.equal(code, 0);
  assert.match(stdout, /--seed N/);
  assert.match(stdout, /--json/);
});

const badFlags: [string[], RegExp][] = [
  [["--bogus"], /Unknown option '--bogus'/],
  [
    ["--seed=-1"],
    /invalid value for --seed: "-1"\. Expected an integer from 0 to 4294967295/,
  ],
  [["--seed", "1.5"], /invalid value for --seed: "1\.5"/],
  [["--seed", "4294967296"], /invalid value for --seed/],
  [
    ["--d-model", "0"],
    /invalid value for --d-model: "0"\. Expected an integer from 1/,
  ],
  [["--seq-len", "ten"], /invalid value for --seq-len: "ten"/],
  [["--batch-size"], /--batch-size/],
  [["--seed", "-1"], /invalid value for --seed: "-1"/],
  [["extra"], /positional/i],
  [
    ["--seq-len", "100000", "--batch-size", "100"],
    /the \(batch-size, seq-len, seq-len\) weights would hold 100 x 100000 x 100000/,
  ],
  [
    ["--seq-len", "2", "--d-model", "100000", "--batch-size", "1000"],
    /Q, K and V .* would each hold 1000 x 2 x 100000/,
  ],
];

for (const [args, message] of badFlags) {
  Deno.test(`attention CLI rejects ${args.join(" ")}`, async () => {
    const { code, stdout, stderr } = await runCli(...args);
    assert.equal(code, 2);
    assert.equal(stdout, "");
    assert.match(stderr, message);
    assert.match(stderr, /Run 'deno task attention --help' for usage/);
  });
}
