"""Finite differences with an error estimate: the oracle that knows no calculus.

Central differences at steps h and 2h, h = eps^(1/3) max(1, |x|), extrapolated
(Richardson) to O(h^4); the error bar is the gap between the two differences (the
truncation error of the smaller step, an over-estimate for the extrapolated value) plus
a rounding model. A stencil that crosses a kink gets an infinite error bar. For
analytic functions the complex step Im f(x + ih)/h, free of cancellation, is the second
opinion where central differences disagree or are unsure (a vanishing gradient:
fixed-step differences of a 20-deep sigmoid chain are 100 % off).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .chunks import for_chunks
from .problem import Estimate, Problem
from .program import Program

__all__ = ["EPS", "USEFUL", "FiniteDifferences", "central_difference"]

EPS = float(np.finfo(np.float64).eps)
COMPLEX_STEP = 1e-20  # far below any feature of the function, and no cancellation
# A composite function is rarely evaluated to the last bit; this many ulps of
# function-value noise is what the rounding part of the error bar assumes.
NOISE_ULPS = 16.0
USEFUL = 0.1  # an error bar wider than this fraction of the value says nothing
STEP = EPS ** (1 / 3)  # balances truncation (h^2) and rounding (eps/h) of a central difference


# evaluate(points, rows, cancellation) -> values at `points` with `rows` replaced;
# `cancellation`, if given, is raised to how much the function's sums magnify rounding
Evaluator = Callable[[np.ndarray, dict[int, np.ndarray], np.ndarray | None], np.ndarray]


def _crosses_kink(kinks: Program, points: np.ndarray, row: int, reach: np.ndarray) -> np.ndarray:
    """Points whose stencil [x - reach, x + reach] along `row` touches a kink."""
    crossing = np.zeros(points.shape[1], dtype=bool)
    below = kinks.evaluate(points, rows={row: points[row] - reach})
    above = kinks.evaluate(points, rows={row: points[row] + reach})
    for low, high in zip(below, above, strict=True):
        crossing |= (np.sign(low) != np.sign(high)) | (low == 0) | (high == 0)
    return crossing


def central_difference(
    evaluate: Evaluator, points: np.ndarray, row: int, kinks: Program | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """d/d(row) of a vectorised function at (at most CHUNK) points, with error bars.

    Central differences at h and 2h, h = eps^(1/3) max(1, |x|), Richardson-extrapolated;
    an infinite error bar where the stencil touches a zero of `kinks`.
    """
    x = points[row]
    h = np.abs(x)
    np.maximum(h, 1.0, out=h)
    h *= STEP
    # divide by the step actually taken: (x + h) - (x - h) is exact, 2h may not be
    above, below = x + h, x - h
    # the rounding model's scale: |f|, magnified where the function's sums cancel
    cancellation = np.ones(x.shape)
    f_above = evaluate(points, {row: above}, cancellation)
    scale = np.abs(f_above)
    scale *= cancellation
    # in place where a result is fresh: each temporary is a chunk of memory to fault in,
    # and the same operations in the same order give the same bits
    small = f_above - evaluate(points, {row: below}, None)
    small /= above - below
    h2 = 2 * h
    large = evaluate(points, {row: x + h2}, None) - evaluate(points, {row: x - h2}, None)
    large /= 4 * h
    gap = np.subtract(small, large, out=large)
    # rounding: noise * |f| / h in the step-h difference, weighted 4/3 by the extrapolation
    error = np.abs(gap)
    scale *= 4.5 * NOISE_ULPS * EPS
    scale /= h
    error += scale
    error /= 3
    # Richardson: the step-h difference has error c h^2, the 2h one 4c h^2, so the gap is
    # 3c h^2; removing it leaves O(h^4), and gap/3 over-estimates what remains
    gap /= 3
    estimate = np.add(small, gap, out=small)
    if kinks is not None:
        error[_crosses_kink(kinks, points, row, h2)] = np.inf
    if not np.isfinite(np.add.reduce(estimate)):  # a sum with inf or NaN in it is not finite
        error[~np.isfinite(estimate)] = np.inf
    return estimate, error


def _function_of(problem: Problem) -> Evaluator:
    def evaluate(points: np.ndarray, rows: dict, cancellation: np.ndarray | None) -> np.ndarray:
        return problem.function_program.batch(points, rows=rows, cancellation=cancellation)[0]

    return evaluate


def complex_step(evaluate: Callable[[dict], tuple[Any, Any]], points: np.ndarray, row: int
                 ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Im f(x + ih)/h along variable `row`, with its error bar: the one complex step.

    `evaluate(rows)` gives f's values at the points with `rows` replaced (complex), and
    the cancellation factor of that evaluation (1 where none is measured).
    """
    step = COMPLEX_STEP * np.maximum(1.0, np.abs(points[row]))
    value, cancellation = evaluate({row: points[row] + 1j * step})
    derivative = value.imag / step
    # exact but for rounding, magnified where the evaluation cancels or overflows
    error = 16 * EPS * np.real(cancellation) * np.abs(derivative) + np.finfo(np.float64).tiny
    return derivative, np.where(np.isfinite(derivative), error, np.inf)


def _complex_step(problem: Problem, points: np.ndarray, row: int) -> tuple[np.ndarray, np.ndarray]:
    def evaluate(rows: dict) -> tuple[Any, Any]:
        return problem.function_program.evaluate(
            points, np.complex128, rows=rows, magnitude=True
        )  # fmt: skip

    return complex_step(evaluate, points, row)


class FiniteDifferences:
    """Extrapolated central differences; the complex step as a second opinion."""

    name = "finite"
    second_method = "complex step"

    def gradient(self, problem: Problem, points: np.ndarray) -> Estimate:
        count = points.shape[1]
        values = {name: np.empty(count) for name in problem.wrt}
        errors = {name: np.empty(count) for name in problem.wrt}
        evaluate, kinks = _function_of(problem), problem.kink_program

        def chunk(start: int, stop: int) -> None:  # each chunk writes its own part only
            at = points[:, start:stop]
            for name in problem.wrt:
                value, error = central_difference(evaluate, at, problem.row(name), kinks)
                values[name][start:stop] = value
                errors[name][start:stop] = error

        with np.errstate(all="ignore"):
            # chunk by chunk, so that the temporaries stay in cache
            for _ in for_chunks(count, chunk):
                pass
        return Estimate(self.name, {n: "central" for n in problem.wrt}, values, errors)

    def second_opinion(
        self, problem: Problem, points: np.ndarray, name: str
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The complex step at `points`: where central differences disagree, or are too
        unsure to confirm anything. None if the function is not analytic."""
        if not problem.analytic:
            return None
        with np.errstate(all="ignore"):
            return _complex_step(problem, points, problem.row(name))
