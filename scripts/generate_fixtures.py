"""Write the NumPy reference fixtures that the TypeScript tests compare against.

Rerun from the repository root with the Debian Python, which has NumPy:

    /usr/bin/python3 scripts/generate_fixtures.py

It overwrites two files:

tests/fixtures/random.json
    For each seed in SEEDS, the draws of a fixed sequence of np.random.rand and
    np.random.randn calls made right after np.random.seed(seed). Each call is stored
    as {"method", "shape", "values", "log_rounding_differences"} with the values
    flattened in row-major order. The sequence interleaves rand and randn and
    starts with an odd-count randn, so the Gaussian that the legacy generator keeps
    for the next call matters.

    randn computes ln(r2) with the C library's log, which on glibc 2.36 is not
    correctly rounded for about 0.08% of inputs. For each randn value that would
    change if ln(r2) were correctly rounded, "log_rounding_differences" lists
    {"index", "value"}: the position in "values" and the value the same algorithm
    gives with a correctly rounded ln. That is what lib/random.ts returns when
    Math.log is correctly rounded, as V8's was on every input tested.

tests/fixtures/attention_seed0.json
    Scaled dot-product attention computed by NumPy. The top level is the seed 0
    case with (B, T, D) = (2, 10, 64); "attention_cases" lists further cases. Each
    case stores queries, keys and values drawn with rand in that order right after
    np.random.seed(seed), then scores = Q @ K^T / sqrt(d_k), weights = the softmax
    of the scores over the last axis (the row maximum subtracted first), and
    output = weights @ V, all as nested lists.

Floats are written with repr, which round-trips, so JSON.parse returns the exact
doubles NumPy produced. Both files record the NumPy version and this command.
"""

import decimal
import json
import math
import platform
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE_DIR = REPO_ROOT / "tests" / "fixtures"
COMMAND = "/usr/bin/python3 scripts/generate_fixtures.py"

SEEDS = [0, 1, 42, 2**32 - 1]

# (method, shape) calls made in order after seeding. randn(3) leaves a kept Gaussian
# that rand(2, 3) must not disturb and randn(1) must return. The empty shape (2, 0)
# draws nothing. The shape () is NumPy's scalar draw, a rank-0 tensor in TypeScript.
CALL_SEQUENCE = [
    ("rand", (5,)),
    ("randn", (3,)),
    ("rand", (2, 3)),
    ("randn", (1,)),
    ("randn", ()),
    ("rand", ()),
    ("randn", (2, 0)),
    ("randn", (2, 3, 4)),
    ("rand", (1,)),
]

# A longer run from one seed, so that the rejection step of the polar method, the
# logarithm and several regenerations of the 624-word state are all exercised.
LONG_SEED = 42
LONG_CALLS = [("randn", (2000,)), ("rand", (700,)), ("randn", (3,))]


def generated_by():
    return {
        "command": COMMAND,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
    }


def correctly_rounded_log(x):
    # 60 digits (about 199 bits) is far more than rounding ln of a double needs in
    # practice, so float() returns the correctly rounded result.
    with decimal.localcontext() as context:
        context.prec = 60
        return float(decimal.Decimal(x).ln())


def replay_calls(seed, calls, log):
    """Repeat the legacy draws with the polar Gaussian rewritten here, using `log` for ln.

    Uniform doubles come from np.random.RandomState.random_sample, which shares the
    53-bit construction of rand, so only the Gaussian step is reimplemented.
    """
    uniform = np.random.RandomState(seed)
    kept_gauss = None
    results = []
    for method, shape in calls:
        count = int(np.prod(shape, dtype=np.int64))
        if method == "rand":
            results.append([float(v) for v in uniform.random_sample(count)])
            continue
        values = []
        for _ in range(count):
            if kept_gauss is not None:
                values.append(kept_gauss)
                kept_gauss = None
                continue
            while True:
                x1 = 2.0 * float(uniform.random_sample()) - 1.0
                x2 = 2.0 * float(uniform.random_sample()) - 1.0
                r2 = x1 * x1 + x2 * x2
                if r2 < 1.0 and r2 != 0.0:
                    break
            f = math.sqrt(-2.0 * log(r2) / r2)
            kept_gauss = f * x1
            values.append(f * x2)
        results.append(values)
    return results


