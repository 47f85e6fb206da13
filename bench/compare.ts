/**
 * Times the library's attention backends, the mathjs reference, TensorFlow.js
 * (CPU and WebAssembly backends) and NumPy on the same shapes in one run, and
 * writes the ratios to NumPy's time into docs/benchmarks.md.
 *
 * Usage: deno task bench:compare [--no-write]
 *
 * `--no-write` prints the Markdown section without changing docs/benchmarks.md.
 *
 * NumPy is timed by bench/numpy_attention.py under the first Python that has
 * numpy (PYTHON, then /usr/bin/python3, then python3). OPENBLAS_CORETYPE and
 * OPENBLAS_L2_SIZE are removed from that one process, because they make
 * OpenBLAS pick an older kernel than the CPU supports.
 *
 * Before timing, every engine's output at every shape is checked against the
 * library's TypeScript kernel, so a fast but wrong engine stops the run.
 *
 * @module
 */

import {
  attentionWasmF32,
  RandomState,
  referenceAttention,
  scaledDotProductAttention,
  type Tensor,
  THREADS_MIN_WORK,
  threadsReady,
  wasmSimdSupported,
} from "attention";
import {
  activateTfjsBackend,
  prepareTfjsAttention,
  TFJS_VERSION,
} from "./tfjs_engines.ts";
import { cpus } from "node:os";

type Shape = readonly [number, number, number];
type DTypeName = "float64" | "float32";

/** (B, T = S, D) shapes, the same as bench/numpy_attention.py; the first is Challenge 0's. */
const SHAPES: readonly Shape[] = [
  [2, 10, 64],
  [8, 128, 64],
  [4, 512, 64],
  [1, 2048, 64],
];

/** Warm-up calls per engine and shape: V8 runs a hot function in slower tiers during its first calls. */
const WARMUP_CALLS = 8;
/** Timed calls are repeated until both this many calls and TIME_BUDGET_MS are reached. */
const MIN_TIMED_CALLS = 5;
const TIME_BUDGET_MS = 1000;
/** Bounds the sample kept in memory for microsecond-sized calls. */
const MAX_TIMED_CALLS = 1_000_000;
/**
 * Engines that need seconds per call (mathjs at the largest shapes) stop
 * warming up after this long, with at least 2 warm-up calls, and stop timing
 * after SLOW_TIMED_BUDGET_MS with at least 3 timed calls. The tables mark
 * such cells with their call counts.
 */
const WARMUP_BUDGET_MS = 5000;
const SLOW_TIMED_BUDGET_MS = 6000;

/** Same random Q, K and V in both precisions. */
interface Inputs {
  shape: Shape;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  /** The same values rounded to float32, as tensors and as raw arrays. */
  q32: Tensor;
  k32: Tensor;
  v32: Tensor;
  q32Data: Float32Array;
  k32Data: Float32Array;
  v32Data: Float32Array;
}

/** A call ready to time, returning the (B, T, D) output so it can be checked. */
interface PreparedCall {
  run: () => ArrayLike<number>;
  dispose?: () => void;
}

/** One implementation to time. */
interface Engine {
  id: string;
  /** Row label in the tables. */
  name: string;
  /** Name in the targets table. */
  shortName: string;
  dtype: DTypeName;
  /** Runs once before the engine's first shape, for example to switch TensorFlow.js backends. */
  activate?: () => Promise<void>;
  prepare: (inputs: Inputs) => PreparedCall;
}

const TFJS_LABEL = `TensorFlow.js ${TFJS_VERSION}`;

