"""Work over many points, chunk by chunk; two worker threads where a case is large.

`for_chunks(count, body)` calls `body(start, stop)` for each chunk of at most CHUNK
points and yields the results in chunk order. From PARALLEL_POINTS points on, and while
the machine has a core to spare, the chunks run in two worker threads: NumPy releases
the GIL inside its ufuncs, so two cores work at once, and each chunk is computed exactly
as alone (same operations, same order), so the results are bit for bit those of one
thread. `by_chunks` applies an elementwise function that way.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:  # the pool's module (and logging, which it imports) loads with the pool
    from concurrent.futures import ThreadPoolExecutor

__all__ = ["CHUNK", "PARALLEL_POINTS", "WORKERS", "by_chunks", "for_chunks", "workers"]

CHUNK = 1 << 16  # points per pass: intermediates stay in cache and memory stays bounded
# below this many points a case takes a few milliseconds: handing chunks to threads would
# cost more than the second core gives back
PARALLEL_POINTS = 200_000
WORKERS = 2

_T = TypeVar("_T")
_POOL: dict[int, ThreadPoolExecutor] = {}  # process id -> pool: a forked child makes its own
_LOCK = threading.Lock()
_IN_WORKER = threading.local()


def _pool() -> ThreadPoolExecutor:
    from concurrent.futures import ThreadPoolExecutor

    pid = os.getpid()
    with _LOCK:
        if pid not in _POOL:
            _POOL.clear()  # a parent's pool: its threads do not exist in this process
            _POOL[pid] = ThreadPoolExecutor(WORKERS, thread_name_prefix="diffcheck-chunks")
        return _POOL[pid]


def _spare_core() -> bool:
    """Whether another core is likely idle: on a machine already busy, a second thread
    only waits for the GIL between its ufuncs, and the case runs slower, not faster."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]  # this process's own work counts about 1
    except (AttributeError, OSError):  # no load average (Windows): assume a spare core
        return cores >= WORKERS
    return cores >= WORKERS and load <= cores - 0.5


def workers(count: int) -> int:
    """How many threads `for_chunks` uses for `count` points now: WORKERS from
    PARALLEL_POINTS on where a core is spare, else 1."""
    # a chunk's own work never fans out again: two threads waiting on the same two
    # threads would wait for ever
    if count >= PARALLEL_POINTS and not getattr(_IN_WORKER, "busy", False) and _spare_core():
        return WORKERS
    return 1


def for_chunks(count: int, body: Callable[[int, int], _T]) -> Iterator[_T]:
    """`body(start, stop)` for each chunk of `count` points, the results in chunk order.

    Each chunk runs under the caller's NumPy error state. Bodies that write into shared
    arrays must write only their own chunk's part of them.
    """
    spans = [(start, min(start + CHUNK, count)) for start in range(0, count, CHUNK)]
    if len(spans) < 2 or workers(count) == 1:
        for start, stop in spans:
            yield body(start, stop)
        return
    errors = np.geterr()  # a worker thread starts from NumPy's default error state

    def run(span: tuple[int, int]) -> _T:
        _IN_WORKER.busy = True
        try:
            with np.errstate(**errors):
                return body(*span)
        finally:
            _IN_WORKER.busy = False

    yield from _pool().map(run, spans)


def by_chunks(
    function: Callable[..., tuple[np.ndarray, ...]], *arrays: Any
) -> tuple[np.ndarray, ...]:
    """Apply an elementwise `function` to 1-d `arrays` chunk by chunk (other arguments
    are passed whole), so that its temporaries stay in cache; outputs are concatenated."""
    count = next(len(a) for a in arrays if isinstance(a, np.ndarray))

    def chunk(start: int, stop: int) -> tuple[np.ndarray, ...]:
        return function(*(a[start:stop] if isinstance(a, np.ndarray) else a for a in arrays))

    outputs: list[np.ndarray] = []
    with np.errstate(all="ignore"):
        for index, parts in enumerate(for_chunks(count, chunk)):
            start = index * CHUNK
            if not outputs:
                outputs = [np.empty(count, dtype=part.dtype) for part in parts]
            for output, part in zip(outputs, parts, strict=True):
                output[start : start + CHUNK] = part
    return tuple(outputs)
