/**
 * Runs Challenge 0 from the command line: draws random queries, keys and
 * values from a seeded NumPy-compatible generator, computes scaled dot-product
 * attention and prints the shapes, the weights and the output of the first
 * batch entry, as the notebook does.
 *
 * Usage: deno task attention [--seed N] [--d-model D] [--seq-len T]
 *        [--batch-size B] [--json] [--color | --no-color] [--help]
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  formatShape,
  RandomState,
  scaledDotProductAttention,
  type Tensor,
} from "attention";
import { formatTensorText } from "../lib/display.ts";
import {
  annotationColor,
  BLUES,
  interpolateColor,
  parseHexColor,
} from "../lib/colors.ts";

const HELP = `Usage: deno task attention [options]

Runs Challenge 0 without Jupyter: draws queries, keys and values of shape
(batch-size, seq-len, d-model) with NumPy's legacy generator, so seed N gives
the same numbers as np.random.seed(N) followed by three np.random.rand calls,
then prints the shapes, the attention weights and the output of the first
example. Like NumPy, matrices of more than 1000 numbers are shortened to
their first and last rows and columns.

Options:
  --seed N         Seed of the random generator, an integer from 0 to 4294967295 (default 0)
  --d-model D      Width of each query, key and value vector (default 64)
  --seq-len T      Number of tokens in each sequence (default 10)
  --batch-size B   Number of sequences (default 2)
                   The (batch-size, seq-len, seq-len) weights and each of Q, K
                   and V may hold at most 50,000,000 numbers (400 MB)
  --json           Write {queries, keys, values, scores, weights, output} as JSON to stdout
  --color          Colour the weight cells even when stdout is not a terminal
                   (used only when the grid fits the terminal, or 120 columns)
  --no-color       Print the weights without coloured cells (also set by NO_COLOR)
  -h, --help       Show this help
`;

/** Largest accepted size per flag. */
const MAX_SIZE = 100_000;
/** Largest number of elements in Q, K, V or the (B, T, T) weights: 400 MB in float64. */
const MAX_ELEMENTS = 50_000_000;
/** Characters per coloured weight cell, and for the row label before the cells. */
const COLORED_CELL_WIDTH = 8;
const ROW_LABEL_WIDTH = 4;
/** Line width assumed for coloured output that does not go to a terminal. */
const DEFAULT_LINE_WIDTH = 120;
/** Flags that take a value, so that "--seed -1" reads -1 as the value. */
const VALUE_FLAGS = new Set([
  "--seed",
  "--d-model",
  "--seq-len",
  "--batch-size",
]);

/** Exit status for invalid flags or values. */
const USAGE_ERROR = 2;

interface Settings {
  seed: number;
  dModel: number;
  seqLen: number;
  batchSize: number;
  json: boolean;
  color: boolean;
}

class UsageError extends Error {}

function parseInteger(
  flag: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (text === undefined) return fallback;
  const value = /^[0-9]+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(
      `invalid value for --${flag}: ${
        JSON.stringify(text)
      }. Expected an integer ` +
        `from ${min} to ${max}.`,
    );
  }
  return value;
}

/** Joins "--seed -1" into "--seed=-1", which parseArgs would reject as ambiguous. */
function joinNegativeValues(args: string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const next = args[i + 1];
    if (
      VALUE_FLAGS.has(args[i]) && next !== undefined && /^-[0-9.]/.test(next)
    ) {
      joined.push(`${args[i]}=${next}`);
      i++;
    } else {
      joined.push(args[i]);
    }
  }
  return joined;
}

