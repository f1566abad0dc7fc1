"""Users' own code named by a case's `implementation`: checked like a claimed formula;
errors in it are reported, not raised; `--no-import` refuses it before importing."""

from __future__ import annotations

import itertools
import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from diffcheck.cases.loader import load_case_file
from diffcheck.cli import main
from diffcheck.report.text import render_json
from diffcheck.run.check import Settings, check_case

OPS = """\
import numpy as np

def sigmoid(x):
    return 1 / (1 + np.exp(-x))

def backward(x):
    s = sigmoid(x)
    return {"x": s * (1 - s)}

def backward_tuple(w, x, t):
    y = sigmoid(w * x)
    return ((y - t) * y * (1 - y) * x, (y - t) * y * (1 - y) * w)

def backward_wrong(x):
    s = sigmoid(x)
    return {"x": s * (1 + s)}

def forward_off(x):
    return sigmoid(x) + 1e-3

def missing(x):
    return {}

def extra(x):
    return {"x": x, "q": x}

def shaped(x):
    return {"x": np.ones((2, 3))}

def raising(x):
    raise ValueError("shapes do not match")

def complex_values(x):
    s = sigmoid(x)
    return {"x": s * (1 - s) + 1j}

def exiting(x):
    import sys
    sys.exit(3)

def clobbering(x):
    x[:] = 0  # writes into its input, then returns sigmoid'(0) everywhere
    return {"x": sigmoid(x) * (1 - sigmoid(x))}

def scaling_forward(x):
    x *= 2  # harmless to the caller: it works on its own copy
    return sigmoid(x / 2)

def backward32(x):
    s = sigmoid(x.astype(np.float32))  # a single-precision backward pass
    return {"x": s * (1 - s)}

def forward32(x):
    return sigmoid(x.astype(np.float32))

def backward32_wrong(x):
    s = sigmoid(x.astype(np.float32))
    return {"x": s * (1 + s)}

def backward64_nudged(x):
    s = sigmoid(x)
    return {"x": s * (1 - s) * (1 + 1e-6)}  # float64, off by float32-sized errors

not_callable = 3
"""
NAMES = (f"user_ops_{n}" for n in itertools.count())


