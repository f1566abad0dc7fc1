"""Where float64 cannot be trusted: usable points, and one partial's refinement.

`usable_points` sets aside points outside the function's domain or at its kinks where
a partial does not exist, or was not probed for (and re-evaluates overflowing ones in
mpmath, setting aside those beyond its reach); `Partial` compares a claim with the
reference in float64 and re-decides the doubtful points in mpmath, at most MAX_REFINED
of them: only those that can change the verdict (of the points where the claim is wrong
beyond float64's rounding, the worst alone).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..cases.model import Tolerance
from ..oracles.chunks import CHUNK
from ..oracles.exact import EPS, ExactValues, exactly_zero, partial_limits, rounding_bound
from ..oracles.problem import Problem, on_kinks
from .closeness import MAX_REFINED, allowance, excess

__all__ = ["MAX_KINK_PROBES", "KinkProbes", "Partial", "usable_points"]


# Points on a kink probed for a derivative all the same, at most, per case (each probe
# evaluates the function about 6 times per partial at LIMIT_DIGITS digits); explicit
# points are always probed, then the first drawn ones.
MAX_KINK_PROBES = 16


@dataclass(frozen=True)
class KinkProbes:
    """What probing the points on a kink found: the points left out without a probe
    (beyond MAX_KINK_PROBES), and per partial of `problem.wrt` the points whose limits
    from both sides equal the derived formula's value there, confirming it."""

    unprobed: np.ndarray
    agreed: tuple[tuple[int, ...], ...]


def _differentiable(problem: Problem, values: ExactValues, at_kink: np.ndarray,
                    hit: np.ndarray, explicit: int) -> KinkProbes:  # fmt: skip
    """Clear `at_kink` where every partial exists all the same (x*abs(x) at 0), taking
    the partials' limits there as the reference (see `exact.partial_limits`); only at
    points exactly on their kinks (`hit`: per kink and point, from `on_kinks`), and at
    most MAX_KINK_PROBES of them beyond the first `explicit` points. `values` holds the
    function, then the partials of `problem.wrt`, as `compare_gradient` lays them out."""
    rows = [problem.row(name) for name in problem.wrt]
    # a variable a kink depends on is the likeliest to show two slopes: tried first
    depends = [{problem.row(s.name) for s in kink.free_symbols} for kink in problem.kinks]
    candidates = np.flatnonzero(at_kink)
    budget = max(MAX_KINK_PROBES, int(np.count_nonzero(candidates < explicit)))
    unprobed = np.zeros(at_kink.shape, dtype=bool)
    unprobed[candidates[budget:]] = True
    agreed: list[list[int]] = [[] for _ in rows]
    for index in candidates[:budget].tolist():
        point = values.points[:, index].tolist()
        kinks = np.flatnonzero(hit[:, index]).tolist()
        if not exactly_zero(problem.kink_program, point, kinks):
            continue
        first = set().union(*(depends[kink] for kink in kinks))
        found = partial_limits(problem.limit_program, point, rows, first, with_agreement=True)
        if found is not None:
            values.set_limits(index, {1 + k: limit for k, (limit, _) in enumerate(found)})
            at_kink[index] = False
            for k, (_, agrees) in enumerate(found):
                if agrees:
                    agreed[k].append(index)
    return KinkProbes(unprobed, tuple(tuple(points) for points in agreed))


