"""Report stage, pictures of array claims: an `ArrayCase` -> a heat map of its error.

The case is checked as `diffcheck check` checks it; for the claim of one variable (the
first claimed by default), at the smallest size and its worst point, each entry's
|claimed - expected| is a cell of the map, and the entries the closeness test calls
wrong are crossed. A claim right everywhere is a map of zeros. Main function:
`plot_array_claim`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..cases.array_model import ArrayCase
from ..errors import DiffcheckError

__all__ = ["plot_array_claim"]


def _as_matrix(values: np.ndarray) -> np.ndarray:
    """A vector as one row, a matrix as is, more axes folded into the rows."""
    if values.ndim == 0:
        return values.reshape(1, 1)
    if values.ndim == 1:
        return values.reshape(1, -1)
    return values.reshape(-1, values.shape[-1])


def plot_array_claim(plt: Any, case: ArrayCase, path: str | Path, variable: str | None) -> str:
    """Draw the heat map of a claim's error by entry into `path`; the summary line.

    Raises:
        DiffcheckError: the case has no claim for `variable`, or could not be run.
    """
    from ..run.check import Settings, check_case  # the checker: derive need not import it

    result = check_case(case, Settings())
    if result.arrays is None:
        raise DiffcheckError(f"case {case.name} could not be checked: {result.message}")
    claims = [(i, c) for i, c in result.arrays.claims if c.kind != "unclaimed"]
    chosen = [(i, c) for i, c in claims if variable in (None, c.name)]
    if not chosen:
        names = ", ".join(dict.fromkeys(c.name for _, c in claims)) or "none"
        raise DiffcheckError(f"case {case.name} has no claim for '{variable}' (claims: {names})")
    instance, claim = chosen[0]
    if claim.expected is not None and claim.claimed is not None:
        error = np.abs(np.asarray(claim.claimed, float) - np.asarray(claim.expected, float))
        wrong = np.asarray(claim.wrong_map, bool) if claim.wrong_map is not None else error > 0
    else:  # right at every point: nothing was kept to map, and nothing is wrong
        error = np.zeros(claim.shape)
        wrong = np.zeros(claim.shape, dtype=bool)
    error, wrong = _as_matrix(error), _as_matrix(wrong)
    figure, axes = plt.subplots(figsize=(5.2, 4.2))
    image = axes.imshow(error, cmap="magma_r", aspect="auto")
    figure.colorbar(image, ax=axes, label="|claimed − expected|")
    rows, columns = np.nonzero(wrong)
    axes.scatter(columns, rows, marker="x", color="tab:cyan", s=30, label="wrong")
    axes.set_xticks(range(error.shape[1]))
    axes.set_yticks(range(error.shape[0]))
    axes.set_xlabel("column")
    axes.set_ylabel("row")
    size = f", {instance.label}" if instance.label else ""
    axes.set_title(f"{case.name}: {claim.kind} {claim.name}{size}", fontsize=10)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    head = f"{claim.kind} {claim.name}{size}"
    if not claim.wrong:
        return f"{head}: every entry agrees at {claim.checked} points"
    where = f" at point {claim.worst.point}" if claim.worst is not None else ""
    return (f"{head}: {int(wrong.sum())} of {wrong.size} entries wrong{where}, "
            f"wrong at {claim.wrong_points} of {claim.checked} points")  # fmt: skip
