"""Explain stage, matrix notation: array IR -> terms, node by node.

`TermBuilder(names).term(node)` reads an expression of the array IR (an adjoint from the
reverse mode) children first. A node of the case's intermediates becomes its name: the
builder shares those nodes with the function and the reverse mode keeps them, so they are
found by identity. Each IR kind has one reader; contractions go to `matrix_contract`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ..arrays import ir
from ..arrays.calls import FUNCTIONS, TABLE
from ..arrays.ops import ADD, MUL, POW
from .matrix_algebra import add, lean_arguments, product, split_scalars
from .matrix_contract import contract, reshape
from .matrix_terms import (
    Apply,
    Compare,
    Filled,
    Identity,
    Index,
    ListOf,
    MatrixFormError,
    Name,
    Power,
    Term,
    filled,
)

__all__ = ["TermBuilder", "printable_function"]

_REDUCING_TWICE = ("max", "min", "logsumexp")  # with two or more arguments: entry by entry


def printable_function(name: str, count: int) -> bool:
    """Whether the case language reads name(arg, ...) as this rule-table function."""
    if not name.isidentifier() or name not in TABLE:
        return False
    return name not in FUNCTIONS or (name in _REDUCING_TWICE and count >= 2)


class TermBuilder:
    """Terms of IR nodes, each node read once; `names`: node id -> the name to print."""

    def __init__(self, names: Mapping[int, str], unit_sums: Collection[str] = ()):
        self.names = names
        self.unit_sums = unit_sums  # kept as given: it may record which names it served
        self.memo: dict[int, Term] = {}
        self._alive: list[ir.Node] = []  # ids stay unique while their nodes live

    def term(self, root: ir.Node) -> Term:
        """The term of `root`.

        Raises:
            MatrixFormError: a node that the case language cannot write.
        """
        for node in self._order(root):
            self._alive.append(node)
            self.memo[id(node)] = self._read(node)
        return self.memo[id(root)]

    def _order(self, root: ir.Node) -> list[ir.Node]:
        """Nodes not yet read, children first, without entering named nodes."""
        order: list[ir.Node] = []
        seen: set[int] = set()
        stack: list[tuple[ir.Node, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif id(node) not in seen and id(node) not in self.memo:
                seen.add(id(node))
                stack.append((node, True))
                if id(node) not in self.names:
                    stack.extend((child, False) for child in reversed(node.children()))
        return order

    def _of(self, node: ir.Node) -> Term:
        return self.memo[id(node)]

    def _read(self, node: ir.Node) -> Term:
        if id(node) in self.names:
            return Name(node.shape, self.names[id(node)])
        reader = getattr(self, "_" + type(node).__name__.lower(), None)
        if reader is None:
            raise MatrixFormError(f"no matrix form for {type(node).__name__}")
        return reader(node)

    def _variable(self, node: ir.Variable) -> Term:
        return Name(node.shape, node.name)

    def _constant(self, node: ir.Constant) -> Term:
        return filled(node.value, node.shape)

    def _eye(self, node: ir.Eye) -> Term:
        return Identity(node.shape)

    def _call(self, node: ir.Call) -> Term:
        args = [self._of(arg) for arg in node.args]
        if node.rule is ADD:
            return add(args, node.shape)
        if node.rule is MUL:
            return product(1, [(arg, 1) for arg in args], node.shape)
        if node.rule is POW:
            base, exponent = args
            if isinstance(exponent, Filled) and not exponent.shape:
                return product(1, [(base, exponent.value)], node.shape)
            return Power(node.shape, base, exponent)
        if not printable_function(node.rule.name, len(args)):
            raise MatrixFormError(f"the case language has no spelling for {node.rule.name}")
        return Apply(node.shape, node.rule.name, tuple(args), elementwise=True)

    def _compare(self, node: ir.Compare) -> Term:
        left, right = lean_arguments([self._of(node.left), self._of(node.right)], node.shape)
        return Compare(node.shape, node.op, left, right)

    def _where(self, node: ir.Where) -> Term:
        args = [self._of(node.cond), self._of(node.a), self._of(node.b)]
        return Apply(node.shape, "where", tuple(lean_arguments(args, node.shape)))

    def _einsum(self, node: ir.Einsum) -> Term:
        operands = [self._of(operand) for operand in node.operands]
        return contract(operands, node.subscripts, node.output, self.unit_sums)

    def _reduce(self, node: ir.Reduce) -> Term:
        x = node.operand
        keywords = () if len(node.axes) == x.ndim else (("axis", _axes(node.axes)),)
        return Apply(node.shape, node.kind, (self._of(x),), keywords)

    def _othersproduct(self, node: ir.OthersProduct) -> Term:
        # the product of the other entries, written prod / x as people do (x ≠ 0)
        x = node.operand
        kept = tuple(1 if i in node.axes else n for i, n in enumerate(x.shape))
        keywords = (("axis", _axes(node.axes)), ("keepdims", True))
        whole = Apply(kept, "prod", (self._of(x),), keywords)
        return product(1, [(whole, 1), (self._of(x), -1)], node.shape)

    def _softmax(self, node: ir.Softmax) -> Term:
        name = "log_softmax" if node.log else "softmax"
        return Apply(node.shape, name, (self._of(node.operand),), (("axis", node.axis),))

    def _reshape(self, node: ir.Reshape) -> Term:
        return reshape(self._of(node.operand), node.shape)

    def _broadcastto(self, node: ir.BroadcastTo) -> Term:
        return product(1, [(self._of(node.operand), 1)], node.shape)

    def _index(self, node: ir.Index) -> Term:
        items = tuple(_item(item) for item in node.items)
        coefficient, scalars, rest = split_scalars(self._of(node.operand))  # a linear map
        return product(coefficient, [*scalars, (Index(node.shape, rest, items), 1)], node.shape)

    def _scatter(self, node: ir.Scatter) -> Term:
        return scatter(self._of(node.operand), node.items, node.shape)

    def _concatenate(self, node: ir.Concatenate) -> Term:
        items = ListOf((), tuple(self._of(operand) for operand in node.operands))
        return Apply(node.shape, "concatenate", (items,), (("axis", node.axis),))

    def _inv(self, node: ir.Inv) -> Term:
        return Apply(node.shape, "inv", (self._of(node.operand),))

    def _cofactor(self, node: ir.Cofactor) -> Term:
        # written det(A) A⁻ᵀ as people do (A invertible)
        a, (*b, i, j) = self._of(node.operand), range(node.ndim)
        det, inverse = Apply(node.shape[:-2], "det", (a,)), Apply(node.shape, "inv", (a,))
        return contract([det, inverse], [tuple(b), (*b, j, i)], (*b, i, j), self.unit_sums)

    def _det(self, node: ir.Det) -> Term:
        return Apply(node.shape, "logdet" if node.log else "det", (self._of(node.operand),))

    def _solve(self, node: ir.Solve) -> Term:
        return Apply(node.shape, "solve", (self._of(node.matrix), self._of(node.rhs)))


def _axes(axes: tuple[int, ...]) -> Any:
    return axes[0] if len(axes) == 1 else tuple(axes)


def _item(item: ir.IndexItem) -> Any:
    if isinstance(item, slice):
        return (item.start, item.stop, item.step)
    return item


def _only_new_axes(items: tuple, shape: tuple[int, ...]) -> bool:
    position = 0
    for item in items:
        if item is None:
            continue
        if item != slice(0, shape[position], 1):
            return False
        position += 1
    return True


def scatter(g: Term, items: tuple, shape: tuple[int, ...]) -> Term:
    """Zeros of `shape` with g written at `items` (the adjoint of indexing), as g
    contracted with rows and columns of identity matrices: g * eye(n)[k] for a whole
    number k, eye(n)[:, a:b] @ g for a slice; only new axes undone: a reshape."""
    if _only_new_axes(items, shape):
        return reshape(g, shape)
    operands: list[Term] = [g]
    subscripts: list[tuple[int, ...]] = [()]
    g_labels: list[int] = []
    fresh, position = len(shape), 0
    for item in items:
        if item is None:  # an axis of size 1 that the index added
            g_labels.append(fresh)
            fresh += 1
            continue
        size = shape[position]
        eye = Identity((size, size))
        if isinstance(item, int):
            operands.append(Index((size,), eye, (item,)))
            subscripts.append((position,))
        elif (item.start, item.stop, item.step) == (0, size, 1):
            g_labels.append(position)
        else:
            count = len(range(*item.indices(size)))
            selection = ((0, size, 1), (item.start, item.stop, item.step))
            operands.append(Index((size, count), eye, selection))
            subscripts.append((position, fresh))
            g_labels.append(fresh)
            fresh += 1
        position += 1
    subscripts[0] = (*g_labels, *range(position, len(shape)))
    return contract(operands, subscripts, tuple(range(len(shape))))