@pytest.fixture
def ops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module of the user's, importable from the current directory, fresh per test."""
    name = next(NAMES)
    (tmp_path / f"{name}.py").write_text(OPS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    yield name
    sys.modules.pop(name, None)


SETTINGS = Settings(samples=32)


def _result(tmp_path: Path, body: str, settings: Settings = SETTINGS):
    path = tmp_path / "impl.yaml"
    path.write_text("cases:\n  - name: c\n" + body, encoding="utf-8")
    loaded = load_case_file(path)
    assert loaded.errors == (), loaded.errors
    (case,) = loaded.cases
    return check_case(case, settings)


SIGMOID = "    function: sigmoid(x)\n    domain: {x: [-5, 5]}\n"


def test_implementation_right_code_is_correct(tmp_path: Path, ops: str) -> None:
    result = _result(tmp_path, SIGMOID + f"    implementation: {{function: '{ops}:sigmoid', "
                     f"gradient: '{ops}:backward'}}\n")  # fmt: skip
    assert result.verdict.verdict == "correct"
    assert result.verdict.evidence == (
        "the implementation's gradient agrees at 32 points; the implementation's function "
        "agrees at 32 points"
    )
    entry = json.loads(render_json([result]))["cases"][0]
    assert entry["variables"]["x"]["implementation"]["max_abs_error"] is not None
    assert entry["implementation_function"]["max_abs_error"] is not None


def test_implementation_tuple_in_wrt_order(tmp_path: Path, ops: str) -> None:
    result = _result(
        tmp_path,
        "    function: (sigmoid(w*x) - t)^2/2\n    wrt: [w, x]\n"
        "    domain: {w: [-1, 1], x: [-2, 2], t: [0, 1]}\n"
        f"    implementation: {{gradient: '{ops}:backward_tuple'}}\n",
    )
    assert result.verdict.verdict == "correct"


def test_implementation_wrong_backward_is_incorrect(tmp_path: Path, ops: str) -> None:
    result = _result(
        tmp_path, SIGMOID + f"    implementation: {{gradient: '{ops}:backward_wrong'}}\n"
    )
    assert result.verdict.verdict == "incorrect"
    assert result.verdict.evidence.startswith("counterexample at x=")
    assert ": the implementation's ∂/∂x expected " in result.verdict.evidence
    assert result.verdict.evidence.endswith(
        "reverse mode and finite differences agree with the expected value"
    )
    assert result.verdict.counterexample.source == "implementation"


def test_implementation_wrong_forward_is_incorrect(tmp_path: Path, ops: str) -> None:
    result = _result(tmp_path, SIGMOID + f"    implementation: {{function: '{ops}:forward_off'}}\n")
    assert result.verdict.verdict == "incorrect"
    assert "the implementation's function returned" in result.verdict.evidence


@pytest.mark.parametrize(
    ("attribute", "message"),
    [
        ("missing", "implementation gradient returned no value for 'x' (x)"),
        ("extra", "implementation gradient returned 'q', which is not in wrt (x)"),
        ("shaped", "implementation gradient['x'] must give one number per point (32 points), "
                   "got (2, 3): ValueError"),
        ("complex_values", "implementation gradient['x'] returned complex values"),
        ("exiting", "implementation gradient raised SystemExit: 3"),
        ("raising", "implementation gradient raised ValueError: shapes do not match"),
    ],
)  # fmt: skip
def test_implementation_bad_results_are_errors(tmp_path: Path, ops: str, attribute, message):
    result = _result(tmp_path, SIGMOID + f"    implementation: {{gradient: '{ops}:{attribute}'}}\n")
    assert (result.status, result.error_kind) == ("error", "implementation")
    assert [str(e) for e in result.errors] == [f"{tmp_path / 'impl.yaml'}:5:21: {message}"]


def test_implementation_cannot_change_the_points(tmp_path: Path, ops: str) -> None:
    wrong = _result(tmp_path, SIGMOID + f"    implementation: {{gradient: '{ops}:clobbering'}}\n")
    assert wrong.verdict.verdict == "incorrect"
    assert wrong.comparison.points.min() < -1  # the points are still the drawn ones
    right = _result(tmp_path, SIGMOID + f"    implementation: {{function: "
                    f"'{ops}:scaling_forward', gradient: '{ops}:backward'}}\n")  # fmt: skip
    assert right.verdict.verdict == "correct"


def test_implementation_traceback_shows_only_the_users_frames(tmp_path: Path, ops: str):
    result = _result(tmp_path, SIGMOID + f"    implementation: {{gradient: '{ops}:raising'}}\n")
    assert result.traceback.startswith("Traceback (most recent call last):\n")
    assert f"{ops}.py" in result.traceback and "diffcheck" not in result.traceback


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("nosuchmodule_xyz:f", "implementation gradient: cannot import 'nosuchmodule_xyz': "
                               "ModuleNotFoundError: No module named 'nosuchmodule_xyz'"),
        ("{ops}:nothing", "implementation gradient: '{ops}' has no attribute 'nothing'"),
        ("{ops}:not_callable", "implementation gradient: '{ops}:not_callable' is not callable"),
    ],
)  # fmt: skip
def test_implementation_import_problems_are_invalid(tmp_path: Path, ops: str, reference, message):
    reference, message = reference.format(ops=ops), message.format(ops=ops)
    result = _result(tmp_path, SIGMOID + f"    implementation: {{gradient: '{reference}'}}\n")
    assert (result.status, result.error_kind) == ("error", "invalid")
    assert [str(e) for e in result.errors] == [f"{tmp_path / 'impl.yaml'}:5:21: {message}"]


def test_implementation_reference_syntax_is_checked_when_loading(tmp_path: Path) -> None:
    path = tmp_path / "impl.yaml"
    path.write_text("cases:\n  - name: c\n" + SIGMOID + "    implementation: {gradient: ops.f, "
                    "backward: 'ops:f'}\n", encoding="utf-8")  # fmt: skip
    assert [str(e) for e in load_case_file(path).errors] == [
        f"{path}:5:32: implementation gradient must be 'module:attribute' (as in "
        "'mypackage.ops:sigmoid_backward'), got 'ops.f'",
        f"{path}:5:39: unknown key 'backward' in implementation",
    ]


