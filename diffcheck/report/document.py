"""Report stage, LaTeX documents: case files -> a handout that pdflatex compiles.

For each case: its name and description, the function, each derivative as one `align*`
chain with a reason at every "=" (`latex_derivation`), then the claims, a verification
table and the verdict (`latex_tables`), from the same `check_case` as `diffcheck check`;
an array case is written in matrix notation (`latex_arrays`). A standalone document loads
amsmath, booktabs, array, graphicx and geometry; a fragment needs only amsmath (booktabs
rules fall back to \\hline). Main functions: `explain_paths`, `latex_document`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sympy as sp

from ..cases.array_model import ArrayCase
from ..cases.loader import InvalidCase, load_case_file
from ..errors import DiffcheckError
from ..explain.backprop import DeltaChain, delta_chain
from ..explain.chain import Derivation, explain_case
from ..explain.matrix import MatrixDerivative, matrix_derivatives
from ..limits import BudgetExceeded, time_limit
from ..run.check import CaseResult, Settings, check_case, find_case_files
from .latex import escape_breakable, escape_text
from .latex_derivation import Notation, case_notation, derivation_latex
from .latex_tables import SHOWN_POINTS, array_verification, verification, written

__all__ = ["SHOWN_POINTS", "Entry", "explain_paths", "latex_document"]

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage{amsmath}
\usepackage{amssymb}
\usepackage{array}
\usepackage{booktabs}
\usepackage{graphicx}
\usepackage[margin=2cm]{geometry}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.4em}
\sloppy
\begin{document}
"""
FRAGMENT_HEAD = r"""% diffcheck derivations: \input this file in a document that loads amsmath
% (booktabs, if loaded, draws the tables' rules; figures need graphicx)
\providecommand{\toprule}{\hline}\providecommand{\midrule}{\hline}
\providecommand{\bottomrule}{\hline}
\providecommand{\mathbb}{\mathbf}
"""
# A case starts a new page rather than leave less than this at the foot of one: the
# stretch lets TeX break before the case, and vanishes where it does not.
KEEP_TOGETHER = r"\par\vspace{0pt plus 0.2\textheight}\penalty-250\vspace{0pt plus -0.2\textheight}"


@dataclass(frozen=True)
class Entry:
    """One case of the document: its check result and derivations, or why not."""

    file: str
    name: str | None
    description: str
    result: CaseResult | None
    derivations: Mapping[str, Derivation] | None
    error: str | None = None
    matrix: Mapping[str, MatrixDerivative] | None = None  # an array case's derivatives
    chain: DeltaChain | None = None  # and its δ recursion (`derive --steps`'s)


def _explain(result: CaseResult, settings: Settings) -> Entry:
    case = result.case
    derivations, error = None, None
    try:
        with time_limit(settings.timeout, f"explaining timed out after {settings.timeout:g} s"):
            derivations = explain_case(case)
    except (DiffcheckError, BudgetExceeded) as problem:
        error = problem.message
    return Entry(case.file, case.name, case.description, result, derivations, error)


def _explain_array(result: CaseResult, settings: Settings) -> Entry:
    """An array case with its derivatives in matrix notation and its δ recursion
    (`diffcheck derive --steps`'s)."""
    case = result.case
    matrix, chain, error = None, None, None
    limit = f"explaining timed out after {settings.timeout:g} s"
    try:
        with time_limit(settings.timeout, limit):
            matrix = matrix_derivatives(case, case.wrt)
    except (DiffcheckError, BudgetExceeded) as problem:
        error = problem.message
    try:  # the recursion is extra: without it the case still shows its derivatives
        with time_limit(settings.timeout, limit):
            chain = delta_chain(case, case.wrt)
    except (DiffcheckError, BudgetExceeded):
        chain = None
    return Entry(case.file, case.name, case.description, result, None, error, matrix, chain)


