"""The Python API on array cases: shapes, dims, jacobian and vjp claims, NumPy points, and
the user's own NumPy callables as gradient or vjp, with the report's facts exposed."""

from __future__ import annotations

import numpy as np
import pytest

from diffcheck import ApiError, CaseFileError, assert_gradient, check_gradient

MSE = dict(
    shapes={"W": ["m", "n"], "x": ["n"], "y": ["m"]},
    dims={"m": 4, "n": 3},
    wrt=["W", "x"],
    domain={"W": (-1, 1), "x": (-1, 1), "y": (-1, 1)},
    samples=8,
)


def mse_backward(W, x, y):
    r = W @ x - y
    return {"W": 2 * np.outer(r, x) / len(y), "x": 2 * W.T @ r / len(y)}


def mse_backward_no_w(W, x, y):  # the factor W forgotten: the residual's shape
    r = W @ x - y
    return {"W": 2 * np.outer(r, x) / len(y), "x": 2 * r / len(y)}


def mse_backward_half(W, x, y):
    r = W @ x - y
    return (np.outer(r, x) / len(y), 2 * W.T @ r / len(y))


def test_array_formula_claims_with_numpy_points() -> None:
    checked = check_gradient("sum((W @ x - y)**2) / m",
                             {"W": "2 * outer(W @ x - y, x) / m", "x": "2 * W.T @ (W @ x - y) / m"},
                             points=[{"W": np.eye(4, 3), "x": [1.0, 2.0, 3.0],
                                      "y": np.zeros(4)}], **MSE)  # fmt: skip
    assert checked.verdict == "correct", checked.report
    assert checked.evidence.startswith("proved symbolically entry by entry for W, x; every "
                                       "entry agrees at 9 points")  # fmt: skip
    assert {(c.claim, c.variable, c.shape) for c in checked.claims} == {
        ("gradient", "W", (4, 3)), ("gradient", "x", (3,))}  # fmt: skip
    assert checked.worst is None


def test_callable_gradient_right_and_wrong_with_the_worst_entry() -> None:
    assert check_gradient("sum((W @ x - y)**2) / m", mse_backward, **MSE).verdict == "correct"
    wrong = check_gradient("sum((W @ x - y)**2) / m", mse_backward_half, **MSE)
    assert wrong.verdict == "incorrect"
    worst = wrong.worst
    assert (worst.claim, worst.variable, worst.wrong_entries, worst.entries) == (
        "implementation gradient", "W", 12, 12)  # fmt: skip
    assert worst.worst_entry == f"W[{worst.worst_index[0]}, {worst.worst_index[1]}]"
    assert worst.claimed == pytest.approx(worst.expected / 2, rel=1e-12)
    assert worst.pattern == "the claim is 1/2 × the reference"
    assert set(worst.worst_point) == {"W", "x", "y"}
    # the evidence is the worst entry's counterexample, as for a scalar case
    assert wrong.evidence == wrong.result.verdict.reasons[0]
    assert wrong.evidence.startswith(f"the implementation's ∂f/∂W: {worst.worst_entry} at point ")


def test_callable_of_the_wrong_shape_names_both_shapes() -> None:
    checked = check_gradient("sum((W @ x - y)**2) / m", mse_backward_no_w, **MSE)
    assert checked.result.error_kind == "implementation"
    assert checked.result.message == (
        "check_gradient: gradient: implementation gradient['x'] has shape [4], but it must "
        "have x's shape [n] = [3]; a result is never broadcast"
    )


def test_vjp_callable_and_vjp_and_jacobian_claims() -> None:
    softmax = dict(shapes={"z": [5]}, domain={"z": (-3, 3)}, samples=8)
    right = check_gradient(
        "softmax(z)", vjp=lambda z, g: {"z": _softmax(z) * (g - g @ _softmax(z))}, **softmax
    )
    assert right.verdict == "correct", right.report
    wrong = check_gradient("softmax(z)", vjp=lambda z, g: {"z": _softmax(z) * g}, **softmax)
    assert (wrong.verdict, wrong.worst.claim, wrong.worst.variable) == (
        "incorrect", "implementation vjp", "z")  # fmt: skip
    claimed = check_gradient("softmax(z)", jacobian={"z": "diag(softmax(z))"},
                             points=[{"z": [[0.0, 1, 2, 3, 4]][0]}], **softmax)  # fmt: skip
    assert claimed.verdict == "incorrect"
    assert claimed.worst.worst_entry.startswith("∂f[")
    named = check_gradient("softmax(z)", cotangent="u",
                           vjp={"z": "softmax(z) * (u - sum(u * softmax(z)))"},
                           dims=None, **softmax)  # fmt: skip
    assert named.verdict == "correct", named.report


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def test_dims_sweep_structured_domain_and_nested_list_points() -> None:
    checked = check_gradient("logdet(A)", {"A": "inv(A).T"}, shapes={"A": ["n", "n"]},
                             dims={"n": [2, 3]}, domain={"A": "spd"}, samples=4,
                             points=[{"A": [[2.0, 1.0], [1.0, 3.0]]}])  # fmt: skip
    assert checked.verdict == "correct", checked.report
    assert sorted({c.sizes["n"] for c in checked.claims}) == [2, 3]


def test_assert_gradient_with_wrong_array_code_raises_the_report() -> None:
    with pytest.raises(AssertionError) as raised:
        assert_gradient("sum((W @ x - y)**2) / m", mse_backward_half, **MSE)
    assert "the implementation's ∂f/∂W" in str(raised.value)
    assert assert_gradient("sum((W @ x - y)**2) / m", mse_backward, **MSE).passed
    assert assert_gradient("sum((W @ x - y)**2) / m", mse_backward_half, expect="incorrect",
                           **{k: v for k, v in MSE.items()}).passed  # fmt: skip


def test_array_argument_errors_name_the_argument() -> None:
    with pytest.raises(CaseFileError) as raised:
        check_gradient("softmax(z)", vjp={"z": "sofmax(z)"}, shapes={"z": [5]},
                       domain={"z": (-1, 1)})  # fmt: skip
    assert str(raised.value) == (
        "check_gradient: vjp['z'], column 1: unknown function 'sofmax' (did you mean 'softmax'?)"
    )
    with pytest.raises(CaseFileError) as raised:
        check_gradient("softmax(z)", mse_backward, shapes={"z": [5]}, domain={"z": (-1, 1)})
    assert str(raised.value) == (
        "check_gradient: gradient: implementation gradient needs a scalar function, but the "
        "function has shape [5]: name a vjp (what a backward pass returns)"
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"vjp": 3, "shapes": {"z": [5]}}, "check_gradient() argument 'vjp' must map each "
         "variable to its claimed vector-Jacobian product, or be a callable; got int"),
        ({"jacobian": _softmax, "shapes": {"z": [5]}}, "check_gradient() argument 'jacobian' "
         "must map each variable to its claimed jacobian; got function"),
        ({"vjp": _softmax}, "check_gradient() argument 'vjp' is for array cases: give 'shapes'"),
        ({"shape": {"z": [5]}}, "check_gradient() got an unexpected keyword argument 'shape' "
         "(did you mean 'shapes'?)"),
    ],
)  # fmt: skip
def test_array_arguments_of_the_wrong_type_are_api_errors(arguments, message) -> None:
    with pytest.raises(ApiError) as raised:
        check_gradient("softmax(z)", domain={"z": (-1, 1)}, **arguments)
    assert str(raised.value) == message
