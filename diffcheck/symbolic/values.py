"""One value at a time through the rule table's mpmath kernels.

The parser asks whether a call of constants has a real value, and the program's mpmath
pass evaluates every node, with the same kernels as for variables: lgamma(-2.5) is
log|Γ(-2.5)|, real, though SymPy's loggamma of it is complex. Only atoms (numbers, π,
zeta(3) from polygamma(2, 1)) are left to SymPy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import mpmath
import sympy as sp

from ..limits import deep_recursion
from .rules import PRIMITIVES, Rule, rule_for

__all__ = ["apply_mp", "as_real", "constant_float", "float_atom", "mp_atom", "mp_value"]

_ADD, _MUL = PRIMITIVES["add"], PRIMITIVES["mul"]
_MP30 = mpmath.MPContext()  # private: the caller's mpmath.mp precision is left alone
_MP30.dps = 30


def as_real(ctx: Any, value: Any) -> Any:
    """An mpmath result as a real number, NaN if it left the real line (log of -1)."""
    if isinstance(value, ctx.mpc):
        return value.real if value.imag == 0 else ctx.nan
    return value


def apply_mp(rule: Rule, args: Sequence[Any], ctx: Any) -> Any:
    """The rule's mpmath kernel at `args` (a sum or product of any length in one go);
    NaN at a pole, outside the domain or off the real line, and where an argument is
    NaN, unless it is a branch the kernel may not take (where(x > 0, log(x), 0))."""
    if any(ctx.isnan(arg) for i, arg in enumerate(args) if i not in rule.branches):
        return ctx.nan
    try:
        if rule is _ADD:
            return ctx.fsum(args)
        if rule is _MUL:
            return ctx.fprod(args)
        return as_real(ctx, rule.mpmath(ctx, *args))
    except (ValueError, ZeroDivisionError, OverflowError, TypeError):
        return ctx.nan


def float_atom(node: sp.Basic) -> float:
    """A number in float64; NaN if it is not real (the I that log(-2) brings)."""
    try:
        with deep_recursion():
            value = complex(node.evalf(30))
    except (TypeError, ValueError):
        return math.nan  # SymPy could not give it a numeric value
    return value.real if value.imag == 0 else math.nan


def mp_atom(node: sp.Basic, ctx: Any) -> Any:
    """A number in the precision of `ctx`; NaN if it is not real."""
    try:
        with deep_recursion():
            real, imaginary = node.evalf(ctx.dps + 10).as_real_imag()
    except (TypeError, ValueError):
        return ctx.nan
    if not imaginary.is_zero:  # SymPy >= 1.13: Float(0) != 0, but it is zero
        return ctx.nan
    return ctx.mpf(str(sp.Float(real, ctx.dps + 10)))


def mp_value(constant: sp.Expr, ctx: Any) -> Any:
    """The value of an expression without variables, node by node as the program would
    compute it; NaN if some node has no real value."""
    rule = rule_for(constant)
    if rule is None or not constant.args:
        return mp_atom(constant, ctx)
    return apply_mp(rule, [mp_value(arg, ctx) for arg in constant.args], ctx)


def constant_float(constant: sp.Expr) -> float:
    """An expression without variables as a float, from 30 digits: ±inf where only
    float64 overflows (exp(1000)), NaN where it has no finite real value (log(-2),
    log(0))."""
    with deep_recursion():
        value = mp_value(constant, _MP30)
    return float(value) if _MP30.isfinite(value) else math.nan
