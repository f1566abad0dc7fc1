"""YAML case file -> validated `Case` objects, each field with its `Location`.

Main function: `load_case_file(path)`. Every error of a file is collected, each as
`FILE:LINE:COLUMN: message`; the valid cases of a file are returned beside the invalid
ones. The contract is CASES.md: unknown keys are errors, nothing is silently ignored.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..errors import CaseFileError, CaseTimeout, DiffcheckError, Location
from ..limits import BudgetExceeded, time_limit
from .model import (
    CASE_KEYS,
    DEFAULT_KEYS,
    DEFAULTS,
    EXPECTATIONS,
    IMPLEMENTATION_KEYS,
    TOLERANCE_KEYS,
    TOP_KEYS,
    Case,
    CaseFile,
    Defaults,
    Expression,
    Interval,
    InvalidCase,
    Tolerance,
)
from .nodes import NodeReader, Source
from .settings import read_domain, read_setting, read_tolerance

__all__ = [
    "CASE_KEYS",
    "CASE_SUFFIXES",
    "DEFAULTS",
    "DEFAULT_KEYS",
    "EXPECTATIONS",
    "IMPLEMENTATION_KEYS",
    "TOLERANCE_KEYS",
    "TOP_KEYS",
    "Case",
    "CaseFile",
    "Expression",
    "Interval",
    "InvalidCase",
    "Tolerance",
    "load_case_file",
    "read_case_text",
]

CASE_SUFFIXES = (".yaml", ".yml")  # the files read as case files


def load_case_file(path: str | Path, timeout: float | None = None) -> CaseFile:
    """Read and validate a case file.

    Args:
        path: the YAML file; the path is kept as given, for messages.
        timeout: seconds that reading one case may take (parsing, SymPy's work); a case
            that takes longer is an `InvalidCase` with a `CaseTimeout`. None: no limit.

    Returns:
        A `CaseFile` whose entries, in file order, are valid `Case`s and `InvalidCase`s
        carrying their errors. File-level problems are `InvalidCase`s with no name.
    """
    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        return _file_error(path, CaseFileError(f"cannot read the file: {reason}"))
    return read_case_text(text, path, timeout)


MAX_YAML_DEPTH = 1000  # a case file needs a handful; beyond, only the first is reported


def read_case_text(text: str, path: str = "<text>", timeout: float | None = None) -> CaseFile:
    """Validate case-file text, as `load_case_file` does a file; `path` names it in
    messages."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        location = Location(path, mark.line + 1, mark.column + 1) if mark else None
        problem = error.problem or error.context or "unreadable"
        return _file_error(path, CaseFileError(f"invalid YAML: {problem}", location))
    except yaml.YAMLError as error:
        return _file_error(path, CaseFileError(f"invalid YAML: {error}"))
    except RecursionError:  # PyYAML composes nested collections recursively
        return _file_error(path, _too_deep(text, path))
    if root is None:
        return _file_error(path, CaseFileError("the file is empty; expected a 'cases:' list"))
    return _read_file(Source(path, text), root, timeout)


def _too_deep(text: str, path: str) -> CaseFileError:
    """The error for YAML nested deeper than PyYAML can compose, at its deepest collection
    (found from the event stream, which does not recurse), or where it passes
    MAX_YAML_DEPTH: scanning 10 000 levels takes PyYAML seconds."""
    depth, deepest = 0, (0, None)
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > deepest[0]:
                    deepest = (depth, event.start_mark)
                if depth > MAX_YAML_DEPTH:
                    break
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass  # a later syntax error: the nesting found so far is the first problem
    levels, mark = deepest
    location = Location(path, mark.line + 1, mark.column + 1) if mark else None
    deep = f"more than {MAX_YAML_DEPTH}" if levels > MAX_YAML_DEPTH else str(levels)
    return CaseFileError(f"invalid YAML: nested {deep} levels deep, too deep to read", location)


def _file_error(path: str, error: DiffcheckError) -> CaseFile:
    location = error.location or Location(path, 1, 1)
    return CaseFile(path, (InvalidCase(path, None, location, (error.at(location),)),))


def _read_file(source: Source, root: yaml.Node, timeout: float | None) -> CaseFile:
    reader = NodeReader(source)
    top = {key: node for key, _, node in reader.mapping(root, "the file", TOP_KEYS)}
    defaults = _read_defaults(reader, top["defaults"]) if "defaults" in top else Defaults()
    case_nodes = _case_nodes(reader, root, top.get("cases"))
    entries: list[Case | InvalidCase] = [
        InvalidCase(source.path, None, error.location, (error,)) for error in reader.errors
    ]
    first_line: dict[str, int] = {}
    for node in case_nodes:
        entries.append(_read_case_in_time(source, node, defaults, first_line, timeout))
    return CaseFile(source.path, tuple(entries))


def _read_case_in_time(source: Source, node: yaml.Node, defaults: Defaults,
                       first_line: dict[str, int], timeout: float | None
                       ) -> Case | InvalidCase:  # fmt: skip
    """`read_case` within the per-case time limit: a case whose reading runs away (SymPy
    on a huge expression) is an error, and the rest of the file is read."""
    # imported here, not at the top: modules that only name `Case` (derive) skip the builder
    from .builder import read_case

    message = "timed out while reading the case"
    if timeout:
        message += f", after {timeout:g} s (raise it with --timeout)"
    try:
        with time_limit(timeout, message):
            return read_case(source, node, defaults, first_line)
    except BudgetExceeded as exceeded:
        location = source.at(node)
        error = CaseTimeout(exceeded.message, location)
        return InvalidCase(source.path, _case_name(node), location, (error,))


def _case_name(node: yaml.Node) -> str | None:
    """The name a case node gives itself, read without checking anything."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "name" and isinstance(value, yaml.ScalarNode):
                return value.value
    return None


def _case_nodes(reader: NodeReader, root: yaml.Node, node: yaml.Node | None) -> list[yaml.Node]:
    if node is None:
        if isinstance(root, yaml.MappingNode):
            reader.fail("the file has no 'cases:' list", root)
        return []
    items = reader.sequence(node, "cases")
    if isinstance(node, yaml.SequenceNode) and not items:
        reader.fail("'cases' is empty: add at least one case", node)
    return items


def _defaults_hint(key: str) -> str | None:
    if key in CASE_KEYS:
        return f"'{key}' cannot be set under defaults; set it in each case"
    return None


def _read_defaults(reader: NodeReader, node: yaml.Node) -> Defaults:
    defaults = Defaults()
    for key, _, value_node in reader.mapping(node, "defaults", DEFAULT_KEYS, _defaults_hint):
        if key == "tolerance":
            read_tolerance(reader, value_node, defaults.tolerance)
        elif key == "domain":
            read_domain(reader, value_node, defaults.domain)
        else:
            value = read_setting(reader, key, value_node)
            if value is not None:
                defaults.settings[key] = (value, value_node)
    return defaults
