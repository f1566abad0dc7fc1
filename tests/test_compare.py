"""Comparison stage: the one closeness test, and claims and oracles held to the reference."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from diffcheck.cases.loader import Tolerance
from diffcheck.compare import Comparison, compare_gradient, excess
from diffcheck.compare.judging import oracle_discrepancy
from diffcheck.oracles import Problem
from diffcheck.symbolic.parse import parse_expression

DEFAULT = Tolerance(rtol=1e-7, atol=1e-12)


def p(text: str) -> sp.Expr:
    return parse_expression(text)


def compare(
    function: str, claims: dict[str, str], points: list[list[float]], tolerance: Tolerance = DEFAULT
) -> Comparison:
    expr = p(function)
    variables = tuple(sorted(symbol.name for symbol in expr.free_symbols))
    problem = Problem.derive(expr, variables, variables)
    return compare_gradient(
        problem,
        {name: p(text) for name, text in claims.items()},
        np.array(points, dtype=float),
        tolerance,
    )


# ---- excess -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidate", "reference", "tolerance", "expected"),
    [
        (1.0 + 2e-7, 1.0, Tolerance(rtol=1e-7, atol=0.0), 2.0),
        (1.0, 1.0, Tolerance(rtol=0.0, atol=0.0), 0.0),
        (0.0, 0.0, Tolerance(rtol=0.0, atol=0.0), 0.0),
        (1e-12, 0.0, Tolerance(rtol=1e-7, atol=1e-12), 1.0),
        (3.0, 1.0, Tolerance(rtol=0.5, atol=1.0), 2 / 1.5),
        (1.0, 2.0, Tolerance(rtol=0.0, atol=0.0), float("inf")),
        (float("nan"), 1.0, Tolerance(rtol=1e-7, atol=0.0), float("inf")),
        (1.0, float("nan"), Tolerance(rtol=1e-7, atol=0.0), float("inf")),
        (float("inf"), float("inf"), Tolerance(rtol=1e-7, atol=0.0), float("inf")),
    ],
)
def test_excess_scalars(
    candidate: float, reference: float, tolerance: Tolerance, expected: float
) -> None:
    assert float(excess(candidate, reference, tolerance)) == pytest.approx(expected, rel=1e-9)


def test_excess_arrays_treat_nan_as_not_close() -> None:
    tolerance = Tolerance(rtol=1e-7, atol=0.0)
    ratio = excess(
        np.array([1.0, np.nan, 0.0, 2.0, np.inf]),
        np.array([1.0, 1.0, 0.0, np.nan, np.inf]),
        tolerance,
    )
    assert ratio[0] == 0.0
    assert np.isinf(ratio[1]) and np.isinf(ratio[3])
    assert ratio[2] == 0.0
    assert not ratio[4] <= 1  # inf - inf is not "close"


def test_excess_slack_widens_the_tolerance() -> None:
    tolerance = Tolerance(rtol=0.0, atol=1e-3)
    assert float(excess(1.004, 1.0, tolerance)) == pytest.approx(4.0)
    assert float(excess(1.004, 1.0, tolerance, slack=3e-3)) == pytest.approx(1.0)


def test_excess_works_on_mpmath_numbers() -> None:
    ctx = mpmath.MPContext()
    ctx.dps = 50
    ratio = excess(ctx.mpf(1) + ctx.mpf(10) ** -40, ctx.mpf(1), Tolerance(rtol=1e-45, atol=0))
    assert float(ratio) == pytest.approx(1e5)
    assert excess(ctx.nan, ctx.mpf(1), Tolerance(rtol=1e-7, atol=0)) == float("inf")


# ---- compare_gradient -----------------------------------------------------------------------


def test_compare_gradient_correct_claim_everywhere_close() -> None:
    comparison = compare(
        "sigmoid(x)", {"x": "sigmoid(x)*(1 - sigmoid(x))"}, [np.linspace(-30, 30, 13).tolist()]
    )
    (result,) = comparison.results
    assert comparison.usable.all()
    assert result.name == "x" and result.checked.all()
    assert not result.claimed.failing.any()
    assert set(result.oracles) >= {"finite"}
    assert not result.oracles["finite"].failing.any()


def test_compare_gradient_wrong_claim_fails_with_its_worst_point() -> None:
    comparison = compare("tanh(x)", {"x": "1 - tanh(x)"}, [[-3.0, -1.0, 0.5]])
    (result,) = comparison.results
    claimed = result.claimed
    assert claimed.failing.tolist() == [True, True, True]
    assert claimed.worst(claimed.failing) == 0  # at x = -3 the claim is 200 times too big
    assert claimed.values[0] == pytest.approx(1 - np.tanh(-3.0), rel=1e-15)
    assert result.reference[0] == pytest.approx(1 - np.tanh(-3.0) ** 2, rel=1e-14)


def test_compare_gradient_marks_undefined_points() -> None:
    comparison = compare("log(x)", {"x": "1/x"}, [[-1.0, 1.0, 2.0]])
    assert comparison.undefined.tolist() == [True, False, False]
    assert comparison.usable.tolist() == [False, True, True]


def test_compare_gradient_marks_kink_points() -> None:
    comparison = compare("relu(x) + abs(y - 1)", {}, [[0.0, 1.0, 2.0], [0.0, 1.0, 3.0]])
    assert comparison.at_kink.tolist() == [True, True, False]
    assert comparison.usable.tolist() == [False, False, True]


def test_compare_gradient_marks_overflow_and_refines_it() -> None:
    comparison = compare("exp(x)/(1 + exp(x))^2", {}, [[800.0, -800.0, 0.5, 750.0]])
    assert comparison.overflowed.tolist() == [True, False, False, True]
    assert comparison.usable.all()


def test_compare_gradient_refines_float64_cancellation() -> None:
    comparison = compare(
        "tanh(x)", {"x": "1/cosh(x)^2"}, [[19.0, 0.5]], Tolerance(rtol=1e-7, atol=0.0)
    )
    (result,) = comparison.results
    assert result.reference[0] == pytest.approx(1.2557e-16, rel=1e-4)  # float64 says 0
    assert not result.claimed.failing.any()
    assert result.artefacts >= 1


def test_compare_gradient_multiple_variables_in_wrt_order() -> None:
    expr = p("x*y^2")
    problem = Problem.derive(expr, ("y", "x"), ("x", "y"))
    comparison = compare_gradient(
        problem, {"x": p("y^2")}, np.array([[1.0, 2.0], [3.0, 4.0]]), DEFAULT
    )
    assert [result.name for result in comparison.results] == ["y", "x"]
    assert comparison.results[0].claimed is None
    assert comparison.results[1].claimed is not None
    assert np.allclose(comparison.results[0].reference, [6.0, 16.0])


def test_an_oracle_may_be_four_of_its_error_bars_off() -> None:
    # error bars are estimates: a disagreement counts beyond 4 of them (plus rtol FD_RTOL)
    reference = np.ones(4)
    errors = np.full(4, 1e-4)
    values = reference + np.array([-3.9e-4, 3.9e-4, -4.1e-4, 4.1e-4])
    judged = oracle_discrepancy("finite", "central", values, errors, reference,
                                Tolerance(rtol=1e-7, atol=0.0), np.ones(4, dtype=bool))  # fmt: skip
    assert judged.failing.tolist() == [False, False, True, True]
    assert not judged.unreliable.any()
