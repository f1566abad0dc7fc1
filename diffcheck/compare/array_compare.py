"""Array claims against the array reference, entry by entry, at one point after another.

Input: one point's values, the reference's value of each claim (the IR's own reverse
mode, or its Jacobian) and the claim's value. Output: a `ClaimResult` per claim that
accumulates over the points: how many entries are wrong, the worst one by index, and the
float64 doubts that were settled in mpmath. Every entry is compared with the one
closeness test (`excess`); no projection can hide a wrong entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..cases.array_model import MAX_ARRAY_ENTRIES
from ..cases.model import Tolerance
from ..errors import DiffcheckError
from .array_settle import ROUNDING_ULPS, doubtful_entries, plain_entries, settle_point
from .closeness import excess

__all__ = [
    "ROUNDING_ULPS",
    "WORST_TIE",
    "ClaimResult",
    "OracleCheck",
    "Worst",
    "check_claim_budget",
    "compare_blocks",
    "compare_entries",
    "format_index",
    "oracle_evidence",
    "skipped_notes",
]

# scores this close are a tie, and the first point keeps it: a claim off by a constant
# factor is worst by the same score at every point, and rounding alone must not choose
WORST_TIE = 1e-9
EPS = float(np.finfo(np.float64).eps)


def format_index(name: str, index: tuple[int, ...]) -> str:
    """`W[3, 1]`, or the name alone for a scalar.

    >>> format_index("W", (3, 1)), format_index("s", ())
    ('W[3, 1]', 's')
    """
    return f"{name}[{', '.join(str(i) for i in index)}]" if index else name


@dataclass
class Worst:
    """The worst wrong (or, for a right claim, the least close) entry seen so far."""

    point: int  # index into the run's points
    index: tuple[int, ...]
    expected: float
    claimed: float
    excess: float
    score: float  # what made it the worst: its difference for the array's scale, if wrong
    expected_text: str | None = None  # mpmath's value where float64 cannot hold it
    claimed_text: str | None = None
    # decided in float64 at a point where float64 did not overflow: an entry central
    # differences (float64) can confirm, preferred over one only mpmath could decide
    plain: bool = True


@dataclass
class ClaimResult:
    """One claim (`kind` of `name`) over every point of one size combination."""

    kind: str  # gradient | jacobian | vjp | unclaimed
    name: str
    shape: tuple[int, ...]
    leading: int = 0  # a Jacobian's axes of the function, before the variable's
    checked: int = 0  # points compared
    wrong_points: int = 0
    wrong_entries: int = 0  # at the worst point
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    settled: int = 0  # entries re-decided in mpmath
    rounding: int = 0  # entries apart only at float64 rounding, not re-evaluated
    unsettled: int = 0  # entries float64 cannot decide beyond the points mpmath settles
    settled_points: int = 0  # points where mpmath settled entries
    # points left out: an entry only mpmath could decide is beyond its reach (the first:
    # index into the points, what mpmath would need); an inf reference, mpmath not asked
    unreachable: int = 0
    beyond: tuple[int, str] | None = None
    overflowed: int = 0
    worst: Worst | None = None
    wrong_map: np.ndarray | None = None  # at the worst point: which entries are wrong
    expected: np.ndarray | None = None  # the arrays at the worst point, for the diagnosis
    claimed: np.ndarray | None = None
    pattern: str | None = None
    confirmations: list[OracleCheck] = field(default_factory=list)

    @property
    def entries(self) -> int:
        return int(np.prod(self.shape))

    @property
    def wrong(self) -> bool:
        return self.wrong_points > 0


@dataclass(frozen=True)
class OracleCheck:
    """The reference against an independent oracle at one point."""

    method: str  # complex step, central differences, symbolic (entry by entry), ...
    what: str  # "u·J·v along a random direction", "∂/∂W[3, 1]"
    point: int
    reference: float
    oracle: float
    error: float  # the oracle's own error bar
    agrees: bool
    # why it disagrees, naming the suspect; or why it was skipped (then it says nothing)
    note: str = ""
    skipped: bool = False
    every_entry: bool = False  # compared at every entry (autodiff), not along a direction
    # central differences side with the reference against this oracle: an odd one out,
    # a warning as for scalar cases, not a conflict
    overruled: bool = False


def oracle_evidence(checks: Iterable[OracleCheck]) -> str:
    """What the oracle checks that ran and agreed add to a verdict's evidence:
    "; the reference agrees with complex step along random directions; PyTorch autograd
    agrees at every entry"."""
    checks = [check for check in checks if not check.skipped]
    directional = sorted({check.method for check in checks if not check.every_entry})
    entrywise = sorted({check.method for check in checks if check.every_entry})
    text = ""
    if directional:
        text += f"; the reference agrees with {' and '.join(directional)} along random directions"
    if entrywise:
        verb = "agree" if len(entrywise) > 1 else "agrees"
        text += f"; {' and '.join(entrywise)} {verb} with it at every entry"
    return text


