"""The case-file data model and format tables, shared by the `cases` stage's modules.

`Case` and its parts are frozen dataclasses; the key tables say which keys a file, a case,
`defaults` and `tolerance` may have. Nothing here reads files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import sympy as sp
import yaml

from ..errors import DiffcheckError, Location
from ..symbolic.resolution import Resolution
from .nodes import Expression

__all__ = [
    "ARRAY_ONLY_KEYS",
    "CASE_KEYS",
    "DEFAULTS",
    "DEFAULT_KEYS",
    "EXPECTATIONS",
    "IMPLEMENTATION_KEYS",
    "TOLERANCE_KEYS",
    "TOLERANCE_PRESETS",
    "TOP_KEYS",
    "Case",
    "CaseFile",
    "Defaults",
    "Expression",
    "Implementation",
    "Interval",
    "InvalidCase",
    "Tolerance",
]

# The one table of defaults: what a case gets when neither it nor `defaults:` says.
DEFAULTS = MappingProxyType({"samples": 64, "seed": 0, "rtol": 1e-7, "atol": 1e-12})

CASE_KEYS = ("name", "description", "shapes", "dims", "function", "where", "wrt",
             "gradient", "jacobian", "vjp", "cotangent", "hessian", "implementation", "domain",
             "points", "samples", "seed", "tolerance", "expect")  # fmt: skip
ARRAY_ONLY_KEYS = ("dims", "jacobian", "vjp", "cotangent")  # meaningful with `shapes` only
IMPLEMENTATION_KEYS = ("function", "gradient")
DEFAULT_KEYS = ("samples", "seed", "tolerance", "domain", "expect")
TOP_KEYS = ("defaults", "cases")
TOLERANCE_KEYS = ("rtol", "atol")
# `tolerance: NAME` instead of {rtol, atol}: the tolerance suited to code computing in that
# precision. float64 is the default above. float32 is torch.testing.assert_close's default
# for float32 tensors: rtol 1.3e-6 is about 11 float32 epsilons (2**-23 = 1.19e-7), room for
# the rounding of a few operations; atol 1e-5 covers values that cancel to near 0.
TOLERANCE_PRESETS = MappingProxyType({
    "float64": MappingProxyType({"rtol": DEFAULTS["rtol"], "atol": DEFAULTS["atol"]}),
    "float32": MappingProxyType({"rtol": 1.3e-6, "atol": 1e-5}),
})  # fmt: skip
EXPECTATIONS = ("correct", "incorrect")


@dataclass(frozen=True)
class Tolerance:
    """Closeness means |claimed - reference| <= atol + rtol * |reference|."""

    rtol: float
    atol: float


@dataclass(frozen=True)
class Interval:
    """Random points are drawn uniformly from [low, high]."""

    low: float
    high: float


@dataclass(frozen=True)
class Implementation:
    """The user's own code for a case: `module:attribute` references (from a case file)
    or callables (from the Python API). Both take the variables as keyword arguments,
    NumPy arrays over all points; `gradient` returns variable -> array, or a tuple in
    `wrt` order."""

    function: str | Callable[..., Any] | None
    gradient: str | Callable[..., Any] | None
    location: Location


@dataclass(frozen=True)
class Case:
    """One validated case. `substitutions` maps each `where` intermediate to what it
    stands for written out, built on first use; `resolve` writes them out in an
    expression."""

    file: str
    name: str
    location: Location
    description: str
    function: Expression
    where: tuple[tuple[str, Expression], ...]
    wrt: tuple[str, ...]
    gradient: Mapping[str, Expression]
    variables: tuple[str, ...]
    domain: Mapping[str, Interval | float]
    points: tuple[Mapping[str, float], ...]
    samples: int
    seed: int
    tolerance: Tolerance
    expect: str
    substitutions: Mapping[sp.Symbol, sp.Expr] = field(default_factory=dict)
    hessian: Mapping[tuple[str, str], Expression] = field(default_factory=dict)
    implementation: Implementation | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.substitutions, Resolution):  # given written out already
            definitions = [(sp.Symbol(name), expression.expr) for name, expression in self.where]
            resolution = Resolution(definitions, self.substitutions)
            object.__setattr__(self, "substitutions", resolution)

    def resolve(self, expr: sp.Expr) -> sp.Expr:
        """`expr` with every intermediate name replaced by what it stands for."""
        return self.substitutions.resolve(expr)

    def larger_than(self, expr: sp.Expr, limit: int) -> bool:
        """Whether `expr` with the intermediates written out, or an intermediate it uses
        written out, has more than `limit` distinct nodes: for a long chain, without
        writing out more than its first `limit` nodes or so."""
        return self.substitutions.larger_than(expr, limit)


@dataclass(frozen=True)
class InvalidCase:
    """A case that could not be read or, with `name` None, a problem of the whole file."""

    file: str
    name: str | None
    location: Location
    errors: tuple[DiffcheckError, ...]


@dataclass(frozen=True)
class CaseFile:
    path: str
    entries: tuple[Case | InvalidCase, ...]

    @property
    def cases(self) -> tuple[Case, ...]:
        return tuple(entry for entry in self.entries if not isinstance(entry, InvalidCase))

    @property
    def errors(self) -> tuple[DiffcheckError, ...]:
        invalid = (entry for entry in self.entries if isinstance(entry, InvalidCase))
        return tuple(error for entry in invalid for error in entry.errors)


@dataclass
class Defaults:
    """What `defaults:` says: (value, node) pairs, so cases can point back at it."""

    settings: dict[str, tuple[object, yaml.Node]] = field(default_factory=dict)
    tolerance: dict[str, float] = field(default_factory=dict)
    domain: dict[str, tuple[Interval | float | None, yaml.Node]] = field(default_factory=dict)
