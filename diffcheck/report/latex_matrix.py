"""Report stage, LaTeX of array expressions: the case language -> matrix notation.

`MatrixPrinter(symbol, ndim).chunks(syntax)` prints a tree of the array grammar the way a
paper writes it: arrays bold (the names come from `symbol`), `@` as juxtaposition with a
vector on the left transposed, `.T` as ^\\top, `*` between arrays as \\odot, `outer(a, b)`
as a b^\\top, sums over an axis with a ones vector (1^\\top X, X 1), the factors in the
order the user wrote them. The result is a list of `Chunk`s: a long formula breaks at a
`+`, `-` or `\\odot` of its top level, or inside a bracket that is too wide for one line
(\\bigl( and \\bigr) may stand on different lines of an `align*`, \\left( and \\right) not).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..arrays import syntax as s
from ..symbolic.rules import RULES
from .latex import _function_latex, _has_top_superscript, escape_text, latex_number
from .latex_layout import Chunk, estimate_width

__all__ = ["MatrixPrinter", "Piece"]

SUM, ODOT, NEG, JUXT, FRAC, POWER, POSTFIX, ATOM = range(1, 9)
ONES = r"\mathbf{1}"
FOLD_EM = 12.0  # a bracket narrower than this stays one unbreakable \left( ... \right)
FRACTION_EM = 14.0  # a wider numerator goes before "/", where it may still break
_RELATIONS = {">": ">", "<": "<", "!=": r"\ne", ">=": r"\ge", "<=": r"\le", "==": "="}
_REDUCTIONS = ("sum", "mean", "prod", "max", "min", "logsumexp", "norm")
_NAMED = {"trace": r"\operatorname{tr}", "det": r"\det", "logdet": r"\log\det",
          "softmax": r"\operatorname{softmax}", "log_softmax": r"\operatorname{log\_softmax}",
          "diag": r"\operatorname{diag}"}  # fmt: skip


@dataclass(frozen=True)
class Piece:
    """Printed LaTeX as chunks, with how tightly it binds (SUM loosest, ATOM tightest);
    `matmul` marks a product of arrays, bracketed beside \\odot for clarity."""

    chunks: tuple[Chunk, ...]
    level: int
    matmul: bool = False

    def flat(self) -> str:
        return " ".join(chunk.text(i == 0) for i, chunk in enumerate(self.chunks))


def _single(tex: str, level: int, matmul: bool = False) -> Piece:
    return Piece((Chunk("", tex),), level, matmul)


def _affix(prefix: str, piece: Piece, suffix: str, level: int, matmul: bool = False) -> Piece:
    """prefix + piece + suffix: the prefix joins the first chunk, the suffix the last."""
    chunks = list(piece.chunks)
    chunks[0] = Chunk("", prefix + chunks[0].text(True))
    chunks[-1] = Chunk(chunks[-1].joiner, chunks[-1].tex + suffix)
    return Piece(tuple(chunks), level, matmul)


def _concat(left: Piece, right: Piece, joint: str, level: int, matmul: bool = False) -> Piece:
    """left joint right, as one product: the last chunk of left meets the first of right."""
    head, tail = list(left.chunks), list(right.chunks)
    meeting = Chunk(head[-1].joiner, f"{head[-1].tex}{joint}{tail[0].text(True)}")
    return Piece((*head[:-1], meeting, *tail[1:]), level, matmul)


def bracketed(piece: Piece) -> Piece:
    """(piece): one \\left( ... \\right) if narrow, else \\bigl( ... \\bigr) over chunks."""
    if len(piece.chunks) == 1 or estimate_width(piece.flat()) <= FOLD_EM:
        return _single(rf"\left({piece.flat()}\right)", ATOM)
    return _affix(r"\bigl(", piece, r"\bigr)", ATOM)


def _wrap(piece: Piece, minimum: int) -> Piece:
    return piece if piece.level >= minimum else bracketed(piece)


class MatrixPrinter:
    """Prints array syntax; `symbol(name)` gives a name's LaTeX, `ndim(syntax)` the
    number of axes of a subexpression (0 for a scalar)."""

    def __init__(self, symbol: Callable[[str], str], ndim: Callable[[s.Syntax], int]):
        self.symbol = symbol
        self.ndim = ndim

    def chunks(self, tree: s.Syntax) -> list[Chunk]:
        return list(self.piece(tree).chunks)

    def tex(self, tree: s.Syntax) -> str:
        return self.piece(tree).flat()

    def piece(self, tree: s.Syntax) -> Piece:
        method = getattr(self, f"_{type(tree).__name__.lower()}", None)
        if method is None:
            raise TypeError(f"no LaTeX for {type(tree).__name__}")
        return method(tree)

    # ---- leaves ---------------------------------------------------------------------

    def _number(self, tree: s.Number) -> Piece:
        text = tree.text
        if "e" in text.lower():
            text = latex_number(float(tree.value))
        return _single(text, ATOM if text.replace(".", "").isdigit() else POWER)

    def _name(self, tree: s.Name) -> Piece:
        return _single(self.symbol(tree.name), ATOM)

    def _stringliteral(self, tree: s.StringLiteral) -> Piece:
        return _single(r"\text{" + escape_text(tree.value.replace("->", "→")) + "}", ATOM)

    def _listliteral(self, tree: s.ListLiteral) -> Piece:
        items = ", ".join(self.tex(item) for item in tree.items)
        return _single(rf"\left[{items}\right]", ATOM)

    # ---- operators ------------------------------------------------------------------

    def _unary(self, tree: s.Unary) -> Piece:
        operand = _wrap(self.piece(tree.operand), NEG)
        return _affix("-" if tree.op == "-" else "+", operand, "", NEG)

    def _transpose(self, tree: s.Transpose) -> Piece:
        return self._superscript(self.piece(tree.operand), r"\top")

    def _superscript(self, base: Piece, exponent: str) -> Piece:
        if base.level < POSTFIX or _has_top_superscript(base.flat()):
            base = bracketed(base)
        return _affix("", base, f"^{{{exponent}}}", POSTFIX)

    def _binary(self, tree: s.Binary) -> Piece:
        if tree.op in ("+", "-"):
            return self._sum(tree)
        if tree.op == "@":
            return self._matmul(tree.left, tree.right)
        if tree.op == "*":
            return self._times(tree)
        if tree.op == "/":
            return self._divide(tree)
        if tree.op == "**":
            return self._power(tree)
        left, right = self.tex(tree.left), self.tex(tree.right)
        return _single(f"{left} {_RELATIONS.get(tree.op, tree.op)} {right}", SUM)

    def _sum(self, tree: s.Binary) -> Piece:
        left = _wrap(self.piece(tree.left), SUM)
        right = _wrap(self.piece(tree.right), SUM + (tree.op == "-"))
        first, *rest = right.chunks
        joined = Chunk(tree.op, first.text(True))
        return Piece((*left.chunks, joined, *rest), SUM)

    def _arrays(self, tree: s.Binary) -> bool:
        return self.ndim(tree.left) > 0 and self.ndim(tree.right) > 0

    def _times(self, tree: s.Binary) -> Piece:
        left, right = self.piece(tree.left), self.piece(tree.right)
        if self._arrays(tree):  # entry by entry: a Hadamard product, which may break
            left = bracketed(left) if left.level < ODOT or left.matmul else left
            right = bracketed(right) if right.level <= NEG or right.matmul else right
            first, *rest = right.chunks
            return Piece((*left.chunks, Chunk(r"\odot", first.text(True)), *rest), ODOT)
        left, right = _wrap(left, NEG), _wrap(right, JUXT)
        number = right.flat()[:1].isdigit() or right.flat().startswith("-")
        joint = r" \cdot " if number else " "
        return _concat(left, right, joint, JUXT, matmul=left.matmul or right.matmul)

    def _divide(self, tree: s.Binary) -> Piece:
        left, right = self.piece(tree.left), self.piece(tree.right)
        if self._arrays(tree):
            left = bracketed(left) if left.level < ODOT or left.matmul else left
            right = bracketed(right) if right.level <= ODOT or right.matmul else right
            return _concat(left, right, r" \oslash ", ODOT)
        top = left.flat()
        if estimate_width(top) <= FRACTION_EM:
            if left.level == NEG and top.startswith("-"):  # -a/b: the sign before the bar
                inner = self.piece(tree.left.operand) if isinstance(tree.left, s.Unary) else left
                return _single(rf"-\frac{{{inner.flat()}}}{{{right.flat()}}}", NEG)
            return _single(rf"\frac{{{top}}}{{{right.flat()}}}", FRAC)
        return _concat(_wrap(left, NEG), _wrap(right, POWER), " / ", JUXT)

    def _power(self, tree: s.Binary) -> Piece:
        exponent = self.tex(tree.right)
        if self.ndim(tree.left) > 0 and self.ndim(tree.right) == 0:
            exponent = rf"\odot {exponent}"  # entry by entry, not a matrix power
        return self._superscript(self.piece(tree.left), exponent)

    def _matmul(self, left_tree: s.Syntax, right_tree: s.Syntax, dot: bool = False) -> Piece:
        """left @ right by juxtaposition; a vector on the left is a row, x^\\top W."""
        left = _wrap(self.piece(left_tree), NEG)
        if self.ndim(left_tree) == 1 or dot:
            left = self._superscript(left, r"\top")
        right = _wrap(self.piece(right_tree), JUXT + 1) if isinstance(right_tree, s.Unary) else (
            _wrap(self.piece(right_tree), JUXT))  # fmt: skip
        if right.matmul and not isinstance(right_tree, s.Binary):
            right = bracketed(right)  # 1^T X inside a product: kept apart
        return _concat(left, right, " ", JUXT, matmul=True)

    # ---- calls ----------------------------------------------------------------------

    def _index(self, tree: s.Index) -> Piece:
        items = ",".join(self._item(item) for item in tree.items)
        base = self.piece(tree.operand)
        if base.level < ATOM or "_" in base.flat():
            base = bracketed(base)
        return _affix("", base, f"_{{{items}}}", POSTFIX)

    def _item(self, item: s.Syntax) -> str:
        if isinstance(item, s.Slice):
            parts = ["" if x is None else self.tex(x) for x in (item.start, item.stop, item.step)]
            return "{:}".join(parts[:2] if item.step is None else parts)
        if isinstance(item, s.Name) and item.name == s.NEWAXIS:
            return r"\mathrm{new}"
        return self.tex(item)

    def _call(self, tree: s.Call) -> Piece:
        method = getattr(self, f"_call_{tree.function}", None)
        if method is not None:
            found = method(tree)
            if found is not None:
                return found
        if tree.function in _REDUCTIONS and len(tree.args) == 1:
            return self._reduction(tree)
        return self._generic(tree)

    def _keywords(self, tree: s.Call) -> dict[str, str]:
        return {k.name: self.tex(k.value) for k in tree.keywords}

    def _axis(self, tree: s.Call) -> int | None:
        """The one axis reduced (from the end: -1 is the last), None for all axes, or
        -100 for a list of axes."""
        for keyword in tree.keywords:
            if keyword.name == "axis":
                value = keyword.value
                if isinstance(value, s.Unary) and isinstance(value.operand, s.Number):
                    return -int(value.operand.value)
                if isinstance(value, s.Number):
                    return int(value.value)
                return -100
        return None

    def _call_sum(self, tree: s.Call) -> Piece | None:
        """1^T x, 1^T X (columns), X 1 (rows), 1^T X 1; other sums are spelled out."""
        if len(tree.args) != 1:
            return None
        ndim, axis = self.ndim(tree.args[0]), self._axis(tree)
        body = _wrap(self.piece(tree.args[0]), POWER)
        if ndim == 0:
            return self.piece(tree.args[0])
        ones = _single(ONES, ATOM)
        left = _single(ONES + r"^{\top}", POSTFIX)
        if ndim == 1 and axis in (None, 0, -1):
            return _concat(left, body, " ", JUXT, matmul=True)
        if ndim == 2 and axis in (0, -2):
            return _concat(left, body, " ", JUXT, matmul=True)
        if ndim == 2 and axis in (1, -1):
            return _concat(body, ones, " ", JUXT, matmul=True)
        if ndim == 2 and axis is None:
            inner = _concat(left, body, " ", JUXT)
            return _concat(inner, ones, " ", JUXT, matmul=True)
        return None

    def _call_outer(self, tree: s.Call) -> Piece | None:
        if len(tree.args) != 2:
            return None
        left = _wrap(self.piece(tree.args[0]), NEG)
        right = self._superscript(self.piece(tree.args[1]), r"\top")
        return _concat(left, right, " ", JUXT, matmul=True)

    def _call_dot(self, tree: s.Call) -> Piece | None:
        if len(tree.args) != 2 or self.ndim(tree.args[0]) != 1:
            return None
        return self._matmul(tree.args[0], tree.args[1], dot=True)

    def _call_inv(self, tree: s.Call) -> Piece | None:
        return self._superscript(self.piece(tree.args[0]), "-1") if len(tree.args) == 1 else None

    def _call_solve(self, tree: s.Call) -> Piece | None:
        if len(tree.args) != 2:
            return None
        inverse = self._superscript(self.piece(tree.args[0]), "-1")
        return _concat(inverse, _wrap(self.piece(tree.args[1]), JUXT), " ", JUXT, matmul=True)

    def _call_eye(self, tree: s.Call) -> Piece | None:
        return _single(rf"\mathbf{{I}}_{{{self.tex(tree.args[0])}}}", ATOM) if tree.args else None

    def _call_ones(self, tree: s.Call) -> Piece | None:
        return self._filled(tree, ONES)

    def _call_zeros(self, tree: s.Call) -> Piece | None:
        return self._filled(tree, r"\mathbf{0}")

    def _filled(self, tree: s.Call, head: str) -> Piece | None:
        if len(tree.args) != 1 or not isinstance(tree.args[0], s.ListLiteral):
            return None
        sizes = r" \times ".join(self.tex(item) for item in tree.args[0].items)
        return _single(f"{head}_{{{sizes}}}", ATOM)

    def _call_norm(self, tree: s.Call) -> Piece | None:
        if len(tree.args) != 1 or tree.keywords:
            return None
        which = "_{F}" if self.ndim(tree.args[0]) == 2 else ""
        return _single(rf"\left\lVert {self.tex(tree.args[0])} \right\rVert{which}", ATOM)

    def _call_sqrt(self, tree: s.Call) -> Piece | None:
        return _single(rf"\sqrt{{{self.tex(tree.args[0])}}}", ATOM) if len(tree.args) == 1 else None

    def _call_where(self, tree: s.Call) -> Piece | None:
        if len(tree.args) != 3:
            return None
        test, a, b = (self.tex(arg) for arg in tree.args)
        body = rf"\begin{{cases}} {a} & {test} \\ {b} & \text{{otherwise}} \end{{cases}}"
        return _single(body, ATOM)

    def _reduction(self, tree: s.Call) -> Piece:
        head = {"max": r"\max", "min": r"\min", "norm": r"\lVert\cdot\rVert"}.get(
            tree.function, rf"\operatorname{{{tree.function}}}")  # fmt: skip
        axis = self._keywords(tree).get("axis")
        if axis is not None:
            head += rf"_{{\mathrm{{axis}}\,{axis}}}"
        return self._applied(head, [self.piece(tree.args[0])])

    def _generic(self, tree: s.Call) -> Piece:
        rule = RULES.get(tree.function)
        name = tree.function
        if name in _NAMED:
            head = _NAMED[name]
        elif rule is not None and name not in ("max", "min", "logsumexp"):
            head = rule.latex
        elif name in ("max", "min"):
            head = rf"\{name}"
        else:
            head = rf"\operatorname{{{escape_text(name)}}}"
        keywords = self._keywords(tree)
        axis = keywords.get("axis")
        if name in ("softmax", "log_softmax") and axis in (None, "-1"):
            axis = None
        elif axis is not None:
            head += rf"_{{\mathrm{{axis}}\,{axis}}}"
        args = [self.piece(arg) for arg in tree.args]
        if "axes" in keywords:
            args.append(_single(rf"\mathrm{{axes}}={keywords['axes']}", ATOM))
        if "{}" in head:  # |x|, floor: a template around the argument
            return _single(_function_latex(head, [a.flat() for a in args], None), ATOM)
        return self._applied(head, args)

    def _applied(self, head: str, args: list[Piece]) -> Piece:
        if len(args) == 1 and len(args[0].chunks) > 1:  # a wide argument may break
            inside = bracketed(Piece(args[0].chunks, SUM))
            return _affix(head, inside, "", ATOM)
        return _single(_function_latex(head, [a.flat() for a in args], None), ATOM)
