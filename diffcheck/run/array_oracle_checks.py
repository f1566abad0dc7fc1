"""Run stage for array cases: the array reference against its independent oracles.

At a few points per size: the complex step (or central differences) along random
directions, with mpmath settling a disagreement float64 cannot decide; PyTorch/JAX at
every entry when asked for; and central differences at each wrong claim's worst entry,
so that an `incorrect` verdict names an oracle that backs the reference there. Where
mpmath cannot reach the values (`symbolic.reach`), float64's disagreement is not settled:
a directional check is skipped with a note, a worst entry stays unbacked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..arrays.oracles import (
    DirectionalCheck,
    central_difference_entries,
    check_direction_mp,
    check_directions,
)
from ..cases.model import Tolerance
from ..compare.array_compare import ClaimResult, OracleCheck, format_index
from ..compare.array_frameworks import framework_checks
from ..compare.closeness import FD_RTOL, FD_SAFETY, excess
from ..oracles.array_implementation import FUNCTION
from ..symbolic.reach import OUT_OF_REACH, OutOfReach

__all__ = [
    "MAX_SETTLED_ENTRIES",
    "confirm_worst_entry",
    "directional_checks",
    "framework_oracles",
]

MAX_SETTLED_ENTRIES = 4096  # beyond: mpmath on whole arrays costs more than a case may
DIRECTIONS = 3  # random (u, v) pairs per checked point


def directional_checks(case, instance, values, index, rng, memo, gradients) -> list[OracleCheck]:  # noqa: ANN001
    """The reference against the complex step (or central differences) along random
    directions; a scalar function's gradients, evaluated already, are the reference."""
    checks = check_directions(instance.function, list(case.wrt), values, rng, DIRECTIONS, memo,
                              gradients)  # fmt: skip
    return [_directional(case, instance, values, index, check) for check in checks]


def _directional(case, instance, values, index: int, check: DirectionalCheck) -> OracleCheck:  # noqa: ANN001
    """One direction's check, a float64 disagreement settled in mpmath where the point is
    small enough; skipped, with a note, where mpmath cannot reach the values."""
    what = "u·J·v along a random direction"
    agrees = _agrees(check.reference, check.oracle, check.error, case.tolerance)
    if not agrees and _small(values):  # float64 rounding, or a wrong reference?
        try:
            settled = check_direction_mp(instance.function, list(case.wrt), values, check)
        except OutOfReach as beyond:  # float64's disagreement says nothing either
            note = (f"the {check.method} along a random direction at point {index + 1} is "
                    f"left out: float64 disagrees, and mpmath cannot settle it there, "
                    f"{OUT_OF_REACH} (it needs {beyond})")  # fmt: skip
            return OracleCheck(check.method, what, index, check.reference, check.oracle,
                               check.error, True, note, skipped=True)  # fmt: skip
        if _agrees(*settled.exact, case.tolerance):  # in mpmath: exp(715) is no inf
            check, agrees = settled, True
    return OracleCheck(check.method, what, index, check.reference, check.oracle, check.error,
                       agrees)  # fmt: skip


def _small(values: Mapping[str, Any]) -> bool:
    """Whether a point's arrays are small enough for mpmath."""
    return sum(int(np.size(value)) for value in values.values()) <= MAX_SETTLED_ENTRIES


def _agrees(reference: float, oracle: float, error: float, tolerance: Tolerance) -> bool:
    widened = Tolerance(rtol=max(tolerance.rtol, FD_RTOL), atol=tolerance.atol)
    return bool(excess(oracle, reference, widened, slack=FD_SAFETY * error) <= 1)


def confirm_worst_entry(case, instance, claim: ClaimResult, points: list, rng) -> None:  # noqa: ANN001
    """Central differences at the claim's worst entry: the reference is backed there."""
    worst = claim.worst
    if worst is None or claim.kind in ("jacobian", FUNCTION) or not claim.wrong:
        return
    values = points[worst.point]
    scalar = instance.function.shape == ()
    cotangent = None if scalar else np.asarray(values[case.cotangent])
    estimate = central_difference_entries(instance.function, values, claim.name, rng, count=0,
                                          entries=[worst.index], cotangent=cotangent)  # fmt: skip
    value, error = float(estimate.values[0]), float(estimate.errors[0])
    method, expected = "central differences", worst.expected
    agrees = _agrees(expected, value, error, case.tolerance)
    if not agrees and _small(values):  # float64 rounding or overflow, or a wrong reference?
        u = np.ones(()) if cotangent is None else cotangent
        direction = np.zeros(claim.shape)
        direction[worst.index] = 1.0
        along = DirectionalCheck(method, expected, value, error, u, {claim.name: direction})
        try:
            settled = check_direction_mp(instance.function, [claim.name], values, along)
        except OutOfReach:  # unsettled: the worst entry stays unbacked, never incorrect
            settled = None
        if settled is not None and _agrees(*settled.exact, case.tolerance):  # exp(715): no inf
            method, expected, value, error = (settled.method, settled.reference,
                                              settled.oracle, settled.error)  # fmt: skip
            agrees = True
    check = OracleCheck(method, f"∂/∂{format_index(claim.name, worst.index)}", worst.point,
                        expected, value, error, agrees)  # fmt: skip
    claim.confirmations.append(check)


def framework_oracles(autodiff, case, instance, references, values, index, outcomes, claims,  # noqa: ANN001
                memo) -> list[OracleCheck]:  # noqa: ANN001 # fmt: skip
    """The reference against each framework asked for, at every entry of each claim."""
    expected = {key: pair[0] for key, pair in outcomes.items()}
    return framework_checks(autodiff, instance.function, claims, expected, values, index,
                            case.tolerance, case.cotangent, references["vjp"], memo)  # fmt: skip