const ENGINES: Engine[] = [
  {
    id: "typescript",
    shortName: "TypeScript kernel",
    name: 'library, TypeScript kernel (`backend: "typescript"`)',
    dtype: "float64",
    prepare: ({ q, k, v }) => ({
      run: () =>
        scaledDotProductAttention(q, k, v, { backend: "typescript" }).output
          .data,
    }),
  },
  {
    id: "wasm64",
    shortName: "library",
    name: 'library, WebAssembly (`backend: "wasm"`)',
    dtype: "float64",
    prepare: ({ q, k, v }) => ({
      run: () =>
        scaledDotProductAttention(q, k, v, { backend: "wasm" }).output.data,
    }),
  },
  {
    // The same call held to the calling thread shows what the worker threads add.
    id: "wasm64-one-thread",
    shortName: "library on one thread",
    name: "library, WebAssembly on the calling thread only (`threads: 1`)",
    dtype: "float64",
    prepare: ({ q, k, v }) => ({
      run: () =>
        scaledDotProductAttention(q, k, v, { backend: "wasm", threads: 1 })
          .output.data,
    }),
  },
  {
    id: "mathjs",
    shortName: "mathjs",
    name: "mathjs (`referenceAttention`)",
    dtype: "float64",
    prepare: ({ q, k, v }) => ({
      run: () => referenceAttention(q, k, v).output.data,
    }),
  },
  {
    id: "wasm32",
    shortName: "library",
    name: 'library, WebAssembly (`backend: "wasm", dtype: "float32"`)',
    dtype: "float32",
    prepare: ({ q32, k32, v32 }) => ({
      run: () =>
        scaledDotProductAttention(q32, k32, v32, {
          backend: "wasm",
          dtype: "float32",
        }).output.data,
    }),
  },
  {
    id: "wasm32-one-thread",
    shortName: "library on one thread",
    name:
      'library, WebAssembly on the calling thread only (`dtype: "float32", threads: 1`)',
    dtype: "float32",
    prepare: ({ q32, k32, v32 }) => ({
      run: () =>
        scaledDotProductAttention(q32, k32, v32, {
          backend: "wasm",
          dtype: "float32",
          threads: 1,
        }).output.data,
    }),
  },
  {
    // The bare kernel, without the argument checks and tensor wrapping of
    // scaledDotProductAttention, shows what that overhead costs at small shapes.
    id: "wasm32-kernel",
    shortName: "attentionWasmF32",
    name: "library, WebAssembly kernel alone (`attentionWasmF32`)",
    dtype: "float32",
    prepare: ({ shape: [B, T, D], q32Data, k32Data, v32Data }) => ({
      run: () =>
        attentionWasmF32(
          q32Data,
          k32Data,
          v32Data,
          B,
          T,
          T,
          D,
          D,
          1 / Math.sqrt(D),
        ).output,
    }),
  },
  {
    id: "tfjs-cpu",
    shortName: "TF.js CPU",
    name: `${TFJS_LABEL}, CPU backend`,
    dtype: "float32",
    activate: () => activateTfjsBackend("cpu"),
    prepare: ({ shape, q32Data, k32Data, v32Data }) =>
      prepareTfjsAttention(q32Data, k32Data, v32Data, shape),
  },
  {
    id: "tfjs-wasm",
    shortName: "TF.js WebAssembly",
    name: `${TFJS_LABEL}, WebAssembly backend`,
    dtype: "float32",
    activate: () => activateTfjsBackend("wasm"),
    prepare: ({ shape, q32Data, k32Data, v32Data }) =>
      prepareTfjsAttention(q32Data, k32Data, v32Data, shape),
  },
];

/** Median wall time of one call, with the number of calls behind it. */
interface Timing {
  medianMs: number;
  warmupCalls: number;
  timedCalls: number;
}

function isReduced(timing: Timing): boolean {
  return timing.warmupCalls < WARMUP_CALLS ||
    timing.timedCalls < MIN_TIMED_CALLS;
}

/** Times `run` after warming it up; see WARMUP_CALLS and the budgets above. */
function timeCalls(run: () => unknown): Timing {
  let warmupCalls = 0;
  const warmupStart = performance.now();
  while (warmupCalls < WARMUP_CALLS) {
    run();
    warmupCalls++;
    if (
      warmupCalls >= 2 && performance.now() - warmupStart > WARMUP_BUDGET_MS
    ) break;
  }

  const times: number[] = [];
  const start = performance.now();
  while (times.length < MAX_TIMED_CALLS) {
    const t0 = performance.now();
    run();
    const t1 = performance.now();
    times.push(t1 - t0);
    const elapsed = t1 - start;
    if (times.length >= MIN_TIMED_CALLS && elapsed >= TIME_BUDGET_MS) break;
    if (times.length >= 3 && elapsed >= SLOW_TIMED_BUDGET_MS) break;
  }
  times.sort((a, b) => a - b);
  const middle = times.length >> 1;
  const medianMs = times.length % 2 === 1
    ? times[middle]
    : (times[middle - 1] + times[middle]) / 2;
  return { medianMs, warmupCalls, timedCalls: times.length };
}

