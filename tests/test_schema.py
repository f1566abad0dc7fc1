"""The JSON Schema of case files: it accepts every case file we ship or document, rejects
unknown keys where the loader does, and names every key of the loader's tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from diffcheck.cases import loader as cases
from diffcheck.cases.schema import SCHEMA_DIALECT, case_file_schema, render_schema
from diffcheck.cli import main
from diffcheck.report.scaffold import EXAMPLE

jsonschema = pytest.importorskip("jsonschema", reason="pip install -e '.[test]' installs it")

HERE = Path(__file__).parent
REPO = HERE.parent
ACCEPTED = sorted(
    [
        *(REPO / "cases").glob("*.yaml"),
        *(HERE / "data" / "schema").glob("*.yaml"),  # the examples of CASES.md and README
        *(HERE / "data" / "valid").glob("*.yaml"),
        *(HERE / "data" / "report").glob("*.yaml"),
    ]
)
# invalid files whose first problem is an unknown key: the schema must reject them too
UNKNOWN_KEYS = ["unknown-keys.yaml", "unknown-top-key.yaml"]
SQUARE = {"name": "square", "function": "x^2", "domain": {"x": [0, 1]}}


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = case_file_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def _messages(validator: jsonschema.Draft7Validator, document: object) -> list[str]:
    return sorted(error.message for error in validator.iter_errors(document))


def test_schema_is_draft_07() -> None:
    assert case_file_schema()["$schema"] == SCHEMA_DIALECT


@pytest.mark.parametrize("path", ACCEPTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_schema_accepts_shipped_and_documented_case_files(validator, path: Path) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert _messages(validator, document) == []


def test_schema_accepts_the_init_example(validator) -> None:
    assert _messages(validator, yaml.safe_load(EXAMPLE)) == []


def test_schema_test_data_holds_the_cases_md_example() -> None:
    text = (HERE / "data" / "schema" / "cases-md-example.yaml").read_text(encoding="utf-8")
    assert "name: sigmoid-closed-form" in text and "name: neuron-squared-error" in text


@pytest.mark.parametrize("name", UNKNOWN_KEYS)
def test_schema_rejects_the_invalid_files_with_unknown_keys(validator, name: str) -> None:
    path = HERE / "data" / "invalid" / name
    errors = list(validator.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8"))))
    assert any(error.validator == "additionalProperties" for error in errors)


@pytest.mark.parametrize(
    ("document", "unexpected"),
    [
        ({"cases": [SQUARE], "case": []}, "case"),
        ({"cases": [{**SQUARE, "tolerence": {"rtol": 1}}]}, "tolerence"),
        ({"cases": [{**SQUARE, "tolerance": {"rtl": 1}}]}, "rtl"),
        ({"defaults": {"name": "x"}, "cases": [SQUARE]}, "name"),
        ({"cases": [{**SQUARE, "implementation": {"module": "m:f"}}]}, "module"),
    ],
)
def test_schema_rejects_unknown_keys(validator, document: dict, unexpected: str) -> None:
    assert _messages(validator, document) == [
        f"Additional properties are not allowed ('{unexpected}' was unexpected)"
    ]


def _properties(schema: dict) -> tuple[set[str], set[str], set[str], set[str]]:
    top = schema["properties"]
    case = top["cases"]["items"]["properties"]
    return (
        set(top),
        set(top["defaults"]["properties"]),
        set(case),
        set(case["tolerance"]["properties"]),
    )


def test_schema_names_every_key_of_the_loader_tables() -> None:
    top, defaults, case, tolerance = _properties(case_file_schema())
    assert top == set(cases.TOP_KEYS)
    assert defaults == set(cases.DEFAULT_KEYS)
    # the two keys the loader is learning are described already; nothing else is extra
    assert case == set(cases.CASE_KEYS) | {"implementation", "hessian"}
    assert tolerance == set(cases.TOLERANCE_KEYS)
    expect = case_file_schema()["properties"]["cases"]["items"]["properties"]["expect"]
    assert expect["enum"] == list(cases.EXPECTATIONS)


def test_schema_fails_loudly_for_a_loader_key_without_a_shape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("diffcheck.cases.schema.CASE_KEYS", (*cases.CASE_KEYS, "laplacian"))
    with pytest.raises(KeyError, match="no schema shape for case file key"):
        case_file_schema()


def test_schema_requires_name_and_function(validator) -> None:
    assert _messages(validator, {"cases": [{"function": "x"}]}) == ["'name' is a required property"]
    assert _messages(validator, {"cases": [{"name": "a"}]}) == ["'function' is a required property"]


@pytest.mark.parametrize(
    ("extra", "valid"),
    [
        ({"implementation": {"function": "model:loss", "gradient": "model.grads:loss"}}, True),
        ({"implementation": {"function": "no-colon"}}, False),
        ({"implementation": {"vjp": "layers:linear_backward"}}, True),  # array cases' key
        ({"implementation": {"backward": "layers:linear_backward"}}, False),
        ({"implementation": {}}, False),
        ({"hessian": {"x,x": "2", "x, y": 0}}, True),
        ({"hessian": {"x": "2"}}, False),
        ({"hessian": {"x,y,z": "2"}}, False),
        ({"domain": {"x": [0, 1, 2]}}, False),
        ({"domain": {"x": "-pi"}}, True),
        ({"points": [{"x": 1}, {"x": "pi/2"}]}, True),
        ({"expect": "wrong"}, False),
        ({"samples": -1}, False),
        ({"samples": "1e3", "seed": "2**4"}, True),  # the loader reads constant text too
        ({"samples": ""}, False),
        ({"wrt": "x"}, True),
        ({"wrt": []}, False),
        ({"function": 3}, True),
    ],
)
def test_schema_shapes(validator, extra: dict, valid: bool) -> None:
    assert (_messages(validator, {"cases": [{**SQUARE, **extra}]}) == []) is valid


def test_cli_schema_prints_the_schema() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == case_file_schema()
    assert result.stdout == render_schema() + "\n"


@pytest.mark.parametrize(
    ("tolerance", "messages"),
    [
        ("float32", []),
        ("float64", []),
        ({"rtol": 1e-5}, []),
        ("float23", ["'float23' is not one of ['float64', 'float32']"]),
        (1e-6, ["1e-06 is not of type 'object', 'string'"]),
    ],
)
def test_schema_tolerance_is_a_mapping_or_a_preset(validator, tolerance, messages) -> None:
    assert _messages(validator, {"defaults": {"tolerance": tolerance}, "cases": [SQUARE]}) == (
        messages
    )
    case = {**SQUARE, "tolerance": tolerance}
    assert _messages(validator, {"cases": [case]}) == messages
