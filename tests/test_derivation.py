"""Derivation reports: golden text and JSON of the sigmoid, tanh(tanh(x)) and the neuron
chain as `diffcheck derive` prints them, and the JSON's shape (rule, expression, result
for every step). After an intended change: `pytest --update-golden`, then review."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from golden_files import compare_golden

from diffcheck.cli import main
from diffcheck.explain.steps import PRIMITIVE_RULES
from diffcheck.symbolic.rules import RULES

EXPLAIN = Path(__file__).parent / "data" / "explain"
ROOT = Path(__file__).resolve().parent.parent
NEURON_AT = "w0=-0.5,w1=0.4,w2=0.6,w3=0.3"
RUNS = {
    "sigmoid": ["1/(1 + exp(-x))", "--steps"],
    "tanh-tanh": ["tanh(tanh(x))", "--steps"],
    "neuron": ["neuron.yaml", "--steps", "--at", NEURON_AT],
}


def _derive(monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.chdir(EXPLAIN)  # the case file is named relatively, as a user would
    result = CliRunner().invoke(main, ["derive", *args])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result.stdout


@pytest.mark.parametrize("name", RUNS)
def test_derive_text_golden(
    name: str, monkeypatch: pytest.MonkeyPatch, update_golden: bool
) -> None:
    compare_golden(f"derive-{name}.txt", _derive(monkeypatch, *RUNS[name]), update_golden)


@pytest.mark.parametrize("name", RUNS)
def test_derive_json_golden(
    name: str, monkeypatch: pytest.MonkeyPatch, update_golden: bool
) -> None:
    text = _derive(monkeypatch, *RUNS[name], "--format", "json")
    compare_golden(f"derive-{name}.json", text, update_golden)


def _steps(step: dict[str, Any]) -> list[dict[str, Any]]:
    return [step, *(s for term in step["terms"] for s in _steps(term["step"]))]


@pytest.mark.parametrize("name", RUNS)
def test_json_steps_are_data(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    document = json.loads(_derive(monkeypatch, *RUNS[name], "--format", "json"))
    assert document["version"] == 1
    for variable in document["variables"].values():
        assert variable["derivative"]
        for factor in variable["factors"]:
            for step in _steps(factor["steps"]):
                assert step["rule"] in PRIMITIVE_RULES or step["rule"] in RULES
                assert step["expression"] and step["result"]
                assert len(step["local"]) == len(step["terms"])


def test_sigmoid_json_reads_like_the_textbook(monkeypatch: pytest.MonkeyPatch) -> None:
    document = json.loads(_derive(monkeypatch, *RUNS["sigmoid"], "--format", "json"))
    (factor,) = document["variables"]["x"]["factors"]
    step = factor["steps"]
    assert (step["rule"], step["rewrite"]) == ("chain", "(1 + exp(-x))**(-1)")
    assert step["outer"]["derivatives"] == ["-u**(-2)"]
    assert step["local"] == ["-(1 + exp(-x))**(-2)"]
    assert step["terms"][0]["step"]["result"] == "-exp(-x)"
    assert step["result"] == "exp(-x)/(1 + exp(-x))**2"
    assert factor["closed_form"] == {
        "expression": "sigmoid(x)*(1 - sigmoid(x))",
        "verified": True,
        "recognised": [{"expression": "1/(1 + exp(-x))", "as": "sigmoid(x)"}],
    }


def test_readme_shows_the_sigmoid_derivation_as_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    printed = _derive(monkeypatch, *RUNS["sigmoid"])
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f'$ diffcheck derive "1/(1 + exp(-x))" --steps\n{printed}```' in readme
