"""Run stage for array cases: an `ArrayCase` -> its `ArrayComparison`, point by point.

For every combination of sizes: the explicit points that fit, then `samples` random ones
drawn from the domains (intervals, fixed values, structures) with one generator seeded by
the case; at each point the reference (the IR's reverse mode, or its Jacobian) and each
claim are evaluated and compared entry by entry, doubtful entries settled in mpmath, and
the reference itself checked against the complex step (or central differences) along
random directions and at the worst entries. Main function: `compare_array_case`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np

from ..arrays.evaluate import evaluate_mp, evaluate_nodes
from ..arrays.ir import Call, Node, Variable, nodes_in_order
from ..arrays.kernels import FloatKernels
from ..arrays.ops import MUL, POW, constant
from ..arrays.reverse import held_jacobian, jacobian_rows, vjp_expressions
from ..arrays.rounding import rounding_bounds
from ..cases.array_model import CODE_KINDS, ArrayCase, ArrayInstance
from ..cases.array_points import complete_point, draw_point
from ..cases.model import TOLERANCE_PRESETS, Tolerance
from ..compare.array_compare import (
    ClaimResult,
    OracleCheck,
    check_claim_budget,
    compare_blocks,
    compare_entries,
)
from ..compare.array_patterns import diagnose_pattern
from ..compare.array_settle import SETTLE_DIGITS
from ..compare.closeness import excess
from ..oracles.array_implementation import FUNCTION, ArrayCode, prepare_array_code, single_precision
from ..symbolic.rules import RULES
from .array_kinks import limit_reference
from .array_oracle_checks import (
    MAX_SETTLED_ENTRIES,
    confirm_worst_entry,
    directional_checks,
    framework_oracles,
)
from .array_proof import prove_array_claims
from .array_usable import usable_point

__all__ = ["ArrayComparison", "InstanceResult", "compare_array_case"]

ORACLE_POINTS = 2  # points per size at which the reference meets the oracles
SINGLE = Tolerance(**TOLERANCE_PRESETS["float32"])
# kinds whose reference is a scalar function's gradient (a vjp for an array function)
GRADIENT_KINDS = ("gradient", "unclaimed", "implementation gradient")
_UNDERFLOWING = (MUL, POW, RULES["exp"])  # 0 from arguments that are not 0: underflow


@dataclass
class InstanceResult:
    """One combination of sizes: its claims, its oracle checks and its set-aside points."""

    label: str
    dims: dict[str, int] = field(default_factory=dict)
    claims: list[ClaimResult] = field(default_factory=list)
    oracles: list[OracleCheck] = field(default_factory=list)
    undefined: list[str] = field(default_factory=list)  # why points were left out
    # points out of float64's and mpmath's reach: (index into `points`, what mpmath needs)
    unreachable: list[tuple[int, str]] = field(default_factory=list)
    kinks: list[str] = field(default_factory=list)
    proved: list[str] = field(default_factory=list)  # claims proved entry by entry
    overflowed: int = 0  # points where float64 overflows but mpmath finds the function
    checked: int = 0
    points: list[dict[str, Any]] = field(default_factory=list)  # the values, by index
    # (kind, variable) of the user's code -> whether it gave float32 at every point, within
    # single precision's rounding of the reference
    single: dict[tuple[str, str], bool] = field(default_factory=dict)


@dataclass
class ArrayComparison:
    instances: list[InstanceResult]

    @property
    def claims(self) -> list[tuple[InstanceResult, ClaimResult]]:
        return [(instance, claim) for instance in self.instances for claim in instance.claims]


def compare_array_case(
    case: ArrayCase,
    samples: int,
    seed: int,
    proof_budget: float = 0.0,
    allow_import: bool = True,
    autodiff: Sequence[str] = (),
) -> ArrayComparison:
    """Every size of the case compared at its points; where every claim agrees and the
    sizes are small, the claims are also proved entry by entry within `proof_budget`.
    The case's own code (`implementation`) is compared at every point like a claim.
    Each framework in `autodiff` ("torch", "jax") joins the oracles of the reference.

    Raises:
        CaseFileError: the code cannot be imported, or importing is not allowed.
        ImplementationError: the code raised or returned something unusable.
    """
    rng = np.random.default_rng(seed)
    code = prepare_array_code(case, allow_import)
    instances = []
    for instance in case.instances:
        result = _instance(case, instance, samples, rng, code, autodiff)
        # a proof needs no point: it decides where every point is out of reach
        reached = result.checked or result.unreachable
        if proof_budget > 0 and reached and not any(c.wrong for c in result.claims):
            result.proved = sorted(prove_array_claims(case, instance, proof_budget))
        instances.append(result)
    return ArrayComparison(instances)


def _instance(case: ArrayCase, instance: ArrayInstance, samples: int, rng,  # noqa: ANN001
              code: ArrayCode | None = None,
              autodiff: Sequence[str] = ()) -> InstanceResult:  # fmt: skip
    result = InstanceResult(instance.label(), dict(instance.dims))
    references = _references(case, instance)
    leading = instance.function.ndim
    result.claims = [ClaimResult(kind, name, _claim_shape(kind, name, instance),
                                 leading if kind == "jacobian" else 0)
                     for kind, name in _compared(case)]  # fmt: skip
    check_claim_budget(result.claims, instance.label())
    explicit = [dict(case.points[i]) for i in instance.points]
    drawn = (draw_point(case, instance, rng) for _ in range(samples))
    for values in [*explicit, *drawn]:
        values = complete_point(case, instance, values, rng)
        index = len(result.points)
        result.points.append(values)
        memo: dict = {}  # this point's float64 values, shared by every evaluation below
        limits = usable_point(case, instance, values, result, memo)
        if limits is None:
            continue
        result.checked += 1
        produced = _call_code(code, case, instance, values, result)
        outcomes = _evaluate(case, instance, references, values, memo, result.claims, produced)
        exact = _at_kink(case, instance, values, outcomes, limits, produced)
        for claim in result.claims:
            expected, claimed = outcomes[(claim.kind, claim.name)]
            if expected is None:  # a Jacobian too large to hold: by blocks of its rows
                rows = jacobian_rows(instance.function, claim.name, values, memo=memo)
                compare_blocks(claim, index, rows, claimed, case.tolerance)
                continue
            limit = exact.get((claim.kind, claim.name))
            settle, suspect, bounds = _settler(case, instance, references, values, claim, memo,
                                               produced, limit)  # fmt: skip
            compare_entries(claim, index, expected, claimed, case.tolerance, settle, suspect,
                            bounds)  # fmt: skip
            _note_precision(result, claim, produced, expected)
        if result.checked <= ORACLE_POINTS and not limits:  # at a kink they may not apply
            gradients = {name: expected for (kind, name), (expected, _) in outcomes.items()
                         if kind in GRADIENT_KINDS}  # fmt: skip
            result.oracles.extend(directional_checks(case, instance, values, index, rng, memo,
                                               gradients))  # fmt: skip
            result.oracles.extend(framework_oracles(autodiff, case, instance, references, values,
                                              index, outcomes, result.claims, memo))  # fmt: skip
    for claim in result.claims:
        confirm_worst_entry(case, instance, claim, result.points, rng)
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


def _call_code(code: ArrayCode | None, case: ArrayCase, instance: ArrayInstance,
               values: dict[str, Any], result: InstanceResult) -> dict:  # fmt: skip
    """What the user's code gives at this point; at the first point its claims join the
    result (what PyTorch code gives is known once it has run), replacing the unclaimed
    variables it covers."""
    if code is None:
        return {}
    shapes = {name: instance.shapes.get(name, ()) for name in case.variables}
    produced = code.call(values, shapes, instance.function.shape, len(result.points) - 1)
    known = {(claim.kind, claim.name) for claim in result.claims}
    if any(key not in known for key in produced):
        covered = {name for kind, name in produced if kind != FUNCTION}
        result.claims = [claim for claim in result.claims
                         if not (claim.kind == "unclaimed" and claim.name in covered)]  # fmt: skip
        result.claims += [ClaimResult(kind, name, _claim_shape(kind, name, instance))
                          for kind, name in produced if (kind, name) not in known]  # fmt: skip
    return produced


def _note_precision(result: InstanceResult, claim: ClaimResult, produced: dict,
                    expected: np.ndarray) -> None:  # fmt: skip
    """Whether the code's values are float32 and apart from the reference by no more than
    single precision's rounding, at every point so far."""
    key = (claim.kind, claim.name)
    if key not in produced:
        return
    values = produced[key]
    single = single_precision(values) and bool(np.all(excess(values, expected, SINGLE) <= 1))
    result.single[key] = result.single.get(key, True) and single


