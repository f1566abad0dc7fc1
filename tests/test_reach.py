"""Values beyond what float64 and mpmath can reach in bounded time: huge exponents and
towers of exp end as verdicts with reasons, not as crashes or minute-long runs.

No timings are asserted: each case runs with a time limit far above its cost, so a
regression that brings the work back shows as an `error` result (timeout), not a slow test.
"""

from __future__ import annotations

from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp

from diffcheck.cases.loader import load_case_file
from diffcheck.oracles.exact import refine_at
from diffcheck.oracles.program import OutOfReach, Program
from diffcheck.run.check import CaseResult, Settings, check_case
from diffcheck.symbolic.parse import parse_expression
from diffcheck.symbolic.reach import REACH_LIMIT

BOUNDED = Settings(timeout=30.0)  # each case below takes well under a second
LIMIT = REACH_LIMIT


def _check(tmp_path: Path, function: str, domain: str, extra: str = "") -> CaseResult:
    path = tmp_path / "case.yaml"
    path.write_text(
        "cases:\n"
        f"  - name: reach\n    function: {function}\n    domain: {{x: {domain}}}\n"
        f"    samples: 16\n{extra}",
        encoding="utf-8",
    )
    (case,) = load_case_file(str(path)).entries
    result = check_case(case, BOUNDED)
    assert result.status != "error", result.message
    return result


@pytest.mark.parametrize(
    ("function", "power"),
    [
        ("x^exp(1000)", "the power 0.905^1.97e+434"),
        ("x^1e400", "the power 0.905^1.0e+400"),
        ("x^(10^400)", "the power 0.905^1.0e+400"),
    ],
)
def test_a_huge_exponent_is_out_of_reach_not_a_crash(
    tmp_path: Path, function: str, power: str
) -> None:
    verdict = _check(tmp_path, function, "[0.5, 2]").verdict
    assert verdict.verdict == "inconclusive"
    assert verdict.reasons == (
        "∂/∂x cannot be checked at any point: it is out of float64's and mpmath's reach at 6 "
        f"points (e.g. x=0.90468, where it needs {power}; {LIMIT})",
    )
    assert verdict.warnings[0].startswith(
        "the function is out of float64's and mpmath's reach at 10 points (e.g. x=1.45544, "
    )


def test_a_huge_negative_exponent_is_out_of_reach(tmp_path: Path) -> None:
    # the right claim is proved, which needs no point; a wrong one cannot be decided
    claim = "    gradient: {x: -exp(1000)*x^(-exp(1000) - 1)}\n"
    verdict = _check(tmp_path, "x^(-exp(1000))", "[0.5, 2]", claim).verdict
    assert (verdict.verdict, verdict.evidence) == ("correct", "proved symbolically")
    assert verdict.warnings[-1] == (
        "∂/∂x is out of float64's and mpmath's reach at 10 points (e.g. x=1.45544, where it "
        f"needs the power 1.46^-1.97e+434; {LIMIT}); left out"
    )
    wrong = "    gradient: {x: exp(1000)*x^(-exp(1000) - 1)}\n    expect: incorrect\n"
    verdict = _check(tmp_path, "x^(-exp(1000))", "[0.5, 2]", wrong).verdict
    assert verdict.reasons == (
        "∂/∂x cannot be checked at any point: it is out of float64's and mpmath's reach at 10 "
        f"points (e.g. x=1.45544, where it needs the power 1.46^-1.97e+434; {LIMIT})",
    )


@pytest.mark.parametrize(("claim", "verdict"), [("exp(x)", "correct"),
                                                ("2*exp(x)", "inconclusive")])  # fmt: skip
def test_a_proved_claim_is_correct_where_every_point_is_out_of_reach(
    tmp_path: Path, claim: str, verdict: str
) -> None:
    # exp(x) at x = 2e6 exists, beyond what mpmath is asked: a proof decides without a point
    result = _check(tmp_path, "exp(x)", "[2e6, 3e6]", f"    gradient: {{x: {claim}}}\n")
    assert result.verdict.verdict == verdict
    assert result.verdict.warnings[0].startswith(
        "the function is out of float64's and mpmath's reach at 16 points"
    )


@pytest.mark.parametrize(
    ("domain", "reason"),
    [
        ("[1e300, 1e308]", "no point where the function can be checked: all 16 points are out "
         "of float64's and mpmath's reach (e.g. x=6.36962e+307, where it needs the power "
         f"2.0^6.37e+307; {LIMIT})"),
        ("[-1e308, -1e300]", "∂/∂x cannot be checked at any point: it is out of float64's and "
         "mpmath's reach at 16 points (e.g. x=-3.63038e+307, where it needs the power "
         f"2.0^-3.63e+307; {LIMIT})"),
    ],
)  # fmt: skip
def test_a_power_of_a_huge_variable_is_out_of_reach(tmp_path: Path, domain: str, reason: str
                                                    ) -> None:  # fmt: skip
    verdict = _check(tmp_path, "2^x", domain).verdict
    assert (verdict.verdict, verdict.reasons) == ("inconclusive", (reason,))


