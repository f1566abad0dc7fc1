"""The command line's shared pieces: option declarations, the --jobs type, and the way
an expected error ends a command (exit status 2). No library import at module level:
`--help` must not wait for SymPy or NumPy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from ..errors import EXIT_USAGE, DiffcheckError

__all__ = ["CASE", "NO_IMPORT", "TIMEOUT", "Jobs", "exit_on_errors", "format_option",
           "output_option", "seconds_option"]  # fmt: skip

# The library's values, written out because their modules import SymPy and NumPy, which
# the help need not wait for; tests/test_cli_startup.py holds each equal to its source.
_FORMATS = ("text", "json", "junit", "github")  # report.formats.FORMATS
_FRAMEWORKS = ("torch", "jax")  # oracles.external.FRAMEWORKS
_MAX_SAMPLES = 100_000_000  # cases.settings.MAX_SAMPLES
_DEFAULT_TIMEOUT = 60.0  # run.check.DEFAULT_TIMEOUT
_DEFAULT_PROOF_BUDGET = 2.0  # symbolic.derive.DEFAULT_PROOF_BUDGET

_Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


@contextmanager
def exit_on_errors(prefix: str = "", suffix: str = "") -> Iterator[None]:
    """End the command on an expected error, with exit status 2: a wrong option as
    click's usage message, any other as one message on standard error."""
    from ..run.targets import OptionError

    try:
        yield
    except OptionError as error:
        raise click.BadParameter(str(error), param_hint=error.option) from None
    except DiffcheckError as error:
        click.echo(f"{prefix}{error}{suffix}", err=True)
        raise SystemExit(EXIT_USAGE) from None


class Jobs(click.ParamType):
    """A number of worker processes, or `auto` for one per CPU."""

    name = "N|auto"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None):
        from ..run.parallel import resolve_jobs

        if isinstance(value, int) or value == "auto":
            return resolve_jobs(None if value == "auto" else value)
        try:
            jobs = int(str(value))
        except ValueError:
            jobs = 0
        if jobs < 1:
            self.fail(f"{value!r} is not a whole number >= 1 or 'auto'", param, ctx)
        return jobs


def format_option(choices: tuple[str, ...], help: str) -> _Decorator:
    """--format: one of `choices`, text by default."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices),
        default="text",
        show_default=True,
        help=help,
    )


def seconds_option(flag: str, default: float, help: str) -> _Decorator:
    """A time limit in seconds, 0 or more."""
    return click.option(
        flag, type=click.FloatRange(min=0), default=default, show_default=True, help=help
    )


def output_option(help: str, **kwargs: Any) -> _Decorator:
    """-o/--output: a file to write, standard output by default."""
    path = click.Path(dir_okay=False, **kwargs)
    return click.option("-o", "--output", type=path, default=None, help=help)


TIMEOUT = seconds_option(
    "--timeout", _DEFAULT_TIMEOUT, "Seconds a case may run before it is an error; 0: none."
)
NO_IMPORT = click.option(
    "--no-import",
    is_flag=True,
    help="Refuse cases whose `implementation` names code to import (untrusted case files).",
)
CASE = click.option(
    "--case",
    "case_name",
    metavar="NAME",
    default=None,
    help="With a case file: the case to use.  [default: the file's only case]",
)
