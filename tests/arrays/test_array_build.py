"""Building the IR: shapes inferred, names resolved, and each error message verbatim."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from arrays_support import build, locate

from diffcheck.arrays import Constant, Einsum, Variable, build_array_expression, evaluate
from diffcheck.arrays.context import shape_text
from diffcheck.arrays.syntax import Binary, Call, Keyword, Name, Number, StringLiteral, Transpose
from diffcheck.errors import ExpressionError, Location

SHAPES = {"W": (4, 3), "b": (4,), "x": (3,), "A": (2, 3, 4), "M": (3, 3)}
DIM_NAMES = {"W": ("m", "n"), "b": ("m",), "x": ("n",), "M": (3, 3)}
DIMS = {"m": 4, "n": 3}


def _error(text: str) -> str:
    with pytest.raises(ExpressionError) as caught:
        build(text, SHAPES, scalars=("c",), dims=DIMS, dim_names=DIM_NAMES)
    return str(caught.value)


MESSAGES = [
    ("W @ b", "case.yaml:3:12: shapes do not fit for @: W has shape [m, n] = [4, 3], "
     "b has shape [m] = [4]"),
    ("(W + 1) @ b", "case.yaml:3:18: shapes do not fit for @: the left operand has shape "
     "[4, 3], b has shape [m] = [4]"),
    ("W + x[0:2]", "case.yaml:3:12: shapes do not fit for +: W has shape [m, n] = [4, 3], "
     "the right operand has shape [2]"),
    ("b.T", "case.yaml:3:11: `.T` on a vector is an error: NumPy returns the vector "
     "unchanged; use outer(...) or x[:, newaxis] (b has shape [m] = [4])"),
    ("c.T", "case.yaml:3:11: `.T` on a scalar is an error: there is nothing to transpose "
     "(c has shape [])"),
    ("A.T", "case.yaml:3:11: `.T` on an array with 3 axes is an error: NumPy reverses all "
     "of them; use transpose(A, axes=[...]) (A has shape [2, 3, 4])"),
    ("sigmod(x)", "case.yaml:3:10: unknown function 'sigmod' (did you mean 'sigmoid'?)"),
    ("sum(x, 1)", "case.yaml:3:10: sum takes 1 argument, got 2"),
    ("sum(x, axes=0)", "case.yaml:3:17: sum has no keyword 'axes' (did you mean 'axis'?)"),
    ("sum(x, keepdims=1)", "case.yaml:3:26: keepdims must be true or false"),
    ("sum(W, axis=2)", "case.yaml:3:22: axis 2 is out of range for sum: W has shape "
     "[m, n] = [4, 3]"),
    ("sum(W, axis=[0, -2])", "case.yaml:3:22: axis -2 is repeated in sum"),
    ('einsum("ij,j->i", W, b)', "case.yaml:3:17: einsum subscripts 'ij,j->i': index j is "
     "3 in operand 1 but 4 in operand 2"),
    ('einsum("ij,j", W)', "case.yaml:3:17: einsum subscripts 'ij,j': they name 2 operands, "
     "1 given"),
    ('einsum("ij->k", W)', "case.yaml:3:17: einsum subscripts 'ij->k': output index k is "
     "in no operand"),
    ('einsum("ijk,j->i", W, x)', "case.yaml:3:17: einsum subscripts 'ijk,j->i': term 'ijk' "
     "names 3 axes, but W has shape [m, n] = [4, 3]"),
    ("einsum(W, x)", 'case.yaml:3:10: einsum takes its subscripts first, as a string: '
     'einsum("ij,j->i", W, x)'),
    ("inv(W)", "case.yaml:3:10: inv takes a square matrix or a stack of them: W has shape "
     "[m, n] = [4, 3]"),
    ("solve(M, b)", "case.yaml:3:10: shapes do not fit for solve: M has shape [3, 3], "
     "b has shape [m] = [4]"),
    ("diag(A)", "case.yaml:3:10: diag takes a vector or a square matrix: A has shape "
     "[2, 3, 4]"),
    ("trace(W)", "case.yaml:3:10: trace takes a square matrix: W has shape [m, n] = [4, 3]"),
    ("outer(W, x)", "case.yaml:3:10: outer takes two vectors: W has shape [m, n] = [4, 3], "
     "x has shape [n] = [3]"),
    ("reshape(W, [5, 2])", "case.yaml:3:10: cannot reshape into [5, 2]: W has shape "
     "[m, n] = [4, 3] (12 entries)"),
    ("transpose(A, axes=[0, 1])", "case.yaml:3:28: axes [0, 1] are not an order of the 3 "
     "axes (A has shape [2, 3, 4])"),
    ("stack([x, b])", "case.yaml:3:16: shapes do not fit for stack: x has shape [n] = [3], "
     "b has shape [m] = [4]"),
    ("where(x, x, 0)", "case.yaml:3:16: where takes a comparison first, as in "
     "where(x > 0, x, 0)"),
    ("where(x > 0, b, 0)", "case.yaml:3:10: shapes do not fit for where: the condition has "
     "shape [3], b has shape [m] = [4], argument 3 has shape []"),
    ("max(x, b)", "case.yaml:3:10: shapes do not fit for max: x has shape [n] = [3], "
     "b has shape [m] = [4]"),
    ("x[3]", "case.yaml:3:12: index 3 is out of range for axis 0 of size 3 "
     "(x has shape [n] = [3])"),
    ("x[0, 1]", "case.yaml:3:11: too many indices: 2 given, the array has 1 axis "
     "(x has shape [n] = [3])"),
    ("W[::0]", "case.yaml:3:12: a slice step must not be 0"),
    ("softmax(c)", "case.yaml:3:10: softmax needs an array with an axis: c has shape []"),
    ("softmax(W, axis=[0, 1])", "case.yaml:3:21: softmax takes one axis"),
    ("q + 1", "case.yaml:3:10: unknown name 'q'"),
    ("xx + 1", "case.yaml:3:10: unknown name 'xx' (did you mean 'x'?)"),
    ("newaxis", "case.yaml:3:10: newaxis is only allowed inside an index, as in x[:, newaxis]"),
    ("true", "case.yaml:3:10: true is only allowed as keepdims=true"),
    ("polygamma(x, x)", "case.yaml:3:20: argument 1 of polygamma must be a whole number"),
    ("sigmoid(x, axis=0)", "case.yaml:3:21: sigmoid takes no keywords, got 'axis'"),
    ("mean(W, axis=1/2)", "case.yaml:3:24: an axis must be a whole number, got 1/2"),
    ("stack(x)", "case.yaml:3:16: stack takes a list of arrays, as in stack([a, b], axis=0)"),
    ("concatenate([c, c])", "case.yaml:3:22: concatenate needs arrays with an axis; "
     "stack([...]) makes a vector of scalars"),
    ("dot(A, x)", "case.yaml:3:10: dot takes arrays of at most 2 axes (for stacks use @ or "
     "einsum): A has shape [2, 3, 4], x has shape [n] = [3]"),
    ("max(x, x, axis=0)", "case.yaml:3:20: max of 2 arguments works entry by entry and "
     "takes no keywords; max(x, axis=...) reduces one array"),
    ("ones([2, -1])", "case.yaml:3:15: ones takes sizes of at least 0, got [2, -1]"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), MESSAGES, ids=[m[0] for m in MESSAGES])
def test_error_messages_verbatim(text: str, message: str) -> None:
    assert _error(text) == message


def _hand_built(syntax, **kwargs):  # type: ignore[no-untyped-def]
    return build_array_expression(syntax, shapes=SHAPES, scalars=("c",), dims=DIMS,
                                  intermediates={}, dim_names=DIM_NAMES, locate=locate,
                                  **kwargs)  # fmt: skip


def test_builder_rejects_comparisons_and_strings_the_grammar_let_through() -> None:
    # the grammar reads them anywhere; the builder places them
    comparison = Binary(2, "<", Name(0, "x"), Number(4, Fraction(0), "0"))
    with pytest.raises(ExpressionError) as caught:
        _hand_built(Call(0, "sum", (comparison,)))
    assert str(caught.value) == (
        "case.yaml:3:12: comparison < is only allowed as the first argument of where(...)"
    )
    with pytest.raises(ExpressionError) as caught:
        _hand_built(Call(0, "sum", (StringLiteral(4, "ij"),)))
    assert str(caught.value) == (
        "case.yaml:3:14: a string is only allowed as the subscripts of einsum(...)"
    )
    duplicate = Keyword(7, "axis", Number(12, Fraction(0), "0"))
    with pytest.raises(ExpressionError, match="keyword 'axis' is given twice"):
        _hand_built(Call(0, "sum", (Name(4, "x"),), (duplicate, duplicate)))


def test_hand_built_transpose_of_a_matrix() -> None:
    node = _hand_built(Transpose(1, Name(0, "W")))
    assert node.shape == (3, 4) and isinstance(node, Einsum)


def test_locations_default_to_none() -> None:
    syntax = Binary(2, "@", Name(0, "W"), Name(4, "b"))
    with pytest.raises(ExpressionError) as caught:
        build_array_expression(syntax, shapes=SHAPES)
    assert caught.value.location is None
    assert caught.value.message.startswith("shapes do not fit for @: W has shape [4, 3]")


def test_names_resolve_to_one_variable_each_and_intermediates_are_shared() -> None:
    r = build("W @ x + b", SHAPES)
    node = build("sum(r * r) + r[0] * c", SHAPES, scalars=("c",), intermediates={"r": r})
    variables = {}
    from diffcheck.arrays import nodes_in_order

    for current in nodes_in_order([node]):
        if isinstance(current, Variable):
            assert current.name not in variables  # one node per name
            variables[current.name] = current
    assert set(variables) == {"W", "x", "b", "c"}
    assert sum(current is r for current in nodes_in_order([node])) == 1


def test_dimension_names_and_constants_are_numbers() -> None:
    node = build("sum(x) / n + pi - E", SHAPES, dims=DIMS)
    value = evaluate(node, {"x": np.array([1.0, 2.0, 3.0])})
    assert value == pytest.approx(2.0 + np.pi - np.e)
    assert isinstance(build("m * n", {}, dims=DIMS), Constant)


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("W @ x", (4,)),
        ("x @ W.T", (4,)),
        ("A @ A.T", None),
        ("transpose(A, axes=[2, 0, 1])", (4, 2, 3)),
        ("transpose(A)", (4, 3, 2)),
        ("A[0]", (3, 4)),
        ("A[:, 1:, newaxis, -1]", (2, 2, 1)),
        ("A[..., 0]" if False else "A[1, :, ::-2]", (3, 2)),
        ("sum(A, axis=1)", (2, 4)),
        ("max(A, axis=[0, 2], keepdims=true)", (1, 3, 1)),
        ("norm(A, axis=-1)", (2, 3)),
        ("stack([x, x, x], axis=-1)", (3, 3)),
        ("concatenate([W, W], axis=0)", (8, 3)),
        ("eye(n)", (3, 3)),
        ("zeros([m, n + 1])", (4, 4)),
        ("solve(M, x)", (3,)),
        ("det(M) * logdet(M)", ()),
        ("dot(x, x)", ()),
        ("diag(x)", (3, 3)),
        ("softmax(A, axis=0)", (2, 3, 4)),
        ('einsum("bij->ji", A)', (4, 3)),
        ("where(W > 0, W, b[:, newaxis])", (4, 3)),
        ("max(W, 0, b[:, newaxis])", (4, 3)),
        ("reshape(A, [4, -1])", (4, 6)),
        ("W[:, 0:n - 1]", (4, 2)),
        ("W[m - 1]", (3,)),
    ],
)
def test_shapes_inferred(text: str, shape: tuple[int, ...] | None) -> None:
    if shape is None:
        with pytest.raises(ExpressionError):
            build(text, SHAPES, dims=DIMS)
        return
    assert build(text, SHAPES, dims=DIMS).shape == shape


def test_shape_text() -> None:
    assert shape_text((4, 3), ("m", "n")) == "[m, n] = [4, 3]"
    assert shape_text((4, 3), (4, 3)) == "[4, 3]"
    assert shape_text((), ()) == "[]"
    assert str(Location("a.yaml", 1, 2)) == "a.yaml:1:2"
