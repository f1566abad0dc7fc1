"""Time and recursion limits for work that may run away (SymPy on deep or huge trees).

`time_limit` raises `CaseTimeout` when a block overruns; limits nest, and the outermost
expired one wins. It uses SIGALRM, so it only acts in the main thread of a POSIX process;
elsewhere it lets the block run unlimited rather than guess. A caller's own real-time
timer (pytest-timeout's, say) keeps running: it fires when it was due, and whatever it
has left is handed back when the block ends. `deep_recursion` raises the recursion limit
as far as the C stack allows.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .errors import CaseTimeout

__all__ = ["BudgetExceeded", "deep_recursion", "is_expiry", "recursion_limit", "time_limit"]

# SymPy recurses once or more per tree level, and Python's default limit (1000) stops at a
# nesting depth of about 100-300. From 3.12 on, Python calls take no C stack and the
# interpreter guards C recursion itself, so any limit is safe there.
RECURSION_LIMIT = 50_000
# Up to 3.11, recursion also takes C stack (every call on 3.10; on 3.11 the calls made
# through C: __hash__, __eq__, generators), and running out of it kills the process.
# Measured with an 8 MiB stack on 3.10 and 3.11: SymPy's printing, free_symbols and
# xreplace on a deep tree crash from about 16,000 frames on (~520 bytes a frame), a plain
# generator recursion on 3.10 from 16,000. A frame per KiB of stack is twice that margin:
# 8,192 frames for 8 MiB, deep enough for the parser's 1000 levels.
STACK_BYTES_PER_FRAME = 1024
# python.exe on Windows reserves 2 MB for its main thread; a thread that did not ask for a
# size gets the platform's default, which can be as little as 512 KiB: assume 1 MiB
WINDOWS_MAIN_STACK = 2_000_000
THREAD_STACK = 1 << 20


class BudgetExceeded(CaseTimeout):
    """A `time_limit` block ran past its deadline."""

    def __init__(self, message: str, owner: time_limit):
        super().__init__(message)
        self.owner = owner


def is_expiry(error: BaseException) -> bool:
    """Whether `error` is a time limit falling due (for code that catches everything, as
    around users' code: it must let that through)."""
    return isinstance(error, _Expired)


class _Expired(BaseException):
    """Raised by the alarm: a BaseException, so that library code catching Exception
    (SymPy does, here and there) cannot swallow it; turned into `BudgetExceeded` by the
    block that owns it."""

    def __init__(self, owner: time_limit):
        super().__init__(owner.message)
        self.owner = owner


@dataclass
class _CallerTimer:
    """The SIGALRM handler and real-time timer that were in place before the outermost
    limit took them over; `deadline` is when the timer is due (None: not armed)."""

    handler: Any
    deadline: float | None
    interval: float


_active: list[time_limit] = []
_caller: list[_CallerTimer] = []  # one entry while any limit is active
_leaving: list[bool] = []  # non-empty while a limit is being taken off the stack
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
    if not hasattr(signal, "setitimer"):
        return False
    if threading.current_thread() is not threading.main_thread():
        return False
    # a handler installed from C cannot be put back from Python: leave its signal alone
    return signal.getsignal(signal.SIGALRM) is not None


def _arm() -> None:
    deadlines = [limit.deadline for limit in _active]
    if _caller and _caller[0].deadline is not None:
        deadlines.append(_caller[0].deadline)
    if not deadlines:
        signal.setitimer(signal.ITIMER_REAL, 0)
        return
    remaining = min(deadlines) - time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-4), _REPEAT)


def _on_alarm(signum: int, frame: Any) -> None:
    # never raise inside this module's own bookkeeping (a limit being put in place or
    # taken off, even at the first instruction of __enter__ or __exit__): the limit would
    # stay on the stack with its alarm repeating for ever; the alarm repeats shortly
    if _leaving or (frame is not None and frame.f_code.co_filename == __file__):
        return
    now = time.monotonic()
    expired = [limit for limit in _active if limit.deadline <= now]
    caller = _caller[0] if _caller else None
    due = caller is not None and caller.deadline is not None and caller.deadline <= now
    if due and all(caller.deadline <= limit.deadline for limit in expired):
        _ring_caller(caller, signum, frame)  # theirs was due first: it wins
    elif expired:
        raise _Expired(expired[0])  # outermost first: it owns the most work
    _arm()


