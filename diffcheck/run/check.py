"""Run stage: case files -> one `CaseResult` per case, within a time limit per case.

Main functions: `check_case` (derive, prove, sample points, compare, decide) and
`check_paths` (find the case files below the given paths and check every case). An
invalid case, a runaway case or a crash becomes an `error` result; the run goes on.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import sympy as sp

from ..cases.array_model import ArrayCase
from ..cases.loader import CASE_SUFFIXES, Case, Interval, InvalidCase, load_case_file
from ..cases.nodes import Expression
from ..compare import ORACLES, Comparison, VariableResult, compare_gradient
from ..compare.array_verdict import decide_array_verdict
from ..compare.diagnosis import doubted
from ..compare.verdict import Verdict, combine_verdicts, decide_verdict
from ..errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CaseTimeout, DiffcheckError, Location
from ..limits import RECURSION_LIMIT, BudgetExceeded, deep_recursion, recursion_limit, time_limit
from ..oracles.external import ExternalAutodiff
from ..oracles.finite import FiniteDifferences
from ..oracles.implementation import ImplementationError, evaluate_implementation
from ..oracles.problem import Problem
from ..oracles.reverse import ForwardOverReverse
from ..symbolic.derive import DEFAULT_PROOF_BUDGET, prove_equal
from ..symbolic.resolution import Resolution
from ..symbolic.written import parse_as_written
from .array_check import ArrayComparison, compare_array_case

__all__ = [
    "CASE_SUFFIXES",
    "DEFAULT_TIMEOUT",
    "CaseResult",
    "SecondOrder",
    "Settings",
    "check_case",
    "check_paths",
    "exit_code",
    "find_case_files",
    "invalid_result",
    "prove_unrefuted",
    "refuted",
    "sample_points",
]

DEFAULT_TIMEOUT = 60.0  # seconds per case


@dataclass(frozen=True)
class Settings:
    """Run-wide settings; None leaves each case's own value."""

    samples: int | None = None
    seed: int | None = None
    timeout: float | None = DEFAULT_TIMEOUT
    proof_budget: float = DEFAULT_PROOF_BUDGET
    allow_import: bool = True  # False: refuse cases naming code to import (untrusted files)
    autodiff: tuple[str, ...] = ()  # frameworks whose autograd joins the oracles


@dataclass(frozen=True)
class SecondOrder:
    """One claimed Hessian entry, ∂²f/∂a∂b, compared like a partial of ∂f/∂a."""

    pair: tuple[str, str]
    label: str
    comparison: Comparison
    verdict: Verdict


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case, or of one unreadable file or case (status "error")."""

    file: str
    name: str | None
    location: Location
    status: str  # pass | fail | error
    expect: str | None = None
    verdict: Verdict | None = None
    case: Case | None = None
    comparison: Comparison | None = None
    errors: tuple[DiffcheckError, ...] = ()
    error_kind: str | None = None  # invalid | timeout | implementation | crash
    traceback: str | None = None
    second_order: tuple[SecondOrder, ...] = ()
    arrays: ArrayComparison | None = None  # an array case's comparison, claim by claim

    @property
    def message(self) -> str | None:
        return "; ".join(str(error) for error in self.errors) if self.errors else None


NOTHING_TO_CHECK = "nothing to check: samples is 0 and the case has no points"


def sample_points(case: Case, samples: int, seed: int) -> np.ndarray:
    """The case's explicit points, then `samples` random ones; one row per variable.

    Random values come from one `numpy.random.Generator` seeded with `seed`, drawn
    variable by variable in sorted order, so the same seed gives the same points.
    """
    rng = np.random.default_rng(seed)
    explicit = len(case.points)
    points = np.empty((len(case.variables), explicit + samples))
    for row, name in enumerate(case.variables):
        points[row, :explicit] = [point[name] for point in case.points]
        domain = case.domain.get(name)
        if isinstance(domain, Interval):
            points[row, explicit:] = rng.uniform(domain.low, domain.high, samples)
        else:  # a fixed value (samples is 0 when a variable has no domain at all)
            points[row, explicit:] = np.nan if domain is None else domain
    return points


def _as_written(claim: Expression) -> sp.Expr:
    """The claim without SymPy's simplifications, as its numbers are computed."""
    written = parse_as_written(claim.text)
    return claim.expr if written is None else written


def _written_function(case: Case, problem: Problem) -> sp.Expr | None:
    """The function as written where SymPy's reading differs from it: sqrt(x)**2 reads
    as x, but is not defined at x < 0, and x**2/x is not defined at 0."""
    with sp.evaluate(False):  # the intermediates as written too
        definitions = [
            (sp.Symbol(name), _as_written(expression)) for name, expression in case.where
        ]
        written = Resolution(definitions).resolve(_as_written(case.function))
    return None if written == problem.function else written


