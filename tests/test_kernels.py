"""The rule table's vectorised special-function kernels: SciPy where it is as accurate as
mpmath at 53 bits, the mpmath loop elsewhere (poles, negative arguments, overflow)."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from diffcheck.symbolic.kernels import (
    MP53,
    float_kernel,
    np_digamma,
    np_erfinv,
    np_polygamma,
)
from diffcheck.symbolic.reciprocals import np_acsc, np_asec
from diffcheck.symbolic.rules import RULES

EXACT = mpmath.MPContext()
EXACT.dps = 40
ULPS = 8 * np.finfo(np.float64).eps  # what the rounding model of the reference allows
POSITIVE = np.concatenate([np.geomspace(1e-6, 1e6, 40), np.linspace(0.05, 6, 40)])


def _relative(values: np.ndarray, exact: list) -> float:
    exact_values = np.array([float(v) for v in exact])
    return float(np.max(np.abs(values - exact_values) / np.abs(exact_values)))


def test_digamma_is_accurate_for_positive_arguments() -> None:
    x = POSITIVE[np.abs(POSITIVE - 1.4616321449683622) > 0.05]  # away from its root
    assert _relative(np_digamma(x), [EXACT.digamma(v) for v in x]) <= ULPS


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_polygamma_is_accurate_for_positive_arguments(order: int) -> None:
    values = np_polygamma(np.full(POSITIVE.shape, float(order)), POSITIVE)
    assert _relative(values, [EXACT.polygamma(order, v) for v in POSITIVE]) <= ULPS


def test_erfinv_is_accurate_up_to_the_ends() -> None:
    x = np.concatenate([np.linspace(-0.999, 0.999, 81), [1 - 1e-12, -1e-300]])
    x = x[x != 0]
    assert _relative(np_erfinv(x), [EXACT.erfinv(v) for v in x]) <= ULPS


def test_negative_arguments_keep_the_mpmath_loop() -> None:
    # SciPy loses up to 1e-13 relative there; the loop gives what it always gave
    x = np.random.default_rng(0).uniform(-20, 0, 200)
    assert np.array_equal(np_digamma(x), float_kernel(MP53.digamma)(x))
    loop = float_kernel(lambda n, v: MP53.polygamma(int(n), v), 2)
    assert np.array_equal(np_polygamma(np.full(x.shape, 2.0), x), loop(np.full(x.shape, 2.0), x))


def test_poles_and_domain_edges_are_unchanged() -> None:
    assert np.isnan(np_digamma(np.array([0.0, -1.0, -3.0]))).all()
    assert np.isnan(np_polygamma(np.array([1.0, 2.0]), np.array([0.0, -2.0]))).all()
    assert np_erfinv(np.array([1.0, -1.0])).tolist() == [np.inf, -np.inf]
    assert np.isnan(np_erfinv(np.array([1.5, -2.0, np.nan]))).all()
    assert np_digamma(np.float64(2.0)) == pytest.approx(0.42278433509846713, rel=1e-15)


def test_scipy_kernels_name_scipy_functions_and_give_their_values() -> None:
    from scipy import special

    from diffcheck.symbolic.kernels import SpecialFunction
    from diffcheck.symbolic.rules import RULES

    named = {rule.name: rule.numpy for rule in RULES.values()
             if isinstance(rule.numpy, SpecialFunction)}  # fmt: skip
    assert {name: kernel.name for name, kernel in named.items()} == {
        "besselj": "jv", "besseli": "iv", "besselk": "kv", "bessely": "yv", "i0": "i0",
        "i1": "i1", "gammainc": "gammainc", "gammaincc": "gammaincc", "betainc": "betainc",
        "xlogy": "xlogy"}  # fmt: skip
    rng = np.random.default_rng(1)
    for name, kernel in named.items():
        args = [rng.uniform(0.1, 0.9, 5) for _ in range(RULES[name].arity)]
        assert np.array_equal(kernel(*args), getattr(special, kernel.name)(*args)), name
    assert repr(named["besselj"]) == "scipy.special.jv"


@pytest.mark.parametrize(
    ("name", "x"),
    [
        ("sec", np.linspace(-1.57, 1.57, 201)),  # up to the poles at ±π/2
        ("csc", np.linspace(0.001, 3.14, 201)),
        ("cot", np.linspace(0.001, 3.14, 201)),
        ("sech", np.linspace(-700, 700, 201)),
        ("csch", np.geomspace(1e-6, 700, 201)),
        ("coth", np.geomspace(1e-6, 700, 201)),
        ("acot", np.concatenate([np.geomspace(1e-6, 1e6, 101), -np.geomspace(1e-6, 1e6, 101)])),
        # asec and acsc up to |x| = 1, where arccos(1/x) would lose 600 ulps at 1.0001
        (
            "asec",
            np.concatenate(
                [1 + np.geomspace(1e-12, 1e300, 201), -1 - np.geomspace(1e-12, 1e300, 201)]
            ),
        ),
        (
            "acsc",
            np.concatenate(
                [1 + np.geomspace(1e-12, 1e300, 201), -1 - np.geomspace(1e-12, 1e300, 201)]
            ),
        ),
    ],
)
def test_reciprocal_kernels_are_accurate(name: str, x: np.ndarray) -> None:
    rule = RULES[name]
    assert _relative(rule.numpy(x), [rule.mpmath(EXACT, EXACT.mpf(v)) for v in x]) <= ULPS


def test_inverse_reciprocal_kernels_at_their_domain_edges() -> None:
    edges = np.array([1.0, -1.0, 0.5, 0.0, -0.5, np.inf, -np.inf])
    assert np.allclose(np_asec(edges), [0, np.pi, np.nan, np.nan, np.nan, np.pi / 2, np.pi / 2],
                       rtol=1e-16, atol=0, equal_nan=True)  # fmt: skip
    assert np.allclose(np_acsc(edges), [np.pi / 2, -np.pi / 2, np.nan, np.nan, np.nan, 0, 0],
                       rtol=1e-16, atol=0, equal_nan=True)  # fmt: skip
    # the complex step keeps its imaginary part: asec' = 1/(x √(x² - 1)) at x = 2
    assert np_asec(np.array([2 + 1e-20j])).imag[0] / 1e-20 == pytest.approx(1 / (2 * np.sqrt(3)))
