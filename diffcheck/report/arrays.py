"""Report stage for array cases: an `ArrayComparison` -> the failure details and JSON.

Text: per claim, the worst entry by index with both values and the point's arrays, how
many entries are wrong, the pattern of the mistake, and for a matrix a small map of the
wrong entries. JSON keeps the version-1 fields per variable and adds `shape`,
`worst_index` and `wrong_entries` (CASES.md, version 2). Main functions: `array_details`,
`array_variables_json`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..compare.array_compare import ClaimResult
from ..compare.array_verdict import claim_label, entry_label
from ..errors import counted

__all__ = ["array_details", "array_variables_json", "wrong_entry_map"]

MAP_ROWS, MAP_COLUMNS = 24, 64  # a larger matrix is summarised, not drawn
POINT_ENTRIES = 24  # a point's arrays are printed whole up to this many entries


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
    worst size."""
    points = sum(instance.checked for instance in comparison.instances)
    found: dict[str, tuple[float, dict[str, Any]]] = {}
    for instance, claim in comparison.claims:
        badness = claim.worst.score if claim.worst is not None else -1.0
        key = claim.name if claim.kind != "jacobian" else claim.name
        if key not in found or badness > found[key][0]:
            found[key] = (badness, _claim_json(instance, claim))
    return points, {name: entry for name, (_, entry) in found.items()}


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


def _number(value: float) -> float | str:
    value = float(value)
    return value if np.isfinite(value) else str(value)
