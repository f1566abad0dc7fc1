"""Comparison stage: the one closeness test, and claims and oracles held to the reference."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from diffcheck.cases.loader import Tolerance
from diffcheck.compare import Comparison, compare_gradient, excess
from diffcheck.compare.judging import oracle_discrepancy, rejudge
from diffcheck.compare.partial import Partial
from diffcheck.compare.verdict import Verdict, decide_verdict
from diffcheck.oracles import Problem, exact
from diffcheck.oracles.exact import ExactValues
from diffcheck.symbolic.parse import parse_expression

DEFAULT = Tolerance(rtol=1e-7, atol=1e-12)


def p(text: str) -> sp.Expr:
    return parse_expression(text)


def compare(
    function: str, claims: dict[str, str], points: list[list[float]], tolerance: Tolerance = DEFAULT
) -> Comparison:
    expr = p(function)
    variables = tuple(sorted(symbol.name for symbol in expr.free_symbols))
    problem = Problem.derive(expr, variables, variables)
    return compare_gradient(
        problem,
        {name: p(text) for name, text in claims.items()},
        np.array(points, dtype=float),
        tolerance,
    )


# ---- excess -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidate", "reference", "tolerance", "expected"),
    [
        (1.0 + 2e-7, 1.0, Tolerance(rtol=1e-7, atol=0.0), 2.0),
        (1.0, 1.0, Tolerance(rtol=0.0, atol=0.0), 0.0),
        (0.0, 0.0, Tolerance(rtol=0.0, atol=0.0), 0.0),
        (1e-12, 0.0, Tolerance(rtol=1e-7, atol=1e-12), 1.0),
        (3.0, 1.0, Tolerance(rtol=0.5, atol=1.0), 2 / 1.5),
        (1.0, 2.0, Tolerance(rtol=0.0, atol=0.0), float("inf")),
        (float("nan"), 1.0, Tolerance(rtol=1e-7, atol=0.0), float("inf")),
        (1.0, float("nan"), Tolerance(rtol=1e-7, atol=0.0), float("inf")),
        (float("inf"), float("inf"), Tolerance(rtol=1e-7, atol=0.0), float("inf")),
    ],
)
def test_excess_scalars(
    candidate: float, reference: float, tolerance: Tolerance, expected: float
) -> None:
    assert float(excess(candidate, reference, tolerance)) == pytest.approx(expected, rel=1e-9)


def test_excess_arrays_treat_nan_as_not_close() -> None:
    tolerance = Tolerance(rtol=1e-7, atol=0.0)
    ratio = excess(
        np.array([1.0, np.nan, 0.0, 2.0, np.inf]),
        np.array([1.0, 1.0, 0.0, np.nan, np.inf]),
        tolerance,
    )
    assert ratio[0] == 0.0
    assert np.isinf(ratio[1]) and np.isinf(ratio[3])
    assert ratio[2] == 0.0
    assert not ratio[4] <= 1  # inf - inf is not "close"


def test_excess_slack_widens_the_tolerance() -> None:
    tolerance = Tolerance(rtol=0.0, atol=1e-3)
    assert float(excess(1.004, 1.0, tolerance)) == pytest.approx(4.0)
    assert float(excess(1.004, 1.0, tolerance, slack=3e-3)) == pytest.approx(1.0)


def test_excess_works_on_mpmath_numbers() -> None:
    ctx = mpmath.MPContext()
    ctx.dps = 50
    ratio = excess(ctx.mpf(1) + ctx.mpf(10) ** -40, ctx.mpf(1), Tolerance(rtol=1e-45, atol=0))
    assert float(ratio) == pytest.approx(1e5)
    assert excess(ctx.nan, ctx.mpf(1), Tolerance(rtol=1e-7, atol=0)) == float("inf")


# ---- compare_gradient -----------------------------------------------------------------------


def test_compare_gradient_correct_claim_everywhere_close() -> None:
    comparison = compare(
        "sigmoid(x)", {"x": "sigmoid(x)*(1 - sigmoid(x))"}, [np.linspace(-30, 30, 13).tolist()]
    )
    (result,) = comparison.results
    assert comparison.usable.all()
    assert result.name == "x" and result.checked.all()
    assert not result.claimed.failing.any()
    assert set(result.oracles) >= {"finite"}
    assert not result.oracles["finite"].failing.any()


def test_compare_gradient_wrong_claim_fails_with_its_worst_point() -> None:
    comparison = compare("tanh(x)", {"x": "1 - tanh(x)"}, [[-3.0, -1.0, 0.5]])
    (result,) = comparison.results
    claimed = result.claimed
    assert claimed.failing.tolist() == [True, True, True]
    assert claimed.worst(claimed.failing) == 0  # at x = -3 the claim is 200 times too big
    assert claimed.values[0] == pytest.approx(1 - np.tanh(-3.0), rel=1e-15)
    assert result.reference[0] == pytest.approx(1 - np.tanh(-3.0) ** 2, rel=1e-14)


def test_compare_gradient_marks_undefined_points() -> None:
    comparison = compare("log(x)", {"x": "1/x"}, [[-1.0, 1.0, 2.0]])
    assert comparison.undefined.tolist() == [True, False, False]
    assert comparison.usable.tolist() == [False, True, True]


def test_compare_gradient_marks_kink_points() -> None:
    comparison = compare("relu(x) + abs(y - 1)", {}, [[0.0, 1.0, 2.0], [0.0, 1.0, 3.0]])
    assert comparison.at_kink.tolist() == [True, True, False]
    assert comparison.usable.tolist() == [False, False, True]


def test_compare_gradient_marks_overflow_and_refines_it() -> None:
    comparison = compare("exp(x)/(1 + exp(x))^2", {}, [[800.0, -800.0, 0.5, 750.0]])
    assert comparison.overflowed.tolist() == [True, False, False, True]
    assert comparison.usable.all()


def test_compare_gradient_refines_float64_cancellation() -> None:
    comparison = compare(
        "tanh(x)", {"x": "1/cosh(x)^2"}, [[19.0, 0.5]], Tolerance(rtol=1e-7, atol=0.0)
    )
    (result,) = comparison.results
    assert result.reference[0] == pytest.approx(1.2557e-16, rel=1e-4)  # float64 says 0
    assert not result.claimed.failing.any()
    assert result.artefacts >= 1


def test_compare_gradient_multiple_variables_in_wrt_order() -> None:
    expr = p("x*y^2")
    problem = Problem.derive(expr, ("y", "x"), ("x", "y"))
    comparison = compare_gradient(
        problem, {"x": p("y^2")}, np.array([[1.0, 2.0], [3.0, 4.0]]), DEFAULT
    )
    assert [result.name for result in comparison.results] == ["y", "x"]
    assert comparison.results[0].claimed is None
    assert comparison.results[1].claimed is not None
    assert np.allclose(comparison.results[0].reference, [6.0, 16.0])


def test_an_oracle_may_be_four_of_its_error_bars_off() -> None:
    # error bars are estimates: a disagreement counts beyond 4 of them (plus rtol FD_RTOL)
    reference = np.ones(4)
    errors = np.full(4, 1e-4)
    values = reference + np.array([-3.9e-4, 3.9e-4, -4.1e-4, 4.1e-4])
    judged = oracle_discrepancy("finite", "central", values, errors, reference,
                                Tolerance(rtol=1e-7, atol=0.0), np.ones(4, dtype=bool))  # fmt: skip
    assert judged.failing.tolist() == [False, False, True, True]
    assert not judged.unreliable.any()


# ---- settling only what can change the verdict ---------------------------------------------


def _count_refinements(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record every point that is settled in mpmath."""
    calls: list[int] = []
    original = exact.refine_at

    def counting(program, point, negligible=0.0):
        calls.append(1)
        return original(program, point, negligible)

    monkeypatch.setattr(exact, "refine_at", counting)
    return calls


