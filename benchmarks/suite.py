"""A suite of 200 generated cases checked with --jobs 1 and --jobs 2, as a CI job runs it.

The cases cover the rule table: for each function of RULES (those whose derivative is
not zero everywhere), compositions such as f(x)*y and f(x)^2 + x*y with claims derived
by diffcheck itself (expect: correct) and claims with a typical mistake (expect:
incorrect: an offset, a factor off, a flipped sign, a dropped chain-rule factor). They
are written as 20 files of 10 cases into a temporary folder; the timed call is
`run_checks`, the code behind `diffcheck check --jobs N`, best of a few interleaved
runs; the figure to watch is milliseconds a case with --jobs 1 (goal: GOAL_MS). The
run also confirms that every case passes and that both reports are identical.

The speedup of --jobs 2 is bounded by the CPU the machine gives at that moment: the
results record the load average, the CPU seconds of each run (the work, which the job
count hardly changes) and a measured `parallel capacity` (2.0 on two idle cores, 1.0
when other work holds one of them), so a figure from a busy machine reads as such.

Run: python benchmarks/suite.py  (writes benchmarks/results/suite.json)
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from diffcheck.report.text import render_json
from diffcheck.run.check import Settings
from diffcheck.run.parallel import run_checks
from diffcheck.symbolic.derive import derive_gradient, format_expression
from diffcheck.symbolic.parse import parse_expression
from diffcheck.symbolic.rules import RULES

CASES = 200
PER_FILE = 10
JOBS = (1, 2)
REPEATS = 3  # best of: the machines are noisy, the minimum is the least disturbed run
GOAL_MS = 25  # per case with --jobs 1: what the speed issue asks of a suite like this one
RESULTS = Path(__file__).parent / "results" / "suite.json"
# functions whose derivative is zero wherever it exists: no claim about them can be wrong
ZERO_DERIVATIVE = {"sign", "heaviside"}
# calls of functions with more than one argument, each with the domain of its x
EXTRA_CALLS = {
    "atan2": ("atan2(x, 1 + z)", (-2.0, 2.0)),
    "leaky_relu": ("leaky_relu(x, 0.1)", (-2.0, 2.0)),
    "elu": ("elu(x, 0.5)", (-2.0, 2.0)),
    "logsumexp": ("logsumexp(x, z, 0)", (-3.0, 3.0)),
    "max": ("max(x, z)", (-2.0, 2.0)),
    "polygamma": ("polygamma(1, x)", (0.5, 4.0)),
}
# (name, function template, claim mistake or None for a correct claim)
TEMPLATES = (
    ("product", "{f}*y", None),
    ("square-plus", "({f})^2 + x*y", None),
    ("offset", "{f}*y", "offset"),
    ("factor", "({f})^2 + x*y", "factor"),
    ("sign", "{f}*y", "sign"),
    ("chain-dropped", "exp({f})", "chain"),
)


def calls() -> list[tuple[str, str, tuple[float, float]]]:
    """(function name, call in x, domain of x) for every function of the rule table."""
    found = []
    for name, rule in RULES.items():
        if name in ZERO_DERIVATIVE or name != rule.name:  # aliases point at the same rule
            continue
        if name in EXTRA_CALLS:
            found.append((name, *EXTRA_CALLS[name]))
        elif rule.arity == 1:
            found.append((name, f"{name}(x)", rule.test_domain[0]))
    return found


def claim(function: str, call: str, mistake: str | None) -> dict[str, str]:
    """The claimed gradient: derived, then spoilt by `mistake`."""
    expr = parse_expression(function, lambda offset: None)
    names = sorted(symbol.name for symbol in expr.free_symbols)
    gradient = {name: format_expression(p) for name, p in derive_gradient(expr, names).items()}
    if mistake == "offset":
        gradient["x"] = f"{gradient['x']} + y"  # y is in [1, 2], never 0
    elif mistake == "factor":
        gradient["x"] = f"3*({gradient['x']})/2"
    elif mistake == "sign":
        gradient["x"] = f"-({gradient['x']})"
    elif mistake == "chain":  # exp(f)' = exp(f) f', written without f'
        gradient["x"] = f"exp({call}) + 0*x"
    return gradient


def case_text(name: str, function: str, gradient: dict[str, str], domain, expect: str) -> str:
    lines = [f"  - name: {name}", f'    function: "{function}"', "    gradient:"]
    lines += [f'      {var}: "{text}"' for var, text in gradient.items()]
    bounds = {"x": list(domain), "y": [1, 2], "z": [-1, 1]}
    used = sorted(set(gradient))
    lines.append("    domain: {" + ", ".join(f"{v}: {bounds[v]}" for v in used) + "}")
    lines.append(f"    expect: {expect}")
    return "\n".join(lines)


def generate(folder: Path) -> int:
    """Write CASES cases into `folder`, PER_FILE to a file; return the number of files."""
    texts = []
    functions = calls()
    for index in range(CASES):
        name, call, domain = functions[index % len(functions)]
        template, shape, mistake = TEMPLATES[(index // len(functions)) % len(TEMPLATES)]
        function = shape.format(f=call)
        gradient = claim(function, call, mistake)
        expect = "correct" if mistake is None else "incorrect"
        texts.append(case_text(f"{name}-{template}-{index}", function, gradient, domain, expect))
    files = 0
    for start in range(0, CASES, PER_FILE):
        body = "\n\n".join(texts[start : start + PER_FILE])
        (folder / f"suite-{files:02d}.yaml").write_text(f"cases:\n{body}\n", encoding="utf-8")
        files += 1
    return files


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the workers), user + system."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _spin(count: int) -> float:
    start = time.perf_counter()
    total = 0
    for index in range(count):
        total += index * index
    return time.perf_counter() - start


def parallel_capacity(count: int = 5_000_000) -> float:
    """How many processes' worth of CPU this machine gives right now: a fixed loop timed
    alone, then in two processes at once (2.0 on two idle cores; near 1.0 when other work
    holds a core, and then no --jobs setting can be faster than --jobs 1)."""
    alone = min(_spin(count) for _ in range(2))
    with ProcessPoolExecutor(max_workers=2) as pool:
        list(pool.map(_spin, [count // 10] * 2))  # start the workers before timing
        start = time.perf_counter()
        list(pool.map(_spin, [count] * 2))
        together = time.perf_counter() - start
    return round(2 * alone / together, 2)


def time_suite(folder: Path) -> tuple[dict, dict, dict]:
    """Wall seconds, CPU seconds and the JSON report of each job count, per repeat."""
    runs: dict[int, list[float]] = {jobs: [] for jobs in JOBS}
    cpu: dict[int, list[float]] = {jobs: [] for jobs in JOBS}
    reports: dict[int, str] = {}
    for _ in range(REPEATS):
        for jobs in JOBS:  # interleaved, so a disturbance falls on both alike
            start, start_cpu = time.perf_counter(), cpu_seconds()
            run = run_checks([str(folder)], Settings(), jobs)
            runs[jobs].append(round(time.perf_counter() - start, 3))
            cpu[jobs].append(round(cpu_seconds() - start_cpu, 3))
            reports[jobs] = render_json(run.results)
            failed = [(r.name, r.status) for r in run.results if r.status != "pass"]
            if failed or len(run.results) != CASES:
                sys.exit(f"the suite did not pass with --jobs {jobs}: {failed[:5]}")
    return runs, cpu, reports


def main() -> None:
    load = os.getloadavg()[0]  # other work on the machine slows the parallel run most
    capacity = [parallel_capacity()]
    with tempfile.TemporaryDirectory() as temporary:
        files = generate(Path(temporary))
        runs, cpu, reports = time_suite(Path(temporary))
    capacity.append(parallel_capacity())
    best = {jobs: min(times) for jobs, times in runs.items()}
    identical = len(set(reports.values())) == 1
    document = {
        "benchmark": "suite",
        "cases": CASES,
        "files": files,
        "what": "run_checks (diffcheck check) over the generated suite, best of "
        f"{REPEATS} interleaved runs",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform(), "load_average_at_start": round(load, 2),
                    "parallel_capacity_before_after": capacity},
        "runs": [{"jobs": jobs, "best_seconds": best[jobs], "seconds": runs[jobs],
                  "cpu_seconds": cpu[jobs], "cases_per_second": round(CASES / best[jobs], 1),
                  "ms_per_case": round(1000 * best[jobs] / CASES, 1)}
                 for jobs in JOBS],
        "goal_ms_per_case_jobs_1": GOAL_MS,
        "speedup_jobs_2": round(best[1] / best[2], 2),
        "reports_identical": identical,
    }  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    for entry in document["runs"]:
        print(f"--jobs {entry['jobs']}: {entry['best_seconds']:.2f} s for {CASES} cases, "
              f"{entry['ms_per_case']} ms a case")  # fmt: skip
    print(f"speedup {document['speedup_jobs_2']}x; reports identical: {identical}; "
          f"parallel capacity of the machine {capacity}")  # fmt: skip
    if not identical:
        sys.exit("the reports of --jobs 1 and --jobs 2 differ")


if __name__ == "__main__":
    main()
