"""Report stage, LaTeX names: a symbol name -> how a handout prints it.

One letter is italic (x, σ, ŷ), a Greek word is its letter (alpha1 is α₁), a longer
name is upright (loss is \\mathrm{loss}, not l·o·s·s), trailing digits and `_` parts
are subscripts (w10 is w_{10}, x_out is x_{\\mathrm{out}}). `symbol_names` gives every
name of a case its form and makes sure no two of them print alike, nor a variable like a
function the case calls (a variable `sigma` beside σ(x)): those are written as typed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from sympy.printing.conventions import split_super_sub
from sympy.printing.latex import translate

__all__ = ["latex_symbol_name", "name_accents", "symbol_names", "verbatim_name"]

# combining accents -> the math accents of symbol names (ŷ: \hat{y})
_NAME_ACCENTS = {"\u0302": "hat", "\u0303": "tilde", "\u0304": "bar", "\u0307": "dot",
                 "\u0308": "ddot", "\u0301": "acute", "\u0300": "grave", "\u0306": "breve",
                 "\u030c": "check"}  # fmt: skip
# Greek capitals that look like Latin ones have no LaTeX command
_GREEK_LATIN = {"alpha": "A", "beta": "B", "epsilon": "E", "zeta": "Z", "eta": "H", "iota": "I",
                "kappa": "K", "mu": "M", "nu": "N", "omicron": "O", "rho": "P", "tau": "T",
                "chi": "X"}  # fmt: skip


def greek(char: str) -> str | None:
    r"""The LaTeX for a Greek letter (capitals without a command are Latin), or None.

    >>> greek("σ"), greek("Σ"), greek("Α"), greek("λ"), greek("x")
    ('\\sigma', '\\Sigma', 'A', '\\lambda', None)
    """
    name = unicodedata.name(char, "")
    for prefix in ("GREEK SMALL LETTER ", "GREEK CAPITAL LETTER "):
        if not name.startswith(prefix):
            continue
        word = name[len(prefix) :].lower().replace("final sigma", "varsigma")
        word = word.replace("lamda", "lambda")  # Unicode spells it without the b
        if " " in word:
            return None
        if prefix.startswith("GREEK SMALL"):
            return "o" if word == "omicron" else "\\" + word
        return _GREEK_LATIN.get(word, "\\" + word.capitalize())
    return None


def name_accents(text: str) -> str:
    """Characters of a name as math: Greek letters, accented letters, ASCII as is."""
    pieces = []
    for char in text:
        letter = None if char.isascii() else greek(char)
        base, *marks = unicodedata.normalize("NFD", char)
        if char.isascii():
            piece = char
        elif letter is not None:
            piece = letter
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


def _part(text: str) -> str:
    """One part of a name: a Greek word or accent word as SymPy translates it, one
    letter italic, digits as they are, a longer word upright."""
    if not text.isascii():
        return name_accents(text)
    translated = translate(text)
    if translated != text or len(text) == 1 or text.isdigit():
        return translated
    if re.fullmatch(r"[A-Za-z]+", text):
        return rf"\mathrm{{{text}}}"
    return rf"\mathrm{{{verbatim_name(text)[8:-1]}}}"  # digits or signs inside a word


def latex_symbol_name(name: str) -> str:
    r"""LaTeX for a symbol name in any script: Greek letters, accents, subscripts; a
    name of several letters upright.

    >>> latex_symbol_name("ŷ1"), latex_symbol_name("Δw"), latex_symbol_name("σ_out")
    ('\\hat{y}_{1}', '\\Delta w', '\\sigma_{\\mathrm{out}}')
    >>> latex_symbol_name("loss"), latex_symbol_name("w10"), latex_symbol_name("alpha1")
    ('\\mathrm{loss}', 'w_{10}', '\\alpha_{1}')
    """
    main, supers, subs = split_super_sub(name)
    if not main:  # a name of digits and marks only: as typed
        return verbatim_name(name)
    text = _part(main)
    if supers:
        text += "^{" + ",".join(_part(s) for s in supers) + "}"
    if subs:
        text += "_{" + ",".join(_part(s) for s in subs) + "}"
    return text


def verbatim_name(name: str) -> str:
    r"""A name exactly as typed, upright: for names that would otherwise print alike.

    >>> verbatim_name("x_1"), verbatim_name("sigma")
    ('\\mathrm{x\\_1}', '\\mathrm{sigma}')
    """
    if not name.isascii():
        return rf"\underline{{{name_accents(name)}}}"
    return r"\mathrm{" + name.replace("_", r"\_") + "}"


def symbol_names(names: Iterable[str], functions: Iterable[str] = ()) -> Mapping[str, str]:
    r"""Each name's LaTeX, with no two names printing alike: names that would (x1 and
    x_1), and a name printing like a function in `functions` (the LaTeX heads of the
    functions called, \sigma for sigmoid), are written as typed.

    >>> dict(symbol_names(["x1", "x_1", "y2", "sigma"], [r"\sigma"]))
    {'x1': '\\mathrm{x1}', 'x_1': '\\mathrm{x\\_1}', 'y2': 'y_{2}', 'sigma': '\\mathrm{sigma}'}
    """
    natural = {name: latex_symbol_name(name) for name in dict.fromkeys(names)}
    taken: dict[str, list[str]] = {}
    for name, text in natural.items():
        taken.setdefault(text, []).append(name)
    heads = set(functions)
    return {
        name: verbatim_name(name) if len(taken[text]) > 1 or text in heads else text
        for name, text in natural.items()
    }
