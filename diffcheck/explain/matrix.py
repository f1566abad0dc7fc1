"""Explain stage, matrix notation: an array case's derivatives as its case file would write them.

`matrix_derivatives(case, wrt)` takes each variable's reference derivative (the array
reverse mode's adjoint, as IR), reads it into terms that simplify as they are built
(`matrix_convert`, `matrix_terms`, `matrix_contract`) and prints them in the case
language (`matrix_print`): `2 * outer(r, x) / m`. The case's intermediates keep their
names. Dimension names come back from a second build of the case at sizes that are
distinct primes: a number that is 2/4 at m = 4 and 2/10007 at m = 10007 is 2/m.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import sympy as sp

from ..arrays.build import build_array_expression
from ..arrays.grammar import parse_array_syntax
from ..arrays.ir import Constant, Node, Variable
from ..arrays.ops import ShapeError, constant
from ..arrays.reverse import vjp_expressions
from ..cases.array_cotangent import backward_names
from ..cases.array_model import ArrayCase, Structure, resolve_shape, size_combinations
from ..errors import DiffcheckError
from .matrix_convert import TermBuilder
from .matrix_fold import Folding
from .matrix_print import print_shape, print_term
from .matrix_terms import MatrixFormError, Term

__all__ = [
    "FIRST_PROBE_SIZE",
    "CaseBuild",
    "DimensionNames",
    "MatrixDerivative",
    "UnitSums",
    "build_case",
    "case_builds",
    "case_folding",
    "matrix_derivatives",
    "output_name",
]

FIRST_PROBE_SIZE = 10007  # a prime: probe sizes are primes from here, far from literals
UNIT_STRUCTURES = ("onehot", "simplex")  # each slice along the last axis sums to 1


@dataclass(frozen=True, eq=False)
class CaseBuild:
    """The case's function and intermediates built at one combination of sizes."""

    sizes: Mapping[str, int]
    shapes: Mapping[str, tuple[int, ...]]
    function: Node
    intermediates: tuple[tuple[str, Node], ...]

    def names(self) -> dict[int, str]:
        """Node id -> the intermediate's name (the first, for a node named twice); a
        name that is only another variable or a number is not kept."""
        found: dict[int, str] = {}
        for name, node in self.intermediates:
            if not isinstance(node, (Variable, Constant)):
                found.setdefault(id(node), name)
        return found

    def cotangent(self, case: ArrayCase) -> Node:
        """1 for a scalar function (its gradient), else the case's cotangent."""
        if self.function.shape == ():
            return constant(1)
        return Variable(shape=self.function.shape, name=case.cotangent)


def build_case(case: ArrayCase, sizes: Mapping[str, int]) -> CaseBuild:
    """The case's expressions built at `sizes`, intermediates shared as the loader does.

    Raises:
        DiffcheckError: an expression does not build at these sizes.
    """
    shapes = {name: resolve_shape(shape, sizes) for name, shape in case.declared.items()}
    dim_names = {name: tuple(shape) for name, shape in case.declared.items()}
    context = dict(shapes=shapes, scalars=set(case.scalars), dims=dict(sizes), dim_names=dim_names)
    built: dict[str, Node] = {}
    where = {name: parse_array_syntax(text.text) for name, text in case.where}
    backward = backward_names(where, case.cotangent)  # built once the cotangent's shape is
    for name in (name for name in where if name not in backward):
        built[name] = build_array_expression(where[name], intermediates=built, **context)
    syntax = parse_array_syntax(case.function.text)
    function = build_array_expression(syntax, intermediates=built, **context)
    shapes[case.cotangent] = function.shape
    forward = tuple(built.items())
    for name in (name for name in where if name in backward):  # for the claims' sake
        built[name] = build_array_expression(where[name], intermediates=built, **context)
    return CaseBuild(dict(sizes), shapes, function, forward)


def case_builds(case: ArrayCase) -> tuple[CaseBuild, CaseBuild | None]:
    """The case at its first combination of sizes, and at the probe sizes (None for a
    case without dimension names, or one that does not build there)."""
    sizes = next(size_combinations(case.dims), {})
    real = build_case(case, sizes)
    if not case.dims:
        return real, None
    probe_sizes, prime = {}, FIRST_PROBE_SIZE - 1
    for name in case.dims:
        prime = int(sp.nextprime(prime))
        probe_sizes[name] = prime
    try:
        return real, build_case(case, probe_sizes)
    except (DiffcheckError, ShapeError, ValueError):
        return real, None


