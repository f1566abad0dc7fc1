"""Cases stage, for the explaining commands: which case of a case file is meant.

`derive`, `latex` and `graph` take either an expression or a case file; a case file
names its case with --case, unless it has only one. Main function: `select_case`.
"""

from __future__ import annotations

from pathlib import Path

from ..cases.loader import Case, Interval, InvalidCase, load_case_file
from ..errors import CaseFileError, DiffcheckError
from ..symbolic.parse import suggest
from .check import CASE_SUFFIXES

__all__ = ["fixed_values", "is_case_file", "select_case"]


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
