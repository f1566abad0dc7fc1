"""The array IR: immutable nodes, each with its concrete shape (dimensions are numbers).

A handful of primitives carry everything: elementwise calls of rule-table functions
(add, mul and pow included), einsum contractions (matmul, dot, outer, trace, transpose,
diag, sums), a few reductions and softmax with closed adjoints, shape operations and
linear algebra. Nodes compare by identity, so a shared sub-expression is one object and
every walk visits it once. Constructors that check shapes and fold constants: `ops`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

import sympy as sp

from ..symbolic.rules import Rule

__all__ = [
    "BroadcastTo",
    "Call",
    "Cofactor",
    "Compare",
    "Concatenate",
    "Constant",
    "Det",
    "Einsum",
    "Eye",
    "Index",
    "IndexItem",
    "Inv",
    "Node",
    "OthersProduct",
    "REDUCTIONS",
    "Reduce",
    "Reshape",
    "Scatter",
    "Softmax",
    "Solve",
    "Variable",
    "Where",
    "nodes_in_order",
    "show",
    "variables_in",
]

Shape = tuple[int, ...]
IndexItem = int | slice | None  # None adds an axis (newaxis); ints are non-negative


@dataclass(frozen=True, eq=False, repr=False)
class Node:
    """A value of a fixed shape; compares and hashes by identity."""

    shape: Shape
    _children: ClassVar[tuple[str, ...]] = ()

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __repr__(self) -> str:
        return show(self)

    def children(self) -> tuple[Node, ...]:
        found: list[Node] = []
        for field in self._children:
            value = getattr(self, field)
            found.extend(value if isinstance(value, tuple) else (value,))
        return tuple(found)


@dataclass(frozen=True, eq=False, repr=False)
class Variable(Node):
    name: str


@dataclass(frozen=True, eq=False, repr=False)
class Constant(Node):
    """Every entry equal to `value`, an exact SymPy number (2, 1/10, pi)."""

    value: sp.Expr


@dataclass(frozen=True, eq=False, repr=False)
class Eye(Node):
    """The identity matrix, shape (n, n)."""


@dataclass(frozen=True, eq=False, repr=False)
class Call(Node):
    """A rule-table function applied entry by entry, its arguments broadcast."""

    rule: Rule
    args: tuple[Node, ...]
    _children: ClassVar[tuple[str, ...]] = ("args",)


@dataclass(frozen=True, eq=False, repr=False)
class Compare(Node):
    """1 where `left op right` holds, else 0; no derivative flows through it."""

    op: str
    left: Node
    right: Node
    _children: ClassVar[tuple[str, ...]] = ("left", "right")


@dataclass(frozen=True, eq=False, repr=False)
class Where(Node):
    cond: Compare
    a: Node
    b: Node
    _children: ClassVar[tuple[str, ...]] = ("cond", "a", "b")


@dataclass(frozen=True, eq=False, repr=False)
class Einsum(Node):
    """Sum of products; labels are small integers, `output` holds each label once."""

    operands: tuple[Node, ...]
    subscripts: tuple[tuple[int, ...], ...]
    output: tuple[int, ...]
    _children: ClassVar[tuple[str, ...]] = ("operands",)


REDUCTIONS = ("max", "min", "prod", "logsumexp", "norm")


@dataclass(frozen=True, eq=False, repr=False)
class Reduce(Node):
    """A reduction over `axes` (sorted, non-negative) that drops them; sums are einsums."""

    kind: str  # one of REDUCTIONS
    operand: Node
    axes: tuple[int, ...]
    _children: ClassVar[tuple[str, ...]] = ("operand",)


@dataclass(frozen=True, eq=False, repr=False)
class OthersProduct(Node):
    """Each entry: the product of the other entries along `axes` (prod's adjoint without
    dividing by entries that may be 0)."""

    operand: Node
    axes: tuple[int, ...]
    _children: ClassVar[tuple[str, ...]] = ("operand",)


@dataclass(frozen=True, eq=False, repr=False)
class Softmax(Node):
    operand: Node
    axis: int  # non-negative
    log: bool  # log_softmax
    _children: ClassVar[tuple[str, ...]] = ("operand",)


@dataclass(frozen=True, eq=False, repr=False)
class Reshape(Node):
    operand: Node  # row-major
    _children: ClassVar[tuple[str, ...]] = ("operand",)


@dataclass(frozen=True, eq=False, repr=False)
class BroadcastTo(Node):
    operand: Node
    _children: ClassVar[tuple[str, ...]] = ("operand",)


@dataclass(frozen=True, eq=False, repr=False)
class Index(Node):
    """NumPy basic indexing: whole numbers, slices (bounds resolved) and new axes."""

    operand: Node
    items: tuple[IndexItem, ...]
    _children: ClassVar[tuple[str, ...]] = ("operand",)


@dataclass(frozen=True, eq=False, repr=False)
class Scatter(Node):
    """Zeros of `shape` with `operand` written at `items`: the adjoint of `Index`."""

    operand: Node
    items: tuple[IndexItem, ...]
    _children: ClassVar[tuple[str, ...]] = ("operand",)


@dataclass(frozen=True, eq=False, repr=False)
class Concatenate(Node):
    operands: tuple[Node, ...]
    axis: int
    _children: ClassVar[tuple[str, ...]] = ("operands",)


@dataclass(frozen=True, eq=False, repr=False)
class Inv(Node):
    operand: Node  # (..., n, n)
    _children: ClassVar[tuple[str, ...]] = ("operand",)


@dataclass(frozen=True, eq=False, repr=False)
class Cofactor(Node):
    """The cofactor matrix of each matrix of a stack: ∂ det A / ∂A, which exists at a
    singular matrix too (det is a polynomial), where det(A) A⁻ᵀ cannot be evaluated."""

    operand: Node  # (..., n, n)
    _children: ClassVar[tuple[str, ...]] = ("operand",)


@dataclass(frozen=True, eq=False, repr=False)
class Det(Node):
    operand: Node  # (..., n, n)
    log: bool  # logdet: log of a positive determinant, NaN where it is not positive
    _children: ClassVar[tuple[str, ...]] = ("operand",)


@dataclass(frozen=True, eq=False, repr=False)
class Solve(Node):
    """x with matrix @ x = rhs; `vector`: rhs is (..., n), else (..., n, k). The batch
    axes of both are equal (the builder broadcasts them)."""

    matrix: Node
    rhs: Node
    vector: bool
    _children: ClassVar[tuple[str, ...]] = ("matrix", "rhs")


def nodes_in_order(roots: Sequence[Node]) -> list[Node]:
    """Every distinct node below `roots`, each after its children; iterative, so depth is
    no limit."""
    order: list[Node] = []
    seen: set[int] = set()
    for root in roots:
        stack: list[tuple[Node, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(node.children()))
    return order


def variables_in(root: Node) -> Iterator[Variable]:
    return (node for node in nodes_in_order([root]) if isinstance(node, Variable))


_LETTERS = "ijklmnopqrstuvwxyzabcdefghIJKLMNOPQRSTUVWXYZABCDEFGH"


def _subscripts(node: Einsum) -> str:
    labels = sorted({*node.output, *(x for s in node.subscripts for x in s)})
    letter = {label: _LETTERS[i % len(_LETTERS)] for i, label in enumerate(labels)}
    terms = ",".join("".join(letter[x] for x in s) for s in node.subscripts)
    return terms + "->" + "".join(letter[x] for x in node.output)


def show(node: Node) -> str:
    """A compact one-line text of `node`, for messages and debugging (not for parsing)."""
    inner = ", ".join(show(child) for child in node.children())
    if isinstance(node, Variable):
        return node.name
    if isinstance(node, Constant):
        return str(node.value) if not node.shape else f"full({list(node.shape)}, {node.value})"
    if isinstance(node, Eye):
        return f"eye({node.shape[0]})"
    if isinstance(node, Call):
        return f"{node.rule.name}({inner})"
    if isinstance(node, Compare):
        return f"({show(node.left)} {node.op} {show(node.right)})"
    if isinstance(node, Einsum):
        return f'einsum("{_subscripts(node)}", {inner})'
    if isinstance(node, (Reduce, OthersProduct)):
        kind = node.kind if isinstance(node, Reduce) else "others_product"
        return f"{kind}({inner}, axis={list(node.axes)})"
    if isinstance(node, Softmax):
        return f"{'log_' * node.log}softmax({inner}, axis={node.axis})"
    if isinstance(node, (Index, Scatter)):
        items = ", ".join(_item_text(item) for item in node.items)
        return f"{inner}[{items}]" if isinstance(node, Index) else f"scatter({inner}, [{items}])"
    if isinstance(node, (Reshape, BroadcastTo)):
        return f"{type(node).__name__.lower()}({inner}, {list(node.shape)})"
    if isinstance(node, Concatenate):
        return f"concatenate([{inner}], axis={node.axis})"
    if isinstance(node, Det):
        return f"{'log' * node.log}det({inner})"
    return f"{type(node).__name__.lower()}({inner})"


def _item_text(item: IndexItem) -> str:
    if item is None:
        return "newaxis"
    if isinstance(item, slice):
        stop = "" if item.stop is None else item.stop
        return f"{item.start}:{stop}:{item.step}"
    return str(item)
