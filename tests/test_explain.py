"""Explain stage: steps come from the rule table, in textbook order, and agree with
derive_gradient node by node; closed forms are recognised and proved."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from strategies import VARIABLES, Sample, constant_argument, fixed, samples

from diffcheck.errors import RuleError
from diffcheck.explain.steps import closed_form, explain_steps, recognise, recognise_nodes
from diffcheck.oracles.program import Program
from diffcheck.symbolic.derive import derive_gradient, local_partial
from diffcheck.symbolic.parse import parse_expression
from diffcheck.symbolic.printing import print_expression
from diffcheck.symbolic.rules import RULES, Rule, rule_for

x, u, v = sp.symbols("x u v")
sigmoid = RULES["sigmoid"].function


def p(text: str) -> sp.Expr:
    return parse_expression(text)


def _arguments(rule: Rule) -> list[sp.Expr]:
    """Fresh symbols for a call of `rule`, constants where it is not differentiated
    (polygamma's order, gammainc's a)."""
    count = rule.arity or 3
    return [constant_argument(rule, i) if fixed(rule, i) else sp.Symbol(f"a{i}")
            for i in range(count)]  # fmt: skip


def _differentiable() -> list:
    params = []
    for rule in RULES.values():
        if rule.inline and rule.build(_arguments(rule)).is_Mul:
            continue  # written out as a quotient (log(x, b) = log x / log b): explained as one
        for index, arg in enumerate(_arguments(rule)):
            if arg.is_Symbol:
                params.append(pytest.param(rule.name, index, id=f"{rule.name}-{index}"))
    return params


@pytest.mark.parametrize(("name", "index"), _differentiable())
def test_step_local_is_derive_gradients_partial(name: str, index: int) -> None:
    # one test for every rule of the table: a new entry is tested with no new code
    rule = RULES[name]
    args = _arguments(rule)
    node = rule.build(args)
    step = explain_steps(node, args[index])
    expected = derive_gradient(node, [args[index].name])[args[index].name]
    assert step.expr == node
    assert step.outer is None  # the rule itself, not the chain rule
    (local,) = step.local
    assert local == expected
    assert step.result == expected


def _inner_point(rule: Rule, index: int) -> float:
    """x such that the inner argument 3x + 1 lies in the middle of the rule's domain."""
    low, high = rule.test_domain[min(index, len(rule.test_domain) - 1)]
    return ((low + high) / 2 - 1) / 3


def _value(expr: sp.Expr, at: float) -> float:
    (value,) = Program([expr], ["x"]).evaluate(np.array([[at]]))
    return float(value[0])


@pytest.mark.parametrize(("name", "index"), _differentiable())
def test_chain_step_uses_the_rule_as_outer_derivative(name: str, index: int) -> None:
    rule = RULES[name]
    args = _arguments(rule)
    args[index] = 3 * x + 1
    node = rule.build(args)
    step = explain_steps(node, x)
    assert step.rule == "chain"
    # inline entries (sqrt, digamma) are a power and polygamma once built
    assert step.outer.rule == ("power" if node.is_Pow else rule_for(node).name)
    (term,) = step.terms
    assert term.argument == 3 * x + 1
    assert term.local == local_partial(node, list(node.args).index(3 * x + 1))
    at = _inner_point(rule, index)
    others = {a: sp.Float(0.5) for a in node.free_symbols - {x}}
    derived = derive_gradient(node, ["x"])["x"].xreplace(others)
    assert math.isclose(_value(step.result.xreplace(others), at), _value(derived, at),
                        rel_tol=1e-9, abs_tol=1e-12)  # fmt: skip


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("5", "constant"),
        ("x", "variable"),
        ("x + sin(x)", "sum"),
        ("3*x^2", "constant multiple"),
        ("x*sin(x)", "product"),
        ("sin(x)/x", "quotient"),
        ("x^3", "power"),
        ("2^x", "exponential"),
        ("x^x", "general power"),
        ("exp(x)", "exp"),
        ("log(x)", "log"),
        ("sin(x)", "sin"),
        ("cosh(x)", "cosh"),
        ("sigmoid(x)", "sigmoid"),
        ("relu(x)", "relu"),
        ("exp(2*x)", "chain"),
    ],
)
def test_steps_name_their_rule(text: str, rule: str) -> None:
    assert explain_steps(p(text), "x").rule == rule


def test_sigmoid_reads_like_a_textbook() -> None:
    expr = p("1/(1 + exp(-x))")
    step = explain_steps(expr, "x")
    # rewrite as (1 + e^-x)^-1, then the chain rule: outer -(1 + e^-x)^-2, inner -e^-x
    assert (step.rule, step.rewrite) == ("chain", expr)
    assert step.outer.rule == "power"
    assert (step.outer.expr, step.outer.derivatives) == (u**-1, (-(u**-2),))
    (term,) = step.terms
    assert term.local == -((1 + sp.exp(-x)) ** -2)
    assert (term.step.rule, term.step.result) == ("sum", -sp.exp(-x))
    assert step.result == sp.exp(-x) / (1 + sp.exp(-x)) ** 2
    found = closed_form(expr, "x", step.result)
    assert found.recognised == ((expr, sigmoid(x)),)
    assert found.expr == sigmoid(x) * (1 - sigmoid(x))
    assert found.verified


