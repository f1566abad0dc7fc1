"""Points where float64's reference cannot be taken at its word: a singular matrix under
det, a point flagged on a kink where the derivative exists all the same, an adjoint that
overflows or underflows inside while no input does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from arrays_support import build

from diffcheck.api import check_gradient
from diffcheck.arrays.kernels import FloatKernels, MpKernels
from diffcheck.cases.loader import load_case_file
from diffcheck.run.array_kinks import kink_jacobians
from diffcheck.run.check import check_case

SINGULAR = "[[1, 2], [2, 4]]"


def _verdict(tmp_path: Path, text: str):  # noqa: ANN202
    path = tmp_path / "case.yaml"
    path.write_text(text)
    (case,) = load_case_file(str(path)).cases
    return check_case(case).verdict


def _case(function: str, shapes: str, claim: str, point: str, kind: str = "gradient",
          domain: str = "[-1, 1]", samples: int = 0) -> str:  # fmt: skip
    variable = shapes.split(":")[0].strip("{ ")
    return f"""cases:
  - name: c
    shapes: {shapes}
    function: "{function}"
    {kind}:
      {variable}: "{claim}"
    domain: {{{variable}: {domain}}}
    samples: {samples}
    points: [{{{variable}: {point}}}]
"""


def test_cofactor_kernels_exist_at_a_singular_matrix() -> None:
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    assert np.allclose(FloatKernels().cofactor(singular), [[4, -2], [-2, 1]])
    exact = MpKernels(40).cofactor(singular).astype(float)
    assert np.allclose(exact, [[4, -2], [-2, 1]], rtol=1e-15, atol=1e-15)
    rng = np.random.default_rng(1)
    stack = rng.standard_normal((2, 4, 4))
    expected = np.linalg.det(stack)[:, None, None] * np.swapaxes(np.linalg.inv(stack), -1, -2)
    assert np.allclose(FloatKernels().cofactor(stack), expected)
    assert np.allclose(MpKernels(30).cofactor(stack).astype(float), expected)


def test_det_claim_through_the_inverse_is_wrong_at_a_singular_matrix(tmp_path: Path) -> None:
    verdict = _verdict(tmp_path, _case("det(A)", "{A: [2, 2]}", "det(A) * inv(A).T", SINGULAR))
    assert verdict.verdict == "incorrect"
    assert verdict.reasons == (
        "∂f/∂A: A[0, 0] at point 1: expected 4.0, claimed nan; 4 of 4 entries wrong there, "
        "wrong at 1 of 1 point; central differences agree with the expected value",
    )
    assert not any("kink" in warning for warning in verdict.warnings)


def test_cofactor_claim_is_correct_at_a_singular_matrix(tmp_path: Path) -> None:
    claim = "stack([stack([A[1, 1], -A[1, 0]]), stack([-A[0, 1], A[0, 0]])])"
    verdict = _verdict(tmp_path, _case("det(A)", "{A: [2, 2]}", claim, SINGULAR))
    assert verdict.verdict == "correct"
    assert verdict.warnings == ()
    wrong = _verdict(tmp_path, _case("det(A)", "{A: [2, 2]}", "A", SINGULAR))
    assert wrong.verdict == "incorrect"
    assert wrong.reasons[0].startswith("∂f/∂A: A[1, 0] at point 1: expected -2, claimed 2;")


def test_norm_squared_at_zero_is_smooth(tmp_path: Path) -> None:
    wrong = _verdict(tmp_path, _case("norm(x)**2", "{x: [3]}", "2*x + 1", "[0, 0, 0]"))
    assert wrong.verdict == "incorrect"
    assert wrong.reasons == (
        "∂f/∂x: x[0] at point 1: expected 0, claimed 1; 3 of 3 entries wrong there, wrong "
        "at 1 of 1 point; central differences agree with the expected value",
    )
    assert wrong.warnings == ()
    right = _verdict(tmp_path, _case("norm(x)**2", "{x: [3]}", "2*x", "[0, 0, 0]"))
    assert (right.verdict, right.warnings) == ("correct", ())


def test_a_vjp_and_a_jacobian_at_a_smooth_kink(tmp_path: Path) -> None:
    function, shapes = "norm(x)**2 * x", "{x: [2]}"
    vjp = _verdict(tmp_path, _case(function, shapes, "2 * sum(g * x) * x + norm(x)**2 * g",
                                   "[0, 0]", kind="vjp"))  # fmt: skip
    assert (vjp.verdict, vjp.warnings) == ("correct", ())
    wrong = _verdict(tmp_path, _case(function, shapes, "2 * outer(x, x) + eye(2)", "[0, 0]",
                                     kind="jacobian"))  # fmt: skip
    assert wrong.verdict == "incorrect"
    assert wrong.reasons[0].startswith(
        "jacobian x: ∂f[0]/∂x[0] at point 1: expected 0, claimed 1; 2 of 4 entries wrong"
    )


def test_a_real_kink_is_still_left_out(tmp_path: Path) -> None:
    verdict = _verdict(tmp_path, _case("sum(relu(x))", "{x: [3]}", "heaviside(x)",
                                       "[0, 1, -1]"))  # fmt: skip
    assert verdict.verdict == "inconclusive"
    assert verdict.warnings == (
        "1 point on a kink, left out (e.g. point 1: relu(x): relu has no derivative here)",
    )


def test_kink_jacobians_tell_a_smooth_point_from_a_kink() -> None:
    point = {"x": np.array([0.0, 1.0, -1.0])}
    assert kink_jacobians(build("sum(relu(x))", {"x": (3,)}), ["x"], point) is None
    (found,) = kink_jacobians(build("sum(relu(x)**2)", {"x": (3,)}), ["x"], point).values()
    assert np.allclose(found.astype(float), [0, 2, 0], rtol=1e-15, atol=0)
    assert found[0] == 0  # δ's truncation shown as the 0 it stands for
    huber = "sum(where(abs(r) <= 1, r**2/2, abs(r) - 1/2))"
    (found,) = kink_jacobians(build(huber, {"r": (3,)}), ["r"], {"r": point["x"]}).values()
    assert np.allclose(found.astype(float), [0, 1, -1], rtol=1e-15, atol=0)


CROSS_ENTROPY = """cases:
  - name: c
    shapes: {z: [4], y: [4]}
    function: -sum(y * log(exp(z) / sum(exp(z))))
    wrt: [z]
    gradient:
      z: CLAIM
    domain: {z: [-1, 1], y: onehot}
    samples: 0
    points: [{z: [412.7556, 106.6358, 229.4966, 43.625], y: [0, 0, 1, 0]}]
