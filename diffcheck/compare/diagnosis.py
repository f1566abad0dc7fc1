"""Diagnosis stage: when oracles disagree, which one is the odd one out, and why.

Input: a `Comparison`. For every oracle that still disagrees with the reference after
its second opinion, each point is either backed by another oracle (the disagreeing one
is the odd one out: a warning naming it and the likely reason) or not (the reference
itself is in doubt: a conflict, which makes the case inconclusive). Backing from reverse
mode alone does not count where finite differences and their complex step agree with
each other against it: reverse mode reads the rule table the derivation reads, so a
wrong entry fools both alike; that conflict names the entries on the variable's path.
Second opinions that rescued an oracle are reported too (float64 rounding in reverse
mode). Main function: `diagnose`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp

from ..errors import counted
from ..oracles.external import FRAMEWORKS
from ..symbolic.rules import rule_for
from ..symbolic.trees import nodes_in_order
from .gradient import Comparison, Discrepancy, VariableResult

__all__ = [
    "ORACLE_NAMES",
    "Findings",
    "backing",
    "backing_sentence",
    "claimed_values",
    "diagnose",
    "doubted",
    "format_point",
    "format_values",
    "join_oracles",
    "oracle_name",
    "rules_on_path",
    "supporters",
    "table_suspects",
    "TABLE_READERS",
]

ORACLE_NAMES = {
    "finite": "finite differences",
    "reverse": "reverse mode",
    "exact": "float64",
    "torch": "PyTorch autograd",
    "jax": "JAX autodiff",
}
_PLURAL = {"finite"}
# oracles that read the rule table's partials, as the symbolic derivation does
TABLE_READERS = ("reverse",)
_PRINTING = mpmath.MPContext()  # reads back the 25-digit values of refined points
_PRINTING.dps = 30  # "finite differences agree", "reverse mode agrees"

# why an oracle may be the odd one out, when its values are finite
_REASONS = {
    "finite": "its error estimate was too optimistic there (a kink or a steep feature "
    "within the stencil?)",
    "reverse": "the same sweep in mpmath disagrees too",
    "torch": "it loses precision there (float64 rounding or cancellation in its formula)",
    "jax": "it loses precision there (float64 rounding or cancellation in its formula)",
}


@dataclass(frozen=True)
class Findings:
    conflicts: tuple[str, ...]  # the reference is contradicted and nothing backs it
    odd_ones_out: tuple[str, ...]  # an oracle disagrees where the others back the reference
    notes: tuple[str, ...]  # second opinions that explained a disagreement away


def format_point(variables: Sequence[str], column: np.ndarray) -> str:
    """
    >>> format_point(["x", "y"], np.array([0.5, -1e-7]))
    'x=0.5, y=-1e-07'
    """
    return ", ".join(f"{name}={value:.6g}" for name, value in zip(variables, column, strict=True))


def format_values(*values: float) -> tuple[str, ...]:
    """Shortest `g` forms (up to 17 digits) in which different values print differently.

    >>> format_values(1.0, 1.0 + 1e-9)
    ('1', '1.000000001')
    """
    for digits in range(6, 18):
        texts = tuple(f"{value:.{digits}g}" for value in values)
        if len(set(texts)) == len(set(values)):
            return texts
    return texts


def claimed_values(result: VariableResult, claim: Discrepancy, index: int) -> tuple[str, str]:
    """The expected and claimed values at a point, as text that tells them apart: from
    mpmath where it re-evaluated the point, since float64 may not hold them (1e-400)."""
    floats = format_values(result.reference[index], claim.values[index])
    reference_text, claimed_text = result.precise.get(index, (None, None))
    if reference_text is None or claimed_text is None or claim.source != "claim":
        return floats
    reference, claimed = _PRINTING.mpf(reference_text), _PRINTING.mpf(claimed_text)
    tiny = np.finfo(np.float64).tiny
    held = all(np.isfinite(v) and (abs(v) >= tiny or v == m)
               for v, m in ((result.reference[index], reference),
                            (claim.values[index], claimed)))  # fmt: skip
    if held and (floats[0] != floats[1] or reference == claimed):
        return floats
    for digits in range(6, 18):
        texts = (_PRINTING.nstr(reference, digits), _PRINTING.nstr(claimed, digits))
        if texts[0] != texts[1] or reference == claimed:
            return texts
    return texts


def oracle_name(name: str) -> str:
    return ORACLE_NAMES.get(name, name)


def _verb(names: Sequence[str], singular: str, plural: str) -> str:
    return plural if len(names) > 1 or (names and names[0] in _PLURAL) else singular


def join_oracles(names: Sequence[str]) -> str:
    spoken = [oracle_name(name) for name in names]
    return spoken[0] if len(spoken) == 1 else ", ".join(spoken[:-1]) + " and " + spoken[-1]


def backing(result: VariableResult, excluded: str | None = None) -> np.ndarray:
    """Points where some oracle other than `excluded` reliably agrees with the reference."""
    backed = np.zeros(result.checked.shape, dtype=bool)
    for name, discrepancy in result.oracles.items():
        if name != excluded:
            backed |= ~discrepancy.unreliable & ~discrepancy.failing
    return backed


def supporters(result: VariableResult, index: int) -> list[str]:
    """The oracles that reliably agree with the reference at point `index`."""
    return [
        name
        for name, d in result.oracles.items()
        if not d.unreliable[index] and not d.failing[index]
    ]


def _reason(name: str, discrepancy: Discrepancy, index: int) -> str:
    value = discrepancy.values[index]
    if np.isnan(value):
        return "it returns NaN there"
    if np.isinf(value):
        return "it overflows there"
    second = discrepancy.second is not None and discrepancy.second[index]
    if name == "reverse" and not second:
        return "float64 rounding, most likely (no second opinion was taken there)"
    return _REASONS.get(name, "it loses precision or differs there")


def _sentence(comparison: Comparison, result: VariableResult, name: str,
              discrepancy: Discrepancy, mask: np.ndarray) -> str:  # fmt: skip
    index = discrepancy.worst(mask)
    value, reference = format_values(discrepancy.values[index], result.reference[index])
    point = format_point(comparison.variables, comparison.points[:, index])
    count = int(mask.sum())
    where = counted(count, "point")
    disagree = _verb([name], "disagrees", "disagree")
    return (
        f"{oracle_name(name)} {disagree} with the derived {result.label} at {where} "
        f"(e.g. {point}: {value} vs {reference}; {discrepancy.method}): "
        f"{_reason(name, discrepancy, index)}"
    )


def _rescued(comparison: Comparison, result: VariableResult, name: str,
             discrepancy: Discrepancy) -> str | None:  # fmt: skip
    """A note when a second method agreed where the float64 one had failed (reverse mode
    losing precision); finite differences' routine complex step goes without saying."""
    if discrepancy.second is None or discrepancy.first_failing is None or name == "finite":
        return None
    rescued = discrepancy.first_failing & discrepancy.second & ~discrepancy.failing
    if not rescued.any():
        return None
    index = int(np.flatnonzero(rescued)[0])
    point = format_point(comparison.variables, comparison.points[:, index])
    count = int(rescued.sum())
    where = counted(count, "point")
    method = discrepancy.second_method
    second = ("the same sweep in mpmath agrees" if method == "mpmath"
              else f"{method} agree")  # fmt: skip
    return (
        f"{oracle_name(name)} loses precision in float64 at {where} of {result.label} "
        f"(e.g. {point}); {second} with the reference"
    )


