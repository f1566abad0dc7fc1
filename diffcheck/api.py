"""Python API: check a gradient from a project's own tests, like torch.autograd.gradcheck
but against the symbolic truth. The arguments become a case, validated as a case file is,
and checked by the command line's code; `shapes` makes it an array case.

    >>> from diffcheck import check_gradient
    >>> check_gradient("1/(1 + exp(-x))", {"x": "sigmoid(x)*(1 - sigmoid(x))"},
    ...                domain={"x": (-30, 30)}).verdict
    'correct'
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import yaml

from .cases.array_model import ArrayCase, ArrayImplementation
from .cases.loader import Case, read_case_text
from .cases.model import Implementation
from .cases.nodes import Source
from .errors import CaseFileError, CaseTimeout, DiffcheckError, Location
from .oracles.external import FRAMEWORKS
from .report.arrays import ArrayClaimFacts, array_claim_facts
from .report.text import render_case
from .run.check import DEFAULT_TIMEOUT, CaseResult, Settings, check_case, invalid_result
from .symbolic.parse import suggest

__all__ = ["ApiError", "ArgumentLocation", "GradientCheck", "assert_gradient", "check_gradient"]

SOURCE = "<check_gradient>"
Gradient = Mapping[str, "str | float"] | Callable[..., Any] | None
# arguments holding expressions: a location inside them gives the column too
EXPRESSION_ARGUMENTS = ("function", "where", "gradient", "hessian", "jacobian", "vjp")
# keyword arguments written into the case as they are (NumPy values as lists)
CASE_ARGUMENTS = ("shapes", "dims", "cotangent", "where", "wrt", "points", "samples", "seed",
                  "tolerance", "expect")  # fmt: skip


class ApiError(DiffcheckError, TypeError):
    """A call of `check_gradient` or `assert_gradient` that Python would also refuse (an
    unknown keyword, an argument of the wrong type): a TypeError, said the diffcheck way."""


@dataclass(frozen=True)
class ArgumentLocation(Location):
    """A place in a `check_gradient` call: the argument and, inside an expression, the
    column; printed as "check_gradient: gradient['x'], column 3".

    >>> str(ArgumentLocation(SOURCE, 2, 3, "check_gradient", "gradient['x']"))
    "check_gradient: gradient['x'], column 3"
    """

    caller: str = "check_gradient"
    argument: str | None = None

    def __str__(self) -> str:
        if self.argument is None:
            return f"{self.caller}()"
        where = f"{self.caller}: {self.argument}"
        return f"{where}, column {self.column}" if self.column else where


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
    def claims(self) -> tuple[ArrayClaimFacts, ...]:
        """An array check's claims (and the user's code), size by size: shape, worst entry
        by index (`worst_index`, `worst_entry` "W[3, 1]"), both values there, how many
        entries are wrong; empty for a scalar check."""
        arrays = self.result.arrays
        return array_claim_facts(arrays) if arrays is not None else ()

    @property
    def worst(self) -> ArrayClaimFacts | None:
        """The wrong claim of an array check that the verdict names first (its worst
        entry is the worst of all), or None."""
        pairs = self.result.arrays.claims if self.result.arrays is not None else []
        wrong = [index for index, (_, claim) in enumerate(pairs) if claim.wrong]
        if not wrong:
            return None
        return self.claims[max(wrong, key=lambda index: pairs[index][1].worst.score)]

    @property
    def report(self) -> str:
        """The command line's text for this check, with the details of a failure."""
        return render_case(self.result)

    def __str__(self) -> str:
        return self.report

    def _repr_latex_(self) -> str:
        """Jupyter's LaTeX view: the claims, the derived derivatives and the verdict."""
        from .report.notebook import result_latex

        return result_latex(self.result)

    def _repr_markdown_(self) -> str:
        """Jupyter's Markdown view: the verdict in words above `_repr_latex_`."""
        from .report.notebook import result_markdown

        return result_markdown(self.result)


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays, tuples and mappings as the plain values YAML writes."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if hasattr(value, "tolist"):  # numpy.ndarray and numpy scalars, without importing NumPy
        return _plain(value.tolist())
    return value


