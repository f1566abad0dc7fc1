"""PyTorch's and JAX's autograd as outside references for array cases, and Jacobian
claims too large to hold, compared with the reference by blocks of rows.

CI installs both frameworks and sets DIFFCHECK_REQUIRE_FRAMEWORKS=1, which turns a
missing framework from a skip into a failure, so that these tests cannot vanish there."""

from __future__ import annotations

import importlib
import json
import os
import types

import numpy as np
import pytest
from arrays_support import OPERATIONS

from diffcheck.arrays import reverse
from diffcheck.arrays.reverse import jacobian_rows, jacobian_values
from diffcheck.cases.loader import read_case_text
from diffcheck.cases.model import Tolerance
from diffcheck.compare import array_compare
from diffcheck.compare.array_compare import ClaimResult, compare_blocks, compare_entries
from diffcheck.oracles import array_external, external
from diffcheck.oracles.array_external import ArrayAutodiff, unsupported
from diffcheck.oracles.external import FRAMEWORKS
from diffcheck.run.check import Settings, check_case

LABEL = {"torch": "PyTorch autograd", "jax": "JAX autodiff"}
# a few operations for JAX, whose first call of each new shape compiles (~0.5 s each)
JAX_OPERATIONS = ("mlp", "index-reversed", "solve-stack", "logdet")


def _framework(name: str) -> types.ModuleType:
    if os.environ.get("DIFFCHECK_REQUIRE_FRAMEWORKS"):
        return importlib.import_module(name)  # CI: a missing framework is a failure
    return pytest.importorskip(name, reason=f"{name} is not installed (CI installs it)")


def _check(text: str, *frameworks: str):  # noqa: ANN202
    (case,) = read_case_text(f"cases:\n{text}", "case.yaml").cases
    return check_case(case, Settings(autodiff=frameworks))


# ---- the translation: every operation of the array language, both ways ----------------


def _operations(framework: str) -> list:
    if framework == "torch":
        return OPERATIONS
    return [op for op in OPERATIONS if op.name in JAX_OPERATIONS]


@pytest.mark.parametrize(
    ("framework", "op"),
    [(fw, op) for fw in FRAMEWORKS for op in _operations(fw)],
    ids=lambda value: getattr(value, "name", value),
)
def test_framework_vjp_and_jacobian_of_every_operation_match_the_reference(framework, op) -> None:
    _framework(framework)
    node = op.build()
    rng = np.random.default_rng(5)
    point = op.point(rng)
    wrt = sorted(point)
    assert unsupported(node, framework) is None
    auto = ArrayAutodiff(framework)
    jacobians = jacobian_values(node, wrt, point)
    found = auto.jacobian(node, wrt, point)
    u = rng.standard_normal(node.shape)
    vjps = auto.vjp(node, wrt, point, u)
    for name in wrt:
        np.testing.assert_allclose(found[name], jacobians[name], rtol=1e-10, atol=1e-12)
        expected = np.tensordot(u, jacobians[name], axes=node.ndim)
        np.testing.assert_allclose(vjps[name], expected, rtol=1e-10, atol=1e-12)


# ---- right and wrong claims, checked with the frameworks among the oracles -----------

GRADIENT = """  - name: mlp-gradient
    shapes: {W: [3, 4], x: [4]}
    function: sum(tanh(W @ x))
    wrt: [W]
    gradient:
      W: outer(1 - tanh(W @ x)**2, x)%s
    domain: {W: [-1, 1], x: [-1, 1]}
    samples: 3
"""
VJP = """  - name: softmax-vjp
    shapes: {z: [2, 3]}
    function: softmax(z, axis=-1)
    vjp:
      z: softmax(z, axis=-1) * (g - sum(g * softmax(z, axis=-1), axis=-1, keepdims=true))%s
    domain: {z: [-2, 2]}
    samples: 3
"""
JACOBIAN = """  - name: softmax-jacobian
    shapes: {z: [4]}
    function: softmax(z)
    jacobian:
      z: diag(softmax(z)) - outer(softmax(z), softmax(z))%s
    domain: {z: [-2, 2]}
    samples: 3
"""
MISTAKES = {GRADIENT: " * 1.01", VJP: " + g / 100", JACOBIAN: " + 0.01 * eye(4)"}


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("case", [GRADIENT, VJP, JACOBIAN], ids=["gradient", "vjp", "jacobian"])
def test_right_claim_is_correct_with_the_framework_agreeing(framework, case) -> None:
    _framework(framework)
    result = _check(case % "", framework)
    assert result.verdict.verdict == "correct", result.verdict
    assert f"{LABEL[framework]} agrees with it at every entry" in result.verdict.evidence
    checks = [c for c in result.arrays.instances[0].oracles if c.method == LABEL[framework]]
    assert len(checks) == 2 and all(c.agrees and c.every_entry for c in checks)


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("case", [GRADIENT, VJP, JACOBIAN], ids=["gradient", "vjp", "jacobian"])
def test_wrong_claim_is_incorrect_with_the_framework_backing_the_reference(framework, case) -> None:
    _framework(framework)
    result = _check(case % MISTAKES[case], framework)
    assert result.verdict.verdict == "incorrect", result.verdict
    checks = [c for c in result.arrays.instances[0].oracles if c.method == LABEL[framework]]
    assert checks and all(c.agrees for c in checks)


