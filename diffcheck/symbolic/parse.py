"""Expression text -> SymPy expression, by a whitelist grammar; nothing is evaluated.

Grammar (`^` and `**` are both powers, right-associative, binding tighter than unary -):

    sum   := term (("+" | "-") term)*
    term  := unary (("*" | "/") unary)*
    unary := ("+" | "-") unary | power
    power := atom (("**" | "^") unary)?
    atom  := NUMBER | NAME | NAME "(" sum ("," sum)* ")" | "(" sum ")"

Function names and arities come from `rules.RULES`. Main function: `parse_expression`.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import sympy as sp

from ..errors import ExpressionError, Location, counted
from ..limits import deep_recursion
from .rules import RULES, Rule
from .values import constant_float

__all__ = ["CONSTANTS", "FUNCTION_NAMES", "parse_expression", "suggest"]

CONSTANTS = {"pi": sp.pi, "E": sp.E}
_FUNCTIONS: dict[str, Rule] = {
    name: rule for rule in RULES.values() for name in (rule.name, *rule.aliases)
}
FUNCTION_NAMES = frozenset(_FUNCTIONS)

MAX_NESTING = 1000  # parentheses and calls; deeper text is almost surely generated garbage
MAX_DECIMAL_EXPONENT = 400  # beyond float64's range either way; bounds the work of 1e999999
MAX_INTEGER_POWER = 10_000  # 2**(10**9) would try to build a billion-bit integer
MAX_CONSTANT_BITS = 1_000_000  # (2**10000)**10000 has 10**8 bits

_NUMBER = re.compile(r"([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")  # ASCII digits only
_OPERATORS = ("**", "+", "-", "*", "/", "^", "(", ")", ",")
_LOOKALIKES = {
    "\u2212": "-", "\u2013": "-", "\u00d7": "*", "\u00b7": "*", "\u22c5": "*",
    "\u2217": "*", "\u00f7": "/", "\u00b2": "**2", "\u00b3": "**3",
}  # fmt: skip
_FORBIDDEN = {
    "'": "strings are not allowed", '"': "strings are not allowed",
    ".": "attribute access is not allowed", "[": "indexing is not allowed",
    "]": "indexing is not allowed", "=": "assignments and comparisons are not allowed",
    ":": "lambdas and slices are not allowed", "{": "braces are not allowed",
    "}": "braces are not allowed", ";": "only one expression is allowed",
}  # fmt: skip


@dataclass(frozen=True)
class _Token:
    kind: str  # "number", "name", "op" or "end"
    text: str
    start: int


def suggest(name: str, candidates: frozenset[str] | set[str]) -> str:
    """A " (did you mean 'x'?)" suffix naming the closest candidate, or "".

    >>> suggest("sigmod", frozenset({"sigmoid", "sign"}))
    " (did you mean 'sigmoid'?)"
    """
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _is_name_start(char: str) -> bool:
    return char == "_" or unicodedata.category(char).startswith("L")


def _is_name_part(char: str) -> bool:
    category = unicodedata.category(char)
    return char == "_" or category[0] == "L" or category in ("Nd", "Mn", "Mc")


def _unexpected_character(char: str) -> str:
    if char in _FORBIDDEN:
        return f"{_FORBIDDEN[char]}: unexpected {char!r}"
    if char in _LOOKALIKES:
        name = unicodedata.name(char, "character")
        return f"unexpected character {char!r} ({name}): write '{_LOOKALIKES[char]}'"
    return f"unexpected character {char!r}"


def _tokenize(text: str, fail: Callable[[str, int], ExpressionError]) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char.isspace():
            position += 1
            continue
        number = _NUMBER.match(text, position)
        if number:
            tokens.append(_Token("number", number.group(), position))
            position = number.end()
        elif _is_name_start(char):
            end = position + 1
            while end < len(text) and _is_name_part(text[end]):
                end += 1
            tokens.append(_Token("name", text[position:end], position))
            position = end
        else:
            operator = next((op for op in _OPERATORS if text.startswith(op, position)), None)
            if operator is None:
                raise fail(_unexpected_character(char), position)
            tokens.append(_Token("op", operator, position))
            position += len(operator)
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _bits(number: sp.Rational) -> int:
    return max(abs(number.p).bit_length(), number.q.bit_length())


def _number(text: str) -> sp.Rational:
    # exact rationals: 0.1 is 1/10, so symbolic proofs and mpmath see the written value
    value = Fraction(text)
    return sp.Rational(value.numerator, value.denominator)


class _Parser:
    def __init__(self, text: str, locate: Callable[[int], Location | None]):
        self.text = text
        self.locate = locate
        self.tokens = _tokenize(text, self.error)
        self.index = 0
        self.depth = 0

    def error(self, message: str, offset: int) -> ExpressionError:
        return ExpressionError(message, self.locate(offset))

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def describe(self, token: _Token) -> str:
        return "end of expression" if token.kind == "end" else repr(token.text)

    def expect(self, text: str) -> _Token:
        if self.token.text != text or self.token.kind != "op":
            raise self.error(
                f"expected '{text}' but found {self.describe(self.token)}", self.token.start
            )
        return self.advance()

    def parse(self) -> sp.Expr:
        if self.token.kind == "end":
            raise self.error("empty expression", 0)
        expr = self.sum()
        if self.token.kind != "end":
            raise self.error(f"unexpected {self.describe(self.token)}", self.token.start)
        return expr

    def sum(self) -> sp.Expr:
        # SymPy is given all the terms at once: adding them one by one rebuilds the
        # sum each time, quadratic in the number of terms
        terms = [self.signed_term()]
        while self.token.kind == "op" and self.token.text in "+-":
            operator = self.advance().text
            right = self.term()
            terms.append(right if operator == "+" else -right)
        return sp.Add(*terms)

    def signed_term(self) -> sp.Expr:
        # a leading sign applies to the whole term, as in -a*b = -(a*b): SymPy prints
        # -(x + 1)*(y + 2) for Mul(-1, x + 1, y + 2), and must read it back as that
        if self.token.kind == "op" and self.token.text in "+-":
            operator = self.advance()
            self.enter(operator)
            term = self.term()
            self.depth -= 1
            return -term if operator.text == "-" else term
        return self.term()

    def term(self) -> sp.Expr:
        factors = [self.unary()]  # all at once, as the terms of a sum
        while True:
            token = self.token
            if token.kind == "op" and token.text in ("*", "/"):
                self.advance()
                right = self.unary()
                if token.text == "/":
                    self.check_divisor(right, token.start)
                factors.append(right if token.text == "*" else 1 / right)
            elif token.kind in ("number", "name") or token.text == "(":
                previous = self.tokens[self.index - 1]
                raise self.error(
                    f"missing operator between {previous.text!r} and {token.text!r}"
                    f" (write {previous.text}*{token.text})",
                    token.start,
                )
            else:
                return sp.Mul(*factors)

    def check_divisor(self, divisor: sp.Expr, offset: int) -> None:
        # calls of constants are kept as written (see Rule.build), so SymPy cannot see
        # that log(1) is 0: their value decides
        if divisor.is_number and divisor.has(sp.Function) and constant_float(divisor) == 0:
            raise self.error(f"division by zero: {divisor} is 0", offset)

    def unary(self) -> sp.Expr:
        if self.token.kind == "op" and self.token.text in "+-":
            operator = self.advance()
            self.enter(operator)
            operand = self.unary()
            self.depth -= 1
            return -operand if operator.text == "-" else operand
        return self.power()

    def power(self) -> sp.Expr:
        base = self.atom()
        if self.token.kind == "op" and self.token.text in ("**", "^"):
            operator = self.advance()
            self.enter(operator)
            exponent = self.unary()
            self.depth -= 1
            return self.raise_to(base, exponent, operator.start)
        return base

    def raise_to(self, base: sp.Expr, exponent: sp.Expr, offset: int) -> sp.Expr:
        # SymPy computes powers of rationals exactly: bound the work before asking it
        if base.is_number and exponent.is_number:
            if exponent.is_Rational and abs(exponent) > MAX_INTEGER_POWER:
                shown = f" ({exponent})" if len(str(exponent)) <= 20 else ""
                raise self.error(f"exponent too large for a constant base{shown}", offset)
            if (
                base.is_Rational
                and exponent.is_Rational
                and _bits(base) * abs(exponent) > MAX_CONSTANT_BITS
            ):
                raise self.error(
                    "the constant is too large: its exact value would have "
                    f"more than {MAX_CONSTANT_BITS} bits",
                    offset,
                )
        return base**exponent

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"expression nested more than {MAX_NESTING} levels deep", token.start)

    def atom(self) -> sp.Expr:
        token = self.advance()
        if token.kind == "number":
            return self.number(token)
        if token.kind == "name":
            if self.token.text == "(" and self.token.kind == "op":
                return self.call(token)
            return self.name(token)
        if token.text == "(":
            self.enter(token)
            expr = self.sum()
            self.expect(")")
            self.depth -= 1
            return expr
        self.index -= 1
        raise self.error(
            f"expected a number, a name or '(' but found {self.describe(token)}", token.start
        )

    def number(self, token: _Token) -> sp.Expr:
        exponent = _NUMBER.fullmatch(token.text).group(2)
        if exponent and abs(int(exponent[1:])) > MAX_DECIMAL_EXPONENT:
            raise self.error(f"number {token.text} is out of range", token.start)
        return _number(token.text)

    def name(self, token: _Token) -> sp.Expr:
        name = unicodedata.normalize("NFC", token.text)
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in _FUNCTIONS:
            raise self.error(f"'{name}' is a function: call it as {name}(...)", token.start)
        return sp.Symbol(name)

    def call(self, token: _Token) -> sp.Expr:
        name = unicodedata.normalize("NFC", token.text)
        rule = _FUNCTIONS.get(name)
        if rule is None:
            if name in CONSTANTS:
                raise self.error(f"'{name}' is a constant, not a function", token.start)
            hint = suggest(name, FUNCTION_NAMES)
            raise self.error(f"unknown function '{name}'{hint}", token.start)
        self.enter(self.advance())
        args = [self.sum()]
        while self.token.kind == "op" and self.token.text == ",":
            self.advance()
            args.append(self.sum())
        self.expect(")")
        self.depth -= 1
        self.check_arguments(rule, name, args, token.start)
        call = rule.build(args)
        if all(arg.is_number for arg in args) and not _real_value(call):
            shown = ", ".join(str(arg) for arg in args)
            raise self.error(f"{name}({shown}) has no finite real value", token.start)
        return call

    def check_arguments(self, rule: Rule, name: str, args: list[sp.Expr], offset: int) -> None:
        if not rule.accepts(len(args)):
            wanted = rule.arity or 1
            at_least = "at least " if rule.arity is None or rule.fold else ""
            raise self.error(
                f"{name} takes {at_least}{counted(wanted, 'argument')}, got {len(args)}", offset
            )
        for index in rule.integer_args:
            arg = args[index]
            if not (arg.is_Integer and arg >= 0):
                raise self.error(
                    f"{name}'s argument {index + 1} must be a non-negative "
                    f"whole number, got '{arg}'",
                    offset,
                )


def _real_value(constant: sp.Expr) -> bool:
    """Whether a call of constants has a finite real value as the checker computes it
    (log(0) and log(-2) do not; lgamma(-2.5) = log|Γ(-2.5)| does)."""
    return not math.isnan(constant_float(constant))  # inf: finite but beyond float64


def _default_locator(offset: int) -> Location:
    return Location("<expression>", 1, offset + 1)


def parse_expression(
    text: str, locate: Callable[[int], Location | None] = _default_locator
) -> sp.Expr:
    """Parse case-file expression text into a SymPy expression.

    Args:
        text: the expression, e.g. ``"1/(1 + exp(-x))"`` or ``"x^2"``.
        locate: maps a 0-based offset in `text` to a file location for error messages.

    Returns:
        The SymPy expression, built from the rule table's functions and plain symbols.

    Raises:
        ExpressionError: the text is not in the grammar, names an unknown function, or
            calls one with the wrong number of arguments.

    >>> parse_expression("2*x^2 - sigmoid(x)")
    2*x**2 - sigmoid(x)
    """
    with deep_recursion():
        expr = _Parser(text, locate).parse()
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ExpressionError("the expression is undefined (a division by zero?)", locate(0))
    return expr
