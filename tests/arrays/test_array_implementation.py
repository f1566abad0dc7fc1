"""Users' own code in array cases: NumPy forward, gradient and vjp callables, and PyTorch
code whose backward pass diffcheck runs, compared entry by entry like claimed formulas."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from diffcheck.cases.loader import load_case_file
from diffcheck.cli import main
from diffcheck.report.text import render_json
from diffcheck.run.check import Settings, check_case

CODE = Path(__file__).parent.parent / "data" / "arrays_impl"
NUMPY, TORCH = "arrays_impl_numpy", "arrays_impl_torch"
SETTINGS = Settings(samples=4, proof_budget=0.0)
FLOAT32_HINT = (
    "the implementation returned float32 values: their rounding (~1e-7 relative) exceeds the "
    "tolerance — use `tolerance: float32` for single-precision code"
)
LINEAR = (
    "    shapes: {x: [B, n], W: [m, n], b: [m]}\n"
    "    dims: {B: 5, m: %d, n: 3}\n"
    "    function: x @ W.T + b\n"
    "    domain: {x: [-1, 1], W: [-1, 1], b: [-1, 1]}\n"
)
MSE = (
    "    shapes: {W: [m, n], x: [n], y: [m]}\n"
    "    dims: {m: 4, n: 3}\n"
    "    function: sum((W @ x - y)**2) / m\n"
    "    wrt: [W, x]\n"
    "    domain: {W: [-1, 1], x: [-1, 1], y: [-1, 1]}\n"
)
IMPLEMENTATION_COLUMN = 21  # where `{` of "    implementation: {...}" stands


@pytest.fixture(autouse=True)
def user_code(monkeypatch: pytest.MonkeyPatch):
    """The users' modules, importable from the current directory, fresh for each test."""
    monkeypatch.chdir(CODE)
    yield
    for name in (NUMPY, TORCH, "tripwire_array_ops"):
        sys.modules.pop(name, None)


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "code.yaml"
    path.write_text("cases:\n  - name: c\n" + body, encoding="utf-8")
    return path


def _result(tmp_path: Path, body: str, settings: Settings = SETTINGS):
    loaded = load_case_file(str(_write(tmp_path, body)))
    assert loaded.errors == (), loaded.errors
    (case,) = loaded.cases
    return check_case(case, settings)


def _code(**references: str) -> str:
    entries = ", ".join(f"{key}: '{value}'" for key, value in references.items())
    return f"    implementation: {{{entries}}}\n"


def _linear(m: int = 3, **references: str) -> str:
    return LINEAR % m + _code(**references)


# ---- NumPy code ------------------------------------------------------------------------------


def test_numpy_forward_and_backward_right_is_correct(tmp_path: Path) -> None:
    result = _result(tmp_path, _linear(4, function=f"{NUMPY}:linear",
                                       vjp=f"{NUMPY}:linear_backward"))  # fmt: skip
    assert result.verdict.verdict == "correct", result.verdict
    assert result.verdict.evidence.startswith(
        "every entry agrees at 4 points (51 entries per point across the claims, the "
        "implementation's function and vjp included)"
    )
    kinds = {(c.kind, c.name) for c in result.arrays.instances[0].claims}
    assert kinds == {("implementation function", ""),
                     *(("implementation vjp", name) for name in ("W", "b", "x"))}  # fmt: skip


