/**
 * Generates the WebAssembly text (WAT) of the SIMD128 attention kernels.
 *
 * The f64 and f32 kernels share one algorithm and differ only in lane type,
 * lane count and exp constants, so this module writes both from one template
 * instead of keeping two hand-written copies in step. `wasm/build.ts` compiles
 * the text with wabt.
 *
 * Exported functions of the module, per precision `p` in `f64` and `f32`:
 * `attention_p(q, k, v, out, scores, weights, mask, T, S, D, Dv, scale)`
 * processes one batch entry. Pointers are byte addresses in the exported
 * memory, rows are contiguous: q (T, D), k (S, D), v (S, Dv), out (T, Dv),
 * scores and weights (T, S), mask (T, S) bytes with 0 marking an excluded key.
 * `mask` 0 means no mask, and `scores` equal to `weights` means the scores are
 * not kept, so the softmax runs in place. The exported global `heap_base` is
 * the first byte the caller may use, because the f64 exp table lies below it.
 *
 * `attention_stream_p(q, k, v, out, scratch, mask, T, S, D, Dv, scale, causal)`
 * computes only `out` of one batch entry with the online softmax recurrence,
 * holding one block of scores in `scratch`, which needs
 * `stream_scratch_elements` (an exported global) elements; see `streamDriver`.
 *
 * `all_finite_p(ptr, n)` returns 1 when the `n` elements at byte address
 * `ptr` are all finite and 0 otherwise; see `finiteScan`.
 *
 * @module
 */

/** Lane type and constants for one floating-point precision. */
interface Precision {
  /** Suffix of the exported names and the scalar value type. */
  readonly name: "f64" | "f32";
  /** SIMD shape of the float lanes. */
  readonly vec: "f64x2" | "f32x4";
  /** SIMD shape of the integer lanes of the same width. */
  readonly int: "i64x2" | "i32x4";
  /** Number of lanes in one v128. */
  readonly lanes: number;
  /** Bytes per element. */
  readonly bytes: number;
  /** Instruction that loads one element and copies it into every lane. */
  readonly loadSplat: string;
  /** Inputs below this give exp(x) = 0 after rounding; clamping there keeps -Infinity out of the reduction. */
  readonly expMin: number;
  /** Exponent bias of the format. */
  readonly bias: number;
  /** Number of stored mantissa bits, which is also the bit position of the exponent field. */
  readonly mantissaBits: number;
  /** 1.5 * 2^mantissaBits: adding it rounds a float to an integer held in the low bits. */
  readonly roundMagic: number;
  /** High part of ln 2 with trailing zero bits, so k * ln2Hi is exact for the k that occur. */
  readonly ln2Hi: number;
  /** ln 2 - ln2Hi. */
  readonly ln2Lo: number;
  /** Degree of the Taylor polynomial for exp(r); see `expInline` for the range of r. */
  readonly expDegree: number;
  /**
   * Whether multiply-adds use `relaxed_madd` from the relaxed-SIMD proposal,
   * which runs as one fused instruction where the CPU has FMA, so the result
   * can differ from a separate multiply and add in the last bit.
   */
  readonly fma: boolean;
  /**
   * Query rows per block of the scores kernel. For f32, 3 and 4 rows of a
   * 4-key block measured slower than 2 (Deno 2.9, 2-core x86-64 VM), likely
   * because their 12 or 16 accumulators plus the loaded vectors do not fit
   * in the 16 SIMD registers of x86-64.
   */
  readonly scoreRows: number;
  /**
   * Key rows per block of the scores kernel. When it equals `lanes` (f32),
   * the block's sums are transposed into one vector per query row and stored
   * at once, instead of reduced and stored one score at a time.
   */
  readonly scoreCols: number;
}

// Truncation error of the Taylor series: 0.0055^6 / 6! ~ 3.4e-17 for f64 on
// |r| <= ln(2) / 128, and 0.347^8 / 8! ~ 5e-9 for f32 on |r| <= ln(2) / 2.
const F64: Precision = {
  name: "f64",
  vec: "f64x2",
  int: "i64x2",
  lanes: 2,
  bytes: 8,
  loadSplat: "v128.load64_splat",
  expMin: -746,
  bias: 1023,
  mantissaBits: 52,
  roundMagic: 6755399441055744,
  ln2Hi: 6.93147180369123816490e-01,
  ln2Lo: 1.90821492927058770002e-10,
  expDegree: 5,
  fma: false,
  scoreRows: 4,
  scoreCols: 2,
};

const F32: Precision = {
  name: "f32",
  vec: "f32x4",
  int: "i32x4",
  lanes: 4,
  bytes: 4,
  loadSplat: "v128.load32_splat",
  expMin: -104,
  bias: 127,
  mantissaBits: 23,
  roundMagic: 12582912,
  ln2Hi: 0.693359375,
  ln2Lo: -2.12194440e-4,
  expDegree: 7,
  fma: false,
  scoreRows: 2,
  scoreCols: 4,
};

/**
 * Query rows per block of the driver: scores, softmax and output run per
 * block, so its score rows are still in L2 when the later passes read them.
 */
const BLOCK_ROWS = 16;
/**
 * Bytes of V rows per key tile of the weights-times-V pass. It is a quarter
 * of a 1 MiB L2 cache, so a tile stays in L2 while every row pair of a block
 * reads it. Without tiles, a V larger than L2 streams from L3 per row pair.
 */
const V_TILE_BYTES = 262144;
/** Vectors per iteration of the softmax exp loop, computed as interleaved independent chains. */
const EXP_UNROLL = 4;
/** Query rows per block of the weights-times-V kernel without a mask. */
const PV_ROWS = 2;
/** v128 output columns per block of the weights-times-V kernel. */
const PV_VECTORS = 4;

/** Emits a * b + c, fused when `p.fma` is set. */
function madd(p: Precision, a: string, b: string, c: string): string {
  if (p.fma) return `(${p.vec}.relaxed_madd ${a} ${b} ${c})`;
  return `(${p.vec}.add ${c} (${p.vec}.mul ${a} ${b}))`;
}

function fmt(p: Precision, value: number): string {
  const v = p.name === "f32" ? Math.fround(value) : value;
  if (v === -Infinity) return "-inf";
  return String(v);
}

function splat(p: Precision, value: number): string {
  const v = fmt(p, value);
  return `(v128.const ${p.vec} ${Array(p.lanes).fill(v).join(" ")})`;
}

function hsum(p: Precision, expr: string): string {
  const lane = (i: number) => `(${p.vec}.extract_lane ${i} ${expr})`;
  if (p.lanes === 2) return `(${p.name}.add ${lane(0)} ${lane(1)})`;
  return `(${p.name}.add (${p.name}.add ${lane(0)} ${lane(1)}) (${p.name}.add ${
    lane(2)
  } ${lane(3)}))`;
}

