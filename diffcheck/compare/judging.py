"""Oracles against the reference: agreement within their own error bars, reliability,
and second opinions where an oracle disagrees or is unsure.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..cases.model import Tolerance
from ..errors import counted
from ..oracles.finite import USEFUL
from ..oracles.problem import Estimate, Oracle, Problem
from ..oracles.program import by_chunks
from .closeness import FD_RTOL, FD_SAFETY, MAX_REFINED, Discrepancy

__all__ = ["oracle_discrepancy", "rejudge", "second_opinion", "wanted", "widen"]

# what a `Discrepancy` learnt from second opinions, kept when it is judged again
_LEARNT = ("first_failing", "second", "second_method", "first_values", "first_errors",
           "methods_agree")  # fmt: skip


def _judge_oracle(
    values: np.ndarray,
    errors: np.ndarray,
    reference: np.ndarray,
    checked: np.ndarray,
    tolerance: Tolerance,
) -> tuple[np.ndarray, ...]:
    bar = FD_SAFETY * errors
    magnitude = np.abs(reference)
    # the size of the quantity: the oracle's own value counts too, since the reference
    # may be a float64 0 that mpmath has yet to refine
    size = np.abs(values)
    np.fmax(size, magnitude, out=size)
    size *= USEFUL
    size += tolerance.atol
    # beyond float64's range (a reference mpmath found to be 1e400) nothing is compared
    reliable = bar <= size  # NaN: not reliable
    reliable &= checked
    reliable &= np.isfinite(values)
    reliable &= np.isfinite(reference)
    finite_bar = np.isfinite(bar)
    if not finite_bar.all():
        bar[~finite_bar] = 0.0
    # `excess` with rtol at least FD_RTOL and the bar as slack, in place: the same
    # operations in the same order, a third fewer passes
    allowed = magnitude
    allowed *= max(tolerance.rtol, FD_RTOL)
    allowed += tolerance.atol
    allowed += bar
    with np.errstate(all="ignore"):  # inf - inf and 0/0 are NaN: decided just below
        difference = values - reference
        np.abs(difference, out=difference)
        ratio = np.divide(difference, allowed, out=allowed)
    undecided = np.isnan(ratio)  # NaN on a side (not close), or 0/0 (close)
    if undecided.any():
        ratio[undecided] = np.where(difference[undecided] == 0, 0.0, np.inf)
    return ratio, ~reliable


def oracle_discrepancy(
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
    if values is reference and not errors.any():  # the reference against itself
        finite = np.isfinite(reference)
        if finite.all():  # zeros from calloc: pages no one writes
            ratio, unreliable = np.zeros(reference.shape), ~checked
        else:
            ratio, unreliable = np.where(finite, 0.0, np.inf), ~checked | ~finite
    else:
        ratio, unreliable = by_chunks(_judge_oracle, values, errors, reference, checked,
                                      tolerance)  # fmt: skip
    return Discrepancy(name, method, values, reference, ratio, unreliable, errors,
                       judged_at=checked)  # fmt: skip


def widen(estimate: Estimate, usable: np.ndarray) -> Estimate:
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


def rejudge(
    draft: Discrepancy,
    reference: np.ndarray,
    tolerance: Tolerance,
    checked: np.ndarray,
    values: np.ndarray | None = None,
    errors: np.ndarray | None = None,
    method: str | None = None,
) -> Discrepancy:
    """The same oracle judged again (new reference, points or values), keeping what its
    second opinions learnt; the draft itself where nothing changed."""
    if values is None and errors is None and method is None and reference is draft.reference:
        judged_at = draft.judged_at
        if judged_at is not None and (judged_at is checked or np.array_equal(judged_at, checked)):
            return draft
    judged = oracle_discrepancy(
        draft.source,
        method or draft.method,
        draft.values if values is None else values,
        draft.error_bar if errors is None else errors,
        reference,
        tolerance,
        checked,
    )
    return replace(judged, **{name: getattr(draft, name) for name in _LEARNT})


def wanted(draft: Discrepancy, checked: np.ndarray, unclaimed: bool) -> np.ndarray:
    """Points for a second opinion: where the oracle disagrees and, when nothing was
    claimed, where it is too unsure to confirm the derived partial; each point once."""
    wanted = draft.failing | (draft.unreliable & checked if unclaimed else False)
    if draft.second is not None:
        wanted &= ~draft.second
    return np.flatnonzero(wanted)


def second_opinion(
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
    the second methods being the costly ones), if it has one; the first method's values
    are kept, and where the two methods agree with each other is recorded."""
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
    agree = np.zeros(values.shape, dtype=bool) if draft.methods_agree is None else (
        draft.methods_agree.copy())  # fmt: skip
    agree[indices] = _agreeing(draft.values[indices], draft.error_bar[indices], *opinion,
                               tolerance)  # fmt: skip
    base = draft.method.split("; ")[0]
    method = f"{base}; {oracle.second_method} at {counted(int(used.sum()), 'point')}"
    judged = rejudge(draft, draft.reference, tolerance, checked, values, errors, method)
    first_values = draft.values if draft.first_values is None else draft.first_values
    first_errors = draft.error_bar if draft.first_errors is None else draft.first_errors
    return replace(judged, first_failing=failed, second=used,
                   second_method=oracle.second_method, first_values=first_values,
                   first_errors=first_errors, methods_agree=agree)  # fmt: skip


def _agreeing(first: np.ndarray, first_errors: np.ndarray, second: np.ndarray,
              second_errors: np.ndarray, tolerance: Tolerance) -> np.ndarray:  # fmt: skip
    """Where an oracle's two methods agree with each other within their error bars (the
    same test as against the reference), both being sure enough to say anything."""
    everywhere = np.ones(first.shape, dtype=bool)
    ratio, unreliable = _judge_oracle(first, first_errors + second_errors, second, everywhere,
                                      tolerance)  # fmt: skip
    return (ratio <= 1) & ~unreliable
