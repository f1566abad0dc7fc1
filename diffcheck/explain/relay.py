"""Oracle stage, for people: a derivation's nodes at one point, forward and backward.

Input: derivations (`chain.Derivation`s sharing their intermediates) and a point.
Output: a `Relay`: the forward value of the output, of each intermediate and of each
variable, and the adjoint flowing into it, all from one `ReverseMode().sweep`
(backpropagation as a bucket relay); and the value of every chain factor, so that a
vanishing product shows. `parse_point` reads "w1=0.4,x=1". Main function: `relay_at`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..errors import DiffcheckError
from ..oracles.exact import partial_limits, refine_at
from ..oracles.problem import Problem, on_kinks
from ..oracles.program import Program
from ..oracles.reverse import ReverseMode
from ..symbolic.derive import format_expression, kink_expressions
from ..symbolic.parse import parse_expression
from ..symbolic.trees import nodes_in_order
from .chain import Derivation

__all__ = [
    "NodeValue",
    "Relay",
    "complete_point",
    "local_sweep",
    "named_sweep",
    "parse_point",
    "point_warnings",
    "relay_at",
]


@dataclass(frozen=True)
class NodeValue:
    """One station of the relay: its definition (None for a variable), its forward
    value and the adjoint ∂output/∂node flowing into it (None: the output does not
    depend on it)."""

    name: sp.Symbol
    expr: sp.Expr | None
    value: float
    adjoint: float | None


@dataclass(frozen=True)
class Relay:
    """The output first, then the intermediates from the outermost, then the variables;
    `factors` maps (of, by) to the value of the factor ∂of/∂by at the point."""

    point: tuple[tuple[str, float], ...]
    nodes: tuple[NodeValue, ...]
    factors: Mapping[tuple[sp.Symbol, sp.Symbol], float]

    def node(self, name: sp.Symbol | str) -> NodeValue:
        return next(n for n in self.nodes if n.name == sp.Symbol(str(name)))


def _number(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        expr = parse_expression(text)
    except DiffcheckError:
        expr = None
    if expr is None or expr.free_symbols or not expr.is_number:
        raise ValueError(f"the value of {name}, '{text}', is not a number")
    return float(sp.N(expr))


def parse_point(text: str) -> dict[str, float]:
    """Read a point written NAME=VALUE,NAME=VALUE (values may be constant expressions).

    Raises:
        ValueError: naming the part that is wrong.

    >>> parse_point("w1=0.4, x=-pi/2")
    {'w1': 0.4, 'x': -1.5707963267948966}
    """
    point: dict[str, float] = {}
    for part in text.split(","):
        name, sign, value = (piece.strip() for piece in part.partition("="))
        if not sign or not name or not value:
            raise ValueError(f"'{part.strip()}' is not NAME=VALUE (write e.g. w1=0.4,x=1)")
        if name in point:
            raise ValueError(f"{name} is given twice")
        number = _number(name, value)
        if not math.isfinite(number):
            raise ValueError(f"the value of {name}, '{value}', is not finite")
        point[name] = number
    return point


def complete_point(
    given: Mapping[str, float], variables: Sequence[str], fixed: Mapping[str, float]
) -> dict[str, float]:
    """`given` with the `fixed` values of the variables it leaves out, in `variables`
    order.

    Raises:
        ValueError: a name that is not a variable, or variables with no value.

    >>> complete_point({"w": 0.5}, ["t", "w"], {"t": 1.0})
    {'t': 1.0, 'w': 0.5}
    """
    for name in given:
        if name not in variables:
            raise ValueError(f"{name} is not a variable here (the variables: "
                             f"{', '.join(variables)})")  # fmt: skip
    missing = [name for name in variables if name not in given and name not in fixed]
    if missing:
        raise ValueError(f"no value for {', '.join(missing)} (give every variable "
                         f"without a fixed value, e.g. --at {missing[0]}=0.5)")  # fmt: skip
    return {name: float(given.get(name, fixed.get(name, math.nan))) for name in variables}


def _sweep(function: sp.Expr, variables: Sequence[str], column: Sequence[float]):
    program = Program([function], variables)
    values, adjoints = ReverseMode().sweep(program, column)
    return {node: i for i, node in enumerate(nodes_in_order([function]))}, values, adjoints


def local_sweep(expr: sp.Expr, known: Mapping[sp.Symbol, float]):
    """`expr` over the values `known` so far: node -> position in `nodes_in_order`, and
    there each node's value and ∂expr/∂node (None: not reached)."""
    symbols = sorted(expr.free_symbols, key=str)
    return _sweep(expr, [s.name for s in symbols], [known[s] for s in symbols])