def _claim_shape(kind: str, name: str, instance: ArrayInstance) -> tuple[int, ...]:
    if kind == FUNCTION:
        return instance.function.shape
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


def _evaluate(case, instance, references, values, memo, claims, produced) -> dict:  # noqa: ANN001
    """(kind, name) -> (reference value, claimed value) at one point, shared work once:
    `memo` already holds the function's values (`evaluate_nodes` shares nodes of equal
    structure, so a claim's `X @ W` is the function's). The code's values are `produced`."""
    kernels = FloatKernels(np.float64)
    wanted: list[Node] = []
    slots: dict[tuple[str, str], tuple[int | None, int | None]] = {}
    for kind, name in [(claim.kind, claim.name) for claim in claims]:
        reference_slot = None
        if kind != "jacobian":
            reference_slot = len(wanted)
            wanted.append(_reference(instance, references, kind, name))
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
            expected = held_jacobian(instance.function, name, values, memo)
        else:
            expected = computed[ref]
        claimed = computed[got] if got is not None else produced.get((kind, name), expected)
        expected = None if expected is None else np.asarray(expected, float)
        outcomes[(kind, name)] = (expected, np.asarray(claimed, float))
    return outcomes


def _reference(instance: ArrayInstance, references: dict, kind: str, name: str) -> Node:
    """The IR whose value a claim of `kind` is compared with: the function itself for the
    code's forward pass, else a gradient (scalar function) or vjp expression."""
    if kind == FUNCTION:
        return instance.function
    scalar = instance.function.shape == ()
    return references["gradient" if kind in GRADIENT_KINDS and scalar else "vjp"][name]