def usable_points(problem: Problem, values: ExactValues, explicit: int = 0,
                  domain_slots: tuple[int, ...] = (0,),
                  left_out: np.ndarray | None = None) -> tuple[Any, ...]:  # fmt: skip
    """(usable, undefined, at a kink, overflowed, how many were not examined, out of
    mpmath's reach, the first of those as (point, why), and the `KinkProbes`). A float64
    NaN (inf/inf) is an overflow where mpmath finds a value, like an inf. The first
    `explicit` points are the case's own: each on a kink is probed. `domain_slots`: the
    values that must exist for the function to (the function, and the function as
    written where SymPy's reading cancelled something). `left_out`: points on a kink
    known already, counted as such without a probe."""
    function = values.values[0]
    finite = np.isfinite(function)
    for slot in domain_slots[1:]:
        finite &= np.isfinite(values.values[slot])
    overflowed = np.zeros(function.shape, dtype=bool)
    unreachable = np.zeros(function.shape, dtype=bool)
    beyond = None
    non_finite = np.flatnonzero(~finite)
    for index in non_finite[:MAX_REFINED].tolist():
        refined = values.refined(index)
        # the function alone decides: a partial cancelling beyond every precision
        # leaves it known (exp(a)/(exp(a) + exp(b)) at a = 800, b = -800)
        overflowed[index] = all(refined.settled_at(slot) and refined.context.isfinite(
            refined.values[slot]) for slot in domain_slots)  # fmt: skip
        if refined.beyond is not None:
            unreachable[index] = True
            beyond = beyond or (index, refined.beyond)
    undefined = np.zeros(function.shape, dtype=bool)
    undefined[non_finite[:MAX_REFINED]] = True
    undefined &= ~overflowed & ~unreachable
    at_kink = np.zeros(function.shape, dtype=bool)
    kinks = KinkProbes(np.zeros(function.shape, dtype=bool), ((),) * len(problem.wrt))
    if problem.kink_program is not None:
        hit = on_kinks(problem.kink_program, values.points)
        at_kink = hit.any(axis=0) & finite
        if at_kink.any():
            kinks = _differentiable(problem, values, at_kink, hit, explicit)
    if left_out is not None:
        at_kink = at_kink | (left_out & finite)
    usable = (finite | overflowed) & ~at_kink
    unexamined = max(non_finite.size - MAX_REFINED, 0)
    return usable, undefined, at_kink, overflowed, unexamined, unreachable, beyond, kinks


def _in_doubt(value: np.ndarray, conditioning: np.ndarray, tolerance: Tolerance) -> np.ndarray:
    """Points where float64 rounding alone may carry the value beyond the tolerance."""
    return ~(rounding_bound(value, conditioning) <= allowance(value, tolerance))


def _rounding_within_rtol(conditioning: np.ndarray, tolerance: Tolerance) -> bool:
    """Whether the rounding bound 16 eps factor |v| is within atol + rtol |v| at every
    finite v, read off the conditioning alone: it is where the factor is one number
    everywhere and 16 eps factor <= rtol (float64 rounding is monotonic, atol >= 0).
    Values that are not finite are in doubt for that alone (`_not_finite`)."""
    if conditioning.strides != (0,) or not conditioning.size:
        return False
    return (16 * EPS) * float(conditioning[0]) <= tolerance.rtol


def _not_finite(value: np.ndarray) -> np.ndarray | None:
    """Where `value` is not finite; None where all of it is (found in one pass, no mask:
    a sum with inf or NaN in it is not finite)."""
    if np.isfinite(np.add.reduce(value)):
        return None
    return ~np.isfinite(value)


def _judge_claim(reference: np.ndarray, reference_conditioning: np.ndarray, claim: np.ndarray,
                 claim_conditioning: np.ndarray, tolerance: Tolerance
                 ) -> tuple[np.ndarray, ...]:  # fmt: skip
    """The claim's excess, and where float64 cannot be trusted: one pass for both sides.
    `excess` written out, so that the reference's allowance serves twice."""
    allowed = np.abs(reference)
    allowed *= tolerance.rtol
    allowed += tolerance.atol
    difference = claim - reference
    np.abs(difference, out=difference)
    ratio = difference / allowed
    if np.isnan(np.add.reduce(ratio)):  # NaN on a side (not close), or 0/0 (close)
        undecided = np.isnan(ratio)
        ratio[undecided] = np.where(difference[undecided] == 0, 0.0, np.inf)
    doubtful = ratio > 1
    for side in (claim, reference):
        broken = _not_finite(side)
        if broken is not None:
            doubtful |= broken
    if not _rounding_within_rtol(reference_conditioning, tolerance):
        doubtful |= ~(rounding_bound(reference, reference_conditioning) <= allowed)
    if not _rounding_within_rtol(claim_conditioning, tolerance):
        doubtful |= _in_doubt(claim, claim_conditioning, tolerance)
    return ratio, doubtful


