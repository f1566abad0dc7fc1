"""Report stage, for the commands: run the checks with a progress bar, write files.

`check_with_progress` is `run_checks` with a bar on a terminal; `write_output` writes a
report, document or image, and turns a path it cannot write into a one-line error.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from ..errors import DiffcheckError
from ..run.check import Settings
from ..run.parallel import Run, run_checks
from .progress import ProgressBar, wants_progress

__all__ = ["check_with_progress", "write_output"]


def check_with_progress(
    paths: Sequence[str], settings: Settings, jobs: int, output_format: str
) -> Run:
    """`run_checks`, drawing a progress bar on standard error while the cases run when
    the report is text and both standard streams are terminals (`wants_progress`)."""
    if not wants_progress(output_format, sys.stdout, sys.stderr):
        return run_checks(paths, settings, jobs)
    bar = ProgressBar(sys.stderr)
    try:
        return run_checks(paths, settings, jobs, bar.update)
    finally:
        bar.close()


def write_output(path: str | Path, content: str | bytes) -> None:
    """Write text (UTF-8) or bytes to `path`.

    Raises:
        DiffcheckError: the path cannot be written ("PATH: cannot write it: REASON").
    """
    try:
        if isinstance(content, bytes):
            Path(path).write_bytes(content)
        else:
            Path(path).write_text(content, encoding="utf-8")
    except OSError as error:
        raise DiffcheckError(f"{path}: cannot write it: {error.strerror or error}") from None
