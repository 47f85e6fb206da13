/**
 * Times every attention engine and NumPy on the same shapes in one run and
 * writes the ratios to NumPy's time into docs/benchmarks.md.
 *
 * Usage: deno task bench:compare [--no-write]
 *
 * NumPy is timed by bench/numpy_attention.py under the first Python that has
 * numpy (PYTHON, then /usr/bin/python3, then python3). OPENBLAS_CORETYPE and
 * OPENBLAS_L2_SIZE are removed from that one process, because they make
 * OpenBLAS pick an older kernel than the CPU supports.
 */

import {
  RandomState,
  referenceAttention,
  scaledDotProductAttention,
  type Tensor,
} from "attention";
import { SHAPES } from "./attention_bench.ts";

/** One implementation to time. */
interface Engine {
  name: string;
  dtype: "float64" | "float32";
  /** Warm-up calls before timing; V8 needs several before a hot loop reaches its fastest tier. */
  warmup: number;
  /** Whether this engine is run at shape (B, T, D); slow references skip the largest shapes. */
  runs: (shape: readonly number[]) => boolean;
  attend: (q: Tensor, k: Tensor, v: Tensor) => unknown;
}

const ENGINES: Engine[] = [
  {
    name: "library, TypeScript kernel",
    dtype: "float64",
    warmup: 8,
    runs: () => true,
    attend: (q, k, v) => scaledDotProductAttention(q, k, v),
  },
  {
    name: "mathjs reference",
    dtype: "float64",
    warmup: 2,
    runs: () => true,
    attend: (q, k, v) => referenceAttention(q, k, v),
  },
];

/** Returns the median time in ms of `fn`, after `warmup` calls, over at least 5 calls or 1 s. */
function medianMs(fn: () => unknown, warmup: number): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  const start = performance.now();
  while (
    times.length < 5 || (performance.now() - start < 1000 && times.length < 200)
  ) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

async function findPython(): Promise<string | null> {
  const candidates = [Deno.env.get("PYTHON"), "/usr/bin/python3", "python3"]
    .filter(
      (x): x is string => Boolean(x),
    );
  for (const python of candidates) {
    try {
      const probe = await new Deno.Command(python, {
        args: ["-c", "import numpy"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (probe.success) return python;
    } catch {
      // Not installed under that name; try the next one.
    }
  }
  return null;
}

interface NumpyTimings {
  numpy: string;
  float64: Record<string, number>;
  float32: Record<string, number>;
}

async function timeNumpy(): Promise<NumpyTimings | null> {
  const python = await findPython();
  if (python === null) return null;
  const env = Deno.env.toObject();
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const script = new URL("./numpy_attention.py", import.meta.url).pathname;
  const result = await new Deno.Command(python, {
    args: [script],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!result.success) {
    throw new Error(`bench/numpy_attention.py failed under ${python}`);
  }
  return JSON.parse(new TextDecoder().decode(result.stdout));
}

async function cpuModel(): Promise<string> {
  try {
    const info = await Deno.readTextFile("/proc/cpuinfo");
    return info.match(/model name\s*:\s*(.*)/)?.[1]?.trim() ?? "unknown CPU";
  } catch {
    return "unknown CPU";
  }
}

const write = !Deno.args.includes("--no-write");
const numpy = await timeNumpy();
const rows: string[] = [];
const header = ["engine", ...SHAPES.map(([B, T, D]) => `(${B}, ${T}, ${D})`)];

const engineTimes = new Map<string, (number | null)[]>();
for (const engine of ENGINES) {
  const times: (number | null)[] = [];
  for (const shape of SHAPES) {
    if (!engine.runs(shape)) {
      times.push(null);
      continue;
    }
    const [B, T, D] = shape;
    const rng = new RandomState(0);
    const q = rng.rand(B, T, D);
    const k = rng.rand(B, T, D);
    const v = rng.rand(B, T, D);
    const ms = medianMs(() => engine.attend(q, k, v), engine.warmup);
    times.push(ms);
    console.error(`${engine.name} (${B}, ${T}, ${D}): ${ms.toFixed(3)} ms`);
  }
  engineTimes.set(`${engine.name} (${engine.dtype})`, times);
}

const key = ([B, T, D]: readonly number[]) => `${B},${T},${T},${D}`;
if (numpy) {
  rows.push(
    `| NumPy ${numpy.numpy} (float64), ms | ` +
      SHAPES.map((s) => numpy.float64[key(s)].toFixed(3)).join(" | ") + " |",
  );
}
for (const [name, times] of engineTimes) {
  const cells = times.map((ms, i) => {
    if (ms === null) return "not run";
    const base = numpy?.float64[key(SHAPES[i])];
    return base
      ? `${(ms / base).toFixed(1)}x (${ms.toFixed(2)} ms)`
      : `${ms.toFixed(2)} ms`;
  });
  rows.push(`| ${name} | ${cells.join(" | ")} |`);
}
const library = engineTimes.get("library, TypeScript kernel (float64)")!;
const mathjs = engineTimes.get("mathjs reference (float64)")!;
rows.push(
  `| mathjs time / library time | ` +
    library.map((
      ms,
      i,
    ) => (ms && mathjs[i] ? `${(mathjs[i]! / ms).toFixed(0)}x` : "n/a")).join(
      " | ",
    ) + " |",
);

const table = [
  `| ${header.join(" | ")} |`,
  `|${header.map(() => "---").join("|")}|`,
  ...rows,
].join("\n");
const machine =
  `${await cpuModel()}, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno} ` +
  `(V8 ${Deno.version.v8}), ${
    numpy ? `NumPy ${numpy.numpy}` : "NumPy not found"
  }`;
const date = new Date().toISOString().slice(0, 10);
const section =
  `<!-- compare:start -->\nMeasured on ${date} with \`deno task bench:compare\` on ${machine}.\n` +
  `Cells give the median time relative to NumPy's float64 time at the same shape (lower is ` +
  `better), with the median in ms.\n\n${table}\n<!-- compare:end -->`;
console.log(section);

if (write) {
  const path = new URL("../docs/benchmarks.md", import.meta.url);
  const current = await Deno.readTextFile(path);
  const updated = current.replace(
    /<!-- compare:start -->[\s\S]*<!-- compare:end -->/,
    section,
  );
  if (updated === current && !current.includes("<!-- compare:start -->")) {
    throw new Error(
      "docs/benchmarks.md has no <!-- compare:start --> marker to replace",
    );
  }
  await Deno.writeTextFile(path, updated);
  console.error("Updated docs/benchmarks.md");
}
