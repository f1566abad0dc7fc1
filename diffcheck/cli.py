"""Command line: click commands only; the work is done by the library.

`diffcheck check PATH...` checks case files; `diffcheck derive EXPR` prints partial
derivatives, step by step if asked; `diffcheck latex` writes derivations as LaTeX and
`diffcheck graph` the computational graph. Reports go to standard output, diagnostics to
standard error. Each command imports the library when it runs: SymPy and NumPy take a
third of a second, which `--help` and `--version` do without.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import EXIT_OK, EXIT_USAGE, DiffcheckError

__all__ = ["main"]

# The library's values, written out because their modules import SymPy and NumPy, which
# the help need not wait for; tests/test_cli_startup.py holds each equal to its source.
_FORMATS = ("text", "json", "junit", "github")  # report.formats.FORMATS
_FRAMEWORKS = ("torch", "jax")  # oracles.external.FRAMEWORKS
_MAX_SAMPLES = 100_000_000  # cases.settings.MAX_SAMPLES
_DEFAULT_TIMEOUT = 60.0  # run.check.DEFAULT_TIMEOUT
_DEFAULT_PROOF_BUDGET = 2.0  # symbolic.derive.DEFAULT_PROOF_BUDGET

_Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="diffcheck")
def main() -> None:
    """diffcheck tells whether a gradient is right."""


@contextmanager
def _exit_on_errors(prefix: str = "", suffix: str = "") -> Iterator[None]:
    """End the command on an expected error, with exit status 2: a wrong option as
    click's usage message, any other as one message on standard error."""
    from .run.targets import OptionError

    try:
        yield
    except OptionError as error:
        raise click.BadParameter(str(error), param_hint=error.option) from None
    except DiffcheckError as error:
        click.echo(f"{prefix}{error}{suffix}", err=True)
        raise SystemExit(EXIT_USAGE) from None


class _Jobs(click.ParamType):
    """A number of worker processes, or `auto` for one per CPU."""

    name = "N|auto"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None):
        from .run.parallel import resolve_jobs

        if isinstance(value, int) or value == "auto":
            return resolve_jobs(None if value == "auto" else value)
        try:
            jobs = int(str(value))
        except ValueError:
            jobs = 0
        if jobs < 1:
            self.fail(f"{value!r} is not a whole number >= 1 or 'auto'", param, ctx)
        return jobs


