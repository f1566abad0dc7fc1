"""Building SymPy trees without letting SymPy question calls of calls.

SymPy evaluates every call it builds, and evaluating tanh(u) asks whether u is real,
which for a call asks its own argument, and so on down: 17 s at depth 10 of
tanh(tanh(...)), growing 15-fold a level. Such calls are built as written, and so are
calls on numbers, where SymPy's own evaluation may leave the reals (atan2 of two numbers
of unknown sign becomes -I*log(...)). Everything that builds or rewrites the trees of a
case goes through here, and so do walks that must visit each shared sub-expression
once. Main functions: `call`, `substitute`, `nodes_in_order` and `symbols_in`.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from typing import Any

import sympy as sp

__all__ = [
    "MAX_PRINTED_NODES",
    "call",
    "more_nodes_than",
    "nodes_in_order",
    "substitute",
    "symbols_in",
    "too_large_to_print",
    "tree_size",
]

# a derivative is a graph that shares its sub-expressions; written out as text it can be
# exponentially larger (each link of a chain used twice doubles it). Beyond this size
# printers show a note instead of running for hours.
MAX_PRINTED_NODES = 200_000


def nodes_in_order(roots: Iterable[sp.Basic], known: Container[sp.Basic] = ()) -> list[sp.Basic]:
    """Every distinct sub-expression of `roots`, each after all of its arguments; those
    in `known` are neither listed nor entered.

    Iterative, so a chain of any depth is fine; shared sub-expressions appear once.
    """
    order: list[sp.Basic] = []
    seen: set[sp.Basic] = set()
    for root in roots:
        stack: list[tuple[sp.Basic, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if node in seen or node in known:
                continue
            seen.add(node)
            stack.append((node, True))
            stack.extend((arg, False) for arg in reversed(node.args) if arg not in seen)
    return order


def more_nodes_than(expr: sp.Basic, limit: int) -> bool:
    """Whether `expr` has more than `limit` distinct sub-expressions; stops counting
    there, so a huge expression costs no more than a small one.

    >>> more_nodes_than(sp.Symbol("x") + 1, 2), more_nodes_than(sp.Symbol("x") + 1, 3)
    (True, False)
    """
    seen: set[sp.Basic] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            if len(seen) > limit:
                return True
            stack.extend(node.args)
    return False


def symbols_in(expr: sp.Basic) -> set[sp.Symbol]:
    """`expr.free_symbols`, visiting each distinct sub-expression once (SymPy's own walks
    every occurrence: exponential in the depth of a chain that uses each link twice)."""
    return {node for node in nodes_in_order([expr]) if node.is_Symbol}


def tree_size(expr: sp.Basic) -> int:
    """How many nodes `expr` has written out as a tree, shared sub-expressions counted at
    each occurrence; found visiting each distinct one once."""
    sizes: dict[sp.Basic, int] = {}
    for node in nodes_in_order([expr]):
        sizes[node] = 1 + sum(sizes[arg] for arg in node.args)
    return sizes[expr]


def too_large_to_print(expr: sp.Basic, limit: int = MAX_PRINTED_NODES) -> str | None:
    """A note saying why `expr` is not printed, or None when it is small enough."""
    size = tree_size(expr)
    if size <= limit:
        return None
    return f"too large to print: {size:.3g} nodes written out"


# id(node) -> (node, holds a call, holds a symbol), kept from one `substitute` to the
# next: a where chain substitutes each intermediate into the next, and learning the facts
# of the earlier ones afresh each time made reading n intermediates cost n³. The facts
# depend on the node alone; the table is emptied when it grows past _MAX_FACTS. Keyed by
# identity (the node is kept, so its id stays its own): a chain built again once SymPy's
# cache has let the first go is equal but not identical, and SymPy's `==` of two such
# compares them as trees, exponential in the depth of a chain using each link twice.
_FACTS: dict[int, tuple[sp.Basic, bool, bool]] = {}
_MAX_FACTS = 1_000_000


def _learn(root: sp.Basic, facts: dict[int, tuple[sp.Basic, bool, bool]]) -> None:
    """The facts of `root` and of each node under it not met before, each found once."""
    stack: list[tuple[sp.Basic, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in facts:
            continue
        if not expanded:
            stack.append((node, True))
            stack.extend((arg, False) for arg in node.args if id(arg) not in facts)
            continue
        inner = [facts[id(arg)] for arg in node.args]
        facts[id(node)] = (node, isinstance(node, sp.Function) or any(f[1] for f in inner),
                           node.is_Symbol or any(f[2] for f in inner))  # fmt: skip


def _as_written(function: Callable[..., Any], has_call: bool, constant: bool) -> bool:
    is_call = isinstance(function, type) and issubclass(function, sp.Function)
    return is_call and (has_call or constant)  # sums, products, powers stay canonical


def call(function: Callable[..., Any], args: Sequence[sp.Basic]) -> sp.Basic:
    """`function(*args)`, kept unevaluated when SymPy's evaluation would be slow or
    would leave the reals."""
    has_call = any(arg.has(sp.Function) for arg in args)
    if _as_written(function, has_call, all(arg.is_number for arg in args)):
        return function(*args, evaluate=False)
    return function(*args)


def substitute(expr: sp.Basic, mapping: Mapping[sp.Basic, sp.Basic]) -> sp.Basic:
    """`expr.xreplace(mapping)`, with calls built as `call` builds them.

    Each distinct sub-expression is rebuilt once and its facts (does it hold a call, a
    symbol?) found once, where `xreplace`, `has` and `is_number` walk every occurrence:
    exponential in the depth of a chain of intermediates that each use the one before
    twice.
    """
    if expr in mapping or not mapping:
        return mapping.get(expr, expr)
    new: dict[sp.Basic, sp.Basic] = {}
    facts = _FACTS
    if len(facts) > _MAX_FACTS:
        facts.clear()

    def replaced(node: sp.Basic) -> sp.Basic:
        if node not in new:  # a key of `mapping`
            new[node] = mapping[node]
            _learn(new[node], facts)
        return new[node]

    for node in nodes_in_order([expr], known=mapping):  # replaced parts are not entered
        args = [replaced(arg) for arg in node.args]
        if all(arg is old for arg, old in zip(args, node.args, strict=True)):
            new[node] = node
        else:
            has_call = any(facts[id(arg)][1] for arg in args)
            constant = not any(facts[id(arg)][2] for arg in args)
            written = _as_written(node.func, has_call, constant)
            new[node] = node.func(*args, evaluate=False) if written else node.func(*args)
        _learn(new[node], facts)  # SymPy may have flattened it into nodes not met yet
    return new[expr]
