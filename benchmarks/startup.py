"""Start-up time of the command line: `diffcheck --help`, `--version` and `check --help`.

Each command runs as a whole process, as a user starts it (the installed `diffcheck`
script beside this Python, else `python -c` with the script's two lines), RUNS times;
the figures are the median, minimum and maximum wall seconds. For scale the results also
hold a bare `python -c pass`, and, from one extra run of each command, whether it
imported SymPy or NumPy (the two heavy imports; neither is needed to print help).

Target (issue 14): each command in at most 0.3 s (median).

Run: python benchmarks/startup.py  (writes benchmarks/results/startup.json)
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = (("--help",), ("--version",), ("check", "--help"))
RUNS = 10
TARGET_SECONDS = 0.3  # the median of each command
RESULTS = Path(__file__).parent / "results" / "startup.json"
# what the installed script does, for when it is not installed beside this Python
SCRIPT = "import sys; from diffcheck.cli import main; sys.argv[0] = 'diffcheck'; sys.exit(main())"
# the same, then reports which heavy modules the command imported
PROBE = (
    "import sys\nfrom diffcheck.cli import main\nsys.argv[0] = 'diffcheck'\n"
    "try:\n    main()\nexcept SystemExit:\n    pass\n"
    "sys.stderr.write(' '.join(m for m in ('sympy', 'numpy') if m in sys.modules))\n"
)


def launcher() -> list[str]:
    """The command that starts diffcheck: the installed script, else python -c."""
    script = shutil.which("diffcheck", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-c", SCRIPT]


def wall_seconds(command: list[str]) -> list[float]:
    """Wall seconds of RUNS runs of `command`, each a fresh process."""
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(round(time.perf_counter() - start, 4))
    return times


def heavy_imports(arguments: tuple[str, ...]) -> list[str]:
    """The heavy modules (sympy, numpy) that running diffcheck with `arguments` imports."""
    probe = [sys.executable, "-c", PROBE, *arguments]
    done = subprocess.run(probe, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return done.stderr.decode().split()


def summarise(times: list[float]) -> dict:
    return {"median_seconds": round(statistics.median(times), 4), "min_seconds": min(times),
            "max_seconds": max(times), "seconds": times}  # fmt: skip


def main() -> None:
    load = os.getloadavg()[0]  # other work on the machine slows every process start
    start = launcher()
    subprocess.run([*start, "--help"], check=True, stdout=subprocess.DEVNULL)  # warm caches
    python = summarise(wall_seconds([sys.executable, "-c", "pass"]))
    runs = []
    for arguments in COMMANDS:
        figures = summarise(wall_seconds([*start, *arguments]))
        runs.append({"command": " ".join(["diffcheck", *arguments]), **figures,
                     "imports": heavy_imports(arguments),
                     "meets_target": figures["median_seconds"] <= TARGET_SECONDS})  # fmt: skip
    document = {
        "benchmark": "startup",
        "work": f"whole processes, {RUNS} runs each: median, min and max wall seconds",
        "target": f"median <= {TARGET_SECONDS} s for each command",
        "launcher": "diffcheck script" if len(start) == 1 else "python -c",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                    "load_average_at_start": round(load, 2)},
        "python_alone": python,
        "runs": runs,
    }  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(f"{'python -c pass':>24}: median {python['median_seconds']:.3f} s")
    for run in runs:
        print(f"{run['command']:>24}: median {run['median_seconds']:.3f} s "
              f"(min {run['min_seconds']:.3f}, max {run['max_seconds']:.3f}); "
              f"imports {', '.join(run['imports']) or 'neither sympy nor numpy'}")  # fmt: skip
    sys.exit(0 if all(run["meets_target"] for run in runs) else 1)


if __name__ == "__main__":
    main()
