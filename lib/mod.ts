/**
 * Scaled dot-product attention, built step by step in TypeScript.
 *
 * Shape legend used in every doc comment and error: B batch, T queries,
 * S keys, D model width (d_k), Dv value width.
 *
 * ```ts
 * import { RandomState, scaledDotProductAttention } from "attention";
 * import assert from "node:assert/strict";
 *
 * const rng = new RandomState(0);
 * const queries = rng.rand(2, 10, 64); // (B, T, D)
 * const keys = rng.rand(2, 10, 64); // (B, S, D)
 * const values = rng.rand(2, 10, 64); // (B, S, D)
 * const { output, weights } = scaledDotProductAttention(queries, keys, values);
 * assert.deepEqual(weights.shape, [2, 10, 10]);
 * assert.deepEqual(output.shape, [2, 10, 64]);
 * ```
 *
 * @module
 */
export { formatShape, type Shape, ShapeError } from "./errors.ts";
export {
  type DType,
  type DTypeOptions,
  type FloatArray,
  type NestedArray,
  Tensor,
  type TensorLike,
} from "./tensor.ts";
export { matmul, softmax, transpose } from "./ops.ts";
export { RandomState } from "./random.ts";
export {
  causalMask,
  Mask,
  type MaskLike,
  type NestedBooleans,
  paddingMask,
} from "./mask.ts";
export {
  type AttentionBackend,
  type AttentionOptions,
  type AttentionResult,
  scaledDotProductAttention,
} from "./attention.ts";
export { fromMathjs, referenceAttention, toMathjs } from "./reference.ts";
export {
  allClose,
  assertAllClose,
  type CloseOptions,
  findMismatch,
  type Mismatch,
} from "./testing.ts";
export {
  annotationColor,
  BLUES,
  type ColorScale,
  type ColorScaleName,
  contrastRatio,
  DARK_TEXT,
  interpolateColor,
  legibleTextColor,
  LIGHT_TEXT,
  parseHexColor,
  relativeLuminance,
  resolveColorScale,
  toPlotlyColorScale,
} from "./colors.ts";
export {
  createFloatFormatter,
  DEFAULT_PRECISION,
  type FloatFormatOptions,
  type FloatFormatter,
  formatScalar,
} from "./format.ts";
export {
  DEFAULT_PRINT_OPTIONS,
  escapeHtml,
  formatMatrix,
  formatTensorHtml,
  formatTensorText,
  type PrintOptions,
  tensorDisplayBundle,
} from "./display.ts";
export {
  Heatmap,
  heatmap,
  type HeatmapOptions,
  type PlotlyAxis,
  type PlotlyFigure,
  type PlotlyHeatmapTrace,
} from "./heatmap.ts";
export {
  attentionWasm,
  attentionWasmF32,
  selectWasmKernels,
  type WasmAttentionOptions,
  type WasmAttentionResult,
  type WasmKernelVariant,
  wasmSimdSupported,
} from "./wasm_backend.ts";
export {
  LineChart,
  lineChart,
  type LineChartOptions,
  type LineSeries,
  type MarkerSymbol,
  type PlotlyLineAxis,
  type PlotlyLineFigure,
  type PlotlyScatterTrace,
} from "./chart.ts";
export {
  attentionOutput,
  chooseStreaming,
  STREAMING_AUTO_MIN_BYTES,
  type StreamingAttentionOptions,
} from "./streaming.ts";
export {
  getThreads,
  MAX_THREADS,
  setThreads,
  stopThreads,
  THREADS_MIN_WORK,
  threadsReady,
} from "./threads.ts";
export {
  attentionParallel,
  closeWorkers,
  PARALLEL_MIN_WORK,
  type ParallelAttentionOptions,
  workerCount,
} from "./parallel.ts";