def _claims(case: dict[str, Any], kind: str, claims: Any, caller: str, what: str) -> None:
    """A mapping of claims into the case; a callable is the user's code (arrays: written
    as an `implementation` entry the call's callable stands in for)."""
    if isinstance(claims, Mapping):
        case[kind] = {name: str(_plain(claim)) for name, claim in claims.items()}
    elif callable(claims) and kind != "jacobian":
        if "shapes" in case:
            case.setdefault("implementation", {})[kind] = f"{caller}:{kind}"
    elif claims is not None:
        also = "" if kind == "jacobian" else ", or be a callable"
        raise ApiError(f"{caller}() argument '{kind}' must map each variable to its claimed "
                       f"{what}{also}; got {type(claims).__name__}")  # fmt: skip


def _document(function: str, gradient: Gradient, options: Mapping[str, Any], caller: str
              ) -> str:  # fmt: skip
    """The case the arguments describe, as case-file text (read back by the loader)."""
    case: dict[str, Any] = {"name": options["name"], "function": function}
    if options["shapes"] is not None:
        case["shapes"] = _plain(options["shapes"])
    _claims(case, "gradient", gradient, caller, "partial derivative")
    _claims(case, "jacobian", options["jacobian"], caller, "jacobian")
    _claims(case, "vjp", options["vjp"], caller, "vector-Jacobian product")
    if callable(options["vjp"]) and "shapes" not in case:
        raise ApiError(f"{caller}() argument 'vjp' is for array cases: give 'shapes'")
    for key in CASE_ARGUMENTS:
        if key == "shapes":
            continue
        value = options[key]
        if key == "wrt" and isinstance(value, str):
            value = [value]
        if value is not None:
            case[key] = _plain(value)
    if options["hessian"]:
        case["hessian"] = {
            ",".join(pair) if isinstance(pair, tuple) else pair: str(_plain(claim))
            for pair, claim in options["hessian"].items()
        }
    case["domain"] = _plain(options["domain"] or {})
    # one line per value: a column in the text is then a column in the argument
    return yaml.safe_dump({"cases": [case]}, sort_keys=False, allow_unicode=True, width=2**30)


class _Arguments:
    """Maps places in the case text `_document` wrote back to the arguments they came
    from, so that messages point at the call, not at text the caller never saw."""

    def __init__(self, text: str, caller: str):
        self.source = Source(SOURCE, text)
        self.caller = caller
        self.places: list[tuple[yaml.Node, str, bool]] = []  # node, argument, expression?
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        (case,) = root.value[0][1].value  # {"cases": [case]}
        for key_node, value_node in case.value:
            if key_node.value == "implementation":  # stands for the callables given
                keys = [code_key.value for code_key, _ in value_node.value]
                self.places.append((value_node, " and ".join(keys), False))
                for code_key, code_value in value_node.value:
                    self._walk(code_value, code_key.value, False)
                continue
            self._walk(value_node, key_node.value, key_node.value in EXPRESSION_ARGUMENTS)

    def _walk(self, node: yaml.Node, argument: str, expression: bool) -> None:
        self.places.append((node, argument, expression and isinstance(node, yaml.ScalarNode)))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                inner = f"{argument}[{key_node.value!r}]"
                self.places.append((key_node, inner, False))
                self._walk(value_node, inner, expression)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, f"{argument}[{index}]", expression)

    def locate(self, location: Location | None) -> ArgumentLocation:
        """The argument at `location` (the innermost value holding it), or the call."""
        if location is None or location.file != SOURCE:
            return ArgumentLocation(SOURCE, 0, 0, self.caller)
        index = self.source.line_starts[location.line - 1] + location.column - 1
        holding = [place for place in self.places
                   if place[0].start_mark.index <= index <= place[0].end_mark.index]  # fmt: skip
        if not holding:
            return ArgumentLocation(SOURCE, 0, 0, self.caller)
        node, argument, expression = max(
            holding, key=lambda place: (place[0].start_mark.index, -place[0].end_mark.index)
        )
        column = self._column(node, location) if expression else 0
        return ArgumentLocation(SOURCE, location.line, column, self.caller, argument)

    def _column(self, node: yaml.ScalarNode, location: Location) -> int:
        """The 1-based column inside the expression's own text, whatever YAML's quoting."""
        locate = self.source.locator(node)
        offsets = (offset for offset in range(len(node.value) + 1) if locate(offset) == location)
        return next(offsets, -1) + 1

    def relocate(self, case: Case) -> Case:
        """The case with every location moved from the text to the arguments."""

        def moved(expression: Any) -> Any:
            return replace(expression, location=self.locate(expression.location))

        if isinstance(case, ArrayCase):
            claims = {kind: MappingProxyType({name: moved(text) for name, text in texts.items()})
                      for kind, texts in case.claims.items()}  # fmt: skip
            case = replace(case, claims=MappingProxyType(claims))
        return replace(
            case,
            location=self.locate(None),
            function=moved(case.function),
            where=tuple((name, moved(expression)) for name, expression in case.where),
            gradient={name: moved(expression) for name, expression in case.gradient.items()},
            hessian={pair: moved(expression) for pair, expression in case.hessian.items()},
        )