def skipped_notes(checks: Iterable[OracleCheck]) -> list[str]:
    """Why oracles asked for did not run (once per reason)."""
    return list(dict.fromkeys(check.note for check in checks if check.skipped))


def check_claim_budget(claims: Iterable[ClaimResult], label: str = "") -> None:
    """Refuse a claim whose value alone would exceed the budget of entries per array: a
    Jacobian grows as the product of two sizes, and its claim is evaluated whole.

    Raises:
        DiffcheckError: naming the claim, its entries and the budget.
    """
    for claim in claims:
        if claim.entries > MAX_ARRAY_ENTRIES:
            at = f" at {label}" if label else ""
            raise DiffcheckError(
                f"the claimed {claim.kind} of '{claim.name}' has {claim.entries:_} entries{at}, "
                f"above the budget of {MAX_ARRAY_ENTRIES:_} per array: claim a vjp (what a "
                "backward pass returns) instead"
            )


def compare_entries(
    result: ClaimResult,
    point: int,
    reference: np.ndarray,
    claimed: np.ndarray,
    tolerance: Tolerance,
    settle: Any = None,
    suspect: bool = False,
    bounds: Any = None,
) -> None:
    """Compare every entry at one point and fold it into `result`.

    Args:
        settle: a callable giving (reference, claim) in mpmath as object arrays, for the
            entries float64 cannot decide; None when the arrays are too large for it.
        suspect: float64 overflowed on the way to the reference or the claim at this
            point, so every wrong entry is doubtful too. Where mpmath cannot reach a
            doubtful entry's values, the point is left out (`ClaimResult.unreachable`);
            without `settle`, so is a point where a doubtful entry's reference is infinite
            (`ClaimResult.overflowed`): "expected inf, claimed inf" decides nothing.
        bounds: a callable giving how far float64 rounding may have moved each entry of
            the reference and of the claim (or None): called only where an entry is not
            close, to tell a wrong entry from rounding noise.
    """
    reference = np.broadcast_to(np.asarray(reference, dtype=float), result.shape)
    claimed = np.broadcast_to(np.asarray(claimed, dtype=float), result.shape)
    ratio = np.asarray(excess(claimed, reference, tolerance), dtype=float)
    with np.errstate(all="ignore"):
        difference = np.abs(claimed - reference)
    finite = bool(np.isfinite(difference).all())  # both sides finite everywhere
    scale = max(_scale(reference, finite), _scale(claimed, finite))
    found = bounds() if bounds is not None and (ratio > 1).any() else None
    found = None if found is None else tuple(np.broadcast_to(b, result.shape) for b in found)
    masks = doubtful_entries(reference, claimed, ratio, difference, scale, finite, suspect,
                             found, tolerance)  # fmt: skip
    texts: dict[tuple[int, ...], tuple[str, str]] = {}
    if settle is None and masks is not None and (masks[0] & np.isinf(reference)).any():
        result.overflowed += 1  # an inf reference float64 cannot decide against: left out
        return
    settled = None if masks is None else settle_point(result, ratio, masks, settle, tolerance,
                                                      reference, claimed, found)  # fmt: skip
    if settled is not None and settled.beyond is not None:  # float64's inf decides nothing
        result.unreachable += 1
        result.beyond = result.beyond or (point, settled.beyond)
        return
    if settled is not None:
        ratio, texts = settled.ratio, settled.texts
        if settled.settled:
            reference, claimed = settled.reference, settled.claimed
            with np.errstate(all="ignore"):
                difference = np.abs(claimed - reference)
            finite = bool(np.isfinite(difference).all())
    wrong = ratio > 1
    result.checked += 1
    _fold_errors(result, reference, difference, finite)
    if wrong.any():
        result.wrong_points += 1
    plain = plain_entries(wrong, masks, suspect, settle is not None, texts)
    _keep_worst(result, point, reference, claimed, ratio, wrong, texts, difference, scale, plain)


