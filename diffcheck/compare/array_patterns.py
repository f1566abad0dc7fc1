"""The pattern of a wrong array claim, in the words of the slip that usually causes it.

Input: the reference and the claim at one point, and the sizes a factor may come from.
Output: a phrase such as "the claim is the reference transposed", "the claim is 2 × the
reference", "wrong only on the diagonal", "wrong only in row 3", or None when no simple
pattern fits. Main function: `diagnose_pattern`.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

import numpy as np

__all__ = ["diagnose_pattern"]

_CLOSE = 1e-6  # a pattern must hold far more tightly than the tolerance of a verdict
_FACTORS = (1e-6, 1e6)  # the factors a slip makes; beyond, a ratio names no slip


def diagnose_pattern(
    reference: np.ndarray, claimed: np.ndarray, wrong: np.ndarray, sizes: Iterable[int] = ()
) -> str | None:
    """The slip a wrong claim shows, or None.

    >>> r = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> diagnose_pattern(r, r.T, np.ones((2, 2), bool))
    'the claim is the reference transposed'
    >>> diagnose_pattern(r, 2 * r, np.ones((2, 2), bool))
    'the claim is 2 × the reference'
    """
    if not wrong.any() or reference.shape != claimed.shape:
        return None
    if reference.ndim >= 2 and reference.shape[-1] == reference.shape[-2]:
        transposed = np.swapaxes(reference, -1, -2)
        # of a symmetric reference, the transpose is the reference: no slip to name
        if _close(claimed, transposed) and not _close(reference, transposed):
            return "the claim is the reference transposed"
    if _close(claimed, np.zeros_like(claimed)):
        return "the claim is zero everywhere"
    factor = _factor(reference, claimed, sorted(set(sizes)))
    if factor is not None:
        # a factor no slip makes (0.158149: e^x forgotten) may differ from point to point
        there = "" if "/" in factor or _whole(factor) else " at that point"
        return f"the claim is {factor} × the reference{there}"
    return _where_wrong(wrong)


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-300)
    return bool(np.all(np.abs(a - b) <= _CLOSE * scale))


def _factor(reference: np.ndarray, claimed: np.ndarray, sizes: list[int]) -> str | None:
    big = np.abs(reference) > 1e-3 * np.max(np.abs(reference), initial=0.0)
    if not big.any():
        return None
    ratios = claimed[big] / reference[big]
    ratio = float(np.median(ratios))
    if not np.isfinite(ratio) or abs(ratio - 1) < _CLOSE or not _close(claimed, ratio * reference):
        return None
    if not _FACTORS[0] <= abs(ratio) <= _FACTORS[1]:
        return None  # a reference of rounding noise (1e-35 for a 0) fits any claim so
    named = _name_factor(ratio, sizes)
    return None if named == "1" else named  # 1.000001 is a slip of no simple factor


def _whole(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _name_factor(ratio: float, sizes: list[int]) -> str:
    """2, 1/2, -1, 1/64 (a size of the case), or the number as it is."""
    for size in [n for n in sizes if n > 1]:
        for value, text in ((size, str(size)), (1 / size, f"1/{size}"),
                            (-size, f"-{size}"), (-1 / size, f"-1/{size}")):  # fmt: skip
            if abs(ratio - value) <= _CLOSE * abs(value):
                return text
    fraction = Fraction(ratio).limit_denominator(16)
    if abs(float(fraction) - ratio) <= _CLOSE * abs(ratio):
        return str(fraction)
    return f"{ratio:.6g}"


def _where_wrong(wrong: np.ndarray) -> str | None:
    if wrong.ndim != 2 or wrong.all():
        return None
    rows, columns = np.nonzero(wrong)
    square = wrong.shape[0] == wrong.shape[1]
    if square and np.all(rows == columns):
        return "wrong only on the diagonal"
    if square and wrong.shape[0] > 1 and np.array_equal(wrong, ~np.eye(len(wrong), dtype=bool)):
        return "wrong everywhere off the diagonal"
    if len(set(rows.tolist())) == 1 and wrong.shape[0] > 1:
        return f"wrong only in row {rows[0]}"
    if len(set(columns.tolist())) == 1 and wrong.shape[1] > 1:
        return f"wrong only in column {columns[0]}"
    return None
