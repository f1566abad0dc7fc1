"""pytest plugin: case files become pytest items, one per case, beside a project's tests.

Opt-in: nothing is collected unless the `diffcheck_cases` ini option names glob patterns
(relative to pytest's rootdir; `**` spans folders) or `--diffcheck` is given, which uses
the ini patterns if set and else DEFAULT_GLOBS; with `--diffcheck`, a YAML file named on
the command line is collected too. An item runs `check_case`, the command line's code,
and a failing one shows the text report's account of it. Registered as the `diffcheck`
entry point of group pytest11.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from .cases.loader import Case, InvalidCase, load_case_file
from .errors import DiffcheckError
from .report.text import render_failure
from .run.check import CASE_SUFFIXES, CaseResult, Settings, check_case

__all__ = ["DEFAULT_GLOBS", "CaseFile", "CaseItem", "InvalidFileItem", "glob_to_regex"]

DEFAULT_GLOBS = ("cases/**/*.yaml", "cases/**/*.yml")
INI_NAME = "diffcheck_cases"
INVALID_ITEM_NAME = "invalid-file"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("diffcheck", "diffcheck case files")
    group.addoption(
        "--diffcheck",
        action="store_true",
        default=False,
        help="Collect diffcheck case files: those matching the diffcheck_cases ini "
        f"patterns, else {' '.join(DEFAULT_GLOBS)}, and YAML files named on the command line.",
    )
    parser.addini(
        INI_NAME,
        type="linelist",
        default=[],
        help="Glob patterns of diffcheck case files, relative to the rootdir (** spans "
        "folders); setting it turns collection on.",
    )


@lru_cache(maxsize=64)
def glob_to_regex(pattern: str) -> re.Pattern[str]:
    r"""A compiled regex for a `/`-separated glob: `*` and `?` stay inside one folder
    name, `**/` spans zero or more folders.

    >>> bool(glob_to_regex("cases/**/*.yaml").fullmatch("cases/a.yaml"))
    True
    >>> bool(glob_to_regex("cases/*.yaml").fullmatch("cases/sub/a.yaml"))
    False
    """
    parts = re.split(r"(\*\*/|\*\*|\*|\?|\[[^\]/]*\])", pattern)
    pieces = {"**/": "(?:[^/]*/)*", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    regex = "".join(
        pieces.get(part) or (_char_class(part) if part.startswith("[") else re.escape(part))
        for part in parts
    )
    return re.compile(regex)


def _char_class(part: str) -> str:
    """A glob's [abc] or [!abc] as a regex class."""
    inside = part[1:-1]
    return "[^" + inside[1:] + "]" if inside.startswith("!") else "[" + inside + "]"


def _patterns(config: pytest.Config) -> tuple[str, ...]:
    configured = tuple(config.getini(INI_NAME))
    if configured:
        return configured
    return DEFAULT_GLOBS if config.getoption("diffcheck") else ()


def _wanted(file_path: Path, parent: pytest.Collector) -> bool:
    config = parent.config
    if file_path.suffix not in CASE_SUFFIXES:
        return False
    if config.getoption("diffcheck") and parent.session.isinitpath(file_path):
        return True
    try:
        relative = file_path.resolve().relative_to(config.rootpath.resolve()).as_posix()
    except ValueError:  # outside the rootdir: no pattern can name it
        return False
    return any(glob_to_regex(pattern).fullmatch(relative) for pattern in _patterns(config))


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> CaseFile | None:
    if _wanted(file_path, parent):
        return CaseFile.from_parent(parent, path=file_path)
    return None


class CaseFile(pytest.File):
    """A case file: one item per case, and one failing item for all its errors."""

    def collect(self) -> Iterator[pytest.Item]:
        loaded = load_case_file(self._shown_path())
        invalid = [entry for entry in loaded.entries if isinstance(entry, InvalidCase)]
        for case in loaded.cases:
            yield CaseItem.from_parent(self, name=case.name, case=case)
        if invalid:
            errors = tuple(error for entry in invalid for error in entry.errors)
            yield InvalidFileItem.from_parent(self, name=INVALID_ITEM_NAME, errors=errors)

    def _shown_path(self) -> str:
        """The path as messages show it: relative to the rootdir, like the node ids."""
        try:
            return self.path.relative_to(self.config.rootpath).as_posix()
        except ValueError:
            return str(self.path)


class CaseFailed(Exception):
    """A case whose status is not pass; carries its result for `repr_failure`."""

    def __init__(self, result: CaseResult):
        super().__init__(result.status)
        self.result = result


class CaseItem(pytest.Item):
    """One case; passes when `check_case` says pass."""

    def __init__(self, *, case: Case, **kwargs: Any):
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        result = check_case(self.case, Settings())
        if result.status != "pass":
            raise CaseFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style=None) -> Any:
        if isinstance(excinfo.value, CaseFailed):
            result = excinfo.value.result
            text = render_failure(result)
            return text + ("\n" + result.traceback.rstrip() if result.traceback else "")
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.location.line - 1, f"case: {self.name}"


class InvalidFileItem(pytest.Item):
    """The errors of a case file that could not be read whole: always fails."""

    def __init__(self, *, errors: tuple[DiffcheckError, ...], **kwargs: Any):
        super().__init__(**kwargs)
        self.errors = errors

    def runtest(self) -> None:
        raise DiffcheckError("\n".join(str(error) for error in self.errors))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style=None) -> Any:
        if isinstance(excinfo.value, DiffcheckError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        first = self.errors[0].location if self.errors else None
        return self.path, (first.line - 1 if first else 0), "invalid case file"
