"""The array reference against PyTorch's or JAX's autograd (`--autodiff`), at every entry.

At a point, the framework computes what each claim is compared with, its own way: the
gradient, the VJP for the case's cotangent, or the whole Jacobian (one small enough to
hold; a larger one, compared with its claim by blocks of rows, by its VJP). Every entry
is compared with the reference's value. A disagreement is an `OracleCheck` that does not
agree, so the case is inconclusive, and central differences at the worst entry name the
suspect; a function the framework cannot compute gives a skipped check with the reason.
Main function: `framework_checks`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..arrays.evaluate import evaluate_nodes
from ..arrays.ir import Node
from ..arrays.kernels import FloatKernels
from ..arrays.oracles import central_difference_entries
from ..cases.model import Tolerance
from ..oracles.array_external import ArrayAutodiff, unsupported
from ..oracles.external import ROUNDING_ULPS as FRAMEWORK_ULPS
from .array_compare import ROUNDING_ULPS, ClaimResult, OracleCheck
from .array_verdict import claim_label, entry_label
from .closeness import FD_RTOL, FD_SAFETY, excess
from .diagnosis import oracle_name

__all__ = ["framework_checks"]

EPS = float(np.finfo(np.float64).eps)
SUSPECT = " is the suspect"  # the framework, when central differences back the reference
COMPARED = ("gradient", "vjp", "jacobian", "unclaimed")  # kinds with a reference derivative


@dataclass(frozen=True)
class _Target:
    """One derivative to compare: labelled as `claim`, the reference's value, and the
    cotangent the framework's VJP takes (None: the whole Jacobian)."""

    claim: ClaimResult
    reference: np.ndarray
    cotangent: Any


def framework_checks(
    frameworks: Sequence[str],
    function: Node,
    claims: Sequence[ClaimResult],
    expected: Mapping[tuple[str, str], np.ndarray | None],
    values: Mapping[str, Any],
    point: int,
    tolerance: Tolerance,
    cotangent: str,
    vjps: Mapping[str, Node],
    memo: dict,
) -> list[OracleCheck]:
    """Each framework's derivatives against the reference's, one check per claim.

    Args:
        claims: the claims of this size (their kind, name and shape label the checks).
        expected: (kind, name) -> the reference's value at this point; None for a
            Jacobian compared by blocks (never held whole).
        cotangent: the name of the case's cotangent in `values`.
        vjps: variable -> the reference's VJP for that cotangent, as IR.
        memo: this point's float64 values (`evaluate_nodes`), shared.
    """
    targets, seen = [], set()
    for claim in claims:
        # the user's code is a claim like any other: its reference derivative is checked
        kind = claim.kind.removeprefix("implementation ")
        if kind not in COMPARED or (kind, claim.name) in seen:
            continue
        seen.add((kind, claim.name))
        reference = expected.get((claim.kind, claim.name))
        if claim.kind == "jacobian" and reference is None:
            label = ClaimResult("vjp", claim.name, claim.shape[claim.leading :])
            (vjp,) = evaluate_nodes([vjps[claim.name]], values, FloatKernels(), memo)
            targets.append(_Target(label, vjp, values[cotangent]))
        elif claim.kind == "jacobian":
            targets.append(_Target(claim, reference, None))
        elif function.shape == () and kind != "vjp":
            targets.append(_Target(claim, reference, np.ones(())))
        else:
            targets.append(_Target(claim, reference, values[cotangent]))
    found: list[OracleCheck] = []
    if not targets:  # nothing with a reference derivative at this size
        return found
    for framework in frameworks:
        found.extend(_check(framework, function, targets, values, point, tolerance))
    return found


def _check(framework: str, function: Node, targets: list[_Target], values: Mapping[str, Any],
           point: int, tolerance: Tolerance) -> list[OracleCheck]:  # fmt: skip
    method = oracle_name(framework)
    reason = unsupported(function, framework)
    if reason is None and targets:
        try:
            computed = _compute(ArrayAutodiff(framework), function, targets, values)
        except Exception as error:  # the framework could not do it: reported, not raised
            reason = f"failed: {type(error).__name__}: {str(error).splitlines()[0]}"
    if reason is not None:
        return [OracleCheck(method, "every entry", point, np.nan, np.nan, 0.0, True,
                            note=f"{method} was not run: {reason}", skipped=True,
                            every_entry=True)]  # fmt: skip
    return [_compare(method, target, oracle, function, values, point, tolerance)
            for target, oracle in zip(targets, computed, strict=True)]  # fmt: skip


