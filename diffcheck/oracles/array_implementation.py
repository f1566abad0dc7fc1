"""Users' own code for array cases: NumPy callables, or PyTorch code whose backward runs.

An array case's `implementation` names a `function` (the forward pass), a `gradient` (a
scalar function's: variable -> array) and/or a `vjp` (a backward pass: it also gets the
cotangent). Each is called once per point with the variables as keyword arguments, NumPy
float64 arrays of the declared shapes (scalars as floats). A `function` that is PyTorch
code (a `torch.autograd.Function`, or a callable returning a tensor) is called on float64
tensors that require grad and diffcheck runs its backward pass: `.backward()` for a
scalar output, `.backward(cotangent)` otherwise; the leaves' `.grad` are what the code
claims. Main functions: `prepare_array_code`, `ArrayCode.call`.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..arrays.context import shape_text
from ..cases.array_model import ArrayCase
from ..errors import Location
from .implementation import ImplementationError, call_code, code_callable, gradient_items

__all__ = ["FUNCTION", "GRADIENT", "VJP", "ArrayCode", "prepare_array_code", "single_precision"]

FUNCTION, GRADIENT, VJP = "implementation function", "implementation gradient", "implementation vjp"
Key = tuple[str, str]  # (kind, variable); the function's key has the variable ""


def prepare_array_code(case: ArrayCase, allow_import: bool = True) -> ArrayCode | None:
    """The case's code, imported once for all its points; None without an implementation.

    Raises:
        CaseFileError: a reference cannot be imported, or importing is not allowed.
    """
    implementation = case.implementation
    if implementation is None:
        return None
    found = {
        key: code_callable(implementation, key, allow_import)
        for key in ("function", "gradient", "vjp")
    }
    return ArrayCode(
        found["function"], found["gradient"], found["vjp"], implementation.location, case
    )


def single_precision(values: np.ndarray) -> bool:
    """Whether the code computed `values` in float32: their dtype says so, or (torch casts
    a leaf's `.grad` to the leaf's float64) every entry is a float32 number, not all whole.

    >>> single_precision(np.float32([0.1])), single_precision(np.float32([0.1]) * 1.0)
    (True, True)
    >>> single_precision(np.array([0.1])), single_precision(np.array([1.0, 2.0]))
    (False, False)
    """
    if values.dtype == np.float32:
        return True
    return bool(
        values.size
        and np.array_equal(values.astype(np.float32).astype(values.dtype), values)
        and np.any(values != np.round(values))
    )


@dataclass
class ArrayCode:
    """The user's callables for one case, and how the forward pass is called."""

    function: Callable[..., Any] | None
    gradient: Callable[..., Any] | None
    vjp: Callable[..., Any] | None
    location: Location
    case: ArrayCase
    torch: bool | None = None  # whether `function` is PyTorch code; None until first called
    shapes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # at this point
    point: int = 0  # the index of the point being checked, for messages

    def call(
        self,
        values: Mapping[str, Any],
        shapes: Mapping[str, tuple[int, ...]],
        function_shape: tuple[int, ...],
        point: int,
    ) -> dict[Key, np.ndarray]:
        """What the code gives at one point, (kind, variable) -> array of the shape its
        reference has (float32 where the code computed in float32).

        Raises:
            ImplementationError: the code raised, or returned a wrong type, shape or a value
                that is not finite.
        """
        self.shapes = {**shapes, "": function_shape}
        self.point = point
        arguments = {name: _numpy(values[name]) for name in self.case.variables}
        found: dict[Key, np.ndarray] = {}
        if self.function is not None:
            found.update(self._forward(arguments, values.get(self.case.cotangent)))
        if self.gradient is not None:
            returned = call_code(self.gradient, "gradient", arguments, self.location)
            found.update(self._partials(GRADIENT, "gradient", returned))
        if self.vjp is not None:
            cotangent = {self.case.cotangent: _numpy(values[self.case.cotangent])}
            returned = call_code(self.vjp, "vjp", {**arguments, **cotangent}, self.location)
            found.update(self._partials(VJP, "vjp", returned))
        return found

    def _partials(self, kind: str, key: str, returned: Any) -> dict[Key, np.ndarray]:
        items = gradient_items(returned, self.case.wrt, self.location, key)
        return {
            (kind, name): self._array(value, f"implementation {key}['{name}']", name)
            for name, value in items
        }

    def _forward(self, arguments: dict[str, Any], cotangent: Any) -> dict[Key, np.ndarray]:
        if self.torch is None:
            return self._first_forward(arguments, cotangent)
        if not self.torch:
            returned = call_code(self.function, "function", arguments, self.location)
            if not _is_tensor(returned):
                return {(FUNCTION, ""): self._array(returned, "implementation function", "")}
            self.torch = True  # it made a tensor of NumPy arrays: call it on tensors
        return self._torch_forward(arguments, cotangent)

    def _first_forward(self, arguments: dict[str, Any], cotangent: Any) -> dict[Key, np.ndarray]:
        """The first call decides: code of a module using torch is tried on tensors; where
        that fails but NumPy arrays give an array, it is NumPy code beside torch code."""
        self.torch = _is_torch_code(self.function)
        if not self.torch or isinstance(self.function, type):
            return self._forward(arguments, cotangent)
        try:
            return self._torch_forward(arguments, cotangent)
        except ImplementationError as failure:
            try:
                returned = call_code(self.function, "function", arguments, self.location)
            except ImplementationError:
                raise failure from None
            if _is_tensor(returned):
                raise
            self.torch = False
            return {(FUNCTION, ""): self._array(returned, "implementation function", "")}

    def _torch_forward(self, arguments: dict[str, Any], cotangent: Any) -> dict[Key, np.ndarray]:
        import torch  # the user's code is PyTorch code: torch is installed

        target = self.function
        if isinstance(target, type) and issubclass(target, torch.autograd.Function):
            target = target.apply
        leaves = {
            name: torch.tensor(value, dtype=torch.float64, requires_grad=True)
            for name, value in arguments.items()
        }
        out = call_code(target, "function", leaves, self.location)
        if not isinstance(out, torch.Tensor):
            raise ImplementationError(
                f"implementation function returned "
                f"{type(out).__name__} when called on torch tensors; "
                "PyTorch code must return a tensor",
                self.location,
            )
        value = self._array(out.detach().cpu().numpy(), "implementation function", "")
        if not out.requires_grad:
            raise ImplementationError(
                "implementation function returned a tensor that does not "
                "require grad: it is not computed from the inputs by "
                "torch operations, so there is no backward pass to check",
                self.location,
            )
        gradient = (
            {}
            if out.ndim == 0
            else {"gradient": torch.as_tensor(np.asarray(cotangent), dtype=out.dtype)}
        )
        call_code(out.backward, "function's backward pass", gradient, self.location)
        kind = GRADIENT if out.ndim == 0 else VJP
        found = {(FUNCTION, ""): value}
        for name in self.case.wrt:
            grad = leaves[name].grad
            grad = np.zeros(self.shapes[name]) if grad is None else grad.detach().cpu().numpy()
            found[(kind, name)] = self._array(grad, f"the .grad of '{name}'", name)
        return found

    def _array(self, value: Any, what: str, name: str) -> np.ndarray:
        """`value` as an array of the shape of `name` (the function's for ""), float32
        kept; anything else is an `ImplementationError` naming both shapes."""
        shape = self.shapes[name]
        owner = f"{name}'s" if name else "the function's"
        wanted = shape_text(shape, self.case.declared.get(name) if name else None)
        array = _as_array(value)
        if array is None:
            raise ImplementationError(f"{what} must be an array of {owner} shape {wanted}, "
                                      f"got {type(value).__name__}", self.location)  # fmt: skip
        if array.dtype.kind == "c":
            if np.any(array.imag != 0):
                raise ImplementationError(f"{what} returned complex values", self.location)
            array = array.real
        if array.shape != shape:
            raise ImplementationError(f"{what} has shape {_shape(array.shape)}, but it must "
                                      f"have {owner} shape {wanted}; a result is never "
                                      "broadcast", self.location)  # fmt: skip
        array = array.astype(np.float32 if array.dtype == np.float32 else np.float64)
        finite = np.isfinite(array)
        if not finite.all():
            index = tuple(int(i) for i in np.argwhere(~finite)[0])
            entry = f"{name or 'f'}[{', '.join(map(str, index))}]" if index else (name or "f")
            raise ImplementationError(f"{what} is not finite at point {self.point + 1}: "
                                      f"{entry} is {array[index]}", self.location)  # fmt: skip
        return array


