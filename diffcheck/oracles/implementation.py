"""Users' own code: import `module:attribute` references and call them on all points.

A case's `implementation` names a `function` and/or a `gradient`; both are called with
the case's variables as keyword arguments, NumPy arrays over all points at once. The
gradient returns a mapping variable -> array, or a tuple in `wrt` order. Main function:
`evaluate_implementation`. Import problems are errors of the case file (exit 2); an
exception raised inside the user's code is an error of the case.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..cases.model import Case, Implementation
from ..errors import CaseFileError, DiffcheckError, Location

__all__ = ["ImplementationError", "ImplementationValues", "evaluate_implementation"]


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
    here = os.getcwd()
    added = here not in sys.path
    if added:  # "importable from the current directory", as `python -m` would have it
        sys.path.insert(0, here)
    try:
        target: Any = importlib.import_module(module_name)
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # any failure while importing, sys.exit included
        raise CaseFileError(
            f"implementation {key}: cannot import '{module_name}': {type(error).__name__}: {error}",
            location,
        ) from error
    finally:
        if added:
            sys.path.remove(here)
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise CaseFileError(
                f"implementation {key}: '{module_name}' has no attribute '{attribute}'", location
            )
        target = getattr(target, part)
    if not callable(target):
        raise CaseFileError(f"implementation {key}: '{reference}' is not callable", location)
    return target


def _callable(implementation: Implementation, key: str, allow_import: bool
              ) -> Callable[..., Any] | None:  # fmt: skip
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


def _call(target: Callable[..., Any], key: str, arguments: dict[str, np.ndarray],
          location: Location) -> Any:  # fmt: skip
    # fresh copies for each call: code that writes into its inputs (x *= 2) must change
    # neither the points nor what the next call sees
    arguments = {name: values.copy() for name, values in arguments.items()}
    try:
        with np.errstate(all="ignore"):
            return target(**arguments)
    except (KeyboardInterrupt, GeneratorExit):
        raise
    except BaseException as error:  # the user's code failed, even by sys.exit: go on
        failure = ImplementationError(
            f"implementation {key} raised {type(error).__name__}: {error}", location
        )
        # the user's frames only: where diffcheck called the code is no help to them
        failure.trace = "".join(
            traceback.format_exception(type(error), error, error.__traceback__.tb_next)
        )
        raise failure from error


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


def _gradient_values(returned: Any, wrt: Sequence[str], count: int, location: Location
                     ) -> dict[str, np.ndarray]:  # fmt: skip
    if isinstance(returned, Mapping):
        extra = sorted(set(map(str, returned)) - set(wrt))
        missing = [name for name in wrt if name not in returned]
        if extra or missing:
            problem = f"returned '{extra[0]}', which is not in wrt" if extra else (
                f"returned no value for '{missing[0]}'")  # fmt: skip
            raise ImplementationError(
                f"implementation gradient {problem} ({', '.join(wrt)})", location
            )
        items = [(name, returned[name]) for name in wrt]
    elif isinstance(returned, (tuple, list)) and len(returned) == len(wrt):
        items = list(zip(wrt, returned, strict=True))
    else:
        raise ImplementationError(
            "implementation gradient must return a mapping variable -> values or a tuple in "
            f"wrt order ({', '.join(wrt)}), got {type(returned).__name__}",
            location,
        )
    return {name: _per_point(v, f"implementation gradient['{name}']", count, location)
            for name, v in items}  # fmt: skip


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
    function = _callable(implementation, "function", allow_import)
    gradient = _callable(implementation, "gradient", allow_import)
    values = None
    if function is not None:
        values = _per_point(_call(function, "function", arguments, location),
                            "implementation function", count, location)  # fmt: skip
    partials = {}
    if gradient is not None:
        returned = _call(gradient, "gradient", arguments, location)
        partials = _gradient_values(returned, case.wrt, count, location)
    return ImplementationValues(values, partials)