def _verdict(comparison: Comparison) -> Verdict:
    return decide_verdict(comparison, DEFAULT)


def test_a_wrong_claim_settles_one_point_in_mpmath(monkeypatch: pytest.MonkeyPatch) -> None:
    points = [np.linspace(0.5, 3, 64).tolist()]  # not symmetric: no tie for the worst
    calls = _count_refinements(monkeypatch)
    comparison = compare("x^3", {"x": "3*x^2 + 1"}, points)
    assert len(calls) == 1
    verdict = _verdict(comparison)
    assert verdict.verdict == "incorrect"
    (result,) = comparison.results
    assert result.refined == 1 and not result.unexamined
    assert int(result.claimed.failing.sum()) == 64  # the others are decided in float64
    # the counterexample is the one that settling every point gives
    monkeypatch.setattr(Partial, "decisive", lambda self, doubtful, disputed: doubtful)
    calls.clear()
    everywhere = compare("x^3", {"x": "3*x^2 + 1"}, points)
    assert len(calls) == 64
    assert _verdict(everywhere).counterexample == verdict.counterexample
    assert _verdict(everywhere).evidence == verdict.evidence


def test_points_float64_cannot_decide_are_all_settled(monkeypatch: pytest.MonkeyPatch) -> None:
    # at x >= 19, 1 - tanh(x)^2 is 0.0 in float64, and so is a claim twice it: rounding,
    # not a clear difference, so every such point goes to mpmath
    calls = _count_refinements(monkeypatch)
    exactly = Tolerance(rtol=1e-7, atol=0.0)
    comparison = compare("tanh(x)", {"x": "2*(1 - tanh(x)^2)"}, [[19.0, 20.0, 21.0]], exactly)
    assert len(calls) == 3
    assert decide_verdict(comparison, exactly).verdict == "incorrect"


