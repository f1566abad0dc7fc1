"""Throughput of a whole check against a plain NumPy baseline, measured in one run.

The case is the sigmoid's closed form: function 1/(1 + exp(-x)), claimed derivative
sigmoid(x)*(1 - sigmoid(x)), x uniform on [-30, 30]. The diffcheck figure covers the
whole `check_case` (derive, prove, sample, evaluate, finite differences, compare,
verdict); the baseline evaluates the closed form and a central difference with NumPy
and compares them. Peak memory is measured by tracemalloc in a separate pass, since
tracing slows the timed one.

The baseline is single-threaded NumPy. diffcheck works in two threads from 2e5 points on
where the machine has a core to spare (`diffcheck.oracles.chunks`); each run records how
many it used when it started (`diffcheck_threads`), and the machine's core count and load
average are recorded beside: on a busy machine both sides slow down, not alike.

Run: python benchmarks/throughput.py [OUTPUT]  (default benchmarks/results/throughput.json;
another OUTPUT lets an older version of the code, put first on PYTHONPATH, be measured
alongside without touching the recorded results)
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from diffcheck.cases.loader import load_case_file
from diffcheck.run.check import Settings, check_case

SIZES = (10_000, 100_000, 1_000_000)
REPEATS = 5  # best of: the machines are noisy, the minimum is the least disturbed run
CASE = """\
cases:
  - name: sigmoid-closed-form
    function: 1/(1 + exp(-x))
    gradient:
      x: sigmoid(x)*(1 - sigmoid(x))
    domain:
      x: [-30, 30]
"""
RESULTS = Path(__file__).parent / "results" / "throughput.json"


def baseline(count: int) -> bool:
    """The closed form against a central difference, in plain NumPy."""
    x = np.random.default_rng(0).uniform(-30, 30, count)
    sigmoid = 1 / (1 + np.exp(-x))
    claimed = sigmoid * (1 - sigmoid)
    h = np.finfo(float).eps ** (1 / 3) * np.maximum(1, np.abs(x))
    numeric = (1 / (1 + np.exp(-(x + h))) - 1 / (1 + np.exp(-(x - h)))) / (2 * h)
    return bool(np.all(np.abs(claimed - numeric) <= 1e-6 + 1e-6 * np.abs(claimed)))


def seconds(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def best_times(*calls) -> list[float]:
    """The best of REPEATS runs of each call, the calls interleaved so that a disturbance
    of the machine falls on all of them alike."""
    best = [float("inf")] * len(calls)
    for _ in range(REPEATS):
        for index, (function, *args) in enumerate(calls):
            best[index] = min(best[index], seconds(function, *args))
    return best


def peak_mib(function, *args) -> float:
    tracemalloc.start()
    function(*args)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def threads(count: int) -> int:
    """Threads diffcheck would use for `count` points now (1 for code without them)."""
    try:
        from diffcheck.oracles.chunks import workers
    except ImportError:
        return 1
    return workers(count)


def main() -> None:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS
    load = os.getloadavg()[0]  # a busy machine slows both sides, but not alike
    case_file = RESULTS.parent / "throughput-case.yaml"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    case_file.write_text(CASE, encoding="utf-8")
    try:
        (case,) = load_case_file(case_file).cases
    finally:
        case_file.unlink()
    runs = []
    for count in SIZES:
        settings = Settings(samples=count, timeout=None)
        result = check_case(case, settings)
        if result.status != "pass":
            sys.exit(f"the benchmark case did not pass at {count} points: {result.message}")
        used = threads(count)
        checked, plain = best_times((check_case, case, settings), (baseline, count))
        runs.append({
            "points": count,
            "diffcheck_threads": used,
            "diffcheck_seconds": round(checked, 4),
            "baseline_seconds": round(plain, 4),
            "diffcheck_points_per_second": round(count / checked),
            "baseline_points_per_second": round(count / plain),
            "rate_vs_baseline": round(plain / checked, 3),
            "diffcheck_peak_memory_mib": round(peak_mib(check_case, case, settings), 1),
            "baseline_peak_memory_mib": round(peak_mib(baseline, count), 1),
        })  # fmt: skip
        print(
            f"{count:>9} points: diffcheck {count / checked:>12,.0f}/s, baseline "
            f"{count / plain:>12,.0f}/s, rate {plain / checked:.2f} of baseline, peak "
            f"{runs[-1]['diffcheck_peak_memory_mib']} MiB, {used} thread(s)"
        )
    document = {
        "benchmark": "throughput",
        "case": "sigmoid closed form, x uniform on [-30, 30]",
        "target": "rate_vs_baseline >= 0.5 at 1e6 points, peak memory < 1024 MiB",
        "machine": {"python": platform.python_version(), "numpy": np.__version__,
                    "cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_average_at_start": round(load, 2),
                    "load_average_at_end": round(os.getloadavg()[0], 2)},
        "baseline": "single-threaded NumPy: closed form and central difference",
        "runs": runs,
    }  # fmt: skip
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
