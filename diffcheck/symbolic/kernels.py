"""The rule table's numeric kernels: each function in NumPy (SciPy for the special
functions) and in mpmath.

NumPy kernels take float64 or complex128 arrays (complex only where the rule says
`complex_step`) and give NaN outside the function's domain; SciPy's are vectorised and
well tested, where mpmath would loop in Python per element. mpmath kernels take an
mpmath context first, so evaluation never touches mpmath's global precision. SciPy is
imported when a kernel first needs it (`SpecialFunction`): deriving and printing never
evaluate one, and would otherwise wait a tenth of a second for it.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable
from typing import Any

import mpmath
import numpy as np

__all__ = [
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
    "np_clip",
    "np_digamma",
    "np_elu",
    "np_erf",
    "np_erfinv",
    "np_gelu",
    "np_heaviside",
    "np_logsumexp",
    "np_max",
    "np_min",
    "np_polygamma",
    "np_sigmoid",
    "np_softplus",
    "np_where",
    "MP53",
]


class SpecialFunction:
    """The function `name` of scipy.special, imported at its first call.

    SciPy's special functions take about 0.1 s to import (with the parts of NumPy they
    pull in): a table entry names one, and only evaluating the entry imports it.
    """

    __slots__ = ("_function", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._function: Callable[..., Any] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        function = self._function
        if function is None:
            # two threads may both get here: the import lock makes it one import, and
            # both store the same function
            from scipy import special

            function = self._function = getattr(special, self.name)
        return function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"scipy.special.{self.name}"


def mp(name: str) -> Callable[..., Any]:
    """The mpmath function `name`, called in the context given first."""
    return lambda ctx, *args: getattr(ctx, name)(*args)


_SCALAR_LOOPS = threading.Lock()


def float_kernel(scalar: Callable[..., float], nargs: int = 1) -> Callable[..., np.ndarray]:
    """Vectorise a scalar kernel that NumPy lacks (erf, gamma); NaN where undefined."""

    def safe(*args: float) -> float:
        try:
            return float(scalar(*args))
        except OverflowError:
            return math.inf
        except (ValueError, ZeroDivisionError, TypeError):
            return math.nan

    ufunc = np.frompyfunc(safe, nargs, 1)

    def kernel(*arrays: Any) -> np.ndarray:
        # one thread at a time: mpmath functions may raise their context's precision for
        # a while, and a second thread in that context would compute at the wrong one
        # (these Python loops hold the GIL anyway)
        with _SCALAR_LOOPS:
            return np.asarray(ufunc(*arrays), dtype=float)

    return kernel


MP53 = mpmath.MPContext()  # mpmath at float64 precision, independent of mpmath.mp
np_erf = float_kernel(math.erf)
_SQRT2 = math.sqrt(2.0)


# ---- activations and reductions ---------------------------------------------------------


def np_sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1/(1 + e^-x), into `out` if given (a real array of x's shape) and x is real."""
    if not np.iscomplexobj(x):
        # accurate as it stands in float64: exp(-x) overflowing gives 0, the true value
        # being below the smallest normal number there
        if np.ndim(x) == 0 or np.result_type(x).kind != "f":
            return 1 / (1 + np.exp(-x))
        # the same operations in one array, none allocated for the steps between
        result = np.negative(x, out=out)
        np.exp(result, out=result)
        result += 1
        return np.divide(1, result, out=result)
    # complex exp overflows into NaN parts: keep the exponent's real part <= 0
    negative = x.real < 0
    e = np.exp(np.where(negative, x, -x))
    return np.where(negative, e / (1 + e), 1 / (1 + e))


def np_softplus(x: np.ndarray) -> np.ndarray:
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow, no cancellation
    positive = np.real(x) > 0
    return np.where(positive, x, 0) + np.log1p(np.exp(np.where(positive, -x, x)))


def np_logsumexp(*xs: np.ndarray) -> np.ndarray:
    # shifting by the largest real part keeps every exp <= 1; the shift is exact, and
    # constant under a complex step (which moves imaginary parts only)
    shift = functools.reduce(np.maximum, [np.real(x) for x in xs])  # scalars broadcast
    shift = np.where(np.isfinite(shift), shift, 0)
    return shift + np.log(sum(np.exp(x - shift) for x in xs))