function hmax(p: Precision, expr: string): string {
  const lane = (i: number) => `(${p.vec}.extract_lane ${i} ${expr})`;
  if (p.lanes === 2) return `(${p.name}.max ${lane(0)} ${lane(1)})`;
  return `(${p.name}.max (${p.name}.max ${lane(0)} ${lane(1)}) (${p.name}.max ${
    lane(2)
  } ${lane(3)}))`;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Taylor coefficients 1/n! of exp, n = 0..degree. */
function expCoefficients(degree: number): number[] {
  const coefficients = [1];
  let factorial = 1;
  for (let n = 1; n <= degree; n++) {
    factorial *= n;
    coefficients.push(1 / factorial);
  }
  return coefficients;
}

/** Entries of the f64 exp table: 2^(j / EXP_TABLE_SIZE) for j = 0..EXP_TABLE_SIZE-1. */
const EXP_TABLE_SIZE = 64;
/** Byte address of the f64 exp table in linear memory. */
const EXP_TABLE_ADDRESS = 16;
/** First byte that the module leaves to its caller; exported as `heap_base`. */
const HEAP_BASE = 1024;
/**
 * Exponent offset stored in the table entries and removed by one final
 * multiply, so that 2^k * table[j] stays a normal number for k down to -1077.
 */
const EXP_TABLE_BIAS = 600;

/**
 * Returns the bits of 2^(j / size) rounded to nearest as an f64, computed
 * exactly with BigInt because Math.pow is not guaranteed to round correctly.
 */
function exp2FractionBits(j: number, size: number): bigint {
  // Find the 53-bit mantissa m with (m / 2^52)^size closest to 2^j.
  const target = 1n << BigInt(52 * size + j);
  let low = 1n << 52n;
  let high = 1n << 53n;
  while (high - low > 1n) {
    const middle = (low + high) >> 1n;
    if (middle ** BigInt(size) <= target) low = middle;
    else high = middle;
  }
  // Round up when (low + 1/2)^size <= 2^j, that is (2 low + 1)^size <= 2^(j + size) target.
  const m = (2n * low + 1n) ** BigInt(size) <= target << BigInt(size)
    ? low + 1n
    : low;
  return (1023n << 52n) + (m - (1n << 52n));
}

/** Emits the data segment of the f64 exp table, each entry scaled by 2^EXP_TABLE_BIAS. */
function expTableData(): string {
  let bytes = "";
  for (let j = 0; j < EXP_TABLE_SIZE; j++) {
    let bits = exp2FractionBits(j, EXP_TABLE_SIZE) +
      (BigInt(EXP_TABLE_BIAS) << 52n);
    for (let n = 0; n < 8; n++) {
      bytes += "\\" + Number(bits & 0xffn).toString(16).padStart(2, "0");
      bits >>= 8n;
    }
  }
  return `(data (i32.const ${EXP_TABLE_ADDRESS}) "${bytes}")`;
}

/**
 * Emits the local declarations and initialisation of the exp constants.
 *
 * V8 (Deno 2.9) rebuilds a `v128.const` inside a loop on every iteration
 * with several instructions. Locals set once before the loop turn each
 * constant into a register or stack read instead.
 */
function expConstants(p: Precision): { declare: string; init: string } {
  const intSplat = (value: number) =>
    `(v128.const ${p.int} ${Array(p.lanes).fill(value).join(" ")})`;
  const values: [string, string][] = [["$cMin", splat(p, p.expMin)], [
    "$cMagic",
    splat(p, p.roundMagic),
  ]];
  if (p.name === "f64") {
    values.push(
      ["$cLog2e", splat(p, EXP_TABLE_SIZE * Math.LOG2E)],
      ["$cLn2Hi", splat(p, p.ln2Hi / EXP_TABLE_SIZE)],
      ["$cLn2Lo", splat(p, p.ln2Lo / EXP_TABLE_SIZE)],
      ["$cIndex", intSplat((EXP_TABLE_SIZE - 1) * 8)],
      ["$cExponent", intSplat(-EXP_TABLE_SIZE)],
      ["$cUnbias", splat(p, 2 ** -EXP_TABLE_BIAS)],
    );
  } else {
    values.push(
      ["$cLog2e", splat(p, Math.LOG2E)],
      ["$cLn2Hi", splat(p, p.ln2Hi)],
      ["$cLn2Lo", splat(p, p.ln2Lo)],
      ["$cBias", intSplat(p.bias)],
    );
  }
  expCoefficients(p.expDegree).forEach((c, n) =>
    values.push([`$cPoly${n}`, splat(p, c)])
  );
  return {
    declare: values.map(([name]) => `(local ${name} v128)`).join(" "),
    init: values.map(([name, value]) => `(local.set ${name} ${value})`).join(
      "\n",
    ),
  };
}

/** Emits `terms[0] + terms[1] r + terms[2] r^2 + ...` by Estrin's scheme, storing powers of r in locals. */
function estrin(
  p: Precision,
  terms: string[],
  r: string,
  powerLocal: (level: number) => string,
  lines: string[],
): string {
  const v = p.vec;
  let power = r;
  let level = 0;
  while (terms.length > 1) {
    const next: string[] = [];
    for (let n = 0; n < terms.length; n += 2) {
      next.push(
        n + 1 < terms.length
          ? madd(p, terms[n + 1], power, terms[n])
          : terms[n],
      );
    }
    terms = next;
    if (terms.length > 1) {
      level++;
      lines.push(
        `(local.set ${powerLocal(level)} (${v}.mul ${power} ${power}))`,
      );
      power = `(local.get ${powerLocal(level)})`;
    }
  }
  return terms[0];
}

/**
 * Emits instructions that set local `$e<s>` to exp(local `$x<s>`) lane-wise,
 * where `<s>` is `suffix`, so that two copies can be interleaved.
 *
 * Every lane of `$x` must be <= 0, -Infinity or NaN, which holds for s - max.
 * Lanes below `expMin`, -Infinity included, are clamped there and give 0.
 * The polynomials are evaluated with Estrin's scheme, whose dependency chain
 * is shorter than Horner's; latency, not throughput, bounds the loop otherwise.
 *
 * f64: exp(x) = 2^k * 2^(j/64) * exp(r) with n = round(64 x / ln 2),
 * k = floor(n / 64), j = n mod 64 and r = x - n ln(2) / 64, |r| <= ln(2) / 128,
 * so a degree-5 Taylor polynomial is within 3.4e-17 relative. 2^(j/64) comes
 * from a table, and k is added to the exponent field of the table entry.
 * Each entry carries an extra 2^600 so the sum stays normal down to k = -1077.
 * A final multiply by 2^-600 then rounds into the subnormal range or to 0 as
 * a direct exp would.
 *
 * f32: exp(x) = 2^k * exp(r) with k = round(x / ln 2) and a degree-7
 * polynomial; 2^k is applied as 2^k1 * 2^k2 with k1 = floor(k / 2), because k
 * can reach -150, below the smallest normal exponent.
 *
 * In both, r = x - n * c is computed with c split in a high part with
 * trailing zero bits and a low part (Cody-Waite), so r keeps full precision.
 * Needs locals `expLocals(suffix)` and those of `expConstants`.
 */
function expInline(p: Precision, suffix: string): string[] {
  const v = p.vec;
  const i = p.int;
  const get = (name: string) => `(local.get $${name}${suffix})`;
  const set = (name: string, value: string) =>
    `(local.set $${name}${suffix} ${value})`;
  const lines: string[] = [];
  lines.push(set("x", `(${v}.pmax ${get("x")} (local.get $cMin))`));
  lines.push(
    set(
      "t",
      `(${v}.add (${v}.mul ${
        get("x")
      } (local.get $cLog2e)) (local.get $cMagic))`,
    ),
  );
  // The bit pattern of t minus that of the magic constant is n as an integer.
  lines.push(set("ki", `(${i}.sub ${get("t")} (local.get $cMagic))`));
  lines.push(set("t", `(${v}.sub ${get("t")} (local.get $cMagic))`));
  lines.push(
    set(
      "r",
      `(${v}.sub (${v}.sub ${get("x")} (${v}.mul ${
        get("t")
      } (local.get $cLn2Hi))) (${v}.mul ${get("t")} (local.get $cLn2Lo)))`,
    ),
  );
  const coefficients = expCoefficients(p.expDegree).map((_, n) =>
    `(local.get $cPoly${n})`
  );
  const polynomial = estrin(
    p,
    coefficients,
    get("r"),
    (level) => `$pw${level}${suffix}`,
    lines,
  );
  if (p.name === "f64") {
    // $r is reused for the table byte offset 8 j, then for 2^(k + 600) * 2^(j/64).
    lines.push(set("x", polynomial));
    lines.push(
      set(
        "r",
        `(v128.and (i64x2.shl ${get("ki")} (i32.const 3)) (local.get $cIndex))`,
      ),
    );
    lines.push(
      set(
        "t",
        `(i64x2.shl (v128.and ${get("ki")} (local.get $cExponent)) (i32.const ${
          p.mantissaBits - Math.log2(EXP_TABLE_SIZE)
        }))`,
      ),
    );
    const address = (lane: number) =>
      `(i32.wrap_i64 (i64x2.extract_lane ${lane} ${get("r")}))`;
    lines.push(
      set(
        "r",
        `(v128.load64_lane offset=${EXP_TABLE_ADDRESS} 1 ${
          address(1)
        } (v128.load64_splat offset=${EXP_TABLE_ADDRESS} ${address(0)}))`,
      ),
    );
    lines.push(
      set(
        "e",
        `(f64x2.mul (f64x2.mul ${get("x")} (i64x2.add ${get("r")} ${
          get("t")
        })) (local.get $cUnbias))`,
      ),
    );
  } else {
    // $x is reused for the polynomial, $r and $t for the two power-of-two factors.
    lines.push(set("x", polynomial));
    lines.push(set("r", `(${i}.shr_s ${get("ki")} (i32.const 1))`));
    lines.push(
      set(
        "t",
        `(${i}.shl (${i}.add (${i}.sub ${get("ki")} ${
          get("r")
        }) (local.get $cBias)) (i32.const ${p.mantissaBits}))`,
      ),
    );
    lines.push(
      set(
        "r",
        `(${i}.shl (${i}.add ${
          get("r")
        } (local.get $cBias)) (i32.const ${p.mantissaBits}))`,
      ),
    );
    lines.push(
      set("e", `(${v}.mul (${v}.mul ${get("x")} ${get("r")}) ${get("t")})`),
    );
  }
  return lines;
}

/** Declares the locals that `expInline(p, suffix)` uses. */
function expLocals(suffix: string): string {
  return ["x", "t", "r", "ki", "e", "pw1", "pw2", "pw3"].map((name) =>
    `(local $${name}${suffix} v128)`
  ).join(" ");
}

/** Interleaves instruction lists line by line, so independent work sits close together. */
function zip(lists: string[][]): string {
  const out: string[] = [];
  const length = Math.max(...lists.map((list) => list.length));
  for (let n = 0; n < length; n++) {
    for (const list of lists) {
      if (n < list.length) out.push(list[n]);
    }
  }
  return out.join("\n");
}

/** Emits `$dot_RxC`: scores of R query rows against C key rows, scaled. */
function dotBlock(p: Precision, rows: number, cols: number): string {
  const t = p.name;
  const out: string[] = [];
  out.push(
    `(func $dot_${rows}x${cols}_${t} (param $q i32) (param $k i32) (param $dst i32)`,
  );
  out.push(
    `  (param $rowBytes i32) (param $dstRowBytes i32) (param $scale ${t})`,
  );
  const transposed = cols === p.lanes && p.lanes === 4;
  out.push(
    `  (local $o i32) (local $end i32) (local $end2 i32)${
      transposed ? " (local $scalev v128)" : ""
    }`,
  );
  for (const r of range(rows)) out.push(`  (local $q${r} i32)`);
  for (const c of range(cols)) out.push(`  (local $k${c} i32)`);
  for (const r of range(rows)) {
    for (const c of range(cols)) {
      // The transposed block adds its scalar tail into lane 0 of $a, so it needs no $s.
      out.push(
        transposed
          ? `  (local $a${r}_${c} v128)`
          : `  (local $a${r}_${c} v128) (local $s${r}_${c} ${t})`,
      );
    }
  }
  for (const r of range(rows)) {
    out.push(
      `(local.set $q${r} (i32.add (local.get $q) (i32.mul (local.get $rowBytes) (i32.const ${r}))))`,
    );
  }
  for (const c of range(cols)) {
    out.push(
      `(local.set $k${c} (i32.add (local.get $k) (i32.mul (local.get $rowBytes) (i32.const ${c}))))`,
    );
  }
  // Bytes covered by whole vectors, and by whole groups of `unroll` vectors
  // for the unrolled loop. The 2x4 f32 block unrolls by 4 because its D = 64
  // rows are only 16 vectors long, so the loop counter and branch weigh more.
  out.push(`(local.set $end (i32.and (local.get $rowBytes) (i32.const -16)))`);
  const unroll = transposed ? 4 : 2;
  out.push(
    `(local.set $end2 (i32.and (local.get $rowBytes) (i32.const ${
      -16 * unroll
    })))`,
  );
  const body = (offset: number) => {
    const lines: string[] = [];
    const load = (base: string) =>
      `(v128.load offset=${offset} (i32.add (local.get ${base}) (local.get $o)))`;
    for (const r of range(rows)) {
      for (const c of range(cols)) {
        lines.push(
          `(local.set $a${r}_${c} ${
            madd(p, load(`$q${r}`), load(`$k${c}`), `(local.get $a${r}_${c})`)
          })`,
        );
      }
    }
    return lines.join("\n");
  };
  out.push(`(block $pairsDone (loop $pairs`);
  out.push(`(br_if $pairsDone (i32.ge_u (local.get $o) (local.get $end2)))`);
  for (const u of range(unroll)) out.push(body(16 * u));
  out.push(
    `(local.set $o (i32.add (local.get $o) (i32.const ${16 * unroll})))`,
  );
  out.push(`(br $pairs)))`);
  out.push(`(block $vecDone (loop $vec`);
  out.push(`(br_if $vecDone (i32.ge_u (local.get $o) (local.get $end)))`);
  out.push(body(0));
  out.push(`(local.set $o (i32.add (local.get $o) (i32.const 16)))`);
  out.push(`(br $vec)))`);
  out.push(`(block $tailDone (loop $tail`);
  out.push(`(br_if $tailDone (i32.ge_u (local.get $o) (local.get $rowBytes)))`);
  for (const r of range(rows)) {
    for (const c of range(cols)) {
      const product =
        `(${t}.mul (${t}.load (i32.add (local.get $q${r}) (local.get $o))) (${t}.load (i32.add (local.get $k${c}) (local.get $o))))`;
      out.push(
        transposed
          ? `(local.set $a${r}_${c} (${p.vec}.replace_lane 0 (local.get $a${r}_${c}) (${t}.add (${p.vec}.extract_lane 0 (local.get $a${r}_${c})) ${product})))`
          : `(local.set $s${r}_${c} (${t}.add (local.get $s${r}_${c}) ${product}))`,
      );
    }
  }
  out.push(`(local.set $o (i32.add (local.get $o) (i32.const ${p.bytes})))`);
  out.push(`(br $tail)))`);
  if (transposed) {
    out.push(...transposedStores(p, rows));
    out.push(`)`);
    return out.join("\n");
  }
  for (const r of range(rows)) {
    for (const c of range(cols)) {
      out.push(
        `(${t}.store offset=${
          c * p.bytes
        } (i32.add (local.get $dst) (i32.mul (local.get $dstRowBytes) (i32.const ${r})))`,
      );
      out.push(
        `  (${t}.mul (${t}.add ${
          hsum(p, `(local.get $a${r}_${c})`)
        } (local.get $s${r}_${c})) (local.get $scale)))`,
      );
    }
  }
  out.push(`)`);
  return out.join("\n");
}

/**
 * Emits the stores of a 4-key f32 block: for each query row r, the four
 * accumulators `$a<r>_0..3` are transposed and added into one vector of the
 * four horizontal sums, scaled and stored with one v128.store. This takes 6
 * shuffles and 3 adds per row where four separate reductions take 12 lane
 * extracts, 12 adds and 4 scalar stores.
 */
function transposedStores(p: Precision, rows: number): string[] {
  const v = p.vec;
  // Byte indices of i8x16.shuffle: lanes 0..3 of the first operand are bytes 0..15, of the second 16..31.
  const lanesOf = (lanes: number[]) =>
    lanes.flatMap((lane) => range(4).map((n) => 4 * lane + n)).join(" ");
  const shuffle = (lanes: number[], a: string, b: string) =>
    `(i8x16.shuffle ${lanesOf(lanes)} ${a} ${b})`;
  const pairSum = (a: string, b: string) =>
    `(${v}.add ${shuffle([0, 4, 1, 5], a, b)} ${shuffle([2, 6, 3, 7], a, b)})`;
  const lines = [`(local.set $scalev (${v}.splat (local.get $scale)))`];
  for (const r of range(rows)) {
    const a = (c: number) => `(local.get $a${r}_${c})`;
    // Lanes of $a<r>_0 hold [a0+a2 of keys 0, 1, a1+a3 of keys 0, 1]; likewise $a<r>_2 for keys 2, 3.
    lines.push(`(local.set $a${r}_0 ${pairSum(a(0), a(1))})`);
    lines.push(`(local.set $a${r}_2 ${pairSum(a(2), a(3))})`);
    lines.push(
      `(v128.store (i32.add (local.get $dst) (i32.mul (local.get $dstRowBytes) (i32.const ${r})))`,
    );
    lines.push(
      `  (${v}.mul (${v}.add ${shuffle([0, 1, 4, 5], a(0), a(2))} ${
        shuffle([2, 3, 6, 7], a(0), a(2))
      }) (local.get $scalev)))`,
    );
  }
  return lines;
}

/** Emits `$scores_rows_R`: R full rows of scores, stepping through the keys in blocks. */
function scoresRows(p: Precision, rows: number): string {
  const t = p.name;
  return `
(func $scores_rows_${rows}_${t} (param $q i32) (param $k i32) (param $dst i32) (param $S i32)
  (param $rowBytes i32) (param $dstRowBytes i32) (param $scale ${t})
  (local $j i32)
  (block $blocksDone (loop $blocks
    (br_if $blocksDone (i32.gt_u (i32.add (local.get $j) (i32.const ${p.scoreCols})) (local.get $S)))
    (call $dot_${rows}x${p.scoreCols}_${t} (local.get $q) (local.get $k) (local.get $dst)
      (local.get $rowBytes) (local.get $dstRowBytes) (local.get $scale))
    (local.set $k (i32.add (local.get $k) (i32.mul (local.get $rowBytes) (i32.const ${p.scoreCols}))))
    (local.set $dst (i32.add (local.get $dst) (i32.const ${
    p.scoreCols * p.bytes
  })))
    (local.set $j (i32.add (local.get $j) (i32.const ${p.scoreCols})))
    (br $blocks)))
  (block $restDone (loop $rest
    (br_if $restDone (i32.ge_u (local.get $j) (local.get $S)))
    (call $dot_${rows}x1_${t} (local.get $q) (local.get $k) (local.get $dst)
      (local.get $rowBytes) (local.get $dstRowBytes) (local.get $scale))
    (local.set $k (i32.add (local.get $k) (local.get $rowBytes)))
    (local.set $dst (i32.add (local.get $dst) (i32.const ${p.bytes})))
    (local.set $j (i32.add (local.get $j) (i32.const 1)))
    (br $rest)))
)`;
}

/**
 * Emits the passes that replace `$src[0 .. $rowBytes)` by exp(s - max) in
 * `$dst` and leave their sum in `$sum`, four vectors at a time, then one
 * vector, then one element.
 *
 * Needs the locals of `softmaxRow`: `$o`, `$end`, `$endUnrolled`, `$rowBytes`,
 * `$maxv` (max in every lane), `$max`, `$sum`, `$sumv`, `$sumv<u>`, the exp
 * locals of each unrolled chain, and the initialised exp constants.
 */
function expSumPasses(p: Precision): string {
  const t = p.name;
  const v = p.vec;
  const b = p.bytes;
  return `  (local.set $sumv (v128.const i64x2 0 0))
${
    range(EXP_UNROLL).map((u) =>
      `  (local.set $sumv${u} (v128.const i64x2 0 0))`
    ).join("\n")
  }
  (local.set $o (i32.const 0))
  (block $expUnrolledDone (loop $expUnrolled
    (br_if $expUnrolledDone (i32.ge_u (local.get $o) (local.get $endUnrolled)))
${
    range(EXP_UNROLL).map((u) =>
      `    (local.set $x${u} (${v}.sub (v128.load offset=${
        u * 16
      } (i32.add (local.get $src) (local.get $o))) (local.get $maxv)))`
    ).join("\n")
  }
${zip(range(EXP_UNROLL).map((u) => expInline(p, String(u))))}
${
    range(EXP_UNROLL).map((u) =>
      `    (v128.store offset=${
        u * 16
      } (i32.add (local.get $dst) (local.get $o)) (local.get $e${u}))
    (local.set $sumv${u} (${v}.add (local.get $sumv${u}) (local.get $e${u})))`
    ).join("\n")
  }
    (local.set $o (i32.add (local.get $o) (i32.const ${EXP_UNROLL * 16})))
    (br $expUnrolled)))
${
    range(EXP_UNROLL).map((u) =>
      `  (local.set $sumv (${v}.add (local.get $sumv) (local.get $sumv${u})))`
    ).join("\n")
  }
  (block $expDone (loop $expLoop
    (br_if $expDone (i32.ge_u (local.get $o) (local.get $end)))
    (local.set $x0 (${v}.sub (v128.load (i32.add (local.get $src) (local.get $o))) (local.get $maxv)))
${expInline(p, "0").join("\n")}
    (v128.store (i32.add (local.get $dst) (local.get $o)) (local.get $e0))
    (local.set $sumv (${v}.add (local.get $sumv) (local.get $e0)))
    (local.set $o (i32.add (local.get $o) (i32.const 16)))
    (br $expLoop)))
  (local.set $sum ${hsum(p, "(local.get $sumv)")})
  ;; The tail uses the vector exp on a splat so every weight comes from the same formula.
  (block $expTailDone (loop $expTail
    (br_if $expTailDone (i32.ge_u (local.get $o) (local.get $rowBytes)))
    (local.set $x0 (${v}.splat (${t}.sub (${t}.load (i32.add (local.get $src) (local.get $o))) (local.get $max))))
${expInline(p, "0").join("\n")}
    (${t}.store (i32.add (local.get $dst) (local.get $o)) (${v}.extract_lane 0 (local.get $e0)))
    (local.set $sum (${t}.add (local.get $sum) (${v}.extract_lane 0 (local.get $e0))))
    (local.set $o (i32.add (local.get $o) (i32.const ${b})))
    (br $expTail)))`;
}

/**
 * Emits `$softmax_row`: weights = exp(s - max) / sum over one row of n scores.
 *
 * Masked scores are first overwritten with -Infinity in `src`, so they get
 * weight 0. A row whose max is -Infinity (every key masked) gets all-zero
 * weights instead of the NaN that 0 / 0 would give.
 */
function softmaxRow(p: Precision): string {
  const t = p.name;
  const v = p.vec;
  const b = p.bytes;
  const constants = expConstants(p);
  return `
(func $softmax_row_${t} (param $src i32) (param $dst i32) (param $n i32) (param $mask i32)
  (local $o i32) (local $end i32) (local $rowBytes i32) (local $j i32)
  (local $end2 i32) (local $endUnrolled i32) (local $maxv v128) (local $maxv1 v128) (local $sumv v128)
  ${
    range(EXP_UNROLL).map((u) =>
      `(local $sumv${u} v128) ${expLocals(String(u))}`
    ).join("\n  ")
  }
  (local $max ${t}) (local $sum ${t}) (local $inv ${t})
  ${constants.declare}
  (local.set $rowBytes (i32.mul (local.get $n) (i32.const ${b})))
  (local.set $end (i32.and (local.get $rowBytes) (i32.const -16)))
  (local.set $end2 (i32.and (local.get $rowBytes) (i32.const -32)))
  (local.set $endUnrolled (i32.and (local.get $rowBytes) (i32.const ${
    -16 * EXP_UNROLL
  })))
  (if (local.get $mask) (then
    (block $maskDone (loop $maskLoop
      (br_if $maskDone (i32.ge_u (local.get $j) (local.get $n)))
      (if (i32.eqz (i32.load8_u (i32.add (local.get $mask) (local.get $j)))) (then
        (${t}.store (i32.add (local.get $src) (i32.mul (local.get $j) (i32.const ${b}))) (${t}.const -inf))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $maskLoop)))))
  (local.set $maxv ${splat(p, -Infinity)})
  (local.set $maxv1 ${splat(p, -Infinity)})
  (block $max2Done (loop $max2Loop
    (br_if $max2Done (i32.ge_u (local.get $o) (local.get $end2)))
    (local.set $maxv (${v}.pmax (local.get $maxv) (v128.load (i32.add (local.get $src) (local.get $o)))))
    (local.set $maxv1 (${v}.pmax (local.get $maxv1) (v128.load offset=16 (i32.add (local.get $src) (local.get $o)))))
    (local.set $o (i32.add (local.get $o) (i32.const 32)))
    (br $max2Loop)))
  (local.set $maxv (${v}.pmax (local.get $maxv) (local.get $maxv1)))
  (block $maxDone (loop $maxLoop
    (br_if $maxDone (i32.ge_u (local.get $o) (local.get $end)))
    (local.set $maxv (${v}.pmax (local.get $maxv) (v128.load (i32.add (local.get $src) (local.get $o)))))
    (local.set $o (i32.add (local.get $o) (i32.const 16)))
    (br $maxLoop)))
  (local.set $max ${hmax(p, "(local.get $maxv)")})
  (block $maxTailDone (loop $maxTail
    (br_if $maxTailDone (i32.ge_u (local.get $o) (local.get $rowBytes)))
    (local.set $max (${t}.max (local.get $max) (${t}.load (i32.add (local.get $src) (local.get $o)))))
    (local.set $o (i32.add (local.get $o) (i32.const ${b})))
    (br $maxTail)))
  (if (${t}.eq (local.get $max) (${t}.const -inf)) (then
    (memory.fill (local.get $dst) (i32.const 0) (local.get $rowBytes))
    (return)))
  (local.set $maxv (${v}.splat (local.get $max)))
${constants.init}
${expSumPasses(p)}
  (local.set $inv (${t}.div (${t}.const 1) (local.get $sum)))
  (local.set $maxv (${v}.splat (local.get $inv)))
  (local.set $o (i32.const 0))
  (block $scaleDone (loop $scaleLoop
    (br_if $scaleDone (i32.ge_u (local.get $o) (local.get $end)))
    (v128.store (i32.add (local.get $dst) (local.get $o))
      (${v}.mul (v128.load (i32.add (local.get $dst) (local.get $o))) (local.get $maxv)))
    (local.set $o (i32.add (local.get $o) (i32.const 16)))
    (br $scaleLoop)))
  (block $scaleTailDone (loop $scaleTail
    (br_if $scaleTailDone (i32.ge_u (local.get $o) (local.get $rowBytes)))
    (${t}.store (i32.add (local.get $dst) (local.get $o))
      (${t}.mul (${t}.load (i32.add (local.get $dst) (local.get $o))) (local.get $inv)))
    (local.set $o (i32.add (local.get $o) (i32.const ${b})))
    (br $scaleTail)))
)`;
}

/**
 * Emits `$pv_RxN`: out[r][chunk] += sum_j w[r][j] * v[j][chunk] for R rows and
 * a chunk of N vectors. With `masked`, keys whose mask byte is 0 are skipped
 * before V is read, so NaN stored there cannot leak into the output.
 */
function pvBlock(
  p: Precision,
  rows: number,
  vectors: number,
  masked: boolean,
): string {
  const t = p.name;
  const name = `$pv_${rows}x${vectors}${masked ? "_masked" : ""}_${t}`;
  const out: string[] = [];
  out.push(
    `(func ${name} (param $w i32) (param $v i32) (param $dst i32) (param $n i32)`,
  );
  out.push(
    `  (param $wRowBytes i32) (param $vRowBytes i32) (param $dstRowBytes i32) (param $mask i32)`,
  );
  // f32 only: with 4 lanes a 2x4 block covers 16 columns, so the per-key
  // pointer updates and branch are a larger share than for f64. Taking two
  // keys per iteration cut the (4, 512, 64) simd128 time by about 6%
  // (Deno 2.9, 2-core x86-64 VM).
  const pairedKeys = !masked && p.lanes === 4;
  out.push(`  (local $j i32)${pairedKeys ? " (local $v1 i32)" : ""}`);
  for (const r of range(rows)) {
    out.push(`  (local $w${r} i32) (local $x${r} v128)`);
  }
  for (const r of range(rows)) {
    for (const c of range(vectors)) out.push(`  (local $a${r}_${c} v128)`);
  }
  for (const r of range(rows)) {
    out.push(
      `(local.set $w${r} (i32.add (local.get $w) (i32.mul (local.get $wRowBytes) (i32.const ${r}))))`,
    );
    for (const c of range(vectors)) {
      out.push(
        `(local.set $a${r}_${c} (v128.load offset=${
          c * 16
        } (i32.add (local.get $dst) (i32.mul (local.get $dstRowBytes) (i32.const ${r})))))`,
      );
    }
  }
  // Adds the weights at byte offset wOffset of each row times the V row at vBase.
  const keyStep = (wOffset: number, vBase: string) => {
    const lines: string[] = [];
    const offset = wOffset === 0 ? "" : ` offset=${wOffset}`;
    for (const r of range(rows)) {
      lines.push(
        `(local.set $x${r} (${p.loadSplat}${offset} (local.get $w${r})))`,
      );
    }
    for (const c of range(vectors)) {
      for (const r of range(rows)) {
        lines.push(
          `(local.set $a${r}_${c} ${
            madd(
              p,
              `(local.get $x${r})`,
              `(v128.load offset=${c * 16} (local.get ${vBase}))`,
              `(local.get $a${r}_${c})`,
            )
          })`,
        );
      }
    }
    return lines;
  };
  if (pairedKeys) {
    out.push(`(block $pairsDone (loop $pairs`);
    out.push(
      `(br_if $pairsDone (i32.gt_u (i32.add (local.get $j) (i32.const 2)) (local.get $n)))`,
    );
    out.push(
      `(local.set $v1 (i32.add (local.get $v) (local.get $vRowBytes)))`,
    );
    out.push(...keyStep(0, "$v"), ...keyStep(p.bytes, "$v1"));
    for (const r of range(rows)) {
      out.push(
        `(local.set $w${r} (i32.add (local.get $w${r}) (i32.const ${
          2 * p.bytes
        })))`,
      );
    }
    out.push(
      `(local.set $v (i32.add (local.get $v1) (local.get $vRowBytes)))`,
    );
    out.push(`(local.set $j (i32.add (local.get $j) (i32.const 2)))`);
    out.push(`(br $pairs)))`);
  }
  out.push(`(block $done (loop $keys`);
  out.push(`(br_if $done (i32.ge_u (local.get $j) (local.get $n)))`);
  const step = keyStep(0, "$v");
  if (masked) {
    out.push(
      `(if (i32.load8_u (i32.add (local.get $mask) (local.get $j))) (then`,
    );
    out.push(step.join("\n"));
    out.push(`))`);
  } else {
    out.push(step.join("\n"));
  }
  for (const r of range(rows)) {
    out.push(
      `(local.set $w${r} (i32.add (local.get $w${r}) (i32.const ${p.bytes})))`,
    );
  }
  out.push(`(local.set $v (i32.add (local.get $v) (local.get $vRowBytes)))`);
  out.push(`(local.set $j (i32.add (local.get $j) (i32.const 1)))`);
  out.push(`(br $keys)))`);
  for (const r of range(rows)) {
    for (const c of range(vectors)) {
      out.push(
        `(v128.store offset=${
          c * 16
        } (i32.add (local.get $dst) (i32.mul (local.get $dstRowBytes) (i32.const ${r}))) (local.get $a${r}_${c}))`,
      );
    }
  }
  out.push(`)`);
  return out.join("\n");
}

/** Emits `$pv_scalar`: adds to one output element of one row, for the Dv % lanes tail columns. */
function pvScalar(p: Precision): string {
  const t = p.name;
  return `
(func $pv_scalar_${t} (param $w i32) (param $v i32) (param $dst i32) (param $n i32)
  (param $vRowBytes i32) (param $mask i32)
  (local $j i32) (local $acc ${t})
  (local.set $acc (${t}.load (local.get $dst)))
  (block $done (loop $keys
    (br_if $done (i32.ge_u (local.get $j) (local.get $n)))
    (if (i32.or (i32.eqz (local.get $mask)) (i32.load8_u (i32.add (local.get $mask) (local.get $j)))) (then
      (local.set $acc (${t}.add (local.get $acc) (${t}.mul (${t}.load (local.get $w)) (${t}.load (local.get $v)))))))
    (local.set $w (i32.add (local.get $w) (i32.const ${p.bytes})))
    (local.set $v (i32.add (local.get $v) (local.get $vRowBytes)))
    (local.set $j (i32.add (local.get $j) (i32.const 1)))
    (br $keys)))
  (${t}.store (local.get $dst) (local.get $acc))
)`;
}

/**
 * Emits `$pv_rows_R`: R output rows, walking the Dv columns in chunks of
 * PV_VECTORS vectors, then single vectors, then scalars.
 * `$mask` applies to R = 1 only; the R-row variant is called without a mask.
 */
function pvRows(p: Precision, rows: number, masked: boolean): string {
  const t = p.name;
  const suffix = masked ? "_masked" : "";
  const name = `$pv_rows_${rows}${suffix}_${t}`;
  const scalarCalls = range(rows).map((r) =>
    `(call $pv_scalar_${t}
        (i32.add (local.get $w) (i32.mul (local.get $wRowBytes) (i32.const ${r})))
        (i32.add (local.get $v) (local.get $o))
        (i32.add (i32.add (local.get $dst) (i32.mul (local.get $dstRowBytes) (i32.const ${r}))) (local.get $o))
        (local.get $n) (local.get $vRowBytes) (local.get $mask))`
  ).join("\n");
  return `
(func ${name} (param $w i32) (param $v i32) (param $dst i32) (param $n i32)
  (param $wRowBytes i32) (param $vRowBytes i32) (param $dstRowBytes i32) (param $mask i32)
  (local $o i32) (local $end i32)
  (local.set $end (i32.and (local.get $vRowBytes) (i32.const -16)))
  (block $chunksDone (loop $chunks
    (br_if $chunksDone (i32.gt_u (i32.add (local.get $o) (i32.const ${
    PV_VECTORS * 16
  })) (local.get $end)))
    (call $pv_${rows}x${PV_VECTORS}${suffix}_${t} (local.get $w) (i32.add (local.get $v) (local.get $o))
      (i32.add (local.get $dst) (local.get $o)) (local.get $n)
      (local.get $wRowBytes) (local.get $vRowBytes) (local.get $dstRowBytes) (local.get $mask))
    (local.set $o (i32.add (local.get $o) (i32.const ${PV_VECTORS * 16})))
    (br $chunks)))
  (block $vecDone (loop $vec
    (br_if $vecDone (i32.ge_u (local.get $o) (local.get $end)))
    (call $pv_${rows}x1${suffix}_${t} (local.get $w) (i32.add (local.get $v) (local.get $o))
      (i32.add (local.get $dst) (local.get $o)) (local.get $n)
      (local.get $wRowBytes) (local.get $vRowBytes) (local.get $dstRowBytes) (local.get $mask))
    (local.set $o (i32.add (local.get $o) (i32.const 16)))
    (br $vec)))
  (block $scalarDone (loop $scalar
    (br_if $scalarDone (i32.ge_u (local.get $o) (local.get $vRowBytes)))
${scalarCalls}
    (local.set $o (i32.add (local.get $o) (i32.const ${p.bytes})))
    (br $scalar)))
)`;
}

/** Emits `$scores_block`: scores of `rows` query rows against all S keys, in groups of `p.scoreRows` rows. */
function scoresBlock(p: Precision): string {
  const t = p.name;
  return `
(func $scores_block_${t} (param $q i32) (param $k i32) (param $dst i32) (param $rows i32) (param $S i32)
  (param $rowBytes i32) (param $dstRowBytes i32) (param $scale ${t})
  (local $r i32)
  (block $groupsDone (loop $groups
    (br_if $groupsDone (i32.gt_u (i32.add (local.get $r) (i32.const ${p.scoreRows})) (local.get $rows)))
    (call $scores_rows_${p.scoreRows}_${t}
      (i32.add (local.get $q) (i32.mul (local.get $r) (local.get $rowBytes)))
      (local.get $k)
      (i32.add (local.get $dst) (i32.mul (local.get $r) (local.get $dstRowBytes)))
      (local.get $S) (local.get $rowBytes) (local.get $dstRowBytes) (local.get $scale))
    (local.set $r (i32.add (local.get $r) (i32.const ${p.scoreRows})))
    (br $groups)))
  (block $restDone (loop $rest
    (br_if $restDone (i32.ge_u (local.get $r) (local.get $rows)))
    (call $scores_rows_1_${t}
      (i32.add (local.get $q) (i32.mul (local.get $r) (local.get $rowBytes)))
      (local.get $k)
      (i32.add (local.get $dst) (i32.mul (local.get $r) (local.get $dstRowBytes)))
      (local.get $S) (local.get $rowBytes) (local.get $dstRowBytes) (local.get $scale))
    (local.set $r (i32.add (local.get $r) (i32.const 1)))
    (br $rest)))
)`;
}

/**
 * Emits `$pv_block`: out = weights V for `rows` query rows, in pairs of rows
 * and tiles of keys.
 * With a mask, rows go one at a time so a masked key is skipped for exactly
 * the rows that exclude it.
 */
function pvBlockDriver(p: Precision): string {
  const t = p.name;
  const b = p.bytes;
  const call = (name: string, maskArg: string) => `
        (call ${name}
          (i32.add (i32.add (local.get $w) (i32.mul (local.get $r) (local.get $wRowBytes)))
            (i32.mul (local.get $j) (i32.const ${b})))
          (i32.add (local.get $v) (i32.mul (local.get $j) (local.get $vRowBytes)))
          (i32.add (local.get $dst) (i32.mul (local.get $r) (local.get $vRowBytes)))
          (local.get $n) (local.get $wRowBytes) (local.get $vRowBytes) (local.get $vRowBytes) ${maskArg})`;
  const maskRow =
    "(i32.add (i32.add (local.get $mask) (i32.mul (local.get $r) (local.get $S))) (local.get $j))";
  return `
(func $pv_block_${t} (param $w i32) (param $v i32) (param $dst i32) (param $rows i32) (param $S i32)
  (param $wRowBytes i32) (param $vRowBytes i32) (param $mask i32)
  (local $r i32) (local $j i32) (local $n i32) (local $tile i32)
  (memory.fill (local.get $dst) (i32.const 0) (i32.mul (local.get $rows) (local.get $vRowBytes)))
  ;; Keys per tile: V_TILE_BYTES of V rows, at least 1.
  (local.set $tile (i32.div_u (i32.const ${V_TILE_BYTES})
    (select (local.get $vRowBytes) (i32.const 1) (local.get $vRowBytes))))
  (local.set $tile (select (local.get $tile) (i32.const 1) (local.get $tile)))
  (block $tilesDone (loop $tiles
    (br_if $tilesDone (i32.ge_u (local.get $j) (local.get $S)))
    (local.set $n (select (local.get $tile) (i32.sub (local.get $S) (local.get $j))
      (i32.le_u (local.get $tile) (i32.sub (local.get $S) (local.get $j)))))
    (local.set $r (i32.const 0))
    (if (local.get $mask) (then
      (block $maskedDone (loop $masked
        (br_if $maskedDone (i32.ge_u (local.get $r) (local.get $rows)))
${call(`$pv_rows_1_masked_${t}`, maskRow)}
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $masked))))
    (else
      (block $pairsDone (loop $pairs
        (br_if $pairsDone (i32.gt_u (i32.add (local.get $r) (i32.const ${PV_ROWS})) (local.get $rows)))
${call(`$pv_rows_${PV_ROWS}_${t}`, "(i32.const 0)")}
        (local.set $r (i32.add (local.get $r) (i32.const ${PV_ROWS})))
        (br $pairs)))
      (block $singlesDone (loop $singles
        (br_if $singlesDone (i32.ge_u (local.get $r) (local.get $rows)))
${call(`$pv_rows_1_${t}`, "(i32.const 0)")}
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $singles)))))
    (local.set $j (i32.add (local.get $j) (local.get $n)))
    (br $tiles)))
)`;
}

/**
 * Emits the exported per-batch-entry driver. It walks the queries in blocks
 * of BLOCK_ROWS rows and finishes scores, softmax and output for a block
 * before the next one, so the block's score rows are still in cache when the
 * softmax and the weights-times-V pass read them.
 */
function driver(p: Precision): string {
  const t = p.name;
  const b = p.bytes;
  return `
(func (export "attention_${t}") (param $q i32) (param $k i32) (param $v i32) (param $out i32)
  (param $scores i32) (param $weights i32) (param $mask i32)
  (param $T i32) (param $S i32) (param $D i32) (param $Dv i32) (param $scale ${t})
  (local $i i32) (local $rows i32) (local $r i32) (local $qRowBytes i32) (local $sRowBytes i32) (local $vRowBytes i32)
  (local $sc i32) (local $wt i32)
  (local.set $qRowBytes (i32.mul (local.get $D) (i32.const ${b})))
  (local.set $sRowBytes (i32.mul (local.get $S) (i32.const ${b})))
  (local.set $vRowBytes (i32.mul (local.get $Dv) (i32.const ${b})))
  (block $blocksDone (loop $blocks
    (br_if $blocksDone (i32.ge_u (local.get $i) (local.get $T)))
    (local.set $rows (select (i32.const ${BLOCK_ROWS}) (i32.sub (local.get $T) (local.get $i))
      (i32.le_u (i32.add (local.get $i) (i32.const ${BLOCK_ROWS})) (local.get $T))))
    (local.set $sc (i32.add (local.get $scores) (i32.mul (local.get $i) (local.get $sRowBytes))))
    (local.set $wt (i32.add (local.get $weights) (i32.mul (local.get $i) (local.get $sRowBytes))))
    (call $scores_block_${t} (i32.add (local.get $q) (i32.mul (local.get $i) (local.get $qRowBytes)))
      (local.get $k) (local.get $sc) (local.get $rows) (local.get $S)
      (local.get $qRowBytes) (local.get $sRowBytes) (local.get $scale))
    (local.set $r (i32.const 0))
    (block $softmaxDone (loop $softmax
      (br_if $softmaxDone (i32.ge_u (local.get $r) (local.get $rows)))
      (call $softmax_row_${t}
        (i32.add (local.get $sc) (i32.mul (local.get $r) (local.get $sRowBytes)))
        (i32.add (local.get $wt) (i32.mul (local.get $r) (local.get $sRowBytes)))
        (local.get $S)
        (select (i32.add (local.get $mask) (i32.mul (i32.add (local.get $i) (local.get $r)) (local.get $S)))
          (i32.const 0) (local.get $mask)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $softmax)))
    (call $pv_block_${t} (local.get $wt) (local.get $v)
      (i32.add (local.get $out) (i32.mul (local.get $i) (local.get $vRowBytes)))
      (local.get $rows) (local.get $S) (local.get $sRowBytes) (local.get $vRowBytes)
      (select (i32.add (local.get $mask) (i32.mul (local.get $i) (local.get $S))) (i32.const 0) (local.get $mask)))
    (local.set $i (i32.add (local.get $i) (local.get $rows)))
    (br $blocks)))
)`;
}

/** v128 loads per iteration of the finite scan's main loop. */
const FINITE_UNROLL = 4;

/**
 * Emits the exported `all_finite_p(ptr, n)`, which returns 1 when the `n`
 * elements at byte address `ptr` are all finite and 0 otherwise. For finite
 * x, x - x is +0 with all bits clear, and for NaN or an infinity it is NaN,
 * so OR-ing the bits of x - x stays zero exactly when every element is
 * finite. The OR chain has a latency of one cycle per vector, where summing
 * the differences would wait for each float add.
 */
function finiteScan(p: Precision): string {
  const t = p.name;
  const b = p.bytes;
  const step = 16 * FINITE_UNROLL;
  const differences = range(FINITE_UNROLL).map((u) =>
    `(${p.vec}.sub (local.tee $x${u} (v128.load offset=${
      16 * u
    } (local.get $p))) (local.get $x${u}))`
  );
  let combined = differences[0];
  for (const difference of differences.slice(1)) {
    combined = `(v128.or ${combined}\n      ${difference})`;
  }
  return `
(func (export "all_finite_${t}") (param $p i32) (param $n i32) (result i32)
  (local $end i32) (local $bits v128) (local $s ${t})
  ${range(FINITE_UNROLL).map((u) => `(local $x${u} v128)`).join(" ")}
  (local.set $end (i32.add (local.get $p) (i32.mul (local.get $n) (i32.const ${b}))))
  (block $blocksDone (loop $blocks
    (br_if $blocksDone (i32.lt_u (i32.sub (local.get $end) (local.get $p)) (i32.const ${step})))
    (local.set $bits (v128.or (local.get $bits)
      ${combined}))
    (local.set $p (i32.add (local.get $p) (i32.const ${step})))
    (br $blocks)))
  (block $tailDone (loop $tail
    (br_if $tailDone (i32.ge_u (local.get $p) (local.get $end)))
    (local.set $s (${t}.load (local.get $p)))
    (local.set $bits (v128.or (local.get $bits) (${p.vec}.splat (${t}.sub (local.get $s) (local.get $s)))))
    (local.set $p (i32.add (local.get $p) (i32.const ${b})))
    (br $tail)))
  (i32.eqz (v128.any_true (local.get $bits)))
)`;
}

/** Query rows per block of the streaming driver; each keeps a running max, sum and output row. */
const STREAM_ROWS = 32;
/**
 * Keys per block of the streaming driver. A block of K rows and one of V rows,
 * 64 KiB each for D = Dv = 64 in f64, stay in L2 while all STREAM_ROWS rows use them.
 */
const STREAM_KEYS = 128;
/** Elements of scratch memory the streaming driver needs: a score block plus (max, sum) per row. */
const STREAM_SCRATCH_ELEMENTS = STREAM_ROWS * STREAM_KEYS + 2 * STREAM_ROWS;

/**
 * Emits `$online_row`: folds one block of n scores of one query row into its
 * running state, the online softmax recurrence.
 *
 * With m the running max, l the running sum of exp(s - m) and acc the running
 * sum of exp(s - m) v over the keys seen so far, a block with max m_b updates
 * m' = max(m, m_b), alpha = exp(m - m'), l' = alpha l + sum exp(s_j - m'), and
 * acc' = alpha acc + sum exp(s_j - m') v_j. Rescaling happens only when the max
 * grows. Masked scores become -Infinity first, and the masked variant of the
 * weights-times-V pass skips their V rows, so NaN stored there is never read.
 * `$state` contains m then l; `$acc` is the output row.
 */
function onlineRow(p: Precision): string {
  const t = p.name;
  const v = p.vec;
  const b = p.bytes;
  const constants = expConstants(p);
  const pv = (suffix: string, maskArg: string) =>
    `(call $pv_rows_1${suffix}_${t} (local.get $src) (local.get $v) (local.get $acc) (local.get $n)
      (local.get $rowBytes) (local.get $vRowBytes) (local.get $vRowBytes) ${maskArg})`;
  return `
(func $online_row_${t} (param $src i32) (param $n i32) (param $mask i32) (param $state i32)
  (param $acc i32) (param $v i32) (param $vRowBytes i32)
  (local $o i32) (local $end i32) (local $rowBytes i32) (local $j i32) (local $endUnrolled i32)
  (local $dst i32) (local $vEnd i32) (local $maxv v128) (local $sumv v128)
  ${
    range(EXP_UNROLL).map((u) =>
      `(local $sumv${u} v128) ${expLocals(String(u))}`
    ).join("\n  ")
  }
  (local $max ${t}) (local $old ${t}) (local $alpha ${t}) (local $sum ${t})
  ${constants.declare}
  (local.set $rowBytes (i32.mul (local.get $n) (i32.const ${b})))
  (local.set $end (i32.and (local.get $rowBytes) (i32.const -16)))
  (local.set $endUnrolled (i32.and (local.get $rowBytes) (i32.const ${
    -16 * EXP_UNROLL
  })))
  (if (local.get $mask) (then
    (block $maskDone (loop $maskLoop
      (br_if $maskDone (i32.ge_u (local.get $j) (local.get $n)))
      (if (i32.eqz (i32.load8_u (i32.add (local.get $mask) (local.get $j)))) (then
        (${t}.store (i32.add (local.get $src) (i32.mul (local.get $j) (i32.const ${b}))) (${t}.const -inf))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $maskLoop)))))
  (local.set $maxv ${splat(p, -Infinity)})
  (block $maxDone (loop $maxLoop
    (br_if $maxDone (i32.ge_u (local.get $o) (local.get $end)))
    (local.set $maxv (${v}.pmax (local.get $maxv) (v128.load (i32.add (local.get $src) (local.get $o)))))
    (local.set $o (i32.add (local.get $o) (i32.const 16)))
    (br $maxLoop)))
  (local.set $max ${hmax(p, "(local.get $maxv)")})
  (block $maxTailDone (loop $maxTail
    (br_if $maxTailDone (i32.ge_u (local.get $o) (local.get $rowBytes)))
    (local.set $max (${t}.max (local.get $max) (${t}.load (i32.add (local.get $src) (local.get $o)))))
    (local.set $o (i32.add (local.get $o) (i32.const ${b})))
    (br $maxTail)))
  (local.set $old (${t}.load (local.get $state)))
  (local.set $max (${t}.max (local.get $max) (local.get $old)))
  ;; Every key so far is masked: nothing to add, and l and acc stay 0.
  (if (${t}.eq (local.get $max) (${t}.const -inf)) (then (return)))
${constants.init}
  ;; With old = -Infinity, l and acc are still 0, so there is nothing to rescale.
  (if (i32.and (${t}.gt (local.get $max) (local.get $old)) (${t}.ne (local.get $old) (${t}.const -inf))) (then
    (local.set $x0 (${v}.splat (${t}.sub (local.get $old) (local.get $max))))
${expInline(p, "0").join("\n")}
    (local.set $alpha (${v}.extract_lane 0 (local.get $e0)))
    (${t}.store offset=${b} (local.get $state) (${t}.mul (${t}.load offset=${b} (local.get $state)) (local.get $alpha)))
    (local.set $maxv (${v}.splat (local.get $alpha)))
    (local.set $vEnd (i32.and (local.get $vRowBytes) (i32.const -16)))
    (local.set $o (i32.const 0))
    (block $rescaleDone (loop $rescale
      (br_if $rescaleDone (i32.ge_u (local.get $o) (local.get $vEnd)))
      (v128.store (i32.add (local.get $acc) (local.get $o))
        (${v}.mul (v128.load (i32.add (local.get $acc) (local.get $o))) (local.get $maxv)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $rescale)))
    (block $rescaleTailDone (loop $rescaleTail
      (br_if $rescaleTailDone (i32.ge_u (local.get $o) (local.get $vRowBytes)))
      (${t}.store (i32.add (local.get $acc) (local.get $o))
        (${t}.mul (${t}.load (i32.add (local.get $acc) (local.get $o))) (local.get $alpha)))
      (local.set $o (i32.add (local.get $o) (i32.const ${b})))
      (br $rescaleTail)))))
  (${t}.store (local.get $state) (local.get $max))
  (local.set $maxv (${v}.splat (local.get $max)))
  (local.set $o (i32.const 0))
  (local.set $dst (local.get $src))
${expSumPasses(p)}
  (${t}.store offset=${b} (local.get $state) (${t}.add (${t}.load offset=${b} (local.get $state)) (local.get $sum)))
  (if (local.get $mask) (then
    ${pv("_masked", "(local.get $mask)")})
  (else
    ${pv("", "(i32.const 0)")}))
)`;
}

/**
 * Emits the exported streaming driver `attention_stream_p(q, k, v, out,
 * scratch, mask, T, S, D, Dv, scale, causal)` for one batch entry.
 *
 * It walks the queries in blocks of STREAM_ROWS rows and the keys in blocks
 * of STREAM_KEYS, so it never holds more than one block of scores: `scratch`
 * needs STREAM_SCRATCH_ELEMENTS elements. `causal` is -1 for no causal mask,
 * or the index of query row 0 in the full sequence, so that a caller working
 * on rows t0.. of a longer sequence passes t0 and query row r sees keys
 * s <= t0 + r. A row with no allowed key gets a zero output row.
 */
function streamDriver(p: Precision): string {
  const t = p.name;
  const b = p.bytes;
  const blockBytes = STREAM_KEYS * b;
  return `
(func (export "attention_stream_${t}") (param $q i32) (param $k i32) (param $v i32) (param $out i32)
  (param $scratch i32) (param $mask i32)
  (param $T i32) (param $S i32) (param $D i32) (param $Dv i32) (param $scale ${t}) (param $causal i32)
  (local $i i32) (local $rows i32) (local $r i32) (local $j i32) (local $n i32) (local $nr i32)
  (local $kEnd i32) (local $qRowBytes i32) (local $vRowBytes i32) (local $state i32)
  (local $o i32) (local $row i32) (local $inv ${t})
  (local.set $qRowBytes (i32.mul (local.get $D) (i32.const ${b})))
  (local.set $vRowBytes (i32.mul (local.get $Dv) (i32.const ${b})))
  (local.set $state (i32.add (local.get $scratch) (i32.const ${
    STREAM_ROWS * blockBytes
  })))
  (block $blocksDone (loop $blocks
    (br_if $blocksDone (i32.ge_u (local.get $i) (local.get $T)))
    (local.set $rows (select (i32.const ${STREAM_ROWS}) (i32.sub (local.get $T) (local.get $i))
      (i32.le_u (i32.add (local.get $i) (i32.const ${STREAM_ROWS})) (local.get $T))))
    (local.set $r (i32.const 0))
    (block $resetDone (loop $reset
      (br_if $resetDone (i32.ge_u (local.get $r) (local.get $rows)))
      (${t}.store (i32.add (local.get $state) (i32.mul (local.get $r) (i32.const ${
    2 * b
  }))) (${t}.const -inf))
      (${t}.store offset=${b} (i32.add (local.get $state) (i32.mul (local.get $r) (i32.const ${
    2 * b
  }))) (${t}.const 0))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $reset)))
    (memory.fill (i32.add (local.get $out) (i32.mul (local.get $i) (local.get $vRowBytes)))
      (i32.const 0) (i32.mul (local.get $rows) (local.get $vRowBytes)))
    ;; Causal: keys at or past causal + i + rows are masked for every row of the block.
    (local.set $kEnd (local.get $S))
    (if (i32.ge_s (local.get $causal) (i32.const 0)) (then
      (local.set $nr (i32.add (i32.add (local.get $causal) (local.get $i)) (local.get $rows)))
      (if (i32.lt_u (local.get $nr) (local.get $S)) (then (local.set $kEnd (local.get $nr))))))
    (local.set $j (i32.const 0))
    (block $keysDone (loop $keys
      (br_if $keysDone (i32.ge_u (local.get $j) (local.get $kEnd)))
      (local.set $n (select (i32.const ${STREAM_KEYS}) (i32.sub (local.get $kEnd) (local.get $j))
        (i32.le_u (i32.add (local.get $j) (i32.const ${STREAM_KEYS})) (local.get $kEnd))))
      (call $scores_block_${t} (i32.add (local.get $q) (i32.mul (local.get $i) (local.get $qRowBytes)))
        (i32.add (local.get $k) (i32.mul (local.get $j) (local.get $qRowBytes)))
        (local.get $scratch) (local.get $rows) (local.get $n)
        (local.get $qRowBytes) (i32.const ${blockBytes}) (local.get $scale))
      (local.set $r (i32.const 0))
      (block $rowsDone (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        ;; Causal row r sees the first causal + i + r - j + 1 keys of the block, at most n.
        (local.set $nr (local.get $n))
        (if (i32.ge_s (local.get $causal) (i32.const 0)) (then
          (local.set $nr (i32.sub (i32.add (i32.add (local.get $causal) (local.get $i)) (i32.add (local.get $r) (i32.const 1))) (local.get $j)))
          (if (i32.gt_s (local.get $nr) (local.get $n)) (then (local.set $nr (local.get $n))))))
        (if (i32.gt_s (local.get $nr) (i32.const 0)) (then
          (call $online_row_${t}
            (i32.add (local.get $scratch) (i32.mul (local.get $r) (i32.const ${blockBytes})))
            (local.get $nr)
            (select (i32.add (local.get $mask) (i32.add (i32.mul (i32.add (local.get $i) (local.get $r)) (local.get $S)) (local.get $j)))
              (i32.const 0) (local.get $mask))
            (i32.add (local.get $state) (i32.mul (local.get $r) (i32.const ${
    2 * b
  })))
            (i32.add (local.get $out) (i32.mul (i32.add (local.get $i) (local.get $r)) (local.get $vRowBytes)))
            (i32.add (local.get $v) (i32.mul (local.get $j) (local.get $vRowBytes)))
            (local.get $vRowBytes))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop)))
      (local.set $j (i32.add (local.get $j) (local.get $n)))
      (br $keys)))
    ;; Divide each row by its sum l; a row with l = 0 saw no allowed key and stays 0.
    (local.set $r (i32.const 0))
    (block $finishDone (loop $finish
      (br_if $finishDone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $inv (${t}.load offset=${b} (i32.add (local.get $state) (i32.mul (local.get $r) (i32.const ${
    2 * b
  })))))
      (if (${t}.gt (local.get $inv) (${t}.const 0)) (then
        (local.set $inv (${t}.div (${t}.const 1) (local.get $inv)))
        (local.set $row (i32.add (local.get $out) (i32.mul (i32.add (local.get $i) (local.get $r)) (local.get $vRowBytes))))
        (local.set $o (i32.const 0))
        (block $divideDone (loop $divide
          (br_if $divideDone (i32.ge_u (local.get $o) (local.get $vRowBytes)))
          (${t}.store (i32.add (local.get $row) (local.get $o))
            (${t}.mul (${t}.load (i32.add (local.get $row) (local.get $o))) (local.get $inv)))
          (local.set $o (i32.add (local.get $o) (i32.const ${b})))
          (br $divide)))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $finish)))
    (local.set $i (i32.add (local.get $i) (local.get $rows)))
    (br $blocks)))
)`;
}

function precisionModule(p: Precision): string {
  const parts: string[] = [];
  for (const rows of [p.scoreRows, 1]) {
    parts.push(
      dotBlock(p, rows, p.scoreCols),
      dotBlock(p, rows, 1),
      scoresRows(p, rows),
    );
  }
  parts.push(softmaxRow(p));
  parts.push(
    pvBlock(p, PV_ROWS, PV_VECTORS, false),
    pvBlock(p, PV_ROWS, 1, false),
  );
  parts.push(pvBlock(p, 1, PV_VECTORS, false), pvBlock(p, 1, 1, false));
  parts.push(pvBlock(p, 1, PV_VECTORS, true), pvBlock(p, 1, 1, true));
  parts.push(pvScalar(p));
  parts.push(
    pvRows(p, PV_ROWS, false),
    pvRows(p, 1, false),
    pvRows(p, 1, true),
  );
  parts.push(scoresBlock(p), pvBlockDriver(p), driver(p), finiteScan(p));
  parts.push(onlineRow(p), streamDriver(p));
  return parts.join("\n");
}

/**
 * Generates the WAT source of the kernel module.
 *
 * @param options.relaxed Whether to use fused multiply-add from relaxed SIMD;
 *   such a module validates only where that proposal is supported.
 * @param options.shared Whether the module imports a shared memory as
 *   `env.memory`, so that instances on several threads can work on one
 *   memory, instead of defining its own. Default false.
 * @returns Module text that exports its memory as `memory`, and the
 *   exports `attention_f64`, `attention_f32`, `attention_stream_f64`,
 *   `attention_stream_f32`, `all_finite_f64` and `all_finite_f32`.
 */
export function generateWat(
  options: { relaxed: boolean; shared?: boolean },
): string {
  const fma = options.relaxed;
  // A shared memory must declare its maximum: 65536 pages, all of wasm32.
  const memory = options.shared
    ? `(import "env" "memory" (memory 1 65536 shared))\n(export "memory" (memory 0))`
    : `(memory (export "memory") 1)`;
  return [
    ";; Generated by wasm/kernels.ts; run `deno run -A wasm/build.ts` after editing that file.",
    "(module",
    memory,
    `(global (export "heap_base") i32 (i32.const ${HEAP_BASE}))`,
    `(global (export "stream_scratch_elements") i32 (i32.const ${STREAM_SCRATCH_ELEMENTS}))`,
    expTableData(),
    precisionModule({ ...F64, fma }),
    precisionModule({ ...F32, fma }),
    ")",
    "",
  ].join("\n");
}
