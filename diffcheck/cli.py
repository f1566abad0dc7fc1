"""Command line: click commands only; the work is done by the library.

`diffcheck check PATH...` checks case files; `diffcheck derive EXPR` prints partial
derivatives, step by step if asked; `diffcheck latex` writes derivations as LaTeX and
`diffcheck graph` the computational graph. Reports go to standard output, diagnostics to
standard error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sympy as sp

from . import __version__
from .cases.loader import Case
from .cases.schema import render_schema
from .cases.settings import MAX_SAMPLES
from .errors import EXIT_OK, EXIT_USAGE, DiffcheckError, Location
from .explain.chain import explain_case, explain_expression
from .explain.graph import IMAGE_FORMATS, graph_dot, node_names, render_graph
from .explain.relay import complete_point, parse_point, point_warnings, relay_at
from .oracles.external import FRAMEWORKS, INSTALL, available
from .report import derivation as derivation_report
from .report.ci import Timings
from .report.document import explain_paths, latex_document
from .report.formats import FORMATS, render_report
from .report.progress import ProgressBar, wants_progress
from .report.scaffold import write_example
from .report.text import diagnostics, render_text
from .run.check import DEFAULT_TIMEOUT, Settings, exit_code
from .run.parallel import Run, resolve_jobs, run_checks
from .run.targets import fixed_values, is_case_file, select_case
from .symbolic.derive import DEFAULT_PROOF_BUDGET, derive_gradient, format_expression
from .symbolic.parse import parse_expression

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="diffcheck")
def main() -> None:
    """diffcheck tells whether a gradient is right."""


class _Jobs(click.ParamType):
    """A number of worker processes, or `auto` for one per CPU."""

    name = "N|auto"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None):
        if isinstance(value, int) or value == "auto":
            return resolve_jobs(None if value == "auto" else value)
        try:
            jobs = int(str(value))
        except ValueError:
            jobs = 0
        if jobs < 1:
            self.fail(f"{value!r} is not a whole number >= 1 or 'auto'", param, ctx)
        return jobs


_NO_IMPORT = click.option(
    "--no-import",
    is_flag=True,
    help="Refuse cases whose `implementation` names code to import (untrusted case files).",
)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Report format: text; json (only the JSON document); junit (JUnit XML); "
    "github (GitHub Actions annotations, one per case that did not pass).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the report to this file; the text report still goes to standard "
    "output.  [default: standard output only]",
)
@click.option(
    "--jobs",
    type=_Jobs(),
    metavar="N|auto",
    default="1",
    show_default=True,
    help="Worker processes; auto: one per CPU. The report is the same as with 1.",
)
@click.option(
    "--timestamps",
    is_flag=True,
    default=False,
    help="Add the start time and durations to the JUnit report (it then differs from "
    "run to run).  [default: off]",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=None,
    help="Seed for every case's random points.  [default: each case's own, else 0]",
)
@click.option(
    "--samples",
    type=click.IntRange(min=0, max=MAX_SAMPLES),
    default=None,
    help="Random points per case.  [default: each case's own, else 64]",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds a case may run before it is an error; 0: none.",
)
@click.option(
    "--proof-budget",
    type=click.FloatRange(min=0),
    default=DEFAULT_PROOF_BUDGET,
    show_default=True,
    help="Seconds per claimed partial for a symbolic proof.",
)
@click.option(
    "--autodiff",
    type=click.Choice(FRAMEWORKS),
    multiple=True,
    help="Also check this framework's autograd against the math; repeat for several.",
)
@_NO_IMPORT
def check(
    paths: tuple[str, ...],
    output_format: str,
    seed: int | None,
    samples: int | None,
    timeout: float,
    proof_budget: float,
    output: str | None,
    jobs: int,
    timestamps: bool,
    autodiff: tuple[str, ...],
    no_import: bool,
) -> None:
    """Check the cases in PATHS (files, or folders searched for *.yaml and *.yml).

    Exit status: 0 if every case passed, 1 if some case did not, 2 if a path or a
    case file is invalid (the valid cases are still checked and reported).
    """
    for framework in autodiff:
        if not available(framework):
            raise click.UsageError(
                f"--autodiff {framework} needs {framework}, which is not installed "
                f"({INSTALL[framework]})"
            )
    settings = Settings(
        autodiff=tuple(dict.fromkeys(autodiff)),
        samples=samples,
        seed=seed,
        timeout=timeout or None,
        proof_budget=proof_budget,
        allow_import=not no_import,
    )
    if output is not None and not Path(output).resolve().parent.is_dir():
        raise click.BadParameter(f"no folder to write {output!r} into", param_hint="--output")
    run = _run_with_progress(paths, settings, jobs, output_format)
    results = list(run.results)
    text_out = output_format == "text" or output is not None
    # the text report lists errors itself; beside the other formats they go to stderr too
    for line in diagnostics(results, errors=not text_out):
        click.echo(line, err=True)
    timings = Timings(run.started, run.seconds, run.durations) if timestamps else None
    report = render_report(results, output_format, timings)
    if output is not None:
        _write_file(output, report + "\n" if report else "")
        report = render_text(results)
    if report:
        click.echo(report)
    raise SystemExit(exit_code(results))


def _run_with_progress(paths: tuple[str, ...], settings: Settings, jobs: int, fmt: str) -> Run:
    if not wants_progress(fmt, sys.stdout, sys.stderr):
        return run_checks(paths, settings, jobs)
    bar = ProgressBar(sys.stderr)
    try:
        return run_checks(paths, settings, jobs, bar.update)
    finally:
        bar.close()


def _write_file(path: str | Path, content: str | bytes) -> None:
    """Write a report, document or image; an unwritable path is a usage error."""
    try:
        if isinstance(content, bytes):
            Path(path).write_bytes(content)
        else:
            Path(path).write_text(content, encoding="utf-8")
    except OSError as error:
        click.echo(f"{path}: cannot write it: {error.strerror or error}", err=True)
        raise SystemExit(EXIT_USAGE) from None


def _parse_or_exit(expression: str) -> sp.Expr:
    try:
        return parse_expression(expression, lambda offset: Location("<expression>", 1, offset + 1))
    except DiffcheckError as error:
        column = error.location.column if error.location else 1
        click.echo(f"{error}\n  {expression}\n  {' ' * (column - 1)}^", err=True)
        raise SystemExit(EXIT_USAGE) from None


def _case_or_exit(path: str, name: str | None) -> Case:
    try:
        return select_case(path, name)
    except DiffcheckError as error:
        click.echo(str(error), err=True)
        raise SystemExit(EXIT_USAGE) from None


def _check_wrt(wrt: tuple[str, ...], names: list[str], where: str) -> None:
    unknown = [name for name in wrt if name not in names]
    if unknown:
        raise click.BadParameter(
            f"'{unknown[0]}' does not appear in the {where} "
            f"(its variables: {', '.join(names) or 'none'})",
            param_hint="--wrt",
        )


def _point(at: str | None, variables: list[str], fixed: dict[str, float]) -> dict[str, float]:
    try:
        return complete_point(parse_point(at) if at else {}, variables, fixed)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--at") from None


def _warn_about_point(function: sp.Expr, point: dict[str, float]) -> None:
    for warning in point_warnings(function, point):
        click.echo(f"warning: {warning}", err=True)


_STEPS_HELP = "Show every rule applied, step by step (outer and inner derivatives, ...)."
_AT_HELP = (
    "A point, NAME=VALUE,...: show each node's forward value and the adjoint flowing "
    "into it, and each factor of the chain there.  [default: no point]"
)
_CASE_HELP = "With a case file: the case to use.  [default: the file's only case]"


@main.command()
@click.argument("expression", metavar="EXPRESSION|CASE_FILE")
@click.option(
    "--wrt",
    multiple=True,
    metavar="VAR",
    help="Variable to differentiate by; repeat for several.  [default: all, sorted]",
)
@click.option("--case", "case_name", metavar="NAME", default=None, help=_CASE_HELP)
@click.option("--steps", is_flag=True, help=_STEPS_HELP)
@click.option("--at", metavar="NAME=VALUE,...", default=None, help=_AT_HELP)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format; json gives the steps as data.",
)
def derive(
    expression: str,
    wrt: tuple[str, ...],
    case_name: str | None,
    steps: bool,
    at: str | None,
    output_format: str,
) -> None:
    """Print each partial derivative of EXPRESSION in closed form.

    Given a CASE_FILE (*.yaml), derive the function of one of its cases through its
    `where` intermediates: the chain rule factor by factor.
    """
    case, expr, names, fixed = _subject(expression, case_name, wrt)
    point = _point(at, names, fixed) if at is not None else None
    if case is None and not (steps or point is not None or output_format == "json"):
        _print_partials(expr, list(wrt) or names)
        return
    try:
        if case is not None:
            derivations = {n: d for n, d in explain_case(case).items() if not wrt or n in wrt}
        else:
            derivations = explain_expression(expr, list(wrt) or names)
        relay = relay_at(derivations, point) if point is not None else None
    except DiffcheckError as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    if point is not None:
        _warn_about_point(case.resolve(case.function.expr) if case else expr, point)
    if output_format == "json":
        about = [("file", case.file), ("case", case.name)] if case else []
        click.echo(derivation_report.render_json(derivations, relay, about))
    else:
        click.echo(derivation_report.render_text(derivations, steps, relay))


def _subject(
    expression: str, case_name: str | None, wrt: tuple[str, ...]
) -> tuple[Case | None, sp.Expr | None, list[str], dict[str, float]]:
    """(case, expression, variable names, fixed values) of derive's argument."""
    if is_case_file(expression):
        case = _case_or_exit(expression, case_name)
        _check_wrt(wrt, list(case.wrt), f"wrt of case {case.name}")
        return case, None, list(case.variables), fixed_values(case)
    if case_name is not None:
        raise click.BadParameter("needs a case file, not an expression", param_hint="--case")
    expr = _parse_or_exit(expression)
    names = sorted(s.name for s in expr.free_symbols)
    if not names:
        raise click.BadParameter(
            "the expression has no variables to differentiate", param_hint="EXPRESSION"
        )
    _check_wrt(wrt, names, "expression")
    return None, expr, names, {}


