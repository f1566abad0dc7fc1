"""What building an expression knows: names, shapes, dimension names, and how to word
an error at the operator's column. `build` walks the syntax; `calls` builds the
functions; both ask this context to resolve names and to describe shapes.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from fractions import Fraction

from ..errors import ExpressionError, Location
from .ir import Node
from .syntax import Binary, Keyword, ListLiteral, Name, Number, Syntax, Unary

__all__ = ["BuildContext", "shape_text", "suggestion"]

Shape = tuple[int, ...]


def shape_text(shape: Shape, names: tuple[str | int, ...] | None = None) -> str:
    """`[m, n] = [4, 3]` where dimension names are known, else `[4, 3]`.

    >>> shape_text((4, 3), ("m", "n"))
    '[m, n] = [4, 3]'
    >>> shape_text((4, 3), (4, 3))
    '[4, 3]'
    """
    numbers = "[" + ", ".join(str(n) for n in shape) + "]"
    if names is None or len(names) != len(shape) or all(isinstance(n, int) for n in names):
        return numbers
    return "[" + ", ".join(str(n) for n in names) + "] = " + numbers


def suggestion(name: str, known: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the closest known name, or nothing."""
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


class BuildContext:
    """Names and shapes of one expression's surroundings; `expression` builds syntax."""

    def __init__(
        self,
        shapes: Mapping[str, Shape],
        scalars: Collection[str],
        dims: Mapping[str, int],
        intermediates: Mapping[str, Node],
        dim_names: Mapping[str, tuple[str | int, ...]] | None,
        locate: Callable[[int], Location | None],
    ):
        self.shapes = shapes
        self.scalars = scalars
        self.dims = dims
        self.intermediates = intermediates
        self.dim_names = dim_names or {}
        self.locate = locate

    def expression(self, syntax: Syntax) -> Node:
        raise NotImplementedError

    def error(self, message: str, offset: int) -> ExpressionError:
        return ExpressionError(message, self.locate(offset))

    def describe(self, syntax: Syntax, node: Node, role: str) -> str:
        """`W has shape [m, n] = [4, 3]` for a named array, else `the role has shape ...`."""
        if isinstance(syntax, Name) and syntax.name in (
            *self.shapes,
            *self.scalars,
            *self.intermediates,
        ):
            names = self.dim_names.get(syntax.name)
            return f"{syntax.name} has shape {shape_text(node.shape, names)}"
        return f"{role} has shape {shape_text(node.shape)}"

    def mismatch(
        self,
        what: str,
        offset: int,
        syntaxes: Sequence[Syntax],
        nodes: Sequence[Node],
        roles: Sequence[str] | None = None,
    ) -> ExpressionError:
        """`shapes do not fit for @: W has shape [m, n] = [4, 3], b has shape [m] = [4]`."""
        roles = roles or [f"argument {i + 1}" for i in range(len(nodes))]
        described = ", ".join(
            self.describe(s, n, r) for s, n, r in zip(syntaxes, nodes, roles, strict=True)
        )
        return self.error(f"shapes do not fit for {what}: {described}", offset)

    def integer(self, syntax: Syntax, what: str) -> int:
        """A whole number written with numbers, dimension names and + - * / **."""
        value = self._exact(syntax, what)
        if value.denominator != 1:
            raise self.error(f"{what} must be a whole number, got {value}", syntax.offset)
        return int(value)

    def _exact(self, syntax: Syntax, what: str) -> Fraction:
        if isinstance(syntax, Number):
            return Fraction(syntax.value)
        if isinstance(syntax, Name) and syntax.name in self.dims:
            return Fraction(self.dims[syntax.name])
        if isinstance(syntax, Unary):
            value = self._exact(syntax.operand, what)
            return -value if syntax.op == "-" else value
        if isinstance(syntax, Binary) and syntax.op in ("+", "-", "*", "/", "**"):
            left, right = self._exact(syntax.left, what), self._exact(syntax.right, what)
            if syntax.op == "/" and right == 0:
                raise self.error(f"{what}: division by zero", syntax.offset)
            if syntax.op == "**" and right.denominator != 1:
                raise self.error(f"{what} must be a whole number", syntax.offset)
            operations = {"+": left.__add__, "-": left.__sub__, "*": left.__mul__,
                          "/": left.__truediv__, "**": left.__pow__}  # fmt: skip
            return Fraction(operations[syntax.op](right))
        raise self.error(
            f"{what} must be a whole number (numbers and dimension names)", syntax.offset
        )

    def integers(self, syntax: Syntax, what: str) -> list[int]:
        """A list of whole numbers `[a, b]`, or a single one."""
        if isinstance(syntax, ListLiteral):
            return [self.integer(item, what) for item in syntax.items]
        return [self.integer(syntax, what)]

    def axes(
        self, keyword: Keyword | None, syntax: Syntax, node: Node, function: str
    ) -> tuple[int, ...]:
        """The sorted, non-negative axes of `axis=` (all axes when absent)."""
        if keyword is None:
            return tuple(range(node.ndim))
        found: list[int] = []
        for axis in self.integers(keyword.value, "an axis"):
            if not -node.ndim <= axis < node.ndim:
                described = self.describe(syntax, node, "its argument")
                raise self.error(
                    f"axis {axis} is out of range for {function}: {described}",
                    keyword.value.offset,
                )
            if axis % node.ndim in found:
                raise self.error(f"axis {axis} is repeated in {function}", keyword.value.offset)
            found.append(axis % node.ndim)
        return tuple(sorted(found))

    def flag(self, keyword: Keyword | None) -> bool:
        """The value of `keepdims=`: true or false."""
        if keyword is None:
            return False
        value = keyword.value
        if not (isinstance(value, Name) and value.name in ("true", "false")):
            raise self.error("keepdims must be true or false", value.offset)
        return value.name == "true"
