"""Command line: click commands only; the work is done by the library.

`diffcheck check PATH...` checks case files; `diffcheck derive EXPR` prints partial
derivatives. Reports go to standard output, diagnostics to standard error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__
from .case_builder import MAX_SAMPLES
from .check import DEFAULT_TIMEOUT, Settings, exit_code
from .ci_report import Timings
from .errors import EXIT_USAGE, DiffcheckError, Location
from .formats import FORMATS, render_report
from .oracles.external import FRAMEWORKS, INSTALL, available
from .parallel import Run, resolve_jobs, run_checks
from .parse import parse_expression
from .progress import ProgressBar, wants_progress
from .report import diagnostics, render_text
from .scaffold import write_example
from .schema import render_schema
from .symbolic import DEFAULT_PROOF_BUDGET, derive_gradient, format_expression

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
@click.option(
    "--no-import",
    is_flag=True,
    help="Refuse cases whose `implementation` names code to import (untrusted case files).",
)
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
        _write_report(output, report)
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


def _write_report(path: str, report: str) -> None:
    try:
        Path(path).write_text(report + "\n" if report else "", encoding="utf-8")
    except OSError as error:
        click.echo(f"{path}: cannot write the report: {error.strerror or error}", err=True)
        raise SystemExit(EXIT_USAGE) from None


@main.command()
@click.argument("expression")
@click.option(
    "--wrt",
    multiple=True,
    metavar="VAR",
    help="Variable to differentiate by; repeat for several.  [default: all, sorted]",
)
def derive(expression: str, wrt: tuple[str, ...]) -> None:
    """Print each partial derivative of EXPRESSION in closed form."""
    try:
        expr = parse_expression(expression, lambda offset: Location("<expression>", 1, offset + 1))
    except DiffcheckError as error:
        column = error.location.column if error.location else 1
        click.echo(f"{error}\n  {expression}\n  {' ' * (column - 1)}^", err=True)
        raise SystemExit(EXIT_USAGE) from None
    names = sorted(symbol.name for symbol in expr.free_symbols)
    if not names:
        raise click.BadParameter(
            "the expression has no variables to differentiate", param_hint="EXPRESSION"
        )
    unknown = [name for name in wrt if name not in names]
    if unknown:
        raise click.BadParameter(
            f"'{unknown[0]}' does not appear in the expression "
            f"(its variables: {', '.join(names) or 'none'})",
            param_hint="--wrt",
        )
    try:
        gradient = derive_gradient(expr, list(wrt) or names)
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
