"""Comparison stage: claims and oracles against the reference, at every point; verdict.

Input: a `Problem`, claimed partials (SymPy), a points array and a `Tolerance`.
Output: a `Comparison` with one `VariableResult` per variable and the verdict.
Main function: `compare_gradient`. Float64 decides where it is clear; wherever a value
is non-finite or a comparison fails, both sides are re-evaluated in mpmath first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .cases import Tolerance
from .oracles import Estimate, Oracle, Problem
from .oracles.exact import ExactValues
from .oracles.finite import EPS, FiniteDifferences

__all__ = [
    "FD_RTOL",
    "FD_SAFETY",
    "Comparison",
    "Discrepancy",
    "VariableResult",
    "compare_gradient",
    "excess",
]

FD_RTOL = 1e-6  # finite differences are never asked to agree more closely than this
FD_SAFETY = 4.0  # error bars are estimates: a disagreement must exceed this many of them
KINK_ULPS = 64.0  # a kink expression this close to 0 (in ulps of the point) is at the kink


def excess(candidate: Any, reference: Any, tolerance: Tolerance, slack: Any = 0.0) -> Any:
    """|candidate - reference| / (atol + rtol |reference| + slack): above 1 is not close.

    The one closeness test of diffcheck; works on float arrays and on mpmath numbers.

    >>> float(excess(1.0 + 2e-7, 1.0, Tolerance(rtol=1e-7, atol=0.0)))
    2.0
    """
    difference = abs(candidate - reference)
    allowed = tolerance.atol + tolerance.rtol * abs(reference) + slack
    if isinstance(difference, np.ndarray):
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = difference / allowed
        return np.where(difference == 0, 0.0, np.where(np.isnan(ratio), np.inf, ratio))
    if difference == 0:
        return 0.0
    return difference / allowed if allowed > 0 else float("inf")


@dataclass(frozen=True)
class Discrepancy:
    """How far one source (the claim, or an oracle) is from the reference."""

    source: str
    method: str
    values: np.ndarray  # the source's value at each point (NaN where not evaluated)
    abs_error: np.ndarray
    rel_error: np.ndarray
    excess: np.ndarray  # > 1: not close at that point
    unreliable: np.ndarray  # the source cannot say anything there
    error_bar: np.ndarray  # the source's own error estimate (0 for a formula)

    @property
    def failing(self) -> np.ndarray:
        return (self.excess > 1) & ~self.unreliable

    def worst(self, among: np.ndarray) -> int | None:
        """The point (index) where the source is furthest out of tolerance."""
        candidates = np.flatnonzero(among & ~self.unreliable)
        if candidates.size == 0:
            return None
        scores = np.nan_to_num(self.excess[candidates], nan=np.inf)
        return int(candidates[np.argmax(scores)])


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


def _kink_mask(problem: Problem, points: np.ndarray) -> np.ndarray:
    at_kink = np.zeros(points.shape[1], dtype=bool)
    if problem.kink_program is None:
        return at_kink
    scale = np.maximum(1.0, np.max(np.abs(points), axis=0, initial=0.0))
    for kink in problem.kink_program.evaluate(points):
        at_kink |= np.abs(kink) <= KINK_ULPS * EPS * scale
    return at_kink


def _usable_points(problem: Problem, values: ExactValues) -> tuple[np.ndarray, ...]:
    function = values.values[0]
    overflowed = np.zeros(function.shape, dtype=bool)
    for index in np.flatnonzero(~np.isfinite(function)):
        refined = values.refined(int(index))
        value = refined.values[0]
        overflowed[index] = refined.converged and refined.context.isfinite(value)
    undefined = ~np.isfinite(function) & ~overflowed
    at_kink = _kink_mask(problem, values.points) & ~undefined
    return ~undefined & ~at_kink, undefined, at_kink, overflowed


class _Variable:
    """The per-point bookkeeping of one partial while its comparisons are made."""

    def __init__(self, values: ExactValues, reference_slot: int, claim_slot: int | None):
        self.values = values
        self.reference_slot = reference_slot
        self.claim_slot = claim_slot
        self.reference = values.values[reference_slot].copy()
        self.claim = values.values[claim_slot].copy() if claim_slot is not None else None
        self.abs_error = np.zeros_like(self.reference)
        self.rel_error = np.zeros_like(self.reference)
        self.excess = np.zeros_like(self.reference)
        self.undefined = np.zeros(self.reference.shape, dtype=bool)
        self.unsettled = np.zeros(self.reference.shape, dtype=bool)

    def compare_claim_in_float(self, tolerance: Tolerance) -> np.ndarray:
        """Float64 comparison; returns the points that need mpmath."""
        doubtful = ~np.isfinite(self.reference)
        if self.claim is not None:
            with np.errstate(all="ignore"):
                self.abs_error = np.abs(self.claim - self.reference)
                self.rel_error = _relative(self.abs_error, self.reference)
            self.excess = excess(self.claim, self.reference, tolerance)
            doubtful |= ~np.isfinite(self.claim) | (self.excess > 1)
        return doubtful

    def refine(self, index: int, tolerance: Tolerance) -> bool:
        """Re-decide point `index` in mpmath; True if float64 had misjudged the claim."""
        refined = self.values.refined(index)
        ctx = refined.context
        reference = refined.values[self.reference_slot]
        if not refined.converged:
            self.unsettled[index] = True
            return False
        if not ctx.isfinite(reference):
            self.undefined[index] = True
            return False
        self.reference[index] = float(reference)
        if self.claim_slot is None:
            return False
        claim = refined.values[self.claim_slot]
        slack = refined.errors[self.reference_slot] + refined.errors[self.claim_slot]
        before = self.excess[index] > 1 or not np.isfinite(self.claim[index])
        self.claim[index] = float(claim) if ctx.isfinite(claim) else np.nan
        difference = abs(claim - reference) if ctx.isfinite(claim) else ctx.inf
        self.abs_error[index] = float(difference)
        self.rel_error[index] = float(difference / abs(reference)) if reference else (
            0.0 if difference == 0 else np.inf)
        self.excess[index] = float(excess(claim, reference, tolerance, slack)) if (
            ctx.isfinite(claim)) else np.inf
        return bool(before and self.excess[index] <= 1)


def _relative(abs_error: np.ndarray, reference: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        relative = abs_error / np.abs(reference)
    return np.where(abs_error == 0, 0.0, np.where(reference == 0, np.inf, relative))


def _discrepancy(source: str, method: str, candidate: np.ndarray, reference: np.ndarray,
                 tolerance: Tolerance, error_bar: np.ndarray, unreliable: np.ndarray
                 ) -> Discrepancy:
    with np.errstate(all="ignore"):
        abs_error = np.abs(candidate - reference)
    slack = FD_SAFETY * np.where(np.isfinite(error_bar), error_bar, 0.0)
    return Discrepancy(source, method, candidate, abs_error, _relative(abs_error, reference),
                       excess(candidate, reference, tolerance, slack), unreliable, error_bar)


def _oracle_discrepancy(oracle: Oracle, estimate: Estimate, name: str, reference: np.ndarray,
                        tolerance: Tolerance, checked: np.ndarray) -> Discrepancy:
    loose = Tolerance(rtol=max(tolerance.rtol, FD_RTOL), atol=tolerance.atol)
    values, errors = estimate.values[name], estimate.errors[name]
    slack = FD_SAFETY * np.where(np.isfinite(errors), errors, 0.0)
    allowed = loose.atol + loose.rtol * np.abs(reference)
    unreliable = ~np.isfinite(values) | ~np.isfinite(errors) | (slack > allowed) | ~checked
    return _discrepancy(oracle.name, estimate.method[name], values, reference, loose, errors,
                        unreliable)


def _spread(estimate: Estimate, usable: np.ndarray) -> Estimate:
    """An estimate made at the usable points, widened to all points (NaN elsewhere)."""
    def widen(array: np.ndarray, fill: float) -> np.ndarray:
        full = np.full(usable.shape, fill)
        full[usable] = array
        return full

    return Estimate(estimate.oracle, estimate.method,
                    {k: widen(v, np.nan) for k, v in estimate.values.items()},
                    {k: widen(v, np.inf) for k, v in estimate.errors.items()})


def compare_gradient(
    problem: Problem,
    claims: Mapping[str, sp.Expr],
    points: np.ndarray,
    tolerance: Tolerance,
    proofs: Mapping[str, bool] | None = None,
    oracles: Sequence[Oracle] = (FiniteDifferences(),),
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
    usable, undefined, at_kink, overflowed = _usable_points(problem, values)
    estimates = [_spread(oracle.gradient(problem, points[:, usable]), usable)
                 for oracle in oracles]  # fmt: skip
    results = []
    for slot, name in enumerate(wrt, start=1):
        claim_slot = 1 + len(wrt) + claimed.index(name) if name in claimed else None
        results.append(_compare_variable(problem, values, name, slot, claim_slot, claims,
                                         tolerance, usable, oracles, estimates, proofs or {}))
    return Comparison(points, problem.variables, usable, undefined, at_kink, overflowed,
                      tuple(results))


def _compare_variable(problem: Problem, values: ExactValues, name: str, slot: int,
                      claim_slot: int | None, claims: Mapping[str, sp.Expr],
                      tolerance: Tolerance, usable: np.ndarray, oracles: Sequence[Oracle],
                      estimates: list[Estimate], proofs: Mapping[str, bool]) -> VariableResult:
    state = _Variable(values, slot, claim_slot)
    doubtful = state.compare_claim_in_float(tolerance)
    drafts = [_oracle_discrepancy(o, e, name, state.reference, tolerance, usable)
              for o, e in zip(oracles, estimates)]  # fmt: skip
    for draft in drafts:
        doubtful |= draft.failing
    artefacts = sum(state.refine(int(i), tolerance) for i in np.flatnonzero(doubtful & usable))
    checked = usable & ~state.undefined & ~state.unsettled & np.isfinite(state.reference)
    discrepancies = {}
    for oracle, estimate in zip(oracles, estimates):
        estimate = _second_opinion(oracle, problem, values.points, estimate, name,
                                   state.reference, tolerance, checked)
        discrepancies[oracle.name] = _oracle_discrepancy(oracle, estimate, name,
                                                         state.reference, tolerance, checked)
    claimed = None
    if claim_slot is not None:
        claimed = Discrepancy("claim", "formula", state.claim, state.abs_error,
                              state.rel_error, state.excess, ~checked,
                              np.zeros_like(state.reference))
    return VariableResult(
        name=name, derived=problem.gradient[name], claim=claims.get(name),
        reference=state.reference, checked=checked, claimed=claimed,
        oracles=discrepancies, proved=proofs.get(name), refined=int((doubtful & usable).sum()),
        artefacts=int(artefacts), undefined=int(state.undefined.sum()),
        unsettled=int(state.unsettled.sum()),
    )  # fmt: skip


def _second_opinion(oracle: Oracle, problem: Problem, points: np.ndarray, estimate: Estimate,
                    name: str, reference: np.ndarray, tolerance: Tolerance,
                    checked: np.ndarray) -> Estimate:
    """Where the complex step disagrees, ask central differences before believing it."""
    draft = _oracle_discrepancy(oracle, estimate, name, reference, tolerance, checked)
    suspects = np.flatnonzero(draft.failing)
    if not suspects.size or estimate.method[name] != "complex-step" or not isinstance(
            oracle, FiniteDifferences):
        return estimate
    central = oracle.estimate(problem, points[:, suspects], "central")
    values, errors = dict(estimate.values), dict(estimate.errors)
    complex_values = values[name][suspects]
    values[name], errors[name] = values[name].copy(), errors[name].copy()
    values[name][suspects] = central.values[name]
    # two methods that disagree with each other are both in doubt by their gap
    gap = np.abs(central.values[name] - complex_values)
    errors[name][suspects] = np.maximum(central.errors[name], gap)
    return Estimate(estimate.oracle, estimate.method, values, errors)
