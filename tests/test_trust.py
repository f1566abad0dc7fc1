"""The rule table is no single point of failure: when a wrong entry makes the derivation and
reverse mode agree with each other, finite differences and the complex step, agreeing with
each other, make the case inconclusive and name the suspect entries."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import sympy as sp

from diffcheck.cases.loader import Tolerance
from diffcheck.compare import ORACLES, compare_gradient
from diffcheck.compare.diagnosis import diagnose, rules_on_path
from diffcheck.compare.verdict import Verdict, decide_verdict
from diffcheck.oracles import Estimate, Problem
from diffcheck.oracles.finite import FiniteDifferences
from diffcheck.oracles.program import Program
from diffcheck.oracles.reverse import ReverseMode
from diffcheck.symbolic.derive import derive_gradient
from diffcheck.symbolic.parse import parse_expression
from diffcheck.symbolic.rules import OUT, RULES

DEFAULT = Tolerance(rtol=1e-7, atol=1e-12)
POINTS = np.array([[-2.5, -1.0, 0.5, 1.5]])
TANH_SUSPECT = (
    "finite differences and the complex step agree with each other and disagree with the "
    "derived ∂/∂x and reverse mode at 4 points (e.g. x=-2.5: 0.0265922 and 0.0265922 vs "
    "1.97341): the rule table's entry for tanh is suspect"
)


def _set_partials(rule: object, partials: tuple) -> None:
    # the table is immutable on purpose; only a test breaks an entry, and restores it
    object.__setattr__(rule, "partials", partials)


@pytest.fixture
def broken_tanh() -> Iterator[None]:
    """tanh' written 1 + tanh² in the one table that the derivation and reverse mode read."""
    rule = RULES["tanh"]
    kept = rule.partials
    _set_partials(rule, (1 + OUT**2,))
    try:
        yield
    finally:
        _set_partials(rule, kept)


def _compare(text: str, claims: dict[str, str], points: np.ndarray = POINTS, oracles=ORACLES):
    expr = parse_expression(text)
    names = tuple(sorted(s.name for s in expr.free_symbols))
    problem = Problem.derive(expr, names, names)
    claimed = {n: parse_expression(t) for n, t in claims.items()}
    return compare_gradient(problem, claimed, points, DEFAULT, oracles=oracles)


def _reverse_tanh_gradient() -> np.ndarray:
    problem = Problem.derive(parse_expression("tanh(x)"), ("x",), ("x",))
    (reverse,) = [oracle for oracle in ORACLES if oracle.name == "reverse"]
    return reverse.gradient(problem, POINTS).values["x"]


def test_a_replaced_entry_reaches_the_derivation_and_reverse_mode() -> None:
    x = sp.Symbol("x")
    before = _reverse_tanh_gradient()  # compiles tanh's partial in the shared reverse mode
    assert np.allclose(before, 1 - np.tanh(POINTS[0]) ** 2)
    rule = RULES["tanh"]
    kept = rule.partials
    _set_partials(rule, (1 + OUT**2,))
    try:
        assert derive_gradient(sp.tanh(x), ["x"]) == {"x": 1 + sp.tanh(x) ** 2}
        assert np.allclose(_reverse_tanh_gradient(), 1 + np.tanh(POINTS[0]) ** 2)
    finally:
        _set_partials(rule, kept)
    assert np.allclose(_reverse_tanh_gradient(), before)


@pytest.mark.parametrize("claims", [{}, {"x": "1 - tanh(x)**2"}, {"x": "1 + tanh(x)**2"}],
                         ids=["no-claim", "right-claim", "claim-matching-the-table"])  # fmt: skip
def test_a_wrong_table_entry_is_a_conflict_not_a_verdict(broken_tanh: None, claims: dict) -> None:
    verdict = decide_verdict(_compare("tanh(x)", claims), DEFAULT)
    assert verdict == Verdict("inconclusive", "", (TANH_SUSPECT,), ())


def test_a_wrong_table_entry_names_every_entry_on_the_path(broken_tanh: None) -> None:
    points = np.array([[-2.0, 0.7, 1.5], [0.5, 0.9, -0.8]])
    verdict = decide_verdict(_compare("sin(tanh(x*y)) + exp(y)", {}, points), DEFAULT)
    assert verdict.verdict == "inconclusive"
    assert [reason.split(": the rule table's ")[1] for reason in verdict.reasons] == [
        "entries for sin and tanh are suspect",
        "entries for exp, sin and tanh are suspect",
    ]


