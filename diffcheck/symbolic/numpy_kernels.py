"""The rule table's NumPy kernels that NumPy itself lacks: stable activations, piecewise
functions, SciPy's special functions with an mpmath fallback, and the closed forms of
the reciprocal functions and logarithms to a base.

Each takes float64 or complex128 arrays (complex only where its rule says
`complex_step`) and gives NaN outside the function's domain. The table names them
(`kernels.numpy_kernel`), and this module, with NumPy, is imported when one is first
called: deriving and printing never evaluate a kernel.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .kernels import MP53, SpecialFunction, float_kernel

__all__ = [
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
]

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


def np_elu(x: np.ndarray, a: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0)))


def np_gelu(x: np.ndarray) -> np.ndarray:
    return x * (1 + np_erf(x / _SQRT2)) / 2


def np_relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def np_leaky_relu(x: np.ndarray, a: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, a * x)


def np_silu(x: np.ndarray) -> np.ndarray:
    return x * np_sigmoid(x)


def np_softsign(x: np.ndarray) -> np.ndarray:
    return x / (1 + np.abs(x))


def np_max(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.maximum(x, y)


def np_min(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.minimum(x, y)


# ---- piecewise ---------------------------------------------------------------------------


def np_heaviside(x: np.ndarray, h0: Any = 0.5) -> np.ndarray:
    return np.heaviside(x, h0)


def np_where(d: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # a where d > 0, b where d <= 0, NaN where the condition is undefined: a comparison
    # with an undefined side decides nothing
    d = np.real(d)
    return np.where(d > 0, a, np.where(d <= 0, b, np.nan))


def np_clip(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return np.minimum(np.maximum(x, low), high)  # np.clip's order: high wins if low > high


# ---- reciprocals and logarithms to a base -------------------------------------------------


def np_sec(x: np.ndarray) -> np.ndarray:
    return 1 / np.cos(x)


def np_csc(x: np.ndarray) -> np.ndarray:
    return 1 / np.sin(x)


def np_cot(x: np.ndarray) -> np.ndarray:
    return 1 / np.tan(x)


def np_sech(x: np.ndarray) -> np.ndarray:
    return 1 / np.cosh(x)


def np_csch(x: np.ndarray) -> np.ndarray:
    return 1 / np.sinh(x)


def np_coth(x: np.ndarray) -> np.ndarray:
    return 1 / np.tanh(x)


def np_asec(x: np.ndarray) -> np.ndarray:
    """asec x = atan(√(x² - 1)), π less it for x < 0; NaN for |x| < 1. arccos(1/x) would
    pass on the rounding of 1/x magnified up to 1/(x² - 1) times near |x| = 1 (600 ulps
    at 1.0001); (x - 1)(x + 1) is exact there."""
    if np.iscomplexobj(x):
        return np.arccos(1 / x)  # the complex step: analytic, the imaginary part is all
    # NaN for |x| < 1, as the domain says; past x² = 1e308 √ is inf and atan2 gives π/2
    with np.errstate(all="ignore"):
        root = np.sqrt((x - 1) * (x + 1)) + 0.0  # -0 at x = -1 would give atan2 -π
        return np.arctan2(root, np.sign(x))


def np_acsc(x: np.ndarray) -> np.ndarray:
    """acsc x = ±atan(1/√(x² - 1)) near |x| = 1, as asec; asin(1/x) further out, where
    x² would overflow and 1/x's rounding is not magnified."""
    if np.iscomplexobj(x):
        return np.arcsin(1 / x)
    with np.errstate(all="ignore"):  # NaN for |x| < 1; each form's other values unused
        near = np.arctan2(np.sign(x), np.sqrt((x - 1) * (x + 1)))
        return np.where(np.abs(x) < 2, near, np.arcsin(1 / x))


def np_acot(x: np.ndarray) -> np.ndarray:
    return np.arctan(1 / x)


def np_log_base(x: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.log(x) / np.log(b)


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