def _judge(case: Case | ArrayCase, settings: Settings) -> CaseResult:
    if isinstance(case, ArrayCase):
        return _judge_array(case, settings)
    problem = Problem.derive(case.resolve(case.function.expr), case.wrt, case.variables)
    claims = {name: case.resolve(claim.expr) for name, claim in case.gradient.items()}
    # evaluated as written: SymPy's x/x is 1, but the claim x/x cannot be evaluated at 0
    written = {name: case.resolve(_as_written(claim)) for name, claim in case.gradient.items()}
    samples = case.samples if settings.samples is None else settings.samples
    seed = case.seed if settings.seed is None else settings.seed
    points = sample_points(case, samples, seed)
    if points.shape[1] == 0:
        raise DiffcheckError(NOTHING_TO_CHECK)
    code = None
    if case.implementation is not None:
        code = evaluate_implementation(case, points, settings.allow_import)
    oracles = (*ORACLES, *(ExternalAutodiff(name) for name in settings.autodiff))
    comparison = compare_gradient(
        problem, written, points, case.tolerance, None, oracles,
        implemented=code.gradient if code else None,
        implemented_function=code.function if code else None, explicit=len(case.points),
        written_function=_written_function(case, problem),
    )  # fmt: skip
    comparison = prove_unrefuted(comparison, claims, problem.gradient, settings.proof_budget)
    second_order = tuple(
        _judge_second_order(case, problem, pair, points, settings, comparison.at_kink)
        for pair in case.hessian
    )
    verdict = combine_verdicts(
        decide_verdict(comparison, case.tolerance),
        [(entry.label, entry.comparison, entry.verdict) for entry in second_order],
    )
    status = "pass" if verdict.verdict == case.expect else "fail"
    return CaseResult(case.file, case.name, case.location, status, case.expect, verdict, case,
                      comparison, second_order=second_order)  # fmt: skip


def _judge_array(case: ArrayCase, settings: Settings) -> CaseResult:
    samples = case.samples if settings.samples is None else settings.samples
    seed = case.seed if settings.seed is None else settings.seed
    if samples == 0 and not case.points:  # --samples 0 on a case with no points of its own
        raise DiffcheckError(NOTHING_TO_CHECK)
    comparison = compare_array_case(case, samples, seed, settings.proof_budget,
                                    settings.allow_import, settings.autodiff)  # fmt: skip
    verdict = decide_array_verdict(comparison.instances)
    status = "pass" if verdict.verdict == case.expect else "fail"
    # the built IR stays behind: results cross process boundaries, and reports need only
    # the comparison
    kept = replace(case, instances=())
    return CaseResult(case.file, case.name, case.location, status, case.expect, verdict, kept,
                      arrays=comparison)  # fmt: skip


def _judge_second_order(case: Case, problem: Problem, pair: tuple[str, str],
                        points: np.ndarray, settings: Settings,
                        at_kink: np.ndarray) -> SecondOrder:  # fmt: skip
    """∂²f/∂a∂b: the derived ∂f/∂a is the function, b the variable; the oracles are
    forward-over-reverse mode and finite differences of that gradient. Where the gradient
    does not exist (`at_kink`: v*relu(w*x) at w*x = 0), no entry of the Hessian does: those
    points, left out of the gradient's comparison with a warning, are left out here too
    (along b, ∂f/∂a may look smooth: v*x*heaviside(w*x) in v)."""
    first, second = pair
    label = f"∂²/∂{first}∂{second}"
    inner = Problem.derive(problem.gradient[first], (second,), case.variables)
    claim = case.resolve(case.hessian[pair].expr)
    oracles = (ForwardOverReverse(problem, first), FiniteDifferences())
    comparison = compare_gradient(inner, {second: claim}, points, case.tolerance,
                                  None, oracles, {second: label},
                                  explicit=len(case.points), left_out=at_kink)  # fmt: skip
    comparison = prove_unrefuted(comparison, {second: claim}, inner.gradient,
                                 settings.proof_budget)  # fmt: skip
    verdict = decide_verdict(comparison, case.tolerance)
    # its "function" is the partial ∂f/∂first, the function's own warnings are the gradient's
    warnings = tuple(w.replace("the function", f"∂f/∂{first}") for w in verdict.warnings)
    return SecondOrder(pair, label, comparison, replace(verdict, warnings=warnings))


def refuted(result: VariableResult) -> bool:
    """Whether the numeric comparison already shows the claim wrong: it fails, beyond
    float64's rounding or in mpmath, at a point no oracle doubts, which is what makes a
    verdict incorrect."""
    claim = result.claimed
    # the oracles' doubts are sought only where the claim fails
    if claim is None or not claim.failing.any():
        return False
    return bool((claim.failing & ~doubted(result)).any())


