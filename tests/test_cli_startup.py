"""The command line starts without the heavy imports: --help, --version and every
command's --help run in a fresh process and leave SymPy and NumPy unimported (issue 14;
the seconds are measured by benchmarks/startup.py, not here). Deriving an expression
imports neither NumPy nor SciPy (the rule table's kernels load them when first
evaluated) nor the checker and the array stage (measured by benchmarks/derive.py). At
exit the objects left are frozen, so Python's last garbage collections skip them."""

from __future__ import annotations

import atexit
import gc
import subprocess
import sys

import pytest
from click.testing import CliRunner

from diffcheck.cases.settings import MAX_SAMPLES
from diffcheck.cli import main
from diffcheck.cli import options as cli
from diffcheck.oracles.external import FRAMEWORKS
from diffcheck.report.formats import FORMATS
from diffcheck.run.check import DEFAULT_TIMEOUT
from diffcheck.symbolic.derive import DEFAULT_PROOF_BUDGET

HEAVY = ("sympy", "numpy")
# what `derive EXPRESSION` does without: 40 ms of NumPy and ~0.1 s of SciPy, the checker's
# stages, reading case files and drawing graphs
NOT_FOR_DERIVE = ("numpy", "scipy", "scipy.special", "diffcheck.run.check",
                  "diffcheck.compare", "diffcheck.arrays", "diffcheck.cases.builder",
                  "diffcheck.explain.graph")  # fmt: skip
# runs the command line as the installed script does, then names the heavy modules loaded
PROBE = """\
import sys
from diffcheck.cli import main
try:
    main(sys.argv[1:], prog_name="diffcheck")
except SystemExit as done:
    code = done.code
print("loaded:", *[name for name in {heavy!r} if name in sys.modules], "exit:", code)
"""


def _run(*arguments: str, watched: tuple[str, ...] = HEAVY) -> tuple[str, str]:
    """(standard output, the probe's last line, naming the `watched` modules loaded) of
    diffcheck run with `arguments`."""
    probe = PROBE.format(heavy=watched)
    done = subprocess.run([sys.executable, "-c", probe, *arguments], capture_output=True,
                          text=True, check=True)  # fmt: skip
    *output, last = done.stdout.rstrip("\n").split("\n")
    return "\n".join(output), last


@pytest.mark.parametrize(
    "arguments",
    [("--help",), ("--version",), ("check", "--help"), ("derive", "--help"),
     ("latex", "--help"), ("graph", "--help"), ("init", "--help"), ("schema", "--help")],
    ids=" ".join,
)  # fmt: skip
def test_help_and_version_import_neither_sympy_nor_numpy(arguments: tuple[str, ...]) -> None:
    output, last = _run(*arguments)
    assert last == "loaded: exit: 0"
    assert output.startswith("Usage: diffcheck") or output.startswith("diffcheck, version")


def test_running_a_command_still_loads_the_library() -> None:
    output, last = _run("derive", "sigmoid(x)")
    assert output == "∂/∂x = sigmoid(x)*(1 - sigmoid(x))"
    assert last == "loaded: sympy exit: 0"  # NumPy only for numbers: see below


def test_evaluating_at_a_point_loads_numpy() -> None:
    output, last = _run("derive", "sin(x)", "--at", "x=1")
    assert output.endswith("∂f/∂x = cos(x)")
    assert last == "loaded: sympy numpy exit: 0"


@pytest.mark.parametrize(
    "arguments",
    [("derive", "--help"), ("derive", "sigmoid(x)"), ("derive", "x*y", "--steps"),
     ("derive", "sigmoid(" * 80 + "x" + ")" * 80)],
    ids=["derive --help", "derive", "derive --steps", "derive deep"],
)  # fmt: skip
def test_derive_imports_neither_scipy_nor_the_checker(arguments: tuple[str, ...]) -> None:
    output, last = _run(*arguments, watched=NOT_FOR_DERIVE)
    assert output
    assert last == "loaded: exit: 0"


def test_the_objects_left_at_exit_are_frozen_once(monkeypatch: pytest.MonkeyPatch) -> None:
    registered: list[object] = []
    monkeypatch.setattr(atexit, "register", registered.append)
    monkeypatch.setattr(atexit, "unregister", lambda f: registered.remove(f) if f in registered
                        else None)  # fmt: skip
    for _ in range(2):
        assert CliRunner().invoke(main, ["derive", "x*y"]).exit_code == 0
    assert registered == [gc.freeze]


def test_option_values_written_in_the_cli_equal_the_library_values() -> None:
    assert cli._FORMATS == FORMATS
    assert cli._FRAMEWORKS == FRAMEWORKS
    assert cli._MAX_SAMPLES == MAX_SAMPLES
    assert cli._DEFAULT_TIMEOUT == DEFAULT_TIMEOUT
    assert cli._DEFAULT_PROOF_BUDGET == DEFAULT_PROOF_BUDGET
