"""The IR itself: constructors fold, evaluation visits shared nodes once, imports stay low."""

from __future__ import annotations

import ast
import doctest
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from arrays_support import build

from diffcheck.arrays import (
    Call,
    Constant,
    Einsum,
    Index,
    Variable,
    context,
    einsum,
    evaluate,
    evaluate_mp,
    ops,
    show,
)
from diffcheck.arrays.evaluate import evaluate_nodes
from diffcheck.arrays.kernels import FloatKernels

X = Variable(shape=(3,), name="x")
A = Variable(shape=(2, 3), name="A")
PACKAGE = Path(__file__).resolve().parents[2] / "diffcheck" / "arrays"


def test_constructors_fold_zeros_ones_and_numbers() -> None:
    assert ops.multiply(ops.constant(1), X) is X
    assert ops.add(X, ops.constant(0)) is X
    zero = ops.multiply(ops.constant(0), A)
    assert isinstance(zero, Constant) and zero.shape == (2, 3) and zero.value == 0
    half = ops.multiply(ops.constant(sp.Rational(1, 2)), ops.constant(2))
    assert isinstance(half, Constant) and half.value == 1
    assert show(ops.multiply(X, ops.constant(3))) == "mul(3, x)"
    # a constant the other operand's shape makes redundant is written as a number
    assert show(ops.multiply(ops.constant(2, (2, 3)), A)) == "mul(2, A)"
    assert ops.power(X, ops.constant(1)) is X
    assert ops.reshape(ops.reshape(A, (6,)), (2, 3)) is A
    assert ops.index(A, [slice(0, 2, 1), slice(0, 3, 1)]) is A
    assert isinstance(ops.index(X, [slice(0, 3, 1), None]), Index)


def test_negative_bases_keep_real_powers_unfolded() -> None:
    root = ops.power(ops.constant(-2), ops.constant(sp.Rational(1, 2)))
    assert isinstance(root, Call)
    assert np.isnan(evaluate(root, {}))


def test_einsum_folds_constants_and_identity() -> None:
    assert ops.einsum([A], [(0, 1)], (0, 1)) is A
    total = ops.einsum([ops.constant(2, (4,))], [(0,)], ())
    assert isinstance(total, Constant) and total.value == 8
    scaled = ops.einsum([ops.constant(3), A], [(), (0, 1)], (1, 0))
    assert show(scaled) == 'mul(3, einsum("ij->ji", A))'
    assert isinstance(ops.transpose(A, (1, 0)), Einsum)
    with pytest.raises(ops.ShapeError):
        ops.einsum([A, X], [(0, 1), (0,)], (1,))


def test_transpose_follows_numpy() -> None:
    s = Variable(shape=(2, 3, 4), name="S")
    node = ops.transpose(s, (1, 2, 0))
    value = np.arange(24.0).reshape(2, 3, 4)
    assert node.shape == (3, 4, 2)
    np.testing.assert_array_equal(evaluate(node, {"S": value}), np.transpose(value, (1, 2, 0)))


def test_shared_nodes_are_evaluated_once() -> None:
    calls: list[str] = []

    class Counting(FloatKernels):
        def call(self, rule, args):  # type: ignore[no-untyped-def]
            calls.append(rule.name)
            return super().call(rule, args)

    r = build("sigmoid(x)", {"x": (3,)})
    node = build("sum(r * r) + r[0]", {"x": (3,)}, intermediates={"r": r})
    evaluate_nodes([node], {"x": np.zeros(3)}, Counting())
    assert calls.count("sigmoid") == 1


def test_evaluation_checks_values() -> None:
    with pytest.raises(ValueError, match="no value for variable x"):
        evaluate(X, {})
    with pytest.raises(ValueError, match=r"x has shape \[3\], its value \[2\]"):
        evaluate(X, {"x": np.zeros(2)})


def test_mpmath_evaluation_uses_its_own_precision() -> None:
    node = build("log(1 + x) - x", {"x": (1,)})
    (value,) = evaluate_mp(node, {"x": np.array([1e-20])}, 60)
    assert float(value) == pytest.approx(-5e-41, rel=1e-12)  # float64 gives -1e-20
    (undefined,) = evaluate_mp(build("log(x)", {"x": (1,)}), {"x": np.array([-1.0])}, 30)
    assert str(undefined) == "nan"


def test_show_is_compact() -> None:
    node = build("softmax(A, axis=0)[1:, newaxis] + max(x)", {"A": (2, 3), "x": (3,)})
    assert show(node) == "add(softmax(A, axis=0)[1:2:1, newaxis], max(x, axis=[0]))"
    assert repr(X) == "x"


def test_doctests() -> None:
    for module in (context, einsum):
        assert doctest.testmod(module).failed == 0


def _diffcheck_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = ["diffcheck", "arrays"][: 3 - node.level]
            found.add(".".join([*base, node.module or ""]).rstrip("."))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("diffcheck"):
            found.add(node.module or "")
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("diffcheck"))
    return found


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_arrays_import_only_symbolic_errors_and_limits(path: Path) -> None:
    allowed = ("diffcheck.arrays", "diffcheck.symbolic", "diffcheck.errors", "diffcheck.limits")
    upward = [m for m in _diffcheck_imports(path) if not m.startswith(allowed)]
    assert upward == []
