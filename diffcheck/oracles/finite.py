"""Finite differences with an error estimate: the oracle that knows no calculus.

Analytic functions get the complex step, Im f(x + ih)/h, exact to rounding. Others get
central differences at steps h, 2h, 4h with h = eps^(1/3) max(1, |x|), extrapolated
(Richardson) to O(h^6); the gap between the last two extrapolations plus a rounding
model is the error bar. A stencil that crosses a kink gets an infinite error bar.
"""

from __future__ import annotations

import numpy as np

from . import Estimate, Problem

__all__ = ["EPS", "FiniteDifferences"]

EPS = float(np.finfo(np.float64).eps)
COMPLEX_STEP = 1e-20  # far below any feature of the function, and no cancellation
STEP_RATIOS = (1.0, 2.0, 4.0)
# A composite function is rarely evaluated to the last bit; this many ulps of
# function-value noise is what the rounding part of the error bar assumes.
NOISE_ULPS = 32.0


def _shifted(points: np.ndarray, row: int, step: np.ndarray, dtype: type = np.float64
             ) -> np.ndarray:
    moved = points.astype(dtype, copy=True)
    moved[row] = moved[row] + step
    return moved


def _crosses_kink(problem: Problem, points: np.ndarray, row: int, reach: np.ndarray
                  ) -> np.ndarray:
    """Points whose stencil [x - reach, x + reach] along `row` touches a kink."""
    crossing = np.zeros(points.shape[1], dtype=bool)
    if problem.kink_program is None:
        return crossing
    below = problem.kink_program.evaluate(_shifted(points, row, -reach))
    above = problem.kink_program.evaluate(_shifted(points, row, reach))
    for low, high in zip(below, above):
        crossing |= (np.sign(low) != np.sign(high)) | (low == 0) | (high == 0)
    return crossing


class FiniteDifferences:
    """Complex step where the function is analytic, extrapolated central differences else."""

    name = "finite"

    def gradient(self, problem: Problem, points: np.ndarray) -> Estimate:
        method = "complex-step" if problem.analytic else "central"
        return self.estimate(problem, points, method)

    def estimate(self, problem: Problem, points: np.ndarray, method: str) -> Estimate:
        """The gradient at `points` by `method` ("complex-step" or "central")."""
        differentiate = self._complex_step if method == "complex-step" else self._central
        values, errors = {}, {}
        with np.errstate(all="ignore"):
            for name in problem.wrt:
                values[name], errors[name] = differentiate(problem, points, problem.row(name))
        return Estimate(self.name, {name: method for name in problem.wrt}, values, errors)

    def _complex_step(self, problem: Problem, points: np.ndarray, row: int
                      ) -> tuple[np.ndarray, np.ndarray]:
        step = COMPLEX_STEP * np.maximum(1.0, np.abs(points[row]))
        moved = _shifted(points, row, 1j * step, np.complex128)
        (value,) = problem.function_program.evaluate(moved, np.complex128)
        derivative = value.imag / step
        error = 16 * EPS * np.abs(derivative) + np.finfo(np.float64).tiny
        return derivative, np.where(np.isfinite(derivative), error, np.inf)

    def _central(self, problem: Problem, points: np.ndarray, row: int
                 ) -> tuple[np.ndarray, np.ndarray]:
        base = EPS ** (1 / 3) * np.maximum(1.0, np.abs(points[row]))
        estimates, largest = [], np.zeros(points.shape[1])
        for ratio in STEP_RATIOS:
            # the step actually taken: (x + h) - (x - h) is exact in float64, 2h may not be
            above, below = points[row] + ratio * base, points[row] - ratio * base
            (f_above,) = problem.function_program.evaluate(_shifted(points, row, above - points[row]))
            (f_below,) = problem.function_program.evaluate(_shifted(points, row, below - points[row]))
            estimates.append((f_above - f_below) / (above - below))
            largest = np.maximum(largest, np.maximum(np.abs(f_above), np.abs(f_below)))
        d1, d2, d4 = estimates
        first = ((4 * d1 - d2) / 3, (4 * d2 - d4) / 3)  # O(h^4)
        best = (16 * first[0] - first[1]) / 15  # O(h^6): (64 d1 - 20 d2 + d4) / 45
        # rounding of each difference is ~noise*|f|/h; the weights 64/45, 20/45, 1/45
        # on steps h, 2h, 4h sum that to about 1.65 noise*|f|/h
        rounding = 1.65 * NOISE_ULPS * EPS * largest / base
        error = np.abs(best - first[0]) + rounding
        error[_crosses_kink(problem, points, row, STEP_RATIOS[-1] * base)] = np.inf
        return best, np.where(np.isfinite(best), error, np.inf)
