"""The comparison of one gradient: claims and oracles against the reference, at every point.

Input: a `Problem`, claimed partials (SymPy), a points array and a `Tolerance`.
Output: a `Comparison` with one `VariableResult` per variable; `verdict` reads it.
Main function: `compare_gradient`. Float64 decides where it is clear; wherever a value
is non-finite or a comparison fails, both sides are re-evaluated in mpmath first, except
where the claim is wrong beyond any rounding: of those points only the worst is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import sympy as sp

from ..cases.model import Tolerance
from ..oracles.exact import EPS, ExactValues
from ..oracles.finite import FiniteDifferences
from ..oracles.problem import Estimate, Oracle, Problem
from ..oracles.reverse import ReverseMode
from .closeness import (
    FD_RTOL,
    FD_SAFETY,
    MAX_REFINED,
    Comparison,
    Discrepancy,
    VariableResult,
    excess,
)
from .judging import (
    draft_of,
    judge_sources,
    oracle_discrepancy,
    rejudge,
    second_opinion,
    wanted,  # fmt: skip
    widen,
)
from .partial import Partial, usable_points

__all__ = [
    "FD_RTOL",
    "FD_SAFETY",
    "MAX_REFINED",
    "ORACLES",
    "Comparison",
    "Discrepancy",
    "VariableResult",
    "compare_gradient",
    "excess",
]

ORACLES: tuple[Oracle, ...] = (ReverseMode(), FiniteDifferences())  # beside the reference


def compare_gradient(
    problem: Problem,
    claims: Mapping[str, sp.Expr],
    points: np.ndarray,
    tolerance: Tolerance,
    proofs: Mapping[str, bool] | None = None,
    oracles: Sequence[Oracle] = ORACLES,
    labels: Mapping[str, str] | None = None,
    implemented: Mapping[str, np.ndarray] | None = None,
    implemented_function: np.ndarray | None = None,
    explicit: int = 0,
    written_function: sp.Expr | None = None,
    left_out: np.ndarray | None = None,
) -> Comparison:
    """Compare every claim and every oracle with the reference at every point.

    Args:
        problem: the function and its derived gradient (the reference).
        claims: variable -> claimed partial, already free of `where` names.
        points: one row per variable of `problem`, one column per point.
        tolerance: rtol and atol for claims; oracles get their own error bars on top.
        proofs: variable -> whether the claim was proved equal symbolically.
        oracles: the independent oracles to run.
        labels: variable -> how messages name its partial (default ∂/∂x).
        implemented: variable -> the partial as the user's code computes it, per point.
        implemented_function: the function as the user's code computes it, per point.
        explicit: how many of the first points are the case's own (each on a kink is
            probed for a derivative; of the others, a few).
        written_function: the function as written, where SymPy's reading of it cancelled
            something (sqrt(x)**2 is x): where it is not defined, neither is the case.
        left_out: points on a kink known already, not probed (a Hessian entry's, where
            the gradient does not exist).

    Returns:
        The `Comparison`, from which `verdict.decide_verdict` reads the verdict.
    """
    wrt = problem.wrt
    claimed = [name for name in wrt if name in claims]
    exprs = [problem.function, *(problem.gradient[n] for n in wrt), *(claims[n] for n in claimed)]
    domain_slots = (0,) if written_function is None else (0, len(exprs))
    if written_function is not None:
        exprs.append(written_function)
    # a refined value below atol·ε that vanishes with rising precision is 0 (an exact
    # zero reached by cancellation never settles relatively); no judgement can tell
    values = ExactValues(exprs, problem.variables, points, tolerance.atol * EPS)
    usable, undefined, at_kink, overflowed, unexamined, unreachable, beyond, kinks = usable_points(
        problem, values, explicit, domain_slots, left_out
    )
    # at a kink where the partials exist, their limits are the reference, and the oracles
    # (a stencil across the kink, the rule's value at it) have nothing to say
    examined = _off_kinks(usable, values)
    at_usable = points if examined.all() else points[:, examined]
    estimates = [widen(oracle.gradient(problem, at_usable), examined) for oracle in oracles]
    results = []
    for slot, name in enumerate(wrt, start=1):
        claim_slot = 1 + len(wrt) + claimed.index(name) if name in claimed else None
        partial = Partial(values, slot, claim_slot, tolerance)
        result = _compare_partial(
            problem, partial, name, claims.get(name), usable, oracles, estimates,
            (proofs or {}).get(name), (implemented or {}).get(name), examined,
        )  # fmt: skip
        result = replace(result, kink_confirmed=kinks.agreed[slot - 1])
        if labels and name in labels:
            result = replace(result, label=labels[name])
        results.append(result)
    function_check = None
    if implemented_function is not None:
        function_check = _function_check(values, usable, implemented_function, tolerance)
    return Comparison(
        points,
        problem.variables,
        usable,
        undefined,
        at_kink,
        overflowed,
        tuple(results),
        unexamined,
        function_check,
        unreachable,
        beyond,
        problem.function,
        kinks.unprobed,
    )


def _off_kinks(usable: np.ndarray, values: ExactValues) -> np.ndarray:
    """The usable points other than those whose partials are limits at a kink."""
    if not values.limits:
        return usable
    examined = usable.copy()
    examined[list(values.limits)] = False
    return examined


def _fixed_claim(source: str, claimed: np.ndarray, reference: np.ndarray,
                 tolerance: Tolerance, checked: np.ndarray) -> Discrepancy:  # fmt: skip
    """Values the user's code computed, against the reference; no mpmath for them: the
    code's float64 result is what the code gives."""
    no_error_bar = np.broadcast_to(0.0, reference.shape)
    ratio = excess(claimed, reference, tolerance)
    return Discrepancy(source, "code", claimed, reference, ratio, ~checked, no_error_bar)


