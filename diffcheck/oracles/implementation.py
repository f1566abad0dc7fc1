"""Users' own code: import `module:attribute` references and call them on all points.

A scalar case's `implementation` names a `function` and/or a `gradient`; both are called
with the case's variables as keyword arguments, NumPy arrays over all points at once. The
gradient returns a mapping variable -> array, or a tuple in `wrt` order. Main function:
`evaluate_implementation` (array cases: `array_implementation`). Import problems are
errors of the case file (exit 2); an exception raised inside the user's code is an error
of the case.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.machinery
import importlib.util
import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..cases.model import Case
from ..errors import CaseFileError, DiffcheckError, Location
from ..limits import is_expiry

__all__ = [
    "ImplementationError",
    "ImplementationValues",
    "call_code",
    "code_callable",
    "evaluate_implementation",
    "gradient_items",
]

# frames in files below this folder are diffcheck's own, cut from the user's traceback
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class ImplementationError(DiffcheckError):
    """The user's code raised, or returned something that is not a value per point."""

    exit_code = 1
    trace: str | None = None  # the traceback of the user's code, when it raised


@dataclass(frozen=True)
class ImplementationValues:
    """The code's values: float64, or float32 where the code returned float32."""

    function: np.ndarray | None  # the user's function at every point
    gradient: Mapping[str, np.ndarray]  # variable -> the user's partial at every point


def _resolve(reference: str, key: str, location: Location) -> Callable[..., Any]:
    module_name, _, attribute = reference.partition(":")
    added = _search_folders(location)
    try:
        with _user_output():
            target: Any = _import(module_name)
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # any failure while importing, sys.exit included
        raise CaseFileError(
            f"implementation {key}: cannot import '{module_name}': {type(error).__name__}: {error}",
            location,
        ) from error
    finally:
        for folder in added:
            sys.path.remove(folder)
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise CaseFileError(
                f"implementation {key}: '{module_name}' has no attribute '{attribute}'", location
            )
        target = getattr(target, part)
    if not callable(target):
        raise CaseFileError(f"implementation {key}: '{reference}' is not callable", location)
    return target


def _import(module_name: str) -> Any:
    """The module `module_name` as the search path finds it now: a module of that name
    imported already from another folder (cases/a/impl.py, then cases/b/impl.py) is not
    the one this case file names; that one is imported under a name of its own."""
    cached = sys.modules.get(module_name)
    if cached is None or "." in module_name:
        return importlib.import_module(module_name)
    spec = importlib.machinery.PathFinder.find_spec(module_name, sys.path)
    origin = getattr(cached, "__file__", None)
    if spec is None or spec.origin is None or origin is None or (
        os.path.realpath(spec.origin) == os.path.realpath(origin)
    ):  # fmt: skip
        return cached
    own_name = f"{module_name}@{os.path.realpath(spec.origin)}"
    if own_name not in sys.modules:
        own = importlib.util.spec_from_file_location(own_name, spec.origin)
        module = importlib.util.module_from_spec(own)
        sys.modules[own_name] = module
        try:
            own.loader.exec_module(module)
        except BaseException:
            del sys.modules[own_name]
            raise
    return sys.modules[own_name]


def _user_output() -> contextlib.AbstractContextManager[Any]:
    """What the user's code prints goes to standard error: standard output carries the
    report, one JSON document with --format json."""
    return contextlib.redirect_stdout(sys.stderr)


def _search_folders(location: Location) -> list[str]:
    """Put the current directory (as `python -m` would) and then the case file's folder
    (code kept beside its cases, wherever pytest or CI is started) on `sys.path`; the
    folders added, to take off again once imported."""
    folders = [os.getcwd()]
    case_folder = os.path.dirname(os.path.abspath(location.file))
    if os.path.isdir(case_folder):
        folders.append(case_folder)
    added = []
    for folder in folders:
        if folder not in sys.path:
            sys.path.insert(len(added), folder)
            added.append(folder)
    return added


def code_callable(implementation: Any, key: str, allow_import: bool
                  ) -> Callable[..., Any] | None:  # fmt: skip
    """The callable `implementation.<key>` names (imported), or None if it names none.

    Raises:
        CaseFileError: it cannot be imported, is not callable, or importing is disabled.
    """
    target = getattr(implementation, key)
    if target is None or callable(target):
        return target
    if not allow_import:
        raise CaseFileError(
            f"implementation {key}: '{target}' is not imported: importing code named by case "
            "files is disabled (--no-import)",
            implementation.location,
        )
    return _resolve(target, key, implementation.location)


