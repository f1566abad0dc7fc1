"""Run stage for array cases: an `ArrayCase` -> its `ArrayComparison`, point by point.

For every combination of sizes: the explicit points that fit, then `samples` random ones
drawn from the domains (intervals, fixed values, structures) with one generator seeded by
the case; at each point the reference (the IR's reverse mode, or its Jacobian) and each
claim are evaluated and compared entry by entry, doubtful entries settled in mpmath, and
the reference itself checked against the complex step (or central differences) along
random directions and at the worst entries. Main function: `compare_array_case`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np

from ..arrays.domains import draw_interval, draw_structured
from ..arrays.evaluate import evaluate_mp, evaluate_nodes
from ..arrays.ir import Node, Variable, nodes_in_order
from ..arrays.kernels import FloatKernels
from ..arrays.ops import constant
from ..arrays.oracles import (
    central_difference_entries,
    check_direction_mp,
    check_directions,
)
from ..arrays.points import check_point
from ..arrays.reverse import jacobian_values, vjp_expressions
from ..cases.array_model import ArrayCase, ArrayInstance, Structure
from ..cases.model import Interval, Tolerance
from ..compare.array_compare import (
    ClaimResult,
    OracleCheck,
    compare_entries,
    format_index,
)
from ..compare.array_patterns import diagnose_pattern
from ..compare.closeness import FD_RTOL, FD_SAFETY, excess
from .array_proof import prove_array_claims

__all__ = ["ArrayComparison", "InstanceResult", "compare_array_case"]

MAX_SETTLED_ENTRIES = 4096  # beyond: mpmath on whole arrays costs more than a case may
DIRECTIONS = 3  # random (u, v) pairs per checked point
ORACLE_POINTS = 2  # points per size at which the reference meets the oracles


@dataclass
class InstanceResult:
    """One combination of sizes: its claims, its oracle checks and its set-aside points."""

    label: str
    dims: dict[str, int] = field(default_factory=dict)
    claims: list[ClaimResult] = field(default_factory=list)
    oracles: list[OracleCheck] = field(default_factory=list)
    undefined: list[str] = field(default_factory=list)  # why points were left out
    kinks: list[str] = field(default_factory=list)
    proved: list[str] = field(default_factory=list)  # claims proved entry by entry
    overflowed: int = 0  # points where float64 overflows but mpmath finds the function
    checked: int = 0
    points: list[dict[str, Any]] = field(default_factory=list)  # the values, by index


@dataclass
class ArrayComparison:
    instances: list[InstanceResult]

    @property
    def claims(self) -> list[tuple[InstanceResult, ClaimResult]]:
        return [(instance, claim) for instance in self.instances for claim in instance.claims]


def compare_array_case(
    case: ArrayCase, samples: int, seed: int, proof_budget: float = 0.0
) -> ArrayComparison:
    """Every size of the case compared at its points; where every claim agrees and the
    sizes are small, the claims are also proved entry by entry within `proof_budget`."""
    rng = np.random.default_rng(seed)
    instances = []
    for instance in case.instances:
        result = _instance(case, instance, samples, rng)
        if proof_budget > 0 and result.checked and not any(c.wrong for c in result.claims):
            result.proved = sorted(prove_array_claims(case, instance, proof_budget))
        instances.append(result)
    return ArrayComparison(instances)


def _instance(case: ArrayCase, instance: ArrayInstance, samples: int, rng) -> InstanceResult:  # noqa: ANN001
    result = InstanceResult(instance.label(), dict(instance.dims))
    references = _references(case, instance)
    leading = instance.function.ndim
    result.claims = [ClaimResult(kind, name, _claim_shape(kind, name, instance),
                                 leading if kind == "jacobian" else 0)
                     for kind, name in _compared(case)]  # fmt: skip
    explicit = [dict(case.points[i]) for i in instance.points]
    drawn = (_draw(case, instance, rng) for _ in range(samples))
    for values in [*explicit, *drawn]:
        values = _complete(case, instance, values, rng)
        index = len(result.points)
        result.points.append(values)
        memo: dict = {}  # this point's float64 values, shared by every evaluation below
        if not _usable(case, instance, values, result, memo):
            continue
        result.checked += 1
        outcomes = _evaluate(case, instance, references, values, memo)
        for claim in result.claims:
            expected, claimed = outcomes[(claim.kind, claim.name)]
            settle, suspect = _settler(case, instance, references, values, claim, memo)
            compare_entries(claim, index, expected, claimed, case.tolerance, settle, suspect)
        if result.checked <= ORACLE_POINTS:
            gradients = {name: expected for (kind, name), (expected, _) in outcomes.items()
                         if kind in ("gradient", "unclaimed")}  # fmt: skip
            result.oracles.extend(_directional(case, instance, values, index, rng, memo,
                                               gradients))  # fmt: skip
    for claim in result.claims:
        _confirm(case, instance, claim, result, rng)
        if claim.wrong and claim.expected is not None:
            sizes = [*instance.dims.values(), *instance.function.shape, *claim.shape]
            claim.pattern = diagnose_pattern(claim.expected, claim.claimed, claim.wrong_map,
                                             sizes)  # fmt: skip
    return result


def _compared(case: ArrayCase) -> list[tuple[str, str]]:
    """(kind, variable) of every claim, then the unclaimed `wrt` variables (checked by
    the oracles alone, as scalar cases are)."""
    claimed = list(case.claimed)
    names = {name for _, name in claimed}
    return claimed + [("unclaimed", name) for name in case.wrt if name not in names]


def _claim_shape(kind: str, name: str, instance: ArrayInstance) -> tuple[int, ...]:
    shape = instance.shapes.get(name, ())
    return instance.function.shape + shape if kind == "jacobian" else shape


def _references(case: ArrayCase, instance: ArrayInstance) -> dict[str, dict[str, Node]]:
    """The reference as IR: per claim kind, variable -> its VJP expression."""
    function, names = instance.function, list(case.wrt)
    shapes = {name: instance.shapes.get(name, ()) for name in names}
    found: dict[str, dict[str, Node]] = {}
    if function.shape == ():
        found["gradient"] = vjp_expressions(function, names, _one(), shapes=shapes)
    cotangent = Variable(shape=function.shape, name=case.cotangent)
    found["vjp"] = vjp_expressions(function, names, cotangent, shapes=shapes)
    return found


def _one() -> Node:
    return constant(1)


def _evaluate(case, instance, references, values, memo) -> dict:  # noqa: ANN001
    """(kind, name) -> (reference value, claimed value) at one point, shared work once:
    `memo` already holds the function's values (`evaluate_nodes` shares nodes of equal
    structure, so a claim's `X @ W` is the function's)."""
    kernels = FloatKernels(np.float64)
    wanted: list[Node] = []
    slots: dict[tuple[str, str], tuple[int | None, int | None]] = {}
    scalar = instance.function.shape == ()
    for kind, name in _compared(case):
        base = "gradient" if kind in ("gradient", "unclaimed") and scalar else "vjp"
        reference_slot = None
        if kind != "jacobian":
            reference_slot = len(wanted)
            wanted.append(references[base][name])
        claim = instance.claims.get(kind, {}).get(name)
        claim_slot = None
        if claim is not None:
            claim_slot = len(wanted)
            wanted.append(claim)
        slots[(kind, name)] = (reference_slot, claim_slot)
    computed = evaluate_nodes(wanted, values, kernels, memo)
    outcomes = {}
    for (kind, name), (ref, got) in slots.items():
        if kind == "jacobian":
            expected = jacobian_values(instance.function, [name], values, memo=memo)[name]
        else:
            expected = computed[ref]
        claimed = computed[got] if got is not None else expected
        outcomes[(kind, name)] = (np.asarray(expected, float), np.asarray(claimed, float))
    return outcomes


def _settler(case, instance, references, values, claim, memo):  # noqa: ANN001, ANN202
    """mpmath's (reference, claim) for `claim` at this point, when the arrays are small,
    and whether float64 overflowed on the way to either (a value of theirs not finite at
    this point): then even a finite wrong entry may be float64's doing."""
    if claim.kind in ("jacobian", "unclaimed"):
        return None, False
    total = sum(int(np.size(v)) for v in values.values()) + claim.entries
    if total > MAX_SETTLED_ENTRIES:
        return None, False
    scalar = instance.function.shape == ()
    base = "gradient" if claim.kind == "gradient" and scalar else "vjp"
    reference = references[base][claim.name]
    claimed = instance.claims[claim.kind][claim.name]

    def settle() -> tuple[np.ndarray, np.ndarray]:
        return evaluate_mp(reference, values, 40), evaluate_mp(claimed, values, 40)

    nodes = nodes_in_order([reference, claimed])
    suspect = not all(np.isfinite(memo[id(node)]).all() for node in nodes if id(node) in memo)
    return settle, suspect