def _as_array(value: Any) -> np.ndarray | None:
    """A number, nested lists, a NumPy array or a tensor as an array of numbers; None for
    anything else (a string, None, ragged lists, booleans)."""
    if _is_tensor(value):
        value = value.detach().cpu().numpy()
    elif hasattr(value, "__array__") and not isinstance(value, (np.ndarray, np.generic)):
        value = np.asarray(value)  # a JAX or CuPy array, or anything NumPy reads as one
    if not isinstance(value, (np.ndarray, np.generic, float, int, list, tuple)):
        return None
    try:
        array = np.asarray(value)
    except ValueError:  # ragged nested lists
        return None
    return array if array.dtype.kind in "fiuc" and not isinstance(value, bool) else None


def _numpy(value: Any) -> Any:
    """A variable as the code receives it: a float64 array, or a float for a scalar."""
    array = np.asarray(value, dtype=np.float64)
    return float(array) if array.ndim == 0 else array


def _shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(n) for n in shape) + "]"


def _is_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")  # a tensor exists only once torch is imported
    return torch is not None and isinstance(value, torch.Tensor)


def _is_torch_code(target: Any) -> bool:
    """A `torch.autograd.Function` subclass, or a callable defined in a module that uses
    torch (it is called on tensors); code of a module without torch gets NumPy arrays."""
    if isinstance(target, type):
        return any(_from_torch(base) for base in target.__mro__[1:])
    module = sys.modules.get(getattr(target, "__module__", None) or "")
    return module is not None and any(_from_torch(value) for value in vars(module).values())


def _from_torch(value: Any) -> bool:
    if isinstance(value, types.ModuleType):
        name = value.__name__
    else:
        name = getattr(value, "__module__", None)
    return isinstance(name, str) and name.split(".")[0] == "torch"
