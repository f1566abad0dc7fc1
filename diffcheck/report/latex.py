"""Report stage, LaTeX expressions: SymPy's LatexPrinter extended for diffcheck.

`LatexPrinter` prints the table's functions by their `Rule.latex` names (σ,
\\operatorname{softplus}, ...) through _print_<Class> methods, and symbol names in
any script (ŷ1 is \\hat{y}_{1}); `escape_text` makes prose safe for pdflatex.
Derivations are written in `latex_derivation`, documents in `document`.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import sympy as sp
from sympy.printing.conventions import split_super_sub
from sympy.printing.latex import LatexPrinter as SympyLatexPrinter
from sympy.printing.precedence import PRECEDENCE

from ..limits import deep_recursion
from ..symbolic.printing import is_power_form, ordered_factors
from ..symbolic.rules import PRIMITIVES, RULES, TableFunction, rule_for
from ..symbolic.trees import too_large_to_print

__all__ = [
    "LatexPrinter",
    "escape_text",
    "latex_expression",
    "latex_number",
    "latex_symbol_name",
]

# combining accents -> the math accents of symbol names (ŷ: \hat{y})
_NAME_ACCENTS = {"\u0302": "hat", "\u0303": "tilde", "\u0304": "bar", "\u0307": "dot",
                 "\u0308": "ddot", "\u0301": "acute", "\u0300": "grave", "\u0306": "breve",
                 "\u030c": "check"}  # fmt: skip
# the same accents as text-mode commands, for prose
_TEXT_ACCENTS = {"\u0302": "^", "\u0303": "~", "\u0304": "=", "\u0307": ".", "\u0308": '"',
                 "\u0301": "'", "\u0300": "`", "\u0306": "u", "\u030c": "v",
                 "\u0327": "c"}  # fmt: skip
# Greek capitals that look like Latin ones have no LaTeX command
_GREEK_LATIN = {"alpha": "A", "beta": "B", "epsilon": "E", "zeta": "Z", "eta": "H", "iota": "I",
                "kappa": "K", "mu": "M", "nu": "N", "omicron": "O", "rho": "P", "tau": "T",
                "chi": "X"}  # fmt: skip
_SYMBOLS = {"−": "$-$", "–": "--", "—": "---", "‘": "`", "’": "'", "“": "``", "”": "''",
            "·": r"$\cdot$", "×": r"$\times$", "÷": r"$\div$", "±": r"$\pm$", "∂": r"$\partial$",
            "∑": r"$\Sigma$", "≈": r"$\approx$", "≤": r"$\le$", "≥": r"$\ge$", "≠": r"$\ne$",
            "←": r"$\leftarrow$", "→": r"$\to$", "⇒": r"$\Rightarrow$", "∞": r"$\infty$",
            "√": r"$\surd$", "∈": r"$\in$", "…": r"\ldots{}", "½": r"$\frac{1}{2}$",
            "′": "$'$", "°": r"$^\circ$", "\u00a0": "~"}  # fmt: skip
_SPECIALS = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
             "#": r"\#", "^": r"\^{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}",
             "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}  # fmt: skip


def _greek(char: str) -> str | None:
    r"""The LaTeX for a Greek letter (capitals without a command are Latin), or None.

    >>> _greek("σ"), _greek("Σ"), _greek("Α"), _greek("x")
    ('\\sigma', '\\Sigma', 'A', None)
    """
    name = unicodedata.name(char, "")
    for prefix in ("GREEK SMALL LETTER ", "GREEK CAPITAL LETTER "):
        if not name.startswith(prefix):
            continue
        word = name[len(prefix) :].lower().replace("final sigma", "varsigma")
        if " " in word:
            return None
        if prefix.startswith("GREEK SMALL"):
            return "o" if word == "omicron" else "\\" + word
        return _GREEK_LATIN.get(word, "\\" + word.capitalize())
    return None


def escape_text(text: str) -> str:
    r"""Prose for pdflatex: special characters escaped, Greek letters, accents, super-
    and subscripts and mathematical signs written as LaTeX, anything else as [U+XXXX].

    >>> print(escape_text("σ'(x) = σ(x)(1 − σ(x)) & 50% of ŷᵢ²"))
    $\sigma$'(x) = $\sigma$(x)(1 $-$ $\sigma$(x)) \& 50\% of \^{y}$_{i}$$^{2}$
    """
    pieces: list[str] = []
    for char in text:
        if char in _SPECIALS:
            pieces.append(_SPECIALS[char])
        elif char in "\n\t":
            pieces.append(" ")
        elif char.isascii() and char.isprintable():
            pieces.append(char)
        else:  # a control character stops pdflatex: shown by its code point
            pieces.append(_escape_unicode(char))
    return "".join(pieces)


def _escape_unicode(char: str) -> str:
    if char in _SYMBOLS:
        return _SYMBOLS[char]
    greek = _greek(char)
    if greek is not None:
        return f"${greek}$" if greek.startswith("\\") else greek
    decomposition = unicodedata.decomposition(char)
    for tag, script in (("<super>", "^"), ("<sub>", "_")):
        if decomposition.startswith(tag):
            inner = chr(int(decomposition.split()[1], 16))
            if inner.isascii() and inner.isalnum() or inner in "+-":
                return f"${script}{{{inner}}}$"
    base, *marks = unicodedata.normalize("NFD", char)
    if base.isascii() and marks and all(m in _TEXT_ACCENTS for m in marks):
        text = base
        for mark in marks:
            text = f"\\{_TEXT_ACCENTS[mark]}{{{text}}}"
        return text
    if unicodedata.category(char).startswith("Z"):
        return " "
    return rf"\texttt{{[U+{ord(char):04X}]}}"


def _name_latex(text: str) -> str:
    pieces = []
    for char in text:
        greek = None if char.isascii() else _greek(char)
        base, *marks = unicodedata.normalize("NFD", char)
        if char.isascii():
            piece = char
        elif greek is not None:
            piece = greek
        elif base.isascii() and marks and all(m in _NAME_ACCENTS for m in marks):
            piece = base
            for mark in marks:
                piece = f"\\{_NAME_ACCENTS[mark]}{{{piece}}}"
        else:
            piece = rf"\mathrm{{u{ord(char):x}}}"  # no glyph that pdflatex surely has
        pieces.append(piece)
    # a command followed by a letter needs a space: \Delta w, not \Deltaw
    return "".join(piece + " " if piece[0] == "\\" and piece[-1].isalpha() else piece
                   for piece in pieces).strip()  # fmt: skip


def latex_symbol_name(name: str) -> str:
    r"""LaTeX for a symbol name in any script: Greek letters, accents, subscripts.

    >>> latex_symbol_name("ŷ1"), latex_symbol_name("Δw"), latex_symbol_name("σ_out")
    ('\\hat{y}_{1}', '\\Delta w', '\\sigma_{out}')
    """
    main, supers, subs = split_super_sub(name)
    text = _name_latex(main)
    if supers:
        text += "^{" + " ".join(_name_latex(s) for s in supers) + "}"
    if subs:
        text += "_{" + " ".join(_name_latex(s) for s in subs) + "}"
    return text


def _has_top_superscript(text: str) -> bool:
    """Whether `text` carries a superscript of its own (e^{x}, \\operatorname{erf}^{-1}),
    outside braces and \\left...\\right pairs: another ^ on it would be a LaTeX error."""
    depth = 0
    for index, char in enumerate(text):
        if char == "{" or text.startswith(r"\left", index):
            depth += 1
        elif char == "}" or text.startswith(r"\right", index):
            depth -= 1
        elif char == "^" and depth == 0:
            return True
    return False


def _superscript(base: str, exp: str) -> str:
    if _has_top_superscript(base):
        base = rf"\left({base}\right)"
    return f"{base}^{{{exp}}}"


def _function_latex(name: str, args: list[str], exp: str | None) -> str:
    if "{}" in name:  # a template around the argument: |x|
        body = name.format(", ".join(args))
        return body if exp is None else _superscript(body, exp)
    call = rf"{name}\left({', '.join(args)}\right)"
    if exp is None:
        return call
    if _has_top_superscript(name):  # erf^{-1}: the power goes on the whole call
        return _superscript(call, exp)
    return rf"{name}^{{{exp}}}\left({', '.join(args)}\right)"


class LatexPrinter(SympyLatexPrinter):
    """SymPy's LatexPrinter with diffcheck's function names and a derivation's layout
    (sums last in a product; with `power_form`, powers stay powers)."""

    _default_settings: dict[str, Any] = {
        **SympyLatexPrinter._default_settings,
        "power_form": False,
    }

    def _print(self, expr: Any, **kwargs: Any) -> str:
        # SymPy has printers for some of these names (sign, Abs...); ours come first
        if isinstance(expr, TableFunction):
            return self._print_TableFunction(expr, **kwargs)
        return super()._print(expr, **kwargs)

    def _print_TableFunction(self, expr: TableFunction, exp: str | None = None) -> str:
        args = [self._print(arg) for arg in expr.args]
        return _function_latex(RULES[expr.rule_name].latex, args, exp)

    def _print_Function(self, expr: sp.Function, exp: str | None = None) -> str:
        rule = rule_for(expr)
        if rule is None or rule in PRIMITIVES.values():
            return super()._print_Function(expr, exp)
        return _function_latex(rule.latex, [self._print(arg) for arg in expr.args], exp)

    def _print_polygamma(self, expr: sp.Function, exp: str | None = None) -> str:
        order, arg = expr.args
        head = rf"\psi^{{({self._print(order)})}}" if order != 0 else r"\psi"
        head = head if exp is None else rf"\left({head}\right)^{{{exp}}}"
        return rf"{head}\left({self._print(arg)}\right)"

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        if expr.name.isascii():  # SymPy's own rules: alpha is \alpha, x1 is x_{1}
            return super()._print_Symbol(expr, style)
        return latex_symbol_name(expr.name)

    def _print_Pow(self, expr: sp.Pow) -> str:
        if self._settings["power_form"] and is_power_form(expr):
            base = self.parenthesize(expr.base, PRECEDENCE["Pow"])
            return _superscript(base, self._print(expr.exp))
        return super()._print_Pow(expr)

    def _print_Mul(self, expr: sp.Mul) -> str:
        if self._settings["power_form"]:
            coefficient, rest = expr.as_coeff_Mul()
            ordered = (coefficient, *sorted(sp.Mul.make_args(rest), key=lambda f: f.is_Add))
        else:
            ordered = ordered_factors(expr)
        if ordered is None or len(ordered) < 3 and not self._settings["power_form"]:
            return super()._print_Mul(expr)
        coefficient, *factors = ordered
        texts = [self._factor(factor) for factor in factors]
        body = " ".join(texts)
        if coefficient == 1:
            return body
        if coefficient == -1:
            return f"- {body}"
        return f"{self._print(coefficient)} {body}"

    def _factor(self, factor: sp.Expr) -> str:
        text = self._print(factor)
        return rf"\left({text}\right)" if factor.is_Add else text


# pdflatex reads at most 200,000 characters a line, and an expression is one line
MAX_LATEX_NODES = 20_000


def latex_expression(expr: sp.Basic, power_form: bool = False) -> str:
    r"""
    >>> from diffcheck.symbolic.parse import parse_expression as p
    >>> latex_expression(p("sigmoid(x)*(1 - sigmoid(x))"))
    '\\sigma\\left(x\\right) \\left(1 - \\sigma\\left(x\\right)\\right)'
    """
    note = too_large_to_print(expr, MAX_LATEX_NODES)
    if note is not None:
        return rf"\text{{({note})}}"
    with deep_recursion():
        return LatexPrinter({"power_form": power_form}).doprint(expr)


def latex_number(value: float | None) -> str:
    r"""
    >>> latex_number(1.4736394889812655e-52), latex_number(-0.5), latex_number(None)
    ('1.47364 \\times 10^{-52}', '-0.5', '\\text{---}')
    """
    if value is None:
        return r"\text{---}"
    text = f"{value + 0.0:.6g}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"
