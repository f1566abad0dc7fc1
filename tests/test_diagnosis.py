"""When oracles disagree: the odd one out is named with its reason, a second opinion
that explains a disagreement away is reported, and a reference that nothing backs makes
the case inconclusive."""

from __future__ import annotations

import numpy as np

from diffcheck.cases.loader import Tolerance
from diffcheck.compare import compare_gradient
from diffcheck.compare.diagnosis import diagnose
from diffcheck.compare.verdict import decide_verdict
from diffcheck.oracles import Estimate, Problem
from diffcheck.oracles.finite import FiniteDifferences
from diffcheck.oracles.reverse import ReverseMode
from diffcheck.symbolic.parse import parse_expression

DEFAULT = Tolerance(rtol=1e-7, atol=1e-12)
EVIDENCE = (
    "counterexample at x=1.5: ∂/∂x expected -1.88452, claimed -0.628174; reverse mode and "
    "finite differences agree with the expected value"
)


class Skewed:
    """An oracle that is right except at the points it was told to get wrong."""

    name = "finite"

    def __init__(self, wrong: list[int]):
        self.wrong = wrong

    def gradient(self, problem: Problem, points: np.ndarray) -> Estimate:
        estimate = FiniteDifferences().gradient(problem, points)
        values = {name: value.copy() for name, value in estimate.values.items()}
        for value in values.values():
            value[self.wrong] += 1.0
        return Estimate(self.name, estimate.method, values, estimate.errors)


def _compare(text: str, points, oracles, tolerance: Tolerance = DEFAULT, claims=None):
    expr = parse_expression(text)
    names = tuple(sorted(s.name for s in expr.free_symbols))
    problem = Problem.derive(expr, names, names)
    claimed = {n: parse_expression(t) for n, t in (claims or {}).items()}
    points = np.atleast_2d(np.asarray(points, dtype=float))
    return compare_gradient(problem, claimed, points, tolerance, oracles=oracles)


def test_diagnose_names_the_odd_one_out_and_who_backs_the_reference() -> None:
    comparison = _compare("x^3", [[0.5, 1.0, 2.0]], (ReverseMode(), Skewed([1])))
    findings = diagnose(comparison)
    assert findings.conflicts == ()
    assert findings.odd_ones_out == (
        "finite differences disagree with the derived ∂/∂x at 1 point (e.g. x=1: 4 vs 3; "
        "central): its error estimate was too optimistic there (a kink or a steep feature "
        "within the stencil?); reverse mode agrees with the reference",
    )
    verdict = decide_verdict(comparison, DEFAULT)
    assert verdict.verdict == "correct" and verdict.warnings == findings.odd_ones_out


def test_diagnose_without_a_backer_is_a_conflict() -> None:
    comparison = _compare("x^3", [[0.5, 1.0, 2.0]], (Skewed([1]),))
    verdict = decide_verdict(comparison, DEFAULT)
    assert verdict.verdict == "inconclusive"
    assert verdict.reasons == (
        "finite differences disagree with the derived ∂/∂x at 1 point and nothing backs it "
        "there (e.g. x=1: finite differences 4; derived 3): the point may not be "
        "differentiable, or diffcheck's derivation is at fault",
    )


def test_diagnose_reverse_mode_rescued_by_its_mpmath_sweep() -> None:
    # 1 - tanh(x)^2 is 0 in float64 beyond x = 19; with atol 0 that is 100 % off
    oracles = (ReverseMode(), FiniteDifferences())
    comparison = _compare("tanh(x)", [[19.5, 25.0, 30.0]], oracles, Tolerance(1e-7, 0.0))
    verdict = decide_verdict(comparison, Tolerance(rtol=1e-7, atol=0.0))
    assert verdict.verdict == "correct"
    assert verdict.warnings == (
        "reverse mode loses precision in float64 at 3 points of ∂/∂x (e.g. x=19.5); the same "
        "sweep in mpmath agrees with the reference",
    )
    (result,) = comparison.results
    assert result.oracles["reverse"].method == "float64; mpmath at 3 points"
    assert result.oracles["finite"].method == "central; complex step at 3 points"


def test_diagnose_claim_mismatch_names_the_backers_of_the_expected_value() -> None:
    comparison = _compare(
        "sin(x^2)", [[1.5]], (ReverseMode(), FiniteDifferences()), claims={"x": "cos(x^2)"}
    )
    verdict = decide_verdict(comparison, DEFAULT)
    assert verdict.verdict == "incorrect"
    assert verdict.evidence == EVIDENCE


def test_diagnose_finds_nothing_when_every_oracle_agrees() -> None:
    comparison = _compare("x*y", [[1.0, -3.0], [2.0, 0.5]], (ReverseMode(), FiniteDifferences()))
    findings = diagnose(comparison)
    assert (findings.conflicts, findings.odd_ones_out, findings.notes) == ((), (), ())


def test_an_odd_one_out_confirms_nothing_at_the_points_it_disagrees() -> None:
    comparison = _compare("x^3", [[0.5, 1.0, 2.0]], (ReverseMode(), Skewed([1])))
    verdict = decide_verdict(comparison, DEFAULT)
    assert verdict.verdict == "correct"
    # reverse mode confirms all 3 points, finite differences only the 2 it agrees at
    assert verdict.evidence == (
        "derived gradient confirmed at 3 points (reverse mode at 3, finite differences at 2)"
    )
    both = _compare("x^3", [[0.5, 1.0, 2.0]], (ReverseMode(), FiniteDifferences()))
    assert decide_verdict(both, DEFAULT).evidence == (
        "derived gradient confirmed by reverse mode and finite differences at 3 points"
    )
