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
    "ClaimResult",
    "OracleCheck",
    "Worst",
    "compare_entries",
    "format_index",
]

# a difference within this many ulps of its array's scale may be float64 rounding (an
# entry that should be 0 computing as 1e-15 of entries of size 1): settled in mpmath
ROUNDING_ULPS = 1024.0
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
) -> None:
    """Compare every entry at one point and fold it into `result`.

    Args:
        settle: a callable giving (reference, claim) in mpmath as object arrays, for the
            entries float64 cannot decide; None when the arrays are too large for it.
    """
    reference = np.broadcast_to(np.asarray(reference, dtype=float), result.shape)
    claimed = np.broadcast_to(np.asarray(claimed, dtype=float), result.shape)
    ratio = np.asarray(excess(claimed, reference, tolerance), dtype=float)
    doubtful = _doubtful(reference, claimed, ratio)
    texts: dict[tuple[int, ...], tuple[str, str]] = {}
    if doubtful.any():
        ratio, texts = _settle(result, ratio, doubtful, settle, tolerance)
    wrong = ratio > 1
    result.checked += 1
    with np.errstate(all="ignore"):
        difference = np.abs(claimed - reference)
        relative = np.where(difference == 0, 0.0, difference / np.abs(reference))
    finite = np.isfinite(difference)
    if finite.any():
        result.max_abs_error = max(result.max_abs_error, float(difference[finite].max()))
        result.max_rel_error = max(result.max_rel_error, float(np.nanmax(relative[finite])))
    if wrong.any():
        result.wrong_points += 1
    _keep_worst(result, point, reference, claimed, ratio, wrong, texts)


def _doubtful(reference: np.ndarray, claimed: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """Entries float64 cannot decide: not finite, or apart by no more than rounding of
    the arrays' scale."""
    finite = np.isfinite(reference) & np.isfinite(claimed)
    scale = max(_scale(reference), _scale(claimed))
    with np.errstate(invalid="ignore"):
        near = np.abs(claimed - reference) <= ROUNDING_ULPS * EPS * scale
    return (~finite) | ((ratio > 1) & near)


def _scale(values: np.ndarray) -> float:
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size else 0.0


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


def _keep_worst(result, point, reference, claimed, ratio, wrong, texts) -> None:  # noqa: ANN001
    """Keep this point's worst entry if it is the worst so far. Among wrong entries the
    worst is the largest difference for the array's scale (an entry whose reference is
    nearly 0 has a huge relative error but says little); a right claim keeps its least
    close entry."""
    count = int(wrong.sum())
    if count:
        with np.errstate(all="ignore"):
            difference = np.abs(claimed - reference)
        scale = max(_scale(reference), _scale(claimed), np.finfo(float).tiny)
        score = np.where(wrong, np.where(np.isfinite(difference), difference / scale, np.inf), -1)
    else:
        score = np.where(np.isnan(ratio), np.inf, ratio)
    flat = int(np.argmax(score)) if score.size else 0
    index = tuple(int(i) for i in np.unravel_index(flat, result.shape)) if result.shape else ()
    value = float(score.reshape(-1)[flat]) if score.size else 0.0
    previous = result.worst
    if previous is not None and (count > 0, value) <= (result.wrong_entries > 0, previous.score):
        return
    expected_text, claimed_text = texts.get(index, (None, None))
    result.worst = Worst(point, index, float(reference[index]), float(claimed[index]),
                         float(ratio[index]), value, expected_text, claimed_text)  # fmt: skip
    result.wrong_entries = count
    result.wrong_map = np.array(wrong)
    result.expected = np.array(reference)
    result.claimed = np.array(claimed)