def call_code(target: Callable[..., Any], key: str, arguments: Mapping[str, Any],
              location: Location) -> Any:  # fmt: skip
    """`target(**arguments)`; whatever it raises becomes an `ImplementationError` holding
    the traceback of the user's frames."""
    # fresh copies for each call: code that writes into its inputs (x *= 2) must change
    # neither the points nor what the next call sees
    arguments = {name: _fresh(values) for name, values in arguments.items()}
    try:
        with np.errstate(all="ignore"), _user_output():
            return target(**arguments)
    except (KeyboardInterrupt, GeneratorExit):
        raise
    except BaseException as error:  # the user's code failed, even by sys.exit: go on
        if is_expiry(error):  # the case's time limit, not the code's failure
            raise
        failure = ImplementationError(
            f"implementation {key} raised {type(error).__name__}: {error}", location
        )
        # the user's frames only: where diffcheck called the code is no help to them
        failure.trace = "".join(
            traceback.format_exception(type(error), error, _user_frames(error.__traceback__))
        )
        raise failure from error


def _fresh(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else value


def _user_frames(trace: Any) -> Any:
    """The traceback from the first frame outside diffcheck (torch's own frames stay: they
    lead from `.backward()` to the user's backward)."""
    while trace is not None and trace.tb_frame.f_code.co_filename.startswith(_PACKAGE):
        trace = trace.tb_next
    return trace


def _per_point(value: Any, what: str, count: int, location: Location) -> np.ndarray:
    try:
        array = np.asarray(value)
        if np.iscomplexobj(array) and np.any(np.imag(array) != 0):
            raise ImplementationError(f"{what} returned complex values", location)
        real = np.real(array)
        # float32 stays float32: the verdict names it when single-precision rounding is
        # what fails (whatever is computed from these values is float64 all the same)
        dtype = np.float32 if real.dtype == np.float32 else np.float64
        return np.broadcast_to(real.astype(dtype), (count,)).copy()
    except ImplementationError:
        raise
    except Exception as error:  # a tensor needing .detach(), a ragged list, ...
        shape = getattr(value, "shape", type(value).__name__)
        raise ImplementationError(
            f"{what} must give one number per point ({count} points), got {shape}: "
            f"{type(error).__name__}",
            location,
        ) from error


def gradient_items(returned: Any, wrt: Sequence[str], location: Location, key: str = "gradient"
                   ) -> list[tuple[str, Any]]:  # fmt: skip
    """(variable, value) in `wrt` order from what a gradient returned: a mapping variable
    -> value or a tuple in `wrt` order.

    Raises:
        ImplementationError: anything else, or a mapping with a name missing or extra.
    """
    if isinstance(returned, Mapping):
        extra = sorted(set(map(str, returned)) - set(wrt))
        missing = [name for name in wrt if name not in returned]
        if extra or missing:
            problem = f"returned '{extra[0]}', which is not in wrt" if extra else (
                f"returned no value for '{missing[0]}'")  # fmt: skip
            raise ImplementationError(
                f"implementation {key} {problem} ({', '.join(wrt)})", location
            )
        return [(name, returned[name]) for name in wrt]
    if isinstance(returned, (tuple, list)) and len(returned) == len(wrt):
        return list(zip(wrt, returned, strict=True))
    raise ImplementationError(
        f"implementation {key} must return a mapping variable -> values or a tuple in "
        f"wrt order ({', '.join(wrt)}), got {type(returned).__name__}",
        location,
    )


def evaluate_implementation(case: Case, points: np.ndarray, allow_import: bool = True
                            ) -> ImplementationValues:  # fmt: skip
    """Call the case's implementation on every point (the rows of `points`).

    Raises:
        CaseFileError: a reference cannot be imported, or importing is not allowed.
        ImplementationError: the code raised, or returned values of the wrong shape.
    """
    implementation = case.implementation
    location = implementation.location
    arguments = dict(zip(case.variables, points, strict=True))
    count = points.shape[1]
    function = code_callable(implementation, "function", allow_import)
    gradient = code_callable(implementation, "gradient", allow_import)
    values = None
    if function is not None:
        values = _per_point(call_code(function, "function", arguments, location),
                            "implementation function", count, location)  # fmt: skip
    partials = {}
    if gradient is not None:
        returned = call_code(gradient, "gradient", arguments, location)
        partials = {name: _per_point(value, f"implementation gradient['{name}']", count,
                                     location)
                    for name, value in gradient_items(returned, case.wrt, location)}  # fmt: skip
    return ImplementationValues(values, partials)