def compare_blocks(
    result: ClaimResult,
    point: int,
    blocks: Iterable[tuple[int, np.ndarray]],
    claimed: np.ndarray,
    tolerance: Tolerance,
) -> None:
    """`compare_entries` for a Jacobian too large to hold: the reference comes as blocks
    of rows (first row, rows; a row per function entry in row-major order), each compared
    at every entry with the claim's rows and dropped. What is kept between blocks is the
    map of wrong entries and their differences, never the reference: an entry apart by
    no more than rounding of the Jacobian's scale, known only once every block is seen,
    is not called wrong (as `compare_entries` without mpmath)."""
    leading = result.shape[: result.leading]
    claim_rows = np.broadcast_to(np.asarray(claimed, dtype=float), result.shape)
    claim_rows = claim_rows.reshape(int(np.prod(leading)), -1)
    seen = _Blocks(scale=_scale(claim_rows))
    for start, reference in blocks:
        reference = np.asarray(reference, dtype=float).reshape(len(reference), -1)
        seen.add(result, start, reference, claim_rows[start : start + len(reference)],
                 tolerance)  # fmt: skip
    result.checked += 1
    wrong, worst = seen.finish(result, point, claim_rows)
    if wrong.any():
        result.wrong_points += 1
    if _replace_worst(result, worst, int(wrong.sum()), wrong.reshape(result.shape)):
        result.expected = result.claimed = None  # not held whole: no pattern diagnosis


@dataclass
class _Blocks:
    """What `compare_blocks` keeps between blocks."""

    scale: float  # the largest finite magnitude seen, claim and reference
    flats: list[np.ndarray] = field(default_factory=list)  # entries not close, row-major
    gaps: list[np.ndarray] = field(default_factory=list)  # their differences; inf where
    # rounding cannot explain them (not finite, or nothing allowed)
    top: tuple | None = None  # (key, flat, reference, claimed, ratio, difference): the
    fixed: tuple | None = None  # largest difference not close; the largest with gap inf
    closest: tuple | None = None  # (ratio, flat, reference, claimed): least close right

    def add(self, result: ClaimResult, start: int, reference: np.ndarray, claim: np.ndarray,
            tolerance: Tolerance) -> None:  # fmt: skip
        ratio = np.asarray(excess(claim, reference, tolerance), dtype=float)
        with np.errstate(all="ignore"):
            difference = np.abs(claim - reference)
        finite = bool(np.isfinite(difference).all())
        self.scale = max(self.scale, _scale(reference, finite))
        _fold_errors(result, reference, difference, finite)
        width, apart = reference.shape[1], ratio > 1
        if apart.any():
            rows, columns = np.nonzero(apart)
            flats = (start + rows) * width + columns
            gaps = np.where(np.isfinite(ratio[apart]), difference[apart], np.inf)
            self.flats.append(flats)
            self.gaps.append(gaps)
            keys = np.where(np.isfinite(difference[apart]), difference[apart], np.inf)
            self.top = _larger(self.top, keys, flats, rows, columns, reference, claim, ratio,
                               difference)  # fmt: skip
            fixed = np.where(gaps == np.inf, keys, -1.0)
            if fixed.max() >= 0:
                self.fixed = _larger(self.fixed, fixed, flats, rows, columns, reference, claim,
                                     ratio, difference)  # fmt: skip
        close = np.where(apart, -1.0, ratio)
        if close.size and (self.closest is None or close.max() > self.closest[0]):
            row, column = np.unravel_index(int(np.argmax(close)), close.shape)
            self.closest = (float(close[row, column]), (start + int(row)) * width + int(column),
                            reference[row, column], claim[row, column])  # fmt: skip

    def finish(self, result: ClaimResult, point: int, claim_rows: np.ndarray):  # noqa: ANN201
        """The map of wrong entries, and this point's worst entry as a `Worst`."""
        wrong = np.zeros(claim_rows.size, dtype=bool)
        if self.flats:
            flats, gaps = np.concatenate(self.flats), np.concatenate(self.gaps)
            rounding = gaps <= ROUNDING_ULPS * EPS * self.scale
            result.rounding += int(rounding.sum())
            wrong[flats[~rounding]] = True
        if wrong.any():
            # the largest difference is wrong unless rounding explains it; then so it does
            # every other finite one, and the wrong entries are those with gap inf
            _, flat, expected, claimed, ratio, difference = (
                self.top if wrong[self.top[1]] else self.fixed)  # fmt: skip
            scale = max(self.scale, np.finfo(float).tiny)
            score = difference / scale if np.isfinite(difference) else np.inf
        else:
            fallback = None if self.top is None else (0.0, *self.top[1:4])
            ratio, flat, expected, claimed = self.closest or fallback or (0.0, 0, 0.0, 0.0)
            score = ratio
        shape = result.shape
        index = tuple(int(i) for i in np.unravel_index(int(flat), shape)) if shape else ()
        worst = Worst(point, index, float(expected), float(claimed), float(ratio), float(score))
        return wrong, worst