def _print_partials(expr: sp.Expr, wrt: list[str]) -> None:
    try:
        gradient = derive_gradient(expr, wrt)
    except DiffcheckError as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    for name, partial in gradient.items():
        click.echo(f"∂/∂{name} = {format_expression(partial)}")


@main.command()
def schema() -> None:
    """Print the JSON Schema of case files, for editors with a YAML language server."""
    click.echo(render_schema())


@main.command()
@click.argument("folder", metavar="[DIR]", default="cases", type=click.Path(file_okay=False))
def init(folder: str) -> None:
    """Write a commented example case file, DIR/example.yaml (DIR: cases by default).

    An existing file is never overwritten (exit status 2).
    """
    try:
        path = write_example(folder)
    except DiffcheckError as error:
        click.echo(str(error), err=True)
        raise SystemExit(EXIT_USAGE) from None
    click.echo(f"wrote {path}; check it with: diffcheck check {folder}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="The .tex file to write.  [default: standard output]",
)
@click.option("--fragment", is_flag=True, help="Omit the preamble, to \\input into a paper.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds a case may run before it is an error; 0: none.",
)
@_NO_IMPORT
def latex(
    paths: tuple[str, ...], output: str | None, fragment: bool, timeout: float, no_import: bool
) -> None:
    """Write the cases in PATHS as a LaTeX document: for each case the function, the
    chain, the steps, the closed form and the verification table with the verdict.

    Exit status: 0 when written, 2 if a path or a case file is invalid (the valid
    cases are still written).
    """
    settings = Settings(timeout=timeout or None, allow_import=not no_import)
    entries, results = explain_paths(paths, settings)
    for line in diagnostics(results):
        click.echo(line, err=True)
    text = latex_document(entries, fragment)
    if output is None:
        click.echo(text, nl=False)
    else:
        _write_file(output, text)
    raise SystemExit(EXIT_USAGE if exit_code(results) == EXIT_USAGE else EXIT_OK)


