"""The oracle protocol: a `Problem` to differentiate, and the `Estimate` every oracle gives.

A `Problem` is a function with its variables, the variables to differentiate and its
derived (symbolic) gradient; an oracle maps a problem and a points array (one row per
variable) to an `Estimate`: values and an error bar per point. `exact` is the reference;
the others are checked against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np
import sympy as sp

from ..symbolic.derive import KINK_ULPS, derive_gradient, kink_expressions
from ..symbolic.rules import rule_for
from ..symbolic.trees import nodes_in_order
from .program import Program

__all__ = ["Estimate", "Oracle", "Problem", "on_kinks"]

_EPS = float(np.finfo(float).eps)


def on_kinks(kinks: Program, points: np.ndarray) -> np.ndarray:
    """Per kink expression (rows) and point (columns): is the point on that kink?

    The one kink test of every stage: the expression is exactly 0, or comes from a sum
    whose terms cancel to within KINK_ULPS of their size (w*x - 0.3 at w*x = 0.3), so
    float64 rounding cannot say on which side the point lies.
    """
    evaluated = kinks.evaluate(points, conditioning=True)
    count = len(evaluated) // 2
    hit = np.zeros((count, points.shape[1]), dtype=bool)
    for row, (kink, factor) in enumerate(zip(evaluated[:count], evaluated[count:], strict=True)):
        with np.errstate(invalid="ignore"):
            hit[row] = (kink == 0) | (factor * (KINK_ULPS * _EPS) >= 1)
    return hit


@dataclass(frozen=True)
class Problem:
    """A function to differentiate and its derived gradient, the reference."""

    function: sp.Expr
    variables: tuple[str, ...]
    wrt: tuple[str, ...]
    gradient: Mapping[str, sp.Expr]
    kinks: tuple[sp.Expr, ...]

    @classmethod
    def derive(cls, function: sp.Expr, wrt: tuple[str, ...], variables: tuple[str, ...]) -> Problem:
        """Derive the gradient and find the kinks of `function`."""
        gradient = derive_gradient(function, wrt)
        return cls(function, variables, wrt, gradient, kink_expressions(function, wrt))

    @cached_property
    def function_program(self) -> Program:
        return Program([self.function], self.variables)

    @cached_property
    def kink_program(self) -> Program | None:
        return Program(list(self.kinks), self.variables) if self.kinks else None

    @cached_property
    def limit_program(self) -> Program:
        """The function, then the partial along each variable of `wrt`: what
        `exact.partial_limits` probes on both sides of a kink."""
        return Program([self.function, *(self.gradient[n] for n in self.wrt)], self.variables)

    @cached_property
    def analytic(self) -> bool:
        """True if every operation extends to complex arguments (complex step applies)."""
        return not self.kinks and all(
            (rule := rule_for(node)) is not None and rule.complex_step
            for node in nodes_in_order([self.function]) if node.args
        )  # fmt: skip

    @cached_property
    def _rows(self) -> dict[str, int]:
        return {name: row for row, name in enumerate(self.variables)}

    def row(self, name: str) -> int:
        """The row of variable `name` in a points array (a dict: n lookups stay linear)."""
        return self._rows[name]


@dataclass(frozen=True)
class Estimate:
    """An oracle's gradient: per variable, values and an absolute error bar per point.

    An error of inf marks a point where the oracle cannot say anything (its stencil
    crosses a kink, its value overflowed).
    """

    oracle: str
    method: Mapping[str, str]
    values: Mapping[str, np.ndarray]
    errors: Mapping[str, np.ndarray]


class Oracle(Protocol):
    name: str

    def gradient(self, problem: Problem, points: np.ndarray) -> Estimate: ...