def _format_option(choices: tuple[str, ...], help: str) -> _Decorator:
    """--format: one of `choices`, text by default."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices),
        default="text",
        show_default=True,
        help=help,
    )


def _seconds_option(flag: str, default: float, help: str) -> _Decorator:
    """A time limit in seconds, 0 or more."""
    return click.option(
        flag, type=click.FloatRange(min=0), default=default, show_default=True, help=help
    )


def _output_option(help: str, **kwargs: Any) -> _Decorator:
    """-o/--output: a file to write, standard output by default."""
    path = click.Path(dir_okay=False, **kwargs)
    return click.option("-o", "--output", type=path, default=None, help=help)


_TIMEOUT = _seconds_option(
    "--timeout", _DEFAULT_TIMEOUT, "Seconds a case may run before it is an error; 0: none."
)
_NO_IMPORT = click.option(
    "--no-import",
    is_flag=True,
    help="Refuse cases whose `implementation` names code to import (untrusted case files).",
)
_CASE = click.option(
    "--case",
    "case_name",
    metavar="NAME",
    default=None,
    help="With a case file: the case to use.  [default: the file's only case]",
)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@_format_option(
    _FORMATS,
    "Report format: text; json (only the JSON document); junit (JUnit "
    "XML); github (GitHub Actions annotations, one per case that did not pass).",
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
    help="Add the start time and durations to the JUnit report (it then differs "
    "from run to run).  [default: off]",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=None,
    help="Seed for every case's random points.  [default: each case's own, else 0]",
)
@click.option(
    "--samples",
    type=click.IntRange(min=0, max=_MAX_SAMPLES),
    default=None,
    help="Random points per case.  [default: each case's own, else 64]",
)
@_TIMEOUT
@_seconds_option(
    "--proof-budget", _DEFAULT_PROOF_BUDGET, "Seconds per claimed partial for a symbolic proof."
)
@click.option(
    "--autodiff",
    type=click.Choice(_FRAMEWORKS),
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
    from .oracles.external import INSTALL, available
    from .report.ci import Timings
    from .report.formats import render_report
    from .report.output import check_with_progress, write_output
    from .report.text import diagnostics, render_text
    from .run.check import Settings, exit_code

    for framework in autodiff:
        if not available(framework):
            raise click.UsageError(
                f"--autodiff {framework} needs {framework}, which is not "
                f"installed ({INSTALL[framework]})"
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
    run = check_with_progress(paths, settings, jobs, output_format)
    results = list(run.results)
    text_out = output_format == "text" or output is not None
    # the text report lists errors itself; beside the other formats they go to stderr too
    for line in diagnostics(results, errors=not text_out):
        click.echo(line, err=True)
    timings = Timings(run.started, run.seconds, run.durations) if timestamps else None
    report = render_report(results, output_format, timings)
    if output is not None:
        with _exit_on_errors():
            write_output(output, report + "\n" if report else "")
        report = render_text(results)
    if report:
        click.echo(report)
    raise SystemExit(exit_code(results))


@main.command()
@click.argument("expression", metavar="EXPRESSION|CASE_FILE")
@click.option(
    "--wrt",
    multiple=True,
    metavar="VAR",
    help="Variable to differentiate by; repeat for several.  [default: all, sorted]",
)
@_CASE
@click.option(
    "--steps",
    is_flag=True,
    help="Show every rule applied, step by step (outer and inner derivatives, ...).",
)
@click.option(
    "--at",
    metavar="NAME=VALUE,...",
    default=None,
    help="A point, NAME=VALUE,...: show each node's forward value and the adjoint "
    "flowing into it, and each factor of the chain there.  [default: no point]",
)
@_format_option(("text", "json"), "Output format; json gives the steps as data.")
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
    from .explain.relay import point_warnings, relay_at
    from .report import derivation as derivation_report
    from .run.targets import derivation_variables, explain_target, select_target, target_point
    from .symbolic.derive import derive_gradient, format_expression

    with _exit_on_errors():
        target = select_target(expression, case_name)
        variables = derivation_variables(target, wrt)
        point = target_point(target, at) if at is not None else None
    with _exit_on_errors("error: "):
        if target.case is None and not (steps or point is not None or output_format == "json"):
            gradient = derive_gradient(target.expr, variables)
            click.echo("\n".join(f"∂/∂{n} = {format_expression(p)}" for n, p in gradient.items()))
            return
        derivations = explain_target(target, variables)
        relay = relay_at(derivations, point) if point is not None else None
    if point is not None:
        for warning in point_warnings(target.function(), point):
            click.echo(f"warning: {warning}", err=True)
    if output_format == "json":
        case = target.case
        about = [("file", case.file), ("case", case.name)] if case else []
        click.echo(derivation_report.render_json(derivations, relay, about))
    else:
        click.echo(derivation_report.render_text(derivations, steps, relay))


@main.command()
def schema() -> None:
    """Print the JSON Schema of case files, for editors with a YAML language server."""
    from .cases.schema import render_schema

    click.echo(render_schema())


@main.command()
@click.argument("folder", metavar="[DIR]", default="cases", type=click.Path(file_okay=False))
def init(folder: str) -> None:
    """Write a commented example case file, DIR/example.yaml (DIR: cases by default).

    An existing file is never overwritten (exit status 2).
    """
    from .report.scaffold import write_example

    with _exit_on_errors():
        path = write_example(folder)
    click.echo(f"wrote {path}; check it with: diffcheck check {folder}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@_output_option("The .tex file to write.  [default: standard output]")
@click.option("--fragment", is_flag=True, help="Omit the preamble, to \\input into a paper.")
@_TIMEOUT
@_NO_IMPORT
def latex(
    paths: tuple[str, ...], output: str | None, fragment: bool, timeout: float, no_import: bool
) -> None:
    """Write the cases in PATHS as a LaTeX document: for each case the function, the
    chain, the steps, the closed form and the verification table with the verdict.

    Exit status: 0 when written, 2 if a path or a case file is invalid (the valid
    cases are still written).
    """
    from .report.document import explain_paths, latex_document
    from .report.output import write_output
    from .report.text import diagnostics
    from .run.check import Settings, exit_code

    settings = Settings(timeout=timeout or None, allow_import=not no_import)
    entries, results = explain_paths(paths, settings)
    for line in diagnostics(results):
        click.echo(line, err=True)
    text = latex_document(entries, fragment)
    if output is None:
        click.echo(text, nl=False)
    else:
        with _exit_on_errors():
            write_output(output, text)
    raise SystemExit(EXIT_USAGE if exit_code(results) == EXIT_USAGE else EXIT_OK)


@main.command()
@click.argument("case_file", metavar="CASE_FILE|EXPRESSION")
@_CASE
@click.option(
    "--at",
    metavar="NAME=VALUE,...",
    default=None,
    help="The point: every variable without a fixed value.  [default: the case's fixed values]",
)
@_output_option(
    "FILE.dot, or FILE.svg / FILE.png (with FILE.dot beside it; needs "
    "Graphviz's dot).  [default: DOT on standard output]"
)
def graph(case_file: str, case_name: str | None, at: str | None, output: str | None) -> None:
    """Draw the computational graph of a case at a point: every node labelled by its
    operation, its forward value and the adjoint flowing into it."""
    from .explain.graph import IMAGE_FORMATS, render_graph
    from .explain.relay import point_warnings
    from .report.output import write_output
    from .run.targets import select_target, target_graph, target_point

    with _exit_on_errors():
        target = select_target(case_file, case_name)
        point = target_point(target, at)
    for warning in point_warnings(target.function(), point):
        click.echo(f"warning: {warning}", err=True)
    dot = target_graph(target, point)
    if output is None:
        click.echo(dot, nl=False)
        return
    path = Path(output)
    image = path.suffix.lstrip(".").lower()
    if image not in ("dot", "gv", *IMAGE_FORMATS):
        raise click.UsageError(
            f"cannot write a graph as {path.name!r}: name the file .dot, .gv, .svg or .png",
            click.get_current_context(),
        )
    with _exit_on_errors():
        write_output(path if image in ("dot", "gv") else path.with_suffix(".dot"), dot)
    if image in IMAGE_FORMATS:
        with _exit_on_errors("error: ", f"; wrote {path.with_suffix('.dot')}"):
            image_bytes = render_graph(dot, image)
        with _exit_on_errors():
            write_output(path, image_bytes)
