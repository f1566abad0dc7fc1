"""Comparison stage: claims and oracles against the reference, at every point.

Input: a `Problem`, claimed partials (SymPy), a points array and a `Tolerance`.
Output: a `Comparison` with one `VariableResult` per variable; `verdict` reads it.
Main function: `compare_gradient`. Float64 decides where it is clear; wherever a value
is non-finite or a comparison fails, both sides are re-evaluated in mpmath first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
import sympy as sp

from .cases import Tolerance
from .oracles import Estimate, Oracle, Problem
from .oracles.exact import ExactValues
from .oracles.finite import EPS, USEFUL, FiniteDifferences
from .oracles.program import by_chunks
from .oracles.reverse import ReverseMode

__all__ = [
    "FD_RTOL",
    "FD_SAFETY",
    "Comparison",
    "Discrepancy",
    "VariableResult",
    "compare_gradient",
    "excess",
]

ORACLES: tuple[Oracle, ...] = (ReverseMode(), FiniteDifferences())  # beside the reference
FD_RTOL = 1e-6  # an oracle is never asked to agree more closely than this
FD_SAFETY = 4.0  # error bars are estimates: a disagreement must exceed this many of them
KINK_ULPS = 64.0  # a kink expression this close to 0 (in ulps of the point) is at the kink
# mpmath costs ~1 ms a point: at most this many doubtful points of a partial (and this
# many non-finite function values) are re-evaluated; the rest are left out, with a warning
MAX_REFINED = 1000


def excess(candidate: Any, reference: Any, tolerance: Tolerance, slack: Any = 0.0) -> Any:
    """|candidate - reference| / (atol + rtol |reference| + slack): above 1 is not close.

    The one closeness test of diffcheck; works on float arrays and on mpmath numbers.
    NaN on either side gives inf (not close), 0/0 gives 0.

    >>> float(excess(1.0 + 2e-7, 1.0, Tolerance(rtol=1e-7, atol=0.0)))
    2.0
    """
    with np.errstate(invalid="ignore"):  # inf - inf is NaN, and NaN is "not close"
        difference = abs(candidate - reference)
    allowed = tolerance.atol + tolerance.rtol * abs(reference) + slack
    if not isinstance(difference, np.ndarray):
        if difference == 0:
            return 0.0
        return difference / allowed if allowed > 0 else float("inf")
    with np.errstate(all="ignore"):
        ratio = difference / allowed
    undecided = np.isnan(ratio)
    if undecided.any():
        ratio[undecided] = np.where(difference[undecided] == 0, 0.0, np.inf)
    return ratio


def _relative(abs_error: np.ndarray, reference: np.ndarray) -> np.ndarray:
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

    @cached_property
    def abs_error(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.abs(self.values - self.reference)

    @cached_property
    def rel_error(self) -> np.ndarray:
        return _relative(self.abs_error, self.reference)

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
    unsettled: int  # usable points where even 960 digits gave no stable value
    unexamined: int = 0  # doubtful points beyond MAX_REFINED, left out
    exact: Discrepancy | None = None  # the derived partial in float64 against the reference


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


def _kink_mask(problem: Problem, points: np.ndarray) -> np.ndarray:
    at_kink = np.zeros(points.shape[1], dtype=bool)
    if problem.kink_program is None:
        return at_kink
    scale = np.maximum(1.0, np.max(np.abs(points), axis=0, initial=0.0))
    for kink in problem.kink_program.evaluate(points):
        at_kink |= np.abs(kink) <= KINK_ULPS * EPS * scale
    return at_kink


def _usable_points(problem: Problem, values: ExactValues) -> tuple[Any, ...]:
    """(usable, undefined, at a kink, overflowed, how many were not examined)."""
    function = values.values[0]
    overflowed = np.zeros(function.shape, dtype=bool)
    non_finite = np.flatnonzero(~np.isfinite(function))
    for index in non_finite[:MAX_REFINED].tolist():
        refined = values.refined(index)
        overflowed[index] = refined.converged and refined.context.isfinite(refined.values[0])
    undefined = np.zeros(function.shape, dtype=bool)
    undefined[non_finite[:MAX_REFINED]] = True
    undefined &= ~overflowed
    at_kink = _kink_mask(problem, values.points) & np.isfinite(function)
    usable = (np.isfinite(function) | overflowed) & ~at_kink
    return usable, undefined, at_kink, overflowed, max(non_finite.size - MAX_REFINED, 0)


def _judge_claim(
    claim: np.ndarray, reference: np.ndarray, tolerance: Tolerance
) -> tuple[np.ndarray, ...]:
    ratio = excess(claim, reference, tolerance)
    doubtful = (ratio > 1) | ~np.isfinite(claim) | ~np.isfinite(reference)
    return ratio, doubtful


class _Partial:
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
        self.refined: list[int] = []

    def doubtful(self) -> np.ndarray:
        """Compare in float64; return the points where float64 cannot be trusted."""
        if self.claim is None:
            return ~np.isfinite(self.reference)
        self.excess, doubtful = by_chunks(_judge_claim, self.claim, self.reference, self.tolerance)
        return doubtful

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
        return usable & ~self.undefined & ~self.unsettled & ~self.unexamined

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
        ctx, (reference_slot, claim_slot) = refined.context, self.slots
        reference = refined.values[reference_slot]
        if not refined.converged or not ctx.isfinite(reference):
            self.unsettled[index] = not refined.converged
            self.undefined[index] = refined.converged
            return False
        self.reference[index] = float(reference)
        if claim_slot is None:
            return False
        claim = refined.values[claim_slot]
        was_wrong = bool(self.excess[index] > 1 or not np.isfinite(self.claim[index]))
        if not ctx.isfinite(claim):
            self.claim[index], self.excess[index] = np.nan, np.inf
            return False
        slack = refined.errors[reference_slot] + refined.errors[claim_slot]
        self.claim[index] = float(claim)
        self.excess[index] = float(excess(claim, reference, self.tolerance, slack))
        return was_wrong and self.excess[index] <= 1


def _judge_oracle(
    values: np.ndarray,
    errors: np.ndarray,
    reference: np.ndarray,
    checked: np.ndarray,
    tolerance: Tolerance,
) -> tuple[np.ndarray, ...]:
    bar = FD_SAFETY * errors
    difference = np.abs(values - reference)
    magnitude = np.abs(reference)
    # the size of the quantity: the oracle's own value counts too, since the reference
    # may be a float64 0 that mpmath has yet to refine
    size = np.fmax(magnitude, np.abs(values))
    unreliable = ~(bar <= USEFUL * size + tolerance.atol) | ~checked
    bar[~np.isfinite(bar)] = 0.0
    allowed = tolerance.atol + max(tolerance.rtol, FD_RTOL) * magnitude + bar
    ratio = difference / allowed
    undecided = np.isnan(ratio)
    ratio[undecided] = np.where(difference[undecided] == 0, 0.0, np.inf)
    return ratio, unreliable


def _oracle_discrepancy(
    name: str,
    method: str,
    values: np.ndarray,
    errors: np.ndarray,
    reference: np.ndarray,
    tolerance: Tolerance,
    checked: np.ndarray,
) -> Discrepancy:
    """Agreement within the tolerance (rtol at least FD_RTOL) widened by the oracle's
    own error bar; where the bar is wider than a tenth of the value, the oracle cannot
    say anything. The same test as `excess`, fused for speed."""
    ratio, unreliable = by_chunks(_judge_oracle, values, errors, reference, checked, tolerance)
    return Discrepancy(name, method, values, reference, ratio, unreliable, errors)


def _widen(estimate: Estimate, usable: np.ndarray) -> Estimate:
    """An estimate made at the usable points, spread to all points (NaN elsewhere)."""
    if usable.all():
        return estimate

    def widen(array: np.ndarray, fill: float) -> np.ndarray:
        full = np.full(usable.shape, fill)
        full[usable] = array
        return full

    return Estimate(
        estimate.oracle,
        estimate.method,
        {k: widen(v, np.nan) for k, v in estimate.values.items()},
        {k: widen(v, np.inf) for k, v in estimate.errors.items()},
    )


def compare_gradient(
    problem: Problem,
    claims: Mapping[str, sp.Expr],
    points: np.ndarray,
    tolerance: Tolerance,
    proofs: Mapping[str, bool] | None = None,
    oracles: Sequence[Oracle] = ORACLES,
) -> Comparison:
    """Compare every claim and every oracle with the reference at every point.

    Args:
        problem: the function and its derived gradient (the reference).
        claims: variable -> claimed partial, already free of `where` names.
        points: one row per variable of `problem`, one column per point.
        tolerance: rtol and atol for claims; oracles get their own error bars on top.
        proofs: variable -> whether the claim was proved equal symbolically.
        oracles: the independent oracles to run.

    Returns:
        The `Comparison`, from which `verdict.decide_verdict` reads the verdict.
    """
    wrt = problem.wrt
    claimed = [name for name in wrt if name in claims]
    exprs = [problem.function, *(problem.gradient[n] for n in wrt), *(claims[n] for n in claimed)]
    values = ExactValues(exprs, problem.variables, points)
    usable, undefined, at_kink, overflowed, unexamined = _usable_points(problem, values)
    at_usable = points if usable.all() else points[:, usable]
    estimates = [_widen(oracle.gradient(problem, at_usable), usable) for oracle in oracles]
    results = []
    for slot, name in enumerate(wrt, start=1):
        claim_slot = 1 + len(wrt) + claimed.index(name) if name in claimed else None
        partial = _Partial(values, slot, claim_slot, tolerance)
        results.append(
            _compare_partial(
                problem,
                partial,
                name,
                claims.get(name),
                usable,
                oracles,
                estimates,
                (proofs or {}).get(name),
            )
        )
    return Comparison(
        points,
        problem.variables,
        usable,
        undefined,
        at_kink,
        overflowed,
        tuple(results),
        unexamined,
    )


def _compare_partial(
    problem: Problem,
    partial: _Partial,
    name: str,
    claim: sp.Expr | None,
    usable: np.ndarray,
    oracles: Sequence[Oracle],
    estimates: list[Estimate],
    proved: bool | None,
) -> VariableResult:
    tolerance = partial.tolerance
    drafts = [
        _oracle_discrepancy(
            e.oracle,
            e.method[name],
            e.values[name],
            e.errors[name],
            partial.reference,
            tolerance,
            usable,
        )
        for e in estimates
    ]
    doubtful = partial.doubtful()
    for draft in drafts:
        doubtful |= draft.failing
    misjudged = partial.refine(partial.choose(doubtful & usable))
    results = {oracle.name: draft for oracle, draft in zip(oracles, drafts, strict=True)}
    # a second opinion may contradict a float64 reference not refined yet, and a refined
    # reference may move an oracle out of tolerance: two rounds settle both
    for _ in range(2):
        checked = partial.checked(usable)
        for oracle in oracles:
            draft = _rejudge(results[oracle.name], partial.reference, tolerance, checked)
            results[oracle.name] = _second_opinion(
                oracle, problem, partial.values.points, name, draft,
                _wanted(draft, checked, claim is None), tolerance, checked,
            )  # fmt: skip
        late = np.zeros(usable.shape, dtype=bool)
        for result in results.values():
            late |= result.failing
        late[partial.refined] = False
        if not late.any():
            break
        misjudged += partial.refine(partial.choose(late))
    checked = partial.checked(usable)
    oracle_results = {
        key: _rejudge(d, partial.reference, tolerance, checked) for key, d in results.items()
    }
    claimed = None
    if claim is not None:
        no_error_bar = np.broadcast_to(0.0, partial.reference.shape)  # a formula is exact
        claimed = Discrepancy(
            "claim",
            "formula",
            partial.claim,
            partial.reference,
            partial.excess,
            ~checked,
            no_error_bar,
        )
    float64 = partial.values.values[partial.slots[0]]
    exact = _oracle_discrepancy(
        "exact", "float64", float64, np.zeros_like(float64), partial.reference, tolerance, checked
    )
    return VariableResult(
        name=name, derived=problem.gradient[name], claim=claim, reference=partial.reference,
        checked=checked, claimed=claimed, oracles=oracle_results, proved=proved,
        refined=len(partial.refined), artefacts=misjudged,
        undefined=int(partial.undefined.sum()), unsettled=int(partial.unsettled.sum()),
        unexamined=int(partial.unexamined.sum()),
        exact=exact,
    )  # fmt: skip


def _rejudge(
    draft: Discrepancy,
    reference: np.ndarray,
    tolerance: Tolerance,
    checked: np.ndarray,
    values: np.ndarray | None = None,
    errors: np.ndarray | None = None,
    method: str | None = None,
) -> Discrepancy:
    """The same oracle judged again (new reference, points or values), keeping what its
    second opinions learnt."""
    judged = _oracle_discrepancy(
        draft.source,
        method or draft.method,
        draft.values if values is None else values,
        draft.error_bar if errors is None else errors,
        reference,
        tolerance,
        checked,
    )
    return replace(judged, first_failing=draft.first_failing, second=draft.second)


def _wanted(draft: Discrepancy, checked: np.ndarray, unclaimed: bool) -> np.ndarray:
    """Points for a second opinion: where the oracle disagrees and, when nothing was
    claimed, where it is too unsure to confirm the derived partial; each point once."""
    wanted = draft.failing | (draft.unreliable & checked if unclaimed else False)
    if draft.second is not None:
        wanted &= ~draft.second
    return np.flatnonzero(wanted)


def _second_opinion(
    oracle: Oracle,
    problem: Problem,
    points: np.ndarray,
    name: str,
    draft: Discrepancy,
    indices: np.ndarray,
    tolerance: Tolerance,
    checked: np.ndarray,
) -> Discrepancy:
    """Let the oracle try its second method at `indices` (at most MAX_REFINED of them,
    the second methods being the costly ones), if it has one."""
    second = getattr(oracle, "second_opinion", None)
    indices = indices[:MAX_REFINED]
    opinion = second(problem, points[:, indices], name) if indices.size and second else None
    if opinion is None:
        return draft
    values, errors = draft.values.copy(), draft.error_bar.copy()
    values[indices], errors[indices] = opinion
    used = np.zeros(values.shape, dtype=bool) if draft.second is None else draft.second.copy()
    used[indices] = True
    failed = draft.failing if draft.first_failing is None else draft.first_failing | draft.failing
    base = draft.method.split("; ")[0]
    method = f"{base}; {oracle.second_method} at {_count(int(used.sum()))}"
    judged = _rejudge(draft, draft.reference, tolerance, checked, values, errors, method)
    return replace(judged, first_failing=failed, second=used)


def _count(points: int) -> str:
    return f"{points} point" if points == 1 else f"{points} points"