def test_a_counterexample_elsewhere_still_convicts(broken_tanh: None) -> None:
    # the claim for y is wrong whatever tanh's rule says: ∂/∂y of x*y is x, not y
    points = np.array([[-2.5, -1.0, 0.5], [1.0, 2.0, 3.0]])
    verdict = decide_verdict(_compare("tanh(x) + x*y", {"y": "y"}, points), DEFAULT)
    assert verdict.verdict == "incorrect"
    assert verdict.evidence == (
        "counterexample at x=0.5, y=3: ∂/∂y expected 0.5, claimed 3; reverse mode and finite "
        "differences agree with the expected value"
    )
    assert verdict.warnings[-1].endswith("the rule table's entry for tanh is suspect")


def test_rules_on_path_follows_the_variable() -> None:
    expr = parse_expression("sin(tanh(x*y)) + exp(y) + log(z)^2")
    assert rules_on_path(expr, "x") == ["sin", "tanh"]
    assert rules_on_path(expr, "y") == ["exp", "sin", "tanh"]
    assert rules_on_path(expr, "z") == ["log", "pow"]
    assert rules_on_path(None, "x") == []


class _Skewed(FiniteDifferences):
    """Finite differences off by `central` in their first method and by `step` in their
    complex step: a steep feature that fools both, each its own way."""

    def __init__(self, central: float, step: float):
        self.central, self.step = central, step

    def gradient(self, problem: Problem, points: np.ndarray) -> Estimate:
        estimate = super().gradient(problem, points)
        values = {name: value + self.central for name, value in estimate.values.items()}
        return Estimate(self.name, estimate.method, values, estimate.errors)

    def second_opinion(self, problem: Problem, points: np.ndarray, name: str):
        values, errors = super().second_opinion(problem, points, name)
        return values + self.step, errors


def test_methods_that_disagree_with_each_other_leave_an_odd_one_out() -> None:
    comparison = _compare("x^3", {}, np.array([[0.5, 1.0, 2.0]]), (ReverseMode(), _Skewed(1, 2)))
    findings = diagnose(comparison)
    assert findings.conflicts == ()
    assert findings.odd_ones_out == (
        "finite differences disagree with the derived ∂/∂x at 3 points (e.g. x=0.5: 2.75 vs "
        "0.75; central; complex step at 3 points): its error estimate was too optimistic "
        "there (a kink or a steep feature within the stencil?); reverse mode agrees with the "
        "reference",
    )
    assert decide_verdict(comparison, DEFAULT).verdict == "correct"


def test_methods_that_agree_with_each_other_against_the_table_are_a_conflict() -> None:
    comparison = _compare("x^3", {}, np.array([[0.5, 1.0, 2.0]]), (ReverseMode(), _Skewed(1, 1)))
    verdict = decide_verdict(comparison, DEFAULT)
    assert verdict.reasons == (
        "finite differences and the complex step agree with each other and disagree with the "
        "derived ∂/∂x and reverse mode at 3 points (e.g. x=0.5: 1.75 and 1.75 vs 0.75): the "
        "rule table's entry for pow is suspect",
    )


class _Derived:
    """An oracle outside the table that returns the derived gradient: as an autodiff
    framework that agrees with the derivation would."""

    name = "torch"

    def gradient(self, problem: Problem, points: np.ndarray) -> Estimate:
        exprs = [problem.gradient[name] for name in problem.wrt]
        values = dict(zip(problem.wrt, Program(exprs, problem.variables).evaluate(points),
                          strict=True))  # fmt: skip
        errors = {name: np.zeros(points.shape[1]) for name in problem.wrt}
        return Estimate(self.name, {name: "float64" for name in problem.wrt}, values, errors)


def test_an_oracle_outside_the_table_backing_the_reference_outvotes_the_numeric_pair() -> None:
    oracles = (ReverseMode(), _Skewed(1, 1), _Derived())
    comparison = _compare("x^3", {}, np.array([[0.5, 1.0, 2.0]]), oracles)
    findings = diagnose(comparison)
    assert findings.conflicts == ()
    assert findings.odd_ones_out[0].startswith("finite differences disagree with the derived")
    assert decide_verdict(comparison, DEFAULT).verdict == "correct"