def test_a_tower_of_exp_is_decided_where_it_can_be(tmp_path: Path) -> None:
    # beyond x = -0.3 the tower overflows float64; beyond about 0.15 mpmath would need
    # numbers with more than 16384 binary digits in their exponent
    claim = (
        "    gradient: {x: exp(exp(exp(exp(exp(x)))))*exp(exp(exp(exp(x))))*exp(exp(exp(x)))"
        "*exp(exp(x))*exp(x)}\n"
    )
    for extra in ("", claim):
        verdict = _check(tmp_path, "exp(exp(exp(exp(exp(x)))))", "[-1, 1]", extra).verdict
        assert verdict.verdict == "correct"
        assert verdict.warnings == (
            "the function is out of float64's and mpmath's reach at 10 points (e.g. "
            f"x=0.273923, where it needs exp of 1.03e+18; {LIMIT}); left out",
        )


def test_a_tower_of_exp_out_of_reach_everywhere_is_inconclusive(tmp_path: Path) -> None:
    verdict = _check(tmp_path, "exp(exp(exp(exp(exp(x)))))", "[0.5, 1]").verdict
    assert verdict.reasons == (
        "no point where the function can be checked: all 16 points are out of float64's and "
        f"mpmath's reach (e.g. x=0.818481, where it needs exp of 1.7e+6747; {LIMIT})",
    )


# ---- the guard itself ------------------------------------------------------------------


def test_forward_mp_refuses_an_argument_beyond_reach() -> None:
    program = Program([parse_expression("exp(exp(exp(x)))")], ["x"])
    refined = refine_at(program, [3.0])  # exp(exp(20.09)) = e^(5.3e8)
    assert not refined.converged and refined.values == ()
    assert refined.beyond == "exp of 5.28e+8"
    with pytest.raises(OutOfReach, match="^exp of 5.28e"):
        program.forward_mp([3.0], mpmath.MPContext())


@pytest.mark.parametrize(
    ("text", "x"),
    [
        ("exp(x)/(1 + exp(x))^2", 800.0),  # e^800 in the base of a power: within reach
        ("log(exp(x)^2)", 5000.0),  # log of 1e4343: log takes any argument within reach
        ("sigmoid(-x)", 5000.0),  # e^-5000: sigmoid of -5000, above -16384 ln 2
    ],
)
def test_values_beyond_float64_but_within_reach_are_still_refined(text: str, x: float) -> None:
    refined = refine_at(Program([parse_expression(text)], ["x"]), [x])
    assert refined.converged and refined.beyond is None
    assert refined.context.isfinite(refined.values[0]) and refined.values[0] > 0


def test_float64_power_with_an_infinite_exponent_is_not_an_error() -> None:
    # 1e400 is inf in float64: x^inf is 0 below 1 and inf above, a value for mpmath to refine
    x = sp.Symbol("x")
    (values,) = Program([x ** sp.Float("1e400")], ["x"]).evaluate(np.array([[0.5, 1.0, 2.0]]))
    assert values.tolist() == [0.0, 1.0, np.inf]


@pytest.mark.parametrize(
    ("function", "domain", "claim", "verdict"),
    [("softplus(x)", "{x: [-1e5, 1e5]}", "where(x > 20000, 0, sigmoid(x))", "incorrect"),
     ("softplus(x)", "{x: [-1e5, 1e5]}", "sigmoid(x)", "correct"),
     ("softplus(x)", "{x: 20000}", "0", "incorrect"),
     ("relu(x) - x*y + log1p(exp(-abs(x)))", "{x: 30000, y: 0}", "-y", "incorrect"),
     ("relu(x) - x*y + log1p(exp(-abs(x)))", "{x: 30000, y: 0}",
      "heaviside(x) - y - sigmoid(-x)", "correct")],
)  # fmt: skip
def test_large_logits_float64_holds_are_checked_not_left_out(
    tmp_path: Path, function: str, domain: str, claim: str, verdict: str
) -> None:
    # sigmoid(5e4), exp(-3e4): an overflow or underflow on the way, settled in mpmath,
    # which evaluates exponentials of arguments up to 2^20 in milliseconds
    path = tmp_path / "case.yaml"
    path.write_text(f"cases:\n  - name: logits\n    function: {function}\n    wrt: [x]\n"
                    f"    gradient: {{x: '{claim}'}}\n    domain: {domain}\n"
                    "    points: [{x: 50000}]\n    samples: 16\n", encoding="utf-8")  # fmt: skip
    (case,) = load_case_file(str(path)).entries
    result = check_case(case, BOUNDED)
    assert result.verdict.verdict == verdict, result.verdict
    assert not result.comparison.unreachable.any()
