"""Expressions -> a flat program over their DAG, evaluated at many points at once.

`Program(exprs, variables)` numbers every distinct sub-expression once (shared nodes
are computed once), then `evaluate` runs it over NumPy arrays in chunks (float64 or
complex128) and `evaluate_mp` at one point in an mpmath context of any precision,
refusing values too large for mpmath to compute in bounded time (`OutOfReach`).
Kernels come from `rules`; no code is generated, so depth is no limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..symbolic.reach import REACH_BITS, OutOfReach, check_reach
from ..symbolic.rules import PRIMITIVES, Rule, rule_for
from ..symbolic.trees import nodes_in_order
from ..symbolic.values import apply_mp, float_atom, mp_atom
from .chunks import CHUNK, by_chunks, for_chunks
from .conditioning import (
    Conditioning,
    cancellation_ratio,
    exact_sums,
    mark_unhealthy,
    one_signed,
    scaled_up,  # fmt: skip
)

__all__ = ["CHUNK", "REACH_BITS", "Conditioning", "OutOfReach", "Program", "by_chunks",
           "mark_unhealthy"]  # fmt: skip

# no value beyond 2^±REACH_BITS is computed in mpmath (see `symbolic.reach`): such a
# point is out of reach (`OutOfReach`) instead of minutes long
_ADD, _MUL, _POW = PRIMITIVES["add"], PRIMITIVES["mul"], PRIMITIVES["pow"]


@dataclass(frozen=True)
class _Step:
    rule: Rule | None  # None: a variable (`row`) or a constant (`constant`)
    args: tuple[int, ...] = ()
    row: int | None = None
    constant: sp.Basic | None = None
    value: float = math.nan  # the constant in float64; NaN if it is not real


class Program:
    """Straight-line code for `exprs` over `variables` (the rows of a points array)."""

    def __init__(self, exprs: Sequence[sp.Expr], variables: Sequence[str]):
        self.variables = tuple(variables)
        rows = {sp.Symbol(name): row for row, name in enumerate(self.variables)}
        slots: dict[sp.Basic, int] = {}
        self.steps: list[_Step] = []
        for node in nodes_in_order(exprs):
            # constants go through the same kernels as variables (log of -2 is NaN, as
            # log of x is at x = -2); only atoms, and numbers no rule covers (zeta(3)
            # from polygamma(2, 1)), are evaluated by SymPy
            rule = rule_for(node)
            if node in rows:
                step = _Step(None, row=rows[node])
            elif node.is_Symbol:
                raise ValueError(f"variable {node} is not among {', '.join(self.variables)}")
            elif rule is not None and node.args:
                step = _Step(rule, tuple(slots[arg] for arg in node.args))
            elif node.is_number:
                step = _Step(None, constant=node, value=float_atom(node))
            else:
                raise ValueError(f"cannot evaluate {type(node).__name__}: {node}")
            slots[node] = len(self.steps)
            self.steps.append(step)
        self.outputs = tuple(slots[expr] for expr in exprs)
        # variable row -> its step, for readers of per-step values (adjoints)
        self.row_steps = {step.row: index for index, step in enumerate(self.steps)
                          if step.row is not None}  # fmt: skip
        self.last_use = self._last_uses()
        self.mirrors = [scaled_up(self.steps, step, exactly=True) for step in self.steps]
        self.exact_sums = exact_sums(self.steps)
        self._mp_constants: dict[tuple[int, int], Any] = {}

    def _last_uses(self) -> list[int]:
        last = list(range(len(self.steps)))
        for index, step in enumerate(self.steps):
            for arg in step.args:
                last[arg] = index
        for output in self.outputs:
            last[output] = len(self.steps)
        return last

    def evaluate(
        self,
        points: np.ndarray,
        dtype: type = np.float64,
        rows: Mapping[int, np.ndarray] | None = None,
        magnitude: bool = False,
        conditioning: bool = False,
    ) -> list[np.ndarray]:
        """Every output at every point: `points` has one row per variable.

        `rows` replaces some rows (row index -> values), as finite differences need,
        without copying the others. With `magnitude`, one more result: the cancellation
        factor at each point (see `forward`). With `conditioning`, one more result per
        output: its own cancellation factor (see `Conditioning`).
        """
        count = points.shape[1]
        rows = rows or {}
        results: list[Any] = [np.empty(count, dtype=dtype) for _ in self.outputs]
        results += [None] * (magnitude + (len(self.outputs) if conditioning else 0))

        def chunk(start: int, stop: int) -> list[Any]:
            def column(row: int) -> np.ndarray:
                source = rows[row] if row in rows else points[row]
                return source[start:stop].astype(dtype, copy=False)

            return self._run(column, stop - start, dtype, magnitude, conditioning)

        # a conditioning factor the same number at every point (1: no sum cancels) stays
        # that number, broadcast: no array written and read back
        uniform: dict[int, Any] = {}
        with np.errstate(all="ignore"):
            for index, outputs in enumerate(for_chunks(count, chunk)):
                start = index * CHUNK
                stop = min(start + CHUNK, count)
                for slot, value in enumerate(outputs):
                    if results[slot] is None:
                        if np.ndim(value) == 0 and uniform.setdefault(slot, value) == value:
                            continue
                        results[slot] = np.empty(count)
                        results[slot][:start] = uniform.get(slot, np.nan)
                    results[slot][start:stop] = value
        return [np.broadcast_to(float(uniform.get(slot, np.nan)), (count,)) if result is None
                else result for slot, result in enumerate(results)]  # fmt: skip

    def batch(
        self,
        points: np.ndarray,
        rows: Mapping[int, np.ndarray] | None = None,
        dtype: type = np.float64,
        cancellation: np.ndarray | None = None,
    ) -> list[np.ndarray]:
        """Every output for a batch of at most CHUNK points, with none of `evaluate`'s
        chunking and copying: for callers that already work chunk by chunk."""
        rows = rows or {}

        def column(row: int) -> np.ndarray:
            return rows[row] if row in rows else points[row]

        values = self.forward(column, dtype, keep=False, cancellation=cancellation)
        width = points.shape[1]
        return [np.broadcast_to(values[output], (width,)) for output in self.outputs]

    def _run(
        self,
        column: Callable[[int], np.ndarray],
        width: int,
        dtype: type,
        magnitude: bool,
        conditioning: bool = False,
    ) -> list[np.ndarray]:
        cancellation = np.ones(width) if magnitude else None
        watch = Conditioning(self) if conditioning else None
        values = self.forward(column, dtype, keep=False, cancellation=cancellation,
                              observe=watch)  # fmt: skip
        outputs = [np.broadcast_to(values[output], (width,)) for output in self.outputs]
        extra = [cancellation] if magnitude else []
        if watch is not None:  # scalars stay scalars (see `evaluate`)
            factors = [watch.factors[o] for o in self.outputs]
            extra += [f if np.ndim(f) == 0 else np.broadcast_to(f, (width,)) for f in factors]
        return [*outputs, *extra]

    def forward(
        self,
        column: Callable[[int], np.ndarray],
        dtype: type = np.float64,
        keep: bool = True,
        cancellation: np.ndarray | None = None,
        observe: Callable[[int, list[Any]], None] | None = None,
    ) -> list[Any]:
        """The value of every step for one batch of points; `column(row)` gives a
        variable's values. With `keep=False` intermediates are dropped once used up;
        `cancellation`, if given, is raised in place to the largest ratio sum(|terms|) /
        |sum| of any sum: how much cancellation magnifies relative rounding errors
        (exp(x) - 1.0001 near x = 0 magnifies them 10^4 times); inf where any
        intermediate is not finite. `observe(index, values)`
        is called after each step, while its arguments' values are still there."""
        values: list[Any] = [None] * len(self.steps)
        for index, step in enumerate(self.steps):
            if step.rule is not None:
                values[index] = _apply_numpy(step.rule, [values[a] for a in step.args])
            elif step.row is not None:
                values[index] = column(step.row)
            else:
                values[index] = dtype(step.value)
            if cancellation is not None:
                # a sum whose terms share a sign cancels nowhere (its ratio is 1 or NaN)
                # nor does a sum of two exact values (1 - y), rounded once, however it cancels
                if (step.rule is _ADD and not self.exact_sums[index]
                        and not one_signed(values, step.args)):  # fmt: skip
                    np.fmax(cancellation, cancellation_ratio(values, step.args, index),
                            out=cancellation)  # fmt: skip
                if not self.mirrors[index]:  # else its argument's test was this one
                    mark_unhealthy(cancellation, values[index])
            if observe is not None:
                observe(index, values)
            if not keep:
                for arg in step.args:
                    if self.last_use[arg] == index:
                        values[arg] = None
        return values

    def evaluate_mp(self, point: Sequence[float], ctx: Any) -> list[Any]:
        """Every output at one point, in the precision of the mpmath context `ctx`."""
        values = self.forward_mp(point, ctx)
        return [values[output] for output in self.outputs]

    def exact_zeros_mp(self, point: Sequence[float], ctx: Any) -> tuple[list[Any], list[bool]]:
        """The outputs at one point, and for each whether a zero output is exactly zero.

        A zero can hide a value smaller than the precision only where a sum of non-zero
        terms came out exactly zero (1 - sigmoid(800) at 30 digits); a zero from a
        kernel (heaviside of a negative number) or a product with such a zero is exact.
        """
        values = self.forward_mp(point, ctx)
        doubtful = [False] * len(self.steps)
        for index, step in enumerate(self.steps):
            args = step.args
            cancelled = (
                step.rule is _ADD and values[index] == 0 and any(values[a] != 0 for a in args)
            )
            doubtful[index] = cancelled or any(doubtful[a] for a in args)
        outputs = [values[output] for output in self.outputs]
        return outputs, [
            value == 0 and not doubtful[o] for value, o in zip(outputs, self.outputs, strict=True)
        ]

    def forward_mp(self, point: Sequence[Any], ctx: Any) -> list[Any]:
        """The value of every step at one point, in the mpmath context `ctx`.

        Raises:
            OutOfReach: a kernel's argument or a power's result lies beyond
                2^±REACH_BITS.
        """
        values: list[Any] = [None] * len(self.steps)
        for index, step in enumerate(self.steps):
            if step.row is not None:
                values[index] = ctx.mpf(point[step.row])
            elif step.rule is None:
                values[index] = self._mp_constant(index, ctx)
            else:
                args = [values[a] for a in step.args]
                check_reach(step.rule, args, ctx)
                values[index] = apply_mp(step.rule, args, ctx)
        return values

    def _mp_constant(self, index: int, ctx: Any) -> Any:
        key = (index, ctx.prec)
        if key not in self._mp_constants:
            self._mp_constants[key] = mp_atom(self.steps[index].constant, ctx)
        return self._mp_constants[key]


