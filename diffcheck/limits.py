"""Time and recursion limits for work that may run away (SymPy on deep or huge trees).

`time_limit` raises `CaseTimeout` when a block overruns; limits nest, and the outermost
expired one wins. It uses SIGALRM, so it only acts in the main thread of a POSIX process;
elsewhere it lets the block run unlimited rather than guess.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .errors import CaseTimeout

__all__ = ["BudgetExceeded", "deep_recursion", "time_limit"]

# SymPy recurses once per tree level and Python's default limit (1000) stops at a
# nesting depth of about 100-300; 3.11+ keeps pure-Python recursion off the C stack.
RECURSION_LIMIT = 50_000


class BudgetExceeded(CaseTimeout):
    """A `time_limit` block ran past its deadline."""

    def __init__(self, message: str, owner: time_limit):
        super().__init__(message)
        self.owner = owner


class _Expired(BaseException):
    """Raised by the alarm: a BaseException, so that library code catching Exception
    (SymPy does, here and there) cannot swallow it; turned into `BudgetExceeded` by the
    block that owns it."""

    def __init__(self, owner: time_limit):
        super().__init__(owner.message)
        self.owner = owner


_active: list[time_limit] = []
_REPEAT = 0.05  # seconds between alarms once a deadline passed, in case one is swallowed


def _drop_expired(previous_hook: Callable[[Any], object]) -> Callable[[Any], None]:
    """An alarm landing in a finaliser (__del__, a weakref callback) is printed by Python
    as "Exception ignored in ..." and lost; the next alarm repeats it, so it is dropped
    quietly, and everything else goes to the hook in place before."""

    def hook(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, _Expired):
            previous_hook(unraisable)

    return hook


def _can_alarm() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def _arm() -> None:
    if not _active:
        signal.setitimer(signal.ITIMER_REAL, 0)
        return
    remaining = min(limit.deadline for limit in _active) - time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-4), _REPEAT)


def _on_alarm(signum: int, frame: object) -> None:
    now = time.monotonic()
    for limit in _active:  # outermost first: it owns the most work
        if limit.deadline <= now:
            raise _Expired(limit)
    _arm()


class time_limit:  # noqa: N801 - used like a function: `with time_limit(2.0):`
    """Raise `BudgetExceeded(message)` if the block runs longer than `seconds`.

    None or a non-positive number means no limit. With `suppress=True` the block's own
    expiry is swallowed and `expired` is set; an enclosing limit's expiry always
    propagates through inner blocks.

    >>> with time_limit(5.0, suppress=True) as limit:
    ...     pass
    >>> limit.expired
    False
    """

    def __init__(
        self, seconds: float | None, message: str = "time limit exceeded", suppress: bool = False
    ):
        self.seconds = seconds
        self.message = message
        self.suppress = suppress
        self.expired = False
        self.deadline = 0.0
        self._armed = False
        self._previous_handler: object = None
        self._previous_hook: object = None

    def __enter__(self) -> time_limit:
        if self.seconds is None or self.seconds <= 0 or not _can_alarm():
            return self
        self.deadline = time.monotonic() + self.seconds
        if not _active:
            self._previous_handler = signal.signal(signal.SIGALRM, _on_alarm)
            self._previous_hook = sys.unraisablehook
            sys.unraisablehook = _drop_expired(sys.unraisablehook)
        _active.append(self)
        self._armed = True
        _arm()
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> bool:
        if self._armed:
            _active.remove(self)
            _arm()
            if not _active:
                signal.signal(signal.SIGALRM, self._previous_handler)
                sys.unraisablehook = self._previous_hook
        if isinstance(exc, _Expired) and exc.owner is self:
            self.expired = True
            if self.suppress:
                return True
            raise BudgetExceeded(self.message, self) from None
        return False


@contextmanager
def deep_recursion() -> Iterator[None]:
    """Let SymPy recurse through deep trees (a chain of 100 nested sigmoids or more)."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, RECURSION_LIMIT))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)