def test_numpy_backward_missing_transpose_is_incorrect_at_its_worst_entry(tmp_path: Path):
    result = _result(tmp_path, _linear(3, vjp=f"{NUMPY}:linear_backward_no_transpose"))
    assert result.verdict.verdict == "incorrect"
    (reason,) = result.verdict.reasons
    found = re.fullmatch(
        r"the implementation's vjp W: W\[(\d), (\d)\] at point 1 \(B=5, m=3, n=3\): "
        r"expected (\S+), returned (\S+); 6 of 9 entries wrong there, wrong at 4 of 4 points; "
        r"the claim is the reference transposed; central differences agree with the expected "
        r"value",
        reason,
    )
    assert found is not None, reason
    (claim,) = [c for c in result.arrays.instances[0].claims if c.wrong]
    assert claim.worst.index == (int(found[1]), int(found[2]))
    assert claim.worst.index[0] != claim.worst.index[1]  # the diagonal is right
    point = result.arrays.instances[0].points[0]
    i, j = claim.worst.index
    expected = (point["g"].T @ point["x"])[i, j]
    assert claim.worst.expected == pytest.approx(expected, rel=1e-12)
    assert claim.worst.claimed == pytest.approx(expected_transposed(point)[i, j], rel=1e-12)
    entry = json.loads(render_json([result]))["cases"][0]["variables"]["W"]
    assert (entry["claim"], entry["worst_index"], entry["wrong_entries"]) == (
        "implementation vjp", [i, j], 6)  # fmt: skip


def expected_transposed(point: dict):
    return (point["g"].T @ point["x"]).T


def test_numpy_gradient_of_a_scalar_function_right_and_half(tmp_path: Path) -> None:
    right = _result(tmp_path, MSE + _code(function=f"{NUMPY}:mse",
                                          gradient=f"{NUMPY}:mse_gradient"))  # fmt: skip
    assert right.verdict.verdict == "correct", right.verdict
    half = _result(tmp_path, MSE + _code(gradient=f"{NUMPY}:mse_gradient_half"))
    assert half.verdict.verdict == "incorrect"
    assert half.verdict.reasons[0].startswith("the implementation's ∂f/∂W: W[")
    assert "12 of 12 entries wrong there" in half.verdict.reasons[0]
    assert "the claim is 1/2 × the reference" in half.verdict.reasons[0]


def test_numpy_code_gets_scalars_as_floats_and_a_tuple_in_wrt_order(tmp_path: Path) -> None:
    scaled = MSE.replace("function: sum", "function: s * sum").replace("[W, x]", "[W, s]")
    scaled = scaled.replace("y: [-1, 1]}", "y: [-1, 1], s: [0.5, 2]}")
    assert _result(tmp_path, scaled + _code(gradient=f"{NUMPY}:scaled_gradient")
                   ).verdict.verdict == "correct"  # fmt: skip
    body = _linear(4, vjp=f"{NUMPY}:linear_backward_tuple").replace(
        "    domain:", "    wrt: [W, x]\n    domain:")  # fmt: skip
    assert _result(tmp_path, body).verdict.verdict == "correct"


def test_code_beside_a_claimed_formula_is_checked_too(tmp_path: Path) -> None:
    body = _linear(3, vjp=f"{NUMPY}:linear_backward_no_transpose")
    body += "    vjp: {b: 'sum(g, axis=0)'}\n"
    result = _result(tmp_path, body)
    wrong = {(c.kind, c.name) for c in result.arrays.instances[0].claims if c.wrong}
    assert wrong == {("implementation vjp", "W")}
    entry = json.loads(render_json([result]))["cases"][0]["variables"]["b"]
    assert (entry["claim"], entry["implementation"]["claim"]) == ("vjp", "implementation vjp")


@pytest.mark.parametrize(
    ("reference", "m", "message"),
    [
        ("linear_backward_no_transpose", 4, "implementation vjp['W'] has shape [3, 4], but it "
         "must have W's shape [m, n] = [4, 3]; a result is never broadcast"),
        ("linear_backward_nan", 4, "implementation vjp['x'] is not finite at point 1: x[0, 1] "
         "is nan"),
        ("linear_backward_list", 4, "implementation vjp['W'] must be an array of W's shape "
         "[m, n] = [4, 3], got str"),
        ("linear_backward_raising", 4, "implementation vjp raised ValueError: cannot multiply "
         "(5, 4) by (4, 3)"),
        ("linear_backward_number", 4, "implementation vjp must return a mapping variable -> "
         "values or a tuple in wrt order (W, b, x), got float"),
    ],
)  # fmt: skip
def test_unusable_code_is_an_error_of_the_case(tmp_path: Path, reference, m, message) -> None:
    result = _result(tmp_path, _linear(m, vjp=f"{NUMPY}:{reference}"))
    assert (result.status, result.error_kind) == ("error", "implementation")
    assert [str(e) for e in result.errors] == [
        f"{tmp_path / 'code.yaml'}:7:{IMPLEMENTATION_COLUMN}: {message}"
    ]


