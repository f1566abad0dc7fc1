"""`diffcheck graph` of array cases: intermediate names on the nodes, shapes on the edges."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from diffcheck.cli import main

LAYERS = Path(__file__).parent.parent / "cases" / "arrays-layers.yaml"


def _graph(*args: str):
    return CliRunner().invoke(main, ["graph", str(LAYERS), *args])


def test_an_array_case_is_drawn_with_its_names_and_the_shapes_on_its_edges() -> None:
    result = _graph("--case", "linear-layer-mse")
    assert result.exit_code == 0, result.output
    dot = result.stdout
    assert dot.startswith('digraph "linear-layer-mse (m=4, n=3)" {')
    assert '  n1 [label="W", shape=ellipse];' in dot
    assert '  n3 [label="einsum ij,j->i"];' in dot
    assert '  n9 [label="r = +"];' in dot
    assert '  n1 -> n3 [label="[4, 3]"];' in dot  # W flows into W @ x as a 4×3 matrix
    assert '  n2 -> n3 [label="[3]"];' in dot
    assert '  n9 -> n11 [label="[4]"];' in dot  # r, squared
    assert '  n13 [label="×\\n[]", peripheries=2];' in dot  # the output, a scalar
    edges = [line for line in dot.splitlines() if "->" in line]
    assert all("[label=" in edge for edge in edges)


def test_every_shipped_array_case_is_drawn() -> None:
    for path in sorted(LAYERS.parent.glob("arrays-*.yaml")):
        text = path.read_text(encoding="utf-8")
        names = [line.split("name:")[1].strip() for line in text.splitlines()
                 if line.startswith("  - name:")]  # fmt: skip
        for name in names:
            result = CliRunner().invoke(main, ["graph", str(path), "--case", name])
            assert result.exit_code == 0, (path.name, name, result.output)
            assert "peripheries=2" in result.stdout


def test_an_array_case_s_graph_takes_no_point() -> None:
    result = _graph("--case", "linear-layer-mse", "--at", "x=1")
    assert result.exit_code == 2
    assert (
        "Error: Invalid value for --at: case linear-layer-mse is an array case: its graph "
        "shows shapes, not values at a point" in result.stderr
    )
