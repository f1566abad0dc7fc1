"""The code is formatted and linted by ruff, as STYLE.md asks; ruff's own settings are in
pyproject.toml. Ruff runs as `python -m ruff` from the test environment (the `test` extra
installs it), so no PATH is needed; missing, it skips, and fails where CI is set."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TREES = ["diffcheck", "tests", "benchmarks"]


def require_ruff() -> None:
    """Skip if ruff is not installed beside pytest; fail instead where CI is set."""
    if importlib.util.find_spec("ruff") is not None:
        return
    message = "ruff is not installed (pip install -e '.[test]' installs it)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI is set, so the style check may not be skipped")
    pytest.skip(message)


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff_passes(command: list[str]) -> None:
    require_ruff()
    result = subprocess.run([sys.executable, "-m", "ruff", *command, *TREES], cwd=ROOT,
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_missing_ruff_fails_where_ci_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception) as failed:
        require_ruff()
    assert str(failed.value) == (
        "ruff is not installed (pip install -e '.[test]' installs it); CI is set, so the style "
        "check may not be skipped"
    )
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_ruff()
    assert str(skipped.value) == "ruff is not installed (pip install -e '.[test]' installs it)"
