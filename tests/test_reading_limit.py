"""Reading a case (parsing, SymPy's work on its expressions) runs within the per-case time
limit: a case whose reading runs away is an error result, and the rest of the file goes on."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from diffcheck import check_gradient
from diffcheck.cli import main

LENGTH = 3000  # intermediates: reading them takes seconds, far beyond the limits below


def _slow_file(tmp_path: Path) -> str:
    chain = "".join(f"      z{i}: tanh(z{i - 1})\n" for i in range(1, LENGTH + 1))
    text = (
        "cases:\n"
        f"  - name: runaway\n    where:\n      z0: x\n{chain}    function: z{LENGTH}\n"
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
    where = {f"z{i}": f"tanh(z{i - 1})" for i in range(1, LENGTH + 1)}
    checked = check_gradient(f"z{LENGTH}", where={"z0": "x", **where},
                             domain={"x": (-1, 1)}, timeout=0.5)  # fmt: skip
    assert (checked.result.status, checked.result.error_kind) == ("error", "timeout")
    assert checked.result.message == (
        "check_gradient(): timed out while reading the case, after 0.5 s (raise it with --timeout)"
    )
