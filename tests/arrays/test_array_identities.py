"""Known closed forms: the reference derivative reproduces the identities people check."""

from __future__ import annotations

import numpy as np
import pytest
from arrays_support import build, draw

from diffcheck.arrays import (
    MAX_JACOBIAN_ENTRIES,
    Constant,
    Variable,
    evaluate,
    gradient_expressions,
    jacobian_values,
    show,
    vjp_expressions,
)


def _gradient(text: str, shapes: dict, point: dict, wrt: list[str], **kwargs) -> dict:  # type: ignore[type-arg]
    node = build(text, shapes, **kwargs)
    return {name: evaluate(g, point) for name, g in gradient_expressions(node, wrt).items()}


def test_logdet_gradient_is_inverse_transpose() -> None:
    rng = np.random.default_rng(0)
    a = draw(rng, (4, 4), "invertible")
    (gradient,) = _gradient("logdet(A)", {"A": (4, 4)}, {"A": a}, ["A"]).values()
    np.testing.assert_allclose(gradient, np.linalg.inv(a).T, rtol=1e-12)
    # entry by entry: the "symmetric gradient" 2 inv(A) - diag(diag(inv(A))) is another thing
    spd = draw(rng, (4, 4), "spd")
    (gradient,) = _gradient("logdet(A)", {"A": (4, 4)}, {"A": spd}, ["A"]).values()
    symmetric = 2 * np.linalg.inv(spd) - np.diag(np.diag(np.linalg.inv(spd)))
    assert not np.allclose(gradient, symmetric)


def test_trace_of_product_gradient_is_transpose() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 3))
    gradients = _gradient("trace(A @ B)", {"A": (3, 4), "B": (4, 3)}, {"A": a, "B": b}, ["A"])
    np.testing.assert_allclose(gradients["A"], b.T, rtol=1e-14)


def test_linear_layer_mse_gradient() -> None:
    rng = np.random.default_rng(2)
    shapes = {"W": (4, 3), "x": (3,), "b": (4,), "y": (4,)}
    point = {name: rng.uniform(-1, 1, shape) for name, shape in shapes.items()}
    r = build("W @ x + b - y", shapes)
    gradients = _gradient(
        "sum(r**2) / m", shapes, point, ["W", "b"], dims={"m": 4}, intermediates={"r": r}
    )
    residual = point["W"] @ point["x"] + point["b"] - point["y"]
    np.testing.assert_allclose(gradients["W"], 2 * np.outer(residual, point["x"]) / 4)
    np.testing.assert_allclose(gradients["b"], 2 * residual / 4)


def test_softmax_jacobian_is_diag_minus_outer() -> None:
    rng = np.random.default_rng(3)
    z = rng.uniform(-5, 5, 5)
    node = build("softmax(z)", {"z": (5,)})
    (jacobian,) = jacobian_values(node, ["z"], {"z": z}).values()
    s = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    np.testing.assert_allclose(jacobian, np.diag(s) - np.outer(s, s), atol=1e-15)


def test_softmax_vjp_closed_form() -> None:
    rng = np.random.default_rng(4)
    z, g = rng.uniform(-5, 5, (8, 5)), rng.uniform(-1, 1, (8, 5))
    node = build("softmax(z, axis=-1)", {"z": (8, 5)})
    (vjp,) = vjp_expressions(node, ["z"], Variable(shape=(8, 5), name="g")).values()
    s = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    expected = s * (g - np.sum(g * s, axis=-1, keepdims=True))
    np.testing.assert_allclose(evaluate(vjp, {"z": z, "g": g}), expected, atol=1e-15)


def test_jacobian_shape_is_output_then_variable() -> None:
    rng = np.random.default_rng(5)
    point = {"W": rng.standard_normal((4, 3)), "x": rng.standard_normal(3)}
    node = build("tanh(W @ x)", {"W": (4, 3), "x": (3,)})
    jacobians = jacobian_values(node, ["W", "x"], point)
    assert jacobians["W"].shape == (4, 4, 3) and jacobians["x"].shape == (4, 3)
    t = np.tanh(point["W"] @ point["x"])
    np.testing.assert_allclose(jacobians["x"], (1 - t**2)[:, None] * point["W"], rtol=1e-14)
    expected = np.einsum("i,ij,k->ijk", 1 - t**2, np.eye(4), point["x"])
    np.testing.assert_allclose(jacobians["W"], expected, atol=1e-15)


def test_jacobian_refuses_beyond_the_limit() -> None:
    n = int(np.sqrt(MAX_JACOBIAN_ENTRIES)) + 1
    node = build("x * 2", {"x": (n,)})
    with pytest.raises(ValueError, match="the Jacobian would have .* entries, more than"):
        jacobian_values(node, ["x"], {"x": np.zeros(n)})