def test_an_exception_in_the_code_keeps_the_users_traceback(tmp_path: Path) -> None:
    result = _result(tmp_path, _linear(4, vjp=f"{NUMPY}:linear_backward_raising"))
    assert result.traceback.startswith("Traceback (most recent call last):\n")
    assert f"{NUMPY}.py" in result.traceback
    assert f"diffcheck{os.sep}oracles" not in result.traceback


def test_float32_backward_is_named_with_the_tolerance_to_use(tmp_path: Path) -> None:
    body = _linear(4, vjp=f"{NUMPY}:linear_backward32")
    result = _result(tmp_path, body)
    assert result.verdict.verdict == "incorrect"
    assert all(reason.endswith(FLOAT32_HINT) for reason in result.verdict.reasons)
    assert _result(tmp_path, body + "    tolerance: float32\n").verdict.verdict == "correct"
    wrong = _result(tmp_path, _linear(3, vjp=f"{NUMPY}:linear_backward_no_transpose"))
    assert "float32" not in wrong.verdict.reasons[0]


# ---- reading and importing -------------------------------------------------------------------


def test_implementation_keys_are_checked_when_loading(tmp_path: Path) -> None:
    path = _write(tmp_path, "    shapes: {z: [5]}\n    function: softmax(z)\n"
                  "    domain: {z: [-1, 1]}\n    implementation: {gradient: 'mod:grad', "
                  "backward: 'mod:b', vjp: mod.b}\n")  # fmt: skip
    assert [str(e) for e in load_case_file(str(path)).errors] == [
        f"{path}:6:32: implementation gradient needs a scalar function, but the function has "
        "shape [5]: name a vjp (what a backward pass returns)",
        f"{path}:6:44: unknown key 'backward' in implementation",
        f"{path}:6:68: implementation vjp must be 'module:attribute' (as in "
        "'mypackage.ops:linear_backward'), got 'mod.b'",
    ]


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("nosuchmodule_xyz:f", "implementation vjp: cannot import 'nosuchmodule_xyz': "
                               "ModuleNotFoundError: No module named 'nosuchmodule_xyz'"),
        (f"{NUMPY}:nothing", f"implementation vjp: '{NUMPY}' has no attribute 'nothing'"),
    ],
)  # fmt: skip
def test_import_problems_are_located_errors_exit_2(tmp_path: Path, reference, message) -> None:
    path = _write(tmp_path, _linear(4, vjp=reference))
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 2
    assert f"{path}:7:{IMPLEMENTATION_COLUMN}: {message}" in result.output


def test_no_import_refuses_array_code_before_importing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tripwire_array_ops.py").write_text(
        "open('IMPORTED', 'w').close()\ndef f(x, W, b, g):\n    return {}\n", encoding="utf-8"
    )
    path = _write(tmp_path, _linear(4, vjp="tripwire_array_ops:f"))
    result = CliRunner().invoke(main, ["check", str(path), "--no-import"])
    assert result.exit_code == 2
    assert (
        f"{path}:7:{IMPLEMENTATION_COLUMN}: implementation vjp: 'tripwire_array_ops:f' is not "
        "imported: importing code named by case files is disabled (--no-import)"
    ) in result.output
    assert not (tmp_path / "IMPORTED").exists() and "tripwire_array_ops" not in sys.modules


# ---- PyTorch code ----------------------------------------------------------------------------


