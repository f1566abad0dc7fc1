"""Array claims judged entry by entry: the comparison, the pattern of a mistake, the
symbolic proof at small sizes and the verdict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from diffcheck.cases.loader import load_case_file
from diffcheck.cases.model import Tolerance
from diffcheck.compare.array_compare import ClaimResult, OracleCheck, compare_entries
from diffcheck.compare.array_patterns import diagnose_pattern
from diffcheck.compare.array_verdict import decide_array_verdict
from diffcheck.run.array_check import InstanceResult
from diffcheck.run.array_proof import prove_array_claims
from diffcheck.run.check import check_case

TIGHT = Tolerance(rtol=1e-7, atol=1e-12)
EXACT = Tolerance(rtol=1e-7, atol=0.0)  # no absolute slack: rounding must be settled


def _compare(reference: np.ndarray, claimed: np.ndarray, settle=None, tolerance=TIGHT
             ) -> ClaimResult:  # fmt: skip
    result = ClaimResult("gradient", "W", reference.shape)
    compare_entries(result, 0, reference, claimed, tolerance, settle)
    return result


def test_one_wrong_entry_of_a_large_gradient_is_found_by_index() -> None:
    rng = np.random.default_rng(0)
    reference = rng.standard_normal((512, 512))
    claimed = reference.copy()
    claimed[300, 7] *= 1 + 1e-5
    result = _compare(reference, claimed)
    assert result.wrong_entries == 1
    assert result.worst.index == (300, 7)
    assert result.wrong_map.sum() == 1 and result.wrong_map[300, 7]


def test_a_claim_just_inside_the_tolerance_is_not_wrong() -> None:
    reference = np.array([[1.0, 2.0], [3.0, 4.0]])
    result = _compare(reference, reference * (1 + 0.9e-7))
    assert result.wrong_entries == 0 and not result.wrong
    result = _compare(reference, reference * (1 + 1.1e-7))
    assert result.wrong_entries == 4


def test_a_rounding_sized_difference_is_settled_in_mpmath_not_called_wrong() -> None:
    # the true entry is 0; float64 computed 1e-17 of a scale-1 array
    reference = np.array([1.0, 1e-17])
    claimed = np.array([1.0, 0.0])
    exact = (np.array([1, 0], dtype=object), np.array([1, 0], dtype=object))
    result = _compare(reference, claimed, settle=lambda: exact, tolerance=EXACT)
    assert result.settled == 1 and not result.wrong


def test_a_rounding_sized_difference_that_mpmath_confirms_is_wrong() -> None:
    reference = np.array([1.0, 1e-17])
    claimed = np.array([1.0, 0.0])
    exact = (np.array([1, 1e-17], dtype=object), np.array([1, 0], dtype=object))
    result = _compare(reference, claimed, settle=lambda: exact, tolerance=EXACT)
    assert result.settled == 1 and result.wrong


def test_non_finite_claim_is_wrong() -> None:
    result = _compare(np.array([1.0, 2.0]), np.array([1.0, np.nan]))
    assert result.wrong_entries == 1 and result.worst.index == (1,)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda r: r.T, "the claim is the reference transposed"),
        (lambda r: 2 * r, "the claim is 2 × the reference"),
        (lambda r: r * 8, "the claim is 8 × the reference"),
        (lambda r: r / 8, "the claim is 1/8 × the reference"),
        (lambda r: -r, "the claim is -1 × the reference"),
        # a factor no slip makes (e^x forgotten) is said of the point shown only
        (lambda r: r * 0.158149, "the claim is 0.158149 × the reference at that point"),
        (lambda r: 0 * r, "the claim is zero everywhere"),
        (lambda r: r + np.diag([1.0, 1.0, 1.0]), "wrong only on the diagonal"),
        (
            lambda r: r + np.eye(3)[[1]].repeat(3, 0).T * 0 + np.outer([0, 1, 0], [1, 1, 1]),
            "wrong only in row 1",
        ),
        (lambda r: r + np.outer([1, 1, 1], [0, 0, 1]), "wrong only in column 2"),
    ],
)
def test_patterns_of_wrong_matrices(make, expected) -> None:
    reference = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.5], [7.0, 8.5, 9.25]])
    claimed = make(reference)
    wrong = ~np.isclose(claimed, reference, rtol=1e-7, atol=0)
    assert diagnose_pattern(reference, claimed, wrong, sizes=[3, 8]) == expected


def test_symmetrised_gradient_is_wrong_everywhere_off_the_diagonal() -> None:
    reference = np.array([[1.0, 2.0], [3.0, 4.0]])
    claimed = reference + np.array([[0.0, 1.0], [1.0, 0.0]])
    wrong = claimed != reference
    assert diagnose_pattern(reference, claimed, wrong) == "wrong everywhere off the diagonal"


def test_no_pattern_for_scattered_mistakes() -> None:
    reference = np.arange(1.0, 10.0).reshape(3, 3)
    claimed = reference.copy()
    claimed[0, 1] += 1
    claimed[2, 0] -= 3
    wrong = claimed != reference
    assert diagnose_pattern(reference, claimed, wrong) is None


def _instance(claims=(), oracles=(), checked=1) -> InstanceResult:
    return InstanceResult("", {}, list(claims), list(oracles), checked=checked)


def test_verdict_conflicting_oracle_makes_the_case_inconclusive() -> None:
    disagreement = OracleCheck("complex step", "u·J·v along a random direction", 0, 1.0, 2.0,
                               1e-15, agrees=False)  # fmt: skip
    verdict = decide_array_verdict([_instance(oracles=[disagreement])])
    assert verdict.verdict == "inconclusive"
    assert "the reference is in doubt" in verdict.reasons[0]


def test_verdict_without_a_checked_point_is_inconclusive() -> None:
    assert decide_array_verdict([_instance(checked=0)]).verdict == "inconclusive"


def test_verdict_wrong_entry_unbacked_by_central_differences_is_inconclusive() -> None:
    claim = _compare(np.array([1.0, 2.0]), np.array([1.0, 3.0]))
    claim.confirmations.append(OracleCheck("central differences", "∂/∂W[1]", 0, 2.0, 3.0,
                                           1e-9, agrees=False))  # fmt: skip
    verdict = decide_array_verdict([_instance([claim])])
    assert verdict.verdict == "inconclusive"
    claim.confirmations[0] = OracleCheck("central differences", "∂/∂W[1]", 0, 2.0, 2.0, 1e-9,
                                         agrees=True)  # fmt: skip
    verdict = decide_array_verdict([_instance([claim])])
    assert verdict.verdict == "incorrect"
    assert verdict.reasons[0].startswith("∂f/∂W: W[1] at point 1: expected 2, claimed 3; 1 of 2")


LAYER = """
cases:
  - name: layer
    shapes: {W: [2, 2], x: [2], y: [2]}
    where:
      r: W @ x - y
    function: sum(r**2) / 2
    gradient:
      W: {claim}
    domain: {W: [-1, 1], x: [-1, 1], y: [-1, 1]}
    samples: 4