def _refuse_unknown(caller: str, keywords: Mapping[str, Any]) -> None:
    """Python's TypeError for an unknown keyword, with the nearest known one."""
    unknown = [name for name in keywords if name not in KEYWORDS]
    if unknown:
        hint = suggest(unknown[0], set(KEYWORDS))
        raise ApiError(f"{caller}() got an unexpected keyword argument '{unknown[0]}'{hint}")


def _frameworks(caller: str, options: Mapping[str, Any]) -> tuple[str, ...]:
    """The `autodiff` argument: one framework's name, or several."""
    given = options["autodiff"]
    frameworks = (given,) if isinstance(given, str) else tuple(given)
    for name in frameworks:
        if name not in FRAMEWORKS:
            raise ApiError(f"{caller}() argument 'autodiff' names {name!r}, not a framework "
                           f"diffcheck runs: {', '.join(FRAMEWORKS)}")  # fmt: skip
    return frameworks


def _check(caller: str, function: str, gradient: Gradient, options: Mapping[str, Any]
           ) -> GradientCheck:  # fmt: skip
    text = _document(function, gradient, options, caller)
    arguments = _Arguments(text, caller)
    loaded = read_case_text(text, SOURCE, options["timeout"])
    if loaded.errors and all(isinstance(error, CaseTimeout) for error in loaded.errors):
        call = arguments.locate(None)  # reading the case ran past the time limit
        errors = tuple(CaseTimeout(error.message, call) for error in loaded.errors)
        (entry,) = loaded.entries
        return GradientCheck(invalid_result(replace(entry, location=call, errors=errors)))
    if loaded.errors:
        messages = [f"{arguments.locate(error.location)}: {error.message}"
                    for error in loaded.errors]  # fmt: skip
        raise CaseFileError("; ".join(messages))
    case = arguments.relocate(loaded.cases[0])
    if isinstance(case, ArrayCase) and case.implementation is not None:
        code = {key: value if callable(value) else None
                for key, value in (("gradient", gradient), ("vjp", options["vjp"]))}  # fmt: skip
        location = arguments.locate(case.implementation.location)
        case = replace(case, implementation=ArrayImplementation(None, **code, location=location))
    elif callable(gradient):
        case = replace(case, implementation=Implementation(None, gradient, case.location))
    settings = Settings(timeout=options["timeout"], autodiff=_frameworks(caller, options))
    return GradientCheck(check_case(case, settings))


