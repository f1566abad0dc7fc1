"""Report stage, pictures: a scalar case -> the derived and the claimed derivative drawn
over the domain, with the points where they disagree marked (an array case: the heat
map of a claim's error, `plot_arrays`).

One variable runs over its interval; the others stay at the case's default point (its
first explicit point, else the middle of each interval: `default_point`). Both curves
are evaluated by the oracles' straight-line `Program`, and "disagree" is compare's one
closeness test with the case's tolerance. matplotlib is an optional extra
(`pip install 'diffcheck-grad[plot]'`), imported only here. Main function: `plot_case`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..cases.array_model import ArrayCase
from ..cases.model import Case, Interval
from ..errors import DiffcheckError
from ..oracles.program import Program
from ..symbolic.derive import derive_gradient
from .plot_arrays import plot_array_claim

__all__ = ["PLOT_FORMATS", "SWEEP_POINTS", "Plot", "default_point", "image_format", "plot_case"]

PLOT_FORMATS = ("png", "pdf", "svg")
SWEEP_POINTS = 400  # samples along the variable's interval
MARKS = 30  # marks on the points that disagree, at most about (more would hide the curve)
INSTALL = "pip install 'diffcheck-grad[plot]'"


@dataclass(frozen=True)
class Plot:
    """What was drawn: the variable, its interval, the other variables' values, how
    many of the samples disagree, and where the first one lies."""

    variable: str
    interval: tuple[float, float]
    fixed: Mapping[str, float]
    samples: int
    wrong: int
    first_wrong: float | None

    def summary(self) -> str:
        at = ", ".join(f"{name}={value:g}" for name, value in self.fixed.items())
        low, high = self.interval
        text = f"∂f/∂{self.variable} over {self.variable} in [{low:g}, {high:g}]"
        text += f" at {at}" if at else ""
        if self.first_wrong is None:
            return f"{text}; derived and claimed agree at all {self.samples} points"
        return (f"{text}; they disagree at {self.wrong} of {self.samples} points "
                f"(first at {self.variable}={self.first_wrong:g})")  # fmt: skip


def default_point(case: Case) -> dict[str, float]:
    """The case's first explicit point (completed by its fixed values), else the
    middle of each interval; in variable order."""
    point: dict[str, float] = {}
    explicit = case.points[0] if case.points else {}
    for name in case.variables:
        value = case.domain.get(name)
        if name in explicit:
            point[name] = float(explicit[name])
        elif isinstance(value, Interval):
            point[name] = (value.low + value.high) / 2
        elif value is not None:
            point[name] = float(value)
        else:
            point[name] = 0.0
    return point


def _curves(case: Case, variable: str, xs: np.ndarray, point: Mapping[str, float]) -> list:
    derived = derive_gradient(case.resolve(case.function.expr), [variable])[variable]
    exprs = [derived]
    if variable in case.gradient:
        exprs.append(case.resolve(case.gradient[variable].expr))
    rows = [xs if name == variable else np.full_like(xs, point[name]) for name in case.variables]
    with np.errstate(all="ignore"):
        return Program(exprs, case.variables).evaluate(np.array(rows))


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no window, no display needed
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise DiffcheckError(f"plot needs matplotlib, which is not installed ({INSTALL})") from (
            error)  # fmt: skip
    return plt


def plot_case(case: Case | ArrayCase, path: str | Path, variable: str | None = None) -> str:
    """Draw a case into `path` (.png, .pdf or .svg): for a scalar case ∂f/∂variable,
    derived and claimed, over the variable's interval; for an array case the heat map
    of a claim's error by entry (`plot_arrays`). Returns what was drawn, in a line.

    Raises:
        DiffcheckError: matplotlib is missing, or the variable is not one of the
            case's `wrt`, has no interval, or (array case) no claim.
    """
    plt = _pyplot()
    if isinstance(case, ArrayCase):
        return plot_array_claim(plt, case, path, variable)
    return _plot_scalar(plt, case, path, variable).summary()


def _plot_scalar(plt: Any, case: Case, path: str | Path, variable: str | None) -> Plot:
    variable = variable or case.wrt[0]
    if variable not in case.wrt:
        raise DiffcheckError(f"'{variable}' is not among the case's wrt ({', '.join(case.wrt)})")
    interval = case.domain.get(variable)
    if not isinstance(interval, Interval):
        raise DiffcheckError(f"'{variable}' has no interval in the domain of case {case.name}")
    point = default_point(case)
    xs = np.linspace(interval.low, interval.high, SWEEP_POINTS)
    values = _curves(case, variable, xs, point)
    figure, axes = plt.subplots(figsize=(6.4, 3.6))
    axes.plot(xs, values[0], color="tab:blue", label="derived")
    wrong = np.zeros(xs.shape, dtype=bool)
    if len(values) > 1:
        axes.plot(xs, values[1], color="tab:orange", linestyle="--", label="claimed")
        from ..compare.closeness import excess  # derive imports this module, needs no compare

        wrong = np.asarray(excess(values[1], values[0], case.tolerance)) > 1
        wrong &= np.isfinite(values[0])
        if wrong.any():  # shaded where they disagree, and a few marks on the claim
            axes.fill_between(xs, 0, 1, where=wrong, color="tab:red", alpha=0.08,
                              transform=axes.get_xaxis_transform(), linewidth=0)  # fmt: skip
            every = max(1, int(wrong.sum()) // MARKS)
            axes.scatter(xs[wrong][::every], values[1][wrong][::every], color="tab:red",
                         marker="x", s=16, zorder=3, label="claimed ≠ derived")  # fmt: skip
    fixed = {name: value for name, value in point.items() if name != variable}
    axes.set_xlabel(variable)
    axes.set_ylabel(f"∂f/∂{variable}")
    axes.set_title(case.name + (f" ({_short(fixed)})" if fixed else ""), fontsize=10)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    first = float(xs[wrong][0]) if wrong.any() else None
    return Plot(variable, (interval.low, interval.high), fixed, xs.size, int(wrong.sum()), first)


def _short(fixed: Mapping[str, float]) -> str:
    text = ", ".join(f"{name}={value:.3g}" for name, value in fixed.items())
    return text if len(text) <= 60 else text[:57] + "..."


def image_format(path: str | Path) -> str:
    """The picture format a file name asks for, or '' if none that plot writes."""
    suffix = Path(path).suffix.lstrip(".").lower()
    return suffix if suffix in PLOT_FORMATS else ""
