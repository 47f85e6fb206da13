/**
 * Web Worker body of `attentionParallel`: runs the streaming WebAssembly
 * kernel on the query-row slices it receives and writes their output rows
 * into the shared output buffer.
 *
 * @module
 */

import { streamSliceWasm } from "./wasm_streaming.ts";

/** Rows `start .. start + rows` of batch entry `batch`. */
export interface RowSlice {
  /** Batch entry. */
  readonly batch: number;
  /** First query row. */
  readonly start: number;
  /** Number of query rows. */
  readonly rows: number;
}

/** Request from the main thread: one share of an attention call. */
export interface WorkerRequest {
  /** Call id, echoed in the reply. */
  readonly id: number;
  /** (B, T, D) queries. */
  readonly q: SharedArrayBuffer;
  /** (B, S, D) keys. */
  readonly k: SharedArrayBuffer;
  /** (B, S, Dv) values. */
  readonly v: SharedArrayBuffer;
  /** (T, S) or (B, T, S) mask bytes, or null. */
  readonly mask: SharedArrayBuffer | null;
  /** T * S for a (B, T, S) mask, 0 otherwise. */
  readonly maskStride: number;
  /** (B, T, Dv) output, written by the workers. */
  readonly out: SharedArrayBuffer;
  /** T, S, D and Dv. */
  readonly queries: number;
  readonly keys: number;
  readonly width: number;
  readonly valueWidth: number;
  /** Factor applied to Q K^T. */
  readonly scale: number;
  /** Whether query t attends only to keys s <= t. */
  readonly causal: boolean;
  /** Slices that this worker computes. */
  readonly slices: readonly RowSlice[];
}

/** Reply to the main thread; `error` is set when the share failed. */
export interface WorkerReply {
  /** Call id of the request. */
  readonly id: number;
  /** Message of the error that the kernel threw, if any. */
  readonly error?: string;
}

/** Computes every slice of `request` into its shared output buffer. */
function runRequest(request: WorkerRequest): void {
  const { queries: T, keys: S, width: D, valueWidth: Dv } = request;
  const q = new Float64Array(request.q);
  const k = new Float64Array(request.k);
  const v = new Float64Array(request.v);
  const out = new Float64Array(request.out);
  const mask = request.mask === null ? null : new Uint8Array(request.mask);
  for (const { batch: b, start, rows } of request.slices) {
    const maskStart = b * request.maskStride + start * S;
    const qStart = (b * T + start) * D;
    const outStart = (b * T + start) * Dv;
    streamSliceWasm({
      q: q.subarray(qStart, qStart + rows * D),
      k: k.subarray(b * S * D, (b + 1) * S * D),
      v: v.subarray(b * S * Dv, (b + 1) * S * Dv),
      queries: rows,
      keys: S,
      width: D,
      valueWidth: Dv,
      scale: request.scale,
      mask: mask === null
        ? null
        : mask.subarray(maskStart, maskStart + rows * S),
      causalOffset: request.causal ? start : -1,
    }, out.subarray(outStart, outStart + rows * Dv));
  }
}

/** The parts of the worker global scope that this module uses. */
interface WorkerScope {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerReply): void;
}

// The main thread imports only types from this module, so this runs in workers only.
const scope = self as unknown as WorkerScope;
scope.onmessage = (event) => {
  const request = event.data;
  let reply: WorkerReply;
  try {
    runRequest(request);
    reply = { id: request.id };
  } catch (error) {
    reply = {
      id: request.id,
      error: error instanceof Error
        ? `${error.name}: ${error.message}`
        : String(error),
    };
  }
  scope.postMessage(reply);
};