"""


def test_an_adjoint_that_underflows_inside_is_settled_in_mpmath(tmp_path: Path) -> None:
    # sum(exp(z)) is 1.4e179: the division's adjoint squares it, and 1 / S² underflows to
    # 0 in float64 although no input does; mpmath settles the entries it makes wrong
    right = _verdict(tmp_path, CROSS_ENTROPY.replace("CLAIM", "exp(z)/sum(exp(z)) - y"))
    assert right.verdict == "correct"
    assert right.warnings == (
        "∂f/∂z: 1 entries float64 could not decide were re-evaluated with mpmath",
    )
    wrong = _verdict(tmp_path, CROSS_ENTROPY.replace("CLAIM", "exp(z)/sum(exp(z))"))
    assert wrong.verdict == "incorrect"
    assert wrong.reasons == (
        "∂f/∂z: z[2] at point 1: expected -1.0, claimed 2.58005e-80; 1 of 4 entries wrong "
        "there, wrong at 1 of 1 point; central differences agree with the expected value",
    )


def test_an_incorrect_array_case_gives_its_counterexample_as_evidence() -> None:
    checked = check_gradient("norm(x)**2", {"x": "2*x + 1"}, shapes={"x": [3]},
                             domain={"x": (-1, 1)}, samples=0,
                             points=[{"x": [0, 0, 0]}])  # fmt: skip
    assert checked.verdict == "incorrect"
    assert checked.evidence == (
        "∂f/∂x: x[0] at point 1: expected 0, claimed 1; 3 of 3 entries wrong there, wrong at "
        "1 of 1 point; central differences agree with the expected value; point 1: "
        "x=[0, 0, 0]"
    )
    large = check_gradient("sum(x**2)", {"x": "3*x"}, shapes={"x": [9]}, domain={"x": (1, 2)},
                           samples=2)  # fmt: skip
    assert large.evidence.startswith("∂f/∂x: x[")
    assert "; point" not in large.evidence  # nine entries: JSON gives them, not the text


SCALE_MIX = """cases:
  - name: c
    shapes: {{x: [2]}}
    function: "stack([{big}*x[1], {small}])"
    jacobian:
      x: "stack([stack([0, {big}]), stack([0, {claim}])])"
    domain: {{x: [-1, 1]}}
    points: [{{x: [0.5, 0]}}]
    samples: 4
"""


def test_a_kink_beside_a_large_entry_is_still_a_kink(tmp_path: Path) -> None:
    claim = "where(x[1] >= 0, 1, -1)"
    text = SCALE_MIX.format(big="1e13", small="abs(x[1])", claim=claim)
    verdict = _verdict(tmp_path, text)
    assert verdict.verdict == "correct"
    assert verdict.warnings == (
        "1 point on a kink, left out (e.g. point 1: abs(x[1]): abs has no derivative here)",
    )


def test_a_small_derivative_beside_a_large_entry_is_not_zeroed(tmp_path: Path) -> None:
    text = SCALE_MIX.format(big="1e6", small="1e-10*x[1] + relu(x[1])**2",
                            claim="1e-10 + 2*relu(x[1])")  # fmt: skip
    verdict = _verdict(tmp_path, text)
    assert (verdict.verdict, verdict.warnings) == ("correct", ())
    function = build("stack([1e6*x[1], 1e-10*x[1] + relu(x[1])**2])", {"x": (2,)})
    (found,) = kink_jacobians(function, ["x"], {"x": np.array([0.5, 0.0])}).values()
    assert np.allclose(found.astype(float), [[0, 1e6], [0, 1e-10]], rtol=1e-9, atol=0)
