"""The functions peers' derivative tables have, through every stage: values at their edges
(heaviside's h0, where's undefined branch), kinks and jumps, where's masks in derived
gradients and reverse mode, derivatives that do not exist, LaTeX and pickling.

The table test (test_rules.py) checks each entry's partials and kernels; this one checks
what the entries mean to the stages that read them."""

from __future__ import annotations

import pickle

import mpmath
import numpy as np
import pytest
import sympy as sp

from diffcheck.errors import RuleError
from diffcheck.oracles import Problem
from diffcheck.oracles.problem import on_kinks
from diffcheck.oracles.program import Program
from diffcheck.oracles.reverse import ReverseMode
from diffcheck.report.latex import latex_expression
from diffcheck.symbolic.derive import derive_gradient, format_expression, kink_expressions
from diffcheck.symbolic.masks import mask_products
from diffcheck.symbolic.parse import parse_expression as p
from diffcheck.symbolic.values import constant_float

CTX = mpmath.MPContext()
CTX.dps = 30


def _values(expr: sp.Expr, variables: list[str], *points: list[float]) -> list[float]:
    (values,) = Program([expr], variables).evaluate(np.array(points, dtype=float).T)
    return [float(v) for v in values]


def _mp_value(expr: sp.Expr, variables: list[str], point: list[float]) -> float:
    (value,) = Program([expr], variables).evaluate_mp(point, CTX)
    return float(value)


# ---- values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "at", "expected"),
    [
        ("heaviside(x, 0)", 0.0, 0.0),
        ("heaviside(x, 1)", 0.0, 1.0),
        ("heaviside(x, 0.25)", 0.0, 0.25),
        ("heaviside(x, 0.25)", -1.0, 0.0),
        ("heaviside(x)", 0.0, 0.5),
        ("where(x >= 0, 1, 2)", 0.0, 1.0),
        ("where(x > 0, 1, 2)", 0.0, 2.0),
        ("where(x == 0, 1, 2)", 0.0, 1.0),
        ("where(x != 0, 1, 2)", 0.0, 2.0),
        # the branch not taken may be undefined
        ("where(x > 0, log(x), 0)", -1.0, 0.0),
        ("where(x > 0, sqrt(x), 7)", -4.0, 7.0),
        ("round(x)", 2.5, 2.0),  # halves to even, as NumPy and PyTorch
        ("round(x)", 3.5, 4.0),
        ("trunc(x)", -2.7, -2.0),
        ("mod(x, 3)", -7.5, 1.5),  # the sign of the divisor
        ("mod(x, -3)", 7.5, -1.5),
        ("clip(x, -1, 1)", 5.0, 1.0),
        ("sinc(x)", 0.0, 1.0),
        ("xlogy(x, x)", 0.0, 0.0),  # 0 log 0 = 0
    ],
)
def test_new_functions_value_in_float64_and_mpmath(text: str, at: float, expected: float) -> None:
    expr = p(text)
    assert _values(expr, ["x"], [at]) == [expected]
    assert _mp_value(expr, ["x"], [at]) == expected


def test_where_with_an_undefined_condition_is_undefined() -> None:
    expr = p("where(log(x) > 0, 1, 2)")
    assert np.isnan(_values(expr, ["x"], [-1.0])[0])
    assert np.isnan(_mp_value(expr, ["x"], [-1.0]))


def test_constant_calls_of_the_new_functions() -> None:
    assert constant_float(p("betainc(2, 3, 1/2)")) == pytest.approx(11 / 16, rel=1e-15)
    assert constant_float(p("gammainc(1, 2) + gammaincc(1, 2)")) == pytest.approx(1, rel=1e-15)
    assert constant_float(p("besselj(0, 0) + i0(0)")) == 2.0


# ---- derivatives ---------------------------------------------------------------------


def test_heaviside_h0_derivative_is_1_at_the_tie_only() -> None:
    gradient = derive_gradient(p("heaviside(x, h)"), ["x", "h"])
    assert gradient["x"] == 0
    assert _values(gradient["h"], ["x", "h"], [0.0, 0.3], [1.0, 0.3], [-1.0, 0.3]) == [1, 0, 0]


@pytest.mark.parametrize("text", ["gammainc(a, x)", "gammaincc(a, x)", "betainc(a, b, x)"])
def test_incomplete_gamma_and_beta_have_no_derivative_in_their_parameters(text: str) -> None:
    assert derive_gradient(p(text), ["x"])["x"] != 0  # in x they have one
    with pytest.raises(RuleError) as caught:
        derive_gradient(p(text), ["a"])
    assert str(caught.value) == (
        f"no rule for {text.split('(')[0]} argument 1: {text} cannot be differentiated "
        "with respect to a"
    )