def output_name(case: ArrayCase) -> str:
    """L for a scalar function (a loss), f otherwise."""
    return "L" if case.instances and case.instances[0].function.shape == () else "f"


class UnitSums(Collection[str]):
    """The names whose slices along the last axis sum to 1; records which were used."""

    def __init__(self, case: ArrayCase):
        self.kinds = {
            name: domain.kind
            for name, domain in case.domain.items()
            if isinstance(domain, Structure) and domain.kind in UNIT_STRUCTURES
        }
        self.used: dict[str, str] = {}

    def __contains__(self, name: object) -> bool:
        if name in self.kinds:
            self.used[str(name)] = self.kinds[str(name)]
            return True
        return False

    def __iter__(self):  # noqa: ANN204
        return iter(self.kinds)

    def __len__(self) -> int:
        return len(self.kinds)

    def notes(self) -> tuple[str, ...]:
        return tuple(f"sum({name}, axis=-1) = 1: {name} is {kind} along its last axis"
                     for name, kind in sorted(self.used.items()))  # fmt: skip


class _Mismatch(Exception):
    """The two builds differ in more than their numbers: names cannot come back."""


class DimensionNames:
    """Numbers and sizes with the dimension names back, from the build at the case's
    sizes and the build at the probe sizes."""

    def __init__(self, real: Mapping[str, int], probe: Mapping[str, int] | None):
        self.real = {sp.Symbol(name): size for name, size in real.items()}
        self.by_prime = {size: sp.Symbol(name) for name, size in (probe or {}).items()}

    def number(self, real: Any, probe: Any) -> Any:
        """`real` written with the dimension names, or `real` itself when no monomial in
        them gives both values."""
        if real == probe or not self.by_prime:
            return real
        real, probe = sp.sympify(real), sp.sympify(probe)
        for found in (self._fit(probe), *self._affine(real, probe)):
            if found is not None and sp.simplify(found.subs(self.real) - real) == 0:
                return found
        return real

    def _affine(self, real: sp.Expr, probe: sp.Expr) -> list[sp.Expr]:
        """a*n + b, or 1/(a*n + b), with small whole a and b (n + 1, 1/(N - 1)): two
        values fit any line, but whole numbers from a prime far off fit by chance hardly."""
        found = []
        if not (real.is_Rational and probe.is_Rational) or real == 0 or probe == 0:
            return found
        for symbol, size in self.real.items():
            prime = next(p for p, s in self.by_prime.items() if s == symbol)
            for inverse in (False, True):
                low, high = (1 / real, 1 / probe) if inverse else (real, probe)
                a = (high - low) / (prime - size)
                b = low - a * size
                if a != 0 and a.is_Integer and b.is_Integer and abs(a) <= 16 and abs(b) <= 16:
                    line = a * symbol + b
                    found.append(1 / line if inverse else line)
        return found

    def _fit(self, probe: sp.Expr) -> sp.Expr | None:
        if not probe.is_number:
            return None
        candidate = sp.Integer(1)
        for factor in sp.Mul.make_args(probe):
            if factor.is_Rational and factor < 0:
                candidate, factor = -candidate, -factor
            base, exponent = factor.as_base_exp()
            if not (base.is_Rational and exponent.is_Rational):
                candidate *= factor
                continue
            for whole, sign in ((base.p, 1), (base.q, -1)):
                for prime, count in sp.factorint(whole).items():
                    named = self.by_prime.get(prime, sp.Integer(prime))
                    candidate *= named ** (sign * count * exponent)
        return candidate if candidate.free_symbols else None

    def shape(self, real: tuple[int, ...], probe: tuple[int, ...] | None) -> str:
        """`[m, k]`: a shape with its dimension names where they are known."""
        if probe is None or len(probe) != len(real):
            return print_shape(real)
        return print_shape(tuple(self.number(a, b) for a, b in zip(real, probe, strict=True)))

    def merge(self, real: Term, probe: Term | None) -> Term:
        """The term built at the case's sizes with every number and size named, or as it
        is when the probe's term differs in structure."""
        if probe is None or not self.by_prime:
            return real
        try:
            return self._merge(real, probe)
        except _Mismatch:
            return real

    def merge_exactly(self, real: Term, probe: Term | None) -> Term | None:
        """`merge`, or None when the probe's term differs in structure."""
        if probe is None or not self.by_prime:
            return real
        try:
            return self._merge(real, probe)
        except _Mismatch:
            return None

    def _merge(self, real: Any, probe: Any) -> Any:
        if isinstance(real, Term):
            if type(real) is not type(probe):
                raise _Mismatch
            merged = {f.name: self._merge(getattr(real, f.name), getattr(probe, f.name))
                      for f in fields(real)}  # fmt: skip
            return replace(real, **merged)
        if isinstance(real, tuple):
            if not isinstance(probe, tuple) or len(real) != len(probe):
                raise _Mismatch
            return tuple(self._merge(a, b) for a, b in zip(real, probe, strict=True))
        if real is None or isinstance(real, (bool, str)) or probe is None:
            if real != probe:
                raise _Mismatch
            return real
        return self.number(real, probe)


