"""The verdict of an array case, from its comparisons at every size and point.

`incorrect` needs a wrong entry at a point where the reference is backed by the oracles;
`correct` needs every entry of every claim close at every checked point and the
reference agreeing with the complex step (or central differences) along random
directions, or, where every point is out of float64's and mpmath's reach, every claim
proved entry by entry; anything else is `inconclusive`, with the reason. Main function:
`decide_array_verdict`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import counted
from ..symbolic.reach import OUT_OF_REACH, REACH_LIMIT
from .array_compare import ClaimResult, OracleCheck, format_index, oracle_evidence, skipped_notes
from .verdict import Verdict

__all__ = ["claim_label", "decide_array_verdict", "describe_wrong", "entry_label"]

_KIND = {"gradient": "∂f/∂", "vjp": "vjp ", "jacobian": "jacobian ", "unclaimed": "∂f/∂",
         "implementation gradient": "the implementation's ∂f/∂",
         "implementation vjp": "the implementation's vjp ",
         "implementation function": "the implementation's function"}  # fmt: skip
MAX_SHOWN_ENTRIES = 8  # a counterexample's point is shown in the evidence up to this size
# no mpmath settles an unclaimed variable's or a Jacobian's entries, nor arrays too large
_OVERFLOWED = "its reference overflows float64 at {}, not re-evaluated in mpmath there"
# the scalar verdict's words for the same finding
FLOAT32_HINT = (
    "the implementation returned float32 values: their rounding (~1e-7 relative) exceeds the "
    "tolerance — use `tolerance: float32` for single-precision code"
)


def claim_label(claim: ClaimResult) -> str:
    """`∂f/∂W`, `vjp z`, `jacobian z`, `the implementation's vjp z`."""
    return f"{_KIND[claim.kind]}{claim.name}"


def entry_label(claim: ClaimResult, index: tuple[int, ...]) -> str:
    """`W[3, 1]`; for a Jacobian the function's entry and the variable's apart:
    `∂f[2]/∂z[0]`; `f[2]` for the implementation's function."""
    if claim.kind == "implementation function":
        return format_index("f", index)
    if claim.kind != "jacobian":
        return format_index(claim.name, index)
    out, entry = index[: claim.leading], index[claim.leading :]
    return f"∂{format_index('f', out)}/∂{format_index(claim.name, entry)}"


def decide_array_verdict(instances: Sequence) -> Verdict:  # InstanceResult from the run
    """The case's verdict: every size's claims, oracle checks and set-aside points."""
    warnings = tuple(_warnings(instances))
    conflicts = [(inst, check) for inst in instances for check in inst.oracles
                 if not check.agrees and not check.overruled]  # fmt: skip
    checked = sum(inst.checked for inst in instances)
    if conflicts:
        return Verdict("inconclusive", "", (_conflict(*conflicts[0], len(conflicts)),), warnings)
    if checked == 0:
        if _proved_beyond_reach(instances):  # a proof needs no point
            return Verdict("correct", _proof_evidence(instances), (), warnings)
        return Verdict("inconclusive", "", (_no_usable_points(instances),), warnings)
    absent = _unreached_claim(instances)
    if absent:
        return Verdict("inconclusive", "", (absent,), warnings)
    wrong = [(inst, claim) for inst in instances for claim in inst.claims if claim.wrong]
    if wrong:
        inst, claim = max(wrong, key=lambda pair: pair[1].worst.score)
        unbacked = [c for c in claim.confirmations if not c.agrees]
        if unbacked:
            return Verdict("inconclusive", "", (_unbacked(claim, unbacked[0]),), warnings)
        reasons = tuple(describe_wrong(i, c) for i, c in wrong)
        # the evidence is the worst entry's counterexample, as for a scalar case
        evidence = describe_wrong(inst, claim) + _point_values(inst, claim)
        return Verdict("incorrect", evidence, reasons, warnings)
    return Verdict("correct", _evidence(instances), (), warnings)


def _no_usable_points(instances: Sequence) -> str:
    """Why no point was compared: on kinks or outside the domain, or out of reach."""
    reason = "no point where the function can be checked"
    found = [(inst, point, what) for inst in instances
             for point, what in getattr(inst, "unreachable", ())]  # fmt: skip
    if not found:
        return f"{reason}: every point was on a kink or outside the function's domain"
    total = sum(len(inst.points) for inst in instances)
    beyond = f"{OUT_OF_REACH} ({_reach(*found[0])})"
    if len(found) < total:
        return (f"{reason}: of {counted(total, 'point')}, {len(found)} "
                f"{'is' if len(found) == 1 else 'are'} {beyond}, the others on a kink or "
                "outside the function's domain")  # fmt: skip
    subject = "the only point is" if total == 1 else f"all {total} points are"
    return f"{reason}: {subject} {beyond}"


def _reach(instance, point: int, what: str, sized: bool = True) -> str:  # noqa: ANN001
    """Where and why a point is out of reach, for parentheses: 'e.g. x=[0.27, 3.1],
    where it needs exp of 1.03e+18; diffcheck evaluates no number beyond ...'; the sizes
    named unless `sized` is False (a warning names them first)."""
    shown = _values_text(instance, point) or f"point {point + 1}"
    at = f" ({instance.label})" if instance.label and sized else ""
    return f"e.g. {shown}{at}, where it needs {what}; {REACH_LIMIT}"