def test_clearly_wrong_leaves_out_points_in_rounding_doubt() -> None:
    # at x = 17 float64 keeps a few bits of 1 - tanh(x)^2 (6.9e-15): the two sides differ
    # in float64, but by no more than the cancellation may have moved them
    values = ExactValues([p("1 - tanh(x)^2"), p("2*(1 - tanh(x)^2)")], ["x"],
                         np.array([[0.5, 17.0]]))  # fmt: skip
    partial = Partial(values, 0, 1, Tolerance(rtol=1e-7, atol=0.0))
    doubtful = partial.doubtful()
    assert values.values[0][1] != values.values[1][1]
    assert doubtful.tolist() == [True, True]
    assert partial.clearly_wrong(doubtful).tolist() == [True, False]


def test_decisive_keeps_the_worst_clear_point_and_every_disputed_one() -> None:
    values = ExactValues([p("x"), p("x + 1/x")], ["x"], np.array([[1.0, 0.5, 0.25, 2.0]]))
    partial = Partial(values, 0, 1, DEFAULT)
    doubtful = partial.doubtful()
    disputed = np.array([False, False, False, True])
    # 1/x is largest at 0.25; the disputed point is settled whatever its excess
    assert partial.decisive(doubtful, disputed).tolist() == [False, False, True, True]


def test_rejudging_with_nothing_changed_gives_the_same_discrepancy() -> None:
    reference = np.array([1.0, 2.0, 3.0])
    checked = np.array([True, True, False])
    draft = oracle_discrepancy("finite", "central", reference + 1e-3, np.full(3, 1e-9),
                               reference, DEFAULT, checked)  # fmt: skip
    assert rejudge(draft, reference, DEFAULT, checked) is draft
    assert rejudge(draft, reference, DEFAULT, checked.copy()) is draft
    other = rejudge(draft, reference, DEFAULT, np.ones(3, dtype=bool))
    assert other is not draft and other.failing.tolist() == [True, True, True]
    moved = rejudge(draft, reference + 1e-3, DEFAULT, checked)
    assert not moved.failing.any()


def test_the_reference_against_itself_is_judged_without_a_pass() -> None:
    reference = np.array([1.0, np.inf, np.nan, 0.0])
    checked = np.array([True, True, True, False])
    fast = oracle_discrepancy("exact", "float64", reference, np.zeros(4), reference, DEFAULT,
                              checked)  # fmt: skip
    slow = oracle_discrepancy("exact", "float64", reference.copy(), np.zeros(4), reference,
                              DEFAULT, checked)  # fmt: skip
    assert fast.excess.tolist() == slow.excess.tolist()
    assert fast.unreliable.tolist() == slow.unreliable.tolist()


def test_the_reference_against_itself_everywhere_finite_is_all_zeros() -> None:
    reference = np.array([1.0, -2.0, 0.0])
    checked = np.array([True, False, True])
    judged = oracle_discrepancy("exact", "float64", reference, np.zeros(3), reference, DEFAULT,
                                checked)  # fmt: skip
    assert judged.excess.tolist() == [0.0, 0.0, 0.0]
    assert judged.unreliable.tolist() == [False, True, False]


@pytest.mark.parametrize("tolerance", [DEFAULT, Tolerance(rtol=1e-3, atol=0.0)])
def test_an_oracle_is_judged_by_the_one_closeness_test_bit_for_bit(tolerance: Tolerance) -> None:
    from diffcheck.compare.closeness import FD_RTOL, FD_SAFETY
    from diffcheck.oracles.finite import USEFUL

    inf, nan = np.inf, np.nan
    reference = np.array([1.0, 1.0, 0.0, 0.0, inf, inf, nan, 1e300, -3.0, 2.0, 2.0, 1.0, 5.0,
                          0.0])  # fmt: skip
    values = np.array([1.0 + 3e-7, 1.1, 0.0, 1e-13, inf, 1.0, 1.0, -1e300, -3.0, nan, 2.5, 1.5,
                       5.5, 0.0])  # fmt: skip
    errors = np.array([1e-8, 1e-2, 0.0, 0.0, 0.0, inf, 0.0, 1.0, nan, 0.0, inf, nan, 0.2, inf])
    checked = np.ones(reference.size, dtype=bool)
    checked[-2] = False
    judged = oracle_discrepancy("finite", "central", values, errors, reference, tolerance,
                                checked)  # fmt: skip
    bar = FD_SAFETY * errors
    with np.errstate(all="ignore"):
        size = np.fmax(np.abs(values), np.abs(reference)) * USEFUL + tolerance.atol
        reliable = (bar <= size) & checked & np.isfinite(values) & np.isfinite(reference)
    slack = np.where(np.isfinite(bar), bar, 0.0)
    widened = Tolerance(rtol=max(tolerance.rtol, FD_RTOL), atol=tolerance.atol)
    assert judged.excess.tobytes() == excess(values, reference, widened, slack).tobytes()
    assert judged.unreliable.tolist() == (~reliable).tolist()


