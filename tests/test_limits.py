"""Time and recursion limits: outcomes only, no timing assertions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from diffcheck.limits import BudgetExceeded, deep_recursion, recursion_limit, time_limit

# far beyond the 0.05 s alarms below: an alarm that never comes fails the test, not hangs it
SPIN_BOUND = 30.0


def _spin_until_stopped() -> None:
    deadline = time.monotonic() + SPIN_BOUND
    while time.monotonic() < deadline:  # busy work that only the alarm ends
        pass
    pytest.fail(f"no alarm within {SPIN_BOUND:g} s")


def test_time_limit_suppressed_expiry_sets_expired() -> None:
    with time_limit(0.05, suppress=True) as limit:
        _spin_until_stopped()
    assert limit.expired


def test_time_limit_raises_with_its_message() -> None:
    with pytest.raises(BudgetExceeded, match="^too slow$"), time_limit(0.05, "too slow"):
        _spin_until_stopped()


def test_time_limit_outer_expiry_passes_through_a_suppressing_inner_limit() -> None:
    with pytest.raises(BudgetExceeded, match="^outer$"), time_limit(0.05, "outer"):
        with time_limit(100.0, "inner", suppress=True) as inner:
            _spin_until_stopped()
    assert not inner.expired


def test_time_limit_none_or_zero_is_no_limit() -> None:
    for seconds in (None, 0, -1):
        with time_limit(seconds, suppress=True) as limit:
            pass
        assert not limit.expired


def test_deep_recursion_restores_the_limit() -> None:
    before = sys.getrecursionlimit()
    with deep_recursion():
        assert sys.getrecursionlimit() == max(before, recursion_limit())
    assert sys.getrecursionlimit() == before


class _SlowFinaliser:
    def __del__(self) -> None:
        _spin_until_stopped()  # the alarm lands here, where Python cannot raise it


def test_an_alarm_swallowed_by_a_finaliser_is_repeated_and_never_printed() -> None:
    seen: list[object] = []
    previous, sys.unraisablehook = sys.unraisablehook, seen.append
    try:
        with time_limit(0.05, suppress=True) as limit:
            _SlowFinaliser()  # dropped at once: __del__ runs, and swallows the first alarm
            _spin_until_stopped()
        assert sys.unraisablehook == seen.append  # restored once no limit is active
    finally:
        sys.unraisablehook = previous
    assert limit.expired
    assert seen == []


# ---- a caller's own timer and handler (pytest-timeout's) ---------------------------------


class _CallerAlarm(Exception):
    """What the caller's handler raises when its timer fires."""


@pytest.fixture
def caller_timer():
    """Install a caller's SIGALRM handler that raises `_CallerAlarm`; put back what was
    there before, timer disarmed, whatever the test did."""

    def handler(signum, frame):
        raise _CallerAlarm

    previous = signal.signal(signal.SIGALRM, handler)
    yield handler
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def test_time_limit_hands_back_the_callers_timer_and_handler(caller_timer) -> None:
    signal.setitimer(signal.ITIMER_REAL, 20.0)
    with time_limit(5.0):
        pass
    remaining, _ = signal.getitimer(signal.ITIMER_REAL)
    assert 0 < remaining <= 20.0
    assert signal.getsignal(signal.SIGALRM) is caller_timer


def test_time_limit_lets_a_callers_earlier_timer_fire(caller_timer) -> None:
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    with pytest.raises(_CallerAlarm), time_limit(SPIN_BOUND / 2, "ours"):
        _spin_until_stopped()
    assert signal.getsignal(signal.SIGALRM) is caller_timer
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_time_limit_expiring_first_keeps_the_callers_later_timer(caller_timer) -> None:
    signal.setitimer(signal.ITIMER_REAL, 20.0)
    with pytest.raises(BudgetExceeded, match="^ours$"), time_limit(0.05, "ours"):
        with time_limit(0.02, "inner", suppress=True):
            _spin_until_stopped()
        _spin_until_stopped()
    remaining, _ = signal.getitimer(signal.ITIMER_REAL)
    assert 0 < remaining <= 20.0


def test_a_callers_timer_falling_due_with_ours_fires_after_the_block() -> None:
    rang: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: rang.append(signum))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(BudgetExceeded), time_limit(0.02):
            sum(range(20_000_000))  # C work: both timers may fall due before a handler runs
            _spin_until_stopped()
        deadline = time.monotonic() + SPIN_BOUND
        while not rang and time.monotonic() < deadline:
            time.sleep(0.01)
        assert rang == [signal.SIGALRM]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ---- recursion that the C stack can hold ------------------------------------------------

DEEP_TREE = """
import sys
import sympy as sp
from diffcheck.limits import deep_recursion
f = sp.Function("f")
tree = sp.Symbol("x")
for _ in range(40_000):  # deeper than any recursion limit
    tree = f(tree)
with deep_recursion():
    try:
        tree.free_symbols
    except RecursionError:
        print("RecursionError")
"""


def test_deep_recursion_raises_recursion_error_rather_than_overflow_the_c_stack() -> None:
    # up to Python 3.11, 50,000 frames of SymPy overflowed an 8 MiB C stack: a segfault
    done = subprocess.run([sys.executable, "-c", DEEP_TREE], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "RecursionError\n"), done.stderr[-2000:]


def test_an_alarm_landing_while_a_limit_is_taken_off_leaves_no_limit_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from diffcheck import limits

    class AlarmWhileRemoving(list):
        sent = False

        def remove(self, item: object) -> None:
            if not self.sent:  # the inner limit's repeating alarm lands right now
                self.sent = True
                os.kill(os.getpid(), signal.SIGALRM)
                time.sleep(0.01)
            super().remove(item)

    monkeypatch.setattr(limits, "_active", AlarmWhileRemoving())
    with time_limit(30.0) as outer:
        with time_limit(0.01, suppress=True) as inner:
            time.sleep(0.5)
        assert inner.expired and list(limits._active) == [outer]
    assert not outer.expired and list(limits._active) == []
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
