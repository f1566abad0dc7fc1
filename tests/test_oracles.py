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
from diffcheck.oracles.exact import (
    EXTENDED,
    PRECISIONS,
    Exact,
    ExactValues,
    context,
    exactly_zero,
    partial_limits,
    precisions_for,
    refine_at,
)
from diffcheck.oracles.finite import FiniteDifferences
from diffcheck.oracles.program import CHUNK, Program
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


def test_refine_at_climbs_beyond_960_digits_for_elementary_functions() -> None:
    # 1 - tanh(700)**2 cancels 608 digits: 480 digits give 0, 960 give 350 good digits,
    # which only 1920 can confirm
    program = Program([p("1 - tanh(x)**2")], ["x"])
    assert precisions_for(program) == PRECISIONS + EXTENDED
    refined = refine_at(program, [700.0])
    assert refined.converged and refined.context.dps == 1920
    ctx = refined.context
    expected = 1 / ctx.cosh(700) ** 2
    assert abs(refined.values[0] - expected) <= ctx.mpf(10) ** -25 * expected


@pytest.mark.parametrize(
    ("text", "extended"),
    [
        ("sec(x)*csch(x) + acot(x) + log(x, 3) + log10(x)", True),
        ("sigmoid(x) + where(x > 0, x, 0) + xlogy(x, x)", True),
        ("sec(x) + gelu(x)", False),  # erf inside
        ("erfinv(x)", False),
    ],
)
def test_precisions_for_reads_the_rule_table(text: str, extended: bool) -> None:
    program = Program([p(text)], ["x"])
    assert precisions_for(program) == (PRECISIONS + EXTENDED if extended else PRECISIONS)


def test_refine_at_stops_at_960_digits_for_special_functions() -> None:
    # digamma takes seconds at 3840 digits: such points stay unsettled instead
    program = Program([p("gamma(y)*(1 - tanh(x)**2)")], ["x", "y"])
    assert precisions_for(program) == PRECISIONS
    refined = refine_at(program, [700.0, 1.0])
    assert not refined.converged and refined.settled == (False,)
    assert refined.context.dps == 960


def test_refine_at_settles_each_value_on_its_own() -> None:
    # the function settles at once; its partial cancels beyond every precision
    program = Program([p("tanh(x)"), p("1 - tanh(x)**2")], ["x"])
    refined = refine_at(program, [3000.0])
    assert not refined.converged
    assert refined.settled == (True, False)
    assert refined.settled_at(0) and not refined.settled_at(1)
    assert float(refined.values[0]) == 1.0


def test_refine_at_settles_a_vanishing_remainder_to_zero_below_negligible() -> None:
    # (atan(x) + atan(1/x))' is exactly 0; each precision leaves a remainder of its size
    program = Program([p("1/(1 + x**2) - 1/(x**2*(1 + 1/x**2))")], ["x"])
    refined = refine_at(program, [0.7], negligible=1e-12 * 2.0**-52)
    assert refined.converged and refined.values[0] == 0
    assert refined.context.dps < 960
    # without an absolute tolerance, nothing is negligible: the remainder keeps the
    # precision rising to the top
    assert refine_at(program, [0.7]).context.dps == EXTENDED[-1]


def test_refine_at_does_not_take_a_lost_value_for_a_vanishing_one() -> None:
    # tanh's 3.9e-608 is 0 at 480 digits: it does not shrink from there, so it settles
    # relatively at 1920 digits, below a negligible size though it is (one above it, such
    # as 1e-28, lets 0 stand for it at 960 digits: see the tests at the end)
    refined = refine_at(Program([p("1 - tanh(x)**2")], ["x"]), [700.0], negligible=1e-700)
    assert refined.converged and refined.context.dps == 1920
    assert float(refined.values[0]) == pytest.approx(3.888536e-608, rel=1e-6, abs=0)


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


# ---- partials at a kink: the limits from both sides --------------------------------------