def _settler(case, instance, references, values, claim, memo, produced, limit=None):  # noqa: ANN001, ANN202
    """mpmath's (reference, claim) for `claim` at this point, when the arrays are small;
    whether float64 overflowed on the way to either (a value of theirs not finite at
    this point): then even a finite wrong entry may be float64's doing; and how far
    rounding may have moved their entries (`_bounds`). The user's code has no mpmath
    value: what it returned is its value. At a point flagged on a kink where the
    derivative exists, `limit` (mpmath) is the reference."""
    if claim.kind == "unclaimed" or (claim.kind == "jacobian" and limit is None):
        return None, False, None
    reference = _reference(instance, references, claim.kind, claim.name)
    code = claim.kind in CODE_KINDS
    claimed = None if code else instance.claims[claim.kind][claim.name]
    bounds = _bounds(None if limit is not None else reference, claimed, memo)
    total = sum(int(np.size(v)) for v in values.values()) + claim.entries
    if total > MAX_SETTLED_ENTRIES:
        return None, False, bounds

    def settle() -> tuple[np.ndarray, np.ndarray]:
        if code:
            returned = produced[(claim.kind, claim.name)].astype(np.float64)
            exact = np.vectorize(mpmath.mpf, otypes=[object])(returned)
        else:
            exact = evaluate_mp(claimed, values, SETTLE_DIGITS)
        if limit is not None:
            return limit, exact
        return evaluate_mp(reference, values, SETTLE_DIGITS), exact

    # where the reference is the probed limit, only the claim's own values can overflow
    shown = [] if limit is not None else [reference]
    nodes = nodes_in_order(shown + ([] if code else [claimed]))
    suspect = any(_out_of_range(node, memo) for node in nodes if id(node) in memo)
    return settle, suspect, bounds


def _bounds(reference: Node | None, claimed: Node | None, memo: dict):  # noqa: ANN202
    """A callable giving how far float64 rounding may have moved each entry of the
    reference and of the claim here (`rounding_bounds` over `memo`'s values), 0 for a side
    that is no expression evaluated here (a kink's probed limit, the user's code's values);
    None when the memo lacks them."""

    def bounds() -> tuple[Any, Any] | None:
        sides = (reference, claimed)
        found = rounding_bounds([node for node in sides if node is not None], memo)
        given = iter(found or ())
        return None if found is None else tuple(0.0 if n is None else next(given) for n in sides)

    return bounds


def _out_of_range(node: Node, memo: dict) -> bool:
    """Whether float64 left its range at `node`: a value not finite, or a product, power
    or exponential that underflowed to 0 from arguments that are not 0 (the adjoint of a
    division squares its denominator: S² of S = 1e179 is 0, and the entry it feeds too)."""
    value = memo[id(node)]
    if not np.isfinite(value).all():
        return True
    if not (isinstance(node, Call) and node.rule in _UNDERFLOWING and (value == 0).any()):
        return False
    args = [memo.get(id(arg)) for arg in node.args]
    if any(arg is None for arg in args):
        return False
    nonzero = args[0] != 0  # x**p of x != 0 is 0 only by underflow, whatever p
    for arg in args[1:] if node.rule is not POW else ():
        nonzero = nonzero & (arg != 0)
    return bool(np.any((value == 0) & nonzero))


def _at_kink(case, instance, values, outcomes, limits, produced) -> dict:  # noqa: ANN001
    """At a point flagged on a kink where the derivative exists, each claim's reference
    from the probed Jacobians `limits`: written into `outcomes` (float64) and returned
    by claim (mpmath), for settling. Nothing at an ordinary point."""
    if not limits:
        return {}
    scalar = instance.function.shape == ()
    exact = {}
    for (kind, name), (_, claimed) in list(outcomes.items()):
        if kind == FUNCTION:
            continue
        gradient = scalar and kind in GRADIENT_KINDS
        cotangent = None if gradient else values.get(case.cotangent)
        limit = limit_reference(kind, name, limits, cotangent)
        exact[(kind, name)] = limit
        reference = np.asarray(limit, dtype=float)
        formula = instance.claims.get(kind, {}).get(name) is not None
        if not formula and (kind, name) not in produced:
            claimed = reference  # no claim: the reference stands for it
        outcomes[(kind, name)] = (reference, claimed)
    return exact


def values_as_lists(values: Mapping[str, Any]) -> dict[str, Any]:
    """A point's values for JSON: nested lists for arrays, floats for scalars."""
    return {name: np.asarray(value).tolist() for name, value in values.items()}
