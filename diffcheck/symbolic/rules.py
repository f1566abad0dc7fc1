"""The derivative table: every supported function declared once, as data.

Output: `RULES` (case-file name -> `Rule`), `PRIMITIVES` (add, mul, pow) and `rule_for`.
A rule gives the definition over template symbols X0, X1, ...; the partials over the
template symbols and OUT (the function's own value); where a partial does not exist
(`kinks`); numeric kernels for NumPy and mpmath; and the LaTeX name. The parser, the
symbolic engine, the oracles and the printers all read this table and nothing else.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

import mpmath
import numpy as np
import sympy as sp
from sympy.core.function import ArgumentIndexError

from .trees import call, substitute

__all__ = [
    "OUT",
    "PRIMITIVES",
    "RULES",
    "XI",
    "Rule",
    "TableFunction",
    "X",
    "rule_for",
]

X = sp.symbols("X0:4")
X0, X1 = X[0], X[1]
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
    first, so evaluation never touches mpmath's global precision.
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


class TableFunction(sp.Function):
    """A SymPy function kept unexpanded; its derivative is read from `RULES`."""

    rule_name: ClassVar[str]

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        partial = None
        if 1 <= argindex <= len(self.args):
            partial = RULES[self.rule_name].partial(argindex - 1, self.args, self)
        if partial is None:
            raise ArgumentIndexError(self, argindex)
        return partial

    def _eval_evalf(self, prec: int) -> sp.Expr | None:
        if not all(arg.is_number for arg in self.args):
            return None
        context = mpmath.MPContext()
        context.prec = prec
        try:
            values = [
                context.mpmathify(complex(arg.evalf(prec)))
                if arg.evalf(prec).has(sp.I)
                else context.mpmathify(arg.evalf(prec))
                for arg in self.args
            ]
            value = RULES[self.rule_name].mpmath(context, *values)
        except (TypeError, ValueError, ZeroDivisionError):
            return None  # outside the function's real domain: stays unevaluated
        if isinstance(value, context.mpc):
            return sp.Float(value.real, precision=prec) + sp.I * sp.Float(
                value.imag, precision=prec
            )
        return sp.Float(value, precision=prec)


def _table_function(name: str, nargs: int | None) -> type[TableFunction]:
    attributes: dict[str, Any] = {"rule_name": name, "__module__": __name__}
    if nargs is not None:
        attributes["nargs"] = nargs
    cls = type(name, (TableFunction,), attributes)
    cls.__qualname__ = _CLASS_NAMES[name]  # pickling finds the class under this name
    return cls


_CLASS_NAMES = {
    "abs": "Abs", "sign": "Sign", "heaviside": "Heaviside", "min": "Min", "max": "Max",
    "log1p": "Log1p", "expm1": "Expm1", "sigmoid": "Sigmoid", "softplus": "Softplus",
    "relu": "Relu", "leaky_relu": "LeakyRelu", "elu": "Elu", "gelu": "Gelu", "silu": "Silu",
    "softsign": "Softsign", "logsumexp": "LogSumExp",
}  # fmt: skip

Abs = _table_function("abs", 1)
Sign = _table_function("sign", 1)
Heaviside = _table_function("heaviside", 1)
Min = _table_function("min", 2)
Max = _table_function("max", 2)
Log1p = _table_function("log1p", 1)
Expm1 = _table_function("expm1", 1)
Sigmoid = _table_function("sigmoid", 1)
Softplus = _table_function("softplus", 1)
Relu = _table_function("relu", 1)
LeakyRelu = _table_function("leaky_relu", 2)
Elu = _table_function("elu", 2)
Gelu = _table_function("gelu", 1)
Silu = _table_function("silu", 1)
Softsign = _table_function("softsign", 1)
LogSumExp = _table_function("logsumexp", None)


# ---- numeric kernels ----------------------------------------------------------------
# NumPy kernels take float64 or complex128 arrays (complex only where `complex_step`);
# mpmath kernels take a context first. Both return NaN-like values outside the domain.


def _mp(name: str) -> Callable[..., Any]:
    return lambda ctx, *args: getattr(ctx, name)(*args)


def _float_kernel(scalar: Callable[..., float], nargs: int = 1) -> Callable[..., np.ndarray]:
    """Vectorise a scalar kernel that NumPy lacks (erf, gamma); NaN where undefined."""

    def safe(*args: float) -> float:
        try:
            return float(scalar(*args))
        except OverflowError:
            return math.inf
        except (ValueError, ZeroDivisionError, TypeError):
            return math.nan

    ufunc = np.frompyfunc(safe, nargs, 1)
    return lambda *arrays: np.asarray(ufunc(*arrays), dtype=float)


def _np_sigmoid(x: np.ndarray) -> np.ndarray:
    if not np.iscomplexobj(x):
        # accurate as it stands in float64: exp(-x) overflowing gives 0, the true value
        # being below the smallest normal number there
        return 1 / (1 + np.exp(-x))
    # complex exp overflows into NaN parts: keep the exponent's real part <= 0
    negative = x.real < 0
    e = np.exp(np.where(negative, x, -x))
    return np.where(negative, e / (1 + e), 1 / (1 + e))


def _np_softplus(x: np.ndarray) -> np.ndarray:
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow, no cancellation
    positive = np.real(x) > 0
    return np.where(positive, x, 0) + np.log1p(np.exp(np.where(positive, -x, x)))


def _np_logsumexp(*xs: np.ndarray) -> np.ndarray:
    # shifting by the largest real part keeps every exp <= 1; the shift is exact
    shift = functools.reduce(np.maximum, [np.real(x) for x in xs])  # scalars broadcast
    shift = np.where(np.isfinite(shift), shift, 0)
    return shift + np.log(sum(np.exp(x - shift) for x in xs))


def _mp_logsumexp(ctx: Any, *xs: Any) -> Any:
    shift = max(ctx.re(x) for x in xs)
    return shift + ctx.log(ctx.fsum(ctx.exp(x - shift) for x in xs))


def _mp_heaviside(ctx: Any, x: Any) -> Any:
    return ctx.mpf(0.5) * (1 + ctx.sign(x))


def _np_elu(x: np.ndarray, a: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0)))


def _mp_gelu(ctx: Any, x: Any) -> Any:
    return x * (1 + ctx.erf(x / ctx.sqrt(2))) / 2


def _mp_lgamma(ctx: Any, x: Any) -> Any:
    # log|Γ(x)|, as math.lgamma and torch.lgamma: real for negative non-integers too
    return ctx.log(ctx.fabs(ctx.gamma(x)))


_MP53 = mpmath.MPContext()  # mpmath at float64 precision, independent of mpmath.mp
_erf = _float_kernel(math.erf)
_SQRT2 = math.sqrt(2.0)


def _np_gelu(x: np.ndarray) -> np.ndarray:
    return x * (1 + _erf(x / _SQRT2)) / 2


def _np_max(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.maximum(x, y)


def _np_min(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.minimum(x, y)


_PI = sp.pi

_ENTRIES = (
    # ---- elementary --------------------------------------------------------------------
    Rule("exp", sp.exp, 1, sp.exp(X0), (OUT,), np.exp, _mp("exp"), r"\exp",
         complex_step=True),  # e^x is its own derivative
    Rule("log", sp.log, 1, sp.log(X0), (1 / X0,), np.log, _mp("log"), r"\log",
         complex_step=True, test_domain=((0.1, 5.0),)),
    # a root is a power: Pow's rule differentiates it, this entry only names it
    Rule("sqrt", sp.sqrt, 1, sp.sqrt(X0), (1 / (2 * OUT),), np.sqrt, _mp("sqrt"), r"\sqrt",
         complex_step=True, inline=True, test_domain=((0.1, 5.0),)),
    Rule("abs", Abs, 1, sp.Abs(X0), (Sign(X0),), np.abs, _mp("fabs"), r"\left|{}\right|",
         kinks=(X0,), aliases=("Abs",)),  # |x|' = sign(x), undefined at 0
    Rule("sin", sp.sin, 1, sp.sin(X0), (sp.cos(X0),), np.sin, _mp("sin"), r"\sin",
         complex_step=True),
    Rule("cos", sp.cos, 1, sp.cos(X0), (-sp.sin(X0),), np.cos, _mp("cos"), r"\cos",
         complex_step=True),
    Rule("tan", sp.tan, 1, sp.tan(X0), (1 + OUT**2,), np.tan, _mp("tan"), r"\tan",
         complex_step=True, test_domain=((-1.2, 1.2),)),  # sec² x = 1 + tan² x
    Rule("asin", sp.asin, 1, sp.asin(X0), (1 / sp.sqrt(1 - X0**2),), np.arcsin, _mp("asin"),
         r"\arcsin", complex_step=True, test_domain=((-0.9, 0.9),)),
    Rule("acos", sp.acos, 1, sp.acos(X0), (-1 / sp.sqrt(1 - X0**2),), np.arccos, _mp("acos"),
         r"\arccos", complex_step=True, test_domain=((-0.9, 0.9),)),
    Rule("atan", sp.atan, 1, sp.atan(X0), (1 / (1 + X0**2),), np.arctan, _mp("atan"),
         r"\arctan", complex_step=True),
    # atan2(y, x) jumps by 2π across the negative x-axis: y = 0 is flagged as a kink
    Rule("atan2", sp.atan2, 2, sp.atan2(X0, X1),
         (X1 / (X0**2 + X1**2), -X0 / (X0**2 + X1**2)), np.arctan2, _mp("atan2"),
         r"\operatorname{atan_2}", kinks=(X0,), test_domain=((-2.0, 2.0), (0.5, 2.0))),
    # ---- hyperbolic --------------------------------------------------------------------
    Rule("sinh", sp.sinh, 1, sp.sinh(X0), (sp.cosh(X0),), np.sinh, _mp("sinh"), r"\sinh",
         complex_step=True),
    Rule("cosh", sp.cosh, 1, sp.cosh(X0), (sp.sinh(X0),), np.cosh, _mp("cosh"), r"\cosh",
         complex_step=True),
    Rule("tanh", sp.tanh, 1, sp.tanh(X0), (1 - OUT**2,), np.tanh, _mp("tanh"), r"\tanh",
         complex_step=True),  # sech² x = 1 - tanh² x, the form people write
    Rule("asinh", sp.asinh, 1, sp.asinh(X0), (1 / sp.sqrt(X0**2 + 1),), np.arcsinh,
         _mp("asinh"), r"\operatorname{arsinh}", complex_step=True),
    Rule("acosh", sp.acosh, 1, sp.acosh(X0), (1 / sp.sqrt(X0**2 - 1),), np.arccosh,
         _mp("acosh"), r"\operatorname{arcosh}", complex_step=True,
         test_domain=((1.2, 4.0),)),
    Rule("atanh", sp.atanh, 1, sp.atanh(X0), (1 / (1 - X0**2),), np.arctanh, _mp("atanh"),
         r"\operatorname{artanh}", complex_step=True, test_domain=((-0.9, 0.9),)),
    # ---- special functions: NumPy has none of these, so the float kernels loop ---------
    Rule("erf", sp.erf, 1, sp.erf(X0), (2 * sp.exp(-(X0**2)) / sp.sqrt(_PI),), _erf,
         _mp("erf"), r"\operatorname{erf}"),
    Rule("erfc", sp.erfc, 1, sp.erfc(X0), (-2 * sp.exp(-(X0**2)) / sp.sqrt(_PI),),
         _float_kernel(math.erfc), _mp("erfc"), r"\operatorname{erfc}"),
    # (erf⁻¹)'(x) = 1 / erf'(erf⁻¹ x) = √π/2 · e^{OUT²}
    Rule("erfinv", sp.erfinv, 1, sp.erfinv(X0), (sp.sqrt(_PI) * sp.exp(OUT**2) / 2,),
         _float_kernel(_MP53.erfinv), _mp("erfinv"), r"\operatorname{erf}^{-1}",
         test_domain=((-0.9, 0.9),)),
    Rule("gamma", sp.gamma, 1, sp.gamma(X0), (OUT * sp.polygamma(0, X0),),
         _float_kernel(math.gamma), _mp("gamma"), r"\Gamma", test_domain=((0.5, 4.0),)),
    Rule("lgamma", sp.loggamma, 1, sp.loggamma(X0), (sp.polygamma(0, X0),),
         _float_kernel(math.lgamma), _mp_lgamma, r"\log\Gamma", aliases=("loggamma",),
         test_domain=((0.5, 4.0),)),
    # SymPy writes digamma as polygamma(0, x): the entry only names it
    Rule("digamma", sp.digamma, 1, sp.polygamma(0, X0), (sp.polygamma(1, X0),),
         _float_kernel(_MP53.digamma), _mp("digamma"), r"\psi", inline=True,
         test_domain=((0.5, 4.0),)),
    Rule("polygamma", sp.polygamma, 2, sp.polygamma(X0, X1), (None, sp.polygamma(X0 + 1, X1)),
         _float_kernel(lambda n, x: _MP53.polygamma(int(n), x), 2),
         lambda ctx, n, x: ctx.polygamma(int(n), x), r"\psi", integer_args=(0,),
         test_domain=((1.0, 1.0), (0.5, 4.0))),
    # log1p and expm1 stay unexpanded: their point is accuracy near 0
    Rule("log1p", Log1p, 1, sp.log(1 + X0), (1 / (1 + X0),), np.log1p, _mp("log1p"),
         r"\operatorname{log1p}", complex_step=True, test_domain=((-0.5, 2.0),)),
    Rule("expm1", Expm1, 1, sp.exp(X0) - 1, (OUT + 1,), np.expm1, _mp("expm1"),
         r"\operatorname{expm1}", complex_step=True),
    # ---- piecewise: derivatives exist except at the kinks ------------------------------
    Rule("sign", Sign, 1, sp.sign(X0), (sp.Integer(0),), np.sign, _mp("sign"),
         r"\operatorname{sign}", kinks=(X0,)),
    Rule("heaviside", Heaviside, 1, sp.Heaviside(X0), (sp.Integer(0),),
         lambda x: np.heaviside(x, 0.5), _mp_heaviside, r"\theta", kinks=(X0,),
         aliases=("Heaviside",)),
    Rule("max", Max, 2, sp.Max(X0, X1), (Heaviside(X0 - X1), Heaviside(X1 - X0)), _np_max,
         lambda ctx, x, y: max(x, y), r"\max", kinks=(X0 - X1,), aliases=("Max",),
         fold=True, test_domain=((-2.0, 2.0), (-2.0, 2.0))),
    Rule("min", Min, 2, sp.Min(X0, X1), (Heaviside(X1 - X0), Heaviside(X0 - X1)), _np_min,
         lambda ctx, x, y: min(x, y), r"\min", kinks=(X0 - X1,), aliases=("Min",),
         fold=True, test_domain=((-2.0, 2.0), (-2.0, 2.0))),
    # ---- activations -------------------------------------------------------------------
    # σ' = σ(1 - σ): the "+1 - 1" rewrite of e^-x / (1 + e^-x)²
    Rule("sigmoid", Sigmoid, 1, 1 / (1 + sp.exp(-X0)), (OUT * (1 - OUT),), _np_sigmoid,
         lambda ctx, x: 1 / (1 + ctx.exp(-x)), r"\sigma", complex_step=True,
         test_domain=((-6.0, 6.0),)),
    Rule("softplus", Softplus, 1, sp.log(1 + sp.exp(X0)), (Sigmoid(X0),), _np_softplus,
         lambda ctx, x: ctx.log1p(ctx.exp(x)), r"\operatorname{softplus}",
         complex_step=True),  # softplus' = σ
    Rule("relu", Relu, 1, sp.Max(0, X0), (Heaviside(X0),), lambda x: np.maximum(x, 0),
         lambda ctx, x: max(x, 0), r"\operatorname{ReLU}", kinks=(X0,)),
    Rule("leaky_relu", LeakyRelu, 2, sp.Piecewise((X0, X0 > 0), (X1 * X0, True)),
         (Heaviside(X0) + X1 * Heaviside(-X0), Min(X0, 0)),
         lambda x, a: np.where(x > 0, x, a * x), lambda ctx, x, a: x if x > 0 else a * x,
         r"\operatorname{LeakyReLU}", kinks=(X0,), test_domain=((-2.0, 2.0), (0.01, 0.3))),
    # for x < 0: (a(e^x - 1))' = a e^x = OUT + a, and ∂/∂a = e^x - 1 = min(expm1 x, 0)
    Rule("elu", Elu, 2, sp.Piecewise((X0, X0 > 0), (X1 * (sp.exp(X0) - 1), True)),
         (Heaviside(X0) + Heaviside(-X0) * (OUT + X1), Min(Expm1(X0), 0)), _np_elu,
         lambda ctx, x, a: x if x > 0 else a * ctx.expm1(x), r"\operatorname{ELU}",
         kinks=(X0,), test_domain=((-2.0, 2.0), (0.5, 2.0))),
    # the exact GELU, x Φ(x); its derivative is Φ(x) + x φ(x)
    Rule("gelu", Gelu, 1, X0 * (1 + sp.erf(X0 / sp.sqrt(2))) / 2,
         ((1 + sp.erf(X0 / sp.sqrt(2))) / 2 + X0 * sp.exp(-(X0**2) / 2) / sp.sqrt(2 * _PI),),
         _np_gelu, _mp_gelu, r"\operatorname{GELU}"),
    # silu = x σ(x), so silu' = σ + x σ (1 - σ) = σ + OUT (1 - σ)
    Rule("silu", Silu, 1, X0 / (1 + sp.exp(-X0)), (Sigmoid(X0) + OUT * (1 - Sigmoid(X0)),),
         lambda x: x * _np_sigmoid(x), lambda ctx, x: x / (1 + ctx.exp(-x)),
         r"\operatorname{SiLU}", complex_step=True),
    # softsign is C¹ at 0 (both one-sided derivatives are 1): no kink
    Rule("softsign", Softsign, 1, X0 / (1 + sp.Abs(X0)), (1 / (1 + Abs(X0)) ** 2,),
         lambda x: x / (1 + np.abs(x)), lambda ctx, x: x / (1 + ctx.fabs(x)),
         r"\operatorname{softsign}"),
    # ---- reductions --------------------------------------------------------------------
    # ∂ logsumexp / ∂xᵢ = e^{xᵢ - OUT}: the softmax weights
    Rule("logsumexp", LogSumExp, None, sp.log(sp.exp(X0) + sp.exp(X1)), (sp.exp(XI - OUT),),
         _np_logsumexp, _mp_logsumexp, r"\operatorname{logsumexp}", complex_step=True,
         test_domain=((-3.0, 3.0), (-3.0, 3.0), (-3.0, 3.0))),
)  # fmt: skip

RULES = MappingProxyType({rule.name: rule for rule in _ENTRIES})

# Sums, products and powers are the primitives that every other operation reduces to;
# a SymPy Add or Mul with n arguments is read as the fold of the binary rule.
PRIMITIVES = MappingProxyType({
    "add": Rule("add", sp.Add, 2, X0 + X1, (sp.Integer(1), sp.Integer(1)), np.add,
                lambda ctx, x, y: x + y, "+", complex_step=True,
                test_domain=((-2.0, 2.0), (-2.0, 2.0))),
    "mul": Rule("mul", sp.Mul, 2, X0 * X1, (X1, X0), np.multiply,
                lambda ctx, x, y: x * y, r"\cdot", complex_step=True,
                test_domain=((-2.0, 2.0), (-2.0, 2.0))),
    # ∂(x^y)/∂y = x^y log x is only needed when the exponent varies
    "pow": Rule("pow", sp.Pow, 2, X0**X1, (X1 * X0 ** (X1 - 1), OUT * sp.log(X0)), np.power,
                lambda ctx, x, y: ctx.power(x, y), "^", complex_step=True,
                test_domain=((0.5, 2.0), (-2.0, 2.0))),
})  # fmt: skip

_BY_FUNCTION: dict[Any, Rule] = {
    rule.function: rule for rule in (*_ENTRIES, *PRIMITIVES.values()) if not rule.inline
}


def rule_for(expr: sp.Basic) -> Rule | None:
    """The rule of an expression node (a function call, Add, Mul or Pow), if any."""
    return _BY_FUNCTION.get(expr.func)