def test_framework_without_the_flag_does_not_run() -> None:
    result = _check(GRADIENT % "")
    assert "at every entry" not in result.verdict.evidence
    assert not any(c.every_entry for c in result.arrays.instances[0].oracles)


# ---- disagreements, skips and failures ------------------------------------------------


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_framework_overruled_by_central_differences_is_a_warning_naming_it(
    framework, monkeypatch
) -> None:
    f = _framework(framework)
    # a framework whose tanh is off by 0.1%: the claim agrees with the reference, and
    # central differences back the reference, so the framework is the odd one out: a
    # warning, as for scalar cases, not a doubt on the verdict
    scaled = {"torch": lambda ns, x: f.tanh(x * 1.001),
              "jax": lambda ns, x: ns.np.tanh(x * 1.001)}[framework]  # fmt: skip
    monkeypatch.setitem(external.KERNELS[framework], "tanh", scaled)
    verdict = _check(GRADIENT % "", framework).verdict
    assert verdict.verdict == "correct"
    odd = [w for w in verdict.warnings if w.startswith(f"{LABEL[framework]} disagrees")]
    assert odd and all(w.endswith(f", as the reference does: {LABEL[framework]} is the suspect")
                       for w in odd)  # fmt: skip


def test_disagreement_message_names_entry_values_and_suspect(monkeypatch) -> None:
    t = _framework("torch")
    monkeypatch.setitem(external.KERNELS["torch"], "tanh", lambda ns, x: t.tanh(x * 1.001))
    warning = _check(GRADIENT % "", "torch").verdict.warnings[0]
    assert warning == (
        "PyTorch autograd disagrees with the array reference at point 1: ∂f/∂W at W[2, 1] "
        "is -0.9021406433 by PyTorch autograd, -0.9013010569 by the reference; central "
        "differences there give -0.9013010569 ± 1.2e-10, as the reference does: PyTorch "
        "autograd is the suspect"
    )


def test_reference_contradicted_by_framework_and_differences_is_in_doubt(monkeypatch) -> None:
    _framework("torch")
    # the reference's VJP scaled by 1.01 (as a wrong rule-table partial would make it):
    # the framework and central differences agree with each other against it
    original = reverse.vjp_expressions

    def wrong(node, wrt, cotangent, **kwargs):  # noqa: ANN001, ANN202
        from diffcheck.arrays import ops

        found = original(node, wrt, cotangent, **kwargs)
        return {name: ops.multiply(value, ops.constant(1.01)) for name, value in found.items()}

    from diffcheck.run import array_check

    monkeypatch.setattr(array_check, "vjp_expressions", wrong)
    result = _check(GRADIENT % " * 1.01", "torch")
    assert result.verdict.verdict == "inconclusive"
    checks = [c for c in result.arrays.instances[0].oracles if c.every_entry]
    assert checks and not any(c.agrees for c in checks)
    assert all(c.note.endswith(", as PyTorch autograd does: the reference is in doubt")
               for c in checks)  # fmt: skip


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_function_the_framework_lacks_is_skipped_with_the_reason(framework) -> None:
    _framework(framework)
    case = """  - name: bessel
    shapes: {x: [3]}
    function: sum(besselk(1, x))
    domain: {x: [1, 2]}
    samples: 2
"""
    verdict = _check(case, framework).verdict
    assert verdict.verdict == "correct"
    assert verdict.warnings == (
        f"{LABEL[framework]} was not run: {framework} has no differentiable besselk",
    )
    assert LABEL[framework] not in verdict.evidence