def apply_rule(rule: Rule, args: list[Any], power: Callable[[Any, Any], Any],
               call: Callable[..., Any]) -> Any:  # fmt: skip
    """One step of a program on any array library: the primitives by its operators
    (`power` for pow), every table function by `call(rule, *args)`."""
    if rule is _ADD or rule is _MUL:
        result = args[0]
        for arg in args[1:]:
            result = result + arg if rule is _ADD else result * arg
        return result
    if rule is _POW:
        return power(args[0], args[1])
    return call(rule, *args)


def _apply_numpy(rule: Rule, args: list[Any]) -> Any:
    return apply_rule(rule, args, _power, lambda table_rule, *xs: table_rule.numpy(*xs))


def _power(base: Any, exponent: Any) -> Any:
    # small whole exponents by multiplication: exact to a few ulps and 5x faster than pow
    if np.ndim(exponent) == 0:
        e = complex(exponent).real
        if e == 0.5:
            return np.sqrt(base)
        if e == -0.5:
            return 1 / np.sqrt(base)
        if e.is_integer() and 1 <= abs(e) <= 4:  # inf and NaN are not integers
            result = base
            for _ in range(int(abs(e)) - 1):
                result = result * base
            return 1 / result if e < 0 else result
    return np.power(base, exponent)