def _limits(function: str, point: list[float], wrt: tuple[str, ...] = ("x",)) -> tuple | None:
    expr = p(function)
    variables = tuple(sorted(symbol.name for symbol in expr.free_symbols))
    problem = Problem.derive(expr, wrt, variables)
    rows = [problem.row(name) for name in wrt]
    return partial_limits(problem.limit_program, point, rows)


@pytest.mark.parametrize(
    ("function", "point", "expected"),
    [
        ("x*abs(x)", 0.0, 0.0),
        ("relu(x)**2", 0.0, 0.0),
        ("abs(x)**3", 0.0, 0.0),
        ("elu(x, 1)", 0.0, 1.0),  # the rule's value at 0 (heaviside's) is no limit
        ("where(abs(x) <= 1, x^2/2, abs(x) - 1/2)", 1.0, 1.0),  # Huber: C¹ at its switch
        ("where(abs(x) <= 1, x^2/2, abs(x) - 1/2)", -1.0, -1.0),
        ("where(abs(x) <= 1, x^2/2, abs(x) - 1/2)", 0.0, 0.0),
        ("max(x, 2)**2 - 4*max(x, 2)", 2.0, 0.0),
    ],
)
def test_partial_limits_find_the_derivative_where_it_exists(
    function: str, point: float, expected: float
) -> None:
    (limit,) = _limits(function, [point])
    assert limit is not None and float(limit) == expected


@pytest.mark.parametrize(
    ("function", "point"),
    [
        ("abs(x)", 0.0),  # slopes -1 and 1
        ("relu(x)", 0.0),
        ("heaviside(x)", 0.0),  # slope 0 on both sides, but the function jumps
        ("where(x > 0, 2*x + 1, 2*x)", 0.0),
        ("sqrt(abs(x))", 0.0),  # the slopes diverge
        ("where(abs(x) <= 1, x^2, abs(x))", 1.0),  # continuous, slopes 2 and 1
    ],
)
def test_partial_limits_leave_a_genuine_kink_alone(function: str, point: float) -> None:
    assert _limits(function, [point]) is None


def test_partial_limits_need_every_partial() -> None:
    # |x*y|: at (0, 0) both partials are 0; at (0, 1) along y it is 0 throughout, but
    # along x it has slopes -1 and 1
    assert _limits("abs(x*y)", [0.0, 0.0], ("x", "y")) == (0, 0)
    assert _limits("abs(x*y)", [0.0, 1.0], ("x", "y")) is None
    assert _limits("abs(x*y)", [0.0, 1.0], ("y",)) == (0,)


def test_partial_limits_say_whether_the_formula_gives_the_limit() -> None:
    # the formula of x*abs(x)'s partial gives 0 at 0, the limit; that of x written as
    # x*heaviside(x, 0) + x*heaviside(-x, 0) gives 0, where the limit is 1
    problem = Problem.derive(p("x*abs(x)"), ("x",), ("x",))
    assert partial_limits(problem.limit_program, [0.0], [0], with_agreement=True) == ((0, True),)
    problem = Problem.derive(p("x*heaviside(x, 0) + x*heaviside(-x, 0)"), ("x",), ("x",))
    assert partial_limits(problem.limit_program, [0.0], [0], with_agreement=True) == ((1, False),)
    assert partial_limits(problem.limit_program, [0.0], [0]) == (1,)


def test_exactly_zero_tells_a_kink_from_float64_rounding() -> None:
    # w - 0.3 is 0.0 in float64 at w = 0.3, but the double 0.3 is not the decimal 0.3
    program = Program([p("w - 0.3"), p("w - 0.5")], ["w"])
    assert not exactly_zero(program, [0.3], [0])
    assert exactly_zero(program, [0.5], [1])


