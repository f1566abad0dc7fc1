"""Array verdicts where float64 cannot be taken at its word: a log of a subnormal number, a
gradient that is 0 but computes as rounding noise of large terms, values beyond float64's
range (a function's, or a constant's). Right claims are `correct`, settled in mpmath with
a warning; their wrong twins stay `incorrect`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from arrays_support import build

from diffcheck.arrays.evaluate import evaluate_nodes
from diffcheck.arrays.kernels import FloatKernels
from diffcheck.arrays.rounding import rounding_bounds
from diffcheck.cases.loader import load_case_file
from diffcheck.compare import array_settle
from diffcheck.run.check import check_case

EPS = float(np.finfo(np.float64).eps)


def _verdict(tmp_path: Path, text: str):  # noqa: ANN202
    path = tmp_path / "case.yaml"
    path.write_text(text)
    (case,) = load_case_file(str(path)).cases
    return check_case(case).verdict


CROSS_ENTROPY = """cases:
  - name: cross-entropy-target-gradient
    shapes: {z: [2], y: [2]}
    function: -sum(y * log(softmax(z)))
    wrt: [y]
    gradient:
      y: CLAIM
    samples: 0
    points:
      - {z: [0, 740], y: [1, 0]}
"""

LOG_OF_EXP = """cases:
  - name: log-of-exp
    shapes: {x: [2], y: [2]}
    function: sum(y * log(exp(-x)))
    wrt: [y]
    gradient:
      y: CLAIM
    samples: 0
    points:
      - {x: [740, 1], y: [1, 0]}
"""

ANTISYMMETRIC = """cases:
  - name: antisymmetric-quadratic-form
    shapes: {x: [n], B: [n, n]}
    dims: {n: SIZE}
    function: x @ (B - B.T) @ x
    wrt: [x]
    gradient:
      x: CLAIM
    domain: {x: [-1.0e6, 1.0e6], B: [-1, 1]}
    samples: 16
"""

CENTERED = """cases:
  - name: centered-sum-times-scale
    shapes: {x: [n]}
    dims: {n: 10}
    function: sum(x - mean(x)) * sum(x)
    gradient:
      x: CLAIM
    domain: {x: [-1.0e6, 1.0e6]}
    samples: 8
"""

EXP_OVERFLOW = """cases:
  - name: exp-beyond-float64
    shapes: {x: [2]}
    function: sum(exp(x))
    gradient:
      x: CLAIM
    samples: 0
    points:
      - {x: [715, 1]}
"""

BIG_CONSTANT = """cases:
  - name: constant-beyond-float64
    shapes: {x: [3]}
    function: sum(x) * 2**1100
    gradient:
      x: CLAIM
    domain: {x: [-1, 1]}
    samples: 2