def explain_paths(
    paths: Sequence[str], settings: Settings | None = None
) -> tuple[list[Entry], list[CaseResult]]:
    """Check and explain every case below `paths`; invalid files become error entries,
    array cases entries without a scalar derivation.

    Returns:
        The entries, in file order, and every `CaseResult` (for the exit status).
    """
    settings = settings or Settings()
    files, results = find_case_files(paths)
    entries = [Entry(r.file, None, "", r, None, r.message) for r in results]
    for path in files:
        for item in load_case_file(path).entries:
            if isinstance(item, InvalidCase):
                message = "; ".join(str(error) for error in item.errors)
                entries.append(Entry(item.file, item.name, "", None, None, message))
                results.append(CaseResult(item.file, item.name, item.location, "error",
                                          errors=item.errors, error_kind="invalid"))  # fmt: skip
                continue
            result = check_case(item, settings)
            results.append(result)
            if result.status == "error":
                entries.append(Entry(item.file, item.name, item.description, result, None,
                                     result.message))  # fmt: skip
            elif isinstance(item, ArrayCase):
                entries.append(_explain_array(result, settings))
            else:
                entries.append(_explain(result, settings))
    return entries, results


# ---- the document ------------------------------------------------------------------------


def _notation(entry: Entry) -> Notation:
    """The case's notation: every name it uses, no two printed alike."""
    case = entry.result.case if entry.result is not None else None
    first = next(iter(entry.derivations.values()))
    exprs = [first.function, *(expr for _, expr in first.names)]
    if case is not None:
        exprs += [claim.expr for claim in case.gradient.values()]
        exprs += [claim.expr for claim in case.hessian.values()]
    names = [first.output.name, *(case.variables if case is not None else ())]
    return case_notation(exprs, names)


def _written(entry: Entry, first: Derivation) -> dict[sp.Symbol, sp.Expr]:
    """The function and intermediates as written, when the derivation shows the case's
    own (not names it gave a deep expression)."""
    case = entry.result.case if entry.result is not None else None
    if case is None or len(first.names) != len(case.where):
        return {}
    shown = {first.output: written(case.function)}
    shown.update({sp.Symbol(name): written(text) for name, text in case.where})
    return shown


def _entry_latex(entry: Entry, fragment: bool, figures: Mapping[tuple[str, str], str]) -> list:
    title = escape_breakable(entry.name or "(file)")
    parts = [rf"\subsection*{{\raggedright {title}}}"]  # ragged: a long name breaks
    if entry.description:
        parts.append(escape_text(entry.description.strip()) + r"\par")
    array = entry.result is not None and isinstance(entry.result.case, ArrayCase)
    notation = None
    if entry.derivations is not None:
        notation = _notation(entry)
        first = next(iter(entry.derivations.values()))
        parts.append(derivation_latex(entry.derivations, True, None, notation,
                                      _written(entry, first)))  # fmt: skip
    if entry.error is not None:
        parts.append(rf"\textit{{Not explained: {escape_text(entry.error)}}}\par")
    if array:
        parts.extend(array_verification(entry.result, entry.matrix, entry.chain))
    elif entry.result is not None and entry.result.status != "error":
        notation = notation or case_notation([entry.result.case.function.expr])
        parts.extend(verification(entry.result, notation, fragment))
    figure = figures.get((entry.file, entry.name or ""))
    if figure is not None:
        parts.append(r"\begin{center}\includegraphics[width=0.6\linewidth]{"
                     + figure + r"}\end{center}")  # fmt: skip
    return parts


def latex_document(
    entries: Sequence[Entry],
    fragment: bool = False,
    figures: Mapping[tuple[str, str], str] | None = None,
) -> str:
    """The LaTeX of every entry, a section per file; standalone unless `fragment`.

    Args:
        entries: from `explain_paths`.
        fragment: leave out the preamble, for \\input into a paper that loads amsmath.
        figures: (file, case name) -> an image file to include after the case.
    """
    parts = [FRAGMENT_HEAD if fragment else PREAMBLE]
    current = None
    for entry in entries:
        parts.append(KEEP_TOGETHER)  # before the headings: never between them
        if entry.file != current:
            current = entry.file
            parts.append(rf"\section*{{\raggedright {escape_breakable(entry.file)}}}")
        parts.extend(_entry_latex(entry, fragment, figures or {}))
    if not fragment:
        parts.append(r"\end{document}")
    return "\n".join(parts) + "\n"