def _usable(case, instance, values, result, memo) -> bool:  # noqa: ANN001
    """False for a point where the function is undefined or on a kink: reported, never
    compared."""
    found = check_point(instance.function, values, case.wrt, memo=memo)
    point = len(result.points)
    undefined = list(found.undefined)
    if undefined and _overflow_only(instance.function, values, undefined):
        result.overflowed += 1  # finite in mpmath: float64's range, not the domain
        undefined = []
    for flag in undefined:
        result.undefined.append(f"point {point}: {flag.expression}: {flag.reason}")
    for flag in found.kinks:
        result.kinks.append(f"point {point}: {flag.expression}: {flag.reason}")
    return not undefined and not found.kinks


def _overflow_only(function: Node, values: Mapping[str, Any], flags: list) -> bool:
    """Whether every flagged entry only overflowed float64: the function is finite when
    evaluated in mpmath (at sizes mpmath can afford)."""
    if not all("infinite" in flag.reason for flag in flags):
        return False
    if sum(int(np.size(v)) for v in values.values()) + function.size > MAX_SETTLED_ENTRIES:
        return False
    exact = evaluate_mp(function, values, 30)
    return all(mpmath.isfinite(value) for value in np.asarray(exact, dtype=object).reshape(-1))


def _draw(case: ArrayCase, instance: ArrayInstance, rng) -> dict[str, Any]:  # noqa: ANN001
    values: dict[str, Any] = {}
    for name in case.variables:
        values[name] = _draw_one(case.domain.get(name), instance.shapes.get(name, ()), rng)
    return values


