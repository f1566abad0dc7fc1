"""The rule table's numeric kernels: each function in NumPy (SciPy for the special
functions) and in mpmath.

NumPy kernels take float64 or complex128 arrays (complex only where the rule says
`complex_step`) and give NaN outside the function's domain; SciPy's are vectorised and
well tested, where mpmath would loop in Python per element. mpmath kernels take an
mpmath context first, so evaluation never touches mpmath's global precision. The table
names its NumPy kernels (`numpy_function`, `numpy_kernel`, `SpecialFunction`) and each
is imported at its first call: deriving and printing never evaluate one, and would
otherwise wait for NumPy (40 ms) and SciPy (a tenth of a second). Ours are written in
`numpy_kernels`.
"""

from __future__ import annotations

import importlib
import math
import threading
from collections.abc import Callable
from typing import Any

import mpmath

__all__ = [
    "ImportedFunction",
    "MP53",
    "SpecialFunction",
    "float_kernel",
    "mp",
    "mp_betainc",
    "mp_clip",
    "mp_gammainc",
    "mp_gammaincc",
    "mp_gelu",
    "mp_heaviside",
    "mp_lgamma",
    "mp_logsumexp",
    "mp_trunc",
    "mp_where",
    "mp_xlogy",
    "np_acot",
    "np_acsc",
    "np_asec",
    "np_clip",
    "np_cot",
    "np_coth",
    "np_csc",
    "np_csch",
    "np_digamma",
    "np_elu",
    "np_erf",
    "np_erfinv",
    "np_gelu",
    "np_heaviside",
    "np_leaky_relu",
    "np_log_base",
    "np_logsumexp",
    "np_max",
    "np_min",
    "np_polygamma",
    "np_relu",
    "np_sec",
    "np_sech",
    "np_sigmoid",
    "np_silu",
    "np_softplus",
    "np_softsign",
    "np_where",
    "numpy_function",
    "numpy_kernel",
]