def _compute(auto: ArrayAutodiff, function: Node, targets: list[_Target],
             values: Mapping[str, Any]) -> list[np.ndarray]:  # fmt: skip
    """The framework's value for each target: one Jacobian for all that want one, one VJP
    per distinct cotangent."""
    groups: dict[int, list[int]] = {}
    for position, target in enumerate(targets):
        groups.setdefault(id(target.cotangent), []).append(position)
    computed: list[Any] = [None] * len(targets)
    for positions in groups.values():
        names = list(dict.fromkeys(targets[i].claim.name for i in positions))
        cotangent = targets[positions[0]].cotangent
        if cotangent is None:
            found = auto.jacobian(function, names, values)
        else:
            found = auto.vjp(function, names, values, cotangent)
        for i in positions:
            computed[i] = found[targets[i].claim.name]
    return computed


def _compare(method: str, target: _Target, oracle: np.ndarray, function: Node,
             values: Mapping[str, Any], point: int,
             tolerance: Tolerance) -> OracleCheck:  # fmt: skip
    """Every entry within the tolerance, widened by the framework's float64 rounding: a
    few ulps of the entry, and of the array's scale (sums of many terms cancel)."""
    claim = target.claim
    reference = np.broadcast_to(np.asarray(target.reference, dtype=float), claim.shape)
    oracle = np.broadcast_to(np.asarray(oracle, dtype=float), claim.shape)
    finite = np.abs(reference[np.isfinite(reference)])
    scale = float(finite.max()) if finite.size else 0.0
    with np.errstate(invalid="ignore"):
        bar = FRAMEWORK_ULPS * EPS * np.abs(oracle) + ROUNDING_ULPS * EPS * scale
        ratio = np.asarray(excess(oracle, reference, tolerance, FD_SAFETY * bar), dtype=float)
        same = (oracle == reference) | (np.isnan(oracle) & np.isnan(reference))
    ratio = np.where(same, 0.0, ratio)
    flat = int(np.argmax(ratio)) if ratio.size else 0
    index = tuple(int(i) for i in np.unravel_index(flat, claim.shape)) if claim.shape else ()
    agrees = bool(ratio.size == 0 or ratio[index] <= 1)
    note = "" if agrees else _suspect(method, target, index, function, values, tolerance,
                                      float(reference[index]), float(oracle[index]))  # fmt: skip
    return OracleCheck(method, f"{claim_label(claim)} at {entry_label(claim, index)}", point,
                       float(reference[index]), float(oracle[index]), float(bar[index]),
                       agrees, note=note, every_entry=True,
                       overruled=note.endswith(SUSPECT))  # fmt: skip


def _suspect(method: str, target: _Target, index: tuple[int, ...], function: Node,
             values: Mapping[str, Any], tolerance: Tolerance, reference: float,
             oracle: float) -> str:  # fmt: skip
    """Central differences at the entry where they disagree: which of the two they side
    with names the suspect."""
    claim = target.claim
    if target.cotangent is None:  # a Jacobian entry: the function's entry picks u
        u = np.zeros(function.shape)
        u[index[: claim.leading]] = 1.0
        entry = index[claim.leading :]
    else:
        u, entry = np.asarray(target.cotangent, dtype=float), index
    estimate = central_difference_entries(function, values, claim.name,
                                          np.random.default_rng(0), count=0, entries=[entry],
                                          cotangent=u)  # fmt: skip
    value, error = float(estimate.values[0]), float(estimate.errors[0])
    widened = Tolerance(rtol=max(tolerance.rtol, FD_RTOL), atol=tolerance.atol)
    backs = [excess(value, side, widened, FD_SAFETY * error) <= 1 for side in (reference, oracle)]
    said = f"central differences there give {value:.10g} ± {error:.2g}"
    if backs == [True, False]:
        return f"{said}, as the reference does: {method}{SUSPECT}"
    if backs == [False, True]:
        return f"{said}, as {method} does: the reference is in doubt"
    return f"{said}: the reference is in doubt"
