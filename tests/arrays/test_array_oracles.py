"""The independent oracles test themselves: closed forms, error bars, order of accuracy."""

from __future__ import annotations

import numpy as np
import pytest
from arrays_support import build

from diffcheck.arrays import (
    central_difference_entries,
    central_difference_jvp,
    complex_step_jvp,
    evaluate,
    gradient_expressions,
)
from diffcheck.arrays.oracles import _richardson


def test_complex_step_is_exact_for_exp() -> None:
    x = np.array([-1.0, 0.5, 2.0])
    v = np.array([1.0, -2.0, 0.25])
    jvp = complex_step_jvp(build("exp(x)", {"x": (3,)}), {"x": x}, {"x": v})
    np.testing.assert_allclose(jvp, np.exp(x) * v, rtol=1e-15)


def test_complex_step_through_linear_algebra() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    v = rng.standard_normal((3, 3))
    jvp = complex_step_jvp(build("inv(A)", {"A": (3, 3)}), {"A": a}, {"A": v})
    inverse = np.linalg.inv(a)
    np.testing.assert_allclose(jvp, -inverse @ v @ inverse, rtol=1e-12)


def test_central_difference_error_bar_bounds_the_error() -> None:
    x = np.array([0.3, -1.2, 2.5])
    v = np.array([1.0, 0.5, -1.0])
    value, error = central_difference_jvp(build("sin(x) * x", {"x": (3,)}), {"x": x}, {"x": v})
    exact = (np.cos(x) * x + np.sin(x)) * v
    assert np.all(np.abs(value - exact) <= error)
    assert np.all(error < 1e-8)


def test_richardson_is_fourth_order() -> None:
    # no rounding to speak of at these steps: the error falls as h⁴
    def phi(t: float) -> np.ndarray:
        return np.array(np.exp(1.0 + t))

    steps = np.array([0.2, 0.1, 0.05])
    errors = [abs(_richardson(phi, h)[0] - np.e) for h in steps]
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert slope == pytest.approx(4.0, abs=0.3)


def test_central_difference_entries_sample_and_requested() -> None:
    rng = np.random.default_rng(1)
    w = rng.uniform(-1, 1, (4, 3))
    node = build("sum(tanh(W) ** 2)", {"W": (4, 3)})
    estimate = central_difference_entries(node, {"W": w}, "W", rng, count=3, entries=[(3, 2)])
    assert estimate.entries[0] == (3, 2) and len(estimate.entries) in (3, 4)
    assert len(set(estimate.entries)) == len(estimate.entries)
    (gradient,) = gradient_expressions(node, ["W"]).values()
    reference = evaluate(gradient, {"W": w})
    for entry, value, error in zip(estimate.entries, estimate.values, estimate.errors, strict=True):
        assert abs(value - reference[entry]) <= error + 1e-12


def test_central_difference_entries_of_an_array_function_need_a_cotangent() -> None:
    rng = np.random.default_rng(2)
    node = build("x * x", {"x": (3,)})
    point = {"x": np.array([1.0, 2.0, 3.0])}
    with pytest.raises(ValueError, match="needs a cotangent"):
        central_difference_entries(node, point, "x", rng)
    u = np.array([1.0, -1.0, 2.0])
    estimate = central_difference_entries(node, point, "x", rng, count=3, cotangent=u)
    for entry, value in zip(estimate.entries, estimate.values, strict=True):
        assert value == pytest.approx(2 * point["x"][entry] * u[entry], rel=1e-9)
