"""Array claims against the array reference, entry by entry, at one point after another.

Input: one point's values, the reference's value of each claim (the IR's own reverse
mode, or its Jacobian) and the claim's value. Output: a `ClaimResult` per claim that
accumulates over the points: how many entries are wrong, the worst one by index, and the
float64 doubts that were settled in mpmath. Every entry is compared with the one
closeness test (`excess`); no projection can hide a wrong entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..cases.model import Tolerance
from .closeness import excess

__all__ = [
    "ROUNDING_ULPS",
    "WORST_TIE",
    "ClaimResult",
    "OracleCheck",
    "Worst",
    "compare_entries",
    "format_index",
]

# a difference within this many ulps of its array's scale may be float64 rounding (an
# entry that should be 0 computing as 1e-15 of entries of size 1): settled in mpmath
ROUNDING_ULPS = 1024.0
# scores this close are a tie, and the first point keeps it: a claim off by a constant
# factor is worst by the same score at every point, and rounding alone must not choose
WORST_TIE = 1e-9
EPS = float(np.finfo(np.float64).eps)


def format_index(name: str, index: tuple[int, ...]) -> str:
    """`W[3, 1]`, or the name alone for a scalar.

    >>> format_index("W", (3, 1)), format_index("s", ())
    ('W[3, 1]', 's')
    """
    return f"{name}[{', '.join(str(i) for i in index)}]" if index else name


@dataclass
class Worst:
    """The worst wrong (or, for a right claim, the least close) entry seen so far."""

    point: int  # index into the run's points
    index: tuple[int, ...]
    expected: float
    claimed: float
    excess: float
    score: float  # what made it the worst: its difference for the array's scale, if wrong
    expected_text: str | None = None  # mpmath's value where float64 cannot hold it
    claimed_text: str | None = None


@dataclass
class ClaimResult:
    """One claim (`kind` of `name`) over every point of one size combination."""

    kind: str  # gradient | jacobian | vjp | unclaimed
    name: str
    shape: tuple[int, ...]
    leading: int = 0  # a Jacobian's axes of the function, before the variable's
    checked: int = 0  # points compared
    wrong_points: int = 0
    wrong_entries: int = 0  # at the worst point
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    settled: int = 0  # entries re-decided in mpmath
    rounding: int = 0  # entries apart only at float64 rounding, not re-evaluated
    worst: Worst | None = None
    wrong_map: np.ndarray | None = None  # at the worst point: which entries are wrong
    expected: np.ndarray | None = None  # the arrays at the worst point, for the diagnosis
    claimed: np.ndarray | None = None
    pattern: str | None = None
    confirmations: list[OracleCheck] = field(default_factory=list)

    @property
    def entries(self) -> int:
        return int(np.prod(self.shape))

    @property
    def wrong(self) -> bool:
        return self.wrong_points > 0


@dataclass(frozen=True)
class OracleCheck:
    """The reference against an independent oracle at one point."""

    method: str  # complex step, central differences, symbolic (entry by entry), ...
    what: str  # "u·J·v along a random direction", "∂/∂W[3, 1]"
    point: int
    reference: float
    oracle: float
    error: float  # the oracle's own error bar
    agrees: bool


def compare_entries(
    result: ClaimResult,
    point: int,
    reference: np.ndarray,
    claimed: np.ndarray,
    tolerance: Tolerance,
    settle: Any = None,
    suspect: bool = False,
) -> None:
    """Compare every entry at one point and fold it into `result`.

    Args:
        settle: a callable giving (reference, claim) in mpmath as object arrays, for the
            entries float64 cannot decide; None when the arrays are too large for it.
        suspect: float64 overflowed on the way to the reference or the claim at this
            point, so every wrong entry is doubtful too.
    """
    reference = np.broadcast_to(np.asarray(reference, dtype=float), result.shape)
    claimed = np.broadcast_to(np.asarray(claimed, dtype=float), result.shape)
    ratio = np.asarray(excess(claimed, reference, tolerance), dtype=float)
    with np.errstate(all="ignore"):
        difference = np.abs(claimed - reference)
    finite = bool(np.isfinite(difference).all())  # both sides finite everywhere
    scale = max(_scale(reference, finite), _scale(claimed, finite))
    doubtful = _doubtful(reference, claimed, ratio, difference, scale, finite, suspect)
    texts: dict[tuple[int, ...], tuple[str, str]] = {}
    if doubtful is not None:
        ratio, texts = _settle(result, ratio, doubtful, settle, tolerance)
    wrong = ratio > 1
    result.checked += 1
    _fold_errors(result, reference, difference, finite)
    if wrong.any():
        result.wrong_points += 1
    _keep_worst(result, point, reference, claimed, ratio, wrong, texts, difference, scale)


def _fold_errors(result: ClaimResult, reference: np.ndarray, difference: np.ndarray,
                 finite: bool) -> None:  # fmt: skip
    """The largest absolute and relative errors over the entries whose difference is
    finite; a relative error of an entry equal to its reference is 0, even at 0."""
    kept = difference if finite else difference[np.isfinite(difference)]
    if not kept.size:
        return
    with np.errstate(all="ignore"):
        relative = kept / np.abs(reference if finite else reference[np.isfinite(difference)])
    result.max_abs_error = max(result.max_abs_error, float(kept.max()))
    # 0/0 is NaN, which fmax passes over; every other quotient is at least 0
    result.max_rel_error = max(
        result.max_rel_error, float(np.fmax.reduce(relative, axis=None, initial=0.0))
    )


def _doubtful(reference: np.ndarray, claimed: np.ndarray, ratio: np.ndarray,
              difference: np.ndarray, scale: float, finite: bool, suspect: bool = False
              ) -> np.ndarray | None:  # fmt: skip
    """Entries float64 cannot decide: not finite, or apart by no more than rounding of
    the arrays' scale, or any wrong one where float64 overflowed on the way (`suspect`);
    None when there is none."""
    with np.errstate(invalid="ignore"):
        doubtful = (ratio > 1) & (suspect | (difference <= ROUNDING_ULPS * EPS * scale))
    if not finite:
        doubtful |= ~(np.isfinite(reference) & np.isfinite(claimed))
    return doubtful if doubtful.any() else None


def _scale(values: np.ndarray, finite: bool = False) -> float:
    """The largest magnitude among the finite entries (0 for none)."""
    if finite and values.size:  # two reductions, no temporary array
        return float(max(values.max(), -values.min()))
    finite_values = np.abs(values[np.isfinite(values)])
    return float(finite_values.max()) if finite_values.size else 0.0


def _settle(result, ratio, doubtful, settle, tolerance):  # noqa: ANN001, ANN202
    texts: dict[tuple[int, ...], tuple[str, str]] = {}
    if settle is None:
        # too large for mpmath: entries apart by rounding alone are not called wrong
        rounding = doubtful & np.isfinite(ratio)
        result.rounding += int(rounding.sum())
        ratio = np.where(rounding, 0.0, ratio)
        return ratio, texts
    exact_reference, exact_claim = settle()
    ratio = ratio.copy()
    for index in zip(*np.nonzero(doubtful), strict=True):
        index = tuple(int(i) for i in index)
        expected, claimed = exact_reference[index], exact_claim[index]
        ratio[index] = float(excess(claimed, expected, tolerance))
        texts[index] = (_mp_text(expected), _mp_text(claimed))
        result.settled += 1
    return ratio, texts


def _mp_text(value: Any) -> str:
    try:
        import mpmath

        return mpmath.nstr(value, 6)
    except (TypeError, ValueError):
        return str(value)


def _keep_worst(result, point, reference, claimed, ratio, wrong, texts,  # noqa: ANN001
                difference, scale) -> None:  # noqa: ANN001 # fmt: skip
    """Keep this point's worst entry if it is the worst so far (by more than WORST_TIE).
    Among wrong entries the worst is the largest difference for the array's scale (an
    entry whose reference is nearly 0 has a huge relative error but says little); a
    right claim keeps its least close entry."""
    count = int(wrong.sum())
    if count:
        scale = max(scale, np.finfo(float).tiny)
        with np.errstate(all="ignore"):
            score = np.where(wrong, np.where(np.isfinite(difference), difference / scale, np.inf),
                             -1)  # fmt: skip
    else:
        undecided = np.isnan(ratio)
        score = np.where(undecided, np.inf, ratio) if undecided.any() else ratio
    flat = int(np.argmax(score)) if score.size else 0
    index = tuple(int(i) for i in np.unravel_index(flat, result.shape)) if result.shape else ()
    value = float(score.reshape(-1)[flat]) if score.size else 0.0
    previous = result.worst
    if previous is not None and (count > 0, value) <= (
        result.wrong_entries > 0,
        previous.score * (1 + WORST_TIE),
    ):
        return
    expected_text, claimed_text = texts.get(index, (None, None))
    result.worst = Worst(point, index, float(reference[index]), float(claimed[index]),
                         float(ratio[index]), value, expected_text, claimed_text)  # fmt: skip
    result.wrong_entries = count
    result.wrong_map = np.array(wrong)
    result.expected = np.array(reference)
    result.claimed = np.array(claimed)
