"""Time NumPy's matmul-based attention at the shapes of bench/wasm_bench.ts.

Prints JSON: {"float64": {"B,T,S,D": median_ms, ...}, "float32": {...}, ...}.
Run with a NumPy that has a BLAS, for example:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/numpy_attention.py
Those two variables, when set, make OpenBLAS pick an older kernel than the CPU supports.
"""

import json
import os
import sys
import time

import numpy as np

SHAPES = [(2, 10, 64), (8, 128, 64), (4, 512, 64), (1, 2048, 64)]


def attention(q, k, v):
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1]).astype(q.dtype)
    scores -= scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights @ v, weights


def median_ms(fn, budget_s=1.0, min_runs=20):
    for _ in range(10):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < budget_s:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2] * 1e3


def blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    return [
        {key: entry.get(key) for key in ("internal_api", "version", "architecture", "num_threads")}
        for entry in threadpool_info()
    ]


def main():
    rng = np.random.default_rng(0)
    result = {
        "numpy": np.__version__,
        "blas": blas_info(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
    }
    for dtype in (np.float64, np.float32):
        timings = {}
        for b, t, d in SHAPES:
            q, k, v = (rng.standard_normal((b, t, d)).astype(dtype) for _ in range(3))
            timings[f"{b},{t},{t},{d}"] = round(median_ms(lambda: attention(q, k, v)), 4)
        result[np.dtype(dtype).name] = timings
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
