"""pytest plugin: case files become pytest items, one per case, beside a project's tests.

Opt-in: nothing is collected unless the `diffcheck_cases` ini option names glob patterns
(relative to pytest's rootdir, wherever pytest runs from; `**` spans folders) or
`--diffcheck` is given, which uses the ini patterns if set and else DEFAULT_GLOBS; with
`--diffcheck`, a YAML file named on the command line is collected too. Case files outside
the paths pytest collects from are named in a warning, not skipped in silence. An item
runs `check_case`, the command line's code, with `diffcheck_seed` and `diffcheck_samples`
meaning what `--seed` and `--samples` mean there; a failing one shows the text report's
account of it. Registered as the `diffcheck` entry point of group pytest11.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from .cases.loader import Case, InvalidCase, load_case_file, read_case_text
from .cases.loader import CaseFile as LoadedFile
from .cases.settings import MAX_SAMPLES
from .errors import DiffcheckError
from .report.text import render_failure
from .run.check import CASE_SUFFIXES, CaseResult, Settings, check_case

__all__ = ["DEFAULT_GLOBS", "CaseFile", "CaseItem", "InvalidFileItem", "glob_to_regex"]

DEFAULT_GLOBS = ("cases/**/*.yaml", "cases/**/*.yml")
INI_NAME = "diffcheck_cases"
INVALID_ITEM_NAME = "invalid-file"
# ini options with the meaning of `diffcheck check`'s flags: name -> (flag, largest value)
NUMBER_OPTIONS = {
    "diffcheck_seed": ("--seed", None),
    "diffcheck_samples": ("--samples", MAX_SAMPLES),
}
SETTINGS = pytest.StashKey[Settings]()


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
    for name, (flag, _) in NUMBER_OPTIONS.items():
        parser.addini(
            name,
            type="string",
            default="",
            help=f"As `diffcheck check {flag}`: overrides every case's own value.",
        )


def pytest_configure(config: pytest.Config) -> None:
    numbers = {name: _whole_number(config, name) for name in NUMBER_OPTIONS}
    config.stash[SETTINGS] = Settings(
        seed=numbers["diffcheck_seed"], samples=numbers["diffcheck_samples"]
    )
    if not hasattr(config, "workerinput"):  # pytest-xdist's workers: the controller says it
        _warn_if_cases_are_left_out(config)
        _warn_of_patterns_naming_nothing(config)


def _whole_number(config: pytest.Config, name: str) -> int | None:
    text = str(config.getini(name)).strip()
    if not text:
        return None
    flag, largest = NUMBER_OPTIONS[name]
    if not text.isdigit() or (largest is not None and int(text) > largest):
        bound = f" and at most {largest:_}" if largest is not None else ""
        raise pytest.UsageError(
            f"{name} (the ini option for {flag}) must be a whole number >= 0{bound}, got {text!r}"
        )
    return int(text)


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


def _setting(config: pytest.Config) -> str:
    """How the user turned collection on, for messages."""
    if config.getini(INI_NAME):
        return f"diffcheck_cases ({', '.join(config.getini(INI_NAME))})"
    return f"--diffcheck ({', '.join(DEFAULT_GLOBS)})"


def _case_files(config: pytest.Config, patterns: Sequence[str] | None = None
                ) -> Iterator[Path]:  # fmt: skip
    """The files below the rootdir that the patterns (default: all) name, lazily."""
    root = config.rootpath
    for pattern in _patterns(config) if patterns is None else patterns:
        for path in root.glob(pattern):
            relative = path.relative_to(root).as_posix()
            if path.suffix in CASE_SUFFIXES and glob_to_regex(pattern).fullmatch(relative):
                yield path


def _warn_of_patterns_naming_nothing(config: pytest.Config) -> None:
    """Of several patterns, one that names no file (a typo in a folder's name) is warned
    about on its own: the others' files hide it."""
    patterns = _patterns(config)
    if len(patterns) < 2:
        return  # one pattern naming nothing: `_warn_if_cases_are_left_out` says so
    for pattern in patterns:
        if next(_case_files(config, [pattern]), None) is None:
            message = (f"{_setting(config)}: the pattern {pattern!r} names no file below the "
                       f"rootdir {config.rootpath}")  # fmt: skip
            config.issue_config_time_warning(pytest.PytestConfigWarning(message), stacklevel=2)


def _warn_if_cases_are_left_out(config: pytest.Config) -> None:
    """Warn when the case files lie outside every path pytest collects from: pytest, run
    from a subfolder or with testpaths that leave the cases out, would collect none."""
    if not _patterns(config) or config.option.pyargs:
        return
    invoked = config.invocation_params.dir
    starts = [(invoked / arg.split("::")[0]).resolve() for arg in config.args]
    if any(start.is_file() for start in starts):
        return  # files or tests named one by one: that is the selection
    first = None
    for path in _case_files(config):
        if any(path.resolve().is_relative_to(start) for start in starts):
            return
        first = first or path
    root = config.rootpath
    if first is None:
        message = f"{_setting(config)} names no file below the rootdir {root}"
    else:
        source = {"TESTPATHS": "testpaths", "INVOCATION_DIR": "the current directory"}.get(
            config.args_source.name, "the command line"
        )
        shown = ", ".join(_shown(start, root) for start in starts)
        message = (
            f"{_setting(config)} names case files that pytest does not collect (such as "
            f"{_shown(first, root)}): it collects from {shown} ({source}); add their "
            "folder to testpaths, or name it on the command line"
        )
    config.issue_config_time_warning(pytest.PytestConfigWarning(message), stacklevel=2)


def _shown(path: Path, root: Path) -> str:
    """A path relative to the rootdir where it lies below it, as pytest shows node ids."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix() or "."
    except ValueError:
        return str(path)


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> CaseFile | None:
    if _wanted(file_path, parent):
        return CaseFile.from_parent(parent, path=file_path)
    return None


class CaseFile(pytest.File):
    """A case file: one item per case, and one failing item for all its errors."""

    def collect(self) -> Iterator[pytest.Item]:
        loaded = self._load()
        invalid = [entry for entry in loaded.entries if isinstance(entry, InvalidCase)]
        for case in loaded.cases:
            yield CaseItem.from_parent(self, name=case.name, case=case)
        if invalid:
            errors = tuple(error for entry in invalid for error in entry.errors)
            yield InvalidFileItem.from_parent(self, name=INVALID_ITEM_NAME, errors=errors)

    def _load(self) -> LoadedFile:
        """Read from the file's own path, whatever the current directory; messages show
        it relative to the rootdir, like the node ids."""
        timeout = self.config.stash[SETTINGS].timeout
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return load_case_file(self.path, timeout)  # its message says what is wrong
        return read_case_text(text, _shown(self.path, self.config.rootpath), timeout)


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
        result = check_case(self.case, self.config.stash[SETTINGS])
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
