"""Closeness and the comparison's result types: the one test, and what it reports.

`excess` is diffcheck's one closeness test; `Discrepancy` is one source (a claim or an
oracle) against the reference at every point; `VariableResult` and `Comparison` carry
everything the verdict and the reports read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import sympy as sp

from ..cases.model import Tolerance
from ..symbolic.derive import KINK_ULPS

__all__ = [
    "FD_RTOL",
    "FD_SAFETY",
    "KINK_ULPS",
    "MAX_REFINED",
    "Comparison",
    "Discrepancy",
    "VariableResult",
    "allowance",
    "excess",
    "relative",
]

FD_RTOL = 1e-6  # an oracle is never asked to agree more closely than this
FD_SAFETY = 4.0  # error bars are estimates: a disagreement must exceed this many of them
# mpmath costs ~1 ms a point: at most this many doubtful points of a partial (and this
# many non-finite function values) are re-evaluated; the rest are left out, with a warning
MAX_REFINED = 1000


def allowance(reference: Any, tolerance: Tolerance, slack: Any = 0.0) -> Any:
    """How far from `reference` a value may be and still be close: atol + rtol |reference|,
    widened by `slack` (an oracle's error bar)."""
    return tolerance.atol + tolerance.rtol * abs(reference) + slack


def excess(candidate: Any, reference: Any, tolerance: Tolerance, slack: Any = 0.0) -> Any:
    """|candidate - reference| / (atol + rtol |reference| + slack): above 1 is not close.

    The one closeness test of diffcheck; works on float arrays and on mpmath numbers.
    NaN on either side gives inf (not close), 0/0 gives 0.

    >>> round(float(excess(1.0 + 2e-7, 1.0, Tolerance(rtol=1e-7, atol=0.0))), 6)
    2.0
    """
    with np.errstate(invalid="ignore"):  # inf - inf is NaN, and NaN is "not close"
        difference = abs(candidate - reference)
    allowed = allowance(reference, tolerance, slack)
    if not isinstance(difference, np.ndarray):
        if difference == 0:
            return 0.0
        if difference != difference or not allowed > 0:  # NaN: not close
            return float("inf")
        return difference / allowed
    with np.errstate(all="ignore"):
        ratio = difference / allowed
    undecided = np.isnan(ratio)
    if undecided.any():
        ratio[undecided] = np.where(difference[undecided] == 0, 0.0, np.inf)
    return ratio


def relative(abs_error: np.ndarray, reference: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        relative = abs_error / np.abs(reference)
    return np.where(abs_error == 0, 0.0, relative)


@dataclass(frozen=True)
class Discrepancy:
    """How far one source (the claim, or an oracle) is from the reference, per point."""

    source: str
    method: str
    values: np.ndarray  # the source's value (NaN where not evaluated)
    reference: np.ndarray
    excess: np.ndarray  # > 1: not close at that point
    unreliable: np.ndarray  # the source cannot say anything there
    error_bar: np.ndarray  # the source's own error estimate (0 for a formula)
    # where the oracle's first method failed, and where its second method answered
    first_failing: np.ndarray | None = None
    second: np.ndarray | None = None
    second_method: str | None = None  # what gave the second opinion ("mpmath", ...)
    # the first method's values and error bars, kept where the second method replaced them,
    # and where the two methods agree with each other within their error bars
    first_values: np.ndarray | None = None
    first_errors: np.ndarray | None = None
    methods_agree: np.ndarray | None = None
    # the points it was judged at (the `checked` of `oracle_discrepancy`): judging it again
    # with the same reference there would give it back, and is skipped
    judged_at: np.ndarray | None = field(default=None, repr=False)

    @cached_property
    def abs_error(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.abs(self.values - self.reference)

    @cached_property
    def rel_error(self) -> np.ndarray:
        return relative(self.abs_error, self.reference)

    @cached_property
    def failing(self) -> np.ndarray:
        return (self.excess > 1) & ~self.unreliable

    def worst(self, among: np.ndarray) -> int | None:
        """The point (index) of `among` where the source is furthest out of tolerance."""
        candidates = np.flatnonzero(among & ~self.unreliable)
        if candidates.size == 0:
            return None
        return int(candidates[np.argmax(self.excess[candidates])])


@dataclass(frozen=True)
class VariableResult:
    """Everything known about one partial derivative."""

    name: str
    derived: sp.Expr
    claim: sp.Expr | None
    reference: np.ndarray  # refined where float64 was not enough
    checked: np.ndarray  # points where this partial exists and was compared
    claimed: Discrepancy | None
    oracles: Mapping[str, Discrepancy]
    proved: bool | None
    refined: int  # points re-evaluated in mpmath
    artefacts: int  # points where float64 alone would have misjudged the claim
    undefined: int  # usable points where the partial does not exist (a pole, a cusp)
    unsettled: int  # usable points where even the highest precision gave no stable value
    unexamined: int = 0  # doubtful points beyond MAX_REFINED, left out
    exact: Discrepancy | None = None  # the derived partial in float64 against the reference
    label: str = ""  # how messages name it: ∂/∂x, or ∂²/∂x∂y for a Hessian entry
    implemented: Discrepancy | None = None  # the user's code for this partial, if any
    # point -> (reference, claim) as mpmath gave them (25 digits of text), where float64
    # was not enough
    precise: Mapping[int, tuple[str, str | None]] = field(default_factory=dict)
    unreachable: int = 0  # usable points where mpmath cannot reach the values in time
    beyond: tuple[int, str] | None = None  # the first of them: (point, what is too large)
    digits: int = 0  # the highest precision (decimal digits) tried at an unsettled point
    # points on a kink where the partial exists: its reference is the limit from both sides
    kink_limits: tuple[int, ...] = ()
    # of those, the points where the derived formula's value is that limit
    kink_confirmed: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", f"∂/∂{self.name}")


@dataclass(frozen=True)
class Comparison:
    """All variables of one case compared at the same points."""

    points: np.ndarray
    variables: tuple[str, ...]
    usable: np.ndarray
    undefined: np.ndarray  # the function has no real value there
    at_kink: np.ndarray
    overflowed: np.ndarray  # float64 overflowed, mpmath evaluated the function
    results: tuple[VariableResult, ...]
    unexamined: int = 0  # non-finite function values beyond MAX_REFINED, left out
    function_check: Discrepancy | None = None  # the user's function against the case's
    # non-finite float64 function values out of mpmath's reach, and the first as (point, why)
    unreachable: np.ndarray | None = None
    beyond: tuple[int, str] | None = None
    function: sp.Expr | None = None  # the function differentiated, for naming its rules
    # points on a kink left out without probing for a derivative (beyond MAX_KINK_PROBES)
    unprobed: np.ndarray | None = None
