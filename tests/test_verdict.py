"""Verdict stage: correct, incorrect (with the worst point), inconclusive (with a reason);
float64 artefacts never convict; kinks and overflow are warnings, not verdicts."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings
from strategies import VARIABLES, Sample, samples

from diffcheck.cases.loader import Tolerance
from diffcheck.compare import compare_gradient
from diffcheck.compare.verdict import Verdict, decide_verdict, format_point, format_values
from diffcheck.oracles import Problem
from diffcheck.oracles.finite import FiniteDifferences
from diffcheck.symbolic.parse import parse_expression

DEFAULT = Tolerance(rtol=1e-7, atol=1e-12)
NO_ATOL = Tolerance(rtol=1e-7, atol=0.0)
x = sp.Symbol("x")


def p(text: str) -> sp.Expr:
    return parse_expression(text)


def verdict_of(
    function: str,
    claims: dict[str, str],
    points,
    tolerance: Tolerance = DEFAULT,
    problem: Problem | None = None,
    **options,
) -> Verdict:
    expr = p(function)
    variables = tuple(sorted(symbol.name for symbol in expr.free_symbols))
    problem = problem or Problem.derive(expr, variables, variables)
    points = np.atleast_2d(np.asarray(points, dtype=float))
    comparison = compare_gradient(
        problem, {n: p(t) for n, t in claims.items()}, points, tolerance, **options
    )
    return decide_verdict(comparison, tolerance)


def _uniform(low: float, high: float, count: int = 64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(low, high, (1, count))


# ---- correct ----------------------------------------------------------------------------


def test_decide_verdict_correct_claim() -> None:
    verdict = verdict_of("sigmoid(x)", {"x": "sigmoid(x)*(1 - sigmoid(x))"}, _uniform(-30, 30))
    assert verdict == Verdict("correct", "agrees at 64 points", (), ())


def test_decide_verdict_correct_without_claim_is_confirmed_by_finite_differences() -> None:
    verdict = verdict_of("x*sin(y)", {}, np.vstack([_uniform(-2, 2, 8), _uniform(-2, 2, 8, 1)]))
    assert verdict.verdict == "correct"
    assert (
        verdict.evidence
        == "derived gradient confirmed by reverse mode and finite differences at 8 points"
    )
    assert verdict.reasons == () and verdict.warnings == ()


# ---- incorrect --------------------------------------------------------------------------


def test_decide_verdict_incorrect_names_the_worst_point() -> None:
    verdict = verdict_of("tanh(x)", {"x": "1 - tanh(x)"}, [[-1.0, 0.5, -3.0]])
    assert verdict.verdict == "incorrect"
    assert verdict.evidence == (
        "counterexample at x=-3: ∂/∂x expected 0.00986604, claimed 1.99505; reverse mode and "
        "finite differences agree with the expected value"
    )
    example = verdict.counterexample
    assert example.variable == "x"
    assert example.point == {"x": -3.0}
    assert example.expected == pytest.approx(1 - np.tanh(-3.0) ** 2, rel=1e-14)
    assert example.claimed == pytest.approx(1 - np.tanh(-3.0), rel=1e-15)
    assert example.abs_error == pytest.approx(example.claimed - example.expected, rel=1e-14)
    assert example.rel_error == pytest.approx(example.abs_error / example.expected, rel=1e-14)
    assert "finite" in [oracle[0] for oracle in example.oracles]


def test_decide_verdict_incorrect_among_several_variables() -> None:
    points = [[0.5, 1.0, 2.0], [1.0, -1.0, 3.0]]
    verdict = verdict_of("x^2*y", {"x": "2*x*y", "y": "x^2 + 1"}, points)
    assert verdict.verdict == "incorrect"
    assert verdict.counterexample.variable == "y"
    assert verdict.evidence == (
        "counterexample at x=0.5, y=1: ∂/∂y expected 0.25, claimed 1.25; reverse mode and "
        "finite differences agree with the expected value"
    )


def test_decide_verdict_small_error_is_still_incorrect() -> None:
    verdict = verdict_of("x^2", {"x": "((x + 0.001)^2 - x^2)/0.001"}, _uniform(-2, 2))
    assert verdict.verdict == "incorrect"


# ---- inconclusive -----------------------------------------------------------------------


def test_decide_verdict_inconclusive_without_usable_points() -> None:
    verdict = verdict_of("log(x)", {"x": "1/x"}, [[-2.0, -1.0]])
    assert verdict == Verdict(
        "inconclusive",
        "",
        ("no point where the function can be checked: all 2 points are outside its domain",),
        ("the function is undefined at 2 of 2 points (e.g. x=-2); left out",),
    )


def test_decide_verdict_inconclusive_when_every_point_is_a_kink() -> None:
    verdict = verdict_of("relu(x)", {"x": "heaviside(x)"}, [[0.0, 0.0]])
    assert verdict == Verdict(
        "inconclusive",
        "",
        (
            "no point where the function can be checked: all 2 points are at non-differentiable "
            "places",
        ),
        ("2 points lie where the function is not differentiable (e.g. x=0); left out",),
    )


@pytest.mark.parametrize("claims", [{"x": "2*cos(x)"}, {}])
def test_decide_verdict_oracle_contradicting_the_reference(claims: dict) -> None:
    # a deliberately wrong reference: the claim agrees with it, finite differences do not
    wrong = Problem(sp.sin(x), ("x",), ("x",), {"x": 2 * sp.cos(x)}, ())
    verdict = verdict_of(
        "sin(x)", claims, [[0.1, 0.5, 1.0]], problem=wrong, oracles=(FiniteDifferences(),)
    )
    assert verdict.verdict == "inconclusive"
    assert verdict.reasons == (
        "finite differences disagree with the derived ∂/∂x at 3 points and nothing backs it "
        "there (e.g. x=0.1: finite differences 0.995004; derived 1.99001): the point may not "
        "be differentiable, or diffcheck's derivation is at fault",
    )


@pytest.mark.parametrize("claims", [{}, {"x": "2*cos(x)"}])
def test_decide_verdict_two_oracles_against_the_reference_are_named(claims: dict) -> None:
    wrong = Problem(sp.sin(x), ("x",), ("x",), {"x": 2 * sp.cos(x)}, ())
    verdict = verdict_of("sin(x)", claims, [[0.1, 0.5, 1.0]], problem=wrong)
    assert verdict.verdict == "inconclusive"
    assert verdict.reasons == (
        "reverse mode and finite differences disagree with the derived ∂/∂x at 3 points and "
        "nothing backs it there (e.g. x=0.1: reverse mode 0.995004, finite differences "
        "0.995004; derived 1.99001): the point may not be differentiable, or diffcheck's "
        "derivation is at fault",
    )


# ---- warnings: kinks, overflow ----------------------------------------------------------


def test_decide_verdict_leaves_kink_points_out_with_a_warning() -> None:
    verdict = verdict_of("relu(x)", {"x": "heaviside(x)"}, [[0.0, -1.0, 1.0, 0.5]])
    assert verdict == Verdict(
        "correct",
        "agrees at 3 points",
        (),
        ("1 point lies where the function is not differentiable (e.g. x=0); left out",),
    )


def test_decide_verdict_overflowing_function_is_evaluated_in_mpmath() -> None:
    verdict = verdict_of("exp(x)/(1 + exp(x))^2", {}, [[800.0, -800.0, 0.5, 750.0, 2.0]])
    assert verdict.verdict == "correct"
    assert verdict.warnings == (
        "the function overflows float64 at 2 points (e.g. x=800); "
        "it was evaluated with mpmath there",
    )


def test_decide_verdict_overflowing_claim_is_still_correct() -> None:
    verdict = verdict_of(
        "sigmoid(x)", {"x": "exp(x)/(1 + exp(x))^2"}, [[800.0, -800.0, 0.5, 750.0, 2.0]]
    )
    assert verdict == Verdict(
        "correct",
        "agrees at 5 points",
        (),
        (
            "∂/∂x: float64 overflows or loses all precision at 2 points; re-evaluated with "
            "mpmath, the claim holds there",
        ),
    )


def test_decide_verdict_overflow_on_a_wide_domain() -> None:
    verdict = verdict_of(
        "sigmoid(x)", {"x": "exp(x)/(1 + exp(x))^2"}, np.hstack([[[800.0]], _uniform(-800, 800)])
    )
    assert verdict.verdict == "correct"
    assert any(
        w.startswith("∂/∂x: float64 overflows or loses all precision at ") for w in verdict.warnings
    )


# ---- float64 cancellation never convicts --------------------------------------------------


@pytest.mark.parametrize(
    "claim", ["1 - tanh(x)^2", "1/cosh(x)^2", "4*sigmoid(2*x)*(1 - sigmoid(2*x))"]
)
def test_decide_verdict_cancellation_never_convicts(claim: str) -> None:
    verdict = verdict_of("tanh(x)", {"x": claim}, _uniform(18, 40), NO_ATOL)
    assert verdict.verdict == "correct"


def test_decide_verdict_cancellation_in_the_derived_gradient_is_not_a_conflict() -> None:
    # the derived 1 - tanh(x)^2 cancels in float64; refined, it agrees with the oracles
    verdict = verdict_of("tanh(x)", {}, _uniform(18, 40), NO_ATOL)
    assert verdict.verdict == "correct"


@pytest.mark.parametrize("claim", ["2/cosh(x)^2", "1/cosh(x)^2 + 1e-30"])
def test_decide_verdict_tiny_but_wrong_claims_are_still_convicted(claim: str) -> None:
    verdict = verdict_of("tanh(x)", {"x": claim}, _uniform(18, 40), NO_ATOL)
    assert verdict.verdict == "incorrect"


# ---- properties over random expressions ---------------------------------------------------


def _judge_sample(sample: Sample, offset: sp.Expr) -> Verdict:
    # only the variables the expression uses: a partial that is 0 by construction makes
    # every wrong claim climb to 960 digits, which is slow for special functions
    wrt = tuple(sorted(symbol.name for symbol in sample.expr.free_symbols))
    assume(wrt)
    problem = Problem.derive(sample.expr, wrt, VARIABLES)
    claims = {name: problem.gradient[name] + offset for name in wrt}
    points = np.array([[sample.point[name]] for name in VARIABLES])
    return decide_verdict(compare_gradient(problem, claims, points, DEFAULT), DEFAULT)


@given(samples(max_depth=3))
def test_decide_verdict_never_convicts_the_derived_gradient(sample: Sample) -> None:
    assert _judge_sample(sample, sp.Integer(0)).verdict != "incorrect"


@settings(max_examples=20)  # each wrong claim is re-checked in mpmath, up to 960 digits
@given(samples(max_depth=3))
def test_decide_verdict_never_accepts_a_gradient_off_by_one(sample: Sample) -> None:
    assert _judge_sample(sample, sp.Integer(1)).verdict != "correct"


# ---- formatting helpers -----------------------------------------------------------------


def test_format_point() -> None:
    assert format_point(["x", "y"], np.array([0.5, -1e-7])) == "x=0.5, y=-1e-07"


def test_format_values_shows_a_difference() -> None:
    assert format_values(1.0, 1.0 + 1e-9) == ("1", "1.000000001")
    assert format_values(0.25, 0.25) == ("0.25", "0.25")


# ---- shared float64 rounding: the claim and the reference round to the same wrong value --


@pytest.mark.parametrize(
    ("function", "claim", "low", "high", "tolerance"),
    [
        ("tanh(x)", "2*(1 - tanh(x)^2)", 20, 40, NO_ATOL),  # both 0.0 in float64
        ("1e20*tanh(x)", "2e20*(1 - tanh(x)^2)", 20, 25, DEFAULT),  # truth about 1e3
        ("1e6*(cosh(x) - sinh(x))", "0", 20, 25, DEFAULT),  # truth about -1e-3
        ("exp(-x^2)", "-4*x*exp(-x^2)", 30, 40, NO_ATOL),  # both underflow to 0.0
    ],
)
def test_decide_verdict_shared_rounding_does_not_hide_a_wrong_claim(
    function: str, claim: str, low: float, high: float, tolerance: Tolerance
) -> None:
    verdict = verdict_of(function, {"x": claim}, _uniform(low, high, 16), tolerance)
    assert verdict.verdict == "incorrect", verdict


def test_decide_verdict_counterexample_beyond_float64_prints_mpmath_values() -> None:
    verdict = verdict_of("exp(-x^2)", {"x": "-4*x*exp(-x^2)"}, [[36.0]], NO_ATOL)
    assert verdict.evidence.startswith(
        "counterexample at x=36: ∂/∂x expected -1.02727e-561, claimed -2.05454e-561"
    )


# ---- kinks: judged by the kink's own rounding, and only where they matter --------------


def test_decide_verdict_kink_tolerance_ignores_other_variables_magnitude() -> None:
    # w is huge, x is not: a point with x = 0.05 is not at relu's kink
    points = np.array([[2e13, 3e13, 5e13], [0.05, 0.07, -0.5]])
    expr = p("w*relu(x)")
    problem = Problem.derive(expr, ("x",), ("w", "x"))
    comparison = compare_gradient(problem, {"x": p("w*heaviside(x - 0.1)")}, points, DEFAULT, {})
    verdict = decide_verdict(comparison, DEFAULT)
    assert verdict.verdict == "incorrect" and not comparison.at_kink.any()


def test_decide_verdict_tiny_values_are_not_at_a_kink() -> None:
    verdict = verdict_of("relu(x)", {"x": "2"}, _uniform(1e-20, 1e-15, 8))
    assert verdict.verdict == "incorrect"


def test_decide_verdict_kink_of_a_variable_not_differentiated_does_not_matter() -> None:
    expr = p("w*relu(b)")
    problem = Problem.derive(expr, ("w",), ("b", "w"))
    points = np.array([[0.0, 0.0], [0.5, -0.5]])
    comparison = compare_gradient(problem, {"w": p("relu(b)")}, points, DEFAULT, {})
    assert decide_verdict(comparison, DEFAULT).verdict == "correct"
    assert problem.kinks == ()


def test_decide_verdict_kink_within_rounding_is_left_out() -> None:
    # 0.30000000000000004*1 - 0.3 is 5.6e-17: relu's argument is zero within rounding
    verdict = verdict_of("relu(w - 0.3)", {"w": "heaviside(w - 0.3)"}, [[0.3, 0.30000000000000004]])
    assert verdict.verdict == "inconclusive"
    assert verdict.reasons == (
        "no point where the function can be checked: all 2 points are at non-differentiable places",
    )


# ---- beyond float64's range, and conflicts elsewhere ------------------------------------


@pytest.mark.parametrize(("claim", "verdict"), [("exp(x)", "correct"), ("2*exp(x)", "incorrect")])
def test_decide_verdict_derivatives_beyond_float64(claim: str, verdict: str) -> None:
    assert verdict_of("exp(x)", {"x": claim}, _uniform(700, 720, 16)).verdict == verdict


def test_decide_verdict_a_conflict_elsewhere_does_not_veto_a_counterexample() -> None:
    points = np.vstack([_uniform(1, 2, 16), _uniform(700, 720, 16, seed=1)])
    expr = p("x^2 + exp(y)")
    problem = Problem.derive(expr, ("x", "y"), ("x", "y"))
    comparison = compare_gradient(problem, {"x": p("3*x")}, points, DEFAULT, {})
    assert decide_verdict(comparison, DEFAULT).verdict == "incorrect"


# ---- second opinions that settle: deep cancellation, underflow in the complex step ------


def test_decide_verdict_deep_cancellation_in_reverse_mode_is_settled_in_mpmath() -> None:
    verdict = verdict_of("1e30*(cosh(x) - sinh(x))", {"x": "-1e30*exp(-x)"}, _uniform(60, 70, 8))
    assert verdict.verdict == "correct"
    assert verdict.warnings[-1].startswith("reverse mode loses precision in float64 at 8 points")


# ---- boundaries that a mutation of the code would move ----------------------------------


def test_decide_verdict_a_claim_exactly_at_the_tolerance_is_close() -> None:
    # |claim - derived| = 0.5 = atol exactly (binary fractions, no rounding): close means <=
    at_atol = Tolerance(rtol=0.0, atol=0.5)
    points = [[1.0, 2.0, 4.0]]
    assert verdict_of("x^2", {"x": "2*x + 0.5"}, points, at_atol).verdict == "correct"
    assert verdict_of("x^2", {"x": "2*x + 0.50001"}, points, at_atol).verdict == "incorrect"


@pytest.mark.parametrize("function", ["1/(1 + exp(-x))", "sigmoid(x)"])
def test_decide_verdict_a_claim_cancelling_to_zero_is_still_convicted(function: str) -> None:
    # 2σ(1 - σ) is twice the derivative; for x in [790, 800] it is 0 in float64 and at up
    # to 240 digits, as is sigmoid(x)'s derived σ(1 - σ): only 480 digits tell them apart
    claim = {"x": "2*sigmoid(x)*(1 - sigmoid(x))"}
    verdict = verdict_of(function, claim, _uniform(790, 800, 16), NO_ATOL)
    assert verdict.verdict == "incorrect"
    assert verdict.evidence == (
        "counterexample at x=796.37: ∂/∂x expected 1.38379e-346, claimed 2.76758e-346; "
        "reverse mode agrees with the expected value"
    )


# ---- on a kink where the partial exists all the same: checked at the point -------------

HUBER = "where(abs(r) <= 1, r^2/2, abs(r) - 1/2)"
EXISTS_AT_KINK = "the point is on a kink, but {} exists there: its values on both sides tend "
EXISTS_AT_KINK += "to the expected value"


@pytest.mark.parametrize(
    ("function", "claim", "point", "expected", "claimed"),
    [
        ("x*abs(x)", "2*abs(x) + where(x == 0, 1, 0)", 0.0, "0", "1"),
        ("relu(x)**2", "2*relu(x) + where(x == 0, 1, 0)", 0.0, "0", "1"),
        ("abs(x)**3", "3*x*abs(x) + where(x == 0, 1, 0)", 0.0, "0", "1"),
        ("elu(x, 1)", "where(x > 0, 1, where(x < 0, exp(x), 0.5))", 0.0, "1", "0.5"),
        # Huber is C∞ at 0 (abs's kink) and C¹ at its switch, r = ±1
        (HUBER, "clip(r, -1, 1) + where(r == 0, 1, 0)", 0.0, "0", "1"),
        (HUBER, "where(abs(r) < 1, r, where(abs(r) > 1, sign(r), 0))", 1.0, "1", "0"),
    ],
)
def test_decide_verdict_a_wrong_claim_on_a_smooth_kink_is_incorrect(
    function: str, claim: str, point: float, expected: str, claimed: str
) -> None:
    name = "r" if function == HUBER else "x"
    verdict = verdict_of(function, {name: claim}, [[point, 0.5, -2.0]])
    assert (verdict.verdict, verdict.evidence, verdict.warnings) == (
        "incorrect",
        f"counterexample at {name}={point:g}: ∂/∂{name} expected {expected}, claimed {claimed}; "
        + EXISTS_AT_KINK.format(f"∂/∂{name}"),
        (),
    )


def test_decide_verdict_a_right_claim_on_a_smooth_kink_is_checked_there() -> None:
    verdict = verdict_of(HUBER, {"r": "clip(r, -1, 1)"}, [[0.0, 1.0, -1.0]])
    assert verdict == Verdict("correct", "agrees at 3 points", (), ())


def test_decide_verdict_a_genuine_kink_stays_left_out() -> None:
    # abs(x) has slopes -1 and 1 at 0, whatever the claim says there
    for claim in ("sign(x)", "sign(x) + where(x == 0, 1, 0)"):
        verdict = verdict_of("abs(x)", {"x": claim}, [[0.0, 0.5]])
        assert verdict == Verdict(
            "correct",
            "agrees at 1 point",
            (),
            ("1 point lies where the function is not differentiable (e.g. x=0); left out",),
        )


# ---- on a kink, unclaimed: the one-sided limits confirm the derived partial, or not -----

MISMATCH = "x*heaviside(x, 0) + x*heaviside(-x, 0) + y"  # x for x != 0: its formula gives 0


def test_decide_verdict_one_sided_limits_confirm_an_unclaimed_partial() -> None:
    on_kink = verdict_of("x*abs(x) + y", {}, [[0, 0, 0, 0], [0.5, -0.25, 0.75, -1]])
    assert on_kink == Verdict(
        "correct", "derived gradient confirmed by its one-sided limits at 4 points", (), ()
    )
    mixed = verdict_of("x*abs(x) + y", {}, [[0, 0.5, -0.3, 0.2], [0.5, -0.25, 0.75, -1]])
    assert mixed.evidence == (
        "derived gradient confirmed by reverse mode and finite differences at 3 points and by "
        "its one-sided limits at 1 point"
    )


def test_decide_verdict_says_where_a_formula_differs_from_its_one_sided_limits() -> None:
    warning = (
        "∂/∂x: its derived formula's value differs from its one-sided limits at 3 points on "
        "a kink (e.g. x=0, y=0.5); the limits are the reference there"
    )
    verdict = verdict_of(MISMATCH, {}, [[0, 0, 0], [0.5, -0.25, 0.75]])
    assert verdict == Verdict(
        "inconclusive",
        "",
        (
            "nothing confirms the derived ∂/∂x: no claim was given, no oracle is reliable at "
            "any point, and at 3 points on a kink its formula's value differs from its "
            "one-sided limits",
        ),
        (warning,),
    )
    elsewhere = verdict_of(MISMATCH, {}, [[0, 0, 0, 0.5], [0.5, -0.25, 0.75, -1]])
    assert (elsewhere.verdict, elsewhere.warnings) == ("correct", (warning,))
    assert elsewhere.evidence == (
        "derived gradient confirmed by reverse mode and finite differences at 1 point"
    )


def test_decide_verdict_probes_a_bounded_number_of_kink_points() -> None:
    # a = 0 throughout: each point is on relu's kink, where every partial exists
    points = np.vstack([np.zeros(40), np.linspace(-1, 1, 40), np.linspace(1, -1, 40)])
    drawn = verdict_of("relu(a)**2*x + y", {}, points)
    unprobed = (
        "{} points on a kink left out unprobed (e.g. a=0, x={}, y={}): whether the function "
        "is differentiable there is probed at 16 such points at most, besides the case's own"
    )
    assert drawn == Verdict(
        "correct",
        "derived gradient confirmed by its one-sided limits at 16 points",
        (),
        (unprobed.format(24, "-0.179487", "0.179487"),),
    )
    # the case's own points are probed, however many
    explicit = verdict_of("relu(a)**2*x + y", {}, points, explicit=20)
    assert explicit == Verdict(
        "correct",
        "derived gradient confirmed by its one-sided limits at 20 points",
        (),
        (unprobed.format(20, "0.025641", "-0.025641"),),
    )


# ---- precision, not absence: values that cancel beyond hundreds of digits ----------------


def test_decide_verdict_cancellation_beyond_960_digits_is_settled() -> None:
    # 1 - tanh(700)**2 cancels 608 digits: settled at 1920, proved or not, and refuted
    claim = {"x": "1-tanh(x)^2"}
    verdict = verdict_of("tanh(x)", claim, [[700.0]], NO_ATOL)
    assert verdict == Verdict("correct", "agrees at 1 point", (), ())
    wrong = verdict_of("tanh(x)", {"x": "2*(1-tanh(x)^2)"}, [[700.0]], NO_ATOL)
    assert wrong.evidence == (
        "counterexample at x=700: ∂/∂x expected 3.88853e-608, claimed 7.77706e-608; "
        "reverse mode agrees with the expected value"
    )
    # over [-800, 800] none of 64 points is left out (23 were, at most 960 digits)
    wide = verdict_of("tanh(x)", claim, _uniform(-800, 800), NO_ATOL)
    assert (wide.verdict, wide.evidence) == ("correct", "agrees at 64 points")
    assert not any("stable" in warning for warning in wide.warnings)


UNSETTLED = "no stable value even at 960 digits"


def test_decide_verdict_a_proved_claim_is_correct_where_mpmath_cannot_settle() -> None:
    # gamma caps the precision at 960 digits, where 1 - tanh(700)**2 does not settle
    # (without atol: else 3.9e-608, below atol·ε at 480 and 960 digits, settles as 0)
    claim = {"x": "gamma(y)*(1-tanh(x)^2)"}
    verdict = verdict_of("tanh(x)*gamma(y)", claim, [[700.0], [1.0]], NO_ATOL, proofs={"x": True})
    assert verdict.verdict == "correct"
    assert verdict.warnings[0] == (
        f"∂/∂x: 1 point could not be evaluated stably ({UNSETTLED}); left out (the claim is "
        "proved symbolically)"
    )
    unproved = verdict_of("tanh(x)*gamma(y)", claim, [[700.0], [1.0]], NO_ATOL, proofs={"x": False})
    assert unproved.verdict == "inconclusive"
    assert unproved.reasons == (f"∂/∂x could not be evaluated stably at any point ({UNSETTLED})",)


def test_decide_verdict_a_nan_from_overflow_is_evaluated_in_mpmath() -> None:
    # inf/(inf + 0) is NaN in float64, not a point outside the domain; ∂/∂a is 3.6e-652
    function = "exp(a)/(exp(a) + exp(b))"
    right = {"a": "exp(a)*exp(b)/(exp(a)+exp(b))^2", "b": "-exp(a)*exp(b)/(exp(a)+exp(b))^2"}
    overflow = (
        "the function overflows float64 at 1 point (e.g. a=800, b=-800); it was evaluated with "
        "mpmath there"
    )
    verdict = verdict_of(function, right, [[800.0], [-800.0]])
    assert verdict.verdict == "correct" and verdict.warnings[0] == overflow
    wrong = verdict_of(function, {**right, "a": "exp(a)/(exp(a)+exp(b))"}, [[800.0], [-800.0]])
    assert wrong.verdict == "incorrect"
    assert wrong.evidence.startswith("counterexample at a=800, b=-800: ∂/∂a expected 0, claimed 1;")
    # ∂/∂a (e^-5800) cancels beyond 3840 digits at b = -5000: the function itself, 1, is
    # known all the same, and the verdict says what is in doubt
    far = verdict_of(function, right, [[800.0], [-5000.0]], NO_ATOL)
    assert far.reasons == (
        "∂/∂a could not be evaluated stably at any point (no stable value even at 3840 digits)",
    )
    assert far.warnings[0] == overflow.replace("-800", "-5000")


def test_decide_verdict_a_derivative_cancelling_to_exactly_zero_settles() -> None:
    # (atan(x) + atan(1/x))' = 0 exactly; each precision left a remainder of its own size
    points = _uniform(0.5, 2.0)
    verdict = verdict_of("atan(x) + atan(1/x)", {"x": "0"}, points)
    assert verdict == Verdict(
        "correct",
        "agrees at 64 points",
        (),
        ("|∂/∂x| is below atol (1e-12) at every point: only the absolute tolerance was tested",),
    )
    wrong = verdict_of("atan(x) + atan(1/x)", {"x": "1/(1+x^2)"}, points)
    assert wrong.evidence == (
        "counterexample at x=0.504108: ∂/∂x expected 0, claimed 0.797369; reverse mode agrees "
        "with the expected value"
    )


# ---- values below atol·ε that no precision resolves --------------------------------------


def test_decide_verdict_a_derivative_below_atol_beyond_every_precision_is_confirmed() -> None:
    # 1 - tanh(x)^2 is 0 at up to 1920 digits here, and at most 1e-1998: negligible
    verdict = verdict_of("tanh(x)", {}, _uniform(2300, 4400))
    assert verdict == Verdict(
        "correct",
        "derived gradient confirmed by reverse mode and finite differences at 64 points",
        (),
        (),
    )


def test_decide_verdict_a_zero_that_may_hide_a_value_is_not_taken_for_zero() -> None:
    # exp(2x)*(1 - tanh(x)^2) is 4, but 0 at 30 and 60 digits: not a claim of 0
    verdict = verdict_of("4*x", {"x": "exp(2*x)*(1 - tanh(x)^2)"}, _uniform(70, 150, 16))
    assert verdict == Verdict(
        "correct",
        "agrees at 16 points",
        (),
        (
            "∂/∂x: float64 overflows or loses all precision at 16 points; re-evaluated with "
            "mpmath, the claim holds there",
        ),
    )


def test_decide_verdict_without_atol_a_value_no_precision_resolves_is_left_out() -> None:
    # 2*(1 - tanh(x)^2) is wrong, but 1 - tanh(x)^2 is 0 at 1920 digits here, and at
    # 3840 too beyond x = 4420: 0 == 0 there must not count as agreeing
    verdict = verdict_of("tanh(x)", {"x": "2*(1 - tanh(x)^2)"}, _uniform(4000, 5000), NO_ATOL)
    unsettled = "no stable value even at 3840 digits"
    assert verdict.verdict == "inconclusive"
    assert verdict.reasons == (f"∂/∂x could not be evaluated stably at any point ({unsettled})",)
    assert verdict.warnings == (
        f"∂/∂x: 64 points could not be evaluated stably ({unsettled}); left out",
    )
