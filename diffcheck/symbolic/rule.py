"""One entry of the derivative table: the `Rule` record and its template symbols.

A rule's definition and partials are SymPy expressions over the template symbols X0, X1,
... (its arguments), XI (any one argument of a variadic rule) and OUT (its own value);
`Rule` instantiates them for a call. The table itself is `rules.RULES`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import mpmath
import sympy as sp

from .kernels import numpy_function
from .trees import call, substitute

__all__ = ["OUT", "PRIMITIVES", "XI", "Rule", "X"]

X = sp.symbols("X0:4")
XI = sp.Symbol("XI")  # the i-th argument of a variadic rule
OUT = sp.Symbol("OUT")  # the function's own value


@dataclass(frozen=True)
class Rule:
    """One function: definition, partials, kinks and numeric kernels.

    `partials[i]` is the derivative with respect to argument i, over X0.. and OUT, or
    None where no derivative exists (polygamma's order). A variadic rule (`arity` None)
    is associative; `definition` is its two-argument instance and `partials` holds one
    template over XI (the argument) and OUT. `kinks` are expressions whose zeros are
    points where the partials do not exist. `mpmath` kernels take an mpmath context
    first, so evaluation never touches mpmath's global precision. `elementary` is False
    for functions that mpmath evaluates slowly at thousands of digits (gamma, erfinv,
    Bessel: seconds at 3840 digits, where tanh takes milliseconds): refinement of a
    program that calls one stops at 960 digits. `exponential` is True for kernels that
    are e to (a multiple of) their argument, grow faster (gamma), or compute such a power
    inside (softplus = log1p(e^x)): mpmath gets their arguments only within the reach of
    its exponents. `wide_reach` marks the exponentials mpmath evaluates in milliseconds
    at every precision for arguments up to ±2^20 (exp, sigmoid, softplus; not gamma or
    erfc): theirs are bounded there, so that sigmoid(-5e4) and log1p(exp(-3e4)), which
    float64 holds but only after an overflow or underflow, are settled, not left out.
    """

    name: str
    function: Callable[..., sp.Expr]
    arity: int | None
    definition: sp.Expr
    partials: tuple[sp.Expr | None, ...]
    numpy: Callable[..., Any]
    mpmath: Callable[..., Any]
    latex: str
    kinks: tuple[sp.Expr, ...] = ()
    complex_step: bool = False
    aliases: tuple[str, ...] = ()
    inline: bool = False
    fold: bool = False
    integer_args: tuple[int, ...] = ()
    test_domain: tuple[tuple[float, float], ...] = ((-2.0, 2.0),)
    overload_of: str | None = None
    integer_min: int | None = 0
    exact_zeros: bool = False
    branches: tuple[int, ...] = ()
    elementary: bool = True
    exponential: bool = False
    wide_reach: bool = False

    def accepts(self, count: int) -> bool:
        if self.arity is None or self.fold:
            return count >= (self.arity or 1)
        return count == self.arity

    def build(self, args: Sequence[sp.Expr]) -> sp.Expr:
        """The SymPy expression for a call with `args` (already checked by `accepts`)."""
        if self.inline:
            return self.instantiate(self.definition, args)
        if self.fold:
            result = args[0]
            for arg in args[1:]:
                result = call(self.function, (result, arg))
            return result
        return call(self.function, args)

    def instantiate(
        self, template: sp.Expr, args: Sequence[sp.Expr], out: sp.Expr | None = None
    ) -> sp.Expr:
        mapping = dict(zip(X, args, strict=False))
        if out is not None:
            mapping[OUT] = out
        return substitute(template, mapping)

    def partial(self, index: int, args: Sequence[sp.Expr], out: sp.Expr) -> sp.Expr | None:
        """The local partial derivative with respect to argument `index` of a call."""
        if self.arity is None:
            return substitute(self.partials[0], {XI: args[index], OUT: out})
        template = self.partials[index]
        if template is None:
            return None
        return self.instantiate(template, args, out)

    def expand(self, args: Sequence[sp.Expr]) -> sp.Expr:
        """The definition applied to `args` (variadic rules fold their binary form).

        SymPy evaluates the result: its simplifications (exp(log(s)) = s flattens the
        fold of logsumexp) are what proofs and recognition want, and they run on a budget.
        """
        if self.arity is None:
            result = args[0]
            for arg in args[1:]:
                result = self.definition.xreplace(dict(zip(X, (result, arg), strict=False)))
            return result
        return self.definition.xreplace(dict(zip(X, args, strict=False)))

    def kink_expressions(self, args: Sequence[sp.Expr]) -> tuple[sp.Expr, ...]:
        return tuple(self.instantiate(kink, args) for kink in self.kinks)

    def evaluate(self, args: Sequence[sp.Expr], prec: int) -> sp.Expr | None:
        """The mpmath kernel's value at SymPy numbers, in `prec` bits, as a SymPy number
        (SymPy's evalf of a table function); None outside the real domain, or for an
        argument that is not a number."""
        if not all(arg.is_number for arg in args):
            return None
        context = mpmath.MPContext()
        context.prec = prec
        try:
            values = [
                context.mpmathify(complex(arg.evalf(prec)))
                if arg.evalf(prec).has(sp.I)
                else context.mpmathify(arg.evalf(prec))
                for arg in args
            ]
            value = self.mpmath(context, *values)
        except (TypeError, ValueError, ZeroDivisionError):
            return None  # outside the function's real domain: stays unevaluated
        if isinstance(value, context.mpc):
            return sp.Float(value.real, precision=prec) + sp.I * sp.Float(
                value.imag, precision=prec
            )
        return sp.Float(value, precision=prec)


# Sums, products and powers are the primitives that every other operation reduces to;
# a SymPy Add or Mul with n arguments is read as the fold of the binary rule.
PRIMITIVES = MappingProxyType({
    "add": Rule("add", sp.Add, 2, X[0] + X[1], (sp.Integer(1), sp.Integer(1)),
                numpy_function("add"), lambda ctx, x, y: x + y, "+", complex_step=True,
                test_domain=((-2.0, 2.0), (-2.0, 2.0))),
    "mul": Rule("mul", sp.Mul, 2, X[0] * X[1], (X[1], X[0]), numpy_function("multiply"),
                lambda ctx, x, y: x * y, r"\cdot", complex_step=True,
                test_domain=((-2.0, 2.0), (-2.0, 2.0))),
    # ∂(x^y)/∂y = x^y log x is only needed when the exponent varies
    "pow": Rule("pow", sp.Pow, 2, X[0] ** X[1], (X[1] * X[0] ** (X[1] - 1), OUT * sp.log(X[0])),
                numpy_function("power"), lambda ctx, x, y: ctx.power(x, y), "^", complex_step=True,
                test_domain=((0.5, 2.0), (-2.0, 2.0))),
})  # fmt: skip
