"""Symbolic stage, the user's form: expressions as written, and where SymPy's are.

SymPy sorts the terms and factors of what it builds, so `(y - t)**2/2` comes back as
`(-t + y)**2/2`, and a number multiplying a sum is spread over it (`2*(y - t)` is
`-2*t + 2*y`). Derivations show the expressions people differentiate as they wrote
them: `parse_as_written` parses a text without SymPy's evaluation (the tree is the
grammar's, never `eval`), and `written_forms` maps each node of the evaluated tree to
its written counterpart, so a step through SymPy's form can print the user's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sympy as sp

from ..errors import DiffcheckError
from ..limits import deep_recursion
from .parse import CONSTANTS, parse_expression
from .printing import print_expression
from .tokens import variable_names
from .trees import call, nodes_in_order

__all__ = ["as_written_with", "parse_as_written", "written_forms", "written_names"]


def written_names(text: str) -> frozenset[str]:
    """The names expression `text` uses as variables, as written: SymPy's reading may
    cancel one (y in x + y - y), but the text still uses it.

    >>> sorted(written_names("x + y - y + sin(pi*z)"))
    ['x', 'y', 'z']
    """
    names = (name for name, _ in variable_names(text))
    return frozenset(name for name in names if name not in CONSTANTS)


def parse_as_written(text: str) -> sp.Expr | None:
    """`text` parsed without evaluation: its terms and factors in the user's order, its
    constant parts worked out (0.001/(-1.5) is -1/1500). None when it does not parse so
    (it parsed with evaluation, or it would not be here).

    >>> sp.sstr(parse_as_written("(y - t)^2 / 2"), order="none")
    '(y - t)**2/2'
    """
    try:
        with sp.evaluate(False):
            tree = parse_expression(text)
    except (DiffcheckError, TypeError, ValueError, AttributeError):
        return None
    numbers = {node: value for node, value in _evaluations(tree).items()
               if node.args and not node.free_symbols and not _divisor(node)}  # fmt: skip
    if not numbers:
        return tree
    with sp.evaluate(False):
        return tree.xreplace(numbers)  # the outermost constant parts, whole


def _divisor(node: sp.Basic) -> bool:
    """1/n for a whole n > 0: as written it prints `/n`, worked out `*(1/n)`."""
    return node.is_Pow and node.exp == -1 and node.base.is_Integer and node.base > 0


def _evaluations(tree: sp.Basic) -> dict[sp.Basic, sp.Basic]:
    """Each node of an unevaluated tree -> the node rebuilt with evaluation, as the
    parser builds it (`trees.call`)."""
    evaluated: dict[sp.Basic, sp.Basic] = {}
    with deep_recursion():
        for node in nodes_in_order([tree]):
            args = [evaluated[arg] for arg in node.args]
            if not node.args:
                evaluated[node] = node
            elif isinstance(node, sp.Function):
                evaluated[node] = call(node.func, args)
            else:
                evaluated[node] = node.func(*args)
    return evaluated


def _reads_as(written: sp.Basic, evaluated: sp.Basic) -> bool:
    """Whether `written`, printed as written and parsed again, is `evaluated`: a form
    that would print a different value is never shown."""
    try:
        return parse_expression(print_expression(written, as_written=True)) == evaluated
    except (DiffcheckError, TypeError, ValueError, AttributeError):
        return False


def written_forms(trees: Iterable[sp.Expr | None]) -> dict[sp.Basic, sp.Basic]:
    """Each node of the evaluated form of `trees` (written as `parse_as_written` gives
    them) -> the node as written, where it reads as the same expression. Symbols and
    numbers are left out: they print the same either way."""
    forms: dict[sp.Basic, sp.Basic] = {}
    for tree in trees:
        if tree is None:
            continue
        for node, done in _evaluations(tree).items():
            # SymPy compares sums and products regardless of their order, so every
            # compound node is kept, not only those that look different
            if node.args and not done.is_number and done not in forms and _reads_as(node, done):
                forms[done] = node
    return forms


def as_written_with(
    expr: sp.Expr, replacements: Mapping[sp.Symbol, sp.Expr], forms: Mapping[sp.Basic, sp.Basic]
) -> sp.Expr | None:
    """`expr` with each symbol of `replacements` replaced by its value as written, and
    nothing evaluated: d/du u**2 = 2*u at u = y - t is `2*(y - t)`, where SymPy would
    spread the 2. None when no value has a written form (SymPy's result is the same),
    or the result would not read as `expr` at those values."""
    values = {u: forms[value] for u, value in replacements.items() if value in forms}
    if not values:
        return None
    with sp.evaluate(False):
        whole = expr.xreplace({u: values.get(u, value) for u, value in replacements.items()})
    return whole if _reads_as(whole, expr.xreplace(dict(replacements))) else None