def test_settling_reuses_one_context_per_precision(monkeypatch: pytest.MonkeyPatch) -> None:
    program = Program([p("1 - tanh(x)**2")], ["x"])
    first = refine_at(program, [19.0])
    made: list[int] = []
    original = mpmath.MPContext

    def counting() -> mpmath.ctx_mp.MPContext:
        made.append(1)
        return original()

    monkeypatch.setattr(mpmath, "MPContext", counting)
    second = refine_at(program, [20.0])
    assert made == []  # making a context costs more than settling a point
    assert second.context is first.context is context(first.context.dps)
    # each keeps its own precision: settling never changes it
    assert [context(digits).dps for digits in PRECISIONS] == list(PRECISIONS)
    assert float(second.values[0]) == pytest.approx(1 / np.cosh(20.0) ** 2, rel=1e-12)


def test_conditioning_uniform_in_a_chunk_stays_a_number() -> None:
    # exp(x) underflows to 0 (any value may hide there) only in the second chunk: the
    # first chunk's factor, 1 everywhere, is written out once the second needs an array
    x = np.full(CHUNK + 10, 2.0)
    x[CHUNK + 3] = -800.0
    values = ExactValues([p("x^2"), p("exp(x)")], ["x"], x[np.newaxis])
    steady, underflowing = values.conditioning
    assert steady.strides == (0,) and steady[0] == 1.0  # broadcast: no array was written
    assert underflowing.strides != (0,)
    assert (underflowing[:CHUNK] == 1.0).all() and underflowing[CHUNK + 4] == 1.0
    assert underflowing[CHUNK + 3] == np.inf


def _plain_factors(program: Program, points: np.ndarray) -> list[np.ndarray]:
    """Conditioning as defined, with no pass skipped: the larger of the arguments'
    factors, of sum(|terms|) / |sum| at a sum (1 where every term is 0), and inf where a
    result underflowed from arguments that did not."""
    tiny = np.finfo(np.float64).tiny
    with np.errstate(all="ignore"):
        values = program.forward(lambda row: points[row])
        factors: list = [1.0] * len(program.steps)
        for index, step in enumerate(program.steps):
            factor = 1.0
            for arg in step.args:
                factor = np.fmax(factor, factors[arg])
            if step.rule is not None and step.rule.name == "add":
                terms = sum(np.abs(values[arg]) for arg in step.args)
                ratio = np.where(terms == 0, 1.0, terms / np.abs(values[index]))
                factor = np.fmax(factor, ratio)
            elif step.rule is not None and not step.rule.exact_zeros:
                underflow = np.abs(values[index]) < tiny
                for arg in step.args:
                    underflow = underflow & (np.abs(values[arg]) >= tiny)
                factor = np.where(underflow, np.inf, factor)
            factors[index] = factor
    return [np.broadcast_to(factors[output], points.shape[1:]) for output in program.outputs]


@pytest.mark.parametrize(
    "text",
    ["sigmoid(x)*(1 - sigmoid(x))", "-x*exp(x) + 2*x - x", "(x - x)*3 + exp(-3*x*x)",
     "-exp(x)*0.5 + log(x) - 1", "x*y - 2 + y*y*y - exp(x*y)", "1/(1 + exp(-x))",
     "x/4 + y", "x*sqrt(pi - 3)*(1 - exp(y))", "-exp(x) - exp(y) - 1", "x*x + y*y + 0",
     "exp(-x)*exp(y) + exp(x) + 2", "-exp(-x*x)/3 - 1/y"],
)  # fmt: skip
def test_conditioning_equals_its_definition_bit_for_bit(text: str) -> None:
    # sums cancelling to 0 and of zeros only, NaN, inf, underflow, subnormal arguments
    x = np.array([0.0, -0.0, 1.0, -1.0, 3.0, 800.0, -800.0, 1e-310, -1e-310, np.nan, np.inf,
                  -np.inf, 2.0, 0.5, 1e-160, 30.0, np.finfo(float).tiny])  # fmt: skip
    y = np.array([1.0, 2.0, 1.0, 0.0, -3.0, 1e-200, 2.0, 5.0, 1e300, 1.0, 0.0, 1.0,
                  1.2599210498948732, 2.0, 1e-160, -0.0, 0.0])  # fmt: skip
    variables = ["x", "y"]
    program = Program([p(text)], variables)
    points = np.array([x, y])
    (value, factor) = program.evaluate(points, conditioning=True)
    (expected,) = _plain_factors(program, points)
    assert np.broadcast_to(factor, x.shape).tobytes() == np.ascontiguousarray(expected).tobytes()


