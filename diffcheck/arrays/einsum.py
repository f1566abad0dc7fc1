"""`einsum("ij,j->i", W, x)` written explicitly: subscripts read and checked against the
operands, then one `Einsum` node. Implicit output (no `->`) is NumPy's: the indices
that occur once, in alphabetical order. Ellipses are not supported: every axis is named.
"""

from __future__ import annotations

from collections import Counter

from . import ops
from .context import BuildContext
from .ir import Node
from .syntax import Call, StringLiteral

__all__ = ["build_einsum", "parse_subscripts"]


def parse_subscripts(text: str, count: int) -> tuple[list[str], str] | str:
    """The operands' terms and the output term of `text`, or what is wrong with it.

    >>> parse_subscripts("ij,j->i", 2)
    (['ij', 'j'], 'i')
    >>> parse_subscripts("ij,jk", 2)
    (['ij', 'jk'], 'ik')
    """
    compact = text.replace(" ", "")
    if "." in compact:
        return "ellipses (...) are not supported; name every axis"
    if compact.count("->") > 1:
        return "'->' may occur once"
    inputs, arrow, output = compact.partition("->")
    terms = inputs.split(",")
    letters = "".join(terms) + output
    if not all(c.isascii() and c.isalpha() for c in letters):
        return "only letters, ',' and '->' are allowed"
    if len(terms) != count:
        noun = "operand" if len(terms) == 1 else "operands"
        return f"they name {len(terms)} {noun}, {count} given"
    if not arrow:
        counts = Counter("".join(terms))
        output = "".join(sorted(c for c, n in counts.items() if n == 1))
    for letter in output:
        if letter not in inputs:
            return f"output index {letter} is in no operand"
        if output.count(letter) > 1:
            return f"output index {letter} is repeated"
    return terms, output


def build_einsum(context: BuildContext, syntax: Call) -> Node:
    if syntax.keywords:
        keyword = syntax.keywords[0]
        raise context.error(f"einsum takes no keywords, got '{keyword.name}'", keyword.offset)
    if not syntax.args or not isinstance(syntax.args[0], StringLiteral):
        message = 'einsum takes its subscripts first, as a string: einsum("ij,j->i", W, x)'
        raise context.error(message, syntax.offset)
    text, args = syntax.args[0].value, syntax.args[1:]
    where = syntax.args[0].offset
    parsed = parse_subscripts(text, len(args))
    if isinstance(parsed, str):
        raise context.error(f"einsum subscripts '{text}': {parsed}", where)
    terms, output = parsed
    operands = [context.expression(arg) for arg in args]
    sizes: dict[str, tuple[int, int]] = {}  # letter -> (size, operand where first seen)
    for number, (term, node, arg) in enumerate(zip(terms, operands, args, strict=True)):
        described = context.describe(arg, node, f"operand {number + 1}")
        if len(term) != node.ndim:
            message = f"einsum subscripts '{text}': term '{term}' names {len(term)} axes, but "
            raise context.error(message + described, where)
        for letter, size in zip(term, node.shape, strict=True):
            first = sizes.setdefault(letter, (size, number))
            if first[0] != size:
                message = (
                    f"einsum subscripts '{text}': index {letter} is {first[0]} in "
                    f"operand {first[1] + 1} but {size} in operand {number + 1}"
                )
                raise context.error(message, where)
    labels = {letter: ord(letter) for letter in sizes}
    subscripts = [[labels[c] for c in term] for term in terms]
    return ops.einsum(operands, subscripts, [labels[c] for c in output])
