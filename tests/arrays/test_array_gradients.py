"""One table of operations, every reference derivative checked against the oracles.

For each row: the VJP built by `vjp_expressions` and evaluated, dotted with a random
direction v, equals u·J·v from the complex step (analytic operations) or from central
differences with Richardson extrapolation (kinks, where, max); evaluation in float64
equals evaluation in mpmath; the adjoints themselves evaluate alike in both.
"""

from __future__ import annotations

import numpy as np
import pytest
from arrays_support import OPERATIONS, OpCase

from diffcheck.arrays import (
    Node,
    Variable,
    check_directions,
    evaluate,
    evaluate_mp,
    ops,
    supports_complex_step,
    vjp_expressions,
)
from diffcheck.symbolic.rules import RULES, Rule

RTOL = 1e-8
IDS = [case.name for case in OPERATIONS]


def _wrt(case: OpCase) -> list[str]:
    return [*case.shapes, *case.scalars]


@pytest.mark.parametrize("case", OPERATIONS, ids=IDS)
@pytest.mark.parametrize("seed", [0, 1])
def test_vjp_matches_oracle(case: OpCase, seed: int) -> None:
    rng = np.random.default_rng(seed)
    node = case.build()
    point = case.point(rng)
    for check in check_directions(node, _wrt(case), point, rng, count=2):
        scale = max(abs(check.oracle), 1.0)
        assert abs(check.reference - check.oracle) <= RTOL * scale + 4 * check.error, check
        assert check.method == ("complex step" if case.analytic else "central differences")


@pytest.mark.parametrize("case", OPERATIONS, ids=IDS)
def test_complex_step_applies_to_analytic_operations_only(case: OpCase) -> None:
    assert supports_complex_step(case.build()) == case.analytic


@pytest.mark.parametrize("case", OPERATIONS, ids=IDS)
def test_float64_equals_mpmath(case: OpCase) -> None:
    rng = np.random.default_rng(2)
    node = case.build()
    point = case.point(rng)
    exact = evaluate_mp(node, point, 30)
    assert exact.shape == node.shape
    assert all(isinstance(entry, type(exact.flat[0])) for entry in exact.flat)
    value = evaluate(node, point)
    np.testing.assert_allclose(value, exact.astype(float), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("case", OPERATIONS, ids=IDS)
def test_adjoints_evaluate_alike_in_float64_and_mpmath(case: OpCase) -> None:
    rng = np.random.default_rng(3)
    node = case.build()
    point = {**case.point(rng), "g": rng.uniform(-1, 1, node.shape)}
    adjoints = vjp_expressions(node, _wrt(case), Variable(shape=node.shape, name="g"))
    for name, adjoint in adjoints.items():
        assert adjoint.shape == point[name].shape
        exact = evaluate_mp(adjoint, point, 30).astype(float)
        np.testing.assert_allclose(evaluate(adjoint, point), exact, rtol=1e-10, atol=1e-12)


def test_complex_evaluation_of_the_function_keeps_real_values() -> None:
    case = next(case for case in OPERATIONS if case.name == "mlp")
    point = case.point(np.random.default_rng(4))
    node = case.build()
    complex_value = evaluate(node, point, np.complex128)
    assert complex_value.dtype == np.complex128
    np.testing.assert_allclose(complex_value.real, evaluate(node, point), rtol=1e-15)
    assert np.all(complex_value.imag == 0)


def _rule_call(rule: Rule) -> tuple[Node, dict[str, tuple[tuple[int, ...], tuple]]]:
    """`rule` applied entry by entry to arrays that broadcast: (2, 3) with (3,), ...;
    with each variable's shape and the rule's test domain for it."""
    count = rule.arity or len(rule.test_domain)
    shapes = [(2, 3), (3,), (2, 1), (1, 3)]
    args: list[Node] = []
    variables = {}
    for position in range(count):
        domain = rule.test_domain[min(position, len(rule.test_domain) - 1)]
        if position in rule.integer_args:
            args.append(ops.constant(int(domain[0])))
        elif rule.arity is not None and rule.partials[position] is None:  # gammainc's a
            args.append(ops.constant(round(domain[0] + domain[1]) / 2))
        else:
            args.append(Variable(shape=shapes[position], name=f"x{position}"))
            variables[f"x{position}"] = (shapes[position], domain)
    return ops.call(rule, args), variables


@pytest.mark.parametrize("rule", list(RULES.values()), ids=list(RULES))
def test_every_table_function_entry_by_entry(rule: Rule) -> None:
    # a new entry of the rule table is checked here with no new test code
    node, variables = _rule_call(rule)
    rng = np.random.default_rng(6)
    point = {name: rng.uniform(*domain, shape) for name, (shape, domain) in variables.items()}
    assert supports_complex_step(node) == rule.complex_step
    for check in check_directions(node, list(point), point, rng, count=2):
        scale = max(abs(check.oracle), 1.0)
        assert abs(check.reference - check.oracle) <= RTOL * scale + 4 * check.error, check
    exact = evaluate_mp(node, point, 30).astype(float)
    np.testing.assert_allclose(evaluate(node, point), exact, rtol=1e-12, atol=1e-14)
