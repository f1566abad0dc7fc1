"""Kinks and domains: points where a partial does not exist, or the function is undefined."""

from __future__ import annotations

import numpy as np
from arrays_support import build

from diffcheck.arrays import Flag, check_point


def _flags(text: str, shapes: dict, point: dict, **kwargs) -> tuple:  # type: ignore[type-arg]
    result = check_point(build(text, shapes), point, **kwargs)
    return result.kinks, result.undefined


def test_ordinary_point() -> None:
    result = check_point(build("sum(relu(x))", {"x": (3,)}), {"x": np.array([1.0, -2.0, 3.0])})
    assert result.ordinary and result.kinks == () and result.undefined == ()


def test_relu_at_zero_is_a_kink_from_the_table() -> None:
    kinks, undefined = _flags("sum(relu(x))", {"x": (3,)}, {"x": np.array([1.0, 0.0, 3.0])})
    assert undefined == ()
    assert kinks == (Flag("relu", "relu has no derivative here", ((1,),), "relu(x)"),)


def test_abs_and_entrywise_max_kinks() -> None:
    point = {"A": np.array([[0.0, 1.0], [2.0, 2.0]]), "x": np.array([5.0, 2.0])}
    kinks, _ = _flags("abs(A) + max(A, x)", {"A": (2, 2), "x": (2,)}, point)
    assert [(flag.operation, flag.entries) for flag in kinks] == [
        ("abs", ((0, 0),)),
        ("max", ((1, 1),)),
    ]


def test_max_reduction_ties_and_norm_at_zero() -> None:
    point = {"A": np.array([[3.0, 3.0, 1.0], [0.0, 2.0, 1.0]])}
    kinks, _ = _flags("max(A, axis=1)", {"A": (2, 3)}, point)
    assert [(f.operation, f.entries) for f in kinks] == [("max", ((0,),))]
    kinks, _ = _flags("norm(x)", {"x": (3,)}, {"x": np.zeros(3)})
    assert [(f.operation, f.reason, f.entries) for f in kinks] == [
        ("norm", "norm has no derivative at 0", ((),))
    ]


def test_where_boundary() -> None:
    kinks, _ = _flags("where(x > 0, x, -x)", {"x": (3,)}, {"x": np.array([1.0, 0.0, -1.0])})
    assert [(f.operation, f.entries) for f in kinks] == [("where", ((1,),))]


def test_kinks_off_the_derivative_path_can_be_ignored() -> None:
    point = {"x": np.array([0.0, 1.0]), "y": np.array([1.0, 2.0])}
    node = build("relu(x) * y", {"x": (2,), "y": (2,)})
    assert check_point(node, point, wrt=["y"]).kinks == ()
    assert len(check_point(node, point, wrt=["x"]).kinks) == 1


def test_log_of_negative_entries_is_undefined() -> None:
    _, undefined = _flags("sum(log(x))", {"x": (3,)}, {"x": np.array([1.0, -1.0, 2.0])})
    assert [(f.operation, f.reason, f.entries) for f in undefined] == [
        ("log", "log is undefined (NaN)", ((1,),))
    ]


def test_logdet_of_negative_determinant_is_undefined() -> None:
    a = np.diag([1.0, -2.0, 3.0])
    _, undefined = _flags("logdet(A)", {"A": (3, 3)}, {"A": a})
    assert [(f.operation, f.entries) for f in undefined] == [("logdet", ((),))]


def test_singular_matrices() -> None:
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    _, undefined = _flags("sum(inv(A))", {"A": (2, 2)}, {"A": singular})
    assert [(f.operation, f.reason) for f in undefined][0] == (
        "inv",
        "inv of a singular matrix",
    )
    stack = np.stack([np.eye(2), singular])
    _, undefined = _flags("solve(S, b)", {"S": (2, 2, 2), "b": (2,)},
                          {"S": stack, "b": np.ones(2)})  # fmt: skip
    assert undefined[0].entries == ((1, 0), (1, 1))
    # det is a polynomial: defined at a singular matrix, and so is its derivative (the
    # cofactor matrix), so the point is ordinary
    assert _flags("det(A)", {"A": (2, 2)}, {"A": singular}) == ((), ())


def test_overflow_is_reported_as_infinite() -> None:
    _, undefined = _flags("exp(x)", {"x": (2,)}, {"x": np.array([1.0, 800.0])})
    assert [(f.reason, f.entries) for f in undefined] == [
        ("exp is infinite (overflow or pole)", ((1,),))
    ]


def test_atol_widens_kinks() -> None:
    point = {"x": np.array([1e-14, 1.0])}
    assert _flags("relu(x)", {"x": (2,)}, point)[0] == ()
    assert len(_flags("relu(x)", {"x": (2,)}, point, atol=1e-12)[0]) == 1
