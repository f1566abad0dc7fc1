"""Report stage, LaTeX expressions: SymPy's LatexPrinter extended for diffcheck.

`LatexPrinter` prints the table's functions by their `Rule.latex` names (σ,
\\operatorname{softplus}, ...) through _print_<Class> methods, and symbol names in
any script (ŷ1 is \\hat{y}_{1}); `escape_text` makes prose safe for pdflatex.
Derivations are written in `latex_derivation`, documents in `document`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import sympy as sp
from sympy.printing.latex import LatexPrinter as SympyLatexPrinter
from sympy.printing.precedence import PRECEDENCE

from ..limits import deep_recursion
from ..symbolic.printing import decimal_text, is_power_form, ordered_factors
from ..symbolic.rules import PRIMITIVES, RULES, TableFunction, rule_for, where_condition
from ..symbolic.trees import too_large_to_print
from .latex_names import greek as greek_letter
from .latex_names import latex_symbol_name

__all__ = [
    "LatexPrinter",
    "escape_text",
    "latex_expression",
    "latex_number",
    "latex_symbol_name",
    "latex_terms",
]

# the same accents as text-mode commands, for prose
_TEXT_ACCENTS = {"\u0302": "^", "\u0303": "~", "\u0304": "=", "\u0307": ".", "\u0308": '"',
                 "\u0301": "'", "\u0300": "`", "\u0306": "u", "\u030c": "v",
                 "\u0327": "c"}  # fmt: skip

# where's comparison, by the operator `where_condition` gives
_RELATIONS = {">": ">", "<": "<", "!=": r"\ne", ">=": r"\ge", "<=": r"\le"}
_SYMBOLS = {"−": "$-$", "–": "--", "—": "---", "‘": "`", "’": "'", "“": "``", "”": "''",
            "·": r"$\cdot$", "×": r"$\times$", "÷": r"$\div$", "±": r"$\pm$", "∂": r"$\partial$",
            "∑": r"$\Sigma$", "≈": r"$\approx$", "≤": r"$\le$", "≥": r"$\ge$", "≠": r"$\ne$",
            "←": r"$\leftarrow$", "→": r"$\to$", "⇒": r"$\Rightarrow$", "∞": r"$\infty$",
            "√": r"$\surd$", "∈": r"$\in$", "…": r"\ldots{}", "½": r"$\frac{1}{2}$",
            "′": "$'$", "°": r"$^\circ$", "\u00a0": "~", "⊙": r"$\odot$", "∇": r"$\nabla$",
            "¼": r"$\frac{1}{4}$", "¾": r"$\frac{3}{4}$", "⁻": "$^{-}$",
            "ᵀ": r"$^{\top}$", "⊤": r"$\top$", "⊗": r"$\otimes$", "∘": r"$\circ$"}  # fmt: skip
_SPECIALS = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
             "#": r"\#", "^": r"\^{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}",
             "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}  # fmt: skip


_NEGATIVE_NUMBER = re.compile(r"(?<![\w)\]}])-(\d[\d.]*(?:e[+-]?\d+)?)")


def escape_text(text: str) -> str:
    r"""Prose for pdflatex: special characters escaped, Greek letters, accents, super-
    and subscripts and mathematical signs written as LaTeX, anything else as [U+XXXX].

    >>> print(escape_text("σ'(x) = σ(x)(1 − σ(x)) & 50% of ŷᵢ²"))
    $\sigma$'(x) = $\sigma$(x)(1 $-$ $\sigma$(x)) \& 50\% of \^{y}$_{i}$$^{2}$
    >>> print(escape_text("claimed -158.5 at x=-1e-05, x-1"))
    claimed \mbox{$-$158.5} at x=\mbox{$-$1e-05}, x-1
    """
    pieces: list[str] = []
    text = unicodedata.normalize("NFC", text)
    for index, char in enumerate(text):
        if char in _TEXT_ACCENTS and index and text[index - 1].isascii() and pieces:
            pieces[-1] = f"\\{_TEXT_ACCENTS[char]}{{{pieces[-1]}}}"  # x̂: no precomposed x
        elif char in _SPECIALS:
            pieces.append(_SPECIALS[char])
        elif char in "\n\t":
            pieces.append(" ")
        elif char.isascii() and char.isprintable():
            pieces.append(char)
        else:  # a control character stops pdflatex: shown by its code point
            pieces.append(_escape_unicode(char))
    # a negative number: a minus sign, not a hyphen the line may break after
    return _NEGATIVE_NUMBER.sub(r"\\mbox{$-$\1}", "".join(pieces))


def escape_breakable(text: str) -> str:
    r"""`escape_text` for a path or name without spaces, which may break after each
    separator: a long path in a heading would otherwise run past the margin.

    >>> print(escape_breakable("cases/neuron_v2.yaml"))
    cases/\allowbreak{}neuron\_\allowbreak{}v2.\allowbreak{}yaml
    """
    return re.sub(r"(/|\\_|\.|-|\\textbackslash\{\})", r"\1\\allowbreak{}", escape_text(text))


def _escape_unicode(char: str) -> str:
    if char in _SYMBOLS:
        return _SYMBOLS[char]
    greek = greek_letter(char)
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


def _natural(text: str) -> tuple[tuple[int, str | int], ...]:
    """Sort key that counts as people do: s2 before s10, (1 - u2) before (1 - u10)."""
    return tuple((1, int(p)) if p.isdigit() else (0, p) for p in re.split(r"(\d+)", text) if p)


def _factor_rank(factor: sp.Expr) -> tuple[int, tuple[tuple[int, str | int], ...]]:
    """Plain names first, then calls and powers, sums last; each in natural order."""
    base = factor.base if factor.is_Pow else factor
    rank = 0 if base.is_Symbol else 2 if factor.is_Add else 1
    return (rank, _natural(str(factor)))


class LatexPrinter(SympyLatexPrinter):
    """SymPy's LatexPrinter with diffcheck's function names and a derivation's layout.

    Settings: `names` maps symbol names to their LaTeX (`latex_names.symbol_names`);
    `power_form` keeps powers as powers; `as_written` prints sums and products in the
    order of their arguments (an expression parsed unevaluated, as the user wrote it).
    Otherwise a product lists its names in natural order (s2 before s10) and its sums
    last, and a sum its positive terms first (y - t, not -t + y).
    """

    _default_settings: dict[str, Any] = {
        **SympyLatexPrinter._default_settings,
        "power_form": False,
        "as_written": False,
        "names": None,
    }

    def _print(self, expr: Any, **kwargs: Any) -> str:
        # SymPy has printers for some of these names (sign, Abs...); ours come first
        if isinstance(expr, TableFunction):
            return self._print_TableFunction(expr, **kwargs)
        own = f"_print_{type(expr).__name__}" in LatexPrinter.__dict__
        if isinstance(expr, sp.Function) and not (own or isinstance(expr, sp.exp)):
            return self._print_Function(expr, **kwargs)  # log, gamma...: the table's names
        return super()._print(expr, **kwargs)

    def _print_TableFunction(self, expr: TableFunction, exp: str | None = None) -> str:
        if expr.rule_name in ("where", "betainc"):  # not a name before its arguments
            return getattr(self, f"_print_table_{expr.rule_name}")(expr, exp)
        args = [self._print(arg) for arg in expr.args]
        return _function_latex(RULES[expr.rule_name].latex, args, exp)

    def _print_table_where(self, expr: TableFunction, exp: str | None = None) -> str:
        left, operator, right = where_condition(expr.args[0])
        test = rf"{self._print(left)} {_RELATIONS[operator]} {self._print(right)}"
        a, b = (self._print(arg) for arg in expr.args[1:])
        body = rf"\begin{{cases}} {a} & {test} \\ {b} & \text{{otherwise}} \end{{cases}}"
        return body if exp is None else rf"\left({body}\right)^{{{exp}}}"

    def _print_table_betainc(self, expr: TableFunction, exp: str | None = None) -> str:
        a, b, x = (self._print(arg) for arg in expr.args)
        head = rf"I_{{{x}}}" if exp is None else rf"I_{{{x}}}^{{{exp}}}"
        return rf"{head}\left({a}, {b}\right)"

    def _print_besselj(self, expr: sp.Function, exp: str | None = None) -> str:
        # J_n(x), I_n(x), K_n(x), Y_n(x): the order as a subscript of the rule's letter
        order, x = (self._print(arg) for arg in expr.args)
        head = rf"{rule_for(expr).latex}_{{{order}}}"
        head = head if exp is None else rf"{head}^{{{exp}}}"
        return rf"{head}\left({x}\right)"

    _print_besseli = _print_besselk = _print_bessely = _print_besselj

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
        names: Mapping[str, str] | None = self._settings["names"]
        if names is not None and expr.name in names:
            return names[expr.name]
        return latex_symbol_name(expr.name)

    def _print_Pow(self, expr: sp.Pow) -> str:
        written = self._settings["as_written"] and expr.exp.is_negative
        if written and expr.exp == -1:
            return rf"\frac{{1}}{{{self._print(expr.base)}}}"
        if written or self._settings["power_form"] and is_power_form(expr):
            base = self.parenthesize(expr.base, PRECEDENCE["Pow"])
            return _superscript(base, self._print(expr.exp))
        return super()._print_Pow(expr)

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        return " ".join(f"{sign} {text}" if sign else text for sign, text in self.terms(expr))

    def terms(self, expr: sp.Add) -> list[tuple[str, str]]:
        """A sum's terms as printed, each with its sign (+, -, or '' for the first)."""
        terms = list(expr.args)
        if not self._settings["as_written"]:
            terms = self._as_ordered_terms(expr, order=None)
            terms.sort(key=lambda term: term.could_extract_minus_sign())  # stable
        texts = []
        for i, term in enumerate(terms):
            negative = i > 0 and term.could_extract_minus_sign()
            text = self._print(_negated(term) if negative else term)
            if self._needs_add_brackets(term):
                text = rf"\left({text}\right)"
            texts.append(("-" if negative else "+" if i else "", text))
        return texts

    def _print_Rational(self, expr: sp.Rational) -> str:
        text = decimal_text(abs(expr))
        if text is None:
            return super()._print_Rational(expr)
        return f"- {text}" if expr.is_negative else text

    def _print_Mul(self, expr: sp.Mul) -> str:
        if self._settings["as_written"]:
            return self._written_product(expr)
        coefficient, rest = expr.as_coeff_Mul()
        decimal = decimal_text(abs(coefficient))
        if decimal is not None and rest != 1:  # 0.134145 x^2, not 26829 x^2 / 200000
            sign = "- " if coefficient.is_negative else ""
            return f"{sign}{decimal} {self._factor(rest)}"
        if self._settings["power_form"]:
            coefficient, rest = expr.as_coeff_Mul()
            ordered = (coefficient, *sorted(sp.Mul.make_args(rest), key=lambda f: f.is_Add))
        else:
            ordered = ordered_factors(expr)
            if ordered is not None:
                ordered = (ordered[0], *sorted(ordered[1:], key=_factor_rank))
        if ordered is None or len(ordered) < 2:
            return super()._print_Mul(expr)
        coefficient, *factors = ordered
        return self._join(coefficient, [self._factor(factor) for factor in factors])

    def _join(self, coefficient: sp.Expr, texts: list[str]) -> str:
        body = " ".join(texts)
        if coefficient == 1:
            return body
        if coefficient == -1:
            return f"- {body}"
        return f"{self._print(coefficient)} {body}"

    def _factor(self, factor: sp.Expr, first: bool = True) -> str:
        text = self._print(factor)
        negative = not first and factor.could_extract_minus_sign()
        return rf"\left({text}\right)" if factor.is_Add or negative else text

    def _written_product(self, expr: sp.Mul) -> str:
        """A product as written: its factors in order, divisors under a fraction bar."""
        factors = list(expr.args)
        sign = ""
        if factors and factors[0] == -1 and len(factors) > 1:
            sign, factors = "- ", factors[1:]
        above = [f for f in factors if not (f.is_Pow and f.exp == -1)]
        below = [f.base for f in factors if f.is_Pow and f.exp == -1]
        texts: list[str] = []
        for i, factor in enumerate(above):
            text = self._factor(factor, first=i == 0)
            if i and (factor.is_Number or text[:1].isdigit()):
                text = rf"\cdot {text}"  # 2 \cdot 3, not 23
            texts.append(text)
        top = " ".join(texts) or "1"
        if not below:
            return sign + top
        if len(above) == 1:  # the fraction bar is its bracket
            top = self._print(above[0])
        bottom = " ".join(self._factor(f, first=i == 0) for i, f in enumerate(below))
        if len(below) == 1:  # the fraction bar is its bracket
            bottom = self._print(below[0])
        return rf"{sign}\frac{{{top}}}{{{bottom}}}"


