"""Syntax tree + shapes -> array IR, every shape checked at the operator that uses it.

Main function: `build_array_expression`. Names resolve to intermediates, array and
scalar variables, dimension sizes (numbers in expressions) and the constants pi and E;
operators broadcast as NumPy does; calls are built in `calls`. Every error is an
`ExpressionError` at the operator's column naming the shapes that do not fit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from fractions import Fraction

import sympy as sp

from ..errors import ExpressionError, Location
from ..symbolic.parse import MAX_CONSTANT_BITS, MAX_INTEGER_POWER, TOO_LARGE_CONSTANT
from . import ops
from .calls import FUNCTIONS, build_call, build_list
from .context import BuildContext, suggestion
from .ir import Constant, IndexItem, Node, Variable
from .syntax import (
    NEWAXIS,
    Binary,
    Call,
    Index,
    Keyword,
    ListLiteral,
    Name,
    Number,
    Slice,
    StringLiteral,
    Syntax,
    Transpose,
    Unary,
)

__all__ = [
    "COMPARISONS",
    "CONSTANTS",
    "MAX_CONSTANT_BITS",
    "array_function_hint",
    "build_array_expression",
]

CONSTANTS = {"pi": sp.pi, "E": sp.E}
COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
_UNKNOWN_FUNCTION = re.compile(r"unknown function '([^']+)'")  # the scalar grammar's words
_ARITHMETIC = {"+": ops.add, "-": ops.subtract, "*": ops.multiply, "/": ops.divide,
               "**": ops.power, "@": ops.matmul}  # fmt: skip


def build_array_expression(
    syntax: Syntax,
    *,
    shapes: Mapping[str, tuple[int, ...]],
    scalars: Collection[str] = (),
    dims: Mapping[str, int] | None = None,
    intermediates: Mapping[str, Node] | None = None,
    dim_names: Mapping[str, tuple[str | int, ...]] | None = None,
    locate: Callable[[int], Location | None] = lambda offset: None,
) -> Node:
    """The IR of `syntax`, with every shape inferred and checked.

    Args:
        syntax: the tree from `grammar.parse_array_syntax`.
        shapes: array variable -> its shape (numbers).
        scalars: the scalar variables.
        dims: dimension name -> size; in expressions a dimension is that number.
        intermediates: name -> the IR already built for it (shared, not copied).
        dim_names: variable -> its declared dimensions (`("m", "n")`), for messages.
        locate: expression column (0-based) -> its place in the file.

    Raises:
        ExpressionError: at the operator whose shapes do not fit, an unknown name or
            function, or a misused keyword, string or comparison.
    """
    context = _Builder(shapes, scalars, dims or {}, intermediates or {}, dim_names, locate)
    return context.expression(syntax)


def array_function_hint(error: ExpressionError) -> ExpressionError:
    """For a scalar case: an expression calling an array function (sum, dot, ...) is most
    likely meant for an array case; say so, rather than suggest a scalar function."""
    match = _UNKNOWN_FUNCTION.match(error.message)
    if match is None or match.group(1) not in FUNCTIONS:
        return error
    return ExpressionError(f"'{match.group(1)}' is an array function: declare the variables' "
                           "shapes under shapes", error.location)  # fmt: skip


class _Builder(BuildContext):
    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._variables: dict[str, Variable] = {}

    def expression(self, syntax: Syntax) -> Node:
        handler = getattr(self, "_" + type(syntax).__name__.lower(), None)
        if handler is None:
            raise self.error(f"{type(syntax).__name__} is not an expression", syntax.offset)
        return handler(syntax)

    def _number(self, syntax: Number) -> Node:
        value = Fraction(syntax.value)
        return ops.constant(sp.Rational(value.numerator, value.denominator))

    def _name(self, syntax: Name) -> Node:
        name = syntax.name
        if name in self.intermediates:
            return self.intermediates[name]
        if name in self.shapes or name in self.scalars:
            if name not in self._variables:
                shape = tuple(self.shapes[name]) if name in self.shapes else ()
                self._variables[name] = Variable(shape=shape, name=name)
            return self._variables[name]
        if name in self.dims:
            return ops.constant(self.dims[name])
        if name in CONSTANTS:
            return ops.constant(CONSTANTS[name])
        if name == NEWAXIS:
            message = "newaxis is only allowed inside an index, as in x[:, newaxis]"
            raise self.error(message, syntax.offset)
        if name in ("true", "false"):
            raise self.error(f"{name} is only allowed as keepdims={name}", syntax.offset)
        known = [*self.intermediates, *self.shapes, *self.scalars, *self.dims, *CONSTANTS]
        raise self.error(f"unknown name '{name}'{suggestion(name, known)}", syntax.offset)

    def _stringliteral(self, syntax: StringLiteral) -> Node:
        raise self.error("a string is only allowed as the subscripts of einsum(...)", syntax.offset)

    def _keyword(self, syntax: Keyword) -> Node:
        raise self.error(f"keyword {syntax.name}= is only allowed in a call", syntax.offset)

    def _slice(self, syntax: Slice) -> Node:
        raise self.error("a slice is only allowed inside an index, as in A[:, 1]", syntax.offset)

    def _listliteral(self, syntax: ListLiteral) -> Node:
        return build_list(self, syntax, "stack", 0)

    def _call(self, syntax: Call) -> Node:
        return build_call(self, syntax)

    def _unary(self, syntax: Unary) -> Node:
        operand = self.expression(syntax.operand)
        return ops.negate(operand) if syntax.op == "-" else operand

    def _binary(self, syntax: Binary) -> Node:
        if syntax.op in COMPARISONS:
            raise self.error(
                f"comparison {syntax.op} is only allowed as the first argument of where(...)",
                syntax.offset,
            )
        left, right = self.expression(syntax.left), self.expression(syntax.right)
        if syntax.op == "**":
            self.check_constant_power(left, right, syntax.offset)
        try:
            result = _ARITHMETIC[syntax.op](left, right)
        except ops.ShapeError:
            roles = ("the left operand", "the right operand")
            pair = [syntax.left, syntax.right]
            raise self.mismatch(syntax.op, syntax.offset, pair, [left, right], roles) from None
        except KeyError:
            raise self.error(f"unknown operator {syntax.op}", syntax.offset) from None
        # constants fold where they meet (2 * (3 * x) is 6 * x): into the result, or into
        # one of its arguments
        made = (result, *getattr(result, "args", ()))
        if any(isinstance(n, Constant) and _bits(n.value) > MAX_CONSTANT_BITS for n in made):
            raise self.error(TOO_LARGE_CONSTANT, syntax.offset)
        return result

    def check_constant_power(self, base: Node, exponent: Node, offset: int) -> None:
        """Refuse a power of constants SymPy would take long to compute exactly (as the
        scalar grammar does, with a bound that keeps every constant printable)."""
        if not (isinstance(base, Constant) and isinstance(exponent, Constant)):
            return
        power = exponent.value
        if power.is_Rational and abs(power) > MAX_INTEGER_POWER:
            shown = f" ({power})" if _bits(power) <= 64 else ""
            raise self.error(f"exponent too large for a constant base{shown}", offset)
        # a bound on the work only (10 counts 4 bits): the folded constant is weighed
        if power.is_Rational and _bits(base.value) * abs(power) > 4 * MAX_CONSTANT_BITS:
            raise self.error(TOO_LARGE_CONSTANT, offset)

    def _transpose(self, syntax: Transpose) -> Node:
        operand = self.expression(syntax.operand)
        if operand.ndim == 2:
            return ops.transpose(operand, (1, 0))
        if operand.ndim == 1:
            message = ("`.T` on a vector is an error: NumPy returns the vector unchanged; "
                       "use outer(...) or x[:, newaxis]")  # fmt: skip
        elif operand.ndim == 0:
            message = "`.T` on a scalar is an error: there is nothing to transpose"
        else:
            message = (f"`.T` on an array with {operand.ndim} axes is an error: NumPy "
                       "reverses all of them; use transpose(A, axes=[...])")  # fmt: skip
        described = self.describe(syntax.operand, operand, "the operand")
        raise self.error(f"{message} ({described})", syntax.offset)

    def _index(self, syntax: Index) -> Node:
        operand = self.expression(syntax.operand)
        described = self.describe(syntax.operand, operand, "the operand")
        indexed = [i for i in syntax.items if not (isinstance(i, Name) and i.name == NEWAXIS)]
        if len(indexed) > operand.ndim:
            axes = "1 axis" if operand.ndim == 1 else f"{operand.ndim} axes"
            message = f"too many indices: {len(indexed)} given, the array has {axes} ({described})"
            raise self.error(message, syntax.offset)
        items: list[IndexItem] = []
        for item in syntax.items:
            if isinstance(item, Name) and item.name == NEWAXIS:
                items.append(None)
                continue
            size = operand.shape[len(items) - items.count(None)]
            items.append(self._index_item(item, size, len(items) - items.count(None), described))
        return ops.index(operand, items)

    def _index_item(self, item: Syntax, size: int, axis: int, described: str) -> IndexItem:
        if isinstance(item, Slice):
            bounds = [None if s is None else self.integer(s, "a slice bound")
                      for s in (item.start, item.stop, item.step)]  # fmt: skip
            if bounds[2] == 0:
                raise self.error("a slice step must not be 0", item.offset)
            start, stop, step = slice(*bounds).indices(size)
            # slice(4, -1, -1) would count from the end: a stop before 0 is None
            return slice(start, None if stop < 0 else stop, step)
        position = self.integer(item, "an index")
        if not -size <= position < size:
            raise self.error(
                f"index {position} is out of range for axis {axis} of size {size} ({described})",
                item.offset,
            )
        return position % size


def _bits(value: sp.Expr) -> int:
    """The size of an exact rational (0 for pi, E and other constants SymPy keeps as
    they are)."""
    if not value.is_Rational:
        return 0
    return max(abs(int(value.p)).bit_length(), int(value.q).bit_length())