function makeInputs(shape: Shape): Inputs {
  const [B, T, D] = shape;
  // Standard normal entries, like bench/numpy_attention.py.
  const rng = new RandomState(0);
  const q = rng.randn(B, T, D);
  const k = rng.randn(B, T, D);
  const v = rng.randn(B, T, D);
  const q32 = q.astype("float32");
  const k32 = k.astype("float32");
  const v32 = v.astype("float32");
  return {
    shape,
    q,
    k,
    v,
    q32,
    k32,
    v32,
    q32Data: q32.data as Float32Array,
    k32Data: k32.data as Float32Array,
    v32Data: v32.data as Float32Array,
  };
}

/** Throws if `actual` differs from the f64 TypeScript output by more than the dtype allows. */
function checkOutput(
  engine: Engine,
  shape: Shape,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
): void {
  // f32 rounding of Q K^T and exp gives errors near 1e-6 for these inputs.
  const tolerance = engine.dtype === "float64" ? 1e-9 : 1e-4;
  let worst = 0;
  let worstIndex = 0;
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]) /
      Math.max(1, Math.abs(expected[i]));
    // Written as a negated comparison so that NaN counts as the worst error.
    if (!(error <= worst)) {
      worst = error;
      worstIndex = i;
    }
  }
  if (actual.length !== expected.length || !(worst <= tolerance)) {
    throw new Error(
      `bench:compare: ${engine.name} returned a wrong output at shape ` +
        `(${shape.join(", ")}): ${actual.length} elements (expected ` +
        `${expected.length}), error ${worst} at index ${worstIndex} ` +
        `(tolerance ${tolerance}). Fix that engine before timing it.`,
    );
  }
}

async function findPython(): Promise<string | null> {
  const candidates = [Deno.env.get("PYTHON"), "/usr/bin/python3", "python3"]
    .filter((x): x is string => Boolean(x));
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

/** BLAS entry as bench/numpy_attention.py prints it, from threadpoolctl or OpenBLAS itself. */
interface BlasInfo {
  internal_api?: string;
  version?: string;
  architecture?: string;
  config?: string;
  corename?: string;
  num_threads?: number;
}

interface NumpyTimings {
  numpy: string;
  blas: BlasInfo[] | string;
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
    throw new Error(
      `bench:compare: bench/numpy_attention.py failed under ${python} with exit code ` +
        `${result.code}. Run it by hand to see the Python error.`,
    );
  }
  return JSON.parse(new TextDecoder().decode(result.stdout));
}

function describeBlas(blas: BlasInfo[] | string): string {
  if (typeof blas === "string") return blas;
  return blas.map((entry) => {
    const name = entry.config ??
      [entry.internal_api, entry.version, entry.architecture].filter(Boolean)
        .join(" ");
    const core = entry.corename ? `, core ${entry.corename}` : "";
    return `${name}${core}, ${entry.num_threads ?? "?"} threads`;
  }).join("; ");
}

// Deno 2 reads /proc only with --allow-all, so the CPU model and load come
// from the narrower --allow-sys=cpus,loadavg.
function readCpuModel(): string {
  return cpus()[0]?.model?.trim() || "unknown CPU";
}

function readLoadAverage(): string {
  return Deno.loadavg().map((x) => x.toFixed(2)).join(", ");
}

const shapeKey = ([B, T, D]: Shape) => `${B},${T},${T},${D}`;
const shapeLabel = ([B, T, D]: Shape) => `(${B}, ${T}, ${D})`;