def _draw_one(domain: Any, shape: tuple[int, ...], rng) -> Any:  # noqa: ANN001
    if isinstance(domain, Structure):
        return draw_structured(domain.kind, shape, rng)
    if isinstance(domain, Interval):
        value = draw_interval(domain.low, domain.high, shape, rng)
        return value if shape else float(value)
    return np.full(shape, float(domain)) if shape else float(domain)


def _complete(case, instance, values, rng) -> dict[str, Any]:  # noqa: ANN001
    """Fixed values spread to their shapes, and the cotangent drawn where a point lacks it."""
    complete = dict(values)
    for name, value in values.items():
        shape = instance.shapes.get(name, ())
        if shape and np.ndim(value) == 0:
            complete[name] = np.full(shape, float(value))
    needs = instance.function.shape != () or case.claims["vjp"]
    if needs and case.cotangent not in complete:
        domain = case.domain.get(case.cotangent, Interval(-1.0, 1.0))
        complete[case.cotangent] = _draw_one(domain, instance.function.shape, rng)
    return complete


def _directional(case, instance, values, index, rng, memo, gradients) -> list[OracleCheck]:  # noqa: ANN001
    """The reference against the complex step (or central differences) along random
    directions; a scalar function's gradients, evaluated already, are the reference."""
    checks = check_directions(instance.function, list(case.wrt), values, rng, DIRECTIONS, memo,
                              gradients)  # fmt: skip
    found = []
    for check in checks:
        agrees = _agrees(check.reference, check.oracle, check.error, case.tolerance)
        if not agrees and _small(values):  # float64 rounding, or a wrong reference?
            settled = check_direction_mp(instance.function, list(case.wrt), values, check)
            if _agrees(settled.reference, settled.oracle, settled.error, case.tolerance):
                check, agrees = settled, True
        found.append(OracleCheck(check.method, "u·J·v along a random direction", index,
                                 check.reference, check.oracle, check.error, agrees))  # fmt: skip
    return found


def _small(values: Mapping[str, Any]) -> bool:
    """Whether a point's arrays are small enough for mpmath."""
    return sum(int(np.size(value)) for value in values.values()) <= MAX_SETTLED_ENTRIES


def _agrees(reference: float, oracle: float, error: float, tolerance: Tolerance) -> bool:
    widened = Tolerance(rtol=max(tolerance.rtol, FD_RTOL), atol=tolerance.atol)
    return bool(excess(oracle, reference, widened, slack=FD_SAFETY * error) <= 1)


def _confirm(case, instance, claim: ClaimResult, result: InstanceResult, rng) -> None:  # noqa: ANN001
    """Central differences at the claim's worst entry: the reference is backed there."""
    worst = claim.worst
    if worst is None or claim.kind == "jacobian" or not claim.wrong:
        return
    values = result.points[worst.point]
    scalar = instance.function.shape == ()
    cotangent = None if scalar else np.asarray(values[case.cotangent])
    estimate = central_difference_entries(instance.function, values, claim.name, rng, count=0,
                                          entries=[worst.index], cotangent=cotangent)  # fmt: skip
    value, error = float(estimate.values[0]), float(estimate.errors[0])
    agrees = _agrees(worst.expected, value, error, case.tolerance)
    check = OracleCheck("central differences", f"∂/∂{format_index(claim.name, worst.index)}",
                        worst.point, worst.expected, value, error, agrees)  # fmt: skip
    claim.confirmations.append(check)


def values_as_lists(values: Mapping[str, Any]) -> dict[str, Any]:
    """A point's values for JSON: nested lists for arrays, floats for scalars."""
    return {name: np.asarray(value).tolist() for name, value in values.items()}
