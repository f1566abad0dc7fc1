"""Command line: click commands only; the work is done by the library.

`diffcheck check PATH...` checks case files; `schema` prints the case files' JSON
Schema and `init` writes an example. The explaining commands (derive, latex, plot,
graph) are in `explain`. Reports go to standard output, diagnostics to standard error.
Each command imports the library when it runs: SymPy and NumPy take a third of a
second, which `--help` and `--version` do without.
"""

from __future__ import annotations

import atexit
import gc
import os
from pathlib import Path

import click

from .. import __version__
from ..errors import EXIT_INTERRUPTED
from .explain import derive, graph, latex, plot
from .options import (
    _DEFAULT_PROOF_BUDGET,
    _FORMATS,
    _FRAMEWORKS,
    _MAX_SAMPLES,
    NO_IMPORT,
    TIMEOUT,
    Jobs,
    exit_on_errors,
    format_option,
    seconds_option,
)

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="diffcheck")
def main() -> None:
    """diffcheck tells whether a gradient is right."""
    # one BLAS thread per process unless the user chose (before NumPy loads): --jobs
    # parallelises by processes, and BLAS threads beside them or beside other work wait
    # for each other (a 64×512 by 512×512 product measured 30× slower on a busy machine)
    for variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    # at exit Python's last garbage collections walk every object SymPy made (60 ms after
    # `import sympy` alone, a sixth of a plain derive): frozen, they are left to the end of
    # the process. Registered once, however often main runs in one process.
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


for _command in (derive, latex, plot, graph):
    main.add_command(_command)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@format_option(
    _FORMATS,
    "Report format: text; json (only the JSON document); junit (JUnit "
    "XML); github (GitHub Actions annotations, one per case that did not pass).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the report to this file ('-': standard output); the text report still "
    "goes to standard output.  [default: standard output only]",
)
@click.option(
    "--jobs",
    type=Jobs(),
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
@TIMEOUT
@seconds_option(
    "--proof-budget", _DEFAULT_PROOF_BUDGET, "Seconds per claimed partial for a symbolic proof."
)
@click.option(
    "--autodiff",
    type=click.Choice(_FRAMEWORKS),
    multiple=True,
    help="Also check this framework's autograd against the math; repeat for several.",
)
@NO_IMPORT
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
    from ..oracles.external import INSTALL, available
    from ..report.ci import Timings
    from ..report.formats import render_report
    from ..report.output import check_with_progress, write_output
    from ..report.text import diagnostics, render_text
    from ..run.check import Settings, exit_code

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
    if output == "-":  # standard output, as the convention of command-line tools has it
        output = None
    if output is not None and not Path(output).resolve().parent.is_dir():
        raise click.BadParameter(f"no folder to write {output!r} into", param_hint="--output")
    try:
        run = check_with_progress(paths, settings, jobs, output_format)
    except KeyboardInterrupt:  # 128 + SIGINT, as shells report it: not "a case failed"
        click.echo("interrupted: no report was written", err=True)
        raise SystemExit(EXIT_INTERRUPTED) from None
    results = list(run.results)
    text_out = output_format == "text" or output is not None
    # the text report lists errors itself; beside the other formats they go to stderr too
    for line in diagnostics(results, errors=not text_out):
        click.echo(line, err=True)
    timings = Timings(run.started, run.seconds, run.durations) if timestamps else None
    report = render_report(results, output_format, timings)
    if output is not None:
        with exit_on_errors():
            write_output(output, report + "\n" if report else "")
        report = render_text(results)
    if report:
        click.echo(report)
    raise SystemExit(exit_code(results))


@main.command()
def schema() -> None:
    """Print the JSON Schema of case files, for editors with a YAML language server."""
    from ..cases.schema import render_schema

    click.echo(render_schema())


@main.command()
@click.argument("folder", metavar="[DIR]", default="cases", type=click.Path(file_okay=False))
def init(folder: str) -> None:
    """Write a commented example case file, DIR/example.yaml (DIR: cases by default).

    An existing file is never overwritten (exit status 2).
    """
    from ..report.scaffold import write_example

    with exit_on_errors():
        path = write_example(folder)
    click.echo(f"wrote {path}; check it with: diffcheck check {folder}")
