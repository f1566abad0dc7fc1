"""Imports point down the pipeline only, and never in a circle (STYLE.md section 1).

The pipeline, top to bottom, one subpackage per stage:
cli / api / pytest_plugin -> report -> run -> explain -> compare -> oracles -> cases ->
arrays -> symbolic -> limits -> errors. A module may import modules of a lower stage, or of
its own stage as long as no import circle forms. Every import statement counts, also
those inside functions and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "diffcheck"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE

# higher imports lower; a new module must sit in a stage before it may import anything
STAGES = {
    "diffcheck": 10,  # the public API re-exports; only the command line reads it (__version__)
    "diffcheck.cli": 10,
    "diffcheck.api": 10,
    "diffcheck.pytest_plugin": 10,
    "diffcheck.report": 9,  # text, JSON, JUnit, GitHub, LaTeX, progress: the writers
    "diffcheck.run": 8,  # check orchestration, worker processes, case selection
    "diffcheck.explain": 7,  # derivation steps, chains, the relay, the graph
    "diffcheck.compare": 6,  # closeness, judging, diagnosis, verdicts
    "diffcheck.oracles": 5,  # exact, reverse mode, finite differences, frameworks, users' code
    "diffcheck.cases": 4,  # YAML -> validated cases
    "diffcheck.arrays": 3,  # the array IR and its reverse mode
    "diffcheck.symbolic": 2,  # rule table, grammar, derivatives, printing
    "diffcheck.limits": 1,
    "diffcheck.errors": 0,
}
STAGE_PACKAGES = tuple(name for name in STAGES if (ROOT / name.split(".")[-1]).is_dir())


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom) -> list[str]:
    """The diffcheck modules an ImportFrom names (a submodule, or the module itself)."""
    if node.level:
        base = module.split(".") if _is_package(module) else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join([*base, node.module] if node.module else base)
    else:
        target = node.module or ""
    if not (target == PACKAGE or target.startswith(PACKAGE + ".")):
        return []
    names = [f"{target}.{alias.name}" for alias in node.names]
    submodules = [name for name in names if name in MODULES]
    return submodules if len(submodules) == len(names) else [target, *submodules]


def imports_of(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found.update(_resolve(module, node))
        elif isinstance(node, ast.Import):
            found.update(
                alias.name
                for alias in node.names
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + ".")
            )
    found.discard(module)
    return found


def _placed(module: str) -> str:
    """The stage a module belongs to: its subpackage, or itself at the top level."""
    return next((p for p in STAGE_PACKAGES if module.startswith(p + ".")), module)


def layer(module: str) -> float:
    return STAGES[_placed(module)]


def test_every_stage_package_opens_with_its_contract() -> None:
    for package in STAGE_PACKAGES:
        doc = ast.get_docstring(ast.parse(MODULES[package].read_text(encoding="utf-8")))
        assert doc, f"{package}/__init__.py has no docstring"
        assert "import" in doc, f"{package}: the docstring must say which stages it may import"


def test_top_level_holds_few_modules() -> None:
    top = [path.name for path in ROOT.glob("*.py")]
    assert len(top) <= 6, sorted(top)


def test_every_module_has_a_layer() -> None:
    assert MODULES
    unplaced = [module for module in MODULES if _placed(module) not in STAGES]
    assert unplaced == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module: str) -> None:
    if _placed(module) not in STAGES:
        pytest.fail(f"{module} is in no stage of STAGES")
    upward = sorted(
        target
        for target in imports_of(module)
        if target in MODULES and layer(target) > layer(module)
    )
    assert upward == [], f"{module} imports up the pipeline: {upward}"


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        # calls are built as the parser builds them; the table's parts import only
        # each other: the Rule record, and the numeric kernels (which import nothing)
        (
            "diffcheck.symbolic.rules",
            {
                "diffcheck.symbolic.rule",
                "diffcheck.symbolic.kernels",
                "diffcheck.symbolic.reciprocals",
            },
        ),
        (
            "diffcheck.symbolic.reciprocals",
            {"diffcheck.symbolic.rule", "diffcheck.symbolic.kernels"},
        ),
        # the primitives name their NumPy kernels through `kernels`, imported on first call
        ("diffcheck.symbolic.rule", {"diffcheck.symbolic.trees", "diffcheck.symbolic.kernels"}),
        ("diffcheck.symbolic.kernels", set()),
        ("diffcheck.symbolic.trees", set()),
        ("diffcheck.errors", set()),
    ],
)
def test_table_trees_and_errors_import_next_to_nothing(module: str, allowed: set[str]) -> None:
    assert imports_of(module) == allowed


def test_no_import_cycles() -> None:
    graph = {module: sorted(t for t in imports_of(module) if t in MODULES) for module in MODULES}
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in graph[module]:
            if state.get(target) == "open":
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in graph:
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_resolve_relative_imports() -> None:
    # the walker itself: relative imports of modules and of packages
    assert imports_of("diffcheck.oracles.finite") >= {"diffcheck.oracles.problem"}
    assert "diffcheck.symbolic.rules" in imports_of("diffcheck.symbolic.parse")
    assert "diffcheck.symbolic.derive" in imports_of("diffcheck.oracles.problem")
