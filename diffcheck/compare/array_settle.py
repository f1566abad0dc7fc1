"""Which entries of an array claim float64 cannot decide, and their settling in mpmath.

An entry is in doubt when it is not close and float64 could have put it there: a value
not finite, a difference within rounding of the arrays' scale, any wrong entry at a point
where float64 overflowed on the way (`suspect`), or a difference that the rounding bounds
of both sides can explain (a running error bound over the expression: a gradient that is
0 but computes as 1e-10 from terms of 1e6, a log of a subnormal number). mpmath settles
them, at a budget of points per claim and size; beyond it an entry float64 cannot decide
is left undecided (not called wrong), and where the arrays are too large for mpmath one
apart by rounding alone is not called wrong: a warning gives the count. Where mpmath would
need a value beyond its reach (`symbolic.reach`), the point is out of reach for the claim:
an inf that is only float64's decides nothing. Main functions:
`doubtful_entries`, `settle_point`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..cases.model import Tolerance
from ..symbolic.reach import OutOfReach
from .closeness import allowance, excess

__all__ = [
    "MAX_SETTLED_POINTS",
    "ROUNDING_ULPS",
    "SETTLE_DIGITS",
    "Settled",
    "doubtful_entries",
    "plain_entries",
    "settle_entries",
    "settle_point",
]

# a difference within this many ulps of its array's scale may be float64 rounding (an
# entry that should be 0 computing as 1e-15 of entries of size 1): settled in mpmath
ROUNDING_ULPS = 1024.0
EPS = float(np.finfo(np.float64).eps)
# mpmath evaluates a claim and its reference whole at a point (milliseconds to a second
# for arrays of thousands of entries): per claim and size, at most SETTLED_ENTRIES entries
# of the claim in all, over at least MIN_SETTLED_POINTS and at most MAX_SETTLED_POINTS
# points (the default 64 samples and explicit points, for small arrays)
MAX_SETTLED_POINTS = 128
MIN_SETTLED_POINTS = 16
SETTLED_ENTRIES = 1 << 16
# of those, points where only wrong entries with a reference of rounding noise are
# settled, for the values the report shows (the first wrong point is usually the worst)
MAX_SHOWN_POINTS = 4
# the digits mpmath settles at; its own rounding is float64's rounding bound scaled down
# by 10**-SETTLE_DIGITS / eps (the same terms, finer steps), widened by MP_SAFETY
SETTLE_DIGITS = 40
MP_SAFETY = 16.0


def doubtful_entries(reference: np.ndarray, claimed: np.ndarray, ratio: np.ndarray,
                     difference: np.ndarray, scale: float, finite: bool, suspect: bool = False,
                     bounds: tuple[np.ndarray, np.ndarray] | None = None,
                     tolerance: Tolerance | None = None
                     ) -> tuple[np.ndarray, np.ndarray] | None:  # fmt: skip
    """(entries float64 cannot decide, see the module; and the wrong entries whose
    reference float64 cannot give to the tolerance, a 0 computed as 1e-10: wrong all the
    same, worth mpmath's value to show); None when there is none of either.

    Args:
        bounds: how far rounding may have moved each entry of the reference and of the
            claim (`arrays.rounding.rounding_bounds`), or None when not known.
    """
    wrong = ratio > 1
    with np.errstate(invalid="ignore"):
        doubtful = wrong & (suspect | (difference <= ROUNDING_ULPS * EPS * scale))
    if not finite:
        doubtful |= ~(np.isfinite(reference) & np.isfinite(claimed))
    imprecise = np.zeros_like(doubtful)
    if bounds is not None and tolerance is not None:
        clear = _clearly_wrong(reference, difference, bounds, tolerance)
        doubtful |= wrong & ~clear
        with np.errstate(invalid="ignore"):
            imprecise = wrong & clear & ~(bounds[0] <= allowance(np.abs(reference), tolerance))
    if not (doubtful.any() or imprecise.any()):
        return None
    return doubtful, imprecise


def _clearly_wrong(reference: np.ndarray, difference: np.ndarray,
                   bounds: tuple[np.ndarray, np.ndarray], tolerance: Tolerance
                   ) -> np.ndarray:  # fmt: skip
    """Entries out of tolerance beyond any float64 rounding, as for a scalar partial: the
    gap less both sides' bounds exceeds what the tolerance allows the reference at its
    largest (NaN, an unknown bound: not clear)."""
    reference_bound, claim_bound = bounds
    with np.errstate(invalid="ignore"):
        gap = difference - reference_bound - claim_bound
        return gap > allowance(np.abs(reference) + reference_bound, tolerance)


@dataclass
class Settled:
    """What settling gave at one point: the excess of every entry, the arrays with the
    settled entries' mpmath values (as floats), and those values as text."""

    ratio: np.ndarray
    reference: np.ndarray
    claimed: np.ndarray
    texts: dict[tuple[int, ...], tuple[str, str]] = field(default_factory=dict)
    settled: int = 0  # entries re-decided in mpmath
    rounding: int = 0  # entries not called wrong: arrays too large for mpmath
    unsettled: int = 0  # entries not called wrong: beyond MAX_SETTLED_POINTS
    beyond: str | None = None  # what mpmath would need beyond its reach: nothing decided


def settle_entries(ratio: np.ndarray, doubtful: np.ndarray, settle: Callable | None,
                   tolerance: Tolerance, reference: np.ndarray, claimed: np.ndarray,
                   budget_left: bool = True,
                   bounds: tuple[np.ndarray, np.ndarray] | None = None) -> Settled:  # fmt: skip
    """Re-decide the `doubtful` entries in mpmath (`settle` gives both arrays there), or,
    without it or its budget, clear those whose excess is finite (rounding alone). Other
    entries in `doubtful` are settled in mpmath only (wrong ones whose reference is
    rounding noise, for the values shown): pass only those float64 cannot decide when
    mpmath is not to be asked."""
    if settle is None:
        rounding = doubtful & np.isfinite(ratio)
        found = Settled(np.where(rounding, 0.0, ratio), reference, claimed)
        found.rounding = int(rounding.sum())
        return found
    if not budget_left:  # left undecided, as a scalar case's points beyond MAX_REFINED
        found = Settled(np.where(doubtful, 0.0, ratio), reference, claimed)
        found.unsettled = int(doubtful.sum())
        return found
    return _settled(ratio, doubtful, settle(), tolerance, reference, claimed, _mp_slack(bounds))


def _mp_slack(bounds: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray | float:
    """How far mpmath's own rounding may move each entry's difference: float64's bounds of
    both sides scaled to SETTLE_DIGITS digits (0 where a bound is not finite: a value that
    overflowed says nothing of the terms mpmath sums)."""
    if bounds is None:
        return 0.0
    total = np.asarray(bounds[0]) + np.asarray(bounds[1])
    scaled = MP_SAFETY * 10.0**-SETTLE_DIGITS / EPS * total
    return np.where(np.isfinite(scaled), scaled, 0.0)


def _settled(ratio, chosen, exact, tolerance, reference, claimed, slack=0.0) -> Settled:  # noqa: ANN001
    """The `chosen` entries with mpmath's values (`exact`: reference and claim), each
    given `slack` (an array of the entries' shape, or 0) for mpmath's rounding."""
    slack = np.broadcast_to(slack, ratio.shape)
    exact_reference, exact_claim = (np.broadcast_to(np.asarray(side, dtype=object),
                                                    ratio.shape) for side in exact)  # fmt: skip
    found = Settled(ratio.copy(), np.array(reference, dtype=float), np.array(claimed, dtype=float))
    for index in zip(*np.nonzero(chosen), strict=True):
        index = tuple(int(i) for i in index)
        expected, value = exact_reference[index], exact_claim[index]
        found.ratio[index] = float(excess(value, expected, tolerance, float(slack[index])))
        found.reference[index], found.claimed[index] = _as_float(expected), _as_float(value)
        found.texts[index] = (_mp_text(expected), _mp_text(value))
        found.settled += 1
    return found


def settle_point(result: Any, ratio: np.ndarray, masks: tuple[np.ndarray, np.ndarray],
                  settle: Any, tolerance: Tolerance, reference: np.ndarray, claimed: np.ndarray,
                  bounds: tuple[np.ndarray, np.ndarray] | None) -> Settled | None:  # fmt: skip
    """Settle this point's doubtful entries in mpmath, within the claim's budget of points;
    wrong entries whose reference is rounding noise too, at the first MAX_SHOWN_POINTS
    (their mpmath values are what the report shows). `result` (a `ClaimResult`) counts the
    entries settled, and those left to rounding. Where mpmath is out of reach, the
    `Settled` says so (`beyond`) if an entry only mpmath could decide is in doubt; float64
    decides the point if only values to show were asked for."""
    doubtful, imprecise = masks
    allowed = max(MIN_SETTLED_POINTS, min(MAX_SETTLED_POINTS, SETTLED_ENTRIES // result.entries))
    budget = result.settled_points < allowed
    undecided = doubtful
    if settle is not None and result.settled_points < MAX_SHOWN_POINTS:
        doubtful = doubtful | imprecise
    if not doubtful.any():
        return None
    try:
        settled = settle_entries(ratio, doubtful, settle, tolerance, reference, claimed, budget,
                                 bounds)  # fmt: skip
    except OutOfReach as beyond:
        if not undecided.any():
            return None  # the wrong entries' values stay float64's
        return Settled(ratio, reference, claimed, beyond=str(beyond))
    result.rounding += settled.rounding
    result.unsettled += settled.unsettled
    if settled.settled:
        result.settled += settled.settled
        result.settled_points += 1
    return settled


def plain_entries(wrong: np.ndarray, masks: tuple[np.ndarray, np.ndarray] | None, suspect: bool,
           settled: bool, texts: dict) -> np.ndarray:  # fmt: skip
    """The wrong entries float64 decided, shown first: not those only mpmath could decide,
    nor any at a point where float64 overflowed, nor one whose reference is rounding noise
    that mpmath did not replace (its value and any pattern read off it mean nothing)."""
    if suspect:
        return np.zeros_like(wrong)
    if masks is None:
        return wrong
    doubtful, noisy = masks
    plain = wrong & ~doubtful if settled else wrong
    if noisy.any():
        noisy = noisy.copy()
        for index in texts:
            noisy[index] = False
        plain = plain & ~noisy
    return plain


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return float("nan")


def _mp_text(value: Any) -> str:
    try:
        import mpmath

        return mpmath.nstr(value, 6)
    except (TypeError, ValueError):
        return str(value)