def _proved_beyond_reach(instances: Sequence) -> bool:
    """Whether some point is out of reach and every claim is a formula proved equal to
    the reference entry by entry (unclaimed variables and code have no proof)."""
    unreachable = any(getattr(inst, "unreachable", ()) or any(c.unreachable for c in inst.claims)
                      for inst in instances)  # fmt: skip
    return unreachable and all(claim.kind in ("gradient", "vjp") and claim.name in inst.proved
                               for inst in instances for claim in inst.claims)  # fmt: skip


def _proof_evidence(instances: Sequence) -> str:
    proved = sorted({name for inst in instances for name in inst.proved})
    sizes = [inst.label for inst in instances if inst.label]
    text = f"proved symbolically entry by entry for {', '.join(proved)}"
    return text + (f"; sizes {'; '.join(sizes)}" if len(sizes) > 1 else "")


def _unreached_claim(instances: Sequence) -> str | None:
    """Why a claim was compared at no point, if values out of reach (or float64's
    overflow, where mpmath was not asked) are the reason and it is not proved at every
    size."""
    pairs = [(inst, claim) for inst in instances for claim in inst.claims]
    for first, claim in pairs:
        same = [(i, c) for i, c in pairs if (c.kind, c.name) == (claim.kind, claim.name)]
        if not (claim.unreachable or claim.overflowed) or any(c.checked for _, c in same):
            continue
        if all(c.kind in ("gradient", "vjp") and c.name in i.proved for i, c in same):
            continue  # proved: correct where mpmath cannot reach the values
        reason = f"{claim_label(claim)} cannot be checked at any point: "
        if not claim.unreachable:
            count = sum(c.overflowed for _, c in same)
            return reason + f"{_OVERFLOWED.format(counted(count, 'point'))}"
        count = sum(c.unreachable for _, c in same)
        return reason + (f"it is {OUT_OF_REACH} at {counted(count, 'point')} "
                         f"({_reach(first, *claim.beyond)})")  # fmt: skip
    return None


def describe_wrong(instance, claim: ClaimResult) -> str:  # noqa: ANN001
    """One line a person can act on: the worst entry, both values, how many are wrong."""
    worst = claim.worst
    at = f"point {worst.point + 1}" + (f" ({instance.label})" if instance.label else "")
    expected = worst.expected_text or f"{worst.expected:.6g}"
    claimed = worst.claimed_text or f"{worst.claimed:.6g}"
    if expected == claimed:  # apart beyond 6 digits (float32 rounding): show the digits
        expected, claimed = f"{worst.expected:.10g}", f"{worst.claimed:.10g}"
    verb = "returned" if claim.kind.startswith("implementation") else "claimed"
    parts = [
        f"{claim_label(claim)}: {entry_label(claim, worst.index)} at {at}: "
        f"expected {expected}, {verb} {claimed}",
        f"{claim.wrong_entries} of {claim.entries} entries wrong there, wrong at "
        f"{claim.wrong_points} of {counted(claim.checked, 'point')}",
    ]
    if claim.pattern:
        parts.append(claim.pattern)
    backed = [c for c in claim.confirmations if c.agrees]
    if backed:
        parts.append(f"{backed[0].method} agree with the expected value")
    if getattr(instance, "single", {}).get((claim.kind, claim.name)):
        parts.append(FLOAT32_HINT)
    return "; ".join(parts)


def _point_values(instance, claim: ClaimResult) -> str:  # noqa: ANN001
    """The worst point's values, "; point 2: x=[0, 1], y=2", where they are few enough
    to read (JSON gives them whole); not for a Jacobian, whose point holds a cotangent
    it does not use."""
    if claim.worst is None or claim.kind == "jacobian":
        return ""
    shown = _values_text(instance, claim.worst.point)
    return f"; point {claim.worst.point + 1}: {shown}" if shown else ""


def _values_text(instance, point: int) -> str:  # noqa: ANN001
    """A point's values, "x=[0, 1], y=2", where they are few enough to read; "" else."""
    points = getattr(instance, "points", [])
    if point >= len(points):
        return ""
    values = points[point]
    if sum(np.size(value) for value in values.values()) > MAX_SHOWN_ENTRIES:
        return ""
    return ", ".join(f"{name}={_nested(np.asarray(value, dtype=float).tolist())}"
                     for name, value in sorted(values.items()))  # fmt: skip


def _nested(value: list | float) -> str:
    """[[1, 2], [2, 4]]: nested lists, six digits."""
    if isinstance(value, list):
        return f"[{', '.join(_nested(item) for item in value)}]"
    return f"{value:.6g}"