function formatMs(ms: number): string {
  if (ms < 1) return ms.toFixed(4);
  if (ms < 100) return ms.toFixed(2);
  return ms.toFixed(0);
}

function formatRatio(ratio: number): string {
  if (ratio < 10) return `${ratio.toFixed(2)}x`;
  if (ratio < 100) return `${ratio.toFixed(1)}x`;
  return `${ratio.toFixed(0)}x`;
}

// ---- Measure ----

const HELP = `Usage: deno task bench:compare [--no-write]

Times the library's backends, mathjs, TensorFlow.js and NumPy on the same
shapes in one run (a few minutes) and rewrites the results section of
docs/benchmarks.md.

Options:
  --no-write  print the Markdown section instead of writing docs/benchmarks.md
  -h, --help  show this help`;

if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
  console.log(HELP);
  Deno.exit(0);
}
const unknownArgument = Deno.args.find((arg) => arg !== "--no-write");
if (unknownArgument !== undefined) {
  console.error(
    `bench:compare: unknown argument ${unknownArgument}\n\n${HELP}`,
  );
  Deno.exit(2);
}
const write = !Deno.args.includes("--no-write");
const loadAverage = readLoadAverage();
if (!wasmSimdSupported()) {
  throw new Error(
    "bench:compare: this runtime lacks WebAssembly SIMD128, which the library's " +
      "WebAssembly backend needs. Run the comparison with Deno 1.9 or later.",
  );
}

console.error("Timing NumPy with bench/numpy_attention.py ...");
const numpy = await timeNumpy();
if (numpy === null) {
  console.error(
    "No Python with numpy found; the tables give milliseconds only.",
  );
}

// Start the library's worker threads first, so that no timed call runs while
// they start. A program reaches the same state after its first large call.
const threads = await threadsReady();

const inputs = SHAPES.map(makeInputs);
const expected = inputs.map(({ q, k, v }) =>
  scaledDotProductAttention(q, k, v, { backend: "typescript" }).output.data
);

/** Timings by engine id, one entry per shape. */
const timings = new Map<string, Timing[]>();
for (const engine of ENGINES) {
  await engine.activate?.();
  const row: Timing[] = [];
  for (const [i, input] of inputs.entries()) {
    const call = engine.prepare(input);
    try {
      checkOutput(engine, input.shape, call.run(), expected[i]);
      const timing = timeCalls(call.run);
      row.push(timing);
      console.error(
        `${engine.name} ${engine.dtype} ${shapeLabel(input.shape)}: ` +
          `${
            formatMs(timing.medianMs)
          } ms median of ${timing.timedCalls} calls`,
      );
    } finally {
      call.dispose?.();
    }
  }
  timings.set(engine.id, row);
}

// ---- Report ----

function numpyMs(dtype: DTypeName, shape: Shape): number | null {
  return numpy?.[dtype][shapeKey(shape)] ?? null;
}

function ratioToNumpy(id: string, dtype: DTypeName, i: number): number | null {
  const base = numpyMs(dtype, SHAPES[i]);
  return base === null ? null : timings.get(id)![i].medianMs / base;
}

function cell(timing: Timing, base: number | null): string {
  const ms = `${formatMs(timing.medianMs)} ms`;
  const calls = isReduced(timing)
    ? `, ${timing.warmupCalls} warm-up + ${timing.timedCalls} timed calls`
    : "";
  return base === null
    ? `${ms}${calls}`
    : `${formatRatio(timing.medianMs / base)} (${ms}${calls})`;
}

