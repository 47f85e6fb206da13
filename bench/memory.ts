/**
 * Measures the peak memory of materialising and streaming attention at
 * T = S = 8192, D = Dv = 64, B = 1, where the (T, S) f64 weights alone take
 * 512 MiB.
 *
 * Usage: `deno run -A bench/memory.ts` prints a markdown
 * table. Each case runs in its own child process (this script with
 * `--mode=<case>`), because a process's peak resident set size (VmHWM in
 * /proc/self/status, Linux only) never goes down, so cases sharing a process
 * would hide each other. The `inputs` case only builds the inputs and gives
 * the baseline that the runtime and the 12 MiB of Q, K and V take. Deno 2
 * allows reading /proc/self only with all permissions, hence `-A`.
 *
 * @module
 */

import { scaledDotProductAttention } from "../lib/attention.ts";
import { attentionOutput } from "../lib/streaming.ts";
import { Tensor } from "../lib/tensor.ts";

const T = 8192;
const S = 8192;
const D = 64;

const MODES = ["inputs", "materialising", "streaming"] as const;
type Mode = typeof MODES[number];

/** One child's result: peak resident set size, wall time and a checksum of the output. */
interface Measurement {
  mode: Mode;
  peakMiB: number;
  ms: number;
  checksum: number;
}

/** Uniform numbers in [-1, 1) from a fixed seed, so every case uses the same data. */
function randomTensor(shape: number[], seed: number): Tensor {
  let state = seed >>> 0;
  const length = shape.reduce((a, b) => a * b, 1);
  const data = Float64Array.from({ length }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2147483648 - 1;
  });
  return new Tensor(data, shape);
}

/** Reads VmHWM, the peak resident set size, from /proc/self/status, in MiB. */
function peakResidentMiB(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  if (match === null) {
    throw new Error(
      "bench/memory.ts: /proc/self/status has no VmHWM line; this benchmark needs Linux.",
    );
  }
  return Number(match[1]) / 1024;
}

function runCase(mode: Mode): Measurement {
  const q = randomTensor([1, T, D], 1);
  const k = randomTensor([1, S, D], 2);
  const v = randomTensor([1, S, D], 3);
  const start = performance.now();
  let output: Tensor | null = null;
  if (mode === "materialising") {
    output = scaledDotProductAttention(q, k, v).output;
  } else if (mode === "streaming") {
    output = attentionOutput(q, k, v, { streaming: true });
  }
  const ms = performance.now() - start;
  let checksum = 0;
  for (const x of output?.data ?? []) checksum += x;
  return { mode, peakMiB: peakResidentMiB(), ms, checksum };
}

async function runChild(mode: Mode): Promise<Measurement> {
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      // Deno 2 lets a program read /proc/self only with all permissions.
      "--allow-all",
      new URL(import.meta.url).pathname,
      `--mode=${mode}`,
    ],
    stdout: "piped",
    stderr: "inherit",
  });
  const { code, stdout } = await command.output();
  if (code !== 0) {
    throw new Error(
      `bench/memory.ts: the ${mode} child exited with code ${code}.`,
    );
  }
  return JSON.parse(new TextDecoder().decode(stdout)) as Measurement;
}

async function main(): Promise<void> {
  const modeArgument = Deno.args.find((arg) => arg.startsWith("--mode="));
  if (modeArgument !== undefined) {
    const mode = modeArgument.slice("--mode=".length) as Mode;
    if (!MODES.includes(mode)) {
      throw new Error(
        `bench/memory.ts: --mode must be one of ${
          MODES.join(", ")
        }, received ${mode}.`,
      );
    }
    console.log(JSON.stringify(runCase(mode)));
    return;
  }

  const results: Measurement[] = [];
  for (const mode of MODES) results.push(await runChild(mode));
  const base = results[0];
  console.log(
    `Attention at B = 1, T = S = ${T}, D = Dv = ${D}, f64; Deno ${Deno.version.deno}.\n`,
  );
  console.log("| path | peak RSS (MiB) | above inputs (MiB) | time (ms) |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const result of results) {
    const time = result.mode === "inputs" ? "-" : result.ms.toFixed(0);
    console.log(
      `| ${result.mode} | ${result.peakMiB.toFixed(0)} | ${
        (result.peakMiB - base.peakMiB).toFixed(0)
      } | ${time} |`,
    );
  }
  const [, materialising, streaming] = results;
  const difference = Math.abs(materialising.checksum - streaming.checksum);
  console.log(`\nOutput checksums differ by ${difference.toExponential(2)}.`);
}

if (import.meta.main) await main();
