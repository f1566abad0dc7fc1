"""The explaining commands: derive, latex, plot and graph.

Each prints or writes what the library explains about a case or an expression; the
library is imported when a command runs, so that `--help` starts at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import EXIT_OK, EXIT_USAGE
from .options import CASE, NO_IMPORT, TIMEOUT, exit_on_errors, format_option, output_option

__all__ = ["derive", "graph", "latex", "plot"]


@click.command()
@click.argument("expression", metavar="EXPRESSION|CASE_FILE")
@click.option(
    "--wrt",
    multiple=True,
    metavar="VAR",
    help="Variable to differentiate by; repeat for several.  [default: all, sorted]",
)
@CASE
@click.option(
    "--steps",
    is_flag=True,
    help="Show every rule applied, step by step (outer and inner derivatives, ...).",
)
@click.option(
    "--at",
    metavar="NAME=VALUE,...",
    default=None,
    is_flag=False,
    flag_value="",
    help="A point, NAME=VALUE,...: show each node's forward value and the adjoint "
    "flowing into it, and each factor of the chain there. --at alone: the case's first "
    "explicit point, else the middle of its domain.  [default: no point]",
)
@format_option(
    ("text", "json", "markdown"),
    "Output format; json gives the steps as data, markdown the chains as LaTeX in $$...$$ "
    "(GitHub, Jupyter).",
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
    from ..report import derivation as derivation_report
    from ..run.targets import derivation_variables, explain_target, select_target

    with exit_on_errors():
        target = select_target(expression, case_name)
        variables = derivation_variables(target, wrt)
        if target.is_array:  # matrix notation, each derivative verified as a claim
            from ..report.matrix import render_array_derivation
            from ..run.array_derive import derive_array_case

            derivation = derive_array_case(target.case, variables, steps, at)
            for warning in derivation.warnings:
                click.echo(f"warning: {warning}", err=True)
            click.echo(render_array_derivation(derivation, output_format))
            return
        point = _derive_point(target, at)
    with exit_on_errors("error: "):
        plain = output_format == "text" and not steps and point is None
        if target.case is None and plain:
            click.echo(derivation_report.render_plain(target.expr, variables))
            return
        derivations = explain_target(target, variables)
        relay = None
        if point is not None:  # evaluating at a point needs NumPy; the steps alone do not
            from ..explain.relay import relay_at

            relay = relay_at(derivations, point)
    if point is not None:
        for warning in _point_warnings(target, derivations, relay, point):
            click.echo(f"warning: {warning}", err=True)
    if output_format == "json":
        case = target.case
        about = [("file", case.file), ("case", case.name)] if case else []
        click.echo(derivation_report.render_json(derivations, relay, about))
    elif output_format == "markdown":
        from ..report.latex_derivation import derivation_markdown

        click.echo(derivation_markdown(derivations, steps, relay), nl=False)
    else:
        written = _as_written(target.case, derivations, expression)
        click.echo(derivation_report.render_text(derivations, steps, relay, written))


def _as_written(case: Any, derivations: Any, typed: str) -> dict[str, str]:
    """The case's function and intermediates as its file writes them (the expression as
    typed), when the derivation goes through exactly those intermediates."""
    first = next(iter(derivations.values()))
    if case is None:
        return {} if first.names else {"": typed.strip()}
    if len(first.names) != len(case.where):
        return {}
    return {"": case.function.text.strip(), **{n: e.text.strip() for n, e in case.where}}


def _point_warnings(target: Any, derivations: Any, relay: Any, point: dict) -> list[str]:
    """`point_warnings`; for a large function, through the intermediates the relay has
    evaluated already (a kink is then named by an intermediate's definition)."""
    from ..explain.chain import MAX_RESOLVED_NODES
    from ..explain.relay import point_warnings

    first = next(iter(derivations.values()))
    if not first.names or not target.larger_than(MAX_RESOLVED_NODES):
        return point_warnings(target.function(), point)
    values = {node.name.name: node.value for node in relay.nodes[1:]}
    parts = [definition for _, definition in first.names] + [first.function]
    return point_warnings(None, values, relay.nodes[0].value, parts)


def _derive_point(target: Any, at: str | None) -> dict[str, float] | None:
    """derive's point: none, the one given, or with --at alone the case's default,
    named on standard error."""
    if at is None:
        return None
    from ..report.plot import default_point
    from ..run.targets import OptionError, target_point

    if at:
        return target_point(target, at)
    if target.case is None:
        raise OptionError("--at alone needs a case file; for an expression give NAME=VALUE,...",
                          "--at")  # fmt: skip
    point = default_point(target.case)
    where = "the case's first explicit point" if target.case.points else (
        "the middle of the case's domain")  # fmt: skip
    shown = ", ".join(f"{name}={value:g}" for name, value in point.items())
    click.echo(f"at {shown} ({where})", err=True)
    return point


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@output_option(
    "The file to write: FILE.tex, or FILE.pdf (compiled with pdflatex).  "
    "[default: LaTeX on standard output]"
)
@click.option("--fragment", is_flag=True, help="Omit the preamble, to \\input into a paper.")
@click.option(
    "--figures",
    is_flag=True,
    help="Add a picture of each scalar claim against the derived derivative (needs "
    "matplotlib and -o; a .tex gets them in FILE-figures/).",
)
@TIMEOUT
@NO_IMPORT
def latex(
    paths: tuple[str, ...],
    output: str | None,
    fragment: bool,
    figures: bool,
    timeout: float,
    no_import: bool,
) -> None:
    """Write the cases in PATHS as a LaTeX handout: for each case the function, each
    derivative as one chain of equalities with the rule at each step, the claims, a
    verification table and the verdict.

    Exit status: 0 when written, 2 if a path or a case file is invalid (the valid
    cases are still written).
    """
    from ..report.document import explain_paths, latex_document
    from ..report.handout import write_handout
    from ..report.text import diagnostics
    from ..run.check import Settings, exit_code

    if figures and output is None:
        raise click.UsageError("--figures needs -o FILE.tex or -o FILE.pdf")
    settings = Settings(timeout=timeout or None, allow_import=not no_import)
    entries, results = explain_paths(paths, settings)
    for line in diagnostics(results):
        click.echo(line, err=True)
    if output is None:
        click.echo(latex_document(entries, fragment), nl=False)
    else:
        with exit_on_errors():
            written = write_handout(entries, output, fragment, figures)
        click.echo(f"wrote {written[-1]}", err=True)
    raise SystemExit(EXIT_USAGE if exit_code(results) == EXIT_USAGE else EXIT_OK)


@click.command()
@click.argument("case_file", metavar="CASE_FILE")
@CASE
@click.option(
    "--wrt",
    metavar="VAR",
    default=None,
    help="The variable swept over its interval (scalar case), or whose claim is mapped "
    "(array case).  [default: the first]",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    required=True,
    help="The picture to write: FILE.png, FILE.pdf or FILE.svg.",
)
def plot(case_file: str, case_name: str | None, wrt: str | None, output: str) -> None:
    """Draw a scalar case's derived and claimed derivative over its domain, with the
    points where they disagree marked; for an array case, the heat map of a claim's
    error by entry (needs matplotlib: pip install 'diffcheck-grad[plot]').

    The other variables stay at the case's first explicit point, else at the middle of
    their intervals; the command says which.
    """
    from ..report.plot import PLOT_FORMATS, image_format, plot_case
    from ..run.targets import select_case

    if not image_format(output):
        raise click.BadParameter(
            f"cannot draw into {Path(output).name!r}: name the file "
            + ", ".join(f".{suffix}" for suffix in PLOT_FORMATS),
            param_hint="--output",
        )
    with exit_on_errors("error: "):
        case = select_case(case_file, case_name)
        drawn = plot_case(case, output, wrt)
    click.echo(f"wrote {output}: {drawn}")


def _scalar_graph(target: Any, point: dict[str, float]) -> str:
    """The DOT text of a scalar case or expression, its warnings on standard error."""
    from ..explain.relay import point_warnings

    dot, named = _graph_dot(target, point)
    if named is None:
        warnings = point_warnings(target.function(), point)
    else:
        value = named.pop("")
        parts = [expression.expr for _, expression in target.case.where]
        warnings = point_warnings(None, named, value, [*parts, target.expr])
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    return dot


def _graph_dot(target: Any, point: dict[str, float]) -> tuple[str, dict[str, float] | None]:
    """The DOT text of `graph`, and values found on the way (`where_graph_dot`): a case
    whose written-out function is large is drawn through its intermediates as defined,
    so the graph grows with them, not with what SymPy made of them written out."""
    import sympy as sp

    from ..explain.chain import MAX_RESOLVED_NODES
    from ..explain.graph import where_graph_dot
    from ..run.targets import target_graph

    case = target.case
    if case is None or not case.where:
        return target_graph(target, point), None
    if not target.larger_than(MAX_RESOLVED_NODES):
        return target_graph(target, point), None
    where = [(sp.Symbol(name), expression.expr) for name, expression in case.where]
    return where_graph_dot(target.expr, where, point, case.name)


@click.command()
@click.argument("case_file", metavar="CASE_FILE|EXPRESSION")
@CASE
@click.option(
    "--at",
    metavar="NAME=VALUE,...",
    default=None,
    help="The point: every variable without a fixed value.  [default: for a case file, its "
    "first explicit point, else the middle of its domain]",
)
@output_option(
    "FILE.dot, or FILE.svg / FILE.png (with FILE.dot beside it; needs "
    "Graphviz's dot).  [default: DOT on standard output]"
)
def graph(case_file: str, case_name: str | None, at: str | None, output: str | None) -> None:
    """Draw the computational graph of a case at a point: every node labelled by its
    operation, its forward value and the adjoint flowing into it. An array case is drawn
    without a point: each edge labelled by the shape flowing along it."""
    from ..explain.graph import IMAGE_FORMATS, render_graph
    from ..report.output import write_output
    from ..run.targets import OptionError, select_target, target_point

    with exit_on_errors():
        target = select_target(case_file, case_name)
        if target.is_array and at is not None:
            raise OptionError(f"case {target.case.name} is an array case: its graph shows "
                              "shapes, not values at a point", "--at")  # fmt: skip
        if at is None and target.case is not None and not target.is_array:
            point = _derive_point(target, "")  # the case's default point, named
        elif not target.is_array:
            point = target_point(target, at)
    if target.is_array:
        from ..explain.array_graph import array_graph_dot

        dot = array_graph_dot(target.case)
    else:
        dot = _scalar_graph(target, point)
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
    with exit_on_errors():
        write_output(path if image in ("dot", "gv") else path.with_suffix(".dot"), dot)
    if image in IMAGE_FORMATS:
        with exit_on_errors("error: ", f"; wrote {path.with_suffix('.dot')}"):
            image_bytes = render_graph(dot, image)
        with exit_on_errors():
            write_output(path, image_bytes)
