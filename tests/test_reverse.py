"""The reverse-mode oracle: one backward sweep over the DAG, independent of the symbolic
engine, agrees with the symbolic derivative on every rule of the table and on random
expressions; its mpmath sweep is the second opinion; `sweep` gives the bucket relay."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given
from strategies import (
    ALL_RULES,
    CTX,
    VARIABLES,
    Sample,
    constant_argument,
    fixed,
    interval,
    samples,
)

from diffcheck.oracles import Problem
from diffcheck.oracles.program import Program
from diffcheck.oracles.reverse import ReverseMode
from diffcheck.symbolic.parse import parse_expression
from diffcheck.symbolic.rules import Rule

REVERSE = ReverseMode()


def _call(rule: Rule) -> tuple[sp.Expr, tuple[str, ...], np.ndarray]:
    """`rule` applied to fresh variables, and 16 points inside its test domain."""
    count = 3 if rule.arity is None else rule.arity
    names = tuple(f"a{index}" for index in range(count))
    args = [constant_argument(rule, i) if fixed(rule, i) else sp.Symbol(n)
            for i, n in enumerate(names)]  # fmt: skip
    expr = rule.build(args) if rule.name not in ("add", "mul", "pow") else rule.function(*args)
    variables = tuple(sorted(s.name for s in expr.free_symbols))
    rng = np.random.default_rng(7)
    rows = [rng.uniform(*interval(rule, names.index(name)), 16) for name in variables]
    return expr, variables, np.array(rows)


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.name)
def test_reverse_matches_the_symbolic_derivative_for_every_rule(rule: Rule) -> None:
    expr, variables, points = _call(rule)
    problem = Problem.derive(expr, variables, variables)
    exact = Program([problem.gradient[n] for n in variables], variables).evaluate(points)
    estimate = REVERSE.gradient(problem, points)
    for name, expected in zip(variables, exact, strict=True):
        away_from_kinks = np.isfinite(expected)
        assert np.allclose(estimate.values[name][away_from_kinks], expected[away_from_kinks],
                           rtol=1e-10, atol=1e-12), name  # fmt: skip


@given(samples(max_depth=4))
def test_reverse_agrees_with_the_symbolic_derivative_on_random_expressions(sample: Sample):
    problem = Problem.derive(sample.expr, VARIABLES, VARIABLES)
    column = np.array([[value] for value in sample.column()])
    exact = Program([problem.gradient[n] for n in VARIABLES], VARIABLES).evaluate_mp(
        sample.column(), CTX
    )
    estimate = REVERSE.gradient(problem, column)
    for name, expected in zip(VARIABLES, exact, strict=True):
        assume(CTX.isfinite(expected) and abs(expected) < 1e200)
        value = estimate.values[name][0]
        if not np.isfinite(value):  # float64 overflowed inside the sweep: mpmath's answers
            (values, _) = REVERSE.second_opinion(problem, column, name)
            value = values[0]
        scale = 1e-8 * (abs(float(expected)) + 1e-8)
        assert abs(value - float(expected)) <= scale, (name, value)


def test_reverse_shares_a_sub_expression_and_sums_its_adjoints() -> None:
    expr = parse_expression("sigmoid(x*y)^2 + sigmoid(x*y)")
    problem = Problem.derive(expr, ("x", "y"), ("x", "y"))
    points = np.array([[0.3, -1.2], [2.0, 0.5]])
    estimate = REVERSE.gradient(problem, points)
    exact = Program([problem.gradient["x"]], ("x", "y")).evaluate(points)[0]
    assert np.allclose(estimate.values["x"], exact, rtol=1e-14)


def test_reverse_deep_chain_has_no_depth_limit() -> None:
    expr = sp.Symbol("x")
    for _ in range(300):
        expr = parse_expression("sigmoid(u)").subs(sp.Symbol("u"), expr)
    problem = Problem.derive(expr, ("x",), ("x",))
    points = np.array([[-1.0, 0.0, 2.0]])
    exact = Program([problem.gradient["x"]], ("x",)).evaluate(points)[0]
    assert np.allclose(REVERSE.gradient(problem, points).values["x"], exact, rtol=1e-12)


def test_reverse_second_opinion_sweeps_in_mpmath() -> None:
    # 1 - tanh(19)^2 is 0 in float64 and 1.2557e-16 in truth
    problem = Problem.derive(parse_expression("tanh(x)"), ("x",), ("x",))
    points = np.array([[19.0]])
    assert REVERSE.gradient(problem, points).values["x"][0] == 0.0
    values, errors = REVERSE.second_opinion(problem, points, "x")
    expected = float(1 - mpmath.tanh(19) ** 2)
    assert values[0] == pytest.approx(expected, rel=1e-12)
    assert errors[0] < 1e-40


def test_reverse_sweep_gives_every_forward_value_and_adjoint() -> None:
    program = Program([parse_expression("(w*x - t)^2/2")], ("t", "w", "x"))
    values, adjoints = REVERSE.sweep(program, [1.0, 0.5, 3.0])
    by_name = {}
    for step, value, adjoint in zip(program.steps, values, adjoints, strict=True):
        if step.row is not None:
            by_name[program.variables[step.row]] = (value, adjoint)
    # L = (w x - t)^2 / 2 = 0.125: dL/dw = (w x - t) x = 1.5, dL/dx = 0.25, dL/dt = -0.5
    assert by_name == {"t": (1.0, -0.5), "w": (0.5, 1.5), "x": (3.0, 0.25)}
    assert values[program.outputs[0]] == 0.125 and adjoints[program.outputs[0]] == 1.0