@dataclass(frozen=True)
class MatrixDerivative:
    """One variable's derivative in matrix notation, or why there is none."""

    variable: str
    kind: str  # gradient (a scalar function) or vjp
    text: str | None
    problem: str | None = None
    notes: tuple[str, ...] = ()


def _definitions(case: ArrayCase, build: CaseBuild) -> dict[str, Term]:
    """Each `where` name's term, the other names kept (a name without one is left out)."""
    named = build.names()
    found = {}
    for name, node in build.intermediates:
        if named.get(id(node)) != name:
            continue
        others = {key: value for key, value in named.items() if key != id(node)}
        try:
            found[name] = TermBuilder(others, UnitSums(case)).term(node)
        except MatrixFormError:
            continue
    return found


def case_folding(case: ArrayCase, real: CaseBuild, probe: CaseBuild | None,
                 names: DimensionNames) -> Folding:  # fmt: skip
    """The rewrites that write the case's derivatives with its `where` names, its
    definitions named as the derivatives are (a definition the probe does not confirm
    is left out)."""
    probe_terms = _definitions(case, probe) if probe is not None else {}
    found = {}
    for name, term in _definitions(case, real).items():
        merged = names.merge_exactly(term, probe_terms.get(name))
        if merged is not None and (probe is None or name in probe_terms):
            found[name] = merged
    return Folding(found)


def reference_adjoints(case: ArrayCase, build: CaseBuild, wrt: Sequence[str]) -> dict[str, Node]:
    """The reverse mode's derivative of the function for each variable, as IR."""
    shapes = {name: build.shapes.get(name, ()) for name in wrt}
    return vjp_expressions(build.function, list(wrt), build.cotangent(case), shapes=shapes)


def matrix_derivatives(case: ArrayCase, wrt: Sequence[str]) -> dict[str, MatrixDerivative]:
    """Each variable's derivative in the case language, intermediates by their names.

    Args:
        case: an array case (its first combination of sizes is derived).
        wrt: the variables, a part of the case's `wrt`.

    Returns:
        variable -> its `MatrixDerivative`; `text` is None (and `problem` says why) when
        the derivative has no form in the case language.
    """
    real, probe = case_builds(case)
    kind = "gradient" if real.function.shape == () else "vjp"
    names = DimensionNames(real.sizes, probe.sizes if probe else None)
    real_adjoints = reference_adjoints(case, real, wrt)
    probe_adjoints = reference_adjoints(case, probe, wrt) if probe else {}
    folding = case_folding(case, real, probe, names)
    found = {}
    for name in wrt:
        units = UnitSums(case)
        try:
            term = TermBuilder(real.names(), units).term(real_adjoints[name])
            other = None
            if probe is not None:
                other = TermBuilder(probe.names(), UnitSums(case)).term(probe_adjoints[name])
            text = print_term(folding.simplify(names.merge(term, other)))
        except MatrixFormError as error:
            found[name] = MatrixDerivative(name, kind, None, f"no matrix form: {error}")
            continue
        found[name] = MatrixDerivative(name, kind, text, notes=units.notes())
    return found