def _larger(kept, keys, flats, rows, columns, reference, claim, ratio, difference):  # noqa: ANN001, ANN202
    """The entry of the largest key among these and `kept` (the first on a tie)."""
    top = int(np.argmax(keys))
    if kept is not None and not keys[top] > kept[0]:
        return kept
    row, column = int(rows[top]), int(columns[top])
    return (float(keys[top]), int(flats[top]), reference[row, column], claim[row, column],
            ratio[row, column], difference[row, column])  # fmt: skip


def _fold_errors(result: ClaimResult, reference: np.ndarray, difference: np.ndarray,
                 finite: bool) -> None:  # fmt: skip
    """The largest absolute and relative errors over the entries whose difference is
    finite; a relative error of an entry equal to its reference is 0, even at 0."""
    kept = difference if finite else difference[np.isfinite(difference)]
    if not kept.size:
        return
    with np.errstate(all="ignore"):
        relative = kept / np.abs(reference if finite else reference[np.isfinite(difference)])
    result.max_abs_error = max(result.max_abs_error, float(kept.max()))
    # 0/0 is NaN, which fmax passes over; every other quotient is at least 0
    result.max_rel_error = max(
        result.max_rel_error, float(np.fmax.reduce(relative, axis=None, initial=0.0))
    )


def _scale(values: np.ndarray, finite: bool = False) -> float:
    """The largest magnitude among the finite entries (0 for none)."""
    if finite and values.size:  # two reductions, no temporary array
        return float(max(values.max(), -values.min()))
    finite_values = np.abs(values[np.isfinite(values)])
    return float(finite_values.max()) if finite_values.size else 0.0


def _keep_worst(result, point, reference, claimed, ratio, wrong, texts,  # noqa: ANN001
                difference, scale, plain=None) -> None:  # noqa: ANN001 # fmt: skip
    """Keep this point's worst entry if it is the worst so far (by more than WORST_TIE).
    Among wrong entries the worst is the largest difference for the array's scale (an
    entry whose reference is nearly 0 has a huge relative error but says little), taken
    among those float64 decided (`plain`) when there are any; a right claim keeps its
    least close entry."""
    count = int(wrong.sum())
    plain = wrong if plain is None else plain
    if count:
        scale = max(scale, np.finfo(float).tiny)
        among = plain if plain.any() else wrong
        with np.errstate(all="ignore"):
            score = np.where(among, np.where(np.isfinite(difference), difference / scale, np.inf),
                             -1)  # fmt: skip
    else:
        undecided = np.isnan(ratio)
        score = np.where(undecided, np.inf, ratio) if undecided.any() else ratio
    flat = int(np.argmax(score)) if score.size else 0
    index = tuple(int(i) for i in np.unravel_index(flat, result.shape)) if result.shape else ()
    value = float(score.reshape(-1)[flat]) if score.size else 0.0
    expected_text, claimed_text = texts.get(index, (None, None))
    worst = Worst(point, index, float(reference[index]), float(claimed[index]),
                  float(ratio[index]), value, expected_text, claimed_text,
                  bool(np.asarray(plain)[index]) or not count)  # fmt: skip
    if _replace_worst(result, worst, count, wrong):
        result.expected = np.array(reference)
        result.claimed = np.array(claimed)


def _replace_worst(result: ClaimResult, worst: Worst, count: int, wrong: np.ndarray) -> bool:
    """Make `worst` (with `count` wrong entries at its point) the claim's worst, unless the
    one kept is at least as bad."""
    previous = result.worst
    if previous is not None and (count > 0, worst.plain, worst.score) <= (
        result.wrong_entries > 0,
        previous.plain,
        previous.score * (1 + WORST_TIE),
    ):
        return False
    result.worst = worst
    result.wrong_entries = count
    result.wrong_map = np.array(wrong)
    return True
