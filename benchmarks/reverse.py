"""The cost of a gradient relative to the function, by reverse mode and by finite differences.

f(w1..wn) = sum of softplus(c_i w_i) with fixed c_i, for n = 10, 100 and 1000 variables,
at POINTS points at once. Reverse mode's time(gradient) / time(function) should stay
bounded (the cheap-gradient principle: target <= 3) while central differences grow
like n. Every time is the best of REPEATS runs, the calls interleaved.

Run: python benchmarks/reverse.py  (writes benchmarks/results/reverse.json)
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import sympy as sp

from diffcheck.oracles import Problem
from diffcheck.oracles.finite import FiniteDifferences
from diffcheck.oracles.reverse import ReverseMode
from diffcheck.symbolic.rules import Softplus

SIZES = (10, 100, 1000)
POINTS = 1000
REPEATS = 5
RESULTS = Path(__file__).parent / "results" / "reverse.json"


def problem_of(size: int) -> Problem:
    weights = sp.symbols(f"w1:{size + 1}")
    coefficients = np.random.default_rng(size).uniform(0.5, 2.0, size)
    function = sp.Add(*(Softplus(sp.Rational(round(c * 64), 64) * w)
                        for c, w in zip(coefficients, weights, strict=True)))  # fmt: skip
    names = tuple(str(w) for w in weights)
    return Problem.derive(function, names, tuple(sorted(names)))


def best_times(*calls) -> list[float]:
    best = [float("inf")] * len(calls)
    for _ in range(REPEATS):
        for index, (function, *args) in enumerate(calls):
            start = time.perf_counter()
            function(*args)
            best[index] = min(best[index], time.perf_counter() - start)
    return best


def main() -> None:
    runs = []
    for size in SIZES:
        problem = problem_of(size)
        points = np.random.default_rng(0).uniform(-3, 3, (size, POINTS))
        program = problem.function_program
        reverse, finite = ReverseMode(), FiniteDifferences()
        function, gradient, differences = best_times(
            (program.evaluate, points),
            (reverse.gradient, problem, points),
            (finite.gradient, problem, points),
        )
        runs.append({
            "variables": size,
            "points": POINTS,
            "function_seconds": round(function, 5),
            "reverse_seconds": round(gradient, 5),
            "finite_seconds": round(differences, 5),
            "reverse_ratio": round(gradient / function, 2),
            "finite_ratio": round(differences / function, 2),
        })  # fmt: skip
        print(
            f"n={size:>5}: function {function * 1e3:8.2f} ms, reverse "
            f"{gradient / function:6.2f}x, finite differences {differences / function:8.2f}x"
        )
    document = {
        "benchmark": "reverse",
        "function": "sum of softplus(c_i * w_i), i = 1..n",
        "target": "reverse_ratio <= 3 as n grows; finite_ratio grows like n",
        "machine": {"python": platform.python_version(), "numpy": np.__version__,
                    "cpus": os.cpu_count(), "platform": platform.platform()},
        "runs": runs,
    }  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