def _conflict(instance, check: OracleCheck, count: int) -> str:  # noqa: ANN001
    at = f"point {check.point + 1}" + (f" ({instance.label})" if instance.label else "")
    return (
        f"the array reference disagrees with the {check.method} at {at}: {check.what} is "
        f"{check.reference:.10g} by reverse mode, {check.oracle:.10g} ± {check.error:.2g} by "
        f"the {check.method} ({counted(count, 'disagreement')} in all); "
        f"{check.note or 'the reference is in doubt'}"
    )


def _unbacked(claim: ClaimResult, check: OracleCheck) -> str:
    return (
        f"{claim_label(claim)}: the claim differs from the reference at "
        f"{check.what[4:] if check.what.startswith('∂/∂') else check.what}, but "
        f"{check.method} give {check.oracle:.6g} ± {check.error:.2g} where the reference says "
        f"{check.reference:.6g}: the reference is in doubt there"
    )


def _odd_one_out(instance, check: OracleCheck) -> str:  # noqa: ANN001
    at = f"point {check.point + 1}" + (f" ({instance.label})" if instance.label else "")
    return (
        f"{check.method} disagrees with the array reference at {at}: {check.what} is "
        f"{check.oracle:.10g} by {check.method}, {check.reference:.10g} by the reference; "
        f"{check.note}"
    )


def _evidence(instances: Sequence) -> str:
    checked = sum(_compared(inst) for inst in instances)
    entries = sum(claim.entries for inst in instances for claim in inst.claims)
    sizes = [inst.label for inst in instances if inst.label]
    proved = sorted({name for inst in instances for name in inst.proved})
    text = f"every entry agrees at {counted(checked, 'point')}"
    if proved and all(inst.proved for inst in instances):
        text = f"proved symbolically entry by entry for {', '.join(proved)}; " + text
    if not checked:  # a claim out of reach at every point: its proof alone decides
        text = _proof_evidence(instances)
        entries = 0
    code = sorted({claim.kind.split()[1] for inst in instances for claim in inst.claims
                   if claim.kind.startswith("implementation")})  # fmt: skip
    if entries:
        among = f", the implementation's {' and '.join(code)} included" if code else ""
        text += f" ({counted(entries, 'entry', 'entries')} per point across the claims{among})"
    text += oracle_evidence(check for inst in instances for check in inst.oracles)
    if len(sizes) > 1:
        text += f"; sizes {'; '.join(sizes)}"
    return text


def _compared(instance) -> int:  # noqa: ANN001
    """The points where every claim was compared: one left out for a claim (out of
    mpmath's reach, or an inf reference) is no agreement."""
    claims = instance.claims
    if any(claim.unreachable or claim.overflowed for claim in claims):
        return min(claim.checked for claim in claims)
    return instance.checked


def _warnings(instances: Sequence) -> list[str]:
    found = []
    for inst in instances:
        prefix = f"{inst.label}: " if inst.label else ""
        found.extend(f"{prefix}{note}" for note in skipped_notes(inst.oracles))
        found.extend(f"{prefix}{_odd_one_out(inst, check)}" for check in inst.oracles
                     if check.overruled)  # fmt: skip
        if inst.undefined:
            found.append(f"{prefix}{counted(len(inst.undefined), 'point')} outside the "
                         f"function's domain, left out (e.g. {inst.undefined[0]})")  # fmt: skip
        unreachable = getattr(inst, "unreachable", ())
        if unreachable:
            reach = _reach(inst, *unreachable[0], False)
            found.append(f"{prefix}the function is {OUT_OF_REACH} at "
                         f"{counted(len(unreachable), 'point')} ({reach}); left out")  # fmt: skip
        if getattr(inst, "overflowed", 0):
            found.append(f"{prefix}float64 overflows at {counted(inst.overflowed, 'point')} "
                         "where mpmath finds the function finite; compared there with the "
                         "doubtful entries re-evaluated in mpmath")  # fmt: skip
        if inst.kinks:
            found.append(f"{prefix}{counted(len(inst.kinks), 'point')} on a kink, left out "
                         f"(e.g. {inst.kinks[0]})")  # fmt: skip
        for claim in inst.claims:
            if claim.overflowed:
                overflowed = _OVERFLOWED.format(counted(claim.overflowed, "point"))
                found.append(f"{prefix}{claim_label(claim)}: {overflowed}; left out")
            if claim.unreachable:
                found.append(f"{prefix}{claim_label(claim)} is {OUT_OF_REACH} at "
                             f"{counted(claim.unreachable, 'point')} "
                             f"({_reach(inst, *claim.beyond, False)}); left out")  # fmt: skip
            if claim.rounding:
                found.append(f"{prefix}{claim_label(claim)}: {claim.rounding} entries differ "
                             "only by float64 rounding of the array's scale; arrays too large "
                             "to re-evaluate in mpmath")  # fmt: skip
            if claim.unsettled:
                found.append(f"{prefix}{claim_label(claim)}: {claim.unsettled} entries float64 "
                             "could not decide, beyond the points re-evaluated with mpmath, "
                             "were left undecided, not called wrong")  # fmt: skip
            if claim.settled:
                found.append(f"{prefix}{claim_label(claim)}: {claim.settled} entries float64 "
                             "could not decide were re-evaluated with mpmath")  # fmt: skip
    return found