@pytest.mark.parametrize("command", [["check"], ["latex", "-o", "out.tex"]])
def test_no_import_refuses_before_importing(tmp_path: Path, monkeypatch, command) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tripwire_ops.py").write_text(
        "open('IMPORTED', 'w').close()\ndef f(x):\n    return {'x': x}\n", encoding="utf-8"
    )
    (tmp_path / "case.yaml").write_text(
        "cases:\n  - name: c\n" + SIGMOID + "    implementation: {gradient: 'tripwire_ops:f'}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, [*command, str(tmp_path / "case.yaml"), "--no-import"])
    assert result.exit_code == 2
    assert (
        f"{tmp_path / 'case.yaml'}:5:21: implementation gradient: 'tripwire_ops:f' is not "
        "imported: importing code named by case files is disabled (--no-import)"
    ) in result.output
    assert not (tmp_path / "IMPORTED").exists() and "tripwire_ops" not in sys.modules


FLOAT32_HINT = (
    "; the implementation returned float32 values: their rounding (~1e-7 relative) exceeds "
    "the tolerance — use `tolerance: float32` for single-precision code"
)


@pytest.mark.parametrize("key", ["gradient", "function"])
def test_implementation_float32_rounding_is_named_with_the_tolerance_to_use(
    tmp_path: Path, ops: str, key: str
) -> None:
    code = {"gradient": f"{ops}:backward32", "function": f"{ops}:forward32"}[key]
    implementation = f"    implementation: {{{key}: '{code}'}}\n"
    result = _result(tmp_path, SIGMOID + implementation)
    assert result.verdict.verdict == "incorrect"
    assert result.verdict.evidence.endswith(FLOAT32_HINT)
    single = _result(tmp_path, SIGMOID + implementation + "    tolerance: float32\n")
    assert single.verdict.verdict == "correct"


@pytest.mark.parametrize("attribute", ["backward32_wrong", "backward64_nudged"])
def test_implementation_no_float32_hint_for_wrong_or_float64_code(
    tmp_path: Path, ops: str, attribute: str
) -> None:
    result = _result(tmp_path, SIGMOID + f"    implementation: {{gradient: '{ops}:{attribute}'}}\n")
    assert result.verdict.verdict == "incorrect"
    assert "float32" not in result.verdict.evidence


def test_code_beside_the_case_file_is_found_from_another_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    name = next(NAMES)
    (cases / f"{name}.py").write_text(OPS, encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # as pytest or CI started from another folder
    path = cases / "impl.yaml"
    path.write_text("cases:\n  - name: c\n" + SIGMOID
                    + f"    implementation: {{gradient: '{name}:backward'}}\n",
                    encoding="utf-8")  # fmt: skip
    (case,) = load_case_file(os.path.relpath(path)).cases
    try:
        assert check_case(case, SETTINGS).verdict.verdict == "correct"
        assert str(cases) not in sys.path and str(elsewhere) not in sys.path  # put back
    finally:
        sys.modules.pop(name, None)


def test_modules_of_one_name_in_two_folders_are_each_their_case_files(tmp_path: Path) -> None:
    # cases/a/impl.py is imported first; cases/b/impl.py, wrong, is b.yaml's and must be
    # the one its case is judged by (in one process, as --jobs 1 and pytest run them)
    for folder, gradient, expect in (("a", "2*x", "correct"), ("b", "x", "incorrect")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "impl.py").write_text(
            f"def grad(x):\n    return {{'x': {gradient}}}\n", encoding="utf-8"
        )
        (tmp_path / folder / "case.yaml").write_text(
            f"cases:\n  - name: square-{folder}\n    function: x**2\n"
            "    implementation: {gradient: 'impl:grad'}\n    domain: {x: [-2, 2]}\n"
            f"    samples: 8\n    expect: {expect}\n", encoding="utf-8")  # fmt: skip
    try:
        for folder in ("a", "b", "a"):
            (case,) = load_case_file(str(tmp_path / folder / "case.yaml")).cases
            result = check_case(case, SETTINGS)
            assert result.status == "pass", (folder, result.verdict)
    finally:
        for name in [n for n in sys.modules if n == "impl" or n.startswith("impl@")]:
            del sys.modules[name]


def test_what_the_users_code_prints_keeps_the_json_report_whole(tmp_path: Path) -> None:
    (tmp_path / "noisy.py").write_text(
        "print('importing noisy')\n\ndef grad(x):\n    print('hello from user code')\n"
        "    return {'x': 2*x}\n", encoding="utf-8")  # fmt: skip
    (tmp_path / "case.yaml").write_text(
        "cases:\n  - name: noisy\n    function: x**2\n"
        "    implementation: {gradient: 'noisy:grad'}\n    domain: {x: [-2, 2]}\n",
        encoding="utf-8",
    )
    try:
        result = CliRunner().invoke(main, ["check", str(tmp_path / "case.yaml"), "--format",
                                           "json", "--jobs", "1"])  # fmt: skip
    finally:
        sys.modules.pop("noisy", None)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["passed"] == 1
    assert "hello from user code" in result.stderr and "importing noisy" in result.stderr


@pytest.mark.parametrize(("factor", "verdict"), [("2", "correct"), ("3", "incorrect")])
def test_a_backward_pass_of_a_loss_gets_a_cotangent(tmp_path: Path, factor: str,
                                                    verdict: str) -> None:  # fmt: skip
    # a vjp of a scalar function is called with a scalar cotangent, as for any other
    (tmp_path / "lossvjp.py").write_text(
        f"def vjp(x, g):\n    return {{'x': {factor} * x * g}}\n", encoding="utf-8"
    )
    (tmp_path / "case.yaml").write_text(
        "cases:\n  - name: vjp-of-a-loss\n    shapes: {x: [3]}\n    function: sum(x**2)\n"
        "    implementation: {vjp: 'lossvjp:vjp'}\n    domain: {x: [-1, 1]}\n    samples: 4\n"
        f"    expect: {verdict}\n", encoding="utf-8")  # fmt: skip
    try:
        (case,) = load_case_file(str(tmp_path / "case.yaml")).cases
        result = check_case(case, Settings())
    finally:
        sys.modules.pop("lossvjp", None)
    assert (result.status, result.verdict.verdict) == ("pass", verdict), result.message


def test_code_running_past_the_time_limit_is_a_timeout_not_its_failure(tmp_path: Path) -> None:
    (tmp_path / "slowcode.py").write_text(
        "import time\n\ndef grad(x):\n    time.sleep(30)\n    return {'x': 2*x}\n",
        encoding="utf-8",
    )
    (tmp_path / "case.yaml").write_text(
        "cases:\n  - name: slow\n    function: x**2\n"
        "    implementation: {gradient: 'slowcode:grad'}\n    domain: {x: [-1, 1]}\n",
        encoding="utf-8",
    )
    try:
        (case,) = load_case_file(str(tmp_path / "case.yaml")).cases
        result = check_case(case, Settings(timeout=0.5))
    finally:
        sys.modules.pop("slowcode", None)
    assert (result.status, result.error_kind) == ("error", "timeout")
    assert result.message.endswith("timed out after 0.5 s (raise it with --timeout)")


def test_an_array_backward_pass_may_return_jax_arrays(tmp_path: Path) -> None:
    pytest.importorskip("jax", reason="returning JAX arrays needs JAX")
    (tmp_path / "jaxgrad.py").write_text(
        "import jax.numpy as jnp\n\ndef grad(x):\n    return {'x': 2 * jnp.asarray(x)}\n",
        encoding="utf-8",
    )
    (tmp_path / "case.yaml").write_text(
        "cases:\n  - name: jax\n    shapes: {x: [3]}\n    function: sum(x**2)\n"
        "    implementation: {gradient: 'jaxgrad:grad'}\n    domain: {x: [-1, 1]}\n"
        "    samples: 2\n    tolerance: float32\n", encoding="utf-8")  # fmt: skip
    try:
        (case,) = load_case_file(str(tmp_path / "case.yaml")).cases
        result = check_case(case, Settings())
    finally:
        sys.modules.pop("jaxgrad", None)
    assert (result.status, result.verdict.verdict) == ("pass", "correct"), result.message
