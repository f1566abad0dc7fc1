"""The data model of array cases (contract version 2), shared by the `cases` stage's modules.

An `ArrayCase` keeps what the file says (texts with their locations, declared shapes with
their dimension names) and one `ArrayInstance` per combination of the `dims` sizes: the
function, intermediates and claims built into the array IR at those sizes, shapes checked.
Nothing here reads files.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import Location
from ..symbolic.parse import parse_expression
from .model import Interval, Tolerance

if TYPE_CHECKING:  # annotations only: the array stage is imported when an array case is built
    from ..arrays.ir import Node

__all__ = [
    "ARRAY_IMPLEMENTATION_KEYS",
    "ARRAY_KEYS",
    "CLAIM_KINDS",
    "CODE_KINDS",
    "MAX_ARRAY_ENTRIES",
    "STRUCTURED",
    "ArrayCase",
    "ArrayImplementation",
    "ArrayInstance",
    "ArrayText",
    "Structure",
    "resolve_shape",
    "show_shape",
    "size_combinations",
]

ARRAY_KEYS = ("shapes", "dims", "jacobian", "vjp", "cotangent")
CLAIM_KINDS = ("gradient", "jacobian", "vjp")
ARRAY_IMPLEMENTATION_KEYS = ("function", "gradient", "vjp")
# what the user's code gives, compared like claims of these kinds: the function's value, a
# scalar function's gradient, a backward pass's vjp
CODE_KINDS = ("implementation function", "implementation gradient", "implementation vjp")
# entries of one array (a variable, a claim's value or a Jacobian): 2**24 float64 is
# 128 MiB, and a check holds several such arrays at once per point
MAX_ARRAY_ENTRIES = 1 << 24
STRUCTURED = "structured"


@dataclass(frozen=True)
class Structure:
    """A structured domain: every point's array is drawn with this structure."""

    kind: str  # spd, symmetric, orthogonal, simplex, onehot


@dataclass(frozen=True)
class ArrayImplementation:
    """The user's own code for an array case: `module:attribute` references (from a case
    file) or callables (from the Python API), called once per point with the variables as
    keyword arguments (NumPy float64 arrays; `vjp` also gets the cotangent). A `function`
    that is PyTorch code is called on tensors and its backward pass run by diffcheck."""

    function: str | Callable[..., Any] | None
    gradient: str | Callable[..., Any] | None
    vjp: str | Callable[..., Any] | None
    location: Location


@dataclass(frozen=True)
class ArrayText:
    """An array expression as written, and where it stands in the file."""

    text: str
    location: Location


@dataclass(frozen=True, eq=False)
class ArrayInstance:
    """A case at one combination of dimension sizes, every expression built."""

    dims: Mapping[str, int]
    shapes: Mapping[str, tuple[int, ...]]  # every array variable, the cotangent included
    function: Node
    intermediates: tuple[tuple[str, Node], ...]
    claims: Mapping[str, Mapping[str, Node]]  # kind -> variable -> the claim's IR
    points: tuple[int, ...]  # the explicit points (indices) whose arrays fit these sizes

    def label(self) -> str:
        """`m=4, n=3`, or '' for a case without dimension names."""
        return ", ".join(f"{name}={size}" for name, size in self.dims.items())

    def entries(self, name: str) -> int:
        return math.prod(self.shapes.get(name, ()))


@dataclass(frozen=True)
class ArrayCase:
    """One validated array case: what its file says, and its instances by size."""

    file: str
    name: str
    location: Location
    description: str
    function: ArrayText
    where: tuple[tuple[str, ArrayText], ...]
    wrt: tuple[str, ...]
    claims: Mapping[str, Mapping[str, ArrayText]]  # kind -> variable -> text
    declared: Mapping[str, tuple[int | str, ...]]  # shapes as written, with dim names
    dims: Mapping[str, tuple[int, ...]]
    variables: tuple[str, ...]  # array and scalar variables, sorted
    scalars: tuple[str, ...]
    cotangent: str
    domain: Mapping[str, Interval | float | Structure]
    points: tuple[Mapping[str, Any], ...]  # name -> float or ndarray
    samples: int
    seed: int
    tolerance: Tolerance
    expect: str
    instances: tuple[ArrayInstance, ...]
    implementation: ArrayImplementation | None = None
    gradient: Mapping[str, Any] = field(default_factory=dict)  # no scalar claims
    hessian: Mapping[str, Any] = field(default_factory=dict)

    @property
    def claimed(self) -> tuple[tuple[str, str], ...]:
        """(kind, variable) of every claim, in `wrt` order."""
        return tuple(
            (kind, name) for name in self.wrt for kind in CLAIM_KINDS if name in self.claims[kind]
        )

    def dim_names(self) -> dict[str, tuple[int | str, ...]]:
        return {name: tuple(shape) for name, shape in self.declared.items()}


def size_combinations(dims: Mapping[str, tuple[int, ...]]) -> Iterator[dict[str, int]]:
    """Every combination of the sizes that `dims` lists, in the order written."""
    names = list(dims)
    for sizes in itertools.product(*(dims[name] for name in names)):
        yield dict(zip(names, sizes, strict=True))


def resolve_shape(shape: tuple[int | str, ...], sizes: Mapping[str, int]) -> tuple[int, ...]:
    """A declared shape at one combination of sizes; 0 for arithmetic that is not a size."""
    return tuple(d if isinstance(d, int) else _dimension(d, sizes) for d in shape)


def _dimension(text: str, sizes: Mapping[str, int]) -> int:
    # `d + n`, `2*n`, `n - 1`: parsed by the grammar, never evaluated as Python
    value = parse_expression(text).subs({name: size for name, size in sizes.items()})
    return int(value) if value.is_Integer and value >= 1 else 0


def show_shape(shape: tuple[int | str, ...]) -> str:
    """`[4, 3]`, or `[m, n]` for a declared shape."""
    return "[" + ", ".join(str(n) for n in shape) + "]"
