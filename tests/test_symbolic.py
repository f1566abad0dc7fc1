"""Symbolic stage: compact derivatives, deep chains, proofs within a budget, kinks."""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp

from diffcheck.errors import RuleError
from diffcheck.oracles.program import Program
from diffcheck.symbolic.derive import (
    derive_gradient,
    expand_definitions,
    fold_intermediates,
    format_expression,
    kink_expressions,
    nodes_in_order,
    prove_equal,
)
from diffcheck.symbolic.parse import parse_expression
from diffcheck.symbolic.rules import RULES

x, y, z, a, b, c, w = sp.symbols("x y z a b c w")
sigmoid, softplus, logsumexp = (RULES[n].function for n in ("sigmoid", "softplus", "logsumexp"))
relu, heaviside, sign = (RULES[n].function for n in ("relu", "heaviside", "sign"))
CTX = mpmath.MPContext()
CTX.dps = 40


def p(text: str) -> sp.Expr:
    return parse_expression(text)


# ---- compact forms --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "wrt", "expected"),
    [
        ("sigmoid(x)", "x", (1 - sigmoid(x)) * sigmoid(x)),
        ("softplus(x)", "x", sigmoid(x)),
        ("tanh(x)", "x", 1 - sp.tanh(x) ** 2),
        ("exp(x)", "x", sp.exp(x)),
        ("tan(x)", "x", 1 + sp.tan(x) ** 2),
        ("relu(x)", "x", heaviside(x)),
        ("abs(x)", "x", sign(x)),
        ("sqrt(x)", "x", 1 / (2 * sp.sqrt(x))),
        ("polygamma(1, x)", "x", sp.polygamma(2, x)),
        ("x", "y", sp.Integer(0)),
        ("2", "x", sp.Integer(0)),
    ],
)
def test_derive_gradient_keeps_compact_forms(text: str, wrt: str, expected: sp.Expr) -> None:
    assert derive_gradient(p(text), [wrt]) == {wrt: expected}


def test_derive_gradient_chain_rule_keeps_the_compact_form() -> None:
    (derivative,) = derive_gradient(p("sigmoid(2*x)"), ["x"]).values()
    assert not derivative.has(sp.exp)
    assert sp.expand(derivative - 2 * (1 - sigmoid(2 * x)) * sigmoid(2 * x)) == 0


def test_derive_gradient_logsumexp_gives_softmax_weights() -> None:
    out = logsumexp(a, b, c)
    assert derive_gradient(p("logsumexp(a, b, c)"), ["a", "b", "c"]) == {
        "a": sp.exp(a - out),
        "b": sp.exp(b - out),
        "c": sp.exp(c - out),
    }


def test_derive_gradient_keeps_wrt_order_and_shares_subexpressions() -> None:
    gradient = derive_gradient(p("x*y + sin(x*y)"), ["y", "x"])
    assert list(gradient) == ["y", "x"]
    assert gradient == {"y": x * (sp.cos(x * y) + 1), "x": y * (sp.cos(x * y) + 1)}


@pytest.mark.parametrize(
    "text",
    [
        "sigmoid(x)*tanh(y)",
        "x**y",
        "log1p(x*y) + expm1(y)",
        "atan2(y, x)",
        "gelu(x)*silu(y)",
        "softsign(x - y)",
        "erfinv(x/3) + erfc(y)",
        "logsumexp(x, 2*y, x*y)",
        "x**3*y**-2",
        "leaky_relu(x, y)",
        "elu(x, y)",
        "polygamma(2, x + 2)",
        "gamma(x + 2) + lgamma(y + 2)",
    ],
)
def test_derive_gradient_equals_sympy_diff_of_definitions(text: str) -> None:
    expr = p(text)
    gradient = derive_gradient(expr, ["x", "y"])
    real = {x: sp.Dummy("x", real=True), y: sp.Dummy("y", real=True)}
    expanded = expand_definitions(expr).xreplace(real)  # real: |x|' is sign(x)
    point = {x: sp.Rational(3, 10), y: sp.Rational(7, 10)}
    for name, symbol in (("x", x), ("y", y)):
        ours = sp.N(gradient[name].xreplace(point), 30)
        derivative = sp.diff(expanded, real[symbol])
        theirs = sp.N(derivative.xreplace({real[s]: v for s, v in point.items()}), 30)
        assert abs(ours - theirs) <= 1e-25 * (1 + abs(theirs)), name


def test_derive_gradient_polygamma_order_has_no_rule() -> None:
    with pytest.raises(RuleError):
        derive_gradient(sp.polygamma(z, x), ["z"])


# ---- deep chains ------------------------------------------------------------------------


def _sigmoid_chain(depth: int) -> sp.Expr:
    expr = x
    for _ in range(depth):
        expr = sigmoid(expr)
    return expr


@pytest.mark.parametrize("depth", [100, 300])
def test_derive_gradient_deep_sigmoid_chain(depth: int) -> None:
    derivative = derive_gradient(_sigmoid_chain(depth), ["x"])["x"]  # no RecursionError
    value = CTX.mpf(0.3)
    product = CTX.mpf(1)
    for _ in range(depth):
        value = 1 / (1 + CTX.exp(-value))
        product *= value * (1 - value)
    (ours,) = Program([derivative], ["x"]).evaluate_mp([0.3], CTX)
    assert abs(ours - product) <= CTX.mpf(10) ** -30 * product


