"""The reference: symbolic expressions evaluated in float64, refined in mpmath on demand.

`ExactValues(exprs, variables, points)` evaluates every expression at every point in
float64 (vectorised); `refined(i)` re-evaluates all of them at point i with mpmath at
30, 60, 120, ... digits until two precisions agree, so float64 overflow and cancellation
(1 - tanh(19)**2 is 0.0 in float64) never decide a verdict. A point whose values lie
beyond mpmath's reach (`program.REACH_BITS`) is reported as such, not computed for hours.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from .problem import Estimate, Problem
from .program import OutOfReach, Program

EPS = float(np.finfo(np.float64).eps)

__all__ = ["PRECISIONS", "Exact", "ExactValues", "Refined", "context", "refine_at",
           "rounding_bound", "settle"]  # fmt: skip

PRECISIONS = (30, 60, 120, 240, 480, 960)  # decimal digits, each try doubling the last
# Two precisions agreeing to this many significant digits settle a value: cancellation
# that left fewer good digits would make them disagree, except by a 1-in-10^20 fluke.
SETTLED_DIGITS = 20


@dataclass(frozen=True)
class Refined:
    """mpmath values of every expression at one point, with error bounds.

    `errors[i]` is the change between the last two precisions, an upper bound on the
    error of `values[i]`; `converged` is False if no two precisions agreed. A point out
    of mpmath's reach has no values and says why in `beyond` ("exp of 1.2e+1650000").
    """

    context: Any
    values: tuple[Any, ...]
    errors: tuple[Any, ...]
    converged: bool
    beyond: str | None = None


def _settled(ctx: Any, old: Any, new: Any, last: bool, exact_zero: bool) -> bool:
    if ctx.isnan(old) or ctx.isnan(new):
        return bool(ctx.isnan(old) and ctx.isnan(new))
    if ctx.isinf(old) or ctx.isinf(new):
        return old == new
    if new == 0 and old == 0:
        return last or exact_zero  # else it may be cancellation beyond this precision
    return abs(new - old) <= ctx.mpf(10) ** -SETTLED_DIGITS * abs(new)


_CONTEXTS: dict[int, Any] = {}


def context(digits: int) -> Any:
    """The mpmath context of `digits` decimal digits, made once per process and reused:
    making one costs ~1 ms, more than settling a typical point. Callers never change its
    precision for good (kernels go through `workprec`, which restores it), and it is not
    mpmath's global `mp`, whose precision belongs to the caller."""
    if digits not in _CONTEXTS:
        made = mpmath.MPContext()
        made.dps = digits
        _CONTEXTS[digits] = made
    return _CONTEXTS[digits]


def refine_at(program: Program, point: Sequence[float]) -> Refined:
    """Evaluate `program` at `point` in rising precision until the results settle."""
    return settle(lambda ctx: program.exact_zeros_mp(point, ctx))


def settle(evaluate: Callable[[Any], tuple[list[Any], list[bool]]]) -> Refined:
    """Call `evaluate(ctx)` at 30, 60, 120, ... digits until two precisions agree.

    `evaluate` returns mpmath values and, for each, whether a zero is exactly zero (a
    zero that may be cancellation keeps the precision rising); if it raises OutOfReach,
    the result has no values and `beyond` set.
    """
    previous: list[Any] | None = None
    for step, digits in enumerate(PRECISIONS):
        ctx = context(digits)
        try:
            current, exact = evaluate(ctx)
        except OutOfReach as beyond:
            return Refined(ctx, (), (), False, str(beyond))
        if previous is not None:
            last = step == len(PRECISIONS) - 1
            settled = all(
                _settled(ctx, a, b, last, zero)
                for a, b, zero in zip(previous, current, exact, strict=True)
            )
            errors = tuple(_change(ctx, a, b) for a, b in zip(previous, current, strict=True))
            if settled:
                return Refined(ctx, tuple(current), errors, True)
        previous = current
    return Refined(ctx, tuple(current), errors, False)


def _change(ctx: Any, old: Any, new: Any) -> Any:
    if ctx.isnan(old) or ctx.isnan(new) or ctx.isinf(old) or ctx.isinf(new):
        return ctx.zero if old == new or (ctx.isnan(old) and ctx.isnan(new)) else ctx.inf
    return abs(new - old)


def rounding_bound(value: np.ndarray, conditioning: np.ndarray) -> np.ndarray:
    """How far float64 rounding may have moved `value`, given its conditioning (see
    `ExactValues.rounding_bound`); elementwise, for callers that work chunk by chunk."""
    if conditioning.strides == (0,) and conditioning.size:  # one factor everywhere
        factor = float(conditioning[0])
        if np.isinf(factor):
            return np.full(value.shape, np.inf)
        with np.errstate(all="ignore"):
            return (16 * EPS) * factor * np.abs(value)
    with np.errstate(all="ignore"):
        bound = (16 * EPS) * conditioning * np.abs(value)
    return np.where(np.isinf(conditioning), np.inf, bound)


class ExactValues:
    """Expressions at every point in float64, refined with mpmath where asked."""

    def __init__(self, exprs: Sequence[sp.Expr], variables: Sequence[str], points: np.ndarray):
        self.program = Program(exprs, variables)
        self.points = points
        evaluated = self.program.evaluate(points, conditioning=True)
        self.values = evaluated[: len(exprs)]
        # per expression, how much float64 rounding may be magnified at each point
        self.conditioning = evaluated[len(exprs) :]
        self._refined: dict[int, Refined] = {}

    def rounding_bound(self, slot: int, indices: np.ndarray | None = None) -> np.ndarray:
        """How far float64 rounding may have moved expression `slot`'s value at each
        point (or at `indices`): inf where its sums cancelled to 0 or it underflowed (any
        value may hide)."""
        value, conditioning = self.values[slot], self.conditioning[slot]
        if indices is not None:
            value, conditioning = value[indices], conditioning[indices]
        return rounding_bound(value, conditioning)

    def refined(self, index: int) -> Refined:
        if index not in self._refined:
            self._refined[index] = refine_at(self.program, self.points[:, index].tolist())
        return self._refined[index]

    def is_refined(self, index: int) -> bool:
        return index in self._refined


class Exact:
    """The derived gradient in float64: the reference every other oracle is held to."""

    name = "exact"

    def gradient(self, problem: Problem, points: np.ndarray) -> Estimate:
        exprs = [problem.gradient[name] for name in problem.wrt]
        values = Program(exprs, problem.variables).evaluate(points)
        return Estimate(
            oracle=self.name,
            method={name: "float64" for name in problem.wrt},
            values=dict(zip(problem.wrt, values, strict=True)),
            errors={name: np.zeros_like(v) for name, v in zip(problem.wrt, values, strict=True)},
        )
