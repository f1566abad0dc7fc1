"""Symbolic stage, printing: expressions in case-file syntax as derivations show them.

`print_expression(expr)` is `format_expression` with three things textbooks do: a sum
starts with a positive term (y - t), a product lists its plain factors before its sums
(sigmoid(x)*(1 - sigmoid(x))), and with
`power_form=True` negative and fractional powers stay powers ((1 + exp(-x))**(-1)
rather than 1/(1 + exp(-x))), as a power-rule step needs them. Parsing the text gives
the same expression back either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sympy as sp
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from ..limits import deep_recursion
from .trees import too_large_to_print

__all__ = [
    "CaseFilePrinter",
    "decimal_text",
    "is_power_form",
    "ordered_factors",
    "print_expression",
]


def is_power_form(expr: sp.Basic) -> bool:
    """True for a power that prints as a quotient or a root (x**(-1), x**(1/2)).

    >>> x = sp.Symbol("x")
    >>> is_power_form(1 / x), is_power_form(sp.sqrt(x)), is_power_form(x**2)
    (True, True, False)
    """
    exponent = expr.exp if expr.is_Pow else None
    return bool(exponent is not None and exponent.is_Rational and
                (exponent.is_negative or not exponent.is_Integer))  # fmt: skip


def ordered_factors(expr: sp.Mul) -> tuple[sp.Expr, sp.Expr, ...] | None:
    """(coefficient, factors...) of a product with its sums last, or None when the
    product has a denominator or a fractional coefficient (SymPy's layout is right then).

    >>> x = sp.Symbol("x")
    >>> ordered_factors((1 - x) * sp.exp(x))
    (1, exp(x), 1 - x)
    """
    coefficient, rest = expr.as_coeff_Mul()
    factors = sp.Mul.make_args(rest)
    if not coefficient.is_Integer or any(is_power_form(f) and f.exp < 0 for f in factors):
        return None
    ordered = sorted(factors, key=lambda factor: factor.is_Add)  # stable: SymPy's order
    return (coefficient, *ordered)


def decimal_text(number: sp.Basic) -> str | None:
    """A rational the user most likely typed as a decimal (0.044715 is 8943/200000),
    written so: its denominator a power of ten's divisor of at least 1000, its digits
    few. None for the others (1/2, 3/20, 1/3 stay fractions).

    >>> decimal_text(sp.Rational(8943, 200000)), decimal_text(sp.Rational(1, 2))
    ('0.044715', None)
    """
    if not isinstance(number, sp.Rational) or number.is_Integer or number.q < 1000:
        return None
    q, twos, fives = int(number.q), 0, 0
    while q % 2 == 0:
        q, twos = q // 2, twos + 1
    while q % 5 == 0:
        q, fives = q // 5, fives + 1
    places = max(twos, fives)
    if q != 1 or places > 20:
        return None
    return f"{Decimal(int(number.p)) / Decimal(int(number.q)):.{places}f}"


class CaseFilePrinter(StrPrinter):
    """SymPy's str printer (case-file syntax) with the layout of a derivation."""

    _default_settings: dict[str, Any] = {**StrPrinter._default_settings, "power_form": False}

    def __init__(self, settings: dict[str, Any] | None = None):
        super().__init__(settings)
        self._written = self._settings["order"] == "none"  # the user's order: kept

    def _as_ordered_terms(self, expr: sp.Add, order: str | None = None) -> list[sp.Expr]:
        """SymPy's order of terms, a positive one first, as people write sums: y - t,
        not -t + y (the user's order is kept when written)."""
        terms = super()._as_ordered_terms(expr, order)
        if self._written:
            return terms
        return sorted(terms, key=lambda term: term.could_extract_minus_sign())  # stable

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        if not (self._settings["power_form"] and is_power_form(expr)):
            return super()._print_Pow(expr, rational)
        base = self.parenthesize(expr.base, PRECEDENCE["Pow"], strict=False)
        exponent = CaseFilePrinter({**self._settings, "power_form": False}).doprint(expr.exp)
        return f"{base}**({exponent})"  # the exponent itself as usual: x**(1/2)

    def _print_Rational(self, expr: sp.Rational) -> str:
        text = decimal_text(abs(expr))
        if text is None:
            return super()._print_Rational(expr)
        return f"-{text}" if expr.is_negative else text

    def _print_Mul(self, expr: sp.Mul) -> str:
        coefficient, rest = expr.as_coeff_Mul()
        text = decimal_text(abs(coefficient))
        if text is not None and rest != 1:
            return ("-" if coefficient.is_negative else "") + self._decimal_times(text, rest)
        if self._settings["power_form"]:
            coefficient, rest = expr.as_coeff_Mul()
            factors = sorted(sp.Mul.make_args(rest), key=lambda factor: factor.is_Add)
            return self._join_factors(coefficient, factors)
        if self._written:
            return super()._print_Mul(expr)
        ordered = ordered_factors(expr)
        if ordered is None or len(ordered) < 3:
            return super()._print_Mul(expr)
        return self._join_factors(ordered[0], ordered[1:])

    def _decimal_times(self, text: str, rest: sp.Expr) -> str:
        """0.25*x/y: the decimal, the numerator's factors, then the denominator."""
        factors = sp.Mul.make_args(rest)
        below = [f for f in factors if is_power_form(f) and f.exp < 0]
        above = [f for f in factors if f not in below]
        if above:
            top = self._print(sp.Mul(*above))
            text += "*" + (f"({top})" if len(above) == 1 and above[0].is_Add else top)
        if below:
            bottom = sp.Mul(*(1 / f for f in below))
            bottom_text = self._print(bottom)
            text += f"/({bottom_text})" if bottom.is_Mul or bottom.is_Add else f"/{bottom_text}"
        return text

    def _join_factors(self, coefficient: sp.Expr, factors: Sequence[sp.Expr]) -> str:
        texts = [self.parenthesize(f, PRECEDENCE["Mul"], strict=False) for f in factors]
        body = "*".join(texts)
        if coefficient == 1:
            return body
        if coefficient == -1:
            return f"-{body}"
        if coefficient.is_negative:
            return f"-{self._print(-coefficient)}*{body}"
        return f"{self.parenthesize(coefficient, PRECEDENCE['Mul'], strict=False)}*{body}"


def print_expression(expr: sp.Basic, power_form: bool = False, as_written: bool = False) -> str:
    """Case-file syntax for `expr`, laid out as a derivation shows it; `as_written` for
    an expression built without evaluation (`written`): its terms and factors keep
    their order.

    >>> from diffcheck.symbolic.parse import parse_expression as p
    >>> print_expression(p("sigmoid(x)*(1 - sigmoid(x))"))
    'sigmoid(x)*(1 - sigmoid(x))'
    >>> print_expression(p("-1/(1 + exp(-x))^2"), power_form=True)
    '-(1 + exp(-x))**(-2)'
    >>> from diffcheck.symbolic.written import parse_as_written
    >>> print_expression(parse_as_written("(1 - s)*s/2"), as_written=True)
    '(1 - s)*s/2'
    """
    note = too_large_to_print(expr)
    if note is not None:
        return f"<{note}>"
    with deep_recursion():
        settings = {"power_form": power_form, **({"order": "none"} if as_written else {})}
        return CaseFilePrinter(settings).doprint(expr)
