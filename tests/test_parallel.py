"""Parallel runs: worker processes give the same results, in the same order, as a serial
run; results that cannot travel between processes are checked again in the parent."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest

from diffcheck.cases.loader import load_case_file
from diffcheck.report.text import render_json, render_text
from diffcheck.run import parallel
from diffcheck.run.check import Settings, check_case, check_paths
from diffcheck.run.isolated import died
from diffcheck.run.parallel import resolve_jobs, run_checks

CASES = """\
cases:
  - name: square
    function: x^2
    gradient: {x: 2*x}
    domain: {x: [0, 1]}
  - name: half
    function: x^2
    gradient: {x: x}
    domain: {x: [0, 1]}
  - name: sigmoid
    function: sigmoid(w*x + b)
    gradient: {w: x*sigmoid(w*x + b)*(1 - sigmoid(w*x + b))}
    wrt: [w]
    domain: {w: [-1, 1], b: [-1, 1], x: [-2, 2]}
  - name: typo
    function: sigmod(x)
    domain: {x: [0, 1]}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for index in range(3):
        (tmp_path / f"file{index}.yaml").write_text(CASES, encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("cases: [\n", encoding="utf-8")
    return tmp_path


def test_run_checks_serial_equals_check_paths(folder: Path) -> None:
    paths = [str(folder), str(folder / "missing.yaml")]
    expected = check_paths(paths)
    run = run_checks(paths, Settings(), jobs=1)
    assert render_text(run.results) == render_text(expected)
    assert render_json(run.results) == render_json(expected)
    assert len(run.durations) == len(run.results)


def test_run_checks_two_jobs_equals_serial(folder: Path) -> None:
    paths = [str(folder), str(folder / "missing.yaml")]
    serial = run_checks(paths, jobs=1)
    workers = run_checks(paths, jobs=2)
    assert [(r.file, r.name, r.status) for r in workers.results] == [
        (r.file, r.name, r.status) for r in serial.results
    ]
    assert render_text(workers.results) == render_text(serial.results)
    assert render_json(workers.results) == render_json(serial.results)


def test_run_checks_reports_progress(folder: Path) -> None:
    calls: list[tuple[int, int]] = []
    run_checks([str(folder / "file0.yaml")], jobs=2, progress=lambda *a: calls.append(a))
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]  # the invalid case is not run


def test_results_travel_between_processes(folder: Path) -> None:
    case = load_case_file(folder / "file0.yaml").cases[1]
    result = check_case(case)
    copy = pickle.loads(parallel._dumps(result))
    assert render_json([copy]) == render_json([result])
    assert render_text([copy]) == render_text([result])


def test_worker_sends_none_when_a_result_cannot_travel(folder, monkeypatch) -> None:
    def refuse(result):
        raise TypeError("cannot pickle")

    monkeypatch.setattr(parallel, "_dumps", refuse)
    payload, _ = parallel._check_in_worker(str(folder / "file0.yaml"), 0, Settings())
    assert payload is None


def test_worker_sends_none_for_an_entry_that_is_no_longer_a_case(folder: Path) -> None:
    path = str(folder / "file0.yaml")
    assert parallel._check_in_worker(path, 3, Settings()) == (None, 0.0)  # typo: invalid
    assert parallel._check_in_worker(path, 99, Settings()) == (None, 0.0)


def test_parent_checks_again_what_could_not_travel(folder: Path) -> None:
    case = load_case_file(folder / "file0.yaml").cases[0]
    result, _ = parallel._received((None, 0.0), case, Settings())
    assert render_text([result]) == render_text([check_case(case)])


@pytest.mark.parametrize(
    ("exitcode", "how"),
    [(-9, "was killed (SIGKILL), most likely by the system for lack of memory; --jobs 1 "
          "checks it in the main process"),
     (-11, "crashed (SIGSEGV), most likely in compiled code the case calls (a C extension, "
           "a framework)"),
     (3, "stopped abruptly (exit status 3): the case's code may exit the process")],
)  # fmt: skip
def test_a_dead_process_is_an_error_result_saying_how_it_died(folder: Path, exitcode: int,
                                                              how: str) -> None:  # fmt: skip
    case = load_case_file(folder / "file0.yaml").cases[0]
    result = died(case, exitcode)
    assert (result.status, result.error_kind) == ("error", "crash")
    assert result.message.endswith(f"internal error: the process checking this case {how}")