def test_oracles_judged_in_one_pass_are_each_judged_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # judge_sources reads the reference once for every oracle, chunk by chunk (in two
    # threads here): each oracle's excess, unreliable and failing points are those it
    # has judged alone, and the claim's judgement comes from the same chunks
    from diffcheck.compare.judging import judge_sources
    from diffcheck.oracles import chunks

    monkeypatch.setattr(chunks, "CHUNK", 7)
    monkeypatch.setattr(chunks, "PARALLEL_POINTS", 1)
    monkeypatch.setattr(chunks, "_spare_core", lambda: True)
    rng = np.random.default_rng(3)
    count = 40
    reference = rng.normal(size=count)
    reference[[1, 5, 9]] = [np.inf, np.nan, 0.0]
    checked = rng.random(count) < 0.8
    sources = []
    for scale in (1e-7, 1e-3):
        values = reference + scale * rng.normal(size=count)
        values[[2, 9, 11]] = [np.nan, 0.0, np.inf]
        errors = np.abs(scale * rng.normal(size=count))
        errors[[3, 4]] = [np.inf, np.nan]
        sources.append((values, errors))
    spans: list[slice] = []

    def also(span: slice) -> tuple[np.ndarray, ...]:
        spans.append(span)
        return (reference[span] * 2, reference[span] > 0)

    judged, disputed, (doubled, positive) = judge_sources(sources, reference, DEFAULT, checked,
                                                          also)  # fmt: skip
    expected_disputed = np.zeros(count, dtype=bool)
    for (values, errors), (ratio, unreliable, failing) in zip(sources, judged, strict=True):
        alone = oracle_discrepancy("o", "m", values, errors.copy(), reference, DEFAULT, checked)
        assert ratio.tobytes() == alone.excess.tobytes()
        assert unreliable.tolist() == alone.unreliable.tolist()
        assert failing.tolist() == ((alone.excess > 1) & ~alone.unreliable).tolist()
        expected_disputed |= failing
    assert judged[1][2].any() and not judged[1][2].all()  # both kinds of point are there
    assert disputed.tolist() == expected_disputed.tolist()
    assert doubled.tobytes() == (reference * 2).tobytes()
    assert positive.tolist() == (reference > 0).tolist()
    assert len(spans) == 6


def test_a_claim_judged_in_spans_is_judged_as_a_whole() -> None:
    # a claim's excess and doubtful points at any cut into spans: non-finite values on
    # either side, cancellation (x = 17) and a clear difference are doubtful
    points = np.array([[0.5, 17.0, -1.0, 0.0, 3.0, 2.0]])
    values = ExactValues([p("1/x + 2*x"), p("1 - tanh(x)^2"), p("2*(1 - tanh(x)^2) + log(x - 1)")],
                         ["x"], points)  # fmt: skip
    partial = Partial(values, 1, 2, DEFAULT)
    whole = partial.judge_span(slice(0, 6))
    parts = [partial.judge_span(slice(start, start + 2)) for start in range(0, 6, 2)]
    for kept, cut in zip(whole, zip(*parts, strict=True), strict=True):
        assert kept.tobytes() == np.concatenate(cut).tobytes()
    doubtful = partial.doubtful()
    assert doubtful.tolist() == whole[1].tolist()
    assert doubtful.tolist() == [True, True, True, True, True, True]
    assert partial.excess.tobytes() == whole[0].tobytes()
    alone = Partial(values, 0, None, DEFAULT)  # 1/x + 2x: not finite at 0 only
    assert alone.doubtful().tolist() == [False, False, False, True, False, False]


