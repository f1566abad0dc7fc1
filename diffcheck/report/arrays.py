"""Report stage for array cases: an `ArrayComparison` -> the failure details and JSON.

Text: per claim, the worst entry by index with both values and the point's arrays, how
many entries are wrong, the pattern of the mistake, and for a matrix a small map of the
wrong entries. JSON keeps the version-1 fields per variable and adds `shape`,
`worst_index` and `wrong_entries` (CASES.md, version 2). Main functions: `array_details`,
`array_variables_json`; `array_claim_facts` gives the same facts to the Python API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..compare.array_compare import ClaimResult
from ..compare.array_verdict import claim_label, entry_label
from ..errors import counted

__all__ = [
    "ArrayClaimFacts",
    "array_claim_facts",
    "array_code_json",
    "array_oracles_json",
    "array_details",
    "array_variables_json",
    "wrong_entry_map",
]

MAP_ROWS, MAP_COLUMNS = 24, 64  # a larger matrix is summarised, not drawn
POINT_ENTRIES = 24  # a point's arrays are printed whole up to this many entries
_CODE_PARTIALS = ("implementation gradient", "implementation vjp")


def wrong_entry_map(wrong: np.ndarray) -> list[str]:
    """Rows of `.` (right) and `x` (wrong) for a matrix small enough to draw.

    >>> wrong_entry_map(np.array([[False, True], [False, False]]))
    ['. x', '. .']
    """
    if wrong.ndim != 2 or wrong.shape[0] > MAP_ROWS or wrong.shape[1] > MAP_COLUMNS:
        return []
    return [" ".join("x" if cell else "." for cell in row) for row in wrong]


def array_details(comparison) -> list[str]:  # noqa: ANN001 - run.array_check.ArrayComparison
    """The failure details of an array case, one block per wrong claim."""
    lines: list[str] = []
    for instance, claim in comparison.claims:
        if not claim.wrong:
            continue
        values = instance.points[claim.worst.point]
        at = f"point {claim.worst.point + 1}" + (f" ({instance.label})" if instance.label else "")
        lines.append(f"{claim_label(claim)}, {at}: {_point_text(values)}")
        drawn = wrong_entry_map(claim.wrong_map)
        if drawn:
            lines.append(f"  wrong entries of {claim_label(claim)} (x):")
            lines.extend(f"    {row}" for row in drawn)
    return lines


def _point_text(values: dict[str, Any]) -> str:
    parts = []
    for name, value in values.items():
        array = np.asarray(value)
        if array.size <= POINT_ENTRIES:
            text = np.array2string(array, precision=4, separator=", ", max_line_width=1000)
            parts.append(f"{name}={' '.join(text.split())}")
        else:
            parts.append(f"{name}=<{'×'.join(map(str, array.shape))} array>")
    return ", ".join(parts)


def array_variables_json(comparison) -> tuple[int, dict[str, Any]]:  # noqa: ANN001
    """(points checked, variable -> its JSON entry); a claim at several sizes keeps its
    worst size. The user's code for a variable is its entry, or, beside a claimed
    formula, the entry's `implementation`, as for scalar cases."""
    points = sum(instance.checked for instance in comparison.instances)
    claims = _worst_by_name(comparison, lambda kind: not kind.startswith("implementation"))
    code = _worst_by_name(comparison, lambda kind: kind in _CODE_PARTIALS)
    for name, entry in code.items():
        if name in claims:
            claims[name]["implementation"] = entry
        else:
            claims[name] = entry
    return points, claims


def array_code_json(comparison) -> dict[str, Any]:  # noqa: ANN001
    """`implementation_function`: the user's forward pass against the function, if any."""
    found = _worst_by_name(comparison, lambda kind: kind == "implementation function")
    return {"implementation_function": found[""]} if found else {}


