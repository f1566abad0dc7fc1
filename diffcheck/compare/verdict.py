"""Verdict stage: a `Comparison` -> correct, incorrect or inconclusive, with the evidence.

A claim is incorrect when it differs from the reference (confirmed in mpmath) at some
point and no oracle contradicts the reference; finite differences alone never convict.
When the oracles contradict the reference, the case is inconclusive and says where.
Main function: `decide_verdict`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..cases.loader import Tolerance
from ..cases.model import TOLERANCE_PRESETS
from ..errors import counted
from ..oracles.exact import PRECISIONS
from ..symbolic.reach import OUT_OF_REACH, REACH_LIMIT
from .diagnosis import (
    backing_sentence,
    claimed_values,
    diagnose,
    doubted,
    format_point,
    format_values,
)
from .evidence import agreement, claims_of, limits_confirm, limits_differ, reliable
from .gradient import MAX_REFINED, Comparison, Discrepancy, VariableResult, excess
from .partial import MAX_KINK_PROBES

__all__ = ["Counterexample", "Verdict", "combine_verdicts", "decide_verdict"]

_OUT_OF_REACH, _BEYOND = OUT_OF_REACH, REACH_LIMIT  # see symbolic.reach


@dataclass(frozen=True)
class Counterexample:
    """The worst point of a wrong claim: both values labelled, and what the oracles say."""

    variable: str
    point: dict[str, float]
    expected: float
    claimed: float
    abs_error: float
    rel_error: float
    oracles: tuple[tuple[str, str, float, float], ...]  # (oracle, method, value, error bar)
    source: str = "claim"  # "claim" (a formula), "implementation" or "implementation function"


@dataclass(frozen=True)
class Verdict:
    verdict: str  # correct | incorrect | inconclusive
    evidence: str
    reasons: tuple[str, ...]
    warnings: tuple[str, ...]
    counterexample: Counterexample | None = None


def _example(comparison: Comparison, mask: np.ndarray) -> str:
    index = int(np.flatnonzero(mask)[0])
    return format_point(comparison.variables, comparison.points[:, index])


def _counterexample(comparison: Comparison, result: VariableResult, claim: Discrepancy,
                    among: np.ndarray) -> tuple[Counterexample, float]:  # fmt: skip
    index = claim.worst(among)
    oracles = tuple((name, d.method, float(d.values[index]), float(d.error_bar[index]))
                    for name, d in result.oracles.items())  # fmt: skip
    point = dict(zip(comparison.variables, comparison.points[:, index].tolist(), strict=True))
    example = Counterexample(
        result.name,
        point,
        float(result.reference[index]),
        float(claim.values[index]),
        float(claim.abs_error[index]),
        float(claim.rel_error[index]),
        oracles,
        claim.source,
    )
    return example, float(claim.excess[index])


def _no_usable_points(comparison: Comparison) -> str:
    """
    >>> import numpy as np
    >>> from types import SimpleNamespace as Fake
    >>> _no_usable_points(Fake(points=np.zeros((1, 2)), undefined=np.array([True, True]),
    ...                        unexamined=0, at_kink=np.array([False, False]),
    ...                        unreachable=None, beyond=None))
    'no point where the function can be checked: all 2 points are outside its domain'
    """
    total = comparison.points.shape[1]
    unreachable = comparison.unreachable
    parts = [
        (int(comparison.undefined.sum()), "outside its domain"),
        (comparison.unexamined, "not finite in float64 (and not re-evaluated)"),
        (int(comparison.at_kink.sum()), "at non-differentiable places"),
        (0 if unreachable is None else int(unreachable.sum()),
         f"{_OUT_OF_REACH} ({_reach(comparison, comparison.beyond)})"),
    ]  # fmt: skip
    said = [(count, what) for count, what in parts if count]
    if len(said) == 1:
        count, what = said[0]
        if count == total:
            subject = "the only point is" if total == 1 else f"all {total} points are"
        else:
            subject = f"{counted(count, 'point')} {'is' if count == 1 else 'are'}"
        return f"no point where the function can be checked: {subject} {what}"
    clauses = [f"{count} {'is' if count == 1 else 'are'} {what}" for count, what in said]
    return (
        f"no point where the function can be checked: of {counted(total, 'point')}, "
        + ", ".join(clauses[:-1])
        + " and "
        + clauses[-1]
    )


def _reach(comparison: Comparison, beyond: tuple[int, str] | None) -> str:
    """Where and why points are out of reach, for parentheses."""
    if beyond is None:
        return _BEYOND
    index, what = beyond
    point = format_point(comparison.variables, comparison.points[:, index])
    return f"e.g. {point}, where it needs {what}; {_BEYOND}"


def _unchecked(comparison: Comparison, result: VariableResult) -> str | None:
    """Why a partial was checked nowhere, when out-of-reach values are the reason."""
    if not result.unreachable:
        return None
    return (
        f"{result.label} cannot be checked at any point: it is {_OUT_OF_REACH} at "
        f"{counted(result.unreachable, 'point')} ({_reach(comparison, result.beyond)})"
    )


def _nowhere(result: VariableResult) -> str:
    """Why a claimed partial was checked nowhere: it does not exist, or (imprecision,
    not its absence) mpmath found no stable value."""
    if not result.unsettled:
        return f"{result.label} does not exist at any checked point"
    unstable = f"(no stable value even at {result.digits or PRECISIONS[-1]} digits)"
    if not result.undefined:
        return f"{result.label} could not be evaluated stably at any point {unstable}"
    return (
        f"{result.label} does not exist at {counted(result.undefined, 'point')} and could "
        f"not be evaluated stably at {counted(result.unsettled, 'point')} {unstable}"
    )


def decide_verdict(comparison: Comparison, tolerance: Tolerance) -> Verdict:
    """The verdict of CASES.md for one compared case."""
    findings = diagnose(comparison)
    warnings = (*_warnings(comparison, tolerance), *findings.odd_ones_out, *findings.notes)
    results = comparison.results
    if not comparison.usable.any():
        if _proved_beyond_reach(comparison):  # a proof needs no point
            return Verdict("correct", agreement(results, None), (), warnings)
        return Verdict("inconclusive", "", (_no_usable_points(comparison),), warnings)
    claimed = [r for r in results if claims_of(r)]
    # a claim proved equal is correct where mpmath could not pin the values down, or
    # could not reach them at all
    unchecked = [r for r in claimed if not r.checked.any()]
    absent = [r for r in unchecked if not (r.proved and (r.unsettled or r.unreachable))]
    if absent:
        reason = _unchecked(comparison, absent[0]) or _nowhere(absent[0])
        return Verdict("inconclusive", "", (reason,), warnings)
    # a counterexample counts where nothing doubts the reference; conflicts elsewhere
    # (another point, another variable) do not veto it, they are reported beside it
    wrong = [(r, d, mask) for r in claimed for d in claims_of(r)
             if (mask := d.failing & ~doubted(r)).any()]  # fmt: skip
    function = comparison.function_check
    if function is not None and function.failing.any():
        return _wrong_function(comparison, function, (*warnings, *findings.conflicts))
    if wrong:
        return _incorrect(comparison, wrong, (*warnings, *findings.conflicts))
    if findings.conflicts:
        return Verdict("inconclusive", "", findings.conflicts, warnings)
    # at a kink's limits no oracle is run: the limits themselves confirm or not
    unconfirmed = [
        r
        for r in results
        if not claims_of(r) and not any(reliable(d, r.checked) for d in r.oracles.values())
        and not limits_confirm(r)
    ]  # fmt: skip
    if unconfirmed:
        reason = _unchecked(comparison, unconfirmed[0]) or _unconfirmed(unconfirmed[0])
        return Verdict("inconclusive", "", (reason,), warnings)
    return Verdict("correct", agreement(results, function), (), warnings)


def _proved_beyond_reach(comparison: Comparison) -> bool:
    """Whether every partial has a claim proved equal to it, and the function exists at
    some point, only out of float64's and mpmath's reach (exp(x) at x = 2e6)."""
    unreachable = comparison.unreachable
    return (unreachable is not None and bool(unreachable.any())
            and comparison.function_check is None
            and all(r.claimed is not None and r.proved and r.implemented is None
                    for r in comparison.results))  # fmt: skip


def _unconfirmed(result: VariableResult) -> str:
    """Why nothing confirms an unclaimed partial."""
    reason = f"nothing confirms the derived {result.label}: no claim was given"
    differ = int(limits_differ(result).sum())
    if not differ:
        return f"{reason} and no oracle is reliable at any point"
    return (
        f"{reason}, no oracle is reliable at any point, and at {counted(differ, 'point')} "
        "on a kink its formula's value differs from its one-sided limits"
    )


def _incorrect(comparison: Comparison,
               wrong: list[tuple[VariableResult, Discrepancy, np.ndarray]],
               warnings: tuple[str, ...]) -> Verdict:  # fmt: skip
    (example, _), result, claim, among = max(
        ((_counterexample(comparison, r, d, m), r, d, m) for r, d, m in wrong),
        key=lambda t: t[0][1],
    )
    index = claim.worst(among)
    expected, claimed_value = claimed_values(result, claim, index)
    point = ", ".join(f"{k}={v:.6g}" for k, v in example.point.items())
    subject, verb = (result.label, "claimed") if claim.source == "claim" else (
        f"the implementation's {result.label}", "returned")  # fmt: skip
    evidence = (
        f"counterexample at {point}: {subject} expected {expected}, {verb} {claimed_value}; "
        f"{backing_sentence(result, index)}{_float32_hint(claim, among)}"
    )
    return Verdict("incorrect", evidence, (), warnings, example)


def _wrong_function(comparison: Comparison, function: Discrepancy, warnings: tuple[str, ...]
                    ) -> Verdict:  # fmt: skip
    index = function.worst(function.failing)
    expected, returned = format_values(function.reference[index], function.values[index])
    point = format_point(comparison.variables, comparison.points[:, index])
    evidence = (
        f"counterexample at {point}: the implementation's function returned {returned}, "
        f"the case's function is {expected}{_float32_hint(function, function.failing)}"
    )
    return Verdict("incorrect", evidence, (), warnings)


def _float32_hint(code: Discrepancy, failing: np.ndarray) -> str:
    """Say so when float32 values fail by no more than single precision's rounding; a
    float64 check is never relaxed on its own: the case has to ask for `float32`."""
    single = Tolerance(**TOLERANCE_PRESETS["float32"])
    if (
        code.values.dtype != np.float32
        or (excess(code.values[failing], code.reference[failing], single) > 1).any()
    ):
        return ""
    return (
        "; the implementation returned float32 values: their rounding (~1e-7 relative) "
        "exceeds the tolerance — use `tolerance: float32` for single-precision code"
    )


def _warnings(comparison: Comparison, tolerance: Tolerance) -> list[str]:
    total = comparison.points.shape[1]
    warnings = []
    if comparison.undefined.any():
        warnings.append(
            f"the function is undefined at {int(comparison.undefined.sum())} of "
            f"{counted(total, 'point')} (e.g. {_example(comparison, comparison.undefined)}); "
            "left out"
        )
    warnings.extend(_kink_warnings(comparison))
    if comparison.overflowed.any():
        example = _example(comparison, comparison.overflowed)
        overflowed = counted(int(comparison.overflowed.sum()), "point")
        warnings.append(
            f"the function overflows float64 at {overflowed} "
            f"(e.g. {example}); it was evaluated with mpmath there"
        )
    if comparison.unreachable is not None and comparison.unreachable.any():
        count = counted(int(comparison.unreachable.sum()), "point")
        reach = _reach(comparison, comparison.beyond)
        warnings.append(f"the function is {_OUT_OF_REACH} at {count} ({reach}); left out")
    if comparison.unexamined:
        warnings.append(
            f"the function is not finite in float64 at "
            f"{counted(comparison.unexamined, 'point')} more, not re-evaluated in mpmath "
            f"(at most {MAX_REFINED} are); left out"
        )
    for result in comparison.results:
        warnings.extend(_variable_warnings(comparison, result, tolerance))
    return warnings


def _kink_warnings(comparison: Comparison) -> list[str]:
    """The points on a kink left out: probed and not differentiable, or not probed."""
    unprobed = comparison.unprobed
    if unprobed is None:
        unprobed = np.zeros(comparison.at_kink.shape, dtype=bool)
    probed = comparison.at_kink & ~unprobed
    warnings = []
    if probed.any():
        count = int(probed.sum())
        warnings.append(
            f"{counted(count, 'point')} {'lies' if count == 1 else 'lie'} where the function "
            f"is not differentiable (e.g. {_example(comparison, probed)}); left out"
        )
    if unprobed.any():
        warnings.append(
            f"{counted(int(unprobed.sum()), 'point')} on a kink left out unprobed (e.g. "
            f"{_example(comparison, unprobed)}): whether the function is differentiable there "
            f"is probed at {MAX_KINK_PROBES} such points at most, besides the case's own"
        )
    return warnings


def _variable_warnings(
    comparison: Comparison, result: VariableResult, tolerance: Tolerance
) -> list[str]:
    partial = result.label
    warnings = []
    if result.artefacts:
        warnings.append(
            f"{partial}: float64 overflows or loses all precision at "
            f"{counted(result.artefacts, 'point')}; re-evaluated with mpmath, the claim holds "
            "there"
        )
    if result.undefined:
        warnings.append(
            f"{partial} does not exist at {counted(result.undefined, 'point')}; left out"
        )
    if result.unexamined:
        warnings.append(
            f"{partial}: {counted(result.unexamined, 'point')} in doubt in float64 beyond "
            f"the {MAX_REFINED} re-evaluated in mpmath; left out"
        )
    if result.unreachable:
        reach = _reach(comparison, result.beyond)
        warnings.append(
            f"{partial} is {_OUT_OF_REACH} at {counted(result.unreachable, 'point')} "
            f"({reach}); left out"
        )
    if result.unsettled:
        proved = " (the claim is proved symbolically)" if result.proved else ""
        warnings.append(
            f"{partial}: {counted(result.unsettled, 'point')} could not be evaluated stably "
            f"(no stable value even at {result.digits or PRECISIONS[-1]} digits); left out"
            f"{proved}"
        )
    differ = limits_differ(result)
    if differ.any():
        warnings.append(
            f"{partial}: its derived formula's value differs from its one-sided limits at "
            f"{counted(int(differ.sum()), 'point')} on a kink (e.g. "
            f"{_example(comparison, differ)}); the limits are the reference there"
        )
    checked = result.checked
    if claims_of(result) and checked.any():
        tiny = np.max(np.abs(result.reference), where=checked, initial=0.0) < tolerance.atol
        if tiny:
            warnings.append(
                f"|{partial}| is below atol ({tolerance.atol:g}) at every point: "
                "only the absolute tolerance was tested"
            )
        # below atol, no oracle can confirm more than the warning above already says;
        # at a kink's limits no oracle is asked
        elif not any(reliable(d, checked) for d in result.oracles.values()) and (
            int(checked.sum()) > len(result.kink_limits)
        ):
            warnings.append(
                f"finite differences could not confirm {partial} at any point "
                "(their error estimate exceeds the tolerance)"
            )
    return warnings


def combine_verdicts(
    gradient: Verdict, second_order: Sequence[tuple[str, Comparison, Verdict]]
) -> Verdict:
    """One verdict for a case with Hessian claims: any incorrect entry makes the case
    incorrect (the gradient's first), else any inconclusive one inconclusive."""
    if not second_order:
        return gradient
    verdicts = [gradient, *(verdict for _, _, verdict in second_order)]
    warnings = tuple(dict.fromkeys(w for verdict in verdicts for w in verdict.warnings))
    wrong = [verdict for verdict in verdicts if verdict.verdict == "incorrect"]
    if wrong:
        return Verdict("incorrect", wrong[0].evidence, (), warnings, wrong[0].counterexample)
    reasons = tuple(dict.fromkeys(r for verdict in verdicts for r in verdict.reasons))
    if reasons or any(verdict.verdict == "inconclusive" for verdict in verdicts):
        return Verdict("inconclusive", "", reasons, warnings)
    claimed = [r for _, comparison, _ in second_order for r in comparison.results if r.claimed]
    proved = "proved symbolically and " if all(r.proved for r in claimed) else ""
    agreeing = min(int(r.checked.sum()) for r in claimed)
    labels = ", ".join(label for label, _, _ in second_order)
    evidence = (
        f"{gradient.evidence}; Hessian {labels}: {proved}agree at {counted(agreeing, 'point')}"
    )
    return Verdict("correct", evidence, (), warnings)
