"""Imports point down the pipeline only, and never in a circle (STYLE.md section 1).

The pipeline, top to bottom:
cli / pytest_plugin / api -> formats -> report (+ ci_report, progress, scaffold) ->
parallel -> check -> verdict -> diagnosis -> compare -> oracles -> symbolic -> cases
(+ casedata, case_builder, yamlnodes, implementation, schema) -> parse -> evaluate ->
limits -> rules / errors. Explanations sit beside it: explain, chain and printing
beside symbolic, relay and graph beside the oracles, targets beside check, derivation
and the LaTeX modules beside report. A module may import modules below it, or beside it
as long as no import circle forms. Every import statement counts, also those inside
functions and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "diffcheck"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE

# higher imports lower; a new module must be placed here before it may import anything
LAYERS = {
    "diffcheck": 10,  # the public API re-exports; only the command line reads it (__version__)
    "diffcheck.cli": 10,
    "diffcheck.api": 10,
    "diffcheck.pytest_plugin": 10,
    "diffcheck.formats": 9.5,  # every report format by name, for the command line
    "diffcheck.report": 9,
    "diffcheck.latex": 9,
    "diffcheck.latexdoc": 9,
    "diffcheck.derivation": 9,
    "diffcheck.ci_report": 9,  # JUnit XML and GitHub annotations; reuses report's text
    "diffcheck.progress": 9,  # writes a progress bar to a terminal
    "diffcheck.scaffold": 9,  # writes the example case file of `diffcheck init`
    "diffcheck.parallel": 8.5,  # runs check_case in worker processes
    "diffcheck.check": 8,
    "diffcheck.targets": 8,
    "diffcheck.verdict": 7,
    "diffcheck.diagnosis": 6.5,
    "diffcheck.compare": 6,  # and every module below diffcheck/compare/
    "diffcheck.oracles": 5,  # and every module below diffcheck/oracles/
    "diffcheck.relay": 5,
    "diffcheck.graph": 5,
    "diffcheck.symbolic": 4,
    "diffcheck.explain": 4,
    "diffcheck.chain": 4,
    "diffcheck.printing": 4,
    "diffcheck.cases": 3,
    "diffcheck.case_builder": 3,
    "diffcheck.settings": 3,
    "diffcheck.casedata": 3,
    "diffcheck.implementation": 3,
    "diffcheck.yamlnodes": 3,
    "diffcheck.schema": 3,  # the JSON Schema, built from the key tables of cases
    "diffcheck.parse": 2,
    "diffcheck.evaluate": 1.5,  # one value through the rule table's mpmath kernels
    "diffcheck.limits": 1,
    "diffcheck.rules": 0,
    "diffcheck.trees": 0,  # builds and rewrites SymPy trees without slow evaluation
    "diffcheck.errors": 0,
}


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


PACKAGES = ("diffcheck.oracles", "diffcheck.compare")  # a package's layer covers its modules


def _placed(module: str) -> str:
    return next((p for p in PACKAGES if module.startswith(p + ".")), module)


def layer(module: str) -> float:
    return LAYERS[_placed(module)]


def test_every_module_has_a_layer() -> None:
    assert MODULES
    unplaced = [module for module in MODULES if _placed(module) not in LAYERS]
    assert unplaced == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module: str) -> None:
    if _placed(module) not in LAYERS:
        pytest.fail(f"{module} has no layer in LAYERS")
    upward = sorted(
        target
        for target in imports_of(module)
        if target in MODULES and layer(target) > layer(module)
    )
    assert upward == [], f"{module} imports up the pipeline: {upward}"


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        ("diffcheck.rules", {"diffcheck.trees"}),  # calls are built as the parser builds them
        ("diffcheck.trees", set()),
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
    assert imports_of("diffcheck.oracles.finite") >= {"diffcheck.oracles"}
    assert "diffcheck.rules" in imports_of("diffcheck.parse")
    assert "diffcheck.symbolic" in imports_of("diffcheck.oracles")
