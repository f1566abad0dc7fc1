"""Run stage, for the explaining commands: what `derive` and `graph` work on.

Their argument is an expression or a case file; a case file names its case with --case,
unless it has only one. `select_target` gives the `Target`; `derivation_variables`,
`target_point`, `explain_target` and `target_graph` do the rest of each command's work.
A wrong option raises `OptionError`, naming the option, for the usage message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import sympy as sp

from ..cases.array_model import ArrayCase
from ..cases.loader import CASE_SUFFIXES, Case, Interval, InvalidCase, load_case_file
from ..errors import CaseFileError, DiffcheckError, ExpressionError, Location
from ..explain.chain import Derivation, explain_case, explain_expression
from ..symbolic.parse import parse_expression, suggest
from ..symbolic.trees import more_nodes_than

__all__ = [
    "OptionError",
    "Target",
    "derivation_variables",
    "explain_target",
    "fixed_values",
    "is_case_file",
    "parse_typed",
    "select_case",
    "select_target",
    "target_graph",
    "target_point",
]

TYPED = "<expression>"  # the file name in the locations of an expression typed in


class OptionError(ValueError):
    """An argument or option does not fit the target; `option` names it (--wrt, --at)."""

    def __init__(self, message: str, option: str):
        super().__init__(message)
        self.option = option


@dataclass(frozen=True)
class Target:
    """A case of a case file, or an expression typed in (then `case` is None)."""

    case: Case | ArrayCase | None
    expr: sp.Expr | None  # the typed expression, or the case's function; None: an array case
    variables: tuple[str, ...]
    fixed: Mapping[str, float]  # variables the case's domain fixes to one value

    @property
    def is_array(self) -> bool:
        """An array case: `derive` writes it in matrix notation (`run.array_derive`)."""
        return isinstance(self.case, ArrayCase)

    def function(self) -> sp.Expr:
        """The function with every intermediate written out."""
        return self.expr if self.case is None else self.case.resolve(self.expr)

    def larger_than(self, limit: int) -> bool:
        """Whether the function written out, or an intermediate it uses written out, has
        more than `limit` distinct nodes; for a long `where` chain, without writing out
        more than its first `limit` nodes or so (all of it is n² for n intermediates)."""
        if self.case is None:
            return more_nodes_than(self.expr, limit)
        return self.case.larger_than(self.expr, limit)


def is_case_file(text: str) -> bool:
    """True when `text` names a case file (an expression cannot end in .yaml).

    >>> is_case_file("cases/neuron.yaml"), is_case_file("sigmoid(x)")
    (True, False)
    """
    return text.lower().endswith(CASE_SUFFIXES)


def select_case(path: str, name: str | None) -> Case:
    """The case called `name` in the case file at `path` (the only one, if None).

    Raises:
        CaseFileError: the file cannot be read or is invalid (every error, one a
            line), or holds no such case.
        DiffcheckError: `name` is None and the file has several cases.
    """
    if not Path(path).is_file():
        raise CaseFileError(f"{path}: no such file")
    case_file = load_case_file(path)
    names = [case.name for case in case_file.cases]
    if name is None and case_file.errors:
        raise CaseFileError("\n".join(str(error) for error in case_file.errors))
    if name is not None and name not in names:  # its own errors, and the file's
        errors = [error for entry in case_file.entries if isinstance(entry, InvalidCase)
                  and entry.name in (name, None) for error in entry.errors]  # fmt: skip
        if errors:
            raise CaseFileError("\n".join(str(error) for error in errors))
    if name is None:
        if len(names) == 1:
            return case_file.cases[0]
        raise DiffcheckError(
            f"{path} has {len(names)} cases; choose one with --case ({', '.join(names)})"
        )
    for case in case_file.cases:
        if case.name == name:
            return case
    raise DiffcheckError(f"{path} has no case '{name}'{suggest(name, set(names))}")


def fixed_values(case: Case) -> dict[str, float]:
    """The variables that the case's domain fixes to one value."""
    return {name: float(value) for name, value in case.domain.items()
            if not isinstance(value, Interval)}  # fmt: skip


def parse_typed(text: str) -> sp.Expr:
    """Parse an expression typed on the command line.

    Raises:
        ExpressionError: it does not parse; the message, at <expression>:1:COLUMN, is
            followed by the expression and a caret under that column.
    """
    try:
        return parse_expression(text, lambda offset: Location(TYPED, 1, offset + 1))
    except DiffcheckError as error:
        column = error.location.column if error.location else 1
        raise ExpressionError(f"{error}\n  {text}\n  {' ' * (column - 1)}^") from error


def select_target(text: str, case_name: str | None) -> Target:
    """The case (of the case file `text`, called `case_name`) or the expression `text`.

    Raises:
        DiffcheckError: as `select_case` and `parse_typed` do.
        OptionError: a case named for an expression.
    """
    if is_case_file(text):
        case = select_case(text, case_name)
        if isinstance(case, ArrayCase):
            return Target(case, None, case.variables, {})
        return Target(case, case.function.expr, case.variables, fixed_values(case))
    if case_name is not None:
        raise OptionError("needs a case file, not an expression", "--case")
    expr = parse_typed(text)
    return Target(None, expr, tuple(sorted(s.name for s in expr.free_symbols)), {})


def derivation_variables(target: Target, wrt: Sequence[str]) -> list[str]:
    """The variables to differentiate by: `wrt`, else all (a case: its own `wrt`).

    Raises:
        OptionError: the expression has no variables, or `wrt` names one it lacks.
    """
    if target.case is not None:
        names, where = list(target.case.wrt), f"wrt of case {target.case.name}"
    elif not target.variables:
        raise OptionError("the expression has no variables to differentiate", "EXPRESSION")
    else:
        names, where = list(target.variables), "expression"
    unknown = [name for name in wrt if name not in names]
    if unknown:
        raise OptionError(f"'{unknown[0]}' does not appear in the {where} "
                          f"(its variables: {', '.join(names) or 'none'})", "--wrt")  # fmt: skip
    return list(wrt) or names


def target_point(target: Target, at: str | None) -> dict[str, float]:
    """The point `at` (NAME=VALUE,...) completed by the fixed values, in variable order.

    Raises:
        OptionError: `at` is not a point of the target's variables.
        DiffcheckError: the target is an array case (points of scalars only).
    """
    if target.is_array:
        raise DiffcheckError(f"case {target.case.name} is an array case; the graph and its "
                             "points are for scalar cases")  # fmt: skip
    from ..explain.relay import complete_point, parse_point  # --at only: derive skips it

    try:
        return complete_point(parse_point(at) if at else {}, target.variables, target.fixed)
    except ValueError as error:
        raise OptionError(str(error), "--at") from None


def explain_target(target: Target, wrt: Sequence[str]) -> dict[str, Derivation]:
    """The derivation of each partial by a variable of `wrt`, step by step."""
    if target.case is None:
        return explain_expression(target.expr, list(wrt))
    return {name: d for name, d in explain_case(target.case).items() if name in wrt}


def target_graph(target: Target, point: Mapping[str, float]) -> str:
    """DOT text for the computational graph at `point` (from `target_point`); a case's
    nodes carry the names of its intermediates."""
    from ..explain.graph import graph_dot, node_names  # graph only: derive skips it

    values = [point[name] for name in target.variables]
    if target.case is None:
        return graph_dot(target.expr, target.variables, values, {}, "expression")
    where = [(sp.Symbol(name), expression.expr) for name, expression in target.case.where]
    names = node_names(target.expr, where)
    return graph_dot(target.function(), target.variables, values, names, target.case.name)
