"""Run stage for array cases: whether a point is compared, and with which reference.

A point is left out, and reported, where the function is undefined (NaN or inf from
finite arguments), on a kink whose one-sided derivatives differ, or out of float64's
and mpmath's reach (exp(exp(exp(x))) at x = 3 is neither inf nor computable: mpmath
evaluates no number beyond 2^±REACH_BITS). An inf that is only float64's (exp(800)) is
no reason: mpmath finds the function finite there, and the point is compared. Main
function: `usable_point`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mpmath
import numpy as np

from ..arrays.evaluate import evaluate_mp
from ..arrays.ir import Node
from ..arrays.points import check_point
from ..symbolic.reach import OutOfReach
from .array_kinks import kink_jacobians
from .array_oracle_checks import MAX_SETTLED_ENTRIES

__all__ = ["usable_point"]


def usable_point(case, instance, values, result, memo) -> dict | None:  # noqa: ANN001
    """None for a point where the function is undefined, on a kink or out of reach:
    reported in `result` (an `InstanceResult`), never compared. Else {} for an ordinary
    point, or, for a point flagged on a kink where the derivative exists all the same
    (norm(x)**2 at 0), the function's Jacobians there (`kink_jacobians`)."""
    try:
        return _usable(case, instance, values, result, memo)
    except OutOfReach as beyond:  # (index into the points, what mpmath would need)
        result.unreachable.append((len(result.points) - 1, str(beyond)))
        return None


def _usable(case, instance, values, result, memo) -> dict | None:  # noqa: ANN001
    """`usable_point`, raising OutOfReach where mpmath would be asked beyond its reach."""
    point = len(result.points)  # as reports count: from 1
    found = check_point(instance.function, values, case.wrt, memo=memo)
    undefined = list(found.undefined)
    if undefined and _overflow_only(instance.function, values, undefined):
        result.overflowed += 1  # finite in mpmath: float64's range, not the domain
        undefined = []
    for flag in undefined:
        result.undefined.append(f"point {point}: {flag.expression}: {flag.reason}")
    if undefined:
        return None
    if not found.kinks:
        return {}
    limits = kink_jacobians(instance.function, list(case.wrt), values)
    if limits is not None:
        return limits
    for flag in found.kinks:
        result.kinks.append(f"point {point}: {flag.expression}: {flag.reason}")
    return None


def _overflow_only(function: Node, values: Mapping[str, Any], flags: list) -> bool:
    """Whether every flagged entry only overflowed float64: the function is finite when
    evaluated in mpmath (at sizes mpmath can afford).

    Raises:
        OutOfReach: mpmath would need a value beyond its reach for the function.
    """
    if not all("infinite" in flag.reason for flag in flags):
        return False
    if sum(int(np.size(v)) for v in values.values()) + function.size > MAX_SETTLED_ENTRIES:
        return False
    exact = evaluate_mp(function, values, 30)
    return all(mpmath.isfinite(value) for value in np.asarray(exact, dtype=object).reshape(-1))