def test_conditioning_makes_no_pass_that_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # factors are 1.0 or arrays >= 1: the larger of one and 1.0 (or itself) is itself;
    # -x cannot underflow where x did not
    program = Program([p("sigmoid(x)*(1 - sigmoid(x))"), p("-exp(-x)/(1 + exp(-x))")], ["x"])
    calls = {"fmax": 0, "min": 0}
    fmax, minimum = np.fmax, np.min

    def counting_fmax(*args, **kwargs):
        calls["fmax"] += 1
        return fmax(*args, **kwargs)

    def counting_min(*args, **kwargs):
        calls["min"] += 1
        return minimum(*args, **kwargs)

    monkeypatch.setattr(np, "fmax", counting_fmax)
    monkeypatch.setattr(np, "min", counting_min)
    _, _, cancelling, steady = program.evaluate(np.linspace(-30, 30, 1000)[np.newaxis],
                                                conditioning=True)  # fmt: skip
    # only 1 - sigmoid(x) cancels; 1 + exp(-x) never does, so its factor stays the number
    # 1, and is no array anywhere
    assert calls["fmax"] == 1
    assert cancelling.strides != (0,) and steady.strides == (0,) and steady[0] == 1.0
    # of sigmoid, exp, the product, the quotient (a power and a product) only the last
    # is negative, and needs its magnitudes to be tested for underflow (positive values
    # are their own magnitudes); -x and -exp(-x) are negations
    assert calls["min"] == 1


