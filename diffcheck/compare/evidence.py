"""Verdict stage, the evidence of a correct verdict: what agrees with what, at how many
points; for an unclaimed partial, which oracles confirm it, or at points on a kink the
limits of its values from both sides. Main function: `agreement`; `verdict` reads it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import counted
from .closeness import Discrepancy, VariableResult
from .diagnosis import backing, join_oracles, oracle_name

__all__ = ["agreement", "claims_of", "limits_confirm", "limits_differ", "reliable"]


def claims_of(result: VariableResult) -> list[Discrepancy]:
    """What was claimed for this partial: a formula, the user's code, or both."""
    return [d for d in (result.claimed, result.implemented) if d is not None]


def reliable(discrepancy: Discrepancy, checked: np.ndarray) -> int:
    """The points where an oracle confirms the reference: reliable there and agreeing
    (an odd one out disagreeing at a point confirms nothing at it)."""
    return int((checked & ~discrepancy.unreliable & ~discrepancy.failing).sum())


def limits_confirm(result: VariableResult) -> int:
    """The checked points on a kink where the derived formula's value is the limit of
    the partial from both sides: a confirmation by other means, where no oracle is run."""
    return int(result.checked[list(result.kink_confirmed)].sum())


def limits_differ(result: VariableResult) -> np.ndarray:
    """The checked points on a kink where the derived formula's value is not that limit
    (a convention of the rule table at its kink: the limit is the reference there)."""
    differ = np.zeros(result.checked.shape, dtype=bool)
    differ[list(result.kink_limits)] = True
    differ[list(result.kink_confirmed)] = False
    return differ & result.checked


def agreement(results: Sequence[VariableResult], function: Discrepancy | None) -> str:
    """The evidence of a correct verdict."""
    formulas = [r for r in results if r.claimed is not None]
    parts = []
    if formulas:
        if all(r.proved for r in formulas):
            parts.append("proved symbolically")
        agreeing = min(int(r.checked.sum()) for r in formulas)
        if agreeing or not all(r.proved for r in formulas):
            parts.append(f"agrees at {counted(agreeing, 'point')}")
    coded = [r for r in results if r.implemented is not None]
    if coded:
        agreeing = min(int(r.checked.sum()) for r in coded)
        parts.append(f"the implementation's gradient agrees at {counted(agreeing, 'point')}")
    if function is not None:
        agreeing = int((~function.unreliable).sum())
        parts.append(f"the implementation's function agrees at {counted(agreeing, 'point')}")
    unclaimed = [r for r in results if not claims_of(r)]
    if unclaimed:
        whole = len(unclaimed) == len(results)
        subject = "derived gradient" if whole else "unclaimed partials"
        parts.append(f"{subject} {_confirmation(unclaimed, 'its' if whole else 'their')}")
    return "; ".join(parts)


def _confirmation(unclaimed: Sequence[VariableResult], possessive: str) -> str:
    """Which oracles confirm the unclaimed partials, and at how many points: each
    oracle's own count when they differ (an odd one out confirms fewer); then at how
    many points on a kink their one-sided limits do."""
    by_limits = min(limits_confirm(r) for r in unclaimed)
    limits = f"{possessive} one-sided limits at {counted(by_limits, 'point')}"
    confirmed = min(int((r.checked & backing(r)).sum()) for r in unclaimed)
    counts = {name: min(reliable(r.oracles[name], r.checked) for r in unclaimed)
              for name in unclaimed[0].oracles}  # fmt: skip
    confirming = [name for name, count in counts.items() if count]
    if not confirming:
        return f"confirmed by {limits}"
    if all(counts[name] == confirmed for name in confirming):
        text = f"confirmed by {join_oracles(confirming)} at {counted(confirmed, 'point')}"
    else:
        each = ", ".join(f"{oracle_name(name)} at {counts[name]}" for name in confirming)
        text = f"confirmed at {counted(confirmed, 'point')} ({each})"
    return f"{text} and by {limits}" if by_limits else text