def test_framework_failure_is_reported_not_raised(monkeypatch) -> None:
    _framework("torch")

    def broken(f, x):  # noqa: ANN001, ANN202
        raise RuntimeError("derivative for aten::something is not implemented")

    monkeypatch.setitem(external.KERNELS["torch"], "tanh", broken)
    verdict = _check(GRADIENT % "", "torch").verdict
    assert verdict.verdict == "correct"
    assert verdict.warnings == (
        "PyTorch autograd was not run: failed: RuntimeError: derivative for aten::something "
        "is not implemented",
    )


def test_missing_framework_is_named_with_how_to_install(monkeypatch) -> None:
    monkeypatch.setattr(array_external, "available", lambda framework: False)
    verdict = _check(GRADIENT % "", "jax").verdict
    assert verdict.warnings == (
        "JAX autodiff was not run: jax is not installed (pip install 'diffcheck-grad[jax]')",
    )


# ---- Jacobian claims beyond MAX_JACOBIAN_ENTRIES: by blocks of rows --------------------

BIG = """  - name: softmax-jacobian-big
    shapes: {z: [n]}
    dims: {n: %d}
    function: softmax(z)
    jacobian:
      z: diag(softmax(z)) - outer(softmax(z), softmax(z))%s
    domain: {z: [-5, 5]}
    samples: 2
"""
ONE_WRONG = " + 0.1 * outer(eye(n)[3], eye(n)[5])"


@pytest.fixture
def small_limits(monkeypatch):  # noqa: ANN201
    """A Jacobian of 8 x 8 is 'too large', and blocks hold 16 entries (2 rows)."""
    monkeypatch.setattr(reverse, "MAX_JACOBIAN_ENTRIES", 10)
    monkeypatch.setattr(reverse, "ROW_BLOCK_ENTRIES", 16)


def test_jacobian_rows_come_in_bounded_blocks(small_limits) -> None:
    from arrays_support import build

    node = build("softmax(z)", {"z": (8,)})
    point = {"z": np.linspace(-1, 1, 8)}
    blocks = list(jacobian_rows(node, "z", point))
    assert [(start, rows.shape) for start, rows in blocks] == [
        (0, (2, 8)), (2, (2, 8)), (4, (2, 8)), (6, (2, 8))]  # fmt: skip
    whole = np.concatenate([rows for _, rows in blocks])
    s = np.exp(point["z"]) / np.exp(point["z"]).sum()
    np.testing.assert_allclose(whole, np.diag(s) - np.outer(s, s), atol=1e-16)


def test_jacobian_claim_beyond_the_limit_is_correct_when_right(small_limits) -> None:
    result = _check(BIG % (8, ""))
    assert result.verdict.verdict == "correct", result.verdict
    (claim,) = result.arrays.instances[0].claims
    assert claim.checked == 2 and claim.wrong_entries == 0


def test_jacobian_claim_beyond_the_limit_names_its_one_wrong_entry(small_limits) -> None:
    result = _check(BIG % (8, ONE_WRONG))
    assert result.verdict.verdict == "incorrect"
    (claim,) = result.arrays.instances[0].claims
    assert claim.worst.index == (3, 5) and claim.wrong_entries == 1
    assert claim.wrong_map.shape == (8, 8) and claim.wrong_map.sum() == 1
    assert result.verdict.reasons == (
        "jacobian z: ∂f[3]/∂z[5] at point 1 (n=8): expected -4.75357e-05, claimed 0.0999525; "
        "1 of 64 entries wrong there, wrong at 2 of 2 points",
    )


def test_jacobian_claim_of_real_size_is_compared_by_blocks() -> None:
    # 600 x 600 = 360 000 entries, above MAX_JACOBIAN_ENTRIES (250 000)
    assert 600 * 600 > reverse.MAX_JACOBIAN_ENTRIES
    result = _check(BIG % (600, ONE_WRONG))
    assert result.verdict.verdict == "incorrect"
    (claim,) = result.arrays.instances[0].claims
    assert claim.worst.index == (3, 5) and claim.wrong_entries == 1


