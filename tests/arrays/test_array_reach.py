"""Array values beyond float64's and mpmath's reach end as verdicts with reasons: a tower
of exp is no internal error (mpmath ran out of memory), a constant like exp(10**300) no
wrong verdict from an inf that is only float64's; a claim proved equal is correct there.

No timings are asserted: each case runs with a time limit far above its cost, so a
regression that brings the work back shows as an `error` result, not a slow test.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from arrays_support import build

from diffcheck.arrays.evaluate import evaluate_mp
from diffcheck.arrays.kernels import MpKernels
from diffcheck.arrays.oracles import DirectionalCheck
from diffcheck.cases.loader import load_case_file
from diffcheck.cases.model import Tolerance
from diffcheck.compare.array_compare import ClaimResult
from diffcheck.compare.array_settle import settle_point
from diffcheck.oracles import program
from diffcheck.run import array_oracle_checks
from diffcheck.run.check import CaseResult, Settings, check_case
from diffcheck.symbolic import reach
from diffcheck.symbolic.reach import REACH_LIMIT, OutOfReach
from diffcheck.symbolic.rules import RULES

BOUNDED = Settings(timeout=30.0)  # each case below takes well under a second
UNPROVED = Settings(timeout=30.0, proof_budget=0.0)
LIMIT = REACH_LIMIT
TOWER = "exp(exp(exp(exp(exp(exp(x))))))"
# its derivative, factor by factor: the tower's own chain
TOWER_GRADIENT = "*".join(["exp(" * depth + "x" + ")" * depth for depth in range(6, 0, -1)])
TOWER_POINT = "x=[0.273923, -0.460427]"  # the first point seed 0 draws from [-1, 1]


def _check(tmp_path: Path, body: str, settings: Settings = BOUNDED) -> CaseResult:
    path = tmp_path / "case.yaml"
    path.write_text(f"cases:\n  - name: reach\n{body}", encoding="utf-8")
    (case,) = load_case_file(str(path)).cases
    result = check_case(case, settings)
    assert result.status != "error", result.message
    return result


def _tower(claim: str = "") -> str:
    return (f"    shapes: {{x: [2]}}\n    function: sum({TOWER})\n{claim}"
            "    domain: {x: [-1, 1]}\n    samples: 2\n")  # fmt: skip


def _huge(claim: str) -> str:
    return (
        "    shapes: {x: [n]}\n    dims: {n: 3}\n    function: sum(x) * exp(10**300)\n"
        f"    gradient:\n      x: {claim}\n    domain: {{x: [-1, 1]}}\n    samples: 4\n"
    )


def _everywhere(point: str, needs: str) -> str:
    return (
        f"no point where the function can be checked: all {{count}} points are out of "
        f"float64's and mpmath's reach (e.g. {point}, where it needs {needs}; {LIMIT})"
    )


# ---- every point out of reach ------------------------------------------------------------


def test_a_tower_of_exp_is_out_of_reach_not_an_internal_error(tmp_path: Path) -> None:
    verdict = _check(tmp_path, _tower()).verdict
    assert verdict.verdict == "inconclusive"
    reason = _everywhere(TOWER_POINT, "exp of 1.03e+18").format(count=2)
    assert verdict.reasons == (reason,)
    assert verdict.warnings == (
        "the function is out of float64's and mpmath's reach at 2 points (e.g. "
        f"{TOWER_POINT}, where it needs exp of 1.03e+18; {LIMIT}); left out",
    )


def test_a_tower_with_the_right_chain_is_proved_correct(tmp_path: Path) -> None:
    claim = f"    gradient:\n      x: {TOWER_GRADIENT}\n"
    verdict = _check(tmp_path, _tower(claim)).verdict
    assert (verdict.verdict, verdict.evidence) == (
        "correct", "proved symbolically entry by entry for x")  # fmt: skip
    # without a proof nothing decides: no point can be compared
    unproved = _check(tmp_path, _tower(claim), UNPROVED).verdict
    assert unproved.verdict == "inconclusive"
    assert unproved.reasons == (_everywhere(TOWER_POINT, "exp of 1.03e+18").format(count=2),)


def test_a_right_claim_on_a_constant_beyond_reach_is_correct(tmp_path: Path) -> None:
    # float64 gives inf for both sides: "expected inf, claimed inf" is no verdict
    verdict = _check(tmp_path, _huge("exp(10**300)*ones([n])")).verdict
    assert (verdict.verdict, verdict.evidence) == (
        "correct", "proved symbolically entry by entry for x")  # fmt: skip
    assert verdict.warnings == (
        "n=3: the function is out of float64's and mpmath's reach at 4 points (e.g. "
        f"x=[0.273923, -0.460427, -0.918053], where it needs exp of 1.0e+300; {LIMIT}); "
        "left out",
    )


@pytest.mark.parametrize("claim", ["2*exp(10**300)*ones([n])", "2*exp(10**300)"])
def test_a_wrong_claim_on_a_constant_beyond_reach_is_never_correct(
    tmp_path: Path, claim: str
) -> None:
    verdict = _check(tmp_path, _huge(claim)).verdict
    assert verdict.verdict == "inconclusive"
    point = "x=[0.273923, -0.460427, -0.918053] (n=3)"
    assert verdict.reasons == (_everywhere(point, "exp of 1.0e+300").format(count=4),)


# ---- some points out of reach ------------------------------------------------------------

# exp(exp(exp(x))) needs exp of more than 2^20 from x = 2.63 on: of 16 points drawn from
# [0, 2.75] for two entries, 1 is out of reach; float64 overflows at 9 more, where mpmath
# settles the entries
PARTLY = ("    shapes: {x: [2]}\n    function: sum(exp(exp(exp(x))))\n    gradient:\n"
          "      x: CLAIM\n    domain: {x: [0, 2.75]}\n    samples: 16\n")  # fmt: skip
PARTLY_OUT = (
    "the function is out of float64's and mpmath's reach at 1 point (e.g. "
    f"x=[2.74233, 2.6973], where it needs exp of 5.52e+6; {LIMIT}); left out"
)


def test_points_in_reach_decide_a_right_claim(tmp_path: Path) -> None:
    claim = "exp(exp(exp(x)))*exp(exp(x))*exp(x)"
    verdict = _check(tmp_path, PARTLY.replace("CLAIM", claim), UNPROVED).verdict
    assert verdict.verdict == "correct"
    assert verdict.evidence.startswith("every entry agrees at 15 points")
    assert verdict.warnings[0] == PARTLY_OUT


def test_points_in_reach_decide_a_wrong_claim(tmp_path: Path) -> None:
    claim = "exp(exp(exp(x)))*exp(exp(x))"  # the chain's last factor left out
    verdict = _check(tmp_path, PARTLY.replace("CLAIM", claim), UNPROVED).verdict
    assert verdict.verdict == "incorrect"
    assert verdict.reasons[0].startswith(
        "∂f/∂x: x[0] at point 12: expected 3.89055e+245, claimed 6.15287e+244; 2 of 2 entries "
        "wrong there, wrong at 15 of 15 points"
    )
    assert verdict.warnings[0] == PARTLY_OUT


# ---- a claim out of reach where the function is not --------------------------------------

# exp(a) * exp(-a) is 1, but a = exp(exp(exp(x))) is beyond reach on [1, 2]: float64 gives
# inf * 0, mpmath cannot settle it; the reference is in reach
BEYOND_CLAIM = ("    shapes: {x: [2]}\n    function: sum(exp(exp(x)))\n    gradient:\n"
                "      x: exp(exp(exp(exp(x))))*exp(-exp(exp(exp(x))))*exp(exp(x))*exp(x)\n"
                "    domain: {x: [1, 2]}\n    samples: 4\n")  # fmt: skip


def test_a_claim_beyond_reach_at_every_point_is_inconclusive_unless_proved(
    tmp_path: Path,
) -> None:
    reach_text = f"e.g. x=[1.63696, 1.26979], where it needs exp of 1.28e+74; {LIMIT}"
    unproved = _check(tmp_path, BEYOND_CLAIM, UNPROVED).verdict
    assert unproved.verdict == "inconclusive"
    assert unproved.reasons == (
        "∂f/∂x cannot be checked at any point: it is out of float64's and mpmath's reach at "
        f"4 points ({reach_text})",
    )
    proved = _check(tmp_path, BEYOND_CLAIM).verdict
    assert proved.verdict == "correct"
    # no agreement is claimed at points where the claim was left out
    assert proved.evidence == (
        "proved symbolically entry by entry for x; the reference agrees with complex step "
        "along random directions"
    )
    assert proved.warnings == (
        f"∂f/∂x is out of float64's and mpmath's reach at 4 points ({reach_text}); left out",
    )


# ---- the pieces --------------------------------------------------------------------------


def test_the_scalar_path_keeps_its_names_for_the_moved_check() -> None:
    assert program.OutOfReach is reach.OutOfReach
    assert program.REACH_BITS == reach.REACH_BITS == 1 << 14


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("exp(exp(exp(exp(exp(exp(x))))))", "exp of 2.22e+18"),
        ("x ** 1e400", "the power 0.274^1.0e+400"),
        ("logsumexp(x * 1e300)", "exp of -1.05e+300"),
        (f"log({' * '.join(['prod(x * 1e300)'] * 6)})", "log of 7.66e+5395"),
    ],
)
def test_mpmath_kernels_refuse_values_beyond_reach(text: str, message: str) -> None:
    node = build(text, {"x": (3,)})
    values = {"x": np.array([0.273923, 1.32, 0.57])}
    with pytest.raises(OutOfReach, match=f"^{re.escape(message)}$"):
        evaluate_mp(node, values, 30)


def test_mpmath_kernels_compute_values_within_reach() -> None:
    kernels = MpKernels(30)
    huge = kernels.variable(np.array([700.0, 11000.0]))
    values = kernels.call(RULES["exp"], [huge])
    assert [kernels.ctx.nstr(v, 3) for v in values] == ["1.01e+304", "1.74e+4777"]
    with pytest.raises(OutOfReach, match=r"^exp of 1\.2e\+4$"):
        kernels.exp(kernels.variable(np.array([12000.0])))


def test_settling_beyond_reach_leaves_the_point_to_the_caller() -> None:
    result = ClaimResult("gradient", "x", (2,))
    ratio, both = np.array([np.nan, 0.0]), np.array([np.inf, 1.0])
    doubtful, none = np.array([True, False]), np.array([False, False])

    def settle():  # noqa: ANN202
        raise OutOfReach("exp of 1.0e+300")

    tolerance = Tolerance(rtol=1e-6, atol=0.0)
    settled = settle_point(result, ratio, (doubtful, none), settle, tolerance, both, both, None)
    assert settled is not None and settled.beyond == "exp of 1.0e+300"
    # only values to show were asked for: float64 decided those entries, they stand
    shown = settle_point(result, ratio, (none, doubtful), settle, tolerance, both, both, None)
    assert shown is None
    assert (result.settled, result.unsettled, result.rounding) == (0, 0, 0)


def test_a_direction_mpmath_cannot_reach_is_skipped_not_a_conflict(monkeypatch) -> None:  # noqa: ANN001
    def beyond(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OutOfReach("exp of 1.0e+300")

    monkeypatch.setattr(array_oracle_checks, "check_direction_mp", beyond)

    class Case:
        wrt, tolerance = ("x",), Tolerance(rtol=1e-6, atol=0.0)

    class Instance:
        function = None

    check = DirectionalCheck("complex step", float("inf"), 1.0, 0.0)
    found = array_oracle_checks._directional(Case(), Instance(), {"x": np.ones(2)}, 0, check)
    assert (found.agrees, found.skipped) == (True, True)
    assert found.note == (
        "the complex step along a random direction at point 1 is left out: float64 "
        "disagrees, and mpmath cannot settle it there, out of float64's and mpmath's reach "
        "(it needs exp of 1.0e+300)"
    )


# ---- an inf that is only float64's, where mpmath is not asked ----------------------------

JACOBIAN = ("    shapes: {x: [n]}\n    dims: {n: 3}\n    function: x * exp(BIG)\n"
            "    jacobian:\n      x: CLAIM * eye(n) * exp(BIG)\n    domain: {x: [-1, 1]}\n"
            "    samples: 4\n")  # fmt: skip


@pytest.mark.parametrize("claim", ["1", "2"])
def test_an_overflowing_jacobian_is_never_decided_by_float64_infs(
    tmp_path: Path, claim: str
) -> None:
    # mpmath settles no Jacobian entry: "expected inf, claimed inf" was called wrong
    body = JACOBIAN.replace("BIG", "800").replace("CLAIM", claim)
    verdict = _check(tmp_path, body).verdict
    assert verdict.verdict == "inconclusive"
    assert verdict.reasons == (
        "jacobian x cannot be checked at any point: its reference overflows float64 at 4 "
        "points, not re-evaluated in mpmath there",
    )
    assert verdict.warnings[-1] == (
        "n=3: jacobian x: its reference overflows float64 at 4 points, not re-evaluated in "
        "mpmath there; left out"
    )


def test_a_wrong_jacobian_within_float64_stays_incorrect(tmp_path: Path) -> None:
    verdict = _check(tmp_path, JACOBIAN.replace("BIG", "700").replace("CLAIM", "2")).verdict
    assert verdict.verdict == "incorrect"
    assert verdict.reasons[0].startswith(
        "jacobian x: ∂f[0]/∂x[0] at point 1 (n=3): expected 1.01423e+304, claimed "
        "2.02846e+304; 3 of 9 entries wrong there"
    )
