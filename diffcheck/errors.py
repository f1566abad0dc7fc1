"""Errors and exit codes shared by every stage.

Every user-facing error carries a `Location` and prints as `FILE:LINE:COLUMN: message`,
so a message from any stage points back at the text the user wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = [
    "EXIT_OK",
    "EXIT_FAILED",
    "EXIT_USAGE",
    "EXIT_INTERRUPTED",
    "Location",
    "DiffcheckError",
    "CaseFileError",
    "ExpressionError",
    "RuleError",
    "CaseTimeout",
    "counted",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT: a run stopped by Ctrl-C, as shells report it


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """A count with its noun in the right number, for messages.

    >>> counted(1, "point"), counted(3, "point"), counted(2, "entry", "entries")
    ('1 point', '3 points', '2 entries')
    """
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


@dataclass(frozen=True)
class Location:
    """A place in a case file; line and column are 1-based.

    >>> str(Location("cases/a.yaml", 3, 7))
    'cases/a.yaml:3:7'
    """

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def shifted(self, columns: int) -> Location:
        return replace(self, column=self.column + columns)


class DiffcheckError(Exception):
    """An expected error: printed as one line, never with a traceback."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, location: Location | None = None):
        super().__init__(message)
        self.message = message
        self.location = location

    def at(self, location: Location | None) -> DiffcheckError:
        """The same error placed at `location` (kept when it already has one)."""
        if self.location is not None or location is None:
            return self
        return type(self)(self.message, location)

    def __str__(self) -> str:
        if self.location is None:
            return self.message
        return f"{self.location}: {self.message}"


class CaseFileError(DiffcheckError):
    """The structure of a case file is wrong: unknown key, bad value, duplicate name."""


class ExpressionError(DiffcheckError):
    """An expression does not parse; the location points inside the expression."""


class RuleError(DiffcheckError):
    """A function or argument has no derivative rule."""


class CaseTimeout(DiffcheckError):
    """A case ran past its time limit."""

    exit_code = 1