def _negated(term: sp.Expr) -> sp.Expr:
    """-term, keeping an unevaluated product's order: -1·a·b is a·b."""
    if term.is_Mul and term.args[0] == -1:
        rest = term.args[1:]
        return rest[0] if len(rest) == 1 else sp.Mul(*rest, evaluate=False)
    if term.is_Mul and term.args[0].is_Number and term.args[0] < 0:
        return sp.Mul(-term.args[0], *term.args[1:], evaluate=False)
    return -term


# pdflatex reads at most 200,000 characters a line, and an expression is one line
MAX_LATEX_NODES = 20_000


def latex_expression(
    expr: sp.Basic,
    power_form: bool = False,
    names: Mapping[str, str] | None = None,
    as_written: bool = False,
) -> str:
    r"""LaTeX for an expression; `names` gives symbols' LaTeX (see `latex_names`).

    >>> from diffcheck.symbolic.parse import parse_expression as p
    >>> latex_expression(p("sigmoid(x)*(1 - sigmoid(x))"))
    '\\sigma\\left(x\\right) \\left(1 - \\sigma\\left(x\\right)\\right)'
    >>> latex_expression(p("(y - t)*s10*s2*loss"))
    '\\mathrm{loss} s_{2} s_{10} \\left(y - t\\right)'
    """
    note = too_large_to_print(expr, MAX_LATEX_NODES)
    if note is not None:
        return rf"\text{{({note})}}"
    settings = {"power_form": power_form, "names": names, "as_written": as_written}
    with deep_recursion():
        return LatexPrinter(settings).doprint(expr)


def latex_terms(
    expr: sp.Add, names: Mapping[str, str] | None = None, as_written: bool = False
) -> list[tuple[str, str]]:
    """The terms of a sum as `latex_expression` prints them, each with its sign."""
    settings = {"names": names, "as_written": as_written}
    with deep_recursion():
        return LatexPrinter(settings).terms(expr)


def latex_number(value: float | None, digits: int = 6) -> str:
    r"""
    >>> latex_number(1.4736394889812655e-52), latex_number(-0.5), latex_number(None)
    ('1.47364 \\times 10^{-52}', '-0.5', '\\text{---}')
    >>> latex_number(0.123456789, 3), latex_number(float("nan"))
    ('0.123', '\\text{NaN}')
    """
    if value is None:
        return r"\text{---}"
    if value != value:
        return r"\text{NaN}"
    if value in (float("inf"), float("-inf")):
        return r"\infty" if value > 0 else r"-\infty"
    text = f"{value + 0.0:.{digits}g}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"