function parseSettings(args: string[]): Settings | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(args),
      strict: true,
      allowPositionals: false,
      options: {
        seed: { type: "string" },
        "d-model": { type: "string" },
        "seq-len": { type: "string" },
        "batch-size": { type: "string" },
        json: { type: "boolean" },
        color: { type: "boolean" },
        "no-color": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const values = parsed.values;
  if (values.help) return "help";
  const settings: Settings = {
    seed: parseInteger("seed", values.seed, 0, 0, 2 ** 32 - 1),
    dModel: parseInteger("d-model", values["d-model"], 64, 1, MAX_SIZE),
    seqLen: parseInteger("seq-len", values["seq-len"], 10, 1, MAX_SIZE),
    batchSize: parseInteger("batch-size", values["batch-size"], 2, 1, MAX_SIZE),
    json: values.json === true,
    color: values["no-color"] !== true &&
      (values.color === true || (!Deno.noColor && Deno.stdout.isTerminal())),
  };
  const { batchSize: B, seqLen: T, dModel: D } = settings;
  if (B * T * T > MAX_ELEMENTS) {
    throw new UsageError(
      `sizes too large: the (batch-size, seq-len, seq-len) weights would hold ` +
        `${B} x ${T} x ${T} = ${B * T * T} numbers, more than the limit of ` +
        `${MAX_ELEMENTS}. Use a smaller --seq-len or --batch-size.`,
    );
  }
  if (B * T * D > MAX_ELEMENTS) {
    throw new UsageError(
      `sizes too large: Q, K and V of shape (batch-size, seq-len, d-model) would ` +
        `each hold ${B} x ${T} x ${D} = ${
          B * T * D
        } numbers, more than the limit ` +
        `of ${MAX_ELEMENTS}. Use smaller sizes.`,
    );
  }
  return settings;
}

/** Formats a (T, S) weight matrix with each cell's background on the Blues scale, as the heatmap. */
function formatColoredWeights(weights: Tensor): string {
  const [rows, cols] = weights.shape;
  let low = Infinity;
  let high = -Infinity;
  for (const w of weights.data) {
    low = Math.min(low, w);
    high = Math.max(high, w);
  }
  const ansi = (hex: string) => parseHexColor(hex).join(";");
  const lines = [
    "    " +
    Array.from({ length: cols }, (_, s) => `${String(s).padStart(7)} `).join(
      "",
    ),
  ];
  for (let t = 0; t < rows; t++) {
    let line = String(t).padStart(4);
    for (let s = 0; s < cols; s++) {
      const w = weights.get(t, s);
      const background = interpolateColor(
        BLUES,
        high > low ? (w - low) / (high - low) : 0,
      );
      const foreground = annotationColor(background);
      const cell = ` ${w.toFixed(4)} `;
      line += `\x1b[48;2;${ansi(background)};38;2;${
        ansi(foreground)
      }m${cell}\x1b[0m`;
    }
    lines.push(line);
  }
  return lines.join("\n");
}

function run(settings: Settings): void {
  const { seed, dModel, seqLen, batchSize } = settings;
  const rng = new RandomState(seed);
  const queries = rng.rand(batchSize, seqLen, dModel);
  const keys = rng.rand(batchSize, seqLen, dModel);
  const values = rng.rand(batchSize, seqLen, dModel);
  const { output, weights, scores } = scaledDotProductAttention(
    queries,
    keys,
    values,
  );

  if (settings.json) {
    const result = { queries, keys, values, scores, weights, output };
    console.log(JSON.stringify(result));
    return;
  }

  console.log(`Seed: ${seed}`);
  console.log(`Queries shape: ${formatShape(queries.shape)}`);
  console.log(`Keys shape: ${formatShape(keys.shape)}`);
  console.log(`Values shape: ${formatShape(values.shape)}`);
  console.log(`Scores shape: ${formatShape(scores.shape)}`);
  console.log(`Attention weights shape: ${formatShape(weights.shape)}`);
  console.log(`Attention output shape: ${formatShape(output.shape)}`);
  console.log();
  console.log(
    "Attention weights (first example; rows are queries, columns are keys):",
  );
  // A coloured grid that is wider than the terminal would wrap, so it falls back to text.
  const lineWidth = Deno.stdout.isTerminal()
    ? Deno.consoleSize().columns
    : DEFAULT_LINE_WIDTH;
  const colored = settings.color &&
    ROW_LABEL_WIDTH + COLORED_CELL_WIDTH * seqLen <= lineWidth;
  console.log(
    colored ? formatColoredWeights(weights[0]) : formatTensorText(weights[0]),
  );
  console.log();
  console.log("Attention output (first example):");
  console.log(formatTensorText(output[0]));
}

if (import.meta.main) {
  try {
    const settings = parseSettings(Deno.args);
    if (settings === "help") {
      console.log(HELP);
    } else {
      run(settings);
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(
      `attention: ${error.message}\nRun 'deno task attention --help' for usage.`,
    );
    Deno.exit(USAGE_ERROR);
  }
}