"""


def _case(tmp_path: Path, claim: str):
    path = tmp_path / "layer.yaml"
    path.write_text(LAYER.replace("{claim}", claim))
    (case,) = load_case_file(str(path)).cases
    return case


def test_right_claim_is_proved_entry_by_entry(tmp_path: Path) -> None:
    case = _case(tmp_path, "outer(W @ x - y, x)")
    assert prove_array_claims(case, case.instances[0], 5.0) == {"W"}
    result = check_case(case)
    assert result.verdict.verdict == "correct"
    assert result.verdict.evidence.startswith("proved symbolically entry by entry for W")


def test_transposed_claim_is_not_proved_and_is_incorrect(tmp_path: Path) -> None:
    case = _case(tmp_path, "outer(x, W @ x - y)")
    assert prove_array_claims(case, case.instances[0], 5.0) == set()
    result = check_case(case)
    assert result.verdict.verdict == "incorrect"
    assert "the claim is the reference transposed" in result.verdict.reasons[0]


def test_users_code_in_an_array_case_is_kept_not_ignored(tmp_path: Path) -> None:
    path = tmp_path / "code.yaml"
    path.write_text(
        "cases:\n  - name: with-code\n    shapes: {x: [3]}\n    function: sum(x**2)\n"
        '    implementation: {gradient: "mymod:grad"}\n    domain: {x: [-1, 1]}\n'
    )
    (entry,) = load_case_file(str(path)).entries
    assert entry.implementation.gradient == "mymod:grad"  # checked: test_array_implementation


def test_the_worst_entry_is_one_float64_decided_when_there_is_one() -> None:
    # point 0: an entry float64 could not compute (NaN), settled in mpmath far off; point
    # 1: a plain wrong entry, smaller. The plain one is shown, and central differences
    # (float64) can confirm it.
    result = ClaimResult("gradient", "x", (2,))
    exact = (np.array([1, 0.5], dtype=object), np.array([0, 0.5], dtype=object))
    compare_entries(result, 0, np.array([np.nan, 0.5]), np.array([0.0, 0.5]), TIGHT,
                    lambda: exact)  # fmt: skip
    compare_entries(result, 1, np.array([0.3, 0.5]), np.array([0.2, 0.5]), TIGHT)
    assert (result.worst.point, result.worst.index, result.worst.plain) == (1, (0,), True)
    # alone, the settled entry is still the worst, marked as not decided in float64
    alone = ClaimResult("gradient", "x", (2,))
    compare_entries(alone, 0, np.array([np.nan, 0.5]), np.array([0.0, 0.5]), TIGHT,
                    lambda: exact)  # fmt: skip
    assert (alone.worst.index, alone.worst.plain) == ((0,), False)


def test_a_wrong_claim_where_float64_overflows_at_some_points_is_incorrect(tmp_path) -> None:
    path = tmp_path / "wide.yaml"
    path.write_text(
        "cases:\n  - name: log-sigmoid\n    shapes: {x: [10]}\n"
        "    function: sum(log(sigmoid(x)))\n    gradient: {x: sigmoid(x)}\n"
        "    domain: {x: [-800, 800]}\n",
        encoding="utf-8",
    )
    (case,) = load_case_file(str(path)).cases
    verdict = check_case(case).verdict
    assert verdict.verdict == "incorrect", verdict
    assert "central differences agree with the expected value" in verdict.reasons[0]


def test_no_slip_is_named_that_the_reference_cannot_show() -> None:
    # the transpose of a symmetric reference is the reference; 1.000001 is no factor 1
    x = np.array([3000.0, -0.001, 0.5])
    reference = np.outer(x, x)
    claimed = np.outer(x, np.abs(x))  # a sign slip in column 1
    wrong = ~np.isclose(claimed, reference, rtol=1e-7, atol=1e-12)
    assert diagnose_pattern(reference, claimed, wrong) == "wrong only in column 1"
    square = np.array([[0.5, 0.0], [-1 / 6, 1 / 3]])
    slipped = square * 1.0000011  # printed to 6 digits: "1"
    assert diagnose_pattern(square, slipped, slipped != square) is None
