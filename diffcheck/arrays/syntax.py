"""The syntax tree of an array expression: what the grammar reads, before shapes.

`grammar.parse_array_syntax(text)` gives these nodes; `build` turns them into the array
IR, checking shapes. Every node keeps `offset`, the 0-based column of its first
character in the expression text (for an operator: of the operator itself), so a shape
error is reported at FILE:LINE:COLUMN of the operator that does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "Binary",
    "Call",
    "Index",
    "ListLiteral",
    "Name",
    "Number",
    "Slice",
    "Keyword",
    "StringLiteral",
    "Syntax",
    "Transpose",
    "Unary",
    "NEWAXIS",
]


@dataclass(frozen=True)
class Syntax:
    offset: int


@dataclass(frozen=True)
class Number(Syntax):
    value: Fraction  # exact: 0.1 is 1/10; 1e-3 is 1/1000
    text: str


@dataclass(frozen=True)
class Name(Syntax):
    name: str  # a variable, intermediate, dimension, constant (pi, E) or `newaxis`


@dataclass(frozen=True)
class StringLiteral(Syntax):
    value: str  # only einsum's subscripts are strings


@dataclass(frozen=True)
class ListLiteral(Syntax):
    items: tuple[Syntax, ...]  # [a, b, c]: axes, shapes, and stack/concatenate operands


@dataclass(frozen=True)
class Unary(Syntax):
    op: str  # "-" or "+"
    operand: Syntax


@dataclass(frozen=True)
class Binary(Syntax):
    op: str  # "+", "-", "*", "/", "**" ("^" is read as "**"), "@", or a comparison
    left: Syntax  # comparisons ("<", "<=", ">", ">=", "==", "!=") only as where()'s first
    right: Syntax  # argument; the grammar reads them, the builder places them


@dataclass(frozen=True)
class Keyword(Syntax):
    name: str  # axis, axes, keepdims
    value: Syntax  # true/false are Name("true")/Name("false")


@dataclass(frozen=True)
class Call(Syntax):
    function: str
    args: tuple[Syntax, ...]
    keywords: tuple[Keyword, ...] = ()


@dataclass(frozen=True)
class Transpose(Syntax):
    operand: Syntax  # A.T; offset is that of ".T"


@dataclass(frozen=True)
class Slice(Syntax):
    start: Syntax | None
    stop: Syntax | None
    step: Syntax | None


NEWAXIS = "newaxis"


@dataclass(frozen=True)
class Index(Syntax):
    operand: Syntax
    items: tuple[Syntax, ...]  # each an expression (a whole number), a Slice or Name("newaxis")
