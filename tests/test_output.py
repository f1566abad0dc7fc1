"""What the commands write besides the reports (report/output.py): files, and the check
run with a progress bar only on a terminal."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from diffcheck.errors import DiffcheckError
from diffcheck.report import output
from diffcheck.run.check import Settings


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_write_output_text_and_bytes(tmp_path: Path) -> None:
    output.write_output(tmp_path / "a.tex", "∂f/∂x\n")
    output.write_output(str(tmp_path / "b.png"), b"\x89PNG")
    assert (tmp_path / "a.tex").read_text(encoding="utf-8") == "∂f/∂x\n"
    assert (tmp_path / "b.png").read_bytes() == b"\x89PNG"


def test_write_output_names_the_path_it_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "a.tex"
    with pytest.raises(DiffcheckError) as error:
        output.write_output(path, "text")
    assert str(error.value) == f"{path}: cannot write it: No such file or directory"


@pytest.mark.parametrize(
    ("stdout", "output_format", "bar"),
    [(_Terminal(), "text", True), (io.StringIO(), "text", False), (_Terminal(), "json", False)],
)
def test_check_with_progress_draws_only_for_text_on_terminals(
    monkeypatch: pytest.MonkeyPatch, stdout: io.StringIO, output_format: str, bar: bool
) -> None:
    progress = []

    def run_checks(paths, settings, jobs, on_progress=None):
        progress.append(on_progress)
        return "run"

    monkeypatch.setattr(output, "run_checks", run_checks)
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert output.check_with_progress(["cases"], Settings(), 1, output_format) == "run"
    assert (progress[0] is not None) == bar
