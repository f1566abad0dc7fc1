"""Entries of the derivative table that are quotients of its core functions: sec, csc and
cot (1/cos, 1/sin, cos/sin), their hyperbolic kin and the inverses, and logarithms to a
base. `rules.RULES` takes them in under their banner; this module only declares them.

Their singular points (sec at π/2, coth and csch at 0) are poles, as tan's are: the
function is undefined there, so no kink is declared, and `test_domain` keeps clear of
them. acot jumps from -π/2 to π/2 at 0 (SymPy's and mpmath's acot(x) = atan(1/x)):
a kink.
"""

from __future__ import annotations

import sympy as sp

from .kernels import (
    mp,
    np_acot,
    np_acsc,
    np_asec,
    np_cot,
    np_coth,
    np_csc,
    np_csch,
    np_log_base,
    np_sec,
    np_sech,
    numpy_function,
)
from .rule import OUT, Rule, X

__all__ = ["LOGARITHMS", "RECIPROCALS", "np_acsc", "np_asec"]

X0, X1 = X[0], X[1]


RECIPROCALS = (
    # ---- reciprocal trigonometric: the textbook forms, over OUT ------------------------
    Rule("sec", sp.sec, 1, sp.sec(X0), (OUT * sp.tan(X0),), np_sec,
         mp("sec"), r"\sec", complex_step=True, test_domain=((-1.2, 1.2),)),
    Rule("csc", sp.csc, 1, sp.csc(X0), (-OUT * sp.cot(X0),), np_csc,
         mp("csc"), r"\csc", complex_step=True, test_domain=((0.3, 2.8),)),
    # -csc² x = -(1 + cot² x), as tan's sec² x = 1 + tan² x
    Rule("cot", sp.cot, 1, sp.cot(X0), (-(1 + OUT**2),), np_cot,
         mp("cot"), r"\cot", complex_step=True, test_domain=((0.3, 2.8),)),
    # ---- reciprocal hyperbolic ---------------------------------------------------------
    Rule("sech", sp.sech, 1, sp.sech(X0), (-OUT * sp.tanh(X0),), np_sech,
         mp("sech"), r"\operatorname{sech}", complex_step=True, exponential=True, wide_reach=True),
    Rule("csch", sp.csch, 1, sp.csch(X0), (-OUT * sp.coth(X0),), np_csch,
         mp("csch"), r"\operatorname{csch}", complex_step=True, test_domain=((0.2, 3.0),),
         exponential=True, wide_reach=True),
    # -csch² x = 1 - coth² x, as tanh's sech² x = 1 - tanh² x
    Rule("coth", sp.coth, 1, sp.coth(X0), (1 - OUT**2,), np_coth,
         mp("coth"), r"\coth", complex_step=True, test_domain=((0.2, 3.0),)),
    # ---- their inverses: defined for |x| >= 1 (asec, acsc), everywhere (acot) ----------
    # 1/(x² √(1 - 1/x²)) = 1/(|x| √(x² - 1)) for both signs of x, with no |x| in it
    Rule("asec", sp.asec, 1, sp.asec(X0), (1 / (X0**2 * sp.sqrt(1 - 1 / X0**2)),),
         np_asec, mp("asec"), r"\operatorname{arcsec}",
         complex_step=True, test_domain=((1.2, 4.0),)),
    Rule("acsc", sp.acsc, 1, sp.acsc(X0), (-1 / (X0**2 * sp.sqrt(1 - 1 / X0**2)),),
         np_acsc, mp("acsc"), r"\operatorname{arccsc}",
         complex_step=True, test_domain=((1.2, 4.0),)),
    Rule("acot", sp.acot, 1, sp.acot(X0), (-1 / (1 + X0**2),), np_acot,
         mp("acot"), r"\operatorname{arccot}", kinks=(X0,), complex_step=True,
         test_domain=((0.2, 3.0),)),
)  # fmt: skip

LOGARITHMS = (
    # log(x, b) is SymPy's spelling of log x / log b, and is written out as such:
    # derivatives in x and b follow from log's rule and the quotient
    Rule("log.base", lambda x, b: sp.log(x) / sp.log(b), 2, sp.log(X0) / sp.log(X1),
         (1 / (X0 * sp.log(X1)), -OUT / (X1 * sp.log(X1))),
         np_log_base, lambda ctx, x, b: ctx.log(x) / ctx.log(b),
         r"\log", complex_step=True, inline=True, overload_of="log",
         test_domain=((0.1, 5.0), (1.5, 4.0))),
    Rule("log2", lambda x: sp.log(x) / sp.log(2), 1, sp.log(X0) / sp.log(2),
         (1 / (X0 * sp.log(2)),), numpy_function("log2"), lambda ctx, x: ctx.log(x, 2), r"\log_{2}",
         complex_step=True, inline=True, test_domain=((0.1, 5.0),)),
    Rule("log10", lambda x: sp.log(x) / sp.log(10), 1, sp.log(X0) / sp.log(10),
         (1 / (X0 * sp.log(10)),), numpy_function("log10"), lambda ctx, x: ctx.log10(x),
         r"\log_{10}", complex_step=True, inline=True, test_domain=((0.1, 5.0),)),
)  # fmt: skip
