"""Oracles test themselves: the program against mpmath, refinement where float64 fails,
finite differences of the right order with honest error bars, kinks flagged."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given
from strategies import CTX, VARIABLES, Sample, samples

from diffcheck.oracles import Problem
from diffcheck.oracles.exact import Exact, ExactValues, refine_at
from diffcheck.oracles.finite import FiniteDifferences
from diffcheck.oracles.program import Program
from diffcheck.symbolic.parse import parse_expression

x, y = sp.symbols("x y")


def p(text: str) -> sp.Expr:
    return parse_expression(text)


def _column(*values: float) -> np.ndarray:
    return np.array([[value] for value in values], dtype=float)


def _mp_gradient(problem: Problem, point: list[float]) -> list[mpmath.mpf]:
    program = Program([problem.gradient[name] for name in problem.wrt], problem.variables)
    return program.evaluate_mp(point, CTX)


# ---- Program ----------------------------------------------------------------------------


@given(samples(max_depth=4))
def test_program_float64_agrees_with_mpmath(sample: Sample) -> None:
    program = Program([sample.expr], VARIABLES)
    (value,) = program.evaluate(_column(*sample.column()))
    (reference,) = program.evaluate_mp(sample.column(), CTX)
    assert CTX.isfinite(reference)
    assert abs(value[0] - float(reference)) <= 1e-12 * (1 + abs(float(reference)))


def test_program_evaluates_many_points_and_outputs() -> None:
    expr = p("sigmoid(x*y) + sigmoid(x*y)**2")
    program = Program([expr, p("x - y")], ["x", "y"])
    points = np.array([[0.5, -1.0, 2.0], [1.0, 0.25, -3.0]])
    value, difference = program.evaluate(points)
    s = 1 / (1 + np.exp(-points[0] * points[1]))
    assert np.allclose(value, s + s**2, rtol=1e-15, atol=0)
    assert np.array_equal(difference, points[0] - points[1])


def test_program_constant_output_is_broadcast() -> None:
    (value,) = Program([p("2*pi")], ["x"]).evaluate(np.zeros((1, 4)))
    assert value.shape == (4,)
    assert np.all(value == 2 * np.pi)


def test_program_complex128_for_the_complex_step() -> None:
    (value,) = Program([p("sigmoid(x)*exp(x)")], ["x"]).evaluate(
        np.array([[0.3 + 1e-20j]]), np.complex128
    )
    s = 1 / (1 + np.exp(-0.3))
    assert abs(value[0].imag / 1e-20 - (s * (1 - s) * np.exp(0.3) + s * np.exp(0.3))) < 1e-15


def test_program_outside_the_domain_is_nan_in_mpmath() -> None:
    program = Program([p("log(x)"), p("sqrt(x)"), p("1/x")], ["x"])
    log, root, inverse = program.evaluate_mp([-1.0], CTX)
    assert CTX.isnan(log) and CTX.isnan(root)
    assert inverse == -1


def test_program_rejects_unknown_variables() -> None:
    with pytest.raises(ValueError, match="variable z is not among x, y"):
        Program([p("x + z")], ["x", "y"])


def test_program_logsumexp_with_a_constant_argument() -> None:
    # logsumexp(0, x) is softplus(x); constants reach the kernel as scalars
    points = np.array([[-2.0, 0.0, 3.0]])
    (value,) = Program([p("logsumexp(0, x)")], ["x"]).evaluate(points)
    assert np.allclose(value, np.log1p(np.exp(points[0])), rtol=1e-15, atol=0)


def test_program_atan2_of_constants_is_real() -> None:
    # SymPy rewrites atan2 of constants of unknown sign as -I*log(...): still a real number
    expr = p("x*atan2(sigmoid(1) - 1/2, sigmoid(2) - 1/2)")
    program = Program([expr], ["x"])
    expected = mpmath.atan2(1 / (1 + mpmath.exp(-1)) - 0.5, 1 / (1 + mpmath.exp(-2)) - 0.5)
    (value,) = program.evaluate(_column(1.0))
    (refined,) = program.evaluate_mp([1.0], CTX)
    assert value[0] == pytest.approx(float(expected), rel=1e-15)
    assert float(refined) == pytest.approx(float(expected), rel=1e-15)


# ---- exact values and refinement ---------------------------------------------------------


def test_refine_at_recovers_cancellation() -> None:
    program = Program([p("1 - tanh(x)**2")], ["x"])
    (value,) = program.evaluate(_column(19.0))
    assert value[0] == 0.0  # float64: tanh(19) rounds to 1
    refined = refine_at(program, [19.0])
    assert refined.converged
    expected = 1 / mpmath.cosh(19) ** 2
    assert float(refined.values[0]) == pytest.approx(1.2557e-16, rel=1e-4)
    assert float(refined.values[0]) == pytest.approx(float(expected), rel=1e-14)
    assert refined.errors[0] <= 1e-20 * refined.values[0]


def test_refine_at_recovers_overflow() -> None:
    program = Program([p("exp(x)/(1 + exp(x))**2")], ["x"])
    (value,) = program.evaluate(_column(800.0))
    assert np.isnan(value[0])  # inf/inf in float64
    refined = refine_at(program, [800.0])
    assert refined.converged
    ctx = refined.context
    expected = ctx.exp(-800) / (1 + ctx.exp(-800)) ** 2
    assert abs(refined.values[0] - expected) <= ctx.mpf(10) ** -25 * expected


def test_refine_at_never_settles_a_cancellation_to_zero() -> None:
    # 1 - sigmoid(800) cancels to 0 at 30, 60, 120 and 240 digits; 480 find e^-800
    refined = refine_at(Program([p("1 - sigmoid(x)")], ["x"]), [800.0])
    assert refined.converged
    ctx = refined.context
    expected = ctx.exp(-800) / (1 + ctx.exp(-800))
    assert abs(refined.values[0] - expected) <= ctx.mpf(10) ** -25 * expected


def test_refine_at_keeps_undefined_values_undefined() -> None:
    refined = refine_at(Program([p("log(x)")], ["x"]), [-1.0])
    assert refined.converged
    assert refined.context.isnan(refined.values[0])


def test_exact_values_refines_on_demand_only() -> None:
    values = ExactValues([p("1 - tanh(x)**2")], ["x"], np.array([[0.5, 19.0]]))
    assert values.values[0][1] == 0.0
    assert not values.is_refined(1)
    assert float(values.refined(1).values[0]) == pytest.approx(1.2557e-16, rel=1e-4)
    assert values.is_refined(1) and not values.is_refined(0)


def test_exact_oracle_is_the_derived_gradient_in_float64() -> None:
    problem = Problem.derive(p("sigmoid(x)*y"), ("x", "y"), ("x", "y"))
    points = np.array([[0.0, 1.0], [2.0, 3.0]])
    estimate = Exact().gradient(problem, points)
    s = 1 / (1 + np.exp(-points[0]))
    assert np.allclose(estimate.values["x"], s * (1 - s) * points[1], rtol=1e-15, atol=0)
    assert np.allclose(estimate.values["y"], s, rtol=1e-15, atol=0)
    assert np.all(estimate.errors["x"] == 0)


# ---- finite differences -----------------------------------------------------------------

# a kink far away (relu at y = 1) makes the function non-analytic: differences, not the
# complex step, must give these derivatives
SCALES = (4000, 8000, 16000, 32000)  # k*h from 0.02 to 0.2: truncation, not rounding


def _slope(steps: list[float], errors: list[float]) -> np.ndarray:
    return np.diff(np.log(errors)) / np.diff(np.log(steps))


@pytest.mark.parametrize("text", ["sin(x)", "exp(x)"])
def test_central_difference_error_slope_is_two(text: str) -> None:
    # the plain scheme (f(x + h) - f(x - h)) / 2h has order 2: error ~ h^2
    program = Program([p(text)], ["x"])
    exact = float(_mp_gradient(Problem.derive(p(text), ("x",), ("x",)), [0.7])[0])
    steps = [1e-2 / 2**k for k in range(5)]
    errors = []
    for h in steps:
        (above,), (below,) = program.evaluate(_column(0.7 + h)), program.evaluate(_column(0.7 - h))
        errors.append(abs((above[0] - below[0]) / (2 * h) - exact))
    assert np.allclose(_slope(steps, errors), 2.0, atol=0.05)


@pytest.mark.parametrize("text", ["sin({k}*x) + relu(y)", "exp({k}*x) + relu(y)"])
def test_finite_differences_extrapolation_order(text: str) -> None:
    # the oracle's step is fixed; scaling the function by k scales the step to k*h
    oracle = FiniteDifferences()
    relative, bars = [], []
    for k in SCALES:
        problem = Problem.derive(p(text.format(k=k)), ("x",), ("x", "y"))
        point = [0.7 / k, 1.0]
        estimate = oracle.gradient(problem, _column(*point))
        exact = float(_mp_gradient(problem, point)[0])
        relative.append(abs(estimate.values["x"][0] - exact) / abs(exact))
        bars.append(estimate.errors["x"][0] / abs(exact))
    # Richardson extrapolation of the order-2 central difference: order 4 or better
    assert np.all(_slope(list(SCALES), relative) > 3.8)
    assert all(error <= bar for error, bar in zip(relative, bars, strict=True))


@given(samples(max_depth=3))
def test_finite_differences_error_bar_bounds_the_actual_error(sample: Sample) -> None:
    problem = Problem.derive(sample.expr, VARIABLES, VARIABLES)
    estimate = FiniteDifferences().gradient(problem, _column(*sample.column()))
    for name, exact in zip(VARIABLES, _mp_gradient(problem, sample.column()), strict=True):
        value, bar = estimate.values[name][0], estimate.errors[name][0]
        if np.isfinite(bar):
            assert abs(value - float(exact)) <= bar, (name, value, float(exact), bar)


@pytest.mark.parametrize("text", ["abs(exp(x) - 1.0001)", "abs(exp(x) - 1.001)"])
def test_finite_differences_error_bar_bounds_the_error_under_cancellation(text: str) -> None:
    # |f| is about 1e-4 while exp(x) is about 1: the rounding noise scales with the terms
    # that cancel, not with |f|; abs makes the function non-analytic (differences only)
    problem = Problem.derive(p(text), ("x",), ("x",))
    points = np.linspace(-1e-5, 1e-5, 7)
    estimate = FiniteDifferences().gradient(problem, points[np.newaxis, :])
    for index, point in enumerate(points):
        exact = float(_mp_gradient(problem, [float(point)])[0])
        value, bar = estimate.values["x"][index], estimate.errors["x"][index]
        assert abs(value - exact) <= bar, (point, value, exact, bar)


@given(samples(max_depth=3))
def test_derived_gradient_agrees_with_finite_differences(sample: Sample) -> None:
    problem = Problem.derive(sample.expr, VARIABLES, VARIABLES)
    estimate = FiniteDifferences().gradient(problem, _column(*sample.column()))
    derived = Exact().gradient(problem, _column(*sample.column()))
    compared = 0
    for name, exact in zip(VARIABLES, _mp_gradient(problem, sample.column()), strict=True):
        value, bar = estimate.values[name][0], estimate.errors[name][0]
        scale = max(1.0, abs(float(exact)))
        if bar <= 1e-6 * scale:  # finite differences are sure enough to judge
            compared += 1
            assert abs(value - float(exact)) <= 4 * bar + 1e-9 * scale
            assert abs(derived.values[name][0] - float(exact)) <= 1e-9 * scale
    assume(compared)


@pytest.mark.parametrize(
    ("text", "point", "crosses"),
    [
        ("relu(x)", 1e-7, True),
        ("relu(x)", 0.0, True),
        ("relu(x)", 0.5, False),
        ("abs(x - 1)", 1 + 1e-9, True),
        ("max(x, 0.25)", 0.25, True),
        ("heaviside(x)*x", -1e-8, True),
    ],
)
def test_finite_differences_kink_crossing_gives_infinite_error(
    text: str, point: float, crosses: bool
) -> None:
    problem = Problem.derive(p(text), ("x",), ("x",))
    estimate = FiniteDifferences().gradient(problem, _column(point))
    assert np.isinf(estimate.errors["x"][0]) == crosses


def test_finite_differences_many_points_at_once() -> None:
    problem = Problem.derive(p("sigmoid(x)*y**2 + relu(x - 5)"), ("x", "y"), ("x", "y"))
    rng = np.random.default_rng(0)
    points = rng.uniform(-2, 2, (2, 1000))
    estimate = FiniteDifferences().gradient(problem, points)
    s = 1 / (1 + np.exp(-points[0]))
    assert np.all(
        np.abs(estimate.values["x"] - s * (1 - s) * points[1] ** 2) <= estimate.errors["x"]
    )
    assert np.all(np.abs(estimate.values["y"] - 2 * s * points[1]) <= estimate.errors["y"])


def test_problem_derive_records_kinks_and_analyticity() -> None:
    smooth = Problem.derive(p("sigmoid(x)*tanh(y)"), ("x",), ("x", "y"))
    kinked = Problem.derive(p("relu(x)*y"), ("x", "y"), ("x", "y"))
    assert smooth.analytic and smooth.kinks == ()
    assert not kinked.analytic and kinked.kinks == (x,)
    assert smooth.row("y") == 1
    assert set(kinked.gradient) == {"x", "y"}