class ImportedFunction:
    """The function `name` of the module `module`, imported at its first call."""

    __slots__ = ("_function", "module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name
        self._function: Callable[..., Any] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        function = self._function
        if function is None:
            # two threads may both get here: the import lock makes it one import, and
            # both store the same function
            module = importlib.import_module(self.module)
            function = self._function = getattr(module, self.name)
        return function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"{self.module}.{self.name}"


class SpecialFunction(ImportedFunction):
    """The function `name` of scipy.special, imported at its first call.

    SciPy's special functions take about 0.1 s to import (with the parts of NumPy they
    pull in): a table entry names one, and only evaluating the entry imports it.
    """

    __slots__ = ()

    def __init__(self, name: str) -> None:
        super().__init__("scipy.special", name)


def numpy_function(name: str) -> ImportedFunction:
    """NumPy's function `name` (np.exp), imported at its first call."""
    return ImportedFunction("numpy", name)


def numpy_kernel(name: str) -> ImportedFunction:
    """Our NumPy kernel `name`, from `numpy_kernels`, imported at its first call."""
    return ImportedFunction(f"{__package__}.numpy_kernels", name)


def mp(name: str) -> Callable[..., Any]:
    """The mpmath function `name`, called in the context given first."""
    return lambda ctx, *args: getattr(ctx, name)(*args)


_SCALAR_LOOPS = threading.Lock()


def float_kernel(scalar: Callable[..., float], nargs: int = 1) -> Callable[..., Any]:
    """Vectorise a scalar kernel that NumPy lacks (erf, gamma); NaN where undefined.
    NumPy is imported, and the loop built, at the first call."""

    def safe(*args: float) -> float:
        try:
            return float(scalar(*args))
        except OverflowError:
            return math.inf
        except (ValueError, ZeroDivisionError, TypeError):
            return math.nan

    loop: list[Any] = []  # NumPy's vectorised `safe`, once built

    def kernel(*arrays: Any) -> Any:
        import numpy as np

        # one thread at a time: mpmath functions may raise their context's precision for
        # a while, and a second thread in that context would compute at the wrong one
        # (these Python loops hold the GIL anyway)
        with _SCALAR_LOOPS:
            if not loop:
                loop.append(np.frompyfunc(safe, nargs, 1))
            return np.asarray(loop[0](*arrays), dtype=float)

    return kernel


MP53 = mpmath.MPContext()  # mpmath at float64 precision, independent of mpmath.mp

# ---- NumPy kernels of our own: written in numpy_kernels ------------------------------
np_sigmoid = numpy_kernel("np_sigmoid")
np_softplus = numpy_kernel("np_softplus")
np_logsumexp = numpy_kernel("np_logsumexp")
np_elu = numpy_kernel("np_elu")
np_gelu = numpy_kernel("np_gelu")
np_max = numpy_kernel("np_max")
np_min = numpy_kernel("np_min")
np_heaviside = numpy_kernel("np_heaviside")
np_where = numpy_kernel("np_where")
np_clip = numpy_kernel("np_clip")
np_erf = numpy_kernel("np_erf")
np_erfinv = numpy_kernel("np_erfinv")
np_digamma = numpy_kernel("np_digamma")
np_polygamma = numpy_kernel("np_polygamma")
np_relu = numpy_kernel("np_relu")
np_leaky_relu = numpy_kernel("np_leaky_relu")
np_silu = numpy_kernel("np_silu")
np_softsign = numpy_kernel("np_softsign")
np_sec = numpy_kernel("np_sec")
np_csc = numpy_kernel("np_csc")
np_cot = numpy_kernel("np_cot")
np_sech = numpy_kernel("np_sech")
np_csch = numpy_kernel("np_csch")
np_coth = numpy_kernel("np_coth")
np_asec = numpy_kernel("np_asec")
np_acsc = numpy_kernel("np_acsc")
np_acot = numpy_kernel("np_acot")
np_log_base = numpy_kernel("np_log_base")


# ---- mpmath kernels ------------------------------------------------------------------


def mp_logsumexp(ctx: Any, *xs: Any) -> Any:
    shift = max(ctx.re(x) for x in xs)
    return shift + ctx.log(ctx.fsum(ctx.exp(x - shift) for x in xs))


def mp_gelu(ctx: Any, x: Any) -> Any:
    return x * (1 + ctx.erf(x / ctx.sqrt(2))) / 2


def mp_lgamma(ctx: Any, x: Any) -> Any:
    # log|Γ(x)|, as math.lgamma and torch.lgamma: real for negative non-integers too
    return ctx.log(ctx.fabs(ctx.gamma(x)))


def mp_heaviside(ctx: Any, x: Any, h0: Any = None) -> Any:
    if ctx.isnan(x):
        return x
    if x == 0:
        return ctx.mpf(0.5) if h0 is None else h0
    return ctx.one if x > 0 else ctx.zero


def mp_where(ctx: Any, d: Any, a: Any, b: Any) -> Any:
    if d > 0:
        return a
    return b if d <= 0 else ctx.nan


def mp_clip(ctx: Any, x: Any, low: Any, high: Any) -> Any:
    return min(max(x, low), high)


def mp_trunc(ctx: Any, x: Any) -> Any:
    return ctx.floor(x) if x >= 0 else ctx.ceil(x)


def mp_gammainc(ctx: Any, a: Any, x: Any) -> Any:
    if not (a > 0 and x >= 0):
        return ctx.nan  # SciPy's domain; mpmath would continue it off the real line
    return ctx.gammainc(a, 0, x, regularized=True)


def mp_gammaincc(ctx: Any, a: Any, x: Any) -> Any:
    if not (a > 0 and x >= 0):
        return ctx.nan
    return ctx.gammainc(a, x, ctx.inf, regularized=True)


def mp_betainc(ctx: Any, a: Any, b: Any, x: Any) -> Any:
    if not (a > 0 and b > 0 and 0 <= x <= 1):
        return ctx.nan
    return ctx.betainc(a, b, 0, x, regularized=True)


def mp_xlogy(ctx: Any, x: Any, y: Any) -> Any:
    return ctx.zero if x == 0 else x * ctx.log(y)  # 0 log 0 = 0, as entropy needs