def test_one_case_crashing_its_worker_takes_no_other_case_with_it(tmp_path: Path) -> None:
    # the pool breaks and fails every case it held: each is checked again alone
    (tmp_path / "crash.py").write_text(
        "import ctypes\n\ndef grad(x):\n    ctypes.string_at(0)\n", encoding="utf-8"
    )
    cases = "".join(
        f"  - name: c{i}\n    function: x**2\n    implementation: {{gradient: "
        f"'{'crash' if i == 3 else 'fine'}:grad'}}\n    domain: {{x: [-1, 1]}}\n    samples: 4\n"
        for i in range(8)
    )  # fmt: skip
    (tmp_path / "fine.py").write_text("def grad(x):\n    return {'x': 2*x}\n", encoding="utf-8")
    (tmp_path / "cases.yaml").write_text(f"cases:\n{cases}", encoding="utf-8")
    run = run_checks([str(tmp_path)], Settings(), jobs=2)
    statuses = [(r.name, r.status, r.error_kind) for r in run.results]
    assert statuses == [(f"c{i}", "error", "crash") if i == 3 else (f"c{i}", "pass", None)
                        for i in range(8)]  # fmt: skip
    assert "crashed (SIGSEGV)" in run.results[3].message


def test_resolve_jobs_auto_is_the_cpu_count() -> None:
    assert resolve_jobs(None) == (os.cpu_count() or 1)
    assert resolve_jobs(2) == 2


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_workers_start_by_any_method(folder: Path, method: str) -> None:
    """macOS and Windows spawn workers, Python 3.14 forkserves them on Linux."""
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"{method} is not available on this platform")
    script = (
        "import multiprocessing, sys\n"
        "from diffcheck.run.parallel import run_checks\n"
        "from diffcheck.report.text import render_json\n"
        f"multiprocessing.set_start_method({method!r})\n"
        "print(render_json(run_checks(sys.argv[1:], jobs=2).results))\n"
    )
    paths = [str(folder / "file0.yaml"), str(folder / "file1.yaml")]
    completed = subprocess.run(
        [sys.executable, "-c", script, *paths], capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == render_json(check_paths(paths)) + "\n"


def test_workers_are_never_forked_from_a_process_running_jax_or_torch(monkeypatch) -> None:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("forkserver is not available on this platform")
    for name in ("jax", "torch"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    assert parallel._start_method() is None
    monkeypatch.setitem(sys.modules, "jax", object())
    assert parallel._start_method() == "forkserver"


@pytest.mark.skipif(sys.platform == "win32", reason="process groups and SIGINT are POSIX")
def test_ctrl_c_stops_running_cases_and_exits_130(tmp_path: Path) -> None:
    # a case may run up to its time limit: Ctrl-C must not wait for it, nor leave
    # workers behind; 130 (128 + SIGINT) tells an interrupted run from a failed one
    import signal

    (tmp_path / "sleepy.py").write_text(
        "import time\n\ndef grad(x):\n    time.sleep(120)\n    return {'x': 2*x}\n",
        encoding="utf-8",
    )
    cases = "".join(f"  - name: c{i}\n    function: x**2\n    implementation: {{gradient: "
                    "'sleepy:grad'}\n    domain: {x: [-1, 1]}\n    samples: 2\n"
                    for i in range(4))  # fmt: skip
    (tmp_path / "cases.yaml").write_text(f"cases:\n{cases}", encoding="utf-8")
    command = [sys.executable, "-c", "from diffcheck.cli import main; main()", "check",
               str(tmp_path), "--jobs", "2", "--timeout", "300"]  # fmt: skip
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)  # fmt: skip

    def group() -> list[str]:
        found = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True)
        return found.stdout.split()

    try:
        for _ in range(600):  # until both workers run a case (the user's code sleeping)
            if len(group()) >= 3:
                break
            time.sleep(0.05)
        time.sleep(1.0)
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=60) == 130
        assert "interrupted: no report was written" in process.stderr.read().decode()
        time.sleep(0.5)
        assert group() == []
    finally:
        if process.poll() is None or group():
            os.killpg(process.pid, signal.SIGKILL)