function dtypeTable(dtype: DTypeName): string {
  const header = ["engine", ...SHAPES.map(shapeLabel)];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
  ];
  if (numpy !== null) {
    const cells = SHAPES.map((s) => `1x (${formatMs(numpyMs(dtype, s)!)} ms)`);
    lines.push(`| NumPy ${numpy.numpy} | ${cells.join(" | ")} |`);
  }
  for (const engine of ENGINES.filter((e) => e.dtype === dtype)) {
    const cells = timings.get(engine.id)!.map((t, i) =>
      cell(t, numpyMs(dtype, SHAPES[i]))
    );
    lines.push(`| ${engine.name} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

interface TargetCheck {
  target: string;
  measured: string;
  /** null when NumPy was not timed and the target needs it. */
  pass: boolean | null;
}

/** Finds the worst of `values` (largest, or smallest if `smallestIsWorst`) with its shape. */
function worstOf(
  values: { value: number; shape: Shape }[],
  smallestIsWorst: boolean,
): { value: number; shape: Shape } {
  return values.reduce((a, b) =>
    (smallestIsWorst ? b.value < a.value : b.value > a.value) ? b : a
  );
}

/** Library row per dtype: what `backend: "auto"` runs on these shapes when SIMD128 is available. */
const LIBRARY: Record<DTypeName, string> = {
  float64: "wasm64",
  float32: "wasm32",
};
const OTHER_JS_ENGINES: Record<DTypeName, string[]> = {
  float64: ["mathjs"],
  float32: ["tfjs-cpu", "tfjs-wasm"],
};
const LARGE_SHAPES = [1, 2, 3];
const MAX_LARGE_RATIO: Record<DTypeName, number> = {
  float64: 3,
  float32: 4,
};

function checkTargets(): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const name = (id: string) => ENGINES.find((e) => e.id === id)!.shortName;

  for (const dtype of ["float64", "float32"] as const) {
    const ratio = ratioToNumpy(LIBRARY[dtype], dtype, 0);
    checks.push({
      target: `${dtype}: library no slower than NumPy at ${
        shapeLabel(SHAPES[0])
      }`,
      measured: ratio === null ? "NumPy not timed" : formatRatio(ratio),
      pass: ratio === null ? null : ratio <= 1,
    });
  }

  for (const dtype of ["float64", "float32"] as const) {
    const limit = MAX_LARGE_RATIO[dtype];
    const ratios = LARGE_SHAPES.map((i) => ({
      value: ratioToNumpy(LIBRARY[dtype], dtype, i),
      shape: SHAPES[i],
    }));
    const known = ratios.filter((r): r is { value: number; shape: Shape } =>
      r.value !== null
    );
    const worst = known.length === ratios.length ? worstOf(known, false) : null;
    checks.push({
      target:
        `${dtype}: library at most ${limit}x NumPy at the three larger shapes`,
      measured: worst === null
        ? "NumPy not timed"
        : `worst ${formatRatio(worst.value)} at ${shapeLabel(worst.shape)}`,
      pass: worst === null ? null : worst.value <= limit,
    });
  }

  for (const dtype of ["float64", "float32"] as const) {
    const library = timings.get(LIBRARY[dtype])!;
    const margins = OTHER_JS_ENGINES[dtype].flatMap((id) =>
      timings.get(id)!.map((t, i) => ({
        id,
        value: t.medianMs / library[i].medianMs,
        shape: SHAPES[i],
      }))
    );
    const worst = margins.reduce((a, b) => (b.value < a.value ? b : a));
    checks.push({
      target: `${dtype}: library faster than ${
        OTHER_JS_ENGINES[dtype].map(name).join(" and ")
      } at every shape`,
      measured: `smallest margin ${formatRatio(worst.value)} (${
        name(worst.id)
      } time / library time) at ${shapeLabel(worst.shape)}`,
      pass: worst.value > 1,
    });
  }

  const midShape = 2;
  const tsRatio = ratioToNumpy("typescript", "float64", midShape);
  checks.push({
    target: `float64: TypeScript kernel at most 10x NumPy at ${
      shapeLabel(SHAPES[midShape])
    }`,
    measured: tsRatio === null ? "NumPy not timed" : formatRatio(tsRatio),
    pass: tsRatio === null ? null : tsRatio <= 10,
  });

  const typescript = timings.get("typescript")!;
  const speedups = timings.get("mathjs")!.map((t, i) => ({
    value: t.medianMs / typescript[i].medianMs,
    shape: SHAPES[i],
  }));
  const slowest = worstOf(speedups, true);
  checks.push({
    target:
      "float64: TypeScript kernel at least 12x faster than mathjs at every shape",
    measured: `smallest ${formatRatio(slowest.value)} at ${
      shapeLabel(slowest.shape)
    }`,
    pass: slowest.value >= 12,
  });
  return checks;
}

const checks = checkTargets();
function verdict(pass: boolean | null): string {
  if (pass === null) return "NOT CHECKED";
  return pass ? "PASS" : "FAIL";
}
const targetTable = [
  "| target | measured in this run | result |",
  "|---|---|---|",
  ...checks.map((c) => `| ${c.target} | ${c.measured} | ${verdict(c.pass)} |`),
].join("\n");

const cores = navigator.hardwareConcurrency;
const date = new Date().toISOString().slice(0, 10);
const numpyLine = numpy === null
  ? "NumPy: not found, so the cells give milliseconds only"
  : `NumPy ${numpy.numpy} (BLAS: ${describeBlas(numpy.blas)})`;
const rawSection = `<!-- compare:start -->
Measured on ${date} with \`deno task bench:compare\`.

- Machine: ${readCpuModel()}, ${cores} logical cores; load average ${loadAverage} (1, 5, 15 min) when the run started.
- Versions: Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript}; ${numpyLine}; TensorFlow.js ${TFJS_VERSION} (tfjs-core, tfjs-backend-cpu, tfjs-backend-wasm).
- Method: every engine runs ${WARMUP_CALLS} warm-up calls per shape, then the median of at least ${MIN_TIMED_CALLS} timed calls and ${TIME_BUDGET_MS} ms. A cell that lists call counts used fewer, because one call took seconds. NumPy's script warms up 10 calls and takes the median of at least 20 calls and 1 s.
- Each cell is the engine's median time divided by NumPy's median time for the same dtype and shape (lower is better), with the median in ms.
- Threads: the library's WebAssembly rows split each call with at least ${THREADS_MIN_WORK} query-key pairs (B * T * S) across ${threads} threads, the default on this machine; every shape here but (2, 10, 64) is that large. The rows marked \`threads: 1\` run the same calls on the calling thread only. The TypeScript kernel and mathjs run on one thread. OpenBLAS may use the thread count listed above. TensorFlow.js's WebAssembly backend runs its single-threaded SIMD binary, because it finds no multithreaded WebAssembly support under Deno.

### float64

${dtypeTable("float64")}

### float32

TensorFlow.js computes in float32 only, so it is compared here.

${dtypeTable("float32")}

### Targets

"Library" is \`scaledDotProductAttention\` with \`backend: "wasm"\` and the default threads in each dtype, which is what \`backend: "auto"\` runs at these shapes when the runtime supports WebAssembly SIMD128. The library is compared with JavaScript engines of its own dtype only. Every figure comes from the run above.

${targetTable}
<!-- compare:end -->`;

/** Formats Markdown with `deno fmt`, so that `deno fmt --check` passes on the written page. */
async function formatMarkdown(markdown: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext", "md", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(markdown));
  await writer.close();
  const result = await child.output();
  if (!result.success) {
    throw new Error(
      `bench:compare: \`deno fmt --ext md -\` failed on the results section: ` +
        `${new TextDecoder().decode(result.stderr)}`,
    );
  }
  return new TextDecoder().decode(result.stdout).trimEnd();
}

const section = await formatMarkdown(rawSection);
console.log(section);

if (write) {
  const path = new URL("../docs/benchmarks.md", import.meta.url);
  const current = await Deno.readTextFile(path);
  const pattern = /<!-- compare:start -->[\s\S]*<!-- compare:end -->/;
  if (!pattern.test(current)) {
    throw new Error(
      "bench:compare: docs/benchmarks.md has no <!-- compare:start --> ... " +
        "<!-- compare:end --> block to replace. Add the two markers where the " +
        "results belong, or pass --no-write.",
    );
  }
  // A replacer function keeps any `$` in the section from being read as a pattern reference.
  await Deno.writeTextFile(path, current.replace(pattern, () => section));
  console.error("Updated docs/benchmarks.md");
}