"""

SETTLED_ONE = "∂f/∂y: 1 entries float64 could not decide were re-evaluated with mpmath"
OVERFLOWS = ("float64 overflows at {} where mpmath finds the function finite; compared "
             "there with the doubtful entries re-evaluated in mpmath")  # fmt: skip


# ---- B1: a log of a subnormal number -----------------------------------------------------


def test_a_log_of_a_subnormal_softmax_entry_is_settled_in_mpmath(tmp_path: Path) -> None:
    right = _verdict(tmp_path, CROSS_ENTROPY.replace("CLAIM", "-log_softmax(z)"))
    assert right.verdict == "correct"
    assert right.warnings == (SETTLED_ONE,)
    again = _verdict(tmp_path, LOG_OF_EXP.replace("CLAIM", "-x"))
    assert again.verdict == "correct"
    assert again.warnings == (SETTLED_ONE,)


def test_a_wrong_claim_on_a_subnormal_softmax_entry_stays_incorrect(tmp_path: Path) -> None:
    wrong = _verdict(tmp_path, CROSS_ENTROPY.replace("CLAIM", "-1.001*log_softmax(z)"))
    assert wrong.verdict == "incorrect"
    assert wrong.reasons == (
        "∂f/∂y: y[0] at point 1: expected 740.0, claimed 740.74; 1 of 2 entries wrong there, "
        "wrong at 1 of 1 point; the claim is 1.001 × the reference at that point; central "
        "differences in "
        "mpmath agree with the expected value",
    )
    assert _verdict(tmp_path, LOG_OF_EXP.replace("CLAIM", "-1.001*x")).verdict == "incorrect"


def test_random_logits_far_apart_give_a_right_target_gradient_correct(tmp_path: Path) -> None:
    text = CROSS_ENTROPY.replace("CLAIM", "-log_softmax(z)").replace("[2]", "[4]")
    text = text.replace("samples: 0", "domain: {z: [-1000, 1000], y: [0, 1]}\n    samples: 8")
    text = text.replace("    points:\n      - {z: [0, 740], y: [1, 0]}\n", "")
    assert _verdict(tmp_path, text).verdict == "correct"


# ---- B2: a zero gradient computed as rounding noise --------------------------------------


def test_a_zero_gradient_computed_as_rounding_noise_is_correct(tmp_path: Path) -> None:
    for size in (5, 3):
        text = ANTISYMMETRIC.replace("SIZE", str(size)).replace("CLAIM", "zeros([n])")
        verdict = _verdict(tmp_path, text)
        assert verdict.verdict == "correct", verdict.reasons
        assert "could not decide were re-evaluated with mpmath" in verdict.warnings[0]
    assert _verdict(tmp_path, CENTERED.replace("CLAIM", "zeros([n])")).verdict == "correct"


def test_a_zero_gradient_is_correct_without_an_absolute_tolerance(tmp_path: Path) -> None:
    # mpmath's own rounding (1e-35 of terms of 1e6) is allowed for, as float64's is
    tight = "    tolerance: {rtol: 1.0e-9, atol: 0}\n"
    for text in (ANTISYMMETRIC.replace("SIZE", "5"), CENTERED):
        verdict = _verdict(tmp_path, text.replace("CLAIM", "zeros([n])") + tight)
        assert verdict.verdict == "correct", verdict.reasons


def test_a_wrong_claim_where_the_gradient_is_zero_stays_incorrect(tmp_path: Path) -> None:
    wrong = _verdict(tmp_path, ANTISYMMETRIC.replace("SIZE", "[3, 5]").replace("CLAIM", "x"))
    assert wrong.verdict == "incorrect"
    # the reference shown is mpmath's 0, not float64's noise
    assert wrong.reasons[0].startswith("∂f/∂x: x[2] at point 1 (n=3): expected 0.0, claimed")
    centered = _verdict(tmp_path, CENTERED.replace("CLAIM", "1.0e-3 * ones([n])"))
    assert centered.verdict == "incorrect"
    assert "×" not in centered.reasons[0]  # no factor read off a reference of noise


def test_settling_stops_at_its_budget_of_points_with_a_warning(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(array_settle, "MAX_SETTLED_POINTS", 4)
    monkeypatch.setattr(array_settle, "MIN_SETTLED_POINTS", 4)
    text = ANTISYMMETRIC.replace("SIZE", "5").replace("CLAIM", "zeros([n])")
    verdict = _verdict(tmp_path, text)
    assert verdict.verdict == "correct"
    beyond, settled = verdict.warnings
    assert settled.startswith("n=5: ∂f/∂x: ") and settled.endswith(
        "entries float64 could not decide were re-evaluated with mpmath")  # fmt: skip
    assert beyond.startswith("n=5: ∂f/∂x: ") and beyond.endswith(
        "entries float64 could not decide, beyond the points re-evaluated with mpmath, were "
        "left undecided, not called wrong")  # fmt: skip
    # a wrong claim is still wrong beyond the budget: float64 decides it
    assert _verdict(tmp_path, text.replace("zeros([n])", "x")).verdict == "incorrect"


def test_rounding_bounds_follow_the_terms_of_a_sum_and_subnormal_values() -> None:
    node = build("a + b - c", {"a": (2,), "b": (2,), "c": (2,)})
    values = {"a": np.array([1e6, 1.0]), "b": np.array([0.1, 2.0]), "c": np.array([1e6, -3.0])}
    memo: dict = {}
    (value,) = evaluate_nodes([node], values, FloatKernels(), memo)
    (bound,) = rounding_bounds([node], memo)
    assert abs(value[0] - 0.1) > 1e-12  # float64 lost digits of 0.1 to terms of 1e6
    assert bound[0] >= abs(value[0] - 0.1) and bound[0] < 1e-7
    assert bound[1] < 16 * 32 * EPS  # 1 + 2 + 3: rounding of the terms alone
    logged = build("log(exp(-x))", {"x": (2,)})
    memo = {}
    evaluate_nodes([logged], {"x": np.array([740.0, 1.0])}, FloatKernels(), memo)
    (bound,) = rounding_bounds([logged], memo)
    assert bound[0] > 1e-3 and bound[1] < 1e-13  # exp(-740) is subnormal: digits lost


# ---- B3 and B4: values beyond float64's range --------------------------------------------


def test_a_gradient_that_overflows_float64_is_settled_in_mpmath(tmp_path: Path) -> None:
    right = _verdict(tmp_path, EXP_OVERFLOW.replace("CLAIM", "exp(x)"))
    assert right.verdict == "correct"
    assert right.evidence.endswith("the reference agrees with central differences in mpmath "
                                   "along random directions")  # fmt: skip
    assert right.warnings == (OVERFLOWS.format("1 point"),
                              "∂f/∂x: 1 entries float64 could not decide were re-evaluated "
                              "with mpmath")  # fmt: skip


def test_a_wrong_claim_where_float64_overflows_stays_incorrect(tmp_path: Path) -> None:
    wrong = _verdict(tmp_path, EXP_OVERFLOW.replace("CLAIM", "exp(x) * 1.001"))
    assert wrong.verdict == "incorrect"
    assert wrong.reasons == (
        "∂f/∂x: x[0] at point 1: expected 3.31554e+310, claimed 3.31886e+310; 2 of 2 entries "
        "wrong there, wrong at 1 of 1 point; central differences in mpmath agree with the "
        "expected value",
    )


def test_a_constant_beyond_float64_is_settled_in_mpmath(tmp_path: Path) -> None:
    right = _verdict(tmp_path, BIG_CONSTANT.replace("CLAIM", "2**1100"))
    assert right.verdict == "correct"
    assert right.warnings[0] == OVERFLOWS.format("2 points")
    wrong = _verdict(tmp_path, BIG_CONSTANT.replace("CLAIM", "2**1100 * 1.001"))
    assert wrong.verdict == "incorrect"
    assert wrong.reasons[0].startswith("∂f/∂x: x[0] at point 1: expected 1.3583e+331, "
                                       "claimed 1.35966e+331; 3 of 3 entries wrong")  # fmt: skip
