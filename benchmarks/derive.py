"""Derivation time and size for nested sigmoid and tanh chains of depth 10, 20, 40, 80.

For each chain f(f(...f(x))) the timed work is what `diffcheck derive EXPR --steps`
does after parsing: explain the expression (name its calls u1, u2, ..., derive every
factor of the chain with its steps, and the checker's own derivative) and print it.
Sizes: the printed derivation in characters, the nodes of the named (CSE) form, and
for contrast the derivative written out in one expression, which grows with the square
of the depth. SymPy's cache is cleared before every run, so no run feeds on another.

Target: depth 80 in at most 0.5 s; size linear in depth (characters per level about
constant, so 8 times the depth gives about 8 times the text, not 64).

Whole processes, as users run them (startup and imports included; best and median of
PLAIN_REPEATS or PROCESS_REPEATS runs, and where plain derive's imports spend their time):
`diffcheck derive EXPR` without --steps for nested sigmoid at depths 10, 20, 40, 80 (target
0.5 s at depth 80, output linear in depth), and `diffcheck derive CASE --at` and
`diffcheck graph CASE` for a `where` chain u1 = sin(x), u_i = sin(u_{i-1}) + 0.5*u_{i-1}
of 100, 200 and 400 intermediates (target 2 s each at 400, output linear).

Run: python benchmarks/derive.py  (writes benchmarks/results/derive.json)
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
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
PLAIN_DEPTHS = (10, 20, 40, 80)
CHAIN_LENGTHS = (100, 200, 400)
PROCESS_REPEATS = 3
PLAIN_REPEATS = 5  # plain derive is quick: more runs for a steadier median
PLAIN_TARGET_SECONDS = 0.5  # plain derive at depth 80, whole process
CHAIN_TARGET_SECONDS = 2.0  # derive --at and graph at 400 intermediates, whole process


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


def where_chain(count: int) -> str:
    lines = ["cases:", "  - name: deep-where", "    where:", "      u1: sin(x)"]
    lines += [f"      u{i}: sin(u{i - 1}) + 0.5*u{i - 1}" for i in range(2, count + 1)]
    lines += [f"    function: u{count}", "    domain: {x: [-1, 1]}"]
    return "\n".join(lines) + "\n"


def run_process(args: list[str], repeats: int = PROCESS_REPEATS) -> dict[str, object]:
    """Best and median wall time of the whole command, its CPU time (user + system: on a
    shared machine the wall time also counts the other processes), and the size of its
    output."""
    command = [shutil.which("diffcheck") or "diffcheck", *args]
    times, cpu, size = [], [], 0
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        size = len(done.stdout.decode("utf-8"))
    return {"seconds": round(min(times), 3), "median_seconds": round(statistics.median(times), 3),
            "cpu_seconds": round(min(cpu), 3), "output_characters": size}  # fmt: skip


def import_seconds(args: list[str], top: int = 12) -> dict[str, float]:
    """Where the command's imports spend their time (python -X importtime, one run): the
    seconds of each package's own module code, diffcheck's by stage, the largest first."""
    script = "import sys; from diffcheck.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", script, *args],
                          capture_output=True, text=True, check=True)  # fmt: skip
    totals: dict[str, float] = {}
    for line in done.stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if len(fields) != 3 or not fields[0].strip().isdigit():
            continue  # the header
        parts = fields[2].strip().split(".")
        package = ".".join(parts[:2]) if parts[0] == "diffcheck" else parts[0]
        totals[package] = totals.get(package, 0.0) + int(fields[0]) / 1e6
    largest = sorted(totals.items(), key=lambda item: -item[1])[:top]
    return {"all": round(sum(totals.values()), 3), **{k: round(v, 3) for k, v in largest}}


def processes() -> dict[str, object]:
    plain = [{"depth": depth,
              **run_process(["derive", chain_text("sigmoid", depth)], PLAIN_REPEATS)}
             for depth in PLAIN_DEPTHS]  # fmt: skip
    chains = []
    with tempfile.TemporaryDirectory() as folder:
        for count in CHAIN_LENGTHS:
            path = Path(folder) / f"chain{count}.yaml"
            path.write_text(where_chain(count), encoding="utf-8")
            at = ["--at", "x=0.3"]
            chains.append({"intermediates": count,
                           "derive_at": run_process(["derive", str(path), *at]),
                           "graph": run_process(["graph", str(path), *at])})  # fmt: skip
    last, first = chains[-1], chains[0]
    growth = {key: round(last[key]["output_characters"] / first[key]["output_characters"]
                         / (last["intermediates"] / first["intermediates"]), 2)
              for key in ("derive_at", "graph")}  # fmt: skip
    return {
        "plain_derive": plain,
        "plain_growth_vs_depth": round(
            plain[-1]["output_characters"]
            / plain[0]["output_characters"]
            / (PLAIN_DEPTHS[-1] / PLAIN_DEPTHS[0]),
            2,
        ),
        "plain_meets_target": plain[-1]["seconds"] <= PLAIN_TARGET_SECONDS,
        "plain_imports_seconds": import_seconds(
            ["derive", chain_text("sigmoid", PLAIN_DEPTHS[-1])]
        ),
        "where_chain": chains,
        "where_chain_output_growth_vs_length": growth,
        "where_chain_meets_target": all(
            last[key]["seconds"] <= CHAIN_TARGET_SECONDS for key in ("derive_at", "graph")
        ),  # fmt: skip
    }


def _figures(run: dict[str, object]) -> str:
    return (f"{run['seconds']:.3f} s (median {run['median_seconds']:.3f} s; "
            f"{run['cpu_seconds']:.3f} s CPU), "
            f"{run['output_characters']} characters")  # fmt: skip


def chain_text(function: str, depth: int) -> str:
    return f"{function}(" * depth + "x" + ")" * depth


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
    whole = processes()
    document = {
        "benchmark": "derive",
        "work": "diffcheck derive EXPR --steps for f(f(...f(x))), after parsing; and whole "
        "processes: plain derive of nested sigmoid, derive --at and graph of a where chain",
        "target": f"depth 80 in <= {TARGET_SECONDS} s; printed size linear in depth; whole "
        f"process: plain derive at depth 80 <= {PLAIN_TARGET_SECONDS} s, derive --at and graph "
        f"at 400 intermediates <= {CHAIN_TARGET_SECONDS} s, output linear",
        "machine": {
            "python": platform.python_version(),
            "sympy": sp.__version__,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_start": round(os.getloadavg()[0], 2),
        },
        "summary": summary,
        "runs": runs,
        "processes": whole,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    for run in runs:
        print(f"{run['function']:>8} depth {run['depth']:>3}: {run['seconds']:.4f} s, "
              f"{run['printed_characters']} characters, {run['named_form_nodes']} nodes "
              f"named, {run['written_out_derivative_characters']} written out")  # fmt: skip
    for run in whole["plain_derive"]:
        print(f"derive sigmoid depth {run['depth']:>3}: {_figures(run)}")
    for run in whole["where_chain"]:
        for key in ("derive_at", "graph"):
            print(f"{key:>9} {run['intermediates']} intermediates: {_figures(run[key])}")
    met = all(s["meets_target"] for s in summary.values()) and whole["plain_meets_target"]
    sys.exit(0 if met and whole["where_chain_meets_target"] else 1)


if __name__ == "__main__":
    main()