def _contradicted(result: VariableResult) -> bool:
    """Whether any oracle contradicts the reference anywhere (rarely: the masks built
    from contradictions are then all False, and their passes over the points are saved)."""
    return any(discrepancy.failing.any() for discrepancy in result.oracles.values())


def _unbacked(result: VariableResult) -> np.ndarray:
    """Points where some oracle contradicts the reference and none backs it there."""
    contradicted = np.zeros(result.checked.shape, dtype=bool)
    if not _contradicted(result):
        return contradicted
    backed = np.zeros(result.checked.shape, dtype=bool)
    for discrepancy in result.oracles.values():
        contradicted |= discrepancy.failing
        backed |= ~discrepancy.unreliable & ~discrepancy.failing
    return contradicted & ~backed


def table_suspects(result: VariableResult) -> np.ndarray:
    """Points where the rule table itself is in doubt: an oracle that does not read it,
    its two methods agreeing with each other, contradicts the reference, and only oracles
    that read the table (reverse mode) back the reference. A wrong entry would make the
    derivation and reverse mode agree with each other: their agreement proves nothing."""
    contradicted = np.zeros(result.checked.shape, dtype=bool)
    if not _contradicted(result):
        return contradicted
    backed, backed_by_table = contradicted.copy(), contradicted.copy()
    for name, discrepancy in result.oracles.items():
        agreeing = ~discrepancy.unreliable & ~discrepancy.failing
        if name in TABLE_READERS:
            backed_by_table |= agreeing
            continue
        backed |= agreeing
        if discrepancy.methods_agree is not None:
            contradicted |= discrepancy.failing & discrepancy.methods_agree
    return contradicted & ~backed & backed_by_table


def doubted(result: VariableResult) -> np.ndarray:
    """Points where the reference is in doubt: some oracle contradicts it and none backs
    it there, or only oracles that share its rule table do (`table_suspects`)."""
    return _unbacked(result) | table_suspects(result)


def rules_on_path(function: sp.Expr | None, variable: str) -> list[str]:
    """The rule-table entries that the partial derivative by `variable` goes through
    (sums and products aside: reverse mode does not read their entries).

    >>> from diffcheck.symbolic.parse import parse_expression
    >>> rules_on_path(parse_expression("sin(tanh(x*y)) + exp(y)"), "x")
    ['sin', 'tanh']
    """
    if function is None:
        return []
    target = sp.Symbol(variable)
    depends: dict[sp.Basic, bool] = {}
    names = set()
    for node in nodes_in_order([function]):
        depends[node] = node == target or any(depends[arg] for arg in node.args)
        rule = rule_for(node) if node.args and depends[node] else None
        if rule is not None and rule.name not in ("add", "mul"):
            names.add(rule.name)
    return sorted(names)


