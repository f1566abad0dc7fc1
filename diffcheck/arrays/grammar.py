"""Array expression text -> syntax tree (`syntax.py`), by a hand-written grammar; nothing runs.

Stage: arrays. Input: one expression of a case file (a superset of version 1's grammar);
output: a `Syntax` tree whose nodes keep the offsets that shape errors point at. Main
function: `parse_array_syntax`. Function names and shapes are the builder's business.
"""

# expression := arith (COMPARISON arith)?     only as where(...)'s first argument
# arith      := term (("+" | "-") term)*
# term       := unary (("*" | "/" | "@") unary)*
# unary      := ("+" | "-") unary | power
# power      := postfix (("**" | "^") (("+" | "-") unary | postfix))*   right-associative
# postfix    := primary ("." "T" | "[" item ("," item)* "]")*
# item       := expression | expression? ":" expression? (":" expression?)?
# primary    := NUMBER | NAME | NAME "(" arguments? ")" | "(" expression ")"
#             | "[" (expression ("," expression)*)? "]"
# arguments  := positional ones, then axis=, axes=, keepdims=; a STRING only first in einsum

from __future__ import annotations

import difflib
import re
import sys
import unicodedata
from collections.abc import Callable
from fractions import Fraction
from typing import NamedTuple

from ..errors import ExpressionError, Location
from .syntax import (
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

__all__ = ["COMPARISONS", "KEYWORDS", "MAX_NESTING", "parse_array_syntax"]

KEYWORDS = ("axis", "axes", "keepdims")
COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
MAX_NESTING = 1000  # brackets, calls and signs; deeper text is almost surely generated garbage
MAX_DECIMAL_EXPONENT = 400  # beyond float64's range either way; bounds the work of 1e999999
MAX_NUMBER_LENGTH = 1000  # Python refuses to convert longer digit strings (int_max_str_digits)
_FRAMES_PER_LEVEL = 12  # Python frames per nesting level (3.11+ keeps them off the C stack)

_NUMBER = re.compile(r"([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")  # ASCII digits only
_OPERATORS = ("**", "<=", ">=", "==", "!=", "+", "-", "*", "/", "^", "@", "(", ")", "[", "]",
              ",", ":", ".", "<", ">", "=")  # fmt: skip
_LOOKALIKES = {
    "\u2212": "-", "\u2013": "-", "\u00d7": "*", "\u00b7": "*", "\u22c5": "*",
    "\u2217": "*", "\u00f7": "/", "\u00b2": "**2", "\u00b3": "**3",
}  # fmt: skip
_FORBIDDEN = {";": "only one expression is allowed", "{": "braces are not allowed",
              "}": "braces are not allowed"}  # fmt: skip
_COMPARISON_PLACE = "comparisons are only allowed as the first argument of where(...)"
_EQUALS = "'=' is only allowed in a keyword argument such as axis=0 (to compare, write '==')"
_COLON = "':' is only allowed inside an index, as in A[1:3, :]"


class _Token(NamedTuple):
    kind: str  # "number", "name", "string", "op" or "end"
    text: str  # as written; a string keeps its quotes
    start: int


def _is_name_part(char: str) -> bool:
    category = unicodedata.category(char)
    return char == "_" or category[0] == "L" or category in ("Nd", "Mn", "Mc")


def _unexpected_character(char: str) -> str:
    if char in _FORBIDDEN:
        return f"{_FORBIDDEN[char]}: unexpected {char!r}"
    described = f"unexpected character {char!r} (U+{ord(char):04X}"
    if char in _LOOKALIKES:
        # as version 1's grammar: a lookalike is named, never guessed (· may mean @)
        name = unicodedata.name(char)
        return f"{described} {name}): write '{_LOOKALIKES[char]}'"
    return described + ")"


def _tokenize(text: str, fail: Callable[[str, int], ExpressionError]) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        previous = tokens[-1] if tokens else None
        token = _read_token(text, position, previous, fail)
        tokens.append(token)
        position += len(token.text)
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _read_token(
    text: str, position: int, previous: _Token | None, fail: Callable[[str, int], ExpressionError]
) -> _Token:
    char = text[position]
    # after an operand, "." starts ".T" (x.5 is not x times 0.5)
    ends_operand = previous is not None and (previous.kind != "op" or previous.text in ")]")
    number = None if char == "." and ends_operand else _NUMBER.match(text, position)
    if number:
        return _Token("number", number.group(), position)
    if char == "_" or unicodedata.category(char).startswith("L"):
        end = position + 1
        while end < len(text) and _is_name_part(text[end]):
            end += 1
        return _Token("name", text[position:end], position)
    if char in "\"'":
        end = text.find(char, position + 1)
        if end < 0:
            raise fail(f"unterminated string: the quote {char} is not closed", position)
        return _Token("string", text[position : end + 1], position)
    operator = next((op for op in _OPERATORS if text.startswith(op, position)), None)
    if operator is None:
        raise fail(_unexpected_character(char), position)
    return _Token("op", operator, position)


def _suggest(name: str, candidates: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _describe(token: _Token) -> str:
    return "the end of the expression" if token.kind == "end" else repr(token.text)


class _Parser:
    def __init__(self, text: str, locate: Callable[[int], Location | None]):
        self.locate = locate
        self.tokens = _tokenize(text, self.error)
        self.index = 0
        self.depth = 0

    def error(self, message: str, offset: int) -> ExpressionError:
        return ExpressionError(message, self.locate(offset))

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def at(self, *operators: str) -> bool:
        return self.token.kind == "op" and self.token.text in operators

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"expression nested more than {MAX_NESTING} levels deep", token.start)

    def unexpected(self, expected: str, colon_hint: bool = True) -> ExpressionError:
        token = self.token
        if self.at("="):
            return self.error(_EQUALS, token.start)
        if colon_hint and self.at(":"):
            return self.error(_COLON, token.start)
        return self.error(f"expected {expected} but found {_describe(token)}", token.start)

    def close(self, opener: _Token, closer: str, expected: str, in_index: bool = False) -> None:
        if self.at(closer):
            self.advance()
            self.depth -= 1
            return
        if self.token.kind != "end" and not self.at(")", "]"):
            raise self.unexpected(expected, colon_hint=not in_index)
        found = "" if self.token.kind == "end" else f": found {_describe(self.token)}"
        raise self.error(f"'{opener.text}' is not closed{found}", opener.start)

    def parse(self) -> Syntax:
        if self.token.kind == "end":
            raise self.error("empty expression", 0)
        tree = self.expression()
        if self.at(")", "]"):
            raise self.error(f"unmatched {_describe(self.token)}", self.token.start)
        if self.token.kind != "end":
            raise self.unexpected("an operator or the end of the expression")
        return tree

    def expression(self, allow_comparison: bool = False) -> Syntax:
        left = self.arith()
        if not self.at(*COMPARISONS):
            return left
        operator = self.advance()
        if not allow_comparison:
            raise self.error(_COMPARISON_PLACE, operator.start)
        right = self.arith()
        if self.at(*COMPARISONS):
            raise self.error("comparisons cannot be chained", self.token.start)
        return Binary(operator.start, operator.text, left, right)

    def arith(self) -> Syntax:
        left = self.term()  # a loop, not recursion: x + x + ... with 100 000 terms parses
        while self.at("+", "-"):
            operator = self.advance()
            left = Binary(operator.start, operator.text, left, self.term())
        return left

    def term(self) -> Syntax:
        left = self.unary()
        while self.at("*", "/", "@"):
            operator = self.advance()
            left = Binary(operator.start, operator.text, left, self.unary())
        return left

    def unary(self) -> Syntax:
        if not self.at("+", "-"):
            return self.power()
        operator = self.advance()
        self.enter(operator)
        operand = self.unary()
        self.depth -= 1
        return Unary(operator.start, operator.text, operand)

    def power(self) -> Syntax:
        operands = [self.postfix()]
        operators: list[_Token] = []
        while self.at("**", "^"):
            operators.append(self.advance())
            operands.append(self.unary() if self.at("+", "-") else self.postfix())
        result = operands.pop()
        for operator in reversed(operators):  # right-associative: 2**3**2 is 2**(3**2)
            result = Binary(operator.start, "**", operands.pop(), result)
        return result

    def postfix(self) -> Syntax:
        node = self.primary()
        while self.at(".", "["):
            node = self.transpose(node) if self.at(".") else self.index_of(node)
        token = self.token
        if token.kind in ("number", "name", "string") or self.at("("):
            previous = self.tokens[self.index - 1]
            if previous.kind == "name" and previous.text == "lambda":
                raise self.error("lambdas are not allowed", previous.start)
            raise self.error(
                f"missing operator between {previous.text!r} and {token.text!r}", token.start
            )
        return node

    def transpose(self, operand: Syntax) -> Syntax:
        dot = self.advance()
        if self.token.kind != "name" or self.token.text != "T":
            raise self.error("attribute access is not allowed; only .T (transpose)", dot.start)
        self.advance()
        return Transpose(dot.start, operand)

    def index_of(self, operand: Syntax) -> Syntax:
        bracket = self.advance()
        self.enter(bracket)
        if self.at("]"):
            raise self.error("empty index: write A[0], A[:, 1] or A[1:3]", self.token.start)
        items = [self.index_item()]
        while self.at(","):
            self.advance()
            items.append(self.index_item())
        self.close(bracket, "]", "',' or ']'", in_index=True)
        return Index(bracket.start, operand, tuple(items))

    def index_item(self) -> Syntax:
        start = self.token.start
        lower = None if self.at(":") else self.expression()
        if not self.at(":"):
            return lower
        self.advance()
        upper = None if self.at(":", ",", "]") else self.expression()
        step = None
        if self.at(":"):
            self.advance()
            step = None if self.at(",", "]") else self.expression()
        return Slice(start, lower, upper, step)

    def primary(self) -> Syntax:
        token = self.token
        if token.kind == "number":
            return self.number(self.advance())
        if token.kind == "name":
            self.advance()
            if self.at("("):
                return self.call(token)
            return Name(token.start, unicodedata.normalize("NFC", token.text))
        if token.kind == "string":
            raise self.error("strings are only allowed as einsum's subscripts", token.start)
        if not self.at("(", "["):
            raise self.unexpected("an expression")
        opener = self.advance()
        self.enter(opener)
        if opener.text == "(":
            node = self.expression()
            self.close(opener, ")", "')'")
            return node
        items = [] if self.at("]") else self.comma_separated()
        self.close(opener, "]", "',' or ']'")
        return ListLiteral(opener.start, tuple(items))

    def comma_separated(self) -> list[Syntax]:
        items = [self.expression()]
        while self.at(","):
            self.advance()
            items.append(self.expression())
        return items

    def number(self, token: _Token) -> Number:
        if len(token.text) > MAX_NUMBER_LENGTH:
            message = f"number too long: {len(token.text)} characters (at most {MAX_NUMBER_LENGTH})"
            raise self.error(message, token.start)
        exponent = _NUMBER.fullmatch(token.text).group(2)
        if exponent and abs(int(exponent[1:])) > MAX_DECIMAL_EXPONENT:
            bound = f"exponents beyond ±{MAX_DECIMAL_EXPONENT} are not allowed"
            raise self.error(f"number {token.text} is out of range: {bound}", token.start)
        # exact: 0.1 is 1/10, so exact evaluation sees the value as written
        return Number(token.start, Fraction(token.text), token.text)

    def call(self, name: _Token) -> Call:
        function = unicodedata.normalize("NFC", name.text)
        opener = self.advance()
        self.enter(opener)
        args: list[Syntax] = []
        keywords: list[Keyword] = []
        if not self.at(")"):
            self.argument(function, args, keywords)
            while self.at(","):
                self.advance()
                self.argument(function, args, keywords)
        self.close(opener, ")", "',' or ')'")
        return Call(name.start, function, tuple(args), tuple(keywords))

    def argument(self, function: str, args: list[Syntax], keywords: list[Keyword]) -> None:
        token = self.token
        if self.at("*", "**"):
            raise self.error("argument unpacking (*args, **kwargs) is not allowed", token.start)
        following = self.tokens[self.index + 1]
        named = token.kind == "name" and following.kind == "op" and following.text == "="
        if named and not (function == "where" and not args):  # where(x = 0): a mistyped ==
            keywords.append(self.keyword(keywords))
        elif keywords:
            raise self.error("a positional argument must come before the keywords", token.start)
        elif token.kind == "string" and function == "einsum" and not args:
            self.advance()
            args.append(StringLiteral(token.start, token.text[1:-1]))
        else:
            args.append(self.expression(allow_comparison=function == "where" and not args))

    def keyword(self, keywords: list[Keyword]) -> Keyword:
        token = self.advance()
        self.advance()  # "="
        name = unicodedata.normalize("NFC", token.text)
        if name not in KEYWORDS:
            hint = _suggest(name, KEYWORDS) or " (the keywords are axis, axes and keepdims)"
            raise self.error(f"unknown keyword argument '{name}'{hint}", token.start)
        if any(keyword.name == name for keyword in keywords):
            raise self.error(f"keyword argument '{name}' is given twice", token.start)
        return Keyword(token.start, name, self.expression())


def _default_locator(offset: int) -> Location:
    return Location("<expression>", 1, offset + 1)


def parse_array_syntax(text: str, locate: Callable[[int], Location | None] | None = None) -> Syntax:
    """Parse an array expression of a case file into its syntax tree, evaluating nothing.

    Args:
        text: the expression, e.g. ``"sum((W @ x + b - y)**2) / m"``.
        locate: maps a 0-based offset in `text` to a file location for error messages;
            by default ``<expression>:1:<offset + 1>``.

    Returns:
        The tree. Each node's `offset` is that of its first character, except Binary
        (its operator), Transpose (the "."), Index (the "[") and Call (the function name).

    Raises:
        ExpressionError: the text is not in the grammar (an unknown character, a missing
            operator, an unclosed bracket, a comparison outside where(...), a string
            outside einsum(...), an unknown keyword, nesting deeper than MAX_NESTING).

    >>> parse_array_syntax("x.T")
    Transpose(offset=1, operand=Name(offset=0, name='x'))
    """
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(previous + _FRAMES_PER_LEVEL * MAX_NESTING)
    try:
        return _Parser(text, locate or _default_locator).parse()
    finally:
        sys.setrecursionlimit(previous)