def _function_check(values: ExactValues, usable: np.ndarray, implemented: np.ndarray,
                    tolerance: Tolerance) -> Discrepancy:  # fmt: skip
    """The user's function against the case's, refining the case's where they differ."""
    reference = values.values[0].copy()
    doubtful = np.flatnonzero(usable & (excess(implemented, reference, tolerance) > 1))
    for index in doubtful[:MAX_REFINED].tolist():
        refined = values.refined(index)
        if refined.settled_at(0) and refined.context.isfinite(refined.values[0]):
            reference[index] = float(refined.values[0])
    checked = usable.copy()
    checked[doubtful[MAX_REFINED:]] = False
    return _fixed_claim("implementation function", implemented, reference, tolerance, checked)


def _compare_partial(
    problem: Problem,
    partial: Partial,
    name: str,
    claim: sp.Expr | None,
    usable: np.ndarray,
    oracles: Sequence[Oracle],
    estimates: list[Estimate],
    proved: bool | None,
    implemented: np.ndarray | None = None,
    examined: np.ndarray | None = None,
) -> VariableResult:
    tolerance = partial.tolerance
    # every oracle and the claim judged in one pass over the points; `disputed`: where
    # an oracle fails, so that the reference itself is in doubt
    sources = [(e.values[name], e.errors[name]) for e in estimates]
    judged, disputed, parts = judge_sources(sources, partial.reference, tolerance, usable,
                                            partial.judge_span)  # fmt: skip
    drafts = {
        oracle.name: draft_of(e.oracle, e.method[name], e.values[name], e.errors[name],
                              partial.reference, usable, judgement)
        for oracle, e, judgement in zip(oracles, estimates, judged, strict=True)
    }  # fmt: skip
    doubtful = partial.judged(parts)
    if implemented is not None:  # where the user's code disagrees, refine the reference
        disputed |= excess(implemented, partial.reference, tolerance) > 1
    decisive = partial.decisive((doubtful | disputed) & usable, disputed)
    misjudged = partial.refine(partial.choose(decisive))
    results, late_misjudged = _settle(problem, partial, name, claim is None, usable, oracles,
                                      drafts, usable if examined is None else examined)  # fmt: skip
    misjudged += late_misjudged
    checked = partial.checked(usable)
    oracle_results = {
        key: rejudge(d, partial.reference, tolerance, checked) for key, d in results.items()
    }
    claimed = None
    if claim is not None:
        no_error_bar = np.broadcast_to(0.0, partial.reference.shape)  # a formula is exact
        claimed = Discrepancy("claim", "formula", partial.claim, partial.reference,
                              partial.excess, ~checked, no_error_bar)  # fmt: skip
    code = None
    if implemented is not None:
        code = _fixed_claim("implementation", implemented, partial.reference, tolerance, checked)
    float64 = partial.values.values[partial.slots[0]]
    no_error = np.broadcast_to(0.0, float64.shape)
    exact = oracle_discrepancy("exact", "float64", float64, no_error, partial.reference,
                               tolerance, checked)  # fmt: skip
    return VariableResult(
        name=name, derived=problem.gradient[name], claim=claim, reference=partial.reference,
        checked=checked, claimed=claimed, oracles=oracle_results, proved=proved,
        refined=len(partial.refined), artefacts=misjudged,
        undefined=int(partial.undefined.sum()), unsettled=int(partial.unsettled.sum()),
        unexamined=int(partial.unexamined.sum()),
        exact=exact, implemented=code, precise=partial.precise,
        unreachable=int(partial.unreachable.sum()), beyond=partial.beyond,
        digits=partial.digits, kink_limits=tuple(sorted(partial.values.limits)),
    )  # fmt: skip


def _settle(
    problem: Problem,
    partial: Partial,
    name: str,
    unclaimed: bool,
    usable: np.ndarray,
    oracles: Sequence[Oracle],
    drafts: dict[str, Discrepancy],
    examined: np.ndarray,
) -> tuple[dict[str, Discrepancy], int]:
    """Second opinions for the oracles' doubtful points, and the reference refined where
    they still fail. A second opinion may contradict a float64 reference not refined yet,
    and a refined reference may move an oracle out of tolerance: two rounds settle both.
    """
    results = dict(drafts)
    misjudged = 0
    for _ in range(2):
        checked = partial.checked(usable)
        for oracle in oracles:
            draft = rejudge(results[oracle.name], partial.reference, partial.tolerance, checked)
            results[oracle.name] = second_opinion(
                oracle, problem, partial.values.points, name, draft,
                wanted(draft, checked & examined, unclaimed), partial.tolerance, checked,
            )  # fmt: skip
        late = np.zeros(usable.shape, dtype=bool)
        for result in results.values():
            late |= result.failing
        late[partial.refined] = False
        if not late.any():
            break
        misjudged += partial.refine(partial.choose(late))
    return results, misjudged
