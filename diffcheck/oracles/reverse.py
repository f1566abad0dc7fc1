"""Reverse mode: one forward sweep, then one backward sweep of adjoints over the DAG.

An oracle independent of the symbolic engine: it never builds a derivative expression.
Each node's local partials are the rule table's templates (over X0, X1, ..., XI and OUT)
compiled once into programs and evaluated on the forward values; the adjoint flowing
into a node is the sum over its users of their adjoint times that local partial. The
sweep runs vectorised in float64, and in mpmath at single points as a second opinion
where float64 rounding makes it disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from ..symbolic.rules import OUT, PRIMITIVES, XI, Rule, X
from ..symbolic.values import as_real
from .chunks import CHUNK, for_chunks
from .exact import settle
from .finite import central_difference, complex_step
from .problem import Estimate, Problem
from .program import Program, mark_unhealthy

__all__ = ["ForwardOverReverse", "ReverseMode"]

TEMPLATE_SYMBOLS = (*X, XI, OUT)
TEMPLATE_NAMES = tuple(symbol.name for symbol in TEMPLATE_SYMBOLS)
ROUNDING_ULPS = 64.0  # the float64 sweep is trusted to this many ulps of its result
_ADD, _MUL = PRIMITIVES["add"], PRIMITIVES["mul"]


class _Templates:
    """The partial templates of the rules a program uses, each compiled once."""

    def __init__(self) -> None:
        self._programs: dict[sp.Expr, Program] = {}

    def program(self, rule: Rule, index: int) -> Program | None:
        """The compiled partial of `rule` for argument `index` (None: no derivative)."""
        template = rule.partials[0 if rule.arity is None else index]
        if template is None:
            return None
        # keyed by the template, not the rule's name: whatever the table holds when the
        # sweep runs is what reverse mode applies, as for the symbolic derivation
        if template not in self._programs:
            self._programs[template] = Program([sp.sympify(template)], TEMPLATE_NAMES)
        return self._programs[template]


def _others(values: Sequence[Any], index: int) -> Any:
    product = 1.0
    for position, value in enumerate(values):
        if position != index:
            product = product * value
    return product


class ReverseMode:
    """Adjoints by one backward sweep, vectorised over all points."""

    name = "reverse"
    second_method = "mpmath"

    def __init__(self) -> None:
        self._templates = _Templates()

    def gradient(self, problem: Problem, points: np.ndarray) -> Estimate:
        rows = [problem.row(name) for name in problem.wrt]
        adjoints = self.adjoint_values(problem.function_program, points, rows)
        bars = ROUNDING_ULPS * np.finfo(float).eps * np.abs(adjoints)  # one pass for all
        values = dict(zip(problem.wrt, adjoints, strict=True))
        errors = dict(zip(problem.wrt, bars, strict=True))
        return Estimate(self.name, {n: "float64" for n in problem.wrt}, values, errors)

    def adjoint_values(
        self,
        program: Program,
        points: np.ndarray,
        rows: Sequence[int],
        dtype: type = np.float64,
        replace: dict[int, np.ndarray] | None = None,
        cancellation: np.ndarray | None = None,
    ) -> np.ndarray:
        """The adjoint of each variable row in `rows` (the output's partial derivative
        with respect to it) at every point, one row of the result each, computed chunk
        by chunk; `replace` swaps in rows, and
        `cancellation` is raised as `Program.forward` does for the forward sweep."""
        count = points.shape[1]
        replace = replace or {}
        results = np.empty((len(rows), count), dtype=dtype)
        self._compile(program)  # before the chunks run, not by two threads at once

        def chunk(start: int, stop: int) -> None:  # each chunk writes its own part only
            def column(row: int) -> np.ndarray:
                source = replace[row] if row in replace else points[row]
                return source[start:stop].astype(dtype, copy=False)

            watched = None if cancellation is None else cancellation[start:stop]
            forward = program.forward(column, dtype, cancellation=watched)
            adjoints = self._backward(program, forward, self._local_numpy, health=watched)
            for result, row in zip(results, rows, strict=True):
                result[start:stop] = _variable_adjoint(program, adjoints, row, stop - start)

        with np.errstate(all="ignore"):
            for _ in for_chunks(count, chunk):
                pass
        return results

    def _compile(self, program: Program) -> None:
        """Compile the partial templates the backward sweep of `program` will use."""
        for step in program.steps:
            if step.rule is None or step.rule is _ADD or step.rule is _MUL:
                continue
            for position, arg in enumerate(step.args):
                if program.steps[arg].rule is not None or program.steps[arg].row is not None:
                    self._templates.program(step.rule, position)

    def sweep(self, program: Program, point: Sequence[float]) -> tuple[list[Any], list[Any]]:
        """The forward value and the adjoint of every step of `program` at one point,
        in float64: backpropagation as a bucket relay, for explainers. A step the output
        does not depend on has adjoint None."""
        column = np.asarray(point, dtype=float).reshape(-1, 1)
        with np.errstate(all="ignore"):
            forward = program.forward(lambda row: column[row])
            adjoints = self._backward(program, forward, self._local_numpy)
        values = [float(np.asarray(v).reshape(-1)[0]) for v in forward]
        flows = [None if a is None else float(np.asarray(a).reshape(-1)[0]) for a in adjoints]
        return values, flows

    def second_opinion(
        self, problem: Problem, points: np.ndarray, name: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """The same sweep in mpmath, in rising precision until it settles: where it agrees
        with the reference and float64 did not, float64 rounding was to blame."""
        program, row = problem.function_program, problem.row(name)
        values, errors = np.full(points.shape[1], np.nan), np.full(points.shape[1], np.inf)
        for column in range(points.shape[1]):
            point = points[:, column].tolist()
            refined = settle(lambda ctx, point=point: ([self._sweep_mp(program, point, row, ctx)],
                                                       [False]))  # fmt: skip
            if not refined.converged:  # no stable value, or out of mpmath's reach
                continue
            (value,), (error,) = refined.values, refined.errors
            if refined.context.isfinite(value):
                values[column] = float(value)
                errors[column] = float(error) + np.finfo(float).tiny
        return values, errors

    def _sweep_mp(self, program: Program, point: list[float], row: int, ctx: Any) -> Any:
        forward = program.forward_mp(point, ctx)

        def local(rule: Rule, position: int, args: list[Any], out: Any) -> Any:
            return self._local_mp(rule, position, args, out, ctx)

        adjoints = self._backward(program, forward, local, one=ctx.one)
        return _variable_adjoint(program, adjoints, row, None)

    def _backward(
        self,
        program: Program,
        forward: list[Any],
        local: Callable[[Rule, int, list[Any], Any], Any],
        one: Any = 1.0,
        health: np.ndarray | None = None,
    ) -> list[Any]:
        """Adjoints of every step, from the output's adjoint 1 down to the variables;
        `health`, if given, is set to inf where a term overflowed or went subnormal."""
        steps = program.steps
        adjoints: list[Any] = [None] * len(steps)
        (output,) = program.outputs
        adjoints[output] = one
        branches = any(step.rule is not None and step.rule.branches for step in steps)
        for index in range(len(steps) - 1, -1, -1):
            step, adjoint = steps[index], adjoints[index]
            if adjoint is None or step.rule is None:
                continue
            args = [forward[arg] for arg in step.args]
            for position, arg in enumerate(step.args):
                if steps[arg].rule is None and steps[arg].row is None:
                    continue  # a constant needs no adjoint
                if step.rule is _ADD:  # a sum passes its adjoint on unchanged
                    term = adjoint
                else:
                    term = adjoint * local(step.rule, position, args, forward[index])
                    if branches:
                        term = _unreached(adjoint, forward[index], term)
                if health is not None:
                    mark_unhealthy(health, term)
                adjoints[arg] = term if adjoints[arg] is None else adjoints[arg] + term
        return adjoints

    def _template_inputs(self, position: int, args: list[Any], out: Any) -> list[Any]:
        inputs = [*args[: len(X)], *([None] * (len(X) - len(args)))]
        return [*inputs, args[position], out]

    def _local_numpy(self, rule: Rule, position: int, args: list[Any], out: Any) -> Any:
        if rule is _ADD:
            return 1.0
        if rule is _MUL:  # the binary rule's partial wrt X0 is X1: the other factors
            return _others(args, position)
        template = self._templates.program(rule, position)
        if template is None:
            return np.nan  # no derivative with respect to this argument
        inputs = self._template_inputs(position, args, out)
        return template.forward(lambda row: inputs[row])[template.outputs[0]]

    def _local_mp(self, rule: Rule, position: int, args: list[Any], out: Any, ctx: Any) -> Any:
        if rule is _ADD:
            return ctx.one
        if rule is _MUL:
            return _others(args, position)
        template = self._templates.program(rule, position)
        if template is None:
            return ctx.nan
        inputs = self._template_inputs(position, args, out)
        values = template.forward_mp([ctx.zero if v is None else v for v in inputs], ctx)
        return as_real(ctx, values[template.outputs[0]])


def _unreached(adjoint: Any, value: Any, term: Any) -> Any:
    """`term`, but 0 where the node's adjoint is exactly 0 and its own value undefined:
    a where's branch not taken (sqrt(x) at x < 0) passes on 0, not 0·NaN."""
    if hasattr(value, "_mpf_"):  # the mpmath sweep, one point
        return term if adjoint != 0 or mpmath.isfinite(value) else 0 * adjoint
    return np.where((adjoint == 0) & ~np.isfinite(value), 0.0, term)