def draw_calls(seed, calls):
    np.random.seed(seed)
    drawn = []
    for method, shape in calls:
        values = getattr(np.random, method)(*shape)
        flat = np.asarray(values, dtype=np.float64).reshape(-1)
        drawn.append([float(v) for v in flat])

    # The replay with the C library's log (math.log calls the same libm as NumPy)
    # must equal NumPy exactly, which shows that the replay is the same algorithm.
    # Its run with a correctly rounded ln gives what lib/random.ts returns when
    # Math.log is correctly rounded.
    if replay_calls(seed, calls, math.log) != drawn:
        raise AssertionError(f"seed {seed}: the polar replay does not reproduce NumPy")
    rounded = replay_calls(seed, calls, correctly_rounded_log)

    records = []
    for (method, shape), values, expected in zip(calls, drawn, rounded):
        differences = [
            {"index": i, "value": b}
            for i, (a, b) in enumerate(zip(values, expected))
            if a != b
        ]
        records.append(
            {
                "method": method,
                "shape": list(shape),
                "values": values,
                "log_rounding_differences": differences,
            }
        )
    return {"seed": seed, "calls": records}


def softmax(scores):
    shifted = scores - scores.max(axis=-1, keepdims=True)
    exps = np.exp(shifted)
    return exps / exps.sum(axis=-1, keepdims=True)


def attention_case(seed, query_shape, key_shape, value_shape):
    np.random.seed(seed)
    queries = np.random.rand(*query_shape)
    keys = np.random.rand(*key_shape)
    values = np.random.rand(*value_shape)
    d_k = query_shape[-1]
    scores = queries @ keys.transpose(0, 2, 1) / np.sqrt(d_k)
    weights = softmax(scores)
    output = weights @ values
    return {
        "seed": seed,
        "query_shape": list(query_shape),
        "key_shape": list(key_shape),
        "value_shape": list(value_shape),
        "queries": queries.tolist(),
        "keys": keys.tolist(),
        "values": values.tolist(),
        "scores": scores.tolist(),
        "weights": weights.tolist(),
        "output": output.tolist(),
    }


def format_json(value, indent=0):
    """Format with one innermost list of numbers per line, to keep files short and diffable."""
    pad = "  " * indent
    inner = "  " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [
            f"{inner}{json.dumps(key)}: {format_json(item, indent + 1)}"
            for key, item in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list):
        if all(not isinstance(item, (list, dict)) for item in value):
            return "[" + ", ".join(format_json(item) for item in value) + "]"
        items = [f"{inner}{format_json(item, indent + 1)}" for item in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    if isinstance(value, float):
        if not np.isfinite(value):
            raise ValueError(f"cannot write the non-finite float {value!r} to JSON")
        return repr(value)
    return json.dumps(value)


def write_fixture(name, content):
    path = FIXTURE_DIR / name
    text = format_json(content) + "\n"
    # Fail here, not in the TypeScript tests, if a float would not read back exactly.
    if json.loads(text) != json.loads(json.dumps(content)):
        raise AssertionError(f"{name}: formatted JSON does not read back to the same values")
    path.write_text(text)
    print(f"wrote {path.relative_to(REPO_ROOT)} ({len(text)} bytes)")


def main():
    FIXTURE_DIR.mkdir(parents=True, exist_ok=True)

    random_fixture = {
        "generated_by": generated_by(),
        "cases": [draw_calls(seed, CALL_SEQUENCE) for seed in SEEDS]
        + [draw_calls(LONG_SEED, LONG_CALLS)],
    }
    write_fixture("random.json", random_fixture)

    attention_fixture = {"generated_by": generated_by()}
    attention_fixture.update(attention_case(0, (2, 10, 64), (2, 10, 64), (2, 10, 64)))
    attention_fixture["attention_cases"] = [
        attention_case(7, (3, 5, 8), (3, 5, 8), (3, 5, 8)),
        # T != S and a value width different from d_k.
        attention_case(3, (2, 4, 8), (2, 6, 8), (2, 6, 3)),
    ]
    write_fixture("attention_seed0.json", attention_fixture)
    return 0


if __name__ == "__main__":
    sys.exit(main())
