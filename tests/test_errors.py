"""Errors print as FILE:LINE:COLUMN: message; exit codes are named constants."""

from __future__ import annotations

from diffcheck.errors import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CaseFileError,
    CaseTimeout,
    DiffcheckError,
    ExpressionError,
    Location,
    RuleError,
)


def test_location_prints_file_line_column() -> None:
    assert str(Location("cases/a.yaml", 3, 7)) == "cases/a.yaml:3:7"
    assert Location("a.yaml", 3, 7).shifted(4) == Location("a.yaml", 3, 11)


def test_error_prints_with_and_without_location() -> None:
    assert str(DiffcheckError("bad")) == "bad"
    assert str(CaseFileError("bad", Location("a.yaml", 2, 5))) == "a.yaml:2:5: bad"


def test_error_at_places_an_error_once() -> None:
    here, there = Location("a.yaml", 1, 1), Location("b.yaml", 2, 2)
    placed = ExpressionError("bad").at(here)
    assert type(placed) is ExpressionError and placed.location == here
    assert placed.at(there) is placed
    assert ExpressionError("bad").at(None).location is None


def test_exit_codes() -> None:
    assert (EXIT_OK, EXIT_FAILED, EXIT_USAGE) == (0, 1, 2)
    assert DiffcheckError.exit_code == EXIT_USAGE
    assert CaseTimeout.exit_code == EXIT_FAILED
    assert all(
        issubclass(cls, DiffcheckError)
        for cls in (CaseFileError, ExpressionError, RuleError, CaseTimeout)
    )
