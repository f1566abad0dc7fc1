"""Expressions -> a flat program over their DAG, evaluated at many points at once.

`Program(exprs, variables)` numbers every distinct sub-expression once (shared nodes
are computed once), then `evaluate` runs it over NumPy arrays in chunks (float64 or
complex128) and `evaluate_mp` at one point in an mpmath context of any precision.
Kernels come from `rules`; no code is generated, so depth is no limit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..limits import deep_recursion
from ..rules import PRIMITIVES, Rule, rule_for
from ..symbolic import nodes_in_order

__all__ = ["CHUNK", "Program", "as_real"]

CHUNK = 1 << 15  # points per pass: intermediates stay in cache and memory stays bounded

_ADD, _MUL, _POW = PRIMITIVES["add"], PRIMITIVES["mul"], PRIMITIVES["pow"]


@dataclass(frozen=True)
class _Step:
    rule: Rule | None  # None: a variable (`row`) or a constant (`constant`)
    args: tuple[int, ...] = ()
    row: int | None = None
    constant: sp.Basic | None = None
    value: float = math.nan  # the constant in float64; NaN if it is not real


def as_real(ctx: Any, value: Any) -> Any:
    """An mpmath result as a real number, NaN if it left the real line (log of -1)."""
    if isinstance(value, ctx.mpc):
        return value.real if value.imag == 0 else ctx.nan
    return value


class Program:
    """Straight-line code for `exprs` over `variables` (the rows of a points array)."""

    def __init__(self, exprs: Sequence[sp.Expr], variables: Sequence[str]):
        self.variables = tuple(variables)
        rows = {sp.Symbol(name): row for row, name in enumerate(self.variables)}
        slots: dict[sp.Basic, int] = {}
        constant: dict[sp.Basic, bool] = {}
        self.steps: list[_Step] = []
        for node in nodes_in_order(exprs):
            constant[node] = not node.is_Symbol and all(constant[arg] for arg in node.args)
            if node in rows:
                step = _Step(None, row=rows[node])
            elif constant[node]:
                step = _Step(None, constant=node, value=_float_constant(node))
            elif node.is_Symbol:
                raise ValueError(f"variable {node} is not among {', '.join(self.variables)}")
            elif (rule := rule_for(node)) is None:
                raise ValueError(f"cannot evaluate {type(node).__name__}: {node}")
            else:
                step = _Step(rule, tuple(slots[arg] for arg in node.args))
            slots[node] = len(self.steps)
            self.steps.append(step)
        self.outputs = tuple(slots[expr] for expr in exprs)
        self.last_use = self._last_uses()
        self._mp_constants: dict[tuple[int, int], Any] = {}

    def _last_uses(self) -> list[int]:
        last = list(range(len(self.steps)))
        for index, step in enumerate(self.steps):
            for arg in step.args:
                last[arg] = index
        for output in self.outputs:
            last[output] = len(self.steps)
        return last

    def evaluate(self, points: np.ndarray, dtype: type = np.float64) -> list[np.ndarray]:
        """Every output at every point: `points` has one row per variable."""
        count = points.shape[1]
        results = [np.empty(count, dtype=dtype) for _ in self.outputs]
        with np.errstate(all="ignore"):
            for start in range(0, count, CHUNK):
                chunk = points[:, start : start + CHUNK].astype(dtype, copy=False)
                for result, value in zip(results, self._run(chunk, dtype)):
                    result[start : start + chunk.shape[1]] = value
        return results

    def _run(self, chunk: np.ndarray, dtype: type) -> list[np.ndarray]:
        values: list[Any] = [None] * len(self.steps)
        for index, step in enumerate(self.steps):
            if step.rule is not None:
                values[index] = _apply_numpy(step.rule, [values[a] for a in step.args])
            elif step.row is not None:
                values[index] = chunk[step.row]
            else:
                values[index] = dtype(step.value)
            for arg in step.args:
                if self.last_use[arg] == index:
                    values[arg] = None  # free intermediates as soon as they are used up
        width = chunk.shape[1]
        return [np.broadcast_to(values[output], (width,)) for output in self.outputs]

    def evaluate_mp(self, point: Sequence[float], ctx: Any) -> list[Any]:
        """Every output at one point, in the precision of the mpmath context `ctx`."""
        values: list[Any] = [None] * len(self.steps)
        for index, step in enumerate(self.steps):
            if step.row is not None:
                values[index] = ctx.mpf(point[step.row])
            elif step.rule is None:
                values[index] = self._mp_constant(index, ctx)
            else:
                values[index] = _apply_mp_safely(step.rule, [values[a] for a in step.args], ctx)
        return [values[output] for output in self.outputs]

    def _mp_constant(self, index: int, ctx: Any) -> Any:
        key = (index, ctx.prec)
        if key not in self._mp_constants:
            with deep_recursion():
                real, imaginary = self.steps[index].constant.evalf(ctx.dps + 10).as_real_imag()
            self._mp_constants[key] = ctx.nan if imaginary != 0 else ctx.mpf(str(real))
        return self._mp_constants[key]


def _float_constant(node: sp.Basic) -> float:
    with deep_recursion():
        value = complex(node.evalf(30))
    return value.real if value.imag == 0 else math.nan


def _apply_mp_safely(rule: Rule, args: list[Any], ctx: Any) -> Any:
    if any(ctx.isnan(arg) for arg in args):
        return ctx.nan
    try:
        return as_real(ctx, _apply_mp(rule, args, ctx))
    except (ValueError, ZeroDivisionError, OverflowError, TypeError):
        return ctx.nan  # a pole, or a point outside the function's domain


def _apply_numpy(rule: Rule, args: list[Any]) -> Any:
    if rule is _ADD:
        total = args[0]
        for arg in args[1:]:
            total = total + arg
        return total
    if rule is _MUL:
        product = args[0]
        for arg in args[1:]:
            product = product * arg
        return product
    if rule is _POW:
        return _power(args[0], args[1])
    return rule.numpy(*args)


def _power(base: Any, exponent: Any) -> Any:
    # the common exponents get their exact, faster kernels
    if np.ndim(exponent) == 0:
        e = complex(exponent).real
        if e == 2:
            return base * base
        if e == -1:
            return 1 / base
        if e == 0.5:
            return np.sqrt(base)
        if e == -0.5:
            return 1 / np.sqrt(base)
    return np.power(base, exponent)


def _apply_mp(rule: Rule, args: list[Any], ctx: Any) -> Any:
    if rule is _ADD:
        return ctx.fsum(args)
    if rule is _MUL:
        return ctx.fprod(args)
    return rule.mpmath(ctx, *args)
