"""YAML nodes -> values with locations; the reading half of the `cases` stage.

`Source` turns PyYAML marks (0-based) and offsets inside a scalar into 1-based
`Location`s; `NodeReader` reads mappings, scalars, numbers and expressions, collecting
every error instead of stopping at the first.
"""

from __future__ import annotations

import bisect
import math
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sympy as sp
import yaml

from ..errors import CaseFileError, DiffcheckError, ExpressionError, Location
from ..symbolic.parse import parse_expression, suggest
from ..symbolic.values import constant_float

__all__ = ["Expression", "NodeReader", "Source"]

_MERGE_TAG = "tag:yaml.org,2002:merge"
_INVALID = object()  # a scalar whose YAML could not be constructed (its error is reported)


@dataclass(frozen=True)
class Expression:
    """Expression text as written, its SymPy tree, and where it stands in the file."""

    text: str
    expr: sp.Expr
    location: Location


class Source:
    """A file's text, for turning YAML marks and expression offsets into locations."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.text = text
        self.line_starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]

    def at_index(self, index: int) -> Location:
        line = bisect.bisect_right(self.line_starts, index) - 1
        return Location(self.path, line + 1, index - self.line_starts[line] + 1)

    def at(self, node: yaml.Node) -> Location:
        return Location(self.path, node.start_mark.line + 1, node.start_mark.column + 1)

    def locator(self, node: yaml.ScalarNode) -> Callable[[int], Location]:
        """Map offsets in a scalar's value to the file, whatever its quoting or folding.

        The raw text is cut into units, each the source of one character of the value
        (an escape such as \\u03c3 is one unit); the value's non-space characters are
        found among them in order. An offset on a space maps to the next character
        found; the end of the value maps to the closing quote, or after the last one.
        """
        start, end = node.start_mark.index, node.end_mark.index
        units = _units(self.text[start:end], node.style)
        positions: list[int | None] = []
        cursor, last = 0, None
        for char in node.value:
            found = None
            if not char.isspace():
                while cursor < len(units) and units[cursor][1] != char:
                    cursor += 1
                if cursor < len(units):
                    found, cursor = start + units[cursor][0], cursor + 1
                    last = found
            positions.append(found)
        # the end of the text: a quoted scalar's closing quote, else after its last character
        tail = end - 1 if node.style in ("'", '"') else (last + 1 if last is not None else start)

        def locate(offset: int) -> Location:
            following = (p for p in positions[offset:] if p is not None)
            return self.at_index(next(following, tail))

        return locate


_ESCAPES = {"x": 4, "u": 6, "U": 10}  # escape -> length of \xNN, \uNNNN, \UNNNNNNNN
_SIMPLE_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v",
    "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\",
    "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029",
}  # fmt: skip


def _units(raw: str, style: str | None) -> list[tuple[int, str]]:
    """(offset in `raw`, the character of the value it stands for), in order."""
    if style in ("|", ">"):
        header = raw.find("\n") + 1  # the indicator line: | or > with its modifiers
        return [(i, char) for i, char in enumerate(raw) if i >= header]
    if style == "'":
        return [
            (i, char)
            for i, char in enumerate(raw[1:-1], start=1)
            if not (char == "'" and raw[i - 1] == "'" and i > 1)
        ]  # '' is one quote
    if style != '"':
        return list(enumerate(raw))
    units, i = [], 1
    while i < len(raw) - 1:
        char = raw[i]
        if char != "\\" or i + 1 >= len(raw) - 1:
            units.append((i, char))
            i += 1
            continue
        kind = raw[i + 1]
        length = _ESCAPES.get(kind, 2)
        if kind in _ESCAPES:
            try:
                units.append((i, chr(int(raw[i + 2 : i + length], 16))))
            except ValueError:
                units.append((i, ""))
        elif kind not in "\r\n":  # a backslash before a line break continues the line
            units.append((i, _SIMPLE_ESCAPES.get(kind, kind)))
        i += length
    return units


def _split_by_commas(node: yaml.MappingNode) -> yaml.ScalarNode | None:
    """The first fragment of an inline mapping whose brackets or quotes do not balance.

    In `{x: (A + A.T) @ x, A: outer(x, x)}` YAML ends each entry at a comma, so
    `outer(x` and `x)` arrive as separate entries: no expression can mend that.
    """
    if not node.flow_style:
        return None
    for key_node, value_node in node.value:
        for part in (key_node, value_node):
            if isinstance(part, yaml.ScalarNode) and part.style is None and _unbalanced(part.value):
                return part
    return None


def _unbalanced(text: str) -> bool:
    depth = sum(text.count(c) for c in "([") - sum(text.count(c) for c in ")]")
    return depth != 0 or text.count('"') % 2 == 1


class NodeReader:
    """Reads nodes of one file; `errors` collects what is wrong, in file order."""

    def __init__(self, source: Source):
        self.source = source
        self.errors: list[DiffcheckError] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def at(self, node: yaml.Node) -> Location:
        return self.source.at(node)

    def fail(self, message: str, node: yaml.Node) -> None:
        self.errors.append(CaseFileError(message, self.source.at(node)))

    def mapping(
        self,
        node: yaml.Node,
        what: str,
        keys: tuple[str, ...] | None = None,
        hint: Callable[[str], str | None] | None = None,
    ) -> Iterator[tuple[str, yaml.Node, yaml.Node]]:
        """Yield (key, key node, value node); report non-mappings, duplicates, unknown keys.

        `hint(key)` may give a better message than "unknown key" for a key not in `keys`.
        """
        if not isinstance(node, yaml.MappingNode):
            self.fail(f"{what} must be a mapping of 'key: value' entries", node)
            return
        split = _split_by_commas(node)
        if split is not None:  # one message instead of an error for every fragment
            self.fail(
                f"{what} is written inline ({{...}}), where a comma ends an entry: "
                f"'{split.value}' is a fragment of an expression that contains a comma; "
                "write one entry per line, or quote each expression",
                split,
            )
            return
        seen: dict[str, yaml.Node] = {}
        for key_node, value_node in self._merged(node):
            if not isinstance(key_node, yaml.ScalarNode):
                self.fail(f"keys of {what} must be plain names", key_node)
                continue
            key = unicodedata.normalize("NFC", key_node.value)  # as expressions read names
            if key in seen:
                first = seen[key].start_mark.line + 1
                self.fail(f"duplicate key '{key}' in {what} (first at line {first})", key_node)
                continue
            seen[key] = key_node
            if keys is not None and key not in keys:
                message = hint(key) if hint else None
                self.fail(
                    message or f"unknown key '{key}' in {what}{suggest(key, set(keys))}", key_node
                )
                continue
            yield key, key_node, value_node

    def _merged(self, node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
        """The entries of `node` with YAML merge keys (`<<: *defaults`) resolved.

        As YAML defines them: the mapping's own keys win over merged ones, and among
        several merged mappings the first that has a key wins.
        """
        own, merged = [], []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                own.append((key_node, value_node))
                continue
            listed = isinstance(value_node, yaml.SequenceNode)
            sources = value_node.value if listed else [value_node]
            for source in sources:
                if isinstance(source, yaml.MappingNode):
                    merged.extend(self._merged(source))
                else:
                    self.fail("'<<' merges a mapping (such as *defaults) or a list of them", source)
        taken = {key.value for key, _ in own if isinstance(key, yaml.ScalarNode)}
        entries = []
        for key_node, value_node in merged:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value not in taken:
                taken.add(key_node.value)
                entries.append((key_node, value_node))
        return entries + own

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            self.fail(f"{what} must be a list", node)
            return []
        return list(node.value)

    def scalar(self, node: yaml.Node, what: str) -> object:
        """The YAML value of a scalar node (int, float, bool, str or None)."""
        if not isinstance(node, yaml.ScalarNode):
            self.fail(
                f"{what} must be a single value, not a "
                f"{'list' if isinstance(node, yaml.SequenceNode) else 'mapping'}",
                node,
            )
            return None
        try:
            return self._constructor.construct_object(node)
        except yaml.YAMLError:  # a tag such as !foo or !!python/name: never constructed
            self.fail(f"{what}: unsupported YAML tag {node.tag!r}", node)
            return _INVALID
        except ValueError:  # Python reads no integer of over 4300 digits
            digits = sum(char.isdigit() for char in node.value)
            self.fail(f"{what} is a number of {digits} digits, too long to read", node)
            return _INVALID

    def text(self, node: yaml.Node, what: str) -> str | None:
        """The scalar exactly as written (`0` stays "0"), or None with an error if empty."""
        value = self.scalar(node, what)
        if value is _INVALID or not isinstance(node, yaml.ScalarNode):
            return None
        if value is None or not node.value.strip():
            self.fail(f"{what} is empty", node)
            return None
        return node.value

    def name(self, node: yaml.Node, what: str) -> str | None:
        """A name as expressions read it: ŷ typed as y and a combining hat (U+0302, as
        pasted from a PDF) is the ŷ of one character (Unicode's NFC form)."""
        text = self.text(node, what)
        return None if text is None else unicodedata.normalize("NFC", text)

    def whole_number(self, node: yaml.Node, what: str) -> int | None:
        """A whole number >= 0, written as one (1000) or as a number that is one (1e3)."""
        value = self.scalar(node, what)
        if value is _INVALID or not isinstance(node, yaml.ScalarNode):
            return None
        if isinstance(value, str):
            errors = len(self.errors)
            value = self.number(node, what)
            del self.errors[errors:]  # one message below says what a whole number is
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or value < 0
            or (value != int(value))
        ):
            self.fail(f"{what} must be a whole number >= 0, got {node.value!r}", node)
            return None
        return int(value)

    def expression(self, node: yaml.Node, what: str) -> Expression | None:
        text = self.text(node, what)
        if text is None:
            return None
        try:
            expr = parse_expression(text, self.source.locator(node))
        except ExpressionError as error:
            from ..arrays.build import array_function_hint  # the array stage: on errors only

            self.errors.append(array_function_hint(error))
            return None
        return Expression(text, expr, self.source.at(node))

    def number(self, node: yaml.Node, what: str) -> float | None:
        """A finite real number: a YAML number, or constant text such as `-pi/2` or `1e-7`."""
        value = self.scalar(node, what)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                self.fail(f"{what} must be a finite real number, got {node.value!r}", node)
                return None
            return float(value)
        if value is _INVALID or not isinstance(node, yaml.ScalarNode):  # its error is given
            return None
        parsed = self.expression(node, what)
        if parsed is None:
            return None
        if parsed.expr.free_symbols:
            names = ", ".join(sorted(str(s) for s in parsed.expr.free_symbols))
            self.fail(f"{what} must be a number, not an expression in {names}", node)
            return None
        value = constant_float(parsed.expr)
        if not math.isfinite(value):
            self.fail(f"{what} must be a finite real number, got {node.value!r}", node)
            return None
        return value