def check_gradient(
    function: str,
    gradient: Gradient = None,
    *,
    wrt: str | Sequence[str] | None = None,
    shapes: Mapping[str, Sequence[int | str]] | None = None,
    dims: Mapping[str, int | Sequence[int]] | None = None,
    cotangent: str | None = None,
    jacobian: Mapping[str, str | float] | None = None,
    vjp: Gradient = None,
    where: Mapping[str, str] | None = None,
    hessian: Mapping[str | tuple[str, str], str] | None = None,
    domain: Mapping[str, tuple[float, float] | float] | None = None,
    points: Sequence[Mapping[str, float]] | None = None,
    samples: int | None = None,
    seed: int | None = None,
    tolerance: Mapping[str, float] | str | None = None,
    expect: str | None = None,
    name: str = "check_gradient",
    timeout: float | None = DEFAULT_TIMEOUT,
    autodiff: Sequence[str] = (),
    **unexpected: Any,
) -> GradientCheck:
    """Check a claimed gradient of `function`, as a case file would.

    Args:
        function: the function, in the expression language of case files.
        gradient: the claim: variable -> expression (or number), or a Python callable
            taking the variables as keyword arguments (NumPy arrays over all points) and
            returning variable -> array, or a tuple in `wrt` order; None checks the
            derived gradient against the oracles only.
        wrt: a variable name or a sequence of them.
        shapes: array variable -> its shape (whole numbers or names from `dims`): an
            array case, whose `gradient` claims have each variable's shape, and where a
            callable `gradient` (or `vjp`, given the cotangent too) is called once per
            point with NumPy arrays of those shapes.
        dims, cotangent, jacobian, vjp: as the case-file keys of the same names (array
            cases); `vjp` may be a callable, as `gradient`.
        where, hessian, domain, points, samples, seed, tolerance, expect: as the
            case-file keys of the same names; a domain is (low, high) or a fixed value, a
            tolerance {"rtol": ..., "atol": ...} or a preset's name ("float32").
            NumPy scalars and arrays are accepted wherever a number or list is; points
            of array cases give arrays (or nested lists), a domain an interval, a number
            or a structure ("spd", "simplex", ...) per array.
        name: how reports name the check.
        timeout: seconds the check may run; None for no limit.
        autodiff: frameworks ("torch", "jax") whose autograd joins the oracles.
        unexpected: refused (a misspelled keyword), with the nearest known one.

    Returns:
        A `GradientCheck` with the verdict, its evidence and the full result; for an array
        case also `claims` and `worst`, each claim's worst entry by index.

    Raises:
        CaseFileError: the arguments do not make a valid case; each message names the
            argument ("check_gradient: gradient['x'], column 3: unknown function ...").
        ApiError: an unknown keyword, or `gradient` neither a mapping, a callable nor
            None (a TypeError too).
    """
    _refuse_unknown("check_gradient", unexpected)
    options = dict(wrt=wrt, shapes=shapes, dims=dims, cotangent=cotangent, jacobian=jacobian,
                   vjp=vjp, where=where, hessian=hessian, domain=domain, points=points,
                   samples=samples, seed=seed, tolerance=tolerance, expect=expect, name=name,
                   timeout=timeout, autodiff=autodiff)  # fmt: skip
    return _check("check_gradient", function, gradient, options)


# check_gradient's keyword arguments and their defaults, for assert_gradient and messages
KEYWORDS = {
    parameter.name: parameter.default
    for parameter in inspect.signature(check_gradient).parameters.values()
    if parameter.kind is inspect.Parameter.KEYWORD_ONLY
}


def assert_gradient(function: str, gradient: Gradient = None, **options: Any) -> GradientCheck:
    """`check_gradient`, raising AssertionError with the command line's failure text
    unless the verdict is the expected one (by default, correct)."""
    _refuse_unknown("assert_gradient", options)
    checked = _check("assert_gradient", function, gradient, {**KEYWORDS, **options})
    if not checked.passed:
        raise AssertionError(checked.report)
    return checked