def named_sweep(
    definitions: Sequence[tuple[sp.Symbol, sp.Expr]], point: Mapping[str, float]
) -> tuple[dict[sp.Symbol, float], dict[sp.Symbol, float | None]]:
    """Forward values in topological order, then adjoints from the last definition (the
    output) back through the others (a variable or name it does not reach gets None).

    Args:
        definitions: (name, definition) pairs in order, each written with earlier
            names; the last is the output.
        point: variable -> value.

    Returns:
        name or variable -> value, and -> adjoint.
    """
    known: dict[sp.Symbol, float] = {sp.Symbol(n): float(v) for n, v in point.items()}
    locals_: dict[sp.Symbol, dict[sp.Symbol, float | None]] = {}
    for name, definition in definitions:  # one small sweep each: every node evaluated once
        index, values, local = local_sweep(definition, known)
        known[name] = values[index[definition]]
        symbols = sorted(definition.free_symbols, key=str)  # a fixed order: fixed sums
        locals_[name] = {s: local[index[s]] for s in symbols if s in index}
    adjoints: dict[sp.Symbol, float | None] = {definitions[-1][0]: 1.0}
    for name, _ in reversed(definitions):
        flow = adjoints.get(name)
        if flow is None:
            continue
        for symbol, local in locals_[name].items():
            if local is not None:
                adjoints[symbol] = flow * local + (adjoints.get(symbol) or 0.0)
    return known, adjoints


def _evaluate(exprs: Sequence[sp.Expr], variables: list[str], column: list[float]) -> list[float]:
    if not exprs:
        return []
    program = Program(list(exprs), variables)
    points = np.asarray(column, dtype=float).reshape(-1, 1)
    return [float(values[0]) for values in program.evaluate(points)]


def _not_finite(function: sp.Expr | None, names: list[str], column: list[float],
                value: float) -> str:  # fmt: skip
    """Why the function is not finite at the point: outside its domain, or float64
    overflowing where mpmath finds its value (x**2 at 1e200 is 1e400)."""
    if function is not None:
        refined = refine_at(Program([function], names), column)
        exact = refined.values[0] if refined.values and refined.settled_at(0) else None
        if exact is not None and refined.context.isfinite(exact) and not isinstance(
            exact, refined.context.mpc
        ):  # fmt: skip
            return (f"float64 overflows at this point: the function is {value} in float64, "
                    f"{refined.context.nstr(exact, 6)} in mpmath (the values shown are "
                    "float64's)")  # fmt: skip
    return f"the function is {value} at this point: outside its domain"


def point_warnings(
    function: sp.Expr | None,
    point: Mapping[str, float],
    value: float | None = None,
    parts: Sequence[sp.Expr] | None = None,
) -> list[str]:
    """Why values at `point` may mislead: the function is not finite there, or the point
    is on a kink (relu at 0), where no derivative may exist and the adjoints shown take
    one side.

    `value` is the function's value at `point` and `parts` its intermediates'
    definitions, if known (then `point` gives each intermediate's value too): compiling
    and walking the written-out function may cost far more than its intermediates, and
    writing it out does too (n² nodes for a chain of n): with both given, `function` is
    not used and may be None."""
    names, column = list(point), list(point.values())
    warnings = []
    if value is None:
        value = _evaluate([function], names, column)[0]
    if not math.isfinite(value):
        warnings.append(_not_finite(function, names, column, value))
    everything = [function] if parts is None else parts
    kinks = tuple(dict.fromkeys(k for part in everything for k in kink_expressions(part)))
    if not kinks:
        return warnings
    points = np.asarray(column, dtype=float).reshape(-1, 1)
    hit = on_kinks(Program(list(kinks), names), points)[:, 0]
    on = [format_expression(kink) for kink, at in zip(kinks, hit, strict=True) if at]
    limits = _one_sided(function, names, column) if on and function is not None else None
    if limits is not None:  # x*abs(x) at 0: a kink inside, yet differentiable
        said = ", ".join(f"∂/∂{name} = {float(value) + 0.0:.6g}"
                         for name, value in zip(names, limits, strict=True))  # fmt: skip
        return [*warnings, f"{on[0]} is 0 at this point, yet the function is differentiable "
                f"here: both sides give {said} (the adjoints shown are the formulas' values at "
                "the point)"]  # fmt: skip
    warnings += [f"{kink} is 0 at this point: the function may not be differentiable here "
                 "(the adjoints shown are the formulas' values at the point, which need not be "
                 "either side's)" for kink in on]  # fmt: skip
    return warnings


def _one_sided(function: sp.Expr, names: list[str], column: list[float]) -> tuple | None:
    """Each partial at a point on a kink as the common limit of both sides, or None
    where one has no such limit (abs at 0)."""
    variables = tuple(names)
    problem = Problem.derive(function, variables, variables)
    return partial_limits(problem.limit_program, column, list(range(len(names))))


def relay_at(derivations: Mapping[str, Derivation], point: Mapping[str, float]) -> Relay:
    """Forward values and adjoints at `point` (every variable of the function).

    Args:
        derivations: variable -> `Derivation`, as `chain.explain_*` give them.
        point: variable -> value.

    Returns:
        The `Relay`.
    """
    first = next(iter(derivations.values()))
    output = first.output
    known, adjoints = named_sweep([*first.names, (output, first.function)], point)
    nodes = [NodeValue(output, first.function, known[output], 1.0)]
    for name, definition in reversed(first.names):
        nodes.append(NodeValue(name, definition, known[name], adjoints.get(name)))
    for variable, value in point.items():
        symbol = sp.Symbol(variable)
        nodes.append(NodeValue(symbol, None, value, adjoints.get(symbol)))
    factors = {(f.of, f.by): f.expr for d in derivations.values() for f in d.factors}
    names = [node.name.name for node in nodes]
    column = [node.value for node in nodes]
    factor_values = _evaluate(list(factors.values()), names, column)
    return Relay(tuple(point.items()), tuple(nodes), dict(zip(factors, factor_values, strict=True)))