def test_nodes_in_order_children_first_and_once() -> None:
    expr = p("sigmoid(x*y) + sigmoid(x*y)**2")
    order = nodes_in_order([expr])
    assert order[-1] == expr
    assert len(order) == len(set(order))
    position = {node: index for index, node in enumerate(order)}
    assert all(position[arg] < position[node] for node in order for arg in node.args)


def test_nodes_in_order_deep_chain() -> None:
    order = nodes_in_order([_sigmoid_chain(2000)])
    assert len(order) == 2001 and order[0] == x


# ---- proofs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "derived"),
    [
        ("2*sigmoid(2*x) - 1", "tanh(x)"),
        ("sigmoid(x)*(1 - sigmoid(x))", "exp(-x)/(1 + exp(-x))^2"),
        ("1 - tanh(x)^2", "1/cosh(x)^2"),
        ("4*sigmoid(2*x)*(1 - sigmoid(2*x))", "1 - tanh(x)^2"),
        ("sigmoid(x)", "exp(x)/(1 + exp(x))"),
        ("softplus(x) - softplus(-x)", "x"),
        ("logsumexp(a, b)", "log(exp(a) + exp(b))"),
        ("exp(a - logsumexp(a, b, c))", "exp(a)/(exp(a) + exp(b) + exp(c))"),
        ("relu(x)", "max(x, 0)"),
        ("sin(x)^2 + cos(x)^2", "1"),
    ],
)
def test_prove_equal_proves_identities(claim: str, derived: str) -> None:
    assert prove_equal(p(claim), p(derived)) is True


@pytest.mark.parametrize(
    ("claim", "derived"),
    [
        ("tanh(x)", "tanh(x) + 1"),
        ("sigmoid(x)", "sigmoid(x) + 1e-30"),
        ("x", "abs(x)"),
        ("1 - tanh(x)", "1 - tanh(x)^2"),
    ],
)
def test_prove_equal_does_not_prove_differences(claim: str, derived: str) -> None:
    assert prove_equal(p(claim), p(derived)) is False


def test_prove_equal_gives_up_within_its_budget() -> None:
    # SymPy needs far longer than the budget to expand this; a budget-less run hangs
    hard = p("(sin(a) + cos(b) + tanh(c) + sigmoid(x))^12")
    assert prove_equal(hard, hard * (1 + sp.Rational(1, 10**20)), budget=0.05) is False


# ---- kinks, definitions, intermediates, printing ------------------------------------------


@pytest.mark.parametrize(
    ("text", "kinks"),
    [
        ("relu(x)", {x}),
        ("abs(x - 1) + relu(y)", {x - 1, y}),
        ("max(x, y)", {x - y}),
        ("min(x, 1)", {x - 1}),
        ("sign(x) * heaviside(y)", {x, y}),
        ("leaky_relu(x, a) + elu(y, 1)", {x, y}),
        ("relu(relu(x))", {x, relu(x)}),
        ("relu(x) + relu(x)", {x}),
        ("relu(2) + x", set()),
        ("sigmoid(x) + softsign(x) + gelu(x)", set()),
    ],
)
def test_kink_expressions(text: str, kinks: set) -> None:
    found = kink_expressions(p(text))
    assert len(found) == len(set(found))
    assert set(found) == kinks


def test_expand_definitions_replaces_table_functions() -> None:
    expanded = expand_definitions(p("sigmoid(x) + softplus(x) + logsumexp(a, b, c)"))
    assert expanded == (
        1 / (1 + sp.exp(-x)) + sp.log(1 + sp.exp(x)) + sp.log(sp.exp(a) + sp.exp(b) + sp.exp(c))
    )


def test_fold_intermediates_writes_the_chain_with_its_names() -> None:
    s = sp.Symbol("s")
    substitutions = {
        z: w * x + b,
        s: sigmoid(w * x + b),
        sp.Symbol("k"): sp.Integer(3),
        sp.Symbol("u"): x,
    }
    expr = sigmoid(w * x + b) * (1 - sigmoid(w * x + b)) * x + (w * x + b) ** 2
    assert fold_intermediates(expr, substitutions) == s * (1 - s) * x + z**2


def test_fold_intermediates_without_substitutions() -> None:
    assert fold_intermediates(x**2, {}) == x**2


def test_format_expression_is_case_file_syntax() -> None:
    assert format_expression(p("x^2/2")) == "x**2/2"
    assert format_expression(p("Max(x, y) + Abs(x)")) == "abs(x) + max(x, y)"
    assert format_expression(p("-t + y")) == "y - t"  # a positive term first
    assert format_expression(derive_gradient(p("sigmoid(x)"), ["x"])["x"]) == (
        "sigmoid(x)*(1 - sigmoid(x))"
    )


def test_format_expression_deep_chain() -> None:
    text = format_expression(_sigmoid_chain(1500))
    assert text == "sigmoid(" * 1500 + "x" + ")" * 1500
