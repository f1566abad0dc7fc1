"""Array cases at the size of a layer: softmax cross-entropy, X [64, 512], W [512, 512].

f(W) = -sum(Y * log_softmax(X @ W)) / N with Y one-hot; its gradient X.T @ (softmax(X @ W)
- Y) / N has 262 144 entries, every one compared at every point. Three figures (issue 12):

1. `diffcheck check` as a whole process (Python start, imports, reading, checking,
   report) on a right claim and on a claim missing the 1/N: RUNS runs each, median, min
   and max wall seconds, and the CPU seconds of each process (a busy machine stretches
   the wall time, not the CPU time).
2. The same function at W [128, 128] beside torch.autograd.gradcheck (full mode, float64,
   the gradient of W): gradcheck compares torch's backward with its own finite
   differences, one input entry at a time, at one point. diffcheck is timed as a whole
   process and in-process (`check_case`, the work alone), at SAMPLES points and at one
   point, as gradcheck checks; gradcheck in-process, torch already imported.
3. A claim wrong in a single entry (relative BUMP) of the 512×512 gradient: diffcheck
   names that entry; gradcheck's fast mode, which compares one random projection u·J·v,
   passes it for every seed tried: its tolerance for a projection is atol Σu Σv, with u
   uniform in [0, 1) normalised to length 1, so about 1e-5 × √(3n)/2 ≈ 4.4e-3 for the
   n = 262 144 weights, while one entry's error δ reaches the projection as δ u_ij, at
   most δ √(3/n) ≈ 3.4e-3 δ. (A failing gradcheck recomputes the whole Jacobian in slow
   mode for its message: the errors tried stay where fast mode passes.)

The cases check W (`wrt: [W]`), as gradcheck does; one more whole process checks every
variable (X and Y by the oracles alone). Both sides run on one thread (numpy's BLAS and
torch), as `diffcheck check` does: on a
busy machine two threads per process wait for each other (gradcheck at 128 took 536 s
with torch's two threads, 11 s with one, in one run at load average 7-11).

Run: python benchmarks/arrays.py  (writes benchmarks/results/arrays.json)
"""

from __future__ import annotations

import datetime
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

RUNS = 5  # whole processes per case file
SAMPLES = 8  # random points per case, as in the contract's array examples
N, LARGE, SMALL = 64, 512, 128  # batch; d = k for the large and the gradcheck layers
ENTRY = (137, 411)  # the entry the one-entry-off claim gets wrong
BUMP = 1e-3  # relative error of that entry
SEEDS = 20  # torch seeds for gradcheck's random projections
SCAN = (1e-3, 1e-1, 1e1, 1e3)  # relative errors tried on gradcheck's fast mode
TARGET_SECONDS = 3.0  # each whole process at 512
TARGET_RATIO = 20.0  # gradcheck's time over diffcheck's at 128
RESULTS = Path(__file__).parent / "results" / "arrays.json"
SCRIPT = "import sys; from diffcheck.cli import main; sys.argv[0] = 'diffcheck'; sys.exit(main())"
FUNCTION = "-sum(Y * log_softmax(X @ W, axis=-1)) / N"
GRADIENT = "X.T @ (softmax(X @ W, axis=-1) - Y) / N"
CLAIMS = {  # name -> (claim of W, expect)
    "right": (GRADIENT, "correct"),
    "missing-1-over-N": ("X.T @ (softmax(X @ W, axis=-1) - Y)", "incorrect"),
    "one-entry-off": (
        f"G * (1 + {BUMP:g} * outer(eye(d)[{ENTRY[0]}], eye(k)[{ENTRY[1]}]))",
        "incorrect",
    ),  # fmt: skip
}
# as `diffcheck check` does, one BLAS (and torch) thread: set before NumPy loads
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


def case_text(name: str, size: int, samples: int, wrt: str = "[W]") -> str:
    claim, expect = CLAIMS[name]
    return f"""cases:
  - name: softmax-ce-{name}
    shapes: {{X: [N, d], W: [d, k], Y: [N, k]}}
    dims: {{N: {N}, d: {size}, k: {size}}}
    where:
      G: {GRADIENT}
    function: {FUNCTION}
    wrt: {wrt}
    gradient:
      W: {claim}
    domain: {{X: [-1, 1], W: [-0.1, 0.1], Y: onehot}}
    samples: {samples}
    expect: {expect}
"""


