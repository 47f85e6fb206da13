"""Time NumPy's matmul-based attention at the shapes of bench/wasm_bench.ts.

Prints JSON: {"float64": {"B,T,S,D": median_ms, ...}, "float32": {...},
"min_ms": {"float64": {...}, "float32": {...}}, ...}, plus the BLAS in use.
Run with a NumPy that has a BLAS, for example:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/numpy_attention.py
Those two variables, when set, make OpenBLAS pick an older kernel than the CPU supports.
"""

import ctypes
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


def time_ms(fn, budget_s=1.0, min_runs=20):
    """Return (median, min) wall time of fn in ms, after 10 warm-up calls."""
    for _ in range(10):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < budget_s:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2] * 1e3, times[0] * 1e3


def blas_info():
    """Name the BLAS library and, for OpenBLAS, the CPU kernel it selected."""
    try:
        from threadpoolctl import threadpool_info

        return [
            {key: entry.get(key) for key in ("internal_api", "version", "architecture", "num_threads")}
            for entry in threadpool_info()
        ]
    except ImportError:
        pass
    # Without threadpoolctl, ask the OpenBLAS that NumPy loaded, found in this process's memory map.
    with open("/proc/self/maps") as maps:
        paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower()})
    info = {}
    for path in paths:
        try:
            library = ctypes.CDLL(path)
            library.openblas_get_corename.restype = ctypes.c_char_p
            library.openblas_get_config.restype = ctypes.c_char_p
            library.openblas_get_num_threads.restype = ctypes.c_int
        except (OSError, AttributeError):
            continue
        config = library.openblas_get_config().decode()
        # libblas.so.3 and liblapack.so.3 are often links to one OpenBLAS; list it once.
        info.setdefault(
            config,
            {
                "library": path,
                "corename": library.openblas_get_corename().decode(),
                "config": config,
                "num_threads": library.openblas_get_num_threads(),
            },
        )
    return list(info.values()) or "unknown: threadpoolctl missing and no OpenBLAS in the memory map"


def main():
    rng = np.random.default_rng(0)
    result = {
        "numpy": np.__version__,
        "blas": blas_info(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
    }
    minima = {}
    for dtype in (np.float64, np.float32):
        medians = {}
        name = np.dtype(dtype).name
        minima[name] = {}
        for b, t, d in SHAPES:
            q, k, v = (rng.standard_normal((b, t, d)).astype(dtype) for _ in range(3))
            median, minimum = time_ms(lambda: attention(q, k, v))
            medians[f"{b},{t},{t},{d}"] = round(median, 4)
            minima[name][f"{b},{t},{t},{d}"] = round(minimum, 4)
        result[name] = medians
    result["min_ms"] = minima
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
