"""Symbolic stage, tokens: expression text -> numbers, names and operators, by a whitelist.

Anything that is not a number, a name (letters, digits, `_`, in any script) or one of
the operators is an error that says what it looks like and what to write instead.
Main functions: `tokenize` and `name_offset`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..errors import ExpressionError

__all__ = ["COMPARISONS", "NUMBER", "Token", "name_offset", "tokenize", "variable_names"]

NUMBER = re.compile(r"([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")  # ASCII digits only
COMPARISONS = ("<=", ">=", "==", "!=", "<", ">")
_OPERATORS = ("**", *COMPARISONS, "+", "-", "*", "/", "^", "(", ")", ",")
_LOOKALIKES = {
    "\u2212": "-", "\u2013": "-", "\u00d7": "*", "\u00b7": "*", "\u22c5": "*",
    "\u2217": "*", "\u00f7": "/", "\u00b2": "**2", "\u00b3": "**3",
    **{chr(0x2080 + digit): str(digit) for digit in range(10)},  # θ₁: write θ1
}  # fmt: skip
_FORBIDDEN = {
    "'": "strings are not allowed", '"': "strings are not allowed",
    ".": "attribute access is not allowed", "[": "indexing is not allowed",
    "]": "indexing is not allowed", "=": "assignments are not allowed (to compare, write '==')",
    ":": "lambdas and slices are not allowed", "{": "braces are not allowed",
    "}": "braces are not allowed", ";": "only one expression is allowed",
}  # fmt: skip


@dataclass(frozen=True)
class Token:
    kind: str  # "number", "name", "op" or "end"
    text: str
    start: int


def name_offset(text: str, name: str) -> int:
    """Where `name` is first used as a variable in expression `text` (0-based; 0 if it
    is not), for errors that point at a name.

    >>> name_offset("2*zz + z", "z")
    7
    """
    return next((token.start for spelled, token in variable_names(text) if spelled == name), 0)


def variable_names(text: str) -> Iterator[tuple[str, Token]]:
    """Each name `text` uses as a variable (not called), in Unicode's composed form (as
    the parser reads it), with its token; constants (pi, E) among them."""
    tokens = tokenize(text, lambda message, offset: ExpressionError(message))
    for token, following in zip(tokens, tokens[1:], strict=False):
        if token.kind == "name" and following.text != "(":
            yield unicodedata.normalize("NFC", token.text), token


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


def tokenize(text: str, fail: Callable[[str, int], ExpressionError]) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char.isspace():
            position += 1
            continue
        number = NUMBER.match(text, position)
        if number:
            tokens.append(Token("number", number.group(), position))
            position = number.end()
        elif _is_name_start(char):
            end = position + 1
            while end < len(text) and _is_name_part(text[end]):
                end += 1
            tokens.append(Token("name", text[position:end], position))
            position = end
        else:
            operator = next((op for op in _OPERATORS if text.startswith(op, position)), None)
            if operator is None:
                raise fail(_unexpected_character(char), position)
            tokens.append(Token("op", operator, position))
            position += len(operator)
    tokens.append(Token("end", "", len(text)))
    return tokens
