"""Oracles against the reference: agreement within their own error bars, reliability,
and second opinions where an oracle disagrees or is unsure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from ..cases.model import Tolerance
from ..errors import counted
from ..oracles.chunks import for_chunks
from ..oracles.finite import USEFUL
from ..oracles.problem import Estimate, Oracle, Problem
from .closeness import FD_RTOL, FD_SAFETY, MAX_REFINED, Discrepancy

__all__ = [
    "draft_of",
    "judge_sources",
    "oracle_discrepancy",
    "rejudge",
    "second_opinion",
    "wanted",
    "widen",
]

# what a `Discrepancy` learnt from second opinions, kept when it is judged again
_LEARNT = ("first_failing", "second", "second_method", "first_values", "first_errors",
           "methods_agree")  # fmt: skip


def _reference_terms(reference: np.ndarray, tolerance: Tolerance) -> tuple[np.ndarray, ...]:
    """What judging any oracle against `reference` starts from, computed once for all:
    |reference|, atol + max(rtol, FD_RTOL) |reference|, and the smallest size an error
    bar is measured against, atol + USEFUL |reference| (see `_reliable`)."""
    magnitude = np.abs(reference)
    base = magnitude * max(tolerance.rtol, FD_RTOL)
    base += tolerance.atol
    least = magnitude * USEFUL
    least += tolerance.atol
    return magnitude, base, least


def _reliable(values: np.ndarray, bar: np.ndarray, terms: tuple[np.ndarray, ...],
              atol: float) -> np.ndarray:  # fmt: skip
    """Where the error bar is narrow enough for the oracle to say anything: within
    USEFUL of the quantity's size, atol + USEFUL max(|values|, |reference|) (the oracle's
    own value counts, since the reference may be a float64 0 that mpmath has yet to
    refine). A bar within the reference's share alone is within it, in one pass instead
    of five: only where that fails (or is NaN) is the full size worked out."""
    magnitude, _, least = terms
    reliable = bar <= least
    if reliable.all():
        return reliable
    size = np.abs(values)
    np.fmax(size, magnitude, out=size)
    size *= USEFUL
    size += atol
    return np.less_equal(bar, size, out=reliable)  # NaN: not reliable


def _judge_oracle(
    values: np.ndarray,
    errors: np.ndarray,
    reference: np.ndarray,
    checked: np.ndarray,
    tolerance: Tolerance,
    terms: tuple[np.ndarray, ...] | None = None,
    out: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, ...]:
    """(excess, unreliable), into `out` if given; `terms` from `_reference_terms`."""
    terms = terms or _reference_terms(reference, tolerance)
    bar = FD_SAFETY * errors
    reliable = _reliable(values, bar, terms, tolerance.atol)
    if not np.isfinite(np.add.reduce(bar)):  # a sum with inf or NaN in it is not finite
        bar[~np.isfinite(bar)] = 0.0
    # `excess` with rtol at least FD_RTOL and the bar as slack, in place: the same
    # operations in the same order, a third fewer passes
    allowed = np.add(terms[1], bar, out=None if out is None else out[0])
    with np.errstate(all="ignore"):  # inf - inf and 0/0 are NaN: decided just below
        difference = np.subtract(values, reference, out=bar)
        np.abs(difference, out=difference)
        ratio = np.divide(difference, allowed, out=allowed)
    total = _settle_undecided(ratio, difference)
    if not checked.all():
        reliable &= checked
    # a finite sum of the ratios makes every difference finite, so both sides are:
    # beyond float64's range (a reference mpmath found to be 1e400) nothing is compared
    if not np.isfinite(total):
        reliable &= np.isfinite(values)
        reliable &= np.isfinite(reference)
    return ratio, np.invert(reliable, out=None if out is None else out[1])


def _settle_undecided(ratio: np.ndarray, difference: np.ndarray) -> float:
    """NaN ratios (NaN on a side: not close; 0/0: close) made inf or 0, in place; one pass
    without a mask where there are none (a sum with NaN in it is NaN). Returns the sum of
    the ratios as they were: finite only where every ratio was."""
    total = np.add.reduce(ratio)
    if np.isnan(total):
        undecided = np.isnan(ratio)
        ratio[undecided] = np.where(difference[undecided] == 0, 0.0, np.inf)
    return float(total)


def judge_sources(
    sources: Sequence[tuple[np.ndarray, np.ndarray]],
    reference: np.ndarray,
    tolerance: Tolerance,
    checked: np.ndarray,
    also: Callable[[slice], tuple[np.ndarray, ...]] | None = None,
) -> tuple[list[tuple[np.ndarray, ...]], np.ndarray, tuple[np.ndarray, ...]]:
    """Every oracle's (values, errors) of `sources` judged as `oracle_discrepancy` does,
    in one chunked pass over the points that reads the reference once for all of them
    (and gives `also(span)`, the claim's judgement, from the same chunks).

    Returns per source (excess, unreliable, failing), where any fails (the reference is
    disputed there), and the arrays of `also`, each whole.
    """
    count = reference.shape[0]
    judged = [(np.empty(count), np.empty(count, dtype=bool), np.empty(count, dtype=bool))
              for _ in sources]  # fmt: skip
    disputed = np.zeros(count, dtype=bool)
    extra: list[np.ndarray] = []

    def chunk(start: int, stop: int) -> tuple[slice, tuple[np.ndarray, ...]]:
        span = slice(start, stop)  # each chunk writes its own part only
        at, terms = reference[span], _reference_terms(reference[span], tolerance)
        for (values, errors), outputs in zip(sources, judged, strict=True):
            ratio, unreliable, failing = (output[span] for output in outputs)
            _judge_oracle(values[span], errors[span], at, checked[span], tolerance, terms,
                          (ratio, unreliable))  # fmt: skip
            np.greater(ratio, 1, out=failing)
            if failing.any():  # else no pass can change it
                np.greater(failing, unreliable, out=failing)  # and reliable: True > False
                disputed[span] |= failing
        return span, () if also is None else also(span)

    with np.errstate(all="ignore"):
        for span, parts in for_chunks(count, chunk):
            if not extra:
                extra = [np.empty(count, dtype=part.dtype) for part in parts]
            for whole, part in zip(extra, parts, strict=True):
                whole[span] = part
    return judged, disputed, tuple(extra)


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
        ((ratio, unreliable, failing),), _, _ = judge_sources(
            [(values, errors)], reference, tolerance, checked
        )  # fmt: skip
        return draft_of(name, method, values, errors, reference, checked,
                        (ratio, unreliable, failing))  # fmt: skip
    return Discrepancy(name, method, values, reference, ratio, unreliable, errors,
                       judged_at=checked)  # fmt: skip


def draft_of(name: str, method: str, values: np.ndarray, errors: np.ndarray,
             reference: np.ndarray, checked: np.ndarray,
             judged: tuple[np.ndarray, ...]) -> Discrepancy:  # fmt: skip
    """The `Discrepancy` of an oracle judged by `judge_sources` (excess, unreliable and
    failing), its failing points known already."""
    ratio, unreliable, failing = judged
    draft = Discrepancy(name, method, values, reference, ratio, unreliable, errors,
                        judged_at=checked)  # fmt: skip
    draft.__dict__["failing"] = failing  # what the cached property would compute
    return draft


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