@pytest.fixture
def torch():
    return pytest.importorskip("torch", reason="PyTorch code needs torch")


def test_torch_function_right_backward_is_correct(tmp_path: Path, torch) -> None:
    result = _result(tmp_path, _linear(4, function=f"{TORCH}:Linear"))
    assert result.verdict.verdict == "correct", result.verdict
    assert "the implementation's function and vjp included" in result.verdict.evidence


def test_torch_function_backward_forgetting_a_factor_is_incorrect(tmp_path: Path, torch):
    body = ("    shapes: {z: [6]}\n    function: tanh(2*z)\n    domain: {z: [-1, 1]}\n"
            + _code(function=f"{TORCH}:TanhForgetful"))  # fmt: skip
    result = _result(tmp_path, body)
    assert result.verdict.verdict == "incorrect"
    (reason,) = result.verdict.reasons
    assert re.match(r"the implementation's vjp z: z\[\d\] at point 1: expected \S+, returned "
                    r"\S+; 6 of 6 entries wrong there, wrong at 4 of 4 points; the claim is "
                    r"1/2 × the reference", reason), reason  # fmt: skip
    right = _result(tmp_path, body.replace("2*z", "z").replace("TanhForgetful", "Tanh"))
    assert right.verdict.verdict == "correct"


def test_autograd_oracle_checks_the_reference_behind_an_implementation(
    tmp_path: Path, torch
) -> None:
    settings = Settings(samples=4, proof_budget=0.0, autodiff=("torch",))
    for body in (MSE + _code(function=f"{TORCH}:mse"), _linear(4, function=f"{TORCH}:Linear")):
        result = _result(tmp_path, body, settings)
        assert result.verdict.verdict == "correct", result.verdict
        assert "PyTorch autograd agrees with it at every entry" in result.verdict.evidence


def test_torch_plain_function_of_a_scalar_runs_backward(tmp_path: Path, torch) -> None:
    result = _result(tmp_path, MSE + _code(function=f"{TORCH}:mse"))
    assert result.verdict.verdict == "correct", result.verdict
    kinds = {c.kind for c in result.arrays.instances[0].claims}
    assert kinds == {"implementation function", "implementation gradient"}


def test_torch_float32_backward_gets_the_hint(tmp_path: Path, torch) -> None:
    result = _result(tmp_path, _linear(4, function=f"{TORCH}:LinearSingle"))
    assert result.verdict.verdict == "incorrect"
    assert result.verdict.reasons[0].endswith(FLOAT32_HINT)


def test_torch_backward_that_raises_is_an_error_with_traceback(tmp_path: Path, torch) -> None:
    result = _result(tmp_path, _linear(4, function=f"{TORCH}:LinearRaising"))
    assert (result.status, result.error_kind) == ("error", "implementation")
    assert [e.message for e in result.errors] == [
        "implementation function's backward pass raised RuntimeError: backward of Linear is "
        "not written yet"
    ]
    assert f"{TORCH}.py" in result.traceback and "not written yet" in result.traceback


def test_torch_output_without_a_graph_is_an_error(tmp_path: Path, torch) -> None:
    result = _result(tmp_path, MSE + _code(function=f"{TORCH}:mse_detached"))
    assert [e.message for e in result.errors] == [
        "implementation function returned a tensor that does not require grad: it is not "
        "computed from the inputs by torch operations, so there is no backward pass to check"
    ]


def test_numpy_code_in_a_module_using_torch_gets_arrays(tmp_path: Path, torch) -> None:
    body = _linear(4, function=f"{TORCH}:tanh_layer_numpy").replace(
        "x @ W.T + b", "tanh(x @ W.T + b)"
    )
    result = _result(tmp_path, body)
    assert result.verdict.verdict == "correct", result.verdict
    kinds = {c.kind for c in result.arrays.instances[0].claims}
    assert "implementation function" in kinds and "implementation vjp" not in kinds