def array_oracles_json(comparison) -> dict[str, Any]:  # noqa: ANN001
    """`oracles`: per independent oracle (complex step, central differences, PyTorch
    autograd, ...), how many checks of the reference it made and how they went, with its
    first disagreement, or why it did not run."""
    found: dict[str, dict[str, Any]] = {}
    for instance in comparison.instances:
        for check in instance.oracles:
            entry = found.setdefault(check.method, {
                "compared": "every entry" if check.every_entry else "along random directions",
                "checks": 0, "disagreements": 0})  # fmt: skip
            if check.skipped:
                entry["skipped"] = check.note
                continue
            entry["checks"] += 1
            if not check.agrees:
                entry["disagreements"] += 1
                entry.setdefault("first_disagreement", {
                    "sizes": dict(instance.dims), "point": check.point + 1, "what": check.what,
                    "reference": _number(check.reference), "oracle": _number(check.oracle),
                    "error": _number(check.error), "note": check.note,
                    "overruled": check.overruled})  # fmt: skip
    return {"oracles": found} if found else {}


def _worst_by_name(comparison, wanted) -> dict[str, dict[str, Any]]:  # noqa: ANN001
    found: dict[str, tuple[float, dict[str, Any]]] = {}
    for instance, claim in comparison.claims:
        if not wanted(claim.kind):
            continue
        badness = claim.worst.score if claim.worst is not None else -1.0
        if claim.name not in found or badness > found[claim.name][0]:
            found[claim.name] = (badness, _claim_json(instance, claim))
    return {name: entry for name, (_, entry) in found.items()}


def _claim_json(instance, claim: ClaimResult) -> dict[str, Any]:  # noqa: ANN001
    worst = claim.worst
    entry: dict[str, Any] = {
        "claim": claim.kind,
        "shape": list(claim.shape),
        "sizes": dict(instance.dims),
        "max_abs_error": _number(claim.max_abs_error),
        "max_rel_error": _number(claim.max_rel_error),
        "worst_point": None,
        "worst_index": None,
        "wrong_entries": claim.wrong_entries,
        "entries": claim.entries,
        "wrong_points": claim.wrong_points,
        "checked_points": claim.checked,
    }
    if worst is not None:
        values = instance.points[worst.point]
        entry["worst_point"] = {n: np.asarray(v).tolist() for n, v in values.items()}
        entry["worst_index"] = list(worst.index)
        entry["worst_entry"] = entry_label(claim, worst.index)
        entry["expected"] = worst.expected_text or _number(worst.expected)
        entry["claimed"] = worst.claimed_text or _number(worst.claimed)
    if claim.pattern:
        entry["pattern"] = claim.pattern
    if claim.settled:
        entry["settled_in_mpmath"] = claim.settled
    entry["summary"] = f"{counted(claim.wrong_entries, 'entry', 'entries')} wrong"
    return entry


@dataclass(frozen=True)
class ArrayClaimFacts:
    """What the report says of one claim (or of the user's code) at one combination of
    sizes: `wrong_entries` and the worst entry are at the worst point."""

    claim: str  # gradient | jacobian | vjp | unclaimed | implementation gradient | ...
    variable: str  # "" for the implementation's function
    label: str  # "∂f/∂W", "the implementation's vjp W"
    shape: tuple[int, ...]
    sizes: dict[str, int]
    entries: int
    wrong_entries: int
    wrong_points: int
    checked_points: int
    worst_index: tuple[int, ...] | None
    worst_entry: str | None  # "W[3, 1]"
    worst_point: dict[str, Any] | None  # the point's values, arrays as NumPy arrays
    expected: float | None
    claimed: float | None
    pattern: str | None
    max_abs_error: float
    max_rel_error: float

    @property
    def wrong(self) -> bool:
        return self.wrong_points > 0


def array_claim_facts(comparison) -> tuple[ArrayClaimFacts, ...]:  # noqa: ANN001
    """Every claim's facts, size by size, in the order checked."""
    found = []
    for instance, claim in comparison.claims:
        worst = claim.worst
        point = instance.points[worst.point] if worst is not None else None
        found.append(ArrayClaimFacts(
            claim.kind, claim.name, claim_label(claim), tuple(claim.shape), dict(instance.dims),
            claim.entries, claim.wrong_entries, claim.wrong_points, claim.checked,
            worst.index if worst else None, entry_label(claim, worst.index) if worst else None,
            {n: np.asarray(v) if np.ndim(v) else v for n, v in point.items()} if point else None,
            worst.expected if worst else None, worst.claimed if worst else None, claim.pattern,
            claim.max_abs_error, claim.max_rel_error,
        ))  # fmt: skip
    return tuple(found)


def _number(value: float) -> float | str:
    value = float(value)
    return value if np.isfinite(value) else str(value)
