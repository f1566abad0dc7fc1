"""What `derive` prints is a claim diffcheck itself verifies: for every shipped scalar
case, each derivative `derive --format json` prints, put back into the case as its
claim, is `correct` (so the printer's layout, a positive term first, factors reordered,
never changes what an expression means)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from diffcheck.cli import main

CASES = Path(__file__).resolve().parent.parent / "cases"


def _scalar_cases() -> list[tuple[str, str]]:
    found = []
    for path in sorted(CASES.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if "shapes" in (document.get("defaults") or {}):
            continue
        found += [(path.name, case["name"]) for case in document["cases"]
                  if "shapes" not in case and "implementation" not in case]  # fmt: skip
    return found


def _derived(path: Path, name: str) -> dict[str, str]:
    result = CliRunner().invoke(main, ["derive", str(path), "--case", name, "--format", "json"])
    assert result.exit_code == 0, result.output
    variables = json.loads(result.stdout)["variables"]
    return {variable: entry["derivative"] for variable, entry in variables.items()}


def test_the_shipped_scalar_cases_are_found() -> None:
    assert len(_scalar_cases()) >= 40


@pytest.mark.parametrize(("file", "name"), _scalar_cases())
def test_each_printed_derivative_is_a_correct_claim(file: str, name: str, tmp_path: Path) -> None:
    path = CASES / file
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    case = next(case for case in document["cases"] if case["name"] == name)
    case = {**case, "gradient": _derived(path, name), "expect": "correct"}
    case.pop("points", None)  # explicit points may sit on a kink the claims also skip
    target = tmp_path / file
    text = yaml.safe_dump({**document, "cases": [case]}, allow_unicode=True, sort_keys=False)
    target.write_text(text)
    result = CliRunner().invoke(main, ["check", str(target), "--format", "json"])
    report = json.loads(result.stdout)
    verdicts = [entry["verdict"] for entry in report["cases"]]
    assert verdicts == ["correct"], result.stdout[:2000]
