"""Time and recursion limits: outcomes only, no timing assertions."""

from __future__ import annotations

import sys

import pytest

from diffcheck.limits import BudgetExceeded, deep_recursion, time_limit


def _spin_until_stopped() -> None:
    while True:  # busy work that only the alarm ends
        pass


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
        assert sys.getrecursionlimit() >= 50_000
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
