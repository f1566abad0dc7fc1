"""Explain stage, matrix notation: terms -> text of the case language.

`print_term(term)` writes a term so that the array grammar reads it back as the same
value: `2 * outer(r, x) / m`, `X.T @ (softmax(Z, axis=-1) - Y) / N`, `W2.T @ d * h *
(1 - h)` with brackets only where the grammar needs them (`*`, `/` and `@` share one
precedence and group to the left; a power's base and `.T`'s operand bind tightest).
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from ..symbolic.printing import print_expression
from .matrix_terms import (
    Apply,
    Compare,
    Contraction,
    Filled,
    Identity,
    Index,
    ListOf,
    MatMul,
    Name,
    Power,
    Product,
    Reshape,
    Sum,
    Term,
    Transpose,
    is_negative,
    is_scalar,
    negated,
)

__all__ = ["print_number", "print_shape", "print_term"]

COMPARE, SUM, TERM, UNARY, POWER, POSTFIX, ATOM = range(7)
_LETTERS = "ijklmnopqrstuvwxyzabcdefgh"
_SOFTMAX = ("softmax", "log_softmax")
# axis=-1 reads best
_AXIS_LAST = ("sum", "mean", "prod", "max", "min", "logsumexp", "norm", *_SOFTMAX)


def print_term(term: Term) -> str:
    """The term in the case language.

    >>> from diffcheck.explain.matrix_algebra import product
    >>> from diffcheck.explain.matrix_terms import Name
    >>> print_term(product(sp.Rational(1, 2), [(Name((3,), "r"), 1)], (3,)))
    'r / 2'
    """
    return _text(term)[0]


def _wrap(found: tuple[str, int], minimum: int) -> str:
    text, level = found
    return f"({text})" if level < minimum else text


def print_number(value: Any) -> str:
    """An exact number (dimension names allowed) in the case language: 2, 1/2, 2 / m."""
    return _number(sp.sympify(value))[0]


def print_shape(shape: tuple[Any, ...]) -> str:
    return "[" + ", ".join(print_number(size) for size in shape) + "]"


def _number(value: sp.Expr) -> tuple[str, int]:
    if value.is_Add:  # n + 1
        return print_expression(value), SUM
    if value.could_extract_minus_sign():
        text, level = _number(-value)
        return f"-{text}", (UNARY if level > TERM else TERM)
    numerator, denominator = sp.fraction(value)
    top = _factors(numerator) or ["1"]
    text = " * ".join(top)
    below = _factors(denominator)
    if below:
        text += " / " + (below[0] if len(below) == 1 else f"({' * '.join(below)})")
    single = len(top) == 1 and not below
    return text, (ATOM if single and top[0].isalnum() else POWER if single else TERM)


def _factors(value: sp.Expr) -> list[str]:
    items = []
    for factor in sp.Mul.make_args(value):
        if factor == 1:
            continue
        base, exponent = factor.as_base_exp()
        if factor.is_Integer or factor.is_Symbol or factor in (sp.pi, sp.E):
            items.append(str(factor))
        elif exponent == sp.Rational(1, 2):
            items.append(f"sqrt({print_number(base)})")
        elif exponent.is_Integer and exponent > 1 and (base.is_Symbol or base.is_Integer):
            items.append(f"{base}**{exponent}")
        else:
            items.append(f"({print_expression(factor)})")
    return items


def _text(term: Term) -> tuple[str, int]:
    printer = _PRINTERS.get(type(term))
    if printer is None:
        raise TypeError(f"no printer for {type(term).__name__}")
    return printer(term)


def _filled(term: Filled) -> tuple[str, int]:
    if is_scalar(term):
        return _number(term.value)
    if term.value in (0, 1):
        return f"{'ones' if term.value == 1 else 'zeros'}({print_shape(term.shape)})", ATOM
    ones = Filled(term.shape, sp.Integer(1))
    return _product(Product(term.shape, term.value, ((ones, sp.Integer(1)),)))


def _sum(term: Sum) -> tuple[str, int]:
    pieces = []
    for position, part in enumerate(term.terms):
        negative = is_negative(part)
        text = _wrap(_text(negated(part) if negative else part), TERM)
        if position == 0:
            pieces.append(f"-{text}" if negative else text)
        else:
            pieces.append(f" - {text}" if negative else f" + {text}")
    return "".join(pieces), SUM


def _product(term: Product) -> tuple[str, int]:
    coefficient = sp.sympify(term.coefficient)
    sign = "-" if coefficient.could_extract_minus_sign() else ""
    numerator, denominator = sp.fraction(-coefficient if sign else coefficient)
    top = _factors(numerator)
    below = _factors(denominator)
    arrays = [f for f, _ in term.factors if not is_scalar(f)]
    bare = len(arrays) == 1 and isinstance(arrays[0], MatMul)  # A @ B alone may go last
    last = None
    for factor, exponent in term.factors:
        if exponent == 1 and bare and factor is arrays[0]:
            last = _text(factor)[0]
        elif sp.sympify(exponent).could_extract_minus_sign():
            below.append(_power(factor, -exponent, UNARY))
        else:
            top.append(_power(factor, exponent, UNARY))
    if last is not None:
        top.append(last)
    text = sign + (" * ".join(top) or "1")
    if below:
        text += " / " + (below[0] if len(below) == 1 else f"({' * '.join(below)})")
    single = len(top) == 1 and not below and last is None
    return text, (UNARY if single else TERM)


def _power(factor: Term, exponent: Any, minimum: int) -> str:
    if exponent == 1:
        return _wrap(_text(factor), minimum)
    power = sp.sympify(exponent)
    shown = str(power) if power.is_Integer else f"({print_number(power)})"
    return f"{_wrap(_text(factor), POSTFIX)}**{shown}"


def _matmul(term: MatMul) -> tuple[str, int]:
    sides = []
    for side in (term.left, term.right):
        sides.append(_text(side)[0] if isinstance(side, MatMul) else _wrap(_text(side), UNARY))
    return " @ ".join(sides), TERM


def _keyword(term: Apply, name: str, value: Any) -> str | None:
    if name == "keepdims":
        return "keepdims=true" if value else None
    if name == "axis" and term.function in _SOFTMAX:
        ndim = len(term.args[0].shape)
        if ndim == 1:
            return None
        return f"axis={-1 if value == ndim - 1 else value}"
    if isinstance(value, tuple):
        return f"{name}=[{', '.join(str(v) for v in value)}]"
    ndim = len(term.args[0].shape)
    if name == "axis" and term.function in _AXIS_LAST and ndim > 1 and value == ndim - 1:
        return "axis=-1"
    return f"{name}={value}"


def _apply(term: Apply) -> tuple[str, int]:
    args = [_text(arg)[0] for arg in term.args]
    keywords = [_keyword(term, name, value) for name, value in term.keywords]
    inside = ", ".join([*args, *(k for k in keywords if k is not None)])
    return f"{term.function}({inside})", ATOM


def _item(item: Any, size: Any) -> str:
    if item is None:
        return "newaxis"
    if not isinstance(item, tuple):
        return print_number(item)
    start, stop, step = item
    if start == 0 and stop == size and step == 1:
        return ":"
    lower = print_number(start) if start != 0 else ""
    text = f"{lower}:{'' if stop is None else print_number(stop)}"
    return text if step == 1 else f"{text}:{print_number(step)}"


def _index(term: Index) -> tuple[str, int]:
    texts, axis = [], 0
    for item in term.items:
        size = term.operand.shape[axis] if item is not None else None
        texts.append(_item(item, size))
        axis += item is not None
    return f"{_wrap(_text(term.operand), POSTFIX)}[{', '.join(texts)}]", POSTFIX


def _contraction(term: Contraction) -> tuple[str, int]:
    labels = sorted({*term.output, *(x for s in term.subscripts for x in s)})
    letter = {label: _LETTERS[i] for i, label in enumerate(labels)}
    terms = ",".join("".join(letter[x] for x in s) for s in term.subscripts)
    subscripts = terms + "->" + "".join(letter[x] for x in term.output)
    operands = ", ".join(_text(op)[0] for op in term.operands)
    return f'einsum("{subscripts}", {operands})', ATOM


_PRINTERS = {
    Name: lambda term: (term.name, ATOM),
    Filled: _filled,
    Identity: lambda term: (f"eye({print_number(term.shape[0])})", ATOM),
    Sum: _sum,
    Product: _product,
    Power: lambda term: (
        _wrap(_text(term.base), POSTFIX) + "**" + _wrap(_text(term.exponent), POSTFIX),
        POWER,
    ),
    MatMul: _matmul,
    Transpose: lambda term: (f"{_wrap(_text(term.operand), POSTFIX)}.T", POSTFIX),
    Apply: _apply,
    Compare: lambda term: (
        f"{_text(term.left)[0]} {term.op} {_wrap(_text(term.right), SUM)}",
        COMPARE,
    ),
    Index: _index,
    Reshape: lambda term: (f"reshape({_text(term.operand)[0]}, {print_shape(term.shape)})", ATOM),
    Contraction: _contraction,
    ListOf: lambda term: ("[" + ", ".join(_text(item)[0] for item in term.items) + "]", ATOM),
}
