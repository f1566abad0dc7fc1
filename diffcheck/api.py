"""Python API: check a gradient from a project's own tests, like torch.autograd.gradcheck
but against the symbolic truth. The arguments become a case, validated as a case file is,
and checked by the command line's code.

    >>> from diffcheck import check_gradient
    >>> check_gradient("1/(1 + exp(-x))", {"x": "sigmoid(x)*(1 - sigmoid(x))"},
    ...                domain={"x": (-30, 30)}).verdict
    'correct'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import yaml

from .cases.loader import read_case_text
from .cases.model import Implementation
from .errors import CaseFileError
from .report.text import render_case
from .run.check import DEFAULT_TIMEOUT, CaseResult, Settings, check_case

__all__ = ["GradientCheck", "assert_gradient", "check_gradient"]

SOURCE = "<check_gradient>"
Gradient = Mapping[str, "str | float"] | Callable[..., Any] | None


@dataclass(frozen=True)
class GradientCheck:
    """The outcome of `check_gradient`: the verdict, its evidence and the full result."""

    result: CaseResult

    @property
    def verdict(self) -> str | None:
        """correct, incorrect or inconclusive (None if the case could not be run)."""
        return self.result.verdict.verdict if self.result.verdict else None

    @property
    def passed(self) -> bool:
        """Whether the verdict is the expected one."""
        return self.result.status == "pass"

    @property
    def evidence(self) -> str:
        return self.result.verdict.evidence if self.result.verdict else ""

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.result.verdict.warnings if self.result.verdict else ()

    @property
    def report(self) -> str:
        """The command line's text for this check, with the details of a failure."""
        return render_case(self.result)

    def __str__(self) -> str:
        return self.report


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays, tuples and mappings as the plain values YAML writes."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if hasattr(value, "tolist"):  # numpy.ndarray and numpy scalars, without importing NumPy
        return _plain(value.tolist())
    return value


def _document(function: str, gradient: Gradient, options: dict[str, Any]) -> str:
    case: dict[str, Any] = {"name": options.pop("name"), "function": function}
    if isinstance(gradient, Mapping):
        case["gradient"] = {name: str(_plain(claim)) for name, claim in gradient.items()}
    elif gradient is not None and not callable(gradient):
        raise TypeError(
            "gradient must map each variable to its claimed partial derivative, or be a "
            f"callable; got {type(gradient).__name__}"
        )
    if isinstance(options.get("wrt"), str):
        options["wrt"] = [options["wrt"]]
    for key in ("where", "wrt", "points", "samples", "seed", "tolerance", "expect"):
        if options.get(key) is not None:
            case[key] = _plain(options[key])
    if options.get("hessian"):
        case["hessian"] = {
            ",".join(pair) if isinstance(pair, tuple) else pair: str(_plain(claim))
            for pair, claim in options["hessian"].items()
        }
    case["domain"] = _plain(options.get("domain") or {})
    return yaml.safe_dump({"cases": [case]}, sort_keys=False, allow_unicode=True)


def check_gradient(
    function: str,
    gradient: Gradient = None,
    *,
    wrt: str | Sequence[str] | None = None,
    where: Mapping[str, str] | None = None,
    hessian: Mapping[str | tuple[str, str], str] | None = None,
    domain: Mapping[str, tuple[float, float] | float] | None = None,
    points: Sequence[Mapping[str, float]] | None = None,
    samples: int | None = None,
    seed: int | None = None,
    tolerance: Mapping[str, float] | None = None,
    expect: str | None = None,
    name: str = "check_gradient",
    timeout: float | None = DEFAULT_TIMEOUT,
    autodiff: Sequence[str] = (),
) -> GradientCheck:
    """Check a claimed gradient of `function`, as a case file would.

    Args:
        function: the function, in the expression language of case files.
        gradient: the claim: variable -> expression (or number), or a Python callable
            taking the variables as keyword arguments (NumPy arrays over all points) and
            returning variable -> array, or a tuple in `wrt` order; None checks the
            derived gradient against the oracles only.
        wrt: a variable name or a sequence of them.
        where, hessian, domain, points, samples, seed, tolerance, expect: as the
            case-file keys of the same names; a domain is (low, high) or a fixed value.
            NumPy scalars and arrays are accepted wherever a number or list is.
        name: how reports name the check.
        timeout: seconds the check may run; None for no limit.
        autodiff: frameworks ("torch", "jax") whose autograd joins the oracles.

    Returns:
        A `GradientCheck` with the verdict, its evidence and the full result.

    Raises:
        CaseFileError: the arguments do not make a valid case (the message says why).
        TypeError: `gradient` is neither a mapping, a callable nor None.
    """
    options = dict(wrt=wrt, where=dict(where) if where else None, hessian=hessian,
                   domain=domain, points=points,
                   samples=samples, seed=seed, tolerance=dict(tolerance) if tolerance else None,
                   expect=expect, name=name)  # fmt: skip
    text = _document(function, gradient, options)
    loaded = read_case_text(text, SOURCE)
    if loaded.errors:
        lines = text.splitlines()
        raise CaseFileError("; ".join(
            f"{e.message} (in `{lines[e.location.line - 1].strip()}`)" if e.location
            else e.message for e in loaded.errors))  # fmt: skip
    (case,) = loaded.cases
    if callable(gradient):
        case = replace(case, implementation=Implementation(None, gradient, case.location))
    return GradientCheck(check_case(case, Settings(timeout=timeout, autodiff=tuple(autodiff))))


def assert_gradient(function: str, gradient: Gradient = None, **options: Any) -> GradientCheck:
    """`check_gradient`, raising AssertionError with the command line's failure text
    unless the verdict is the expected one (by default, correct)."""
    checked = check_gradient(function, gradient, **options)
    if not checked.passed:
        raise AssertionError(checked.report)
    return checked
