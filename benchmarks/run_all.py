"""Every benchmark in one command, and one table of the speed goals beside the figures.

Runs each benchmark script of this folder as its own process, in turn (they time whole
processes, so they never run side by side), then reads the results files they wrote
and writes `benchmarks/results/summary.json`: one row per goal of the speed work, with
the figure measured, the goal and whether it is met. The table is printed too.

Run: python benchmarks/run_all.py  [--only NAME ...]  (about 10 minutes on 2 cores)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = HERE / "results"
SCRIPTS = ("startup", "derive", "reverse", "throughput", "suite", "arrays")


def _read(name: str) -> dict:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _row(work: str, now: str, goal: str, met: bool | None) -> dict:
    return {"work": work, "now": now, "goal": goal, "met": met}


def _startup(document: dict) -> list[dict]:
    return [
        _row(run["command"], f"{run['median_seconds']:.3f} s (median)", "<= 0.3 s",
             run["meets_target"])
        for run in document.get("runs", [])
    ]  # fmt: skip


def _reverse(document: dict) -> list[dict]:
    rows = []
    for run in document.get("runs", []):
        ratio = run.get("reverse_ratio")
        if ratio is not None:
            work = f"reverse mode, n = {run.get('variables')} variables"
            rows.append(_row(work, f"{ratio:.2f} x the function's time", "<= 3 x", ratio <= 3))
    return rows


def _throughput(document: dict) -> list[dict]:
    runs = [run for run in document.get("runs", []) if run.get("points") == 1_000_000]
    return [
        _row("10^6-point sigmoid check vs NumPy closed form + central difference",
             f"{run['rate_vs_baseline']:.3f} x NumPy's rate", ">= 0.5 x, then >= 1.0 x",
             run["rate_vs_baseline"] >= 0.5)
        for run in runs
    ]  # fmt: skip


def _suite(document: dict) -> list[dict]:
    rows = []
    for run in document.get("runs", []):
        if run.get("jobs") != 1:
            continue
        per_case = 1000 * run["best_seconds"] / document["cases"]
        rows.append(_row(f"suite of {document['cases']} claims, half wrong, --jobs 1",
                         f"{per_case:.0f} ms a case ({run['best_seconds']:.1f} s)",
                         "<= 25 ms a case", per_case <= 25))  # fmt: skip
    return rows


def _derive(document: dict) -> list[dict]:
    rows = []
    for name, figures in document.get("summary", {}).items():
        seconds = figures["depth_80_seconds"]
        rows.append(_row(f"derive --steps, nested {name} depth 80, after parsing",
                         f"{seconds:.2f} s", "<= 2 s", seconds <= 2))  # fmt: skip
    processes = document.get("processes", {})
    for run in processes.get("plain_derive", []):
        if run["depth"] == 80:
            rows.append(_row("derive (no --steps), nested sigmoid depth 80, whole process",
                             f"{run['seconds']:.2f} s, {run['output_characters']} chars",
                             "<= 0.5 s", run["seconds"] <= 0.5))  # fmt: skip
    for run in processes.get("where_chain", []):
        if run["intermediates"] != 400:
            continue
        for command in ("derive_at", "graph"):
            seconds = run[command]["seconds"]
            rows.append(_row(f"{command.replace('_', ' --')}, 400 intermediates, whole process",
                             f"{seconds:.2f} s", "<= 2 s", seconds <= 2))  # fmt: skip
    return rows


def _arrays(document: dict) -> list[dict]:
    rows = []
    for claim, run in document.get("layer_512", {}).items():
        rows.append(_row(f"softmax cross-entropy W [512, 512], claim {claim}, whole CLI",
                         f"{run['median_seconds']:.2f} s (median)", "<= 3 s",
                         run["meets_target"]))  # fmt: skip
    ratios = document.get("beside_gradcheck_128", {}).get("ratios", {})
    for way, ratio in ratios.items():
        # gradcheck is called in process; a whole diffcheck process also pays for
        # starting Python and importing SymPy, shown for scale only
        compared = "in_process" in way
        rows.append(_row(f"W [128, 128]: full gradcheck's time / {way.replace('_', ' ')}",
                         f"{ratio:.1f} x", ">= 20 x" if compared else "(for scale)",
                         ratio >= 20 if compared else None))  # fmt: skip
    return rows


EXTRACTORS: dict[str, Callable[[dict], list[dict]]] = {
    "startup": _startup, "derive": _derive, "reverse": _reverse,
    "throughput": _throughput, "suite": _suite, "arrays": _arrays,
}  # fmt: skip


def run_script(name: str) -> dict:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(HERE / f"{name}.py")], check=False)
    return {"script": f"{name}.py", "exit_code": done.returncode,
            "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip


def table(rows: list[dict]) -> str:
    marks = {True: "met", False: "NOT met", None: "-"}
    lines = [f"{'work':<72} {'now':<34} {'goal':<26} status"]
    lines += [f"{r['work']:<72} {r['now']:<34} {r['goal']:<26} {marks[r['met']]}" for r in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=SCRIPTS, help="run only these scripts")
    parser.add_argument("--no-run", action="store_true", help="summarise the last results only")
    options = parser.parse_args()
    ran = [] if options.no_run else [run_script(name) for name in options.only or SCRIPTS]
    rows = [row for name in SCRIPTS for row in EXTRACTORS[name](_read(name))]
    summary = {
        "benchmark": "all",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform(), "load_average_end": os.getloadavg()},
        "scripts": ran,
        "goals": rows,
    }  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    print(table(rows))
    return max((script["exit_code"] for script in ran), default=0)


if __name__ == "__main__":
    sys.exit(main())