def write_case(folder: Path, name: str, size: int, samples: int = SAMPLES,
               wrt: str = "[W]") -> str:  # fmt: skip
    path = folder / f"{name}-{size}-{samples}{'-all' if wrt != '[W]' else ''}.yaml"
    path.write_text(case_text(name, size, samples, wrt), encoding="utf-8")
    return str(path)


def launcher() -> list[str]:
    """The command that starts diffcheck: the installed script, else python -c."""
    script = shutil.which("diffcheck", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-c", SCRIPT]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def whole_processes(path: str) -> dict:
    """RUNS runs of `diffcheck check PATH` (after one to warm the file cache): wall and
    CPU seconds, and the verdict line, which must pass."""
    command = [*launcher(), "check", path]
    subprocess.run(command, check=False, capture_output=True)
    wall, cpu, output = [], [], ""
    for _ in range(RUNS):
        start, start_cpu = time.perf_counter(), children_cpu()
        done = subprocess.run(command, check=False, capture_output=True, text=True)
        wall.append(round(time.perf_counter() - start, 3))
        cpu.append(round(children_cpu() - start_cpu, 3))
        output = done.stdout
        if done.returncode != 0:
            sys.exit(f"{' '.join(command)} did not pass:\n{done.stdout}{done.stderr}")
    verdict = next(line.strip() for line in output.splitlines() if line.strip()[:4] == "PASS")
    return {"command": f"diffcheck check {Path(path).name}", "median_seconds":
            statistics.median(wall), "min_seconds": min(wall), "max_seconds": max(wall),
            "seconds": wall, "cpu_seconds": cpu, "verdict": verdict}  # fmt: skip


def compared_entries(path: str) -> dict:
    """From the JSON report: the claim's entries, the points compared, the worst entry."""
    command = [*launcher(), "check", "--format", "json", path]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    (case,) = json.loads(done.stdout)["cases"]
    entry = case["variables"]["W"]
    return {"verdict": case["verdict"], "entries": entry["entries"],
            "points": entry["checked_points"],
            "entries_compared": entry["entries"] * entry["checked_points"],
            "wrong_entries": entry["wrong_entries"], "worst_entry": entry["worst_entry"],
            "expected": entry["expected"], "claimed": entry["claimed"]}  # fmt: skip


def in_process(path: str) -> dict:
    """`check_case` on the file's case, RUNS times in this process (imports done)."""
    from diffcheck.cases.loader import load_case_file
    from diffcheck.run.check import check_case

    (case,) = load_case_file(path).cases
    wall, cpu = [], []
    for _ in range(RUNS):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = check_case(case)
        wall.append(round(time.perf_counter() - start, 4))
        cpu.append(round(time.process_time() - start_cpu, 4))
        if result.status != "pass":
            sys.exit(f"{case.name}: {result.status} ({result.message or result.verdict})")
    return {"median_seconds": statistics.median(wall), "min_seconds": min(wall),
            "max_seconds": max(wall), "seconds": wall, "cpu_seconds": cpu}  # fmt: skip


def torch_problem(size: int, seed: int = 0):  # noqa: ANN201
    """X, W (requiring its gradient), one-hot Y and the loss of W, in float64."""
    import numpy as np
    import torch

    rng = np.random.default_rng(seed)
    x = torch.tensor(rng.uniform(-1, 1, (N, size)))
    w = torch.tensor(rng.uniform(-0.1, 0.1, (size, size)), requires_grad=True)
    y = torch.zeros(N, size, dtype=torch.float64)
    y[torch.arange(N), torch.tensor(rng.integers(0, size, N))] = 1.0
    return x, w, y, lambda weights: -(y * torch.log_softmax(x @ weights, dim=-1)).sum() / N


def gradcheck_full(size: int) -> dict:
    """torch.autograd.gradcheck in full mode on the loss of W, in-process, one thread."""
    import torch

    _, w, _, loss = torch_problem(size)
    start, start_cpu = time.perf_counter(), time.process_time()
    passed = torch.autograd.gradcheck(loss, (w,), fast_mode=False)
    return {"torch_threads": torch.get_num_threads(), "passed": bool(passed),
            "median_seconds": round(time.perf_counter() - start, 3),
            "cpu_seconds": round(time.process_time() - start_cpu, 3)}  # fmt: skip


def one_entry_off_loss(size: int, bump: float):  # noqa: ANN201
    """A torch.autograd.Function whose backward is the true gradient with ENTRY off by
    the relative `bump`, applied to W, and W."""
    import torch

    x, w, y, _ = torch_problem(size)

    class OneEntryOff(torch.autograd.Function):
        @staticmethod
        def forward(ctx, weights):  # noqa: ANN001, ANN205
            ctx.save_for_backward(weights)
            return -(y * torch.log_softmax(x @ weights, dim=-1)).sum() / N

        @staticmethod
        def backward(ctx, outer):  # noqa: ANN001, ANN205
            (weights,) = ctx.saved_tensors
            gradient = x.T @ (torch.softmax(x @ weights, dim=-1) - y) / N
            gradient[ENTRY] *= 1 + bump
            return outer * gradient

    return OneEntryOff.apply, w


def gradcheck_fast(bump: float) -> dict:
    """gradcheck's fast mode on the one-entry-off backward at 512, over SEEDS seeds, with
    the entry's true value and its error there (fast mode compares one projection u·J·v:
    u uniform in [0, 1) normalised, its tolerance atol Σu Σv + rtol |u·J·v|)."""
    import torch

    loss, w = one_entry_off_loss(LARGE, bump)
    (claimed,) = torch.autograd.grad(loss(w), w)
    true = float(claimed[ENTRY]) / (1 + bump)
    passed = 0
    for seed in range(SEEDS):
        torch.manual_seed(seed)
        passed += bool(torch.autograd.gradcheck(loss, (w,), fast_mode=True,
                                                raise_exception=False))  # fmt: skip
    return {"relative_error": bump, "entry_value": true, "entry_error": abs(true * bump),
            "seeds": SEEDS, "passed": passed}  # fmt: skip


def comparison_at_128(folder: Path) -> dict:
    """diffcheck (whole process and in-process, SAMPLES points and one) beside gradcheck."""
    many, one = write_case(folder, "right", SMALL), write_case(folder, "right", SMALL, 1)
    figures = {"diffcheck_process": whole_processes(many),
               "diffcheck_process_one_point": whole_processes(one),
               "diffcheck_in_process": in_process(many),
               "diffcheck_in_process_one_point": in_process(one),
               "gradcheck_full": gradcheck_full(SMALL)}  # fmt: skip
    gradcheck = figures["gradcheck_full"]["median_seconds"]
    figures["ratios"] = {
        key: round(gradcheck / figures[key]["median_seconds"], 1)
        for key in ("diffcheck_in_process", "diffcheck_in_process_one_point",
                    "diffcheck_process", "diffcheck_process_one_point")
    }  # fmt: skip
    return figures


def machine(load: list[float]) -> dict:
    import numpy as np
    import torch

    return {"python": platform.python_version(), "numpy": np.__version__,
            "torch": torch.__version__, "cpus": os.cpu_count(), "platform": platform.platform(),
            "load_average_start_end": load,
            "blas_threads": {name: os.environ[name] for name in BLAS_THREADS},
            "bytecode_cached": not sys.dont_write_bytecode}  # fmt: skip


def large_layer(folder: Path) -> dict:
    """Whole processes at 512 for each claim, and what the JSON report says was compared."""
    figures = {}
    for name in CLAIMS:
        path = write_case(folder, name, LARGE)
        figures[name] = {**whole_processes(path), "report": compared_entries(path)}
    figures["right-every-variable"] = whole_processes(write_case(folder, "right", LARGE,
                                                                wrt="[X, W, Y]"))  # fmt: skip
    for run in figures.values():
        run["meets_target"] = run["median_seconds"] <= TARGET_SECONDS
    return figures


def tolerances(folder: Path) -> dict:
    """diffcheck's tolerance (the case's, by default) and gradcheck's, and what fast mode
    allows for one projection: atol Σu with u uniform in [0, 1) of length 1, Σu ≈ √(3n)/2,
    while an entry's error δ enters it as δ u_ij, u_ij at most about √(3/n)."""
    import inspect

    import torch

    from diffcheck.cases.loader import load_case_file

    (case,) = load_case_file(write_case(folder, "one-entry-off", LARGE)).cases
    defaults = inspect.signature(torch.autograd.gradcheck).parameters
    atol, rtol = defaults["atol"].default, defaults["rtol"].default
    n = LARGE * LARGE
    return {"diffcheck": {"rtol": case.tolerance.rtol, "atol": case.tolerance.atol},
            "gradcheck": {"rtol": rtol, "atol": atol, "eps": defaults["eps"].default},
            "gradcheck_fast_mode_projection_atol": round(atol * (3 * n) ** 0.5 / 2, 6),
            "largest_share_of_one_entry_error": round((3 / n) ** 0.5, 6)}  # fmt: skip


def table(document: dict) -> None:
    print(f"{'whole process, 512 (median, min-max)':<52} wall s            cpu s")
    for run in document["layer_512"].values():
        print(f"  {run['command']:<50} {run['median_seconds']:5.2f} "
              f"({run['min_seconds']:.2f}-{run['max_seconds']:.2f})  "
              f"{statistics.median(run['cpu_seconds']):5.2f}")  # fmt: skip
    small = document["beside_gradcheck_128"]
    print(f"at 128: gradcheck full {small['gradcheck_full']['median_seconds']:.2f} s; diffcheck "
          f"in-process {small['diffcheck_in_process']['median_seconds']:.3f} s "
          f"({small['ratios']['diffcheck_in_process']}x), one point "
          f"{small['diffcheck_in_process_one_point']['median_seconds']:.3f} s "
          f"({small['ratios']['diffcheck_in_process_one_point']}x); whole process "
          f"{small['diffcheck_process']['median_seconds']:.2f} s "
          f"({small['ratios']['diffcheck_process']}x)")  # fmt: skip
    wrong = document["layer_512"]["one-entry-off"]["report"]
    print(
        f"one entry off by {BUMP:g}: diffcheck {wrong['verdict']} at {wrong['worst_entry']} "
        f"({wrong['wrong_entries']} of {wrong['entries']} wrong); gradcheck fast mode "
        f"passes it for {document['gradcheck_fast_mode'][0]['passed']} of {SEEDS} seeds"
    )


def main() -> None:
    for name in BLAS_THREADS:
        os.environ.setdefault(name, "1")
    load = [round(os.getloadavg()[0], 2)]
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        layer = large_layer(folder)
        small = comparison_at_128(folder)
        allowed = tolerances(folder)
    fast = [gradcheck_fast(bump) for bump in SCAN]
    load.append(round(os.getloadavg()[0], 2))
    document = {
        "benchmark": "arrays",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "function": f"{FUNCTION}, X [N, d], W [d, k], Y one-hot [N, k], N = {N}",
        "claims": {name: claim for name, (claim, _) in CLAIMS.items()},
        "samples": SAMPLES,
        "runs": RUNS,
        "launcher": "diffcheck script" if len(launcher()) == 1 else "python -c",
        "commands": {"whole process": "diffcheck check CASE.yaml",
                     "in process": "diffcheck.run.check.check_case(case)",
                     "gradcheck": "torch.autograd.gradcheck(loss, (W,), fast_mode=False), "
                                  "float64, W [128, 128]",
                     "fast mode": "torch.autograd.gradcheck(one_entry_off, (W,), "
                                  "fast_mode=True), W [512, 512], torch.manual_seed(0..19)"},
        "machine": machine(load),
        "targets": {"whole_process_seconds_512": TARGET_SECONDS,
                    "gradcheck_over_diffcheck_128": TARGET_RATIO},
        "layer_512": layer,
        "beside_gradcheck_128": small,
        "one_entry_off": {"entry": list(ENTRY), "relative_error": BUMP, "tolerances": allowed},
        "gradcheck_fast_mode": fast,
    }  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    table(document)


if __name__ == "__main__":
    main()