def prove_unrefuted(comparison: Comparison, claims: Mapping[str, sp.Expr],
                    derived: Mapping[str, sp.Expr], budget: float) -> Comparison:  # fmt: skip
    """The comparison with each claim's `proved` set: a claim the numbers refute is not
    proved (no proof of a false identity can succeed, and simplifying costs ~10-100 ms a
    claim, more than the whole numeric check); the others are tried symbolically."""
    results = tuple(
        replace(result, proved=not refuted(result)
                and prove_equal(claims[result.name], derived[result.name], budget))
        if result.name in claims else result
        for result in comparison.results
    )  # fmt: skip
    return replace(comparison, results=results)


def check_case(case: Case, settings: Settings = Settings()) -> CaseResult:
    """Check one case: its verdict, and whether that is the verdict it expects.

    Never raises for a problem of the case itself: a derivative with no rule, a time
    limit reached or an internal error are `error` results (the last with a traceback).
    """

    def error(kind: str, problem: DiffcheckError, trace: str | None = None) -> CaseResult:
        return CaseResult(
            case.file,
            case.name,
            case.location,
            "error",
            case.expect,
            case=case,
            errors=(problem.at(case.location),),
            error_kind=kind,
            traceback=trace,
        )

    limit = settings.timeout
    message = f"timed out after {limit:g} s (raise it with --timeout)" if limit else ""
    try:
        with time_limit(limit, message), deep_recursion():
            return _judge(case, settings)
    except BudgetExceeded as exceeded:
        return error("timeout", DiffcheckError(exceeded.message))
    except ImplementationError as problem:
        return error("implementation", problem, problem.trace)
    except DiffcheckError as problem:
        return error("invalid", problem)
    except RecursionError:  # a tree deeper than this Python's C stack holds safely
        return error("invalid", DiffcheckError(too_deep_message()), traceback.format_exc())
    except Exception as crash:  # a bug in diffcheck: keep the traceback, go on
        message = f"internal error: {type(crash).__name__}: {crash}"
        return error("crash", DiffcheckError(message), traceback.format_exc())


def too_deep_message() -> str:
    """Why a case deeper than `deep_recursion` allows could not be checked."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return (
        f"the expressions are nested too deeply to check on Python {version}: they need more "
        f"than the {recursion_limit():_} levels of recursion its C stack holds safely (Python "
        f"3.12 and newer allow {RECURSION_LIMIT:_})"
    )


def invalid_result(entry: InvalidCase) -> CaseResult:
    """The error result of a case that could not be read: invalid, or (exit status 1, not
    2) a case whose reading ran past the time limit."""
    timed_out = all(isinstance(error, CaseTimeout) for error in entry.errors)
    kind = "timeout" if entry.errors and timed_out else "invalid"
    return CaseResult(
        entry.file, entry.name, entry.location, "error", errors=entry.errors, error_kind=kind
    )


def find_case_files(paths: Iterable[str]) -> tuple[list[str], list[CaseResult]]:
    """Case files named by or below `paths`, sorted per folder; usage errors beside."""
    files: list[str] = []
    problems: list[CaseResult] = []
    for path in paths:
        where = Location(path, 1, 1)
        target = Path(path)
        if target.is_dir():
            found = sorted(str(p) for p in target.rglob("*")
                           if p.suffix in CASE_SUFFIXES and p.is_file())  # fmt: skip
            if not found:
                problems.append(_usage_error(path, "no case files (*.yaml, *.yml) below it", where))
            files.extend(found)
        elif target.is_file():
            files.append(path)
        else:
            problems.append(_usage_error(path, "no such file or folder", where))
    return _distinct_files(files), problems


def _distinct_files(files: list[str]) -> list[str]:
    """Each file once, however it was spelled (cases/a.yaml and ./cases/a.yaml), in the
    order first named."""
    seen: dict[Path, str] = {}
    for file in files:
        seen.setdefault(Path(file).resolve(), file)
    return list(seen.values())


def _usage_error(path: str, message: str, where: Location) -> CaseResult:
    return CaseResult(
        path, None, where, "error", errors=(DiffcheckError(message, where),), error_kind="invalid"
    )


def check_paths(paths: Sequence[str], settings: Settings = Settings()) -> list[CaseResult]:
    """Check every case of every case file named by or below `paths`, in order."""
    files, results = find_case_files(paths)
    for path in files:
        for entry in load_case_file(path, settings.timeout).entries:
            if isinstance(entry, InvalidCase):
                results.append(invalid_result(entry))
            else:
                results.append(check_case(entry, settings))
    return results


def exit_code(results: Iterable[CaseResult]) -> int:
    """2 if anything was invalid, else 1 if any case did not pass, else 0."""
    results = list(results)
    if any(r.error_kind == "invalid" for r in results):
        return EXIT_USAGE
    if any(r.status != "pass" for r in results):
        return EXIT_FAILED
    return EXIT_OK