def _judged_by_the_formula(values: np.ndarray, errors: np.ndarray, reference: np.ndarray,
                           checked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """An oracle's excess and unreliable points as the closeness test defines them,
    written out with none of the judging's shortcuts."""
    from diffcheck.compare.closeness import FD_RTOL, FD_SAFETY
    from diffcheck.oracles.finite import USEFUL

    bar = FD_SAFETY * errors
    with np.errstate(all="ignore"):
        size = np.fmax(np.abs(values), np.abs(reference)) * USEFUL + DEFAULT.atol
        reliable = (bar <= size) & checked & np.isfinite(values) & np.isfinite(reference)
    slack = np.where(np.isfinite(bar), bar, 0.0)
    widened = Tolerance(rtol=max(DEFAULT.rtol, FD_RTOL), atol=DEFAULT.atol)
    return excess(values, reference, widened, slack), ~reliable


@pytest.mark.parametrize("kind", ["agreeing", "wide bars", "unchecked", "not finite", "apart"])
def test_judging_shortcuts_give_what_the_formula_gives(kind: str) -> None:
    # judging skips passes where they cannot change anything: the oracle's own size when
    # every bar is within the reference's share, the finiteness tests when every ratio is
    # finite, the checked mask when it is all True; each such case against the formula
    rng = np.random.default_rng(11)
    count = 5000
    reference = rng.normal(size=count) * 10.0 ** rng.integers(-8, 8, count)
    values = reference * (1 + 1e-9 * rng.normal(size=count))
    errors = np.abs(reference) * 1e-10
    checked = np.ones(count, dtype=bool)
    if kind == "wide bars":  # reliable only thanks to the oracle's own, larger value (and
        # so far from the reference that it fails there)
        values[::7] = reference[::7] * 1e3
        errors[::7] = np.abs(reference[::7]) * 10
    elif kind == "unchecked":
        checked[::5] = False
    elif kind == "not finite":
        values[[3, 10]] = [np.inf, np.nan]
        reference[[20, 30]] = [-np.inf, np.nan]
        errors[40] = np.inf
    elif kind == "apart":
        values[::3] = reference[::3] + 1.0
    judged = oracle_discrepancy("finite", "central", values, errors, reference, DEFAULT, checked)
    ratio, unreliable = _judged_by_the_formula(values, errors, reference, checked)
    assert judged.excess.tobytes() == ratio.tobytes()
    assert judged.unreliable.tolist() == unreliable.tolist()
    assert judged.failing.tolist() == ((ratio > 1) & ~unreliable).tolist()
    # each case does reach the part of judging it is about
    assert judged.unreliable.any() == (kind in ("unchecked", "not finite"))
    assert judged.failing.any() == (kind in ("apart", "wide bars"))


@pytest.mark.parametrize("rtol", [1e-7, 1e-16, 0.0])
@pytest.mark.parametrize("factor", [1.0, 40.0, np.inf, None])
def test_a_claims_rounding_doubt_is_what_the_bounds_give(rtol: float, factor: float | None
                                                         ) -> None:  # fmt: skip
    # the rounding bound 16 eps factor |v| against atol + rtol |v| is read off a factor
    # that is one number everywhere where that number decides it; with per-point factors
    # or a bound beyond rtol, point by point
    from diffcheck.compare.partial import _judge_claim
    from diffcheck.oracles.exact import rounding_bound

    rng = np.random.default_rng(5)
    count = 400
    reference = rng.normal(size=count) * 10.0 ** rng.integers(-15, 6, count)
    claim = reference * (1 + 1e-15 * rng.normal(size=count))
    claim[[1, 2]], reference[3] = [np.nan, np.inf], np.nan
    tolerance = Tolerance(rtol=rtol, atol=1e-12)
    if factor is None:  # per point: 1 mostly, some large, one inf
        conditioning = np.where(rng.random(count) < 0.9, 1.0, 1e6)
        conditioning[7] = np.inf
    else:
        conditioning = np.broadcast_to(factor, (count,))
    with np.errstate(all="ignore"):
        ratio, doubtful = _judge_claim(reference, conditioning, claim, conditioning, tolerance)
        expected = (excess(claim, reference, tolerance) > 1) | ~np.isfinite(claim)
        expected |= ~np.isfinite(reference)
        for side in (reference, claim):
            expected |= ~(rounding_bound(side, conditioning) <= tolerance.atol
                          + tolerance.rtol * np.abs(side))  # fmt: skip
    assert ratio.tobytes() == excess(claim, reference, tolerance).tobytes()
    assert doubtful.tolist() == expected.tolist()
    # the rounding bound does decide some points unless it is within rtol
    within = factor is not None and 16 * exact.EPS * factor <= rtol
    assert (doubtful & np.isfinite(claim) & np.isfinite(reference)).any() != within