def mp_logsumexp(ctx: Any, *xs: Any) -> Any:
    shift = max(ctx.re(x) for x in xs)
    return shift + ctx.log(ctx.fsum(ctx.exp(x - shift) for x in xs))


def np_elu(x: np.ndarray, a: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0)))


def np_gelu(x: np.ndarray) -> np.ndarray:
    return x * (1 + np_erf(x / _SQRT2)) / 2


def mp_gelu(ctx: Any, x: Any) -> Any:
    return x * (1 + ctx.erf(x / ctx.sqrt(2))) / 2


def mp_lgamma(ctx: Any, x: Any) -> Any:
    # log|Γ(x)|, as math.lgamma and torch.lgamma: real for negative non-integers too
    return ctx.log(ctx.fabs(ctx.gamma(x)))


def np_max(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.maximum(x, y)


def np_min(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.minimum(x, y)


# ---- piecewise ---------------------------------------------------------------------------


def np_heaviside(x: np.ndarray, h0: Any = 0.5) -> np.ndarray:
    return np.heaviside(x, h0)


def mp_heaviside(ctx: Any, x: Any, h0: Any = None) -> Any:
    if ctx.isnan(x):
        return x
    if x == 0:
        return ctx.mpf(0.5) if h0 is None else h0
    return ctx.one if x > 0 else ctx.zero


def np_where(d: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # a where d > 0, b where d <= 0, NaN where the condition is undefined: a comparison
    # with an undefined side decides nothing
    d = np.real(d)
    return np.where(d > 0, a, np.where(d <= 0, b, np.nan))


def mp_where(ctx: Any, d: Any, a: Any, b: Any) -> Any:
    if d > 0:
        return a
    return b if d <= 0 else ctx.nan


def np_clip(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return np.minimum(np.maximum(x, low), high)  # np.clip's order: high wins if low > high


def mp_clip(ctx: Any, x: Any, low: Any, high: Any) -> Any:
    return min(max(x, low), high)


def mp_trunc(ctx: Any, x: Any) -> Any:
    return ctx.floor(x) if x >= 0 else ctx.ceil(x)


# ---- special functions -------------------------------------------------------------------
# SciPy where it is as accurate as mpmath at 53 bits (a few ulps; measured against 40
# digits) and a thousand times faster; the mpmath loop elsewhere, and wherever SciPy's
# value is not finite, so poles, overflow and domain edges give what they always gave.


def _scipy_first(fast: Callable[..., Any], slow: Callable[..., np.ndarray],
                 trusted: Callable[..., Any]) -> Callable[..., np.ndarray]:  # fmt: skip
    """`fast(*args)` where `trusted(*args)` holds and the result is finite, `slow` at
    the other elements."""

    def kernel(*args: Any) -> np.ndarray:
        arrays = np.broadcast_arrays(*(np.asarray(arg, dtype=float) for arg in args))
        with np.errstate(all="ignore"):
            result = np.array(fast(*arrays), dtype=float)
            redo = ~(np.isfinite(result) & trusted(*arrays))
            if redo.any():
                result[redo] = slow(*(array[redo] for array in arrays))
        return result

    return kernel


_SCIPY_POLYGAMMA = SpecialFunction("polygamma")


def _polygamma(n: np.ndarray, x: np.ndarray) -> np.ndarray:
    return _SCIPY_POLYGAMMA(np.trunc(n), x)  # the order is whole: the table's integer_args


np_erfinv = _scipy_first(SpecialFunction("erfinv"), float_kernel(MP53.erfinv), lambda x: True)
# for x <= 0 SciPy's digamma and polygamma lose up to 1e-13 near the poles
np_digamma = _scipy_first(SpecialFunction("psi"), float_kernel(MP53.digamma), lambda x: x > 0)
np_polygamma = _scipy_first(
    _polygamma,
    float_kernel(lambda n, x: MP53.polygamma(int(n), x), 2),
    lambda n, x: (x > 0) & (n >= 0),
)


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