def test_derived_gradient_through_where_is_0_off_the_branch_not_nan() -> None:
    # heaviside(x, 0)/(2 sqrt x) would be 0·NaN for x < 0; the derivative there is 0
    gradient = derive_gradient(p("where(x > 0, sqrt(x), 0)"), ["x"])["x"]
    assert format_expression(gradient) == "where(x > 0, 1/(2*sqrt(x)), 0)"
    assert _values(gradient, ["x"], [-1.0], [4.0]) == [0.0, 0.25]
    assert _mp_value(gradient, ["x"], [-1.0]) == 0.0


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("heaviside(x, 0)*log(x)", "where(x > 0, log(x), 0)"),
        ("heaviside(x, 1)*log(x)", "where(x < 0, 0, log(x))"),
        ("2*where(x > 0, log(x), 0)", "where(x > 0, 2*log(x), 0)"),
        ("heaviside(x, 0)*log(x) + heaviside(x, 0)*y", "where(x > 0, y + log(x), 0)"),
        ("heaviside(x, 0)*heaviside(y, 0)*z", "where(x > 0, where(y > 0, z, 0), 0)"),
        ("heaviside(x, 0) + 1", "heaviside(x, 0) + 1"),  # no product: nothing to mask
        ("heaviside(x, 0.5)*y", "y*heaviside(x, 1/2)"),  # not an indicator
        ("log(x)*(heaviside(x, 0) + y)", "log(x)*(y + heaviside(x, 0))"),
    ],
)
def test_mask_products(text: str, masked: str) -> None:
    assert format_expression(mask_products(p(text))) == masked


def test_reverse_mode_through_where_is_0_off_the_branch_not_nan() -> None:
    problem = Problem.derive(p("where(x > 0, sqrt(x), 0) + where(x < 1, x, log(x - 1))"),
                             ("x",), ("x",))  # fmt: skip
    points = np.array([[-1.0, 0.25, 4.0]])
    estimate = ReverseMode().gradient(problem, points)
    assert estimate.values["x"].tolist() == [1.0, 2.0, 0.25 + 1 / 3]
    second, _ = ReverseMode().second_opinion(problem, points, "x")
    assert second.tolist() == pytest.approx([1.0, 2.0, 0.25 + 1 / 3], rel=1e-15)


# ---- kinks and jumps -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "on", "off"),
    [
        ("floor(x)", [2.0, -1.0], [0.3, 2.5, 0.0001]),
        ("ceil(x)", [2.0], [0.3, -0.7]),
        ("trunc(x)", [2.0, -3.0], [0.3, -0.7]),
        ("round(x)", [2.5, -0.5], [0.3, 2.0]),
        ("mod(x, 0.5)", [1.5, -2.0], [0.3, 0.7]),
        ("clip(x, -1, 1)", [-1.0, 1.0], [0.3, 5.0]),
        ("where(x > 1, x, 0)", [1.0], [0.3, 5.0]),
        ("heaviside(x, 0)", [0.0], [0.3, -5.0]),
    ],
)
def test_jumps_are_kinks_and_the_rest_is_not(text: str, on: list[float], off: list[float]) -> None:
    kinks = kink_expressions(p(text))
    hit = on_kinks(Program(list(kinks), ["x"]), np.array([on + off])).any(axis=0)
    assert hit.tolist() == [True] * len(on) + [False] * len(off)


def test_step_results_of_zero_are_exact_not_underflow() -> None:
    # floor(0.3) = 0 from a non-zero argument is no underflow: no rounding doubt there
    texts = ["floor(x)", "mod(x, 0.5)", "where(x > 0, 0, x)", "xlogy(x, 1)"]
    program = Program([p(text) for text in texts], ["x"])
    outputs = program.evaluate(np.array([[0.3, 1.0]]), conditioning=True)
    assert [factor.tolist() for factor in outputs[4:]] == [[1.0, 1.0]] * 4  # one per output


# ---- printing and pickling -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "latex"),
    [
        ("where(x < y, a, b)", r"\begin{cases} a & y > x \\ b & \text{otherwise} \end{cases}"),
        ("where(x == 0, a, b)", r"\begin{cases} b & x \ne 0 \\ a & \text{otherwise} \end{cases}"),
        ("besselj(2, x)", r"J_{2}\left(x\right)"),
        ("besselk(1, x)^2", r"K_{1}^{2}\left(x\right)"),
        ("i0(x)", r"I_{0}\left(x\right)"),
        ("betainc(a, b, x)", r"I_{x}\left(a, b\right)"),
        ("gammainc(a, x)", r"P\left(a, x\right)"),
        ("floor(x)", r"\left\lfloor x \right\rfloor"),
        ("heaviside(x, 0)", r"\theta\left(x, 0\right)"),
    ],
)
def test_latex_of_the_new_functions(text: str, latex: str) -> None:
    assert latex_expression(p(text)) == latex


def test_new_table_functions_pickle() -> None:
    # worker processes receive cases by pickle
    expr = p("where(x < y, heaviside(x, 0), floor(x)) + gammainc(2, x) + sinc(y)")
    assert pickle.loads(pickle.dumps(expr)) == expr
