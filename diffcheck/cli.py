"""Command line: click commands only; the work is done by the library.

`diffcheck check PATH...` checks case files; `diffcheck derive EXPR` prints partial
derivatives. Reports go to standard output, diagnostics to standard error.
"""

from __future__ import annotations

import click

from . import __version__
from .check import DEFAULT_TIMEOUT, Settings, check_paths, exit_code
from .errors import EXIT_USAGE, DiffcheckError, Location
from .oracles.external import FRAMEWORKS, INSTALL, available
from .parse import parse_expression
from .report import diagnostics, render_json, render_text
from .symbolic import DEFAULT_PROOF_BUDGET, derive_gradient, format_expression

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="diffcheck")
def main() -> None:
    """diffcheck tells whether a gradient is right."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Report format; json prints only the JSON document.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=None,
    help="Seed for every case's random points.  [default: each case's own, else 0]",
)
@click.option(
    "--samples",
    type=click.IntRange(min=0),
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
    results = check_paths(paths, settings)
    # the text report lists errors itself; beside JSON they go to standard error too
    for line in diagnostics(results, errors=output_format != "text"):
        click.echo(line, err=True)
    click.echo(render_json(results) if output_format == "json" else render_text(results))
    raise SystemExit(exit_code(results))


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