def test_jacobian_claim_beyond_the_limit_meets_the_framework_by_its_vjp(small_limits) -> None:
    _framework("torch")
    result = _check(BIG % (8, ""), "torch")
    assert result.verdict.verdict == "correct"
    checks = [c for c in result.arrays.instances[0].oracles if c.every_entry]
    assert checks and all(c.agrees and c.what.startswith("vjp z at z[") for c in checks)


def test_jacobian_claim_beyond_the_array_budget_is_an_error(monkeypatch) -> None:
    monkeypatch.setattr(array_compare, "MAX_ARRAY_ENTRIES", 50)
    result = _check(BIG % (8, ""))
    assert result.status == "error"
    assert result.message == (
        "case.yaml:2:5: the claimed jacobian of 'z' has 64 entries at n=8, above the budget "
        "of 50 per array: claim a vjp (what a backward pass returns) instead"
    )


@pytest.mark.parametrize("seed", range(6))
def test_blocks_decide_as_the_whole_comparison_does(seed: int) -> None:
    """Wrong entries, rounding-sized ones, a non-finite one and the worst: as if whole."""
    rng = np.random.default_rng(seed)
    reference = rng.standard_normal((6, 5, 4)) * 10.0 ** rng.integers(-3, 3)
    claimed = reference.copy()
    scale = np.abs(reference).max()
    flat = claimed.reshape(-1)
    picks = rng.choice(flat.size, 8, replace=False)
    flat[picks[:3]] += rng.uniform(1e-3, 1, 3) * scale  # wrong
    flat[picks[3:6]] = 0.0
    reference.reshape(-1)[picks[3:6]] = 1e-14 * scale  # rounding of the scale
    if seed % 2:
        flat[picks[6]] = np.nan
    tolerance = Tolerance(rtol=1e-7, atol=0.0 if seed % 3 else 1e-12)
    whole = ClaimResult("jacobian", "z", reference.shape, leading=2)
    compare_entries(whole, 0, reference, claimed, tolerance)
    blocks = ClaimResult("jacobian", "z", reference.shape, leading=2)
    rows = reference.reshape(30, 4)
    compare_blocks(blocks, 0, ((i, rows[i : i + 7]) for i in range(0, 30, 7)), claimed,
                   tolerance)  # fmt: skip
    assert blocks.wrong_entries == whole.wrong_entries and blocks.rounding == whole.rounding
    np.testing.assert_array_equal(blocks.wrong_map, whole.wrong_map)
    assert blocks.worst.index == whole.worst.index
    assert blocks.worst.score == pytest.approx(whole.worst.score)
    assert (blocks.worst.expected, blocks.worst.claimed) == (
        whole.worst.expected, whole.worst.claimed) or np.isnan(blocks.worst.claimed)  # fmt: skip
    assert blocks.max_abs_error == whole.max_abs_error
    assert blocks.wrong_points == whole.wrong_points and blocks.checked == 1


def test_json_report_names_each_oracle_its_checks_and_skips(monkeypatch) -> None:
    from diffcheck.report.text import render_json

    _framework("torch")
    case = """  - name: bessel
    shapes: {x: [3]}
    function: sum(besselk(1, x) + tanh(x))
    domain: {x: [1, 2]}
    samples: 2
"""
    entry = json.loads(render_json([_check(case, "torch")]))["cases"][0]
    assert entry["oracles"]["PyTorch autograd"] == {
        "compared": "every entry", "checks": 0, "disagreements": 0,
        "skipped": "PyTorch autograd was not run: torch has no differentiable besselk",
    }  # fmt: skip
    assert entry["oracles"]["central differences"]["checks"] > 0  # besselk: no complex step
    t = _framework("torch")
    monkeypatch.setitem(external.KERNELS["torch"], "tanh", lambda ns, x: t.tanh(x * 1.001))
    entry = json.loads(render_json([_check(GRADIENT % "", "torch")]))["cases"][0]
    odd = entry["oracles"]["PyTorch autograd"]
    assert odd["disagreements"] == 2 and odd["first_disagreement"]["overruled"] is True
    assert odd["first_disagreement"]["what"] == "∂f/∂W at W[2, 1]"
