"""Where float64 cannot be trusted: usable points, and one partial's refinement.

`usable_points` sets aside points outside the function's domain or at its kinks (and
re-evaluates overflowing ones in mpmath, setting aside those beyond its reach); `Partial`
compares a claim with the reference in float64 and re-decides the doubtful points in
mpmath, at most MAX_REFINED of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..cases.model import Tolerance
from ..oracles.exact import ExactValues
from ..oracles.problem import Problem, on_kinks
from ..oracles.program import by_chunks
from .closeness import MAX_REFINED, allowance, excess

__all__ = ["Partial", "usable_points"]


def _kink_mask(problem: Problem, points: np.ndarray) -> np.ndarray:
    if problem.kink_program is None:
        return np.zeros(points.shape[1], dtype=bool)
    return on_kinks(problem.kink_program, points).any(axis=0)


def usable_points(problem: Problem, values: ExactValues) -> tuple[Any, ...]:
    """(usable, undefined, at a kink, overflowed, how many were not examined, out of
    mpmath's reach, and the first of those as (point, why))."""
    function = values.values[0]
    overflowed = np.zeros(function.shape, dtype=bool)
    unreachable = np.zeros(function.shape, dtype=bool)
    beyond = None
    non_finite = np.flatnonzero(~np.isfinite(function))
    for index in non_finite[:MAX_REFINED].tolist():
        refined = values.refined(index)
        overflowed[index] = refined.converged and refined.context.isfinite(refined.values[0])
        if refined.beyond is not None:
            unreachable[index] = True
            beyond = beyond or (index, refined.beyond)
    undefined = np.zeros(function.shape, dtype=bool)
    undefined[non_finite[:MAX_REFINED]] = True
    undefined &= ~overflowed & ~unreachable
    at_kink = _kink_mask(problem, values.points) & np.isfinite(function)
    usable = (np.isfinite(function) | overflowed) & ~at_kink
    unexamined = max(non_finite.size - MAX_REFINED, 0)
    return usable, undefined, at_kink, overflowed, unexamined, unreachable, beyond


def _judge_claim(
    claim: np.ndarray, reference: np.ndarray, tolerance: Tolerance
) -> tuple[np.ndarray, ...]:
    ratio = excess(claim, reference, tolerance)
    doubtful = (ratio > 1) | ~np.isfinite(claim) | ~np.isfinite(reference)
    return ratio, doubtful


class Partial:
    """Per-point bookkeeping of one partial derivative while it is being compared."""

    def __init__(
        self, values: ExactValues, reference_slot: int, claim_slot: int | None, tolerance: Tolerance
    ):
        self.values = values
        self.slots = (reference_slot, claim_slot)
        self.tolerance = tolerance
        self.reference = values.values[reference_slot]
        self.claim = values.values[claim_slot] if claim_slot is not None else None
        self.excess = None
        self.undefined = np.zeros(self.reference.shape, dtype=bool)
        self.unsettled = np.zeros(self.reference.shape, dtype=bool)
        self.unexamined = np.zeros(self.reference.shape, dtype=bool)
        self.unreachable = np.zeros(self.reference.shape, dtype=bool)
        self.beyond: tuple[int, str] | None = None  # the first point out of mpmath's reach
        self.refined: list[int] = []
        # mpmath's values at refined points, as text (it pickles; float64 may not hold
        # them: 1e-400 is 0.0)
        self.precise: dict[int, tuple[str, str | None]] = {}

    def doubtful(self) -> np.ndarray:
        """Compare in float64; return the points where float64 cannot be trusted: a value
        not finite, the two sides apart, or either side's rounding possibly beyond the
        tolerance (1 - tanh(x)**2 is 0.0 for x > 19, and a claim twice it is 0.0 too)."""
        doubtful = self._rounding_in_doubt(self.slots[0])
        if self.claim is None:
            return doubtful | ~np.isfinite(self.reference)
        self.excess, differing = by_chunks(_judge_claim, self.claim, self.reference, self.tolerance)
        return doubtful | differing | self._rounding_in_doubt(self.slots[1])

    def _rounding_in_doubt(self, slot: int) -> np.ndarray:
        """Points where float64 rounding alone may carry the value beyond the tolerance."""
        value = self.values.values[slot]
        return ~(self.values.rounding_bound(slot) <= allowance(value, self.tolerance))

    def choose(self, doubtful: np.ndarray) -> np.ndarray:
        """The doubtful points worth mpmath, at most MAX_REFINED: half of them the worst
        finite disagreements, so that overflowing points cannot crowd out real ones."""
        indices = np.flatnonzero(doubtful)
        if indices.size <= MAX_REFINED:
            return indices
        excess = self.excess[indices] if self.excess is not None else np.zeros(indices.size)
        finite = np.isfinite(excess)
        by_excess = indices[finite][np.argsort(-excess[finite], kind="stable")]
        chosen = np.union1d(by_excess[: MAX_REFINED // 2], indices[~finite][: MAX_REFINED // 2])
        chosen = np.union1d(chosen, indices[: MAX_REFINED - chosen.size])[:MAX_REFINED]
        self.unexamined[np.setdiff1d(indices, chosen)] = True
        return chosen

    def checked(self, usable: np.ndarray) -> np.ndarray:
        """Usable points where this partial exists and has a settled value."""
        return usable & ~self.undefined & ~self.unsettled & ~self.unexamined & ~self.unreachable

    def refine(self, indices: np.ndarray) -> int:
        """Re-decide `indices` in mpmath; return how many float64 had misjudged."""
        if indices.size and not self.refined:  # copy on first write: arrays are shared
            self.reference = self.reference.copy()
            if self.claim is not None:
                self.claim = self.claim.copy()
        misjudged = 0
        for index in indices.tolist():
            misjudged += self._refine_point(index)
            self.refined.append(index)
        return misjudged

    def _refine_point(self, index: int) -> bool:
        refined = self.values.refined(index)
        if refined.beyond is not None:
            self.unreachable[index] = True
            self.beyond = self.beyond or (index, refined.beyond)
            return False
        ctx, (reference_slot, claim_slot) = refined.context, self.slots
        reference = refined.values[reference_slot]
        if not refined.converged or not ctx.isfinite(reference):
            self.unsettled[index] = not refined.converged
            self.undefined[index] = refined.converged
            return False
        self.reference[index] = float(reference)
        claim = refined.values[claim_slot] if claim_slot is not None else None
        claim_text = ctx.nstr(claim, 25) if claim is not None and ctx.isfinite(claim) else None
        self.precise[index] = (ctx.nstr(reference, 25), claim_text)
        if claim_slot is None:
            return False
        was_wrong = bool(self.excess[index] > 1 or not np.isfinite(self.claim[index]))
        if not ctx.isfinite(claim):
            self.claim[index], self.excess[index] = np.nan, np.inf
            return False
        slack = refined.errors[reference_slot] + refined.errors[claim_slot]
        self.claim[index] = float(claim)
        self.excess[index] = float(excess(claim, reference, self.tolerance, slack))
        return was_wrong and self.excess[index] <= 1
