"""Run stage over many files, in worker processes: paths -> `Run` (results in file order).

Main function: `run_checks(paths, settings, jobs, progress)`. With one job it checks in
this process, exactly as `check_paths` does; with more, worker processes check one case
each, and the results come back in the same order with the same content, so every
report is the same byte for byte. Processes, not threads: a case's time limit is an
alarm signal, which only the main thread of a process receives.
"""

from __future__ import annotations

import copyreg
import functools
import io
import multiprocessing
import os
import pickle
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime, timezone
from types import MappingProxyType

from ..cases.array_model import ArrayCase
from ..cases.loader import Case, CaseFile, InvalidCase, load_case_file
from .check import CaseResult, Settings, check_case, find_case_files, invalid_result
from .isolated import check_alone

__all__ = ["Run", "resolve_jobs", "run_checks"]

Progress = Callable[[int, int], None]  # called with (cases finished, cases to run)


@dataclass(frozen=True)
class Run:
    """The results of a run in report order, each result's duration (0 for entries that
    were not run, such as invalid files), the start time (ISO 8601, UTC) and the total."""

    results: tuple[CaseResult, ...]
    durations: tuple[float, ...]
    started: str
    seconds: float


def resolve_jobs(jobs: int | None) -> int:
    """The number of worker processes: `jobs`, or every CPU for None (`--jobs auto`).

    >>> resolve_jobs(3)
    3
    """
    return max(1, jobs if jobs is not None else (os.cpu_count() or 1))


def _invalid(entry: InvalidCase) -> CaseResult:
    return invalid_result(entry)


def _timed_check(case: Case, settings: Settings) -> tuple[CaseResult, float]:
    start = time.perf_counter()
    result = check_case(case, settings)
    return result, time.perf_counter() - start


def run_checks(
    paths: Sequence[str],
    settings: Settings | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
) -> Run:
    """Check every case below `paths`, as `check_paths` does, in `jobs` processes.

    Args:
        paths: case files or folders.
        settings: run-wide settings, sent to every worker; None: the defaults.
        jobs: worker processes; 1 checks in this process.
        progress: called with (finished, total) before the first case and after each.

    Returns:
        A `Run` whose results are in the order `check_paths` gives.
    """
    settings = Settings() if settings is None else settings
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    clock = time.perf_counter()
    slots, work = _plan(paths, settings.timeout)
    if progress:
        progress(0, len(work))
    if jobs > 1 and len(work) > 1:
        finished = _run_in_workers(work, settings, min(jobs, len(work)), progress)
    else:
        finished = _run_here(work, settings, progress)
    durations = [0.0] * len(slots)
    for slot, (result, seconds) in finished.items():
        slots[slot], durations[slot] = result, seconds
    results = tuple(result for result in slots if result is not None)
    return Run(results, tuple(durations), started, time.perf_counter() - clock)


Work = list[tuple[int, Case, str, int]]  # (slot in the report, case, file, index in file)


def _plan(paths: Sequence[str], timeout: float | None) -> tuple[list[CaseResult | None], Work]:
    """The report's slots in `check_paths` order, filled where nothing is to be run
    (usage errors, invalid cases), and the cases to run into the empty ones."""
    files, problems = find_case_files(paths)
    slots: list[CaseResult | None] = list(problems)
    work: Work = []
    for case_file in (load_case_file(path, timeout) for path in files):
        for index, entry in enumerate(case_file.entries):
            if isinstance(entry, InvalidCase):
                slots.append(_invalid(entry))
            else:
                work.append((len(slots), entry, case_file.path, index))
                slots.append(None)
    return slots, work


def _run_here(
    work: Work, settings: Settings, progress: Progress | None
) -> dict[int, tuple[CaseResult, float]]:
    finished = {}
    for slot, case, _, _ in work:
        finished[slot] = _timed_check(case, settings)
        if progress:
            progress(len(finished), len(work))
    return finished


def _start_method() -> str | None:
    """The platform's default, except that a process running an autodiff framework's
    thread pools is never forked: a child forked mid-operation can deadlock."""
    threaded = any(name in sys.modules for name in ("jax", "torch"))
    if threaded and "forkserver" in multiprocessing.get_all_start_methods():
        return "forkserver"
    return None


def _run_in_workers(
    work: Work, settings: Settings, jobs: int, progress: Progress | None
) -> dict[int, tuple[CaseResult, float]]:
    """Each worker loads the file itself (cases do not pickle) and sends the result back
    pickled; a result that cannot travel is checked again here, so nothing is lost."""
    finished: dict[int, tuple[CaseResult, float]] = {}
    context = multiprocessing.get_context(_start_method())
    broken: Work = []  # held by a worker that died: checked again, each alone
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures: dict[Future, tuple[int, Case, str, int]] = {
            pool.submit(_check_in_worker, path, index, settings): (slot, case, path, index)
            for slot, case, path, index in work
        }
        try:
            for future in as_completed(futures):
                slot, case, path, index = futures[future]
                try:
                    answer = future.result()
                except BrokenProcessPool:
                    broken.append((slot, case, path, index))
                    continue
                finished[slot] = _received(answer, case, settings)
                if progress:
                    progress(len(finished), len(work))
        except BaseException:  # Ctrl-C: start none of the cases queued, stop those running
            _stop_workers(pool)
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    for slot, case, path, index in broken:
        answer = check_alone(context, _check_in_worker, case, (path, index, settings))
        finished[slot] = (answer, 0.0) if isinstance(answer, CaseResult) else (
            _received(answer, case, settings))  # fmt: skip
        if progress:
            progress(len(finished), len(work))
    return finished


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate the pool's processes: a case may run up to its time limit, and Ctrl-C
    means now (leaving the pool would wait for every case running)."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14 on
    if terminate is not None:
        terminate()
        return
    processes = getattr(pool, "_processes", None) or {}  # no public way before 3.14
    for process in list(processes.values()):
        process.terminate()


def _received(answer: tuple[bytes | None, float], case: Case, settings: Settings
              ) -> tuple[CaseResult, float]:  # fmt: skip
    payload, seconds = answer
    if payload is None:
        return _timed_check(case, settings)
    return pickle.loads(payload), seconds


# ---- in the worker process ----------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _load(path: str, timeout: float | None) -> CaseFile:
    # cases are handed out in file order, so a worker meets the same file again and again
    return load_case_file(path, timeout)


def _check_in_worker(path: str, index: int, settings: Settings) -> tuple[bytes | None, float]:
    entries = _load(path, settings.timeout).entries
    entry = entries[index] if index < len(entries) else None
    if not isinstance(entry, (Case, ArrayCase)):  # the file changed since the parent read it
        return None, 0.0
    result, seconds = _timed_check(entry, settings)
    try:
        return _dumps(result), seconds
    except Exception:  # something in the result cannot be pickled: the parent checks it
        return None, seconds


def _mapping_proxy(items: dict) -> MappingProxyType:
    return MappingProxyType(items)


def _reduce_mapping_proxy(proxy: MappingProxyType) -> tuple:
    return _mapping_proxy, (dict(proxy),)


# cases keep their tables read-only in mapping proxies, which pickle cannot take as they are
_DISPATCH = {**copyreg.dispatch_table, MappingProxyType: _reduce_mapping_proxy}


def _dumps(result: CaseResult) -> bytes:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _DISPATCH
    pickler.dump(result)
    return buffer.getvalue()
