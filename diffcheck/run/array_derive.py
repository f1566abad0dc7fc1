"""Run stage, for `derive` on an array case: each derivative in matrix notation, verified
as a claim by the machinery of `check`, and the δ recursion with its norms at a point.

`derive_array_case(case, wrt, steps, at)` gives an `ArrayDerivation`. Verifying puts the
printed texts back into the case file's own entry (as claims, read by the loader like
any case) and runs `check_case` on it: "verified" means `check` finds the text correct.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..arrays.domains import draw_interval, draw_structured
from ..arrays.points import check_point
from ..cases.array_model import ArrayCase, Structure
from ..cases.loader import Interval, read_case_text
from ..compare.array_verdict import describe_wrong
from ..errors import DiffcheckError
from ..explain.backprop import DeltaChain, delta_chain
from ..explain.matrix import MatrixDerivative, matrix_derivatives, output_name
from ..explain.relay import parse_point
from .check import Settings, check_case
from .targets import OptionError

__all__ = [
    "DEFAULT_SETTINGS",
    "ArrayDerivation",
    "Verification",
    "case_with_claims",
    "derivation_point",
    "derive_array_case",
    "verify_claims",
]

_CLAIM_KEYS = ("gradient", "jacobian", "vjp")
DEFAULT_SETTINGS = Settings()  # as `check` runs: the same points, oracles and proofs


@dataclass(frozen=True)
class Verification:
    verified: bool
    message: str | None = None  # why not


@dataclass(frozen=True, eq=False)
class ArrayDerivation:
    """What `derive` prints for an array case."""

    case: ArrayCase
    output: str  # L (a scalar function) or f
    derivatives: Mapping[str, MatrixDerivative]
    verifications: Mapping[str, Verification]
    chain: DeltaChain | None = None  # with --steps or --at
    point: Mapping[str, Any] | None = None
    point_source: str | None = None
    norms: Mapping[str, float] | None = None
    warnings: tuple[str, ...] = ()  # why the numbers at the point may mislead


def point_warnings(case: ArrayCase, point: Mapping[str, Any], wrt: Sequence[str]
                   ) -> tuple[str, ...]:  # fmt: skip
    """Why the numbers at `point` may mislead: an operation at a kink there (relu at 0, a
    tie of max), where the formulas' values need not be either side's, or a value that is
    not finite."""
    found = check_point(case.instances[0].function, point, wrt)
    warnings = [f"{flag.expression} at this point, entries {_entries(flag.entries)}: "
                f"{flag.reason}; the function may not be differentiable here (the norms shown "
                "are the formulas' values at the point, which need not be either side's)"
                for flag in found.kinks]  # fmt: skip
    warnings += [f"{flag.expression} at this point, entries {_entries(flag.entries)}: "
                 f"{flag.reason}" for flag in found.undefined]  # fmt: skip
    return tuple(warnings)


def _entries(entries: Sequence[tuple[int, ...]]) -> str:
    shown = ", ".join(str(list(entry)) for entry in entries[:3])
    return shown + (", ..." if len(entries) > 3 else "")


def derive_array_case(
    case: ArrayCase,
    wrt: Sequence[str],
    steps: bool = False,
    at: str | None = None,
    settings: Settings = DEFAULT_SETTINGS,
) -> ArrayDerivation:
    """Each variable's derivative in matrix notation, verified; with `steps` or `at`, the
    δ recursion and the norm of each step at the point (`at`, else the default point).

    Raises:
        OptionError: `at` names something that is not a variable of the case.
        DiffcheckError: the case has no point to evaluate at.
    """
    derivatives = matrix_derivatives(case, wrt)
    kind = next(iter(derivatives.values())).kind if derivatives else "gradient"
    texts = {name: d.text for name, d in derivatives.items() if d.text is not None}
    verifications = verify_claims(case, kind, texts, settings)
    for name, derivative in derivatives.items():
        if derivative.text is None:
            verifications[name] = Verification(False, derivative.problem)
    found = ArrayDerivation(case, output_name(case), derivatives, verifications)
    if not steps and at is None:
        return found
    chain = delta_chain(case, wrt)
    point, source = derivation_point(case, at)
    warnings = point_warnings(case, point, wrt)
    return ArrayDerivation(case, found.output, derivatives, verifications, chain, point,
                           source, chain.norms(point), warnings)  # fmt: skip


def case_with_claims(case: ArrayCase, kind: str, texts: Mapping[str, str]) -> ArrayCase:
    """The case as its file states it, with `texts` as its only claims (of `kind`), no
    implementation, and expecting `correct`.

    Raises:
        DiffcheckError: the file cannot be read again, or the claims do not load (every
            message, one a line).
    """
    try:
        document = yaml.safe_load(Path(case.file).read_text(encoding="utf-8"))
        entry = next(item for item in document["cases"] if item.get("name") == case.name)
    except (OSError, yaml.YAMLError, KeyError, TypeError, StopIteration) as error:
        raise DiffcheckError(f"{case.file}: cannot read case {case.name} again") from error
    entry = {key: value for key, value in entry.items()
             if key not in (*_CLAIM_KEYS, "implementation", "expect")}  # fmt: skip
    entry.update({kind: dict(texts), "expect": "correct"})
    rest = {key: value for key, value in document.items() if key != "cases"}
    text = yaml.safe_dump({**rest, "cases": [entry]}, allow_unicode=True, sort_keys=False)
    loaded = read_case_text(text, case.file)
    if loaded.errors or len(loaded.cases) != 1:  # lines of the rewritten text: not shown
        raise DiffcheckError("; ".join(error.message for error in loaded.errors))
    return loaded.cases[0]


def verify_claims(case: ArrayCase, kind: str, texts: Mapping[str, str],
                  settings: Settings = DEFAULT_SETTINGS) -> dict[str, Verification]:  # fmt: skip
    """Whether `check` finds each text correct as the claim of its variable."""
    if not texts:
        return {}
    try:
        claimed = case_with_claims(case, kind, texts)
    except DiffcheckError as error:
        return dict.fromkeys(texts, Verification(False, f"the claim does not load: {error}"))
    result = check_case(claimed, settings)
    if result.status == "error" or result.verdict is None:
        return dict.fromkeys(texts, Verification(False, result.message))
    if result.verdict.verdict == "inconclusive":
        reason = "; ".join(result.verdict.reasons) or "inconclusive"
        return dict.fromkeys(texts, Verification(False, f"inconclusive: {reason}"))
    found = dict.fromkeys(texts, Verification(True))
    for instance, claim in result.arrays.claims if result.arrays else ():
        if claim.wrong and claim.name in texts and found[claim.name].verified:
            found[claim.name] = Verification(False, describe_wrong(instance, claim))
    return found


def derivation_point(case: ArrayCase, at: str | None) -> tuple[dict[str, Any], str]:
    """The point for the numbers of `--steps`: the case's first explicit point at its
    first sizes, else one drawn from the domain with the case's seed; `at`
    (NAME=VALUE,...) sets variables to a number in every entry. Also says which point.

    Raises:
        OptionError: `at` is not NAME=VALUE,... of the case's variables.
        DiffcheckError: a variable has neither a domain nor a value.
    """
    instance = case.instances[0]
    rng = np.random.default_rng(case.seed)
    if instance.points:
        values = dict(case.points[instance.points[0]])
        source = f"the case's explicit point {instance.points[0] + 1}"
    else:
        values = {name: _draw(case.domain.get(name), instance.shapes.get(name, ()), rng, name)
                  for name in case.variables}  # fmt: skip
        source = f"a point drawn from the domain with seed {case.seed}"
    for name, value in list(values.items()):
        shape = instance.shapes.get(name, ())
        if shape and np.ndim(value) == 0:
            values[name] = np.full(shape, float(value))
    if instance.function.shape != () and case.cotangent not in values:
        domain = case.domain.get(case.cotangent, Interval(-1.0, 1.0))
        values[case.cotangent] = _draw(domain, instance.function.shape, rng, case.cotangent)
    if at:
        values.update(_given(case, instance.shapes, at))
        source += f", with {at}"
    return values, source


def _draw(domain: Any, shape: tuple[int, ...], rng: np.random.Generator, name: str) -> Any:
    if isinstance(domain, Structure):
        return draw_structured(domain.kind, shape, rng)
    if isinstance(domain, Interval):
        value = draw_interval(domain.low, domain.high, shape, rng)
        return value if shape else float(value)
    if domain is None:
        raise DiffcheckError(f"no value for {name}: give it a domain, or --at {name}=VALUE")
    return np.full(shape, float(domain)) if shape else float(domain)


def _given(case: ArrayCase, shapes: Mapping[str, tuple[int, ...]], at: str) -> dict[str, Any]:
    try:
        given = parse_point(at)
    except ValueError as error:
        raise OptionError(str(error), "--at") from None
    names = [*case.variables, case.cotangent]
    for name in given:
        if name not in names:
            raise OptionError(f"'{name}' is not a variable of case {case.name} "
                              f"(its variables: {', '.join(case.variables)})", "--at")  # fmt: skip
    return {name: np.full(shapes[name], value) if shapes.get(name) else value
            for name, value in given.items()}  # fmt: skip