def _variable_adjoint(program: Program, adjoints: list[Any], row: int, width: int | None
                      ) -> Any:  # fmt: skip
    index = program.row_steps.get(row)
    value = None if index is None else adjoints[index]
    if value is None:  # the output does not depend on this variable
        return 0.0 if width is None else np.zeros(width)
    return value if width is None else np.broadcast_to(value, (width,))


class ForwardOverReverse:
    """Second derivatives d/db of ∂f/∂a: the complex step, a forward-mode perturbation of
    b, through the reverse sweep that gives ∂f/∂a, where f is analytic; elsewhere central
    differences of that reverse-mode ∂f/∂a. Estimates the gradient of the second-order
    problem whose function is the derived ∂f/∂a."""

    name = "reverse"
    second_method = "central differences over reverse mode"

    def __init__(self, base: Problem, first: str, reverse: ReverseMode | None = None):
        self.base = base
        self.first = first
        self.reverse = reverse or ReverseMode()

    def gradient(self, problem: Problem, points: np.ndarray) -> Estimate:
        (second,) = problem.wrt
        row, first = self.base.row(second), self.base.row(self.first)
        program = self.base.function_program
        with np.errstate(all="ignore"):
            if self.base.analytic:
                value, error = complex_step(
                    lambda moved: self._adjoint(program, points, first, moved), points, row
                )
                method = "complex step over reverse mode"
            else:
                value, error = self._central(problem, points, row, first)
                method = "central differences over reverse mode"
        error = np.where(np.isfinite(value), error, np.inf)
        return Estimate(self.name, {second: method}, {second: value}, {second: error})

    def _adjoint(self, program: Program, points: np.ndarray, first: int, moved: dict
                 ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        cancellation = np.ones(points.shape[1])
        (values,) = self.reverse.adjoint_values(
            program, points, [first], np.complex128, moved, cancellation
        )
        return values, cancellation

    def second_opinion(self, problem: Problem, points: np.ndarray, name: str
                       ) -> tuple[np.ndarray, np.ndarray] | None:  # fmt: skip
        """Central differences of the reverse gradient where the complex step disagrees:
        its imaginary part can underflow silently (1/(1 + e^709) is near float64's end)."""
        if not self.base.analytic:
            return None  # central differences were the first method already
        with np.errstate(all="ignore"):
            return self._central(problem, points, self.base.row(name), self.base.row(self.first))

    def _central(self, problem: Problem, points: np.ndarray, row: int, first: int
                 ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        program = self.base.function_program

        def partial(at: np.ndarray, rows: dict, cancellation: np.ndarray | None) -> np.ndarray:
            return self.reverse.adjoint_values(program, at, [first], replace=rows,
                                               cancellation=cancellation)[0]  # fmt: skip

        values, errors = np.empty(points.shape[1]), np.empty(points.shape[1])
        for start in range(0, points.shape[1], CHUNK):
            cut = slice(start, start + CHUNK)
            values[cut], errors[cut] = central_difference(
                partial, points[:, cut], row, problem.kink_program
            )
        return values, errors