def test_tanh_of_tanh_keeps_the_table_forms() -> None:
    step = explain_steps(p("tanh(tanh(x))"), "x")
    assert step.outer.derivatives == (1 - sp.tanh(u) ** 2,)
    assert step.terms[0].step.rule == "tanh"
    assert step.result == (1 - sp.tanh(x) ** 2) * (1 - sp.tanh(sp.tanh(x)) ** 2)


@pytest.mark.parametrize("text", ["sigmoid(x)", "tanh(tanh(x))", "1/(1 + exp(-x))", "silu(x)"])
def test_no_step_turns_into_hyperbolic_cosines(text: str) -> None:
    # other step engines print sigma' as 1/(4 cosh^2(x/2)); every form here is the table's
    for step in explain_steps(p(text), "x").walk():
        for expr in (step.result, *step.local):
            assert not expr.has(sp.cosh, sp.sech), (step.rule, expr)


@given(samples())
def test_steps_agree_with_derive_gradient(sample: Sample) -> None:
    for name in VARIABLES:
        result = explain_steps(sample.expr, name).result
        derived = derive_gradient(sample.expr, [name])[name]
        program = Program([result, derived], VARIABLES)
        column = np.array([[value] for value in sample.column()])
        first, second = (float(values[0]) for values in program.evaluate(column))
        if math.isfinite(second):
            assert math.isclose(first, second, rel_tol=1e-8, abs_tol=1e-10)


def test_placeholders_avoid_the_expressions_names() -> None:
    step = explain_steps(p("sin(u^2)"), "u")
    assert step.outer.placeholders == (v,)


def test_several_dependent_arguments_get_a_placeholder_each() -> None:
    step = explain_steps(p("atan2(x, x^2)"), "x")
    assert [s.name for s in step.outer.placeholders] == ["u1", "u2"]
    assert len(step.terms) == 2


def test_no_derivative_is_a_rule_error() -> None:
    with pytest.raises(RuleError) as caught:
        explain_steps(sp.polygamma(x, 2), "x")
    assert str(caught.value) == (
        "no rule for polygamma argument 1: polygamma(x, 2) cannot be differentiated "
        "with respect to x"
    )


@pytest.mark.parametrize(
    ("text", "call"),
    [
        ("1/(1 + exp(-x))", "sigmoid(x)"),
        ("1/(1 + exp(-2*x - 1))", "sigmoid(2*x + 1)"),
        ("1/(1 + exp(x))", "sigmoid(-x)"),
        ("log(1 + exp(x))", "softplus(x)"),
        ("log(exp(x) + exp(2*x) + exp(3*x))", "logsumexp(x, 2*x, 3*x)"),
    ],
)
def test_recognise_written_out_activations(text: str, call: str) -> None:
    recognised, found = recognise(p(text))
    assert recognised == p(call)
    assert len(found) == 1


@pytest.mark.parametrize(
    "text", ["1/(2 + exp(-x))", "1/(1 + 2*exp(-x))", "1/(1 - exp(-x))", "log(2 + exp(x))"]
)
def test_lookalikes_are_not_recognised(text: str) -> None:
    assert recognise_nodes(p(text)) == {}
    assert closed_form(p(text), "x", sp.Integer(0)) is None


def test_nested_definitions_are_recognised_inside_out() -> None:
    recognised, found = recognise(p("1/(1 + exp(-1/(1 + exp(-x))))"))
    assert recognised == sigmoid(sigmoid(x))
    assert [call for _, call in found] == [sigmoid(x), sigmoid(sigmoid(x))]


def test_closed_form_is_only_verified_when_proved() -> None:
    expr = p("1/(1 + exp(-x))")
    assert not closed_form(expr, "x", sp.exp(x)).verified


def test_a_power_of_a_power_prints_with_brackets_that_keep_its_meaning() -> None:
    x = sp.Symbol("x")
    root = sp.Pow(x**2, sp.Rational(1, 2), evaluate=False)
    text = print_expression(root, power_form=True)
    assert text == "(x**2)**(1/2)"  # x**2**(1/2) would read as x**(2**(1/2))
    assert parse_expression(text).subs(x, 3) == 3
    step = explain_steps(parse_expression("sqrt(x^2)"), "x")
    assert print_expression(step.rewrite, power_form=True) == "(x**2)**(1/2)"


def test_placeholder_names_never_run_out_or_clash_with_variables() -> None:
    crowded = parse_expression("sin(u*v*p*q*u1*u2*u3*u4*u5*u6*u7*u8)")
    step = explain_steps(crowded, "u")
    assert step.outer.placeholders == (sp.Symbol("u9"),)
    pair = explain_steps(parse_expression("atan2(u2*x, x^2)"), "x")
    assert pair.outer.placeholders == (sp.Symbol("u1"), sp.Symbol("u3"))


def test_placeholders_avoid_the_names_they_are_told_are_taken() -> None:
    step = explain_steps(parse_expression("sin(2*u)"), "u", taken={"u", "v"})
    assert step.outer.placeholders == (sp.Symbol("p"),)