def test_prod_gradient_is_safe_with_zero_entries() -> None:
    x = np.array([2.0, 0.0, 3.0, 0.5])
    (gradient,) = _gradient("prod(x)", {"x": (4,)}, {"x": x}, ["x"]).values()
    np.testing.assert_array_equal(gradient, [0.0, 3.0, 0.0, 0.0])


def test_max_ties_share_the_adjoint() -> None:
    x = np.array([1.0, 3.0, 3.0, -2.0])
    (gradient,) = _gradient("max(x)", {"x": (4,)}, {"x": x}, ["x"]).values()
    np.testing.assert_array_equal(gradient, [0.0, 0.5, 0.5, 0.0])


def test_det_gradient_is_det_times_inverse_transpose_on_stacks() -> None:
    rng = np.random.default_rng(6)
    a = draw(rng, (2, 3, 3), "invertible")
    (gradient,) = _gradient("sum(det(A))", {"A": (2, 3, 3)}, {"A": a}, ["A"]).values()
    expected = np.linalg.det(a)[:, None, None] * np.swapaxes(np.linalg.inv(a), -1, -2)
    np.testing.assert_allclose(gradient, expected, rtol=1e-12)


def test_solve_gradients() -> None:
    rng = np.random.default_rng(7)
    a, b, g = draw(rng, (3, 3), "invertible"), rng.standard_normal(3), rng.standard_normal(3)
    node = build("solve(A, b)", {"A": (3, 3), "b": (3,)})
    adjoints = vjp_expressions(node, ["A", "b"], Variable(shape=(3,), name="g"))
    point = {"A": a, "b": b, "g": g}
    gb = np.linalg.solve(a.T, g)
    np.testing.assert_allclose(evaluate(adjoints["b"], point), gb, rtol=1e-12)
    x = np.linalg.solve(a, b)
    np.testing.assert_allclose(evaluate(adjoints["A"], point), -np.outer(gb, x), rtol=1e-12)


def test_unused_variable_gets_zeros_of_its_shape() -> None:
    node = build("sum(x)", {"x": (3,), "y": (2, 2)})
    gradients = gradient_expressions(node, ["x", "y"], shapes={"y": (2, 2)})
    assert isinstance(gradients["y"], Constant) and gradients["y"].shape == (2, 2)
    assert gradients["y"].value == 0
    with pytest.raises(ValueError, match="y does not occur in the expression"):
        gradient_expressions(node, ["y"])
    with pytest.raises(ValueError, match="a gradient needs a scalar function"):
        gradient_expressions(build("x * 2", {"x": (3,)}), ["x"])


def test_adjoints_stay_small() -> None:
    # the adjoint of a matmul is one einsum of the cotangent and the other operand
    node = build("W @ x", {"W": (4, 3), "x": (3,)})
    adjoints = vjp_expressions(node, ["W", "x"], Variable(shape=(4,), name="g"))
    assert show(adjoints["W"]) == 'einsum("i,j->ij", g, x)'
    assert show(adjoints["x"]) == 'einsum("i,ij->j", g, W)'
    shapes = {"W": (4, 3), "x": (3,), "y": (4,)}
    expected = {
        ("sum(x**2) / 2", "x"): "x",
        ("mean(x)", "x"): "full([3], 1/3)",
        ("trace(W.T @ W)", "y"): "full([4], 0)",
        ("trace(A)", "A"): "eye(3)",
        ("logdet(A)", "A"): 'einsum("ji->ij", inv(A))',
        ("sum((W @ x - y)**2) / 4", "W"):
            'einsum("i,j->ij", mul(1/2, add(einsum("ij,j->i", W, x), mul(-1, y))), x)',
        ("x[1]", "x"): "scatter(1, [1])",
        ("sum(sigmoid(x))", "x"): "mul(sigmoid(x), add(1, mul(-1, sigmoid(x))))",
    }  # fmt: skip
    for (text, name), form in expected.items():
        node = build(text, {**shapes, "A": (3, 3)})
        gradient = gradient_expressions(node, [name], shapes={"y": (4,)})[name]
        assert show(gradient) == form, text


def test_shared_nodes_accumulate() -> None:
    shapes = {"x": (3,)}
    r = build("x * x", shapes)
    node = build("sum(r) + sum(r * r)", shapes, intermediates={"r": r})
    x = np.array([1.0, -2.0, 0.5])
    (gradient,) = gradient_expressions(node, ["x"]).values()
    np.testing.assert_allclose(evaluate(gradient, {"x": x}), 2 * x + 4 * x**3)
