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
from diffcheck.explain.steps import explain_steps
from diffcheck.oracles import Problem
from diffcheck.oracles.problem import on_kinks
from diffcheck.oracles.program import OutOfReach, Program
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
        ("sec(x)", 0.0, 1.0),
        ("sech(x)", 0.0, 1.0),
        ("cot(x)", np.pi / 2, 6.123233995736766e-17),  # cot of the float nearest π/2
        ("asec(x)", 1.0, 0.0),
        ("asec(x)", -1.0, np.pi),  # not -π: √(x² - 1) is +0 there
        ("acsc(x)", -1.0, -np.pi / 2),
        ("acot(x)", 0.0, np.pi / 2),  # SymPy's and mpmath's: atan(1/x), π/2 at 0
        ("acot(x)", -1.0, -np.pi / 4),
        ("log(x, 2)", 0.5, -1.0),
        ("log2(x)", 0.25, -2.0),
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


@pytest.mark.parametrize(
    ("text", "derivative"),
    [
        # the compact forms of textbooks, from the table's partials over OUT
        ("sec(x)", "sec(x)*tan(x)"),
        ("csc(x)", "-cot(x)*csc(x)"),
        ("cot(x)", "-cot(x)**2 - 1"),
        ("sech(x)", "-sech(x)*tanh(x)"),
        ("csch(x)", "-coth(x)*csch(x)"),
        ("coth(x)", "1 - coth(x)**2"),
        ("asec(x)", "1/(x**2*sqrt(1 - 1/x**2))"),
        ("acsc(x)", "-1/(x**2*sqrt(1 - 1/x**2))"),
        ("acot(x)", "-1/(x**2 + 1)"),
        ("sec(2*x)", "2*sec(2*x)*tan(2*x)"),
        ("log2(x)", "1/(x*log(2))"),
        ("log10(x)", "1/(x*log(10))"),
    ],
)
def test_reciprocal_functions_derive_to_their_textbook_forms(text: str, derivative: str) -> None:
    assert format_expression(derive_gradient(p(text), ["x"])["x"]) == derivative


def test_log_with_a_base_is_differentiated_in_both_arguments() -> None:
    gradient = derive_gradient(p("log(x, b)"), ["x", "b"])
    assert format_expression(gradient["x"]) == "1/(x*log(b))"
    assert format_expression(gradient["b"]) == "-log(x)/(b*log(b)**2)"
    x, b = sp.symbols("x b")
    assert sp.simplify(gradient["b"] - sp.diff(sp.log(x, b), b)) == 0
    assert _values(gradient["b"], ["x", "b"], [8.0, 2.0]) == pytest.approx(
        [-3 / (2 * np.log(2))], rel=1e-15
    )


@pytest.mark.parametrize(
    ("wrt", "rule", "result"),
    [
        ("x", "constant multiple", "1/(x*log(b))"),
        ("b", "constant multiple", "-log(x)/(b*log(b)**2)"),
    ],
)
def test_log_with_a_base_is_explained_as_the_quotient_it_is(
    wrt: str, rule: str, result: str
) -> None:
    step = explain_steps(p("log(x, b)"), sp.Symbol(wrt))
    assert (step.rule, format_expression(step.result)) == (rule, result)


def test_reciprocal_functions_of_huge_arguments_are_out_of_reach() -> None:
    # sech and csch are e^-|x| in disguise: mpmath's cosh of 1e3900 takes seconds
    for text in ("sech(exp(x))", "csch(exp(x))"):
        with pytest.raises(OutOfReach, match=r"^(sech|csch) of 4\.47e\+3908$"):
            Program([p(text)], ["x"]).forward_mp([9000.0], CTX)


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
        ("acot(x)", [0.0], [0.3, -5.0]),  # atan(1/x) jumps from -π/2 to π/2
        ("sec(x) + coth(x) + asec(x)", [], [0.3, -5.0]),  # poles are no kinks, as tan's
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
        ("sec(x)^2", r"\sec^{2}\left(x\right)"),
        ("csc(x) + cot(x)", r"\cot\left(x\right) + \csc\left(x\right)"),
        ("sech(x)", r"\operatorname{sech}\left(x\right)"),
        ("csch(x) + coth(x)", r"\coth\left(x\right) + \operatorname{csch}\left(x\right)"),
        ("asec(x)", r"\operatorname{arcsec}\left(x\right)"),
        (
            "acsc(x) + acot(x)",
            r"\operatorname{arccot}\left(x\right) + \operatorname{arccsc}\left(x\right)",
        ),
        ("log(x, b)", r"\frac{\log\left(x\right)}{\log\left(b\right)}"),
    ],
)
def test_latex_of_the_new_functions(text: str, latex: str) -> None:
    assert latex_expression(p(text)) == latex


def test_new_table_functions_pickle() -> None:
    # worker processes receive cases by pickle
    expr = p("where(x < y, heaviside(x, 0), floor(x)) + gammainc(2, x) + sinc(y)")
    assert pickle.loads(pickle.dumps(expr)) == expr
