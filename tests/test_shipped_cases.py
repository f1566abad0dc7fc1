"""Every case shipped in cases/ passes, one test per case, and the command line agrees."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from diffcheck.cases.loader import load_case_file
from diffcheck.cli import main
from diffcheck.run.check import check_case

REPO = Path(__file__).resolve().parent.parent
CASE_FILES = sorted((REPO / "cases").glob("*.yaml"))
CASES = [
    pytest.param(case, id=f"{path.name}::{case.name}")
    for path in CASE_FILES
    for case in load_case_file(path).cases
]


def test_shipped_case_files_are_valid() -> None:
    assert CASE_FILES
    for path in CASE_FILES:
        assert [str(error) for error in load_case_file(path).errors] == []


@pytest.mark.parametrize("case", CASES)
def test_shipped_case_passes(case) -> None:
    result = check_case(case)
    assert result.status == "pass", (result.message, result.verdict)


def test_cli_check_cases_exits_0(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(main, ["check", "cases/"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == f"{len(CASES)} passed, 0 failed"


def test_installed_command_checks_cases(monkeypatch: pytest.MonkeyPatch) -> None:
    command = shutil.which("diffcheck", path=str(Path(sys.executable).parent))
    if command is None:
        pytest.skip("the diffcheck command is not installed beside this Python")
    completed = subprocess.run(
        [command, "check", "cases"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stderr == ""