def _ring_caller(caller: _CallerTimer, signum: int, frame: Any) -> None:
    """What the caller's timer would have done had it not been taken over."""
    caller.deadline = time.monotonic() + caller.interval if caller.interval > 0 else None
    handler = caller.handler
    if handler == signal.SIG_IGN:
        return
    if not callable(handler):  # SIG_DFL: the signal ends the process
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGALRM)
        return
    signal.setitimer(signal.ITIMER_REAL, 0)
    handler(signum, frame)  # may raise (pytest-timeout's does): it leaves every limit
    remaining, interval = signal.getitimer(signal.ITIMER_REAL)
    if remaining > 0:  # the handler set a timer of its own again
        caller.deadline, caller.interval = time.monotonic() + remaining, interval


def _take_over() -> None:
    """Install the alarm handler, keeping the caller's handler and pending timer."""
    handler = signal.signal(signal.SIGALRM, _on_alarm)
    remaining, interval = signal.setitimer(signal.ITIMER_REAL, 0)
    deadline = time.monotonic() + remaining if remaining > 0 else None
    _caller.append(_CallerTimer(handler, deadline, interval))


def _hand_back() -> None:
    """Put the caller's handler back, and its timer with the time it has left."""
    caller = _caller.pop()
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, caller.handler)
    if caller.deadline is not None:
        remaining = max(caller.deadline - time.monotonic(), 1e-6)  # overdue: fires at once
        signal.setitimer(signal.ITIMER_REAL, remaining, caller.interval)


def _start_leaving() -> _Expired | None:
    """Mark a limit as being taken off the stack: an alarm landing meanwhile is held
    back (raised there, it would leave the limit on the stack and its alarm repeating
    for ever); taking it off re-arms the timer. An alarm that fired just before the mark
    is returned, for the caller to decide."""
    late = None
    while True:
        try:
            _leaving.append(True)
            return late
        except _Expired as expired:
            late = expired


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
        self._previous_hook: Any = None

    def __enter__(self) -> time_limit:
        if self.seconds is None or self.seconds <= 0 or not _can_alarm():
            return self
        # an alarm landing here (an enclosing limit already overdue repeats its alarm)
        # would leave this limit on the stack with no __exit__ to take it off: held back
        # until the limit is in place, then it repeats inside the block
        _start_leaving()
        try:
            self.deadline = time.monotonic() + self.seconds
            if not _active:
                _take_over()
                self._previous_hook = sys.unraisablehook
                sys.unraisablehook = _drop_expired(sys.unraisablehook)
            _active.append(self)
            self._armed = True
            _arm()
        finally:
            _leaving.pop()
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> bool:
        if self._armed:
            self._armed = False
            late = _start_leaving()
            try:
                _active.remove(self)
                if _active:
                    _arm()
                else:
                    _hand_back()
                    sys.unraisablehook = self._previous_hook
            finally:
                _leaving.pop()
            if late is not None and late.owner in _active and not isinstance(exc, _Expired):
                raise late  # an enclosing limit fell due as this one ended: it goes on
        if isinstance(exc, _Expired) and exc.owner is self:
            self.expired = True
            if self.suppress:
                return True
            raise BudgetExceeded(self.message, self) from None
        return False


def _stack_bytes() -> int | None:
    """The C stack this thread may use; None for no limit."""
    if threading.current_thread() is not threading.main_thread():
        return threading.stack_size() or THREAD_STACK
    try:
        import resource
    except ImportError:  # Windows
        return WINDOWS_MAIN_STACK
    soft, _ = resource.getrlimit(resource.RLIMIT_STACK)
    return None if soft == resource.RLIM_INFINITY else soft


def recursion_limit() -> int:
    """The recursion limit `deep_recursion` sets: as deep as the C stack safely allows.

    >>> 1000 <= recursion_limit() <= RECURSION_LIMIT
    True
    """
    if sys.version_info >= (3, 12):
        return RECURSION_LIMIT
    stack = _stack_bytes()
    if stack is None:
        return RECURSION_LIMIT
    return max(1000, min(RECURSION_LIMIT, stack // STACK_BYTES_PER_FRAME))


@contextmanager
def deep_recursion() -> Iterator[None]:
    """Let SymPy recurse through deep trees (a chain of 100 nested sigmoids or more);
    beyond what the C stack holds, a RecursionError, never a crash."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, recursion_limit()))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)