@main.command()
@click.argument("case_file", metavar="CASE_FILE|EXPRESSION")
@click.option("--case", "case_name", metavar="NAME", default=None, help=_CASE_HELP)
@click.option("--at", metavar="NAME=VALUE,...", default=None,
              help="The point: every variable without a fixed value.  [default: the "
              "case's fixed values]")  # fmt: skip
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="FILE.dot, or FILE.svg / FILE.png (with FILE.dot beside it; needs Graphviz's "
    "dot).  [default: DOT on standard output]",
)
def graph(case_file: str, case_name: str | None, at: str | None, output: str | None) -> None:
    """Draw the computational graph of a case at a point: every node labelled by its
    operation, its forward value and the adjoint flowing into it."""
    if is_case_file(case_file):
        case = _case_or_exit(case_file, case_name)
        function, title = case.resolve(case.function.expr), case.name
        variables, fixed = list(case.variables), fixed_values(case)
        where = [(sp.Symbol(name), expression.expr) for name, expression in case.where]
        names = node_names(case.function.expr, where)
    else:
        function, title, fixed, names = _parse_or_exit(case_file), "expression", {}, {}
        variables = sorted(s.name for s in function.free_symbols)
    point = _point(at, variables, fixed)
    _warn_about_point(function, point)
    dot = graph_dot(function, variables, list(point.values()), names, title)
    if output is None:
        click.echo(dot, nl=False)
        return
    target = Path(output)
    image = target.suffix.lstrip(".").lower()
    if image in ("dot", "gv"):
        _write_file(target, dot)
        return
    if image not in IMAGE_FORMATS:
        raise click.UsageError(
            f"cannot write a graph as {target.name!r}: name the file .dot, .gv, .svg or .png",
            click.get_current_context(),
        )
    _write_file(target.with_suffix(".dot"), dot)
    try:
        image_bytes = render_graph(dot, image)
    except DiffcheckError as error:
        click.echo(f"error: {error}; wrote {target.with_suffix('.dot')}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    _write_file(target, image_bytes)