def test_a_sum_of_terms_of_one_sign_costs_no_cancellation_ratio(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # sum(|terms|) is |sum| bit for bit there: the ratio is 1 (or NaN) at every point
    from diffcheck.oracles import conditioning
    from diffcheck.oracles import program as program_module

    ratios: list[int] = []
    original = conditioning.cancellation_ratio

    def counting(*args):
        ratios.append(1)
        return original(*args)

    monkeypatch.setattr(conditioning, "cancellation_ratio", counting)
    monkeypatch.setattr(program_module, "cancellation_ratio", counting)
    x = np.linspace(-30, 30, 101)[np.newaxis]
    for text, expected in [("1/(1 + exp(-x))", 0), ("-exp(x) - 2 - x*x", 0),
                           ("1 - sigmoid(x)", 1), ("x*x - 1", 1), ("exp(x) + x", 1),
                           ("x + 1", 0)]:  # fmt: skip  # x + 1: two exact values
        ratios.clear()
        Program([p(text)], ["x"]).evaluate(x, conditioning=True, magnitude=True)
        assert len(ratios) == 2 * expected, text  # the conditioning, and the magnitude


def _plain_central(problem: Problem, points: np.ndarray, row: int) -> tuple[np.ndarray, ...]:
    """Extrapolated central differences as written down, one new array per operation."""
    from diffcheck.oracles.finite import EPS, NOISE_ULPS, STEP

    program = problem.function_program

    def f(at: np.ndarray, cancellation: np.ndarray | None = None) -> np.ndarray:
        return program.batch(points, rows={row: at}, cancellation=cancellation)[0]

    with np.errstate(all="ignore"):
        x = points[row]
        h = np.maximum(np.abs(x), 1.0) * STEP
        above, below = x + h, x - h
        cancellation = np.ones(x.shape)
        f_above = f(above, cancellation)
        scale = cancellation * np.abs(f_above)
        small = (f_above - f(below)) / (above - below)
        large = (f(x + 2 * h) - f(x - 2 * h)) / (4 * h)
        gap = small - large
        estimate = small + gap / 3
        error = (np.abs(gap) + (4.5 * NOISE_ULPS * EPS) * scale / h) / 3
        error[~np.isfinite(estimate)] = np.inf
    return estimate, error


@pytest.mark.parametrize("text", ["1/(1 + exp(-x))", "log(x)*y - exp(x*y)", "x", "3", "x^2 - 1"])
def test_central_differences_are_the_plain_formula_bit_for_bit(text: str) -> None:
    x = np.array([0.5, -2.0, 700.0, 1e-300, 0.0, np.nan, np.inf, 3.0, -1e10, 1e300])
    y = np.array([1.0, 2.0, 1.0, 0.5, -3.0, 1.0, 1.0, np.nan, 2.0, 1.0])
    problem = Problem.derive(p(text), ("x", "y"), ("x", "y"))
    points = np.array([x, y])
    estimate = FiniteDifferences().gradient(problem, points)
    for row, name in enumerate(("x", "y")):
        expected, error = _plain_central(problem, points, row)
        assert estimate.values[name].tobytes() == expected.tobytes()
        assert estimate.errors[name].tobytes() == error.tobytes()


def test_conditioning_of_a_mild_cancellation_is_kept() -> None:
    # every ratio sum(|terms|)/|sum| at most 1.4: still above 1, so still recorded (2x is
    # a product, rounded: a sum of two exact values, x + y, is rounded once and is not)
    program = Program([p("2*x + y"), p("2*x + y + 1")], ["x", "y"])
    points = np.array([[1.5, 0.5, 1.0], [-0.5, 1.0, 0.0]])
    outputs = program.evaluate(points, conditioning=True)
    for factor, expected in zip(outputs[2:], _plain_factors(program, points), strict=True):
        assert factor.tobytes() == np.ascontiguousarray(expected).tobytes()
    assert outputs[2].tolist() == [3.5 / 2.5, 1.0, 1.0]


def test_a_negation_is_not_tested_for_health_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # |-x| = |x|: overflowed or subnormal exactly where x is, which was tested already
    from diffcheck.oracles import program as program_module

    tested: list[int] = []
    original = program_module.mark_unhealthy

    def counting(factor: np.ndarray, value: object) -> None:
        tested.append(1)
        original(factor, value)

    monkeypatch.setattr(program_module, "mark_unhealthy", counting)
    program = Program([p("1/(1 + exp(-x))")], ["x"])
    x = np.array([[1e-310, -800.0, 1.0, np.nan, 0.0, 2.0]])
    _, magnitude = program.evaluate(x, magnitude=True)
    assert len(tested) == len(program.steps) - 1  # all but -x
    assert magnitude.tolist() == [np.inf, np.inf, 1.0, np.inf, 1.0, 1.0]


@pytest.mark.parametrize(
    "values",
    [[1.0, 2.0, 1e300], [-1.0, -2.0, -1e300], [1.0, 1e-310, 2.0], [-1.0, -1e-310, -2.0],
     [1.0, np.inf, 2.0], [-1.0, -np.inf], [-1.0, np.nan], [np.nan, 1.0], [1.0, 0.0],
     [-0.0, -1.0], [-3.0, 2.0], [np.finfo(float).tiny, np.finfo(float).max],
     [-np.finfo(float).max, -np.finfo(float).tiny], [5e-324]],
)  # fmt: skip
def test_unhealthy_values_are_marked_whatever_their_signs(values: list[float]) -> None:
    # overflowed and subnormal values are found from one-signed values themselves too
    from diffcheck.oracles.conditioning import mark_unhealthy

    value = np.array(values)
    factor = np.ones(value.shape)
    mark_unhealthy(factor, value)
    magnitude = np.abs(value)
    with np.errstate(invalid="ignore"):
        broken = ~np.isfinite(magnitude) | ((magnitude < np.finfo(float).tiny) & (magnitude > 0))
    assert factor.tolist() == np.where(broken, np.inf, 1.0).tolist()


# ---- values at or below a negligible size (atol·ε) at two precisions -------------------

NEGLIGIBLE = 1e-12 * 2.0**-52  # atol 1e-12


def test_refine_at_settles_a_value_negligible_at_two_precisions_as_zero() -> None:
    program = Program([p("1 - tanh(x)**2")], ["x"])
    # 1e-45 at x = 52: 0 at 30 digits, 1e-45 at 60, both negligible: no need for 120
    early = refine_at(program, [52.0], negligible=NEGLIGIBLE)
    assert early.converged and early.context.dps == 60 and early.values[0] == 0
    # 1e-1998 at x = 2300: 0 up to 1920 digits; 0 at 480 and 960 settles it there, once
    # a zero is past the precision where a hidden value would need a factor of 10^900
    late = refine_at(program, [2300.0], negligible=NEGLIGIBLE)
    assert late.converged and late.context.dps == 960 and late.values[0] == 0
    # the same with a non-zero value at the higher precision: 0 at 1920, 1e-2000 at 3840
    from diffcheck.oracles.exact import settle

    values = iter([([mpmath.mpf(0)], [False]), ([mpmath.mpf("1e-2000")], [False])])
    top = settle(lambda ctx: next(values), EXTENDED, NEGLIGIBLE)
    assert top.converged and top.values[0] == 0


def test_refine_at_does_not_settle_a_zero_that_may_hide_a_value_at_low_precision() -> None:
    # exp(2x)*(1 - tanh(x)**2) is 4 at x = 100, and 0 at 30 and 60 digits
    program = Program([p("exp(2*x)*(1 - tanh(x)**2)")], ["x"])
    refined = refine_at(program, [100.0], negligible=NEGLIGIBLE)
    assert refined.converged and refined.context.dps == 240  # found at 120, confirmed
    assert float(refined.values[0]) == pytest.approx(4.0, rel=1e-15, abs=0)


def test_refine_at_without_negligible_leaves_a_zero_at_every_precision_unsettled() -> None:
    # 1 - tanh(4500)**2 is 1e-3908: 0 even at 3840 digits, and not known to be 0
    refined = refine_at(Program([p("1 - tanh(x)**2")], ["x"]), [4500.0])
    assert not refined.converged and refined.settled == (False,)
    assert refined.context.dps == EXTENDED[-1]


def test_a_sum_of_two_exact_values_magnifies_no_error(tmp_path) -> None:
    # 1 - y at y = 1 is exactly 0, not a value of unknown size: finite differences stay
    # reliable (a one-hot target of 1 in cross-entropy), so they confirm the gradient
    from diffcheck.cases.loader import load_case_file
    from diffcheck.oracles.conditioning import exact_sums
    from diffcheck.run.check import Settings, check_case

    steps = lambda text: Program([parse_expression(text)], ["x", "y"]).steps  # noqa: E731
    assert any(exact_sums(steps("1 - y"))) and any(exact_sums(steps("x - 2")))
    # three terms are rounded twice ((1e16 + 1) - 1e16 is 0), 0.1 is not 1/10 in float64
    assert not any(exact_sums(steps("1e16 + x - y"))) and not any(exact_sums(steps("0.1 - y")))
    path = tmp_path / "case.yaml"
    path.write_text("cases:\n  - name: bce\n    function: -(y*log(sigmoid(z)) + (1 - y)*log(1 -"
                    " sigmoid(z)))\n    wrt: [z]\n    domain: {z: [-5, 5], y: 1}\n"
                    "    samples: 8\n", encoding="utf-8")  # fmt: skip
    (case,) = load_case_file(path).cases
    result = check_case(case, Settings())
    assert result.verdict.evidence == (
        "derived gradient confirmed by reverse mode and finite differences at 8 points"
    )
    assert not result.comparison.results[0].oracles["finite"].unreliable.any()
