"""Reading a case (parsing, SymPy's work on its expressions) runs within the per-case time
limit: a case whose reading runs away is an error result, and the rest of the file goes on.
A case deeper than the C stack holds is an error result too, never a crash."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from diffcheck import check_gradient
from diffcheck.cases.loader import read_case_text
from diffcheck.cli import main
from diffcheck.limits import recursion_limit
from diffcheck.run.check import check_case

# a sum of 20 000 terms: reading it takes about 10 s, far beyond the limits below (a
# long where chain no longer does: its intermediates are only written out when asked)
SLOW = " + ".join(f"sin({i}*x)" for i in range(1, 20_000))


def _slow_file(tmp_path: Path) -> str:
    text = (
        "cases:\n"
        f"  - name: runaway\n    function: {SLOW}\n"
        "    domain: {x: [-1, 1]}\n"
        "  - {name: square, function: x^2, gradient: {x: 2*x}, domain: {x: [-1, 1]}}\n"
        "  - {name: cube, function: x^3, gradient: {x: 3*x^2}, domain: {x: [-1, 1]}}\n"
    )
    path = tmp_path / "slow.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_check_a_case_whose_reading_runs_away_is_a_timeout(tmp_path: Path, jobs: str) -> None:
    path = _slow_file(tmp_path)
    result = CliRunner().invoke(main, ["check", path, "--timeout", "0.5", "--jobs", jobs])
    assert result.exit_code == 1  # a timeout, not an invalid file (2)
    assert result.stdout.splitlines()[1:4] == [
        "  ERROR runaway: timed out",
        f"        {path}:2:5: timed out while reading the case, after 0.5 s (raise it with "
        "--timeout)",
        "  PASS  square: correct (proved symbolically; agrees at 64 points)",
    ]
    assert result.stdout.endswith("2 passed, 0 failed, 1 error\n")


def test_check_gradient_reading_within_its_timeout() -> None:
    checked = check_gradient(SLOW, domain={"x": (-1, 1)}, timeout=0.5)
    assert (checked.result.status, checked.result.error_kind) == ("error", "timeout")
    assert checked.result.message == (
        "check_gradient(): timed out while reading the case, after 0.5 s (raise it with --timeout)"
    )


def test_a_case_deeper_than_the_c_stack_holds_is_an_error_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def too_deep(case, settings):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("diffcheck.run.check._judge", too_deep)
    (case,) = read_case_text("cases:\n  - {name: a, function: x^2, domain: {x: 1}}\n").cases
    result = check_case(case)
    assert (result.status, result.error_kind) == ("error", "invalid")
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert result.message == (
        f"<text>:2:5: the expressions are nested too deeply to check on Python {version}: they "
        f"need more than the {recursion_limit():_} levels of recursion its C stack holds safely "
        "(Python 3.12 and newer allow 50_000)"
    )
