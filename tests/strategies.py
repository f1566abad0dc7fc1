"""Hypothesis strategies: random expressions built from the rule table, with a valid point.

Every call's arguments are shifted so that, at the drawn point, each argument lies inside
its rule's `test_domain`; the expression is then defined and smooth around that point
(unless a kink happens to lie there, which the oracles must notice themselves).
A new entry of RULES or PRIMITIVES is drawn with no change here.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import sympy as sp
from hypothesis import strategies as st

from diffcheck.symbolic.rules import PRIMITIVES, RULES, Rule

VARIABLES = ("x", "y")
ALL_RULES = (*RULES.values(), *PRIMITIVES.values())
SHIFT_DENOMINATOR = 1024  # shifts are exact binary fractions: the point stays exact
CTX = mpmath.MPContext()  # a private context: mpmath's global precision is shared
CTX.dps = 40


@dataclass(frozen=True)
class Sample:
    """An expression in VARIABLES and a point where every call is inside its domain."""

    expr: sp.Expr
    point: dict[str, float]

    def column(self) -> list[float]:
        return [self.point[name] for name in VARIABLES]


def interval(rule: Rule, index: int) -> tuple[float, float]:
    """The test domain of argument `index`; extra arguments share the last interval."""
    return rule.test_domain[min(index, len(rule.test_domain) - 1)]


def fixed(rule: Rule, index: int) -> bool:
    """Whether argument `index` of `rule` is never differentiated: a whole number
    (polygamma's order) or an argument with no partial (gammainc's a)."""
    if index in rule.integer_args:
        return True
    # variadic and fold rules (logsumexp, max of three) are differentiable everywhere
    return rule.arity is not None and index < len(rule.partials) and rule.partials[index] is None


def constant_argument(rule: Rule, index: int) -> sp.Expr:
    """A constant for a `fixed` argument: the least whole number of its interval, or its
    middle to a quarter."""
    low, high = interval(rule, index)
    if index in rule.integer_args:
        return sp.Integer(int(low))
    return sp.Rational(round((low + high) * 2), 4)


def argument_count(draw: st.DrawFn, rule: Rule) -> int:
    if rule.arity is None:
        return draw(st.integers(1, 3))
    if rule.fold:
        return draw(st.integers(rule.arity, 3))
    return rule.arity


def _leaf(draw: st.DrawFn, point: dict[str, float]) -> tuple[sp.Expr, mpmath.mpf]:
    if draw(st.booleans()):
        name = draw(st.sampled_from(VARIABLES))
        return sp.Symbol(name), CTX.mpf(point[name])
    value = draw(st.integers(1, 3))
    return sp.Integer(value), CTX.mpf(value)


def _value(rule: Rule, values: list[mpmath.mpf]) -> mpmath.mpf:
    if rule.fold and len(values) > rule.arity:
        result = values[0]
        for value in values[1:]:
            result = rule.mpmath(CTX, result, value)
        return result
    return rule.mpmath(CTX, *values)


def _tree(
    draw: st.DrawFn, depth: int, point: dict[str, float], rules: tuple[Rule, ...]
) -> tuple[sp.Expr, mpmath.mpf]:
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return _leaf(draw, point)
    rule = draw(st.sampled_from(rules))
    args, values = [], []
    for index in range(argument_count(draw, rule)):
        low, high = interval(rule, index)
        if index in rule.integer_args:
            whole = draw(st.integers(int(low), int(high)))
            args.append(sp.Integer(whole))
            values.append(CTX.mpf(whole))
            continue
        if fixed(rule, index):  # no derivative with respect to it: a constant
            inside = low + (high - low) * draw(st.integers(1, 63)) / 64
            constant = sp.Rational(round(inside * 64), 64)
            args.append(constant)
            values.append(CTX.mpf(constant.p) / constant.q)
            continue
        child, value = _tree(draw, depth - 1, point, rules)
        margin = 0.05 * (high - low)
        target = low + margin + (high - low - 2 * margin) * draw(st.integers(0, 64)) / 64
        shift = sp.Rational(round((target - float(value)) * SHIFT_DENOMINATOR), SHIFT_DENOMINATOR)
        args.append(child + shift)
        values.append(value + CTX.mpf(shift.p) / shift.q)
    return rule.build(args), _value(rule, values)


@st.composite
def samples(draw: st.DrawFn, max_depth: int = 3, rules: tuple[Rule, ...] = ALL_RULES) -> Sample:
    """An expression from `rules` and a point (each coordinate a multiple of 1/64)."""
    point = {name: draw(st.integers(-64, 64)) / 64 for name in VARIABLES}
    expr, _ = _tree(draw, max_depth, point, rules)
    return Sample(expr, point)


def smooth_rules() -> tuple[Rule, ...]:
    """The rules without kinks: differentiable everywhere inside their test domain."""
    return tuple(rule for rule in ALL_RULES if not rule.kinks)
