"""Derivation time and size for nested sigmoid and tanh chains of depth 10, 20, 40, 80.

For each chain f(f(...f(x))) the timed work is what `diffcheck derive EXPR --steps`
does after parsing: explain the expression (name its calls u1, u2, ..., derive every
factor of the chain with its steps, and the checker's own derivative) and print it.
Sizes: the printed derivation in characters, the nodes of the named (CSE) form, and
for contrast the derivative written out in one expression, which grows with the square
of the depth. SymPy's cache is cleared before every run, so no run feeds on another.

Target: depth 80 in at most 0.5 s; size linear in depth (characters per level about
constant, so 8 times the depth gives about 8 times the text, not 64).

Run: python benchmarks/derive.py  (writes benchmarks/results/derive.json)
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import sympy as sp
from sympy.core.cache import clear_cache

from diffcheck.explain.chain import explain_expression
from diffcheck.report.derivation import render_text
from diffcheck.symbolic.derive import derive_gradient, format_expression
from diffcheck.symbolic.parse import parse_expression
from diffcheck.symbolic.trees import nodes_in_order

DEPTHS = (10, 20, 40, 80)
FUNCTIONS = ("sigmoid", "tanh")
REPEATS = 5  # best of: the machines are noisy, the minimum is the least disturbed run
TARGET_SECONDS = 0.5  # at depth 80
RESULTS = Path(__file__).parent / "results" / "derive.json"


def chain(function: str, depth: int) -> sp.Expr:
    return parse_expression(f"{function}(" * depth + "x" + ")" * depth)


def derive_steps(expr: sp.Expr) -> str:
    """What `diffcheck derive EXPR --steps` prints."""
    return render_text(explain_expression(expr, ["x"]), steps=True)


def best_seconds(expr: sp.Expr) -> float:
    times = []
    for _ in range(REPEATS):
        clear_cache()
        start = time.perf_counter()
        derive_steps(expr)
        times.append(time.perf_counter() - start)
    return min(times)


def tree_size(expr: sp.Expr) -> int:
    """Nodes of `expr` written out as a tree (shared sub-expressions counted each time)."""
    size: dict[sp.Basic, int] = {}
    for node in nodes_in_order([expr]):
        size[node] = 1 + sum(size[arg] for arg in node.args)
    return size[expr]


def measure(function: str, depth: int) -> dict[str, object]:
    expr = chain(function, depth)
    derivation = explain_expression(expr, ["x"])["x"]
    named = tree_size(derivation.function) + sum(tree_size(d) for _, d in derivation.names)
    written_out = derive_gradient(expr, ["x"])["x"]
    return {
        "function": function,
        "depth": depth,
        "seconds": round(best_seconds(expr), 4),
        "printed_characters": len(derive_steps(expr)),
        "named_form_nodes": named,
        "names": len(derivation.names),
        "written_out_derivative_characters": len(format_expression(written_out)),
    }


def linearity(runs: list[dict[str, object]], key: str) -> dict[str, float]:
    """Size per level at each depth, and the growth from the smallest to the largest
    depth against the growth of the depth itself (1.0: exactly linear)."""
    per_level = {str(r["depth"]): round(r[key] / r["depth"], 1) for r in runs}
    first, last = runs[0], runs[-1]
    growth = (last[key] / first[key]) / (last["depth"] / first["depth"])
    return {"per_level": per_level, "growth_vs_depth": round(growth, 2)}


def main() -> None:
    runs = [measure(function, depth) for function in FUNCTIONS for depth in DEPTHS]
    summary = {}
    for function in FUNCTIONS:
        mine = [r for r in runs if r["function"] == function]
        deepest = mine[-1]
        summary[function] = {
            "depth_80_seconds": deepest["seconds"],
            "printed": linearity(mine, "printed_characters"),
            "named_form": linearity(mine, "named_form_nodes"),
            "written_out": linearity(mine, "written_out_derivative_characters"),
            "meets_target": deepest["seconds"] <= TARGET_SECONDS
            and linearity(mine, "printed_characters")["growth_vs_depth"] < 1.5,
        }
    document = {
        "benchmark": "derive",
        "work": "diffcheck derive EXPR --steps for f(f(...f(x))), after parsing",
        "target": f"depth 80 in <= {TARGET_SECONDS} s; printed size linear in depth",
        "machine": {
            "python": platform.python_version(),
            "sympy": sp.__version__,
            "platform": platform.platform(),
        },
        "summary": summary,
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    for run in runs:
        print(f"{run['function']:>8} depth {run['depth']:>3}: {run['seconds']:.4f} s, "
              f"{run['printed_characters']} characters, {run['named_form_nodes']} nodes "
              f"named, {run['written_out_derivative_characters']} written out")  # fmt: skip
    sys.exit(0 if all(s["meets_target"] for s in summary.values()) else 1)


if __name__ == "__main__":
    main()