def _judge_derived(reference: np.ndarray, conditioning: np.ndarray, tolerance: Tolerance
                   ) -> tuple[np.ndarray, ...]:  # fmt: skip
    if _rounding_within_rtol(conditioning, tolerance):
        return (~np.isfinite(reference),)
    return (_in_doubt(reference, conditioning, tolerance) | ~np.isfinite(reference),)


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
        self.digits = 0  # the highest precision tried at an unsettled point
        self.refined: list[int] = []
        # mpmath's values at refined points, as text (it pickles; float64 may not hold
        # them: 1e-400 is 0.0)
        self.precise: dict[int, tuple[str, str | None]] = {}

    def doubtful(self) -> np.ndarray:
        """Compare in float64; return the points where float64 cannot be trusted: a value
        not finite, the two sides apart, or either side's rounding possibly beyond the
        tolerance (1 - tanh(x)**2 is 0.0 for x > 19, and a claim twice it is 0.0 too)."""
        count = self.reference.shape[0]
        parts = [self.judge_span(slice(start, min(start + CHUNK, count)))
                 for start in range(0, count, CHUNK)]  # fmt: skip
        return self.judged(tuple(np.concatenate(part) for part in zip(*parts, strict=True)))

    def judge_span(self, span: slice) -> tuple[np.ndarray, ...]:
        """`doubtful`'s float64 judgement at the points of `span` (elementwise: any cut
        into spans gives the same): (excess, doubtful) with a claim, else (doubtful,)."""
        conditioning = self.values.conditioning
        reference_slot, claim_slot = self.slots
        with np.errstate(all="ignore"):
            if self.claim is None:
                return _judge_derived(self.reference[span], conditioning[reference_slot][span],
                                      self.tolerance)  # fmt: skip
            return _judge_claim(self.reference[span], conditioning[reference_slot][span],
                                self.claim[span], conditioning[claim_slot][span],
                                self.tolerance)  # fmt: skip

    def judged(self, parts: tuple[np.ndarray, ...]) -> np.ndarray:
        """Take `judge_span`'s arrays for all points: the claim's excess is kept; the
        points where float64 cannot be trusted are returned."""
        if self.claim is None:
            (doubtful,) = parts
            return doubtful
        self.excess, doubtful = parts
        return doubtful

    def clearly_wrong(self, among: np.ndarray) -> np.ndarray:
        """The points of `among` where the claim is out of tolerance beyond any float64
        rounding: the gap between claim and reference, less both sides' rounding bounds,
        exceeds what the tolerance allows the reference at its largest. mpmath cannot
        change their judgement, so one of them (the worst) is enough to settle."""
        clear = np.zeros(self.reference.shape, dtype=bool)
        indices = np.flatnonzero(among)
        if self.claim is None or not indices.size:
            return clear
        reference_slot, claim_slot = self.slots
        with np.errstate(invalid="ignore"):
            reference_bound = self.values.rounding_bound(reference_slot, indices)
            claim_bound = self.values.rounding_bound(claim_slot, indices)
            reference = self.reference[indices]
            gap = np.abs(self.claim[indices] - reference) - claim_bound - reference_bound
            largest = np.abs(reference) + reference_bound
            clear[indices] = gap > allowance(largest, self.tolerance)  # NaN: False
        return clear

    def decisive(self, doubtful: np.ndarray, disputed: np.ndarray) -> np.ndarray:
        """The doubtful points whose mpmath values can change the verdict: every one but
        the clearly wrong ones (`clearly_wrong`) where no oracle disputes the reference,
        of which only the worst is kept (with any tied with it, so the counterexample is
        the one full refinement would pick), since one settled wrong point decides."""
        clear = self.clearly_wrong(doubtful & ~disputed)
        if not clear.any():
            return doubtful
        excess = np.where(clear, self.excess, -np.inf)
        worst = excess >= excess.max() * (1 - 1e-9)
        return (doubtful & ~clear) | worst

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
        """Usable points where this partial exists and has a settled value (`usable`
        itself while none is left out, so judgements made there can be reused)."""
        left_out = (self.undefined, self.unsettled, self.unexamined, self.unreachable)
        if not any(mask.any() for mask in left_out):
            return usable
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
        settled = refined.settled_at(reference_slot) and (
            claim_slot is None or refined.settled_at(claim_slot))  # fmt: skip
        if not settled or not ctx.isfinite(reference):
            self.unsettled[index] = not settled
            self.undefined[index] = settled
            if not settled:
                self.digits = max(self.digits, ctx.dps)
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