def _table_conflict(comparison: Comparison, result: VariableResult) -> str | None:
    """A sentence for the points where two numeric methods agree with each other against
    the derivation and reverse mode: the rule table's entries on the path are suspect."""
    suspects = table_suspects(result)
    if not suspects.any():
        return None
    name, oracle = next((n, d) for n, d in result.oracles.items()
                        if n not in TABLE_READERS and (d.failing & suspects).any())  # fmt: skip
    index = oracle.worst(oracle.failing & suspects)
    backers = [n for n in TABLE_READERS if n in result.oracles and n in supporters(result, index)]
    # six digits: the two methods agree to about that many, and the derivation is far off
    first, second, derived = (f"{value:.6g}" for value in (
        oracle.first_values[index], oracle.values[index], result.reference[index]))  # fmt: skip
    point = format_point(comparison.variables, comparison.points[:, index])
    rules = rules_on_path(comparison.function, result.name)
    entries = (
        f"entry for {rules[0]} is" if len(rules) == 1
        else f"entries for {join_oracles(rules)} are" if rules else "entries are"
    )  # fmt: skip
    return (
        f"{oracle_name(name)} and the {oracle.second_method} agree with each other and "
        f"disagree with the derived {result.label} and {join_oracles(backers)} at "
        f"{counted(int(suspects.sum()), 'point')} (e.g. {point}: {first} and {second} vs "
        f"{derived}): the rule table's {entries} suspect"
    )


def _conflict(comparison: Comparison, result: VariableResult) -> str | None:
    """A sentence for the points where oracles contradict the reference and none backs it."""
    doubted_points = _unbacked(result)
    if not doubted_points.any():
        return None
    index = max(np.flatnonzero(doubted_points), key=lambda i: max(
        d.excess[i] for d in result.oracles.values() if d.failing[i]))  # fmt: skip
    against = [name for name, d in result.oracles.items() if d.failing[index]]
    values = ", ".join(
        f"{oracle_name(name)} {format_values(result.oracles[name].values[index])[0]}"
        for name in against
    )
    (derived,) = format_values(result.reference[index])
    point = format_point(comparison.variables, comparison.points[:, index])
    count = int(doubted_points.sum())
    where = counted(count, "point")
    return (
        f"{join_oracles(against)} {_verb(against, 'disagrees', 'disagree')} with the derived "
        f"{result.label} at {where} and nothing backs it there (e.g. {point}: {values}; "
        f"derived {derived}): the point may not be differentiable, or diffcheck's "
        "derivation is at fault"
    )


def _breakdown(comparison: Comparison, result: VariableResult, name: str,
               discrepancy: Discrepancy) -> str | None:  # fmt: skip
    """A framework's autograd returning NaN or inf where the derivative is finite."""
    if name not in FRAMEWORKS:
        return None
    broken = result.checked & ~np.isfinite(discrepancy.values) & np.isfinite(result.reference)
    if not broken.any():
        return None
    index = int(np.flatnonzero(broken)[0])
    point = format_point(comparison.variables, comparison.points[:, index])
    (value,) = format_values(result.reference[index])
    count = int(broken.sum())
    where = counted(count, "point")
    returned = "NaN" if np.isnan(discrepancy.values[index]) else "inf"
    failure = f"; {discrepancy.method}" if discrepancy.method.startswith("failed") else ""
    return (f"{oracle_name(name)} returns NaN or inf at {where} of {result.label} (e.g. "
            f"{point}: {returned}, where the derivative is {value}{failure})")  # fmt: skip


def diagnose(comparison: Comparison) -> Findings:
    """Conflicts, odd ones out and explained disagreements of every oracle."""
    conflicts, odd, notes = [], [], []
    for result in comparison.results:
        for conflict in (_conflict(comparison, result), _table_conflict(comparison, result)):
            if conflict is not None:
                conflicts.append(conflict)
        suspects = table_suspects(result)
        for name, discrepancy in result.oracles.items():
            if (broken := _breakdown(comparison, result, name, discrepancy)) is not None:
                odd.append(broken)
        for name, discrepancy in result.oracles.items():
            if (note := _rescued(comparison, result, name, discrepancy)) is not None:
                notes.append(note)
            if not discrepancy.failing.any():
                continue
            alone = discrepancy.failing & backing(result, name) & ~suspects
            if alone.any():
                sentence = _sentence(comparison, result, name, discrepancy, alone)
                others = [n for n in result.oracles if n != name]
                agree = _verb(others, "agrees", "agree")
                odd.append(f"{sentence}; {join_oracles(others)} {agree} with the reference")
    return Findings(tuple(conflicts), tuple(odd), tuple(notes))


def backing_sentence(result: VariableResult, index: int) -> str:
    """Who backs the expected value at a counterexample, as a clause."""
    names = supporters(result, index)
    if not names and index in result.kink_limits:
        return (
            f"the point is on a kink, but {result.label} exists there: its values on both "
            "sides tend to the expected value"
        )
    if not names:
        return "no oracle could confirm the expected value there"
    return f"{join_oracles(names)} {_verb(names, 'agrees', 'agree')} with the expected value"
