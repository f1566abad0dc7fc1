"""The derivative table: every supported function declared once, as data.

Output: `RULES` (rule name -> `Rule`), `PRIMITIVES` (add, mul, pow) and `rule_for`.
A rule gives the definition over template symbols X0, X1, ...; the partials over the
template symbols and OUT (the function's own value); where a partial does not exist
(`kinks`); numeric kernels for NumPy and mpmath (in `kernels`); and the LaTeX name. The
parser, the symbolic engine, the oracles and the printers all read this table and
nothing else.
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any, ClassVar

import sympy as sp
from sympy.core.function import ArgumentIndexError

from .kernels import (
    SpecialFunction,
    float_kernel,
    mp,
    mp_betainc,
    mp_clip,
    mp_gammainc,
    mp_gammaincc,
    mp_gelu,
    mp_heaviside,
    mp_lgamma,
    mp_logsumexp,
    mp_trunc,
    mp_where,
    mp_xlogy,
    np_clip,
    np_digamma,
    np_elu,
    np_erf,
    np_erfinv,
    np_gelu,
    np_heaviside,
    np_leaky_relu,
    np_logsumexp,
    np_max,
    np_min,
    np_polygamma,
    np_relu,
    np_sigmoid,
    np_silu,
    np_softplus,
    np_softsign,
    np_where,
    numpy_function,
)
from .reciprocals import LOGARITHMS, RECIPROCALS
from .rule import OUT, PRIMITIVES, XI, Rule, X

__all__ = [
    "OUT",
    "PRIMITIVES",
    "RULES",
    "XI",
    "Rule",
    "TableFunction",
    "X",
    "rule_for",
    "where_condition",
]

X0, X1, X2 = X[0], X[1], X[2]


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
        return RULES[self.rule_name].evaluate(self.args, prec)


def _table_function(name: str, nargs: int | None, spelling: str | None = None,
                    **methods: Any) -> type[TableFunction]:  # fmt: skip
    attributes: dict[str, Any] = {"rule_name": name, "__module__": __name__, **methods}
    if nargs is not None:
        attributes["nargs"] = nargs
    cls = type(spelling or name, (TableFunction,), attributes)  # printed by this name
    cls.__qualname__ = _CLASS_NAMES[name]  # pickling finds the class under this name
    return cls


_CLASS_NAMES = {
    "abs": "Abs", "sign": "Sign", "heaviside": "Heaviside", "min": "Min", "max": "Max",
    "log1p": "Log1p", "expm1": "Expm1", "sigmoid": "Sigmoid", "softplus": "Softplus",
    "relu": "Relu", "leaky_relu": "LeakyRelu", "elu": "Elu", "gelu": "Gelu", "silu": "Silu",
    "softsign": "Softsign", "logsumexp": "LogSumExp", "heaviside.h0": "HeavisideH0",
    "floor": "Floor", "ceil": "Ceil", "round": "Round", "trunc": "Trunc", "mod": "Mod",
    "clip": "Clip", "gammainc": "GammaInc", "gammaincc": "GammaIncC", "betainc": "BetaInc",
    "logaddexp": "LogAddExp", "xlogy": "XLogY", "sinc": "Sinc", "where": "Where",
}  # fmt: skip

Abs = _table_function("abs", 1)
Sign = _table_function("sign", 1)
Heaviside = _table_function("heaviside", 1)
HeavisideH0 = _table_function("heaviside.h0", 2, "heaviside")
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
Floor = _table_function("floor", 1)
Ceil = _table_function("ceil", 1)
Round = _table_function("round", 1)
Trunc = _table_function("trunc", 1)
Mod = _table_function("mod", 2)
Clip = _table_function("clip", 3)
GammaInc = _table_function("gammainc", 2)
GammaIncC = _table_function("gammaincc", 2)
BetaInc = _table_function("betainc", 3)
LogAddExp = _table_function("logaddexp", 2)
XLogY = _table_function("xlogy", 2)
Sinc = _table_function("sinc", 1)


def where_condition(d: sp.Expr) -> tuple[sp.Expr, str, sp.Expr]:
    """The comparison that where's first argument `d` stands for, as (left, operator,
    right): where(d, a, b) is a where d > 0, and the parser reads x != y as |x - y| > 0.
    Parsing the comparison gives `d` back.

    >>> x, y = sp.symbols("x y")
    >>> where_condition(y - x), where_condition(Abs(x - y)), where_condition(-x)
    ((y, '>', x), (x, '!=', y), (x, '<', 0))
    """
    operator = ">"
    if isinstance(d, Abs):
        d, operator = d.args[0], "!="
    terms = sp.Add.make_args(d)
    below = [-term for term in terms if term.could_extract_minus_sign()]
    above = [term for term in terms if not term.could_extract_minus_sign()]
    if not above and operator == ">":
        return sp.Add(*below), "<", sp.Integer(0)
    return sp.Add(*above), operator, sp.Add(*below)


def _where_text(self: TableFunction, printer: Any) -> str:
    """where(d, a, b) in case-file syntax: with the comparison that d stands for."""
    left, operator, right = where_condition(self.args[0])
    a, b = (printer._print(arg) for arg in self.args[1:])
    return f"where({printer._print(left)} {operator} {printer._print(right)}, {a}, {b})"


Where = _table_function("where", 3, _sympystr=_where_text)


_PI = sp.pi

_ENTRIES = (
    # ---- elementary --------------------------------------------------------------------
    Rule("exp", sp.exp, 1, sp.exp(X0), (OUT,), numpy_function("exp"), mp("exp"), r"\exp",
         complex_step=True, exponential=True, wide_reach=True),  # e^x is its own derivative
    Rule("log", sp.log, 1, sp.log(X0), (1 / X0,), numpy_function("log"), mp("log"), r"\log",
         complex_step=True, test_domain=((0.1, 5.0),), aliases=("ln",)),
    # a root is a power: Pow's rule differentiates it, this entry only names it
    Rule("sqrt", sp.sqrt, 1, sp.sqrt(X0), (1 / (2 * OUT),), numpy_function("sqrt"), mp("sqrt"),
         r"\sqrt", complex_step=True, inline=True, test_domain=((0.1, 5.0),)),
    Rule("abs", Abs, 1, sp.Abs(X0), (Sign(X0),), numpy_function("abs"), mp("fabs"),
         r"\left|{}\right|", kinks=(X0,), aliases=("Abs",),
         exact_zeros=True),  # |x|' = sign(x), undefined at 0
    Rule("sin", sp.sin, 1, sp.sin(X0), (sp.cos(X0),), numpy_function("sin"), mp("sin"), r"\sin",
         complex_step=True),
    Rule("cos", sp.cos, 1, sp.cos(X0), (-sp.sin(X0),), numpy_function("cos"), mp("cos"), r"\cos",
         complex_step=True),
    Rule("tan", sp.tan, 1, sp.tan(X0), (1 + OUT**2,), numpy_function("tan"), mp("tan"), r"\tan",
         complex_step=True, test_domain=((-1.2, 1.2),)),  # sec² x = 1 + tan² x
    Rule("asin", sp.asin, 1, sp.asin(X0), (1 / sp.sqrt(1 - X0**2),), numpy_function("arcsin"),
         mp("asin"), r"\arcsin", complex_step=True, test_domain=((-0.9, 0.9),),
         aliases=("arcsin",)),  # NumPy's spellings too
    Rule("acos", sp.acos, 1, sp.acos(X0), (-1 / sp.sqrt(1 - X0**2),), numpy_function("arccos"),
         mp("acos"), r"\arccos", complex_step=True, test_domain=((-0.9, 0.9),),
         aliases=("arccos",)),
    Rule("atan", sp.atan, 1, sp.atan(X0), (1 / (1 + X0**2),), numpy_function("arctan"), mp("atan"),
         r"\arctan", complex_step=True, aliases=("arctan",)),
    # atan2(y, x) jumps by 2π across the negative x-axis: y = 0 is flagged as a kink
    Rule("atan2", sp.atan2, 2, sp.atan2(X0, X1),
         (X1 / (X0**2 + X1**2), -X0 / (X0**2 + X1**2)), numpy_function("arctan2"), mp("atan2"),
         r"\operatorname{atan_2}", kinks=(X0,), test_domain=((-2.0, 2.0), (0.5, 2.0)),
         aliases=("arctan2",)),
    # ---- hyperbolic --------------------------------------------------------------------
    Rule("sinh", sp.sinh, 1, sp.sinh(X0), (sp.cosh(X0),), numpy_function("sinh"), mp("sinh"),
         r"\sinh", complex_step=True, exponential=True, wide_reach=True),
    Rule("cosh", sp.cosh, 1, sp.cosh(X0), (sp.sinh(X0),), numpy_function("cosh"), mp("cosh"),
         r"\cosh", complex_step=True, exponential=True, wide_reach=True),
    Rule("tanh", sp.tanh, 1, sp.tanh(X0), (1 - OUT**2,), numpy_function("tanh"), mp("tanh"),
         r"\tanh", complex_step=True),  # sech² x = 1 - tanh² x, the form people write
    Rule("asinh", sp.asinh, 1, sp.asinh(X0), (1 / sp.sqrt(X0**2 + 1),), numpy_function("arcsinh"),
         mp("asinh"), r"\operatorname{arsinh}", complex_step=True, aliases=("arcsinh",)),
    Rule("acosh", sp.acosh, 1, sp.acosh(X0), (1 / sp.sqrt(X0**2 - 1),), numpy_function("arccosh"),
         mp("acosh"), r"\operatorname{arcosh}", complex_step=True,
         test_domain=((1.2, 4.0),), aliases=("arccosh",)),
    Rule("atanh", sp.atanh, 1, sp.atanh(X0), (1 / (1 - X0**2),), numpy_function("arctanh"),
         mp("atanh"), r"\operatorname{artanh}", complex_step=True, test_domain=((-0.9, 0.9),),
         aliases=("arctanh",)),
    # ---- reciprocals (sec, csch, acot ...) and logarithms to a base: reciprocals.py --
    *RECIPROCALS, *LOGARITHMS,
    # ---- special functions: NumPy has none; SciPy or a loop (kernels.py) ---------------
    Rule("erf", sp.erf, 1, sp.erf(X0), (2 * sp.exp(-(X0**2)) / sp.sqrt(_PI),), np_erf,
         mp("erf"), r"\operatorname{erf}", elementary=False),
    Rule("erfc", sp.erfc, 1, sp.erfc(X0), (-2 * sp.exp(-(X0**2)) / sp.sqrt(_PI),),
         float_kernel(math.erfc), mp("erfc"), r"\operatorname{erfc}", elementary=False,
         exponential=True),
    # (erf⁻¹)'(x) = 1 / erf'(erf⁻¹ x) = √π/2 · e^{OUT²}
    Rule("erfinv", sp.erfinv, 1, sp.erfinv(X0), (sp.sqrt(_PI) * sp.exp(OUT**2) / 2,),
         np_erfinv, mp("erfinv"), r"\operatorname{erf}^{-1}", elementary=False,
         test_domain=((-0.9, 0.9),)),
    Rule("gamma", sp.gamma, 1, sp.gamma(X0), (OUT * sp.polygamma(0, X0),),
         float_kernel(math.gamma), mp("gamma"), r"\Gamma", elementary=False,
         test_domain=((0.5, 4.0),), exponential=True),
    Rule("lgamma", sp.loggamma, 1, sp.loggamma(X0), (sp.polygamma(0, X0),),
         float_kernel(math.lgamma), mp_lgamma, r"\log\Gamma", aliases=("loggamma",),
         elementary=False, test_domain=((0.5, 4.0),), exponential=True),
    # SymPy writes digamma as polygamma(0, x): the entry only names it
    Rule("digamma", sp.digamma, 1, sp.polygamma(0, X0), (sp.polygamma(1, X0),),
         np_digamma, mp("digamma"), r"\psi", inline=True, elementary=False,
         test_domain=((0.5, 4.0),)),
    Rule("polygamma", sp.polygamma, 2, sp.polygamma(X0, X1), (None, sp.polygamma(X0 + 1, X1)),
         np_polygamma,
         lambda ctx, n, x: ctx.polygamma(int(n), x), r"\psi", integer_args=(0,),
         elementary=False, test_domain=((1.0, 1.0), (0.5, 4.0)), exponential=True),
    # log1p and expm1 stay unexpanded: their point is accuracy near 0
    Rule("log1p", Log1p, 1, sp.log(1 + X0), (1 / (1 + X0),), numpy_function("log1p"), mp("log1p"),
         r"\operatorname{log1p}", complex_step=True, test_domain=((-0.5, 2.0),)),
    Rule("expm1", Expm1, 1, sp.exp(X0) - 1, (OUT + 1,), numpy_function("expm1"), mp("expm1"),
         r"\operatorname{expm1}", complex_step=True, exponential=True, wide_reach=True),
    # ---- special functions from SciPy: order n first, a whole number (J, I, K, Y) -----
    # derivatives in x by the recurrences J' = (J₋ - J₊)/2, Y' = (Y₋ - Y₊)/2,
    # I' = (I₋ + I₊)/2, K' = -(K₋ + K₊)/2, with ₋ ₊ the orders n - 1 and n + 1. No
    # complex step: SciPy's complex Bessel functions are accurate in modulus only, which
    # loses the step's 1e-20 imaginary part.
    Rule("besselj", sp.besselj, 2, sp.besselj(X0, X1),
         (None, (sp.besselj(X0 - 1, X1) - sp.besselj(X0 + 1, X1)) / 2), SpecialFunction("jv"),
         lambda ctx, n, x: ctx.besselj(int(n), x), "J", integer_args=(0,), integer_min=None,
         elementary=False, test_domain=((0.0, 3.0), (-4.0, 4.0))),
    Rule("besseli", sp.besseli, 2, sp.besseli(X0, X1),
         (None, (sp.besseli(X0 - 1, X1) + sp.besseli(X0 + 1, X1)) / 2), SpecialFunction("iv"),
         lambda ctx, n, x: ctx.besseli(int(n), x), "I", integer_args=(0,), integer_min=None,
         elementary=False, test_domain=((0.0, 3.0), (-3.0, 3.0))),
    Rule("besselk", sp.besselk, 2, sp.besselk(X0, X1),
         (None, -(sp.besselk(X0 - 1, X1) + sp.besselk(X0 + 1, X1)) / 2), SpecialFunction("kv"),
         lambda ctx, n, x: ctx.besselk(int(n), x), "K", integer_args=(0,), integer_min=None,
         elementary=False, test_domain=((0.0, 3.0), (0.2, 4.0))),
    Rule("bessely", sp.bessely, 2, sp.bessely(X0, X1),
         (None, (sp.bessely(X0 - 1, X1) - sp.bessely(X0 + 1, X1)) / 2), SpecialFunction("yv"),
         lambda ctx, n, x: ctx.bessely(int(n), x), "Y", integer_args=(0,), integer_min=None,
         elementary=False, test_domain=((0.0, 3.0), (0.2, 4.0))),
    # i0 and i1 are besseli of order 0 and 1: the entries only name them
    Rule("i0", lambda x: sp.besseli(0, x), 1, sp.besseli(0, X0), (sp.besseli(1, X0),),
         SpecialFunction("i0"), lambda ctx, x: ctx.besseli(0, x), r"I_{0}", inline=True,
         elementary=False),
    Rule("i1", lambda x: sp.besseli(1, x), 1, sp.besseli(1, X0),
         ((sp.besseli(0, X0) + sp.besseli(2, X0)) / 2,), SpecialFunction("i1"),
         lambda ctx, x: ctx.besseli(1, x), r"I_{1}", inline=True,
         elementary=False),
    # regularised incomplete gamma P(a, x) and Q = 1 - P, beta I_x(a, b): their
    # derivatives in a and b have no closed form in the table's functions
    Rule("gammainc", GammaInc, 2, sp.lowergamma(X0, X1) / sp.gamma(X0),
         (None, X1 ** (X0 - 1) * sp.exp(-X1) / sp.gamma(X0)), SpecialFunction("gammainc"),
         mp_gammainc, "P", elementary=False, test_domain=((0.5, 3.0), (0.1, 4.0))),
    Rule("gammaincc", GammaIncC, 2, sp.uppergamma(X0, X1) / sp.gamma(X0),
         (None, -(X1 ** (X0 - 1)) * sp.exp(-X1) / sp.gamma(X0)), SpecialFunction("gammaincc"),
         mp_gammaincc, "Q", elementary=False, test_domain=((0.5, 3.0), (0.1, 4.0))),
    Rule("betainc", BetaInc, 3, sp.betainc_regularized(X0, X1, 0, X2),
         (None, None, X2 ** (X0 - 1) * (1 - X2) ** (X1 - 1)
          * sp.gamma(X0 + X1) / (sp.gamma(X0) * sp.gamma(X1))), SpecialFunction("betainc"),
         mp_betainc, "I", elementary=False, test_domain=((0.5, 3.0), (0.5, 3.0), (0.05, 0.95))),
    # x log y, and 0 where x = 0 whatever y (0 log 0 = 0 in entropies)
    Rule("xlogy", XLogY, 2, X0 * sp.log(X1), (sp.log(X1), X0 / X1), SpecialFunction("xlogy"),
         mp_xlogy, r"\operatorname{xlogy}", complex_step=True, exact_zeros=True,
         test_domain=((-2.0, 2.0), (0.1, 3.0))),
    # NumPy's normalised sinc, sin(πx)/(πx) = 1 at 0, whose derivative
    # (cos(πx) - sinc x)/x has the removable singularity 0 at x = 0
    Rule("sinc", Sinc, 1, sp.sinc(_PI * X0), (Where(Abs(X0), (sp.cos(_PI * X0) - OUT) / X0, 0),),
         numpy_function("sinc"), mp("sincpi"), r"\operatorname{sinc}", complex_step=True,
         test_domain=((-3.0, 3.0),)),
    # ---- piecewise: derivatives exist except at the kinks ------------------------------
    Rule("sign", Sign, 1, sp.sign(X0), (sp.Integer(0),), numpy_function("sign"), mp("sign"),
         r"\operatorname{sign}", kinks=(X0,), exact_zeros=True),
    Rule("heaviside", Heaviside, 1, sp.Heaviside(X0), (sp.Integer(0),),
         np_heaviside, mp_heaviside, r"\theta", kinks=(X0,), aliases=("Heaviside",),
         exact_zeros=True),
    Rule("max", Max, 2, sp.Max(X0, X1), (Heaviside(X0 - X1), Heaviside(X1 - X0)), np_max,
         lambda ctx, x, y: max(x, y), r"\max", kinks=(X0 - X1,), aliases=("Max",),
         fold=True, exact_zeros=True, test_domain=((-2.0, 2.0), (-2.0, 2.0))),
    Rule("min", Min, 2, sp.Min(X0, X1), (Heaviside(X1 - X0), Heaviside(X0 - X1)), np_min,
         lambda ctx, x, y: min(x, y), r"\min", kinks=(X0 - X1,), aliases=("Min",),
         fold=True, exact_zeros=True, test_domain=((-2.0, 2.0), (-2.0, 2.0))),
    # the value h0 at 0 (NumPy's, and SymPy's Heaviside(x, H0)): ∂/∂h0 is 1 at x = 0 only
    Rule("heaviside.h0", HeavisideH0, 2,
         sp.Piecewise((1, X0 > 0), (X1, sp.Eq(X0, 0)), (0, True)),
         (sp.Integer(0), Where(Abs(X0), 0, 1)), np_heaviside, mp_heaviside, r"\theta",
         kinks=(X0,), overload_of="heaviside", exact_zeros=True,
         test_domain=((-2.0, 2.0), (0.0, 1.0))),
    # where(d, a, b) is a where d > 0, else b: the parser makes d of a comparison
    # (x < y: d = y - x) and swaps a and b for <=, >= and == (x == y: not |x - y| > 0)
    Rule("where", Where, 3, sp.Piecewise((X1, X0 > 0), (X2, True)),
         (sp.Integer(0), HeavisideH0(X0, 0), HeavisideH0(-X0, 1)), np_where, mp_where,
         r"\begin{cases}", kinks=(X0,), exact_zeros=True, branches=(1, 2),
         test_domain=((-2.0, 2.0), (-2.0, 2.0), (-2.0, 2.0))),
    # steps: derivative 0, jumps at the integers (round: half-integers, where NumPy and
    # PyTorch round to even). x - round(x) is exactly 0 on a jump and changes sign there.
    Rule("floor", Floor, 1, sp.floor(X0), (sp.Integer(0),), numpy_function("floor"), mp("floor"),
         r"\left\lfloor {} \right\rfloor", kinks=(X0 - Round(X0),), exact_zeros=True),
    Rule("ceil", Ceil, 1, sp.ceiling(X0), (sp.Integer(0),), numpy_function("ceil"), mp("ceil"),
         r"\left\lceil {} \right\rceil", kinks=(X0 - Round(X0),), aliases=("ceiling",),
         exact_zeros=True),
    Rule("round", Round, 1, sp.floor(X0 + sp.Rational(1, 2)), (sp.Integer(0),),
         numpy_function("rint"), mp("nint"), r"\operatorname{round}",
         kinks=(X0 - Floor(X0) - sp.Rational(1, 2),), exact_zeros=True),
    Rule("trunc", Trunc, 1, sp.sign(X0) * sp.floor(sp.Abs(X0)), (sp.Integer(0),),
         numpy_function("trunc"), mp_trunc, r"\operatorname{trunc}", kinks=(X0 - Round(X0),),
         exact_zeros=True),
    # a - b floor(a/b), floored as NumPy's and Python's %: jumps where a/b is a whole number
    Rule("mod", Mod, 2, sp.Mod(X0, X1), (sp.Integer(1), -Floor(X0 / X1)), numpy_function("mod"),
         mp("fmod"), r"\operatorname{mod}", kinks=(X0 / X1 - Round(X0 / X1),), exact_zeros=True,
         test_domain=((-4.0, 4.0), (0.3, 2.0))),
    # min(max(x, lo), hi), NumPy's order: 1 inside, and lo or hi where they clip x
    Rule("clip", Clip, 3, sp.Min(sp.Max(X0, X1), X2),
         (Heaviside(X0 - X1) * Heaviside(X2 - Max(X0, X1)),
          Heaviside(X1 - X0) * Heaviside(X2 - Max(X0, X1)), Heaviside(Max(X0, X1) - X2)),
         np_clip, mp_clip, r"\operatorname{clip}", kinks=(X0 - X1, Max(X0, X1) - X2),
         exact_zeros=True, test_domain=((-2.0, 2.0), (-1.5, -0.5), (0.5, 1.5))),
    # ---- activations -------------------------------------------------------------------
    # σ' = σ(1 - σ): the "+1 - 1" rewrite of e^-x / (1 + e^-x)²
    Rule("sigmoid", Sigmoid, 1, 1 / (1 + sp.exp(-X0)), (OUT * (1 - OUT),), np_sigmoid,
         lambda ctx, x: 1 / (1 + ctx.exp(-x)), r"\sigma", complex_step=True,
         test_domain=((-6.0, 6.0),), exponential=True, wide_reach=True,
         aliases=("logistic", "expit")),
    Rule("softplus", Softplus, 1, sp.log(1 + sp.exp(X0)), (Sigmoid(X0),), np_softplus,
         lambda ctx, x: ctx.log1p(ctx.exp(x)), r"\operatorname{softplus}",
         complex_step=True, exponential=True, wide_reach=True),  # softplus' = σ
    Rule("relu", Relu, 1, sp.Max(0, X0), (Heaviside(X0),), np_relu,
         lambda ctx, x: max(x, 0), r"\operatorname{ReLU}", kinks=(X0,), exact_zeros=True,
         aliases=("ReLU",)),  # as papers write it, and the LaTeX here prints it
    Rule("leaky_relu", LeakyRelu, 2, sp.Piecewise((X0, X0 > 0), (X1 * X0, True)),
         (Heaviside(X0) + X1 * Heaviside(-X0), Min(X0, 0)),
         np_leaky_relu, lambda ctx, x, a: x if x > 0 else a * x,
         r"\operatorname{LeakyReLU}", kinks=(X0,), exact_zeros=True,
         test_domain=((-2.0, 2.0), (0.01, 0.3)), aliases=("LeakyReLU",)),
    # for x < 0: (a(e^x - 1))' = a e^x = OUT + a, and ∂/∂a = e^x - 1 = min(expm1 x, 0)
    Rule("elu", Elu, 2, sp.Piecewise((X0, X0 > 0), (X1 * (sp.exp(X0) - 1), True)),
         (Heaviside(X0) + Heaviside(-X0) * (OUT + X1), Min(Expm1(X0), 0)), np_elu,
         lambda ctx, x, a: x if x > 0 else a * ctx.expm1(x), r"\operatorname{ELU}",
         kinks=(X0,), exact_zeros=True, test_domain=((-2.0, 2.0), (0.5, 2.0)), exponential=True,
         wide_reach=True, aliases=("ELU",)),
    # the exact GELU, x Φ(x); its derivative is Φ(x) + x φ(x)
    Rule("gelu", Gelu, 1, X0 * (1 + sp.erf(X0 / sp.sqrt(2))) / 2,
         ((1 + sp.erf(X0 / sp.sqrt(2))) / 2 + X0 * sp.exp(-(X0**2) / 2) / sp.sqrt(2 * _PI),),
         np_gelu, mp_gelu, r"\operatorname{GELU}", elementary=False,  # erf inside
         aliases=("GELU",)),
    # silu = x σ(x), so silu' = σ + x σ (1 - σ) = σ + OUT (1 - σ)
    Rule("silu", Silu, 1, X0 / (1 + sp.exp(-X0)), (Sigmoid(X0) + OUT * (1 - Sigmoid(X0)),),
         np_silu, lambda ctx, x: x / (1 + ctx.exp(-x)),
         r"\operatorname{SiLU}", complex_step=True, exponential=True, wide_reach=True,
         aliases=("SiLU", "swish")),
    # softsign is C¹ at 0 (both one-sided derivatives are 1): no kink
    Rule("softsign", Softsign, 1, X0 / (1 + sp.Abs(X0)), (1 / (1 + Abs(X0)) ** 2,),
         np_softsign, lambda ctx, x: x / (1 + ctx.fabs(x)),
         r"\operatorname{softsign}"),
    # ---- reductions --------------------------------------------------------------------
    # ∂ logsumexp / ∂xᵢ = e^{xᵢ - OUT}: the softmax weights
    Rule("logsumexp", LogSumExp, None, sp.log(sp.exp(X0) + sp.exp(X1)), (sp.exp(XI - OUT),),
         np_logsumexp, mp_logsumexp, r"\operatorname{logsumexp}", complex_step=True,
         test_domain=((-3.0, 3.0), (-3.0, 3.0), (-3.0, 3.0))),
    # logsumexp of two arguments, under NumPy's name: ∂/∂a = e^{a - OUT} = σ(a - b)
    Rule("logaddexp", LogAddExp, 2, sp.log(sp.exp(X0) + sp.exp(X1)),
         (sp.exp(X0 - OUT), sp.exp(X1 - OUT)), np_logsumexp, mp_logsumexp,
         r"\operatorname{logaddexp}", complex_step=True,
         test_domain=((-3.0, 3.0), (-3.0, 3.0))),
)  # fmt: skip
RULES = MappingProxyType({rule.name: rule for rule in _ENTRIES})

_BY_FUNCTION: dict[Any, Rule] = {
    rule.function: rule for rule in (*_ENTRIES, *PRIMITIVES.values()) if not rule.inline
}


def rule_for(expr: sp.Basic) -> Rule | None:
    """The rule of an expression node (a function call, Add, Mul or Pow), if any."""
    return _BY_FUNCTION.get(expr.func)
