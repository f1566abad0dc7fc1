"""The cotangent's name of an array case: given under `cotangent`, or `g` by default.

The cotangent is drawn apart from the variables, so it may not share a name with one: a
variable `g` (under shapes, or a scalar the function uses) and the default cotangent `g`
would be one array where the case means two. Where a vector-Jacobian product needs the
cotangent, that is an error naming both; where nothing needs it (a gradient, a Jacobian),
the cotangent takes a name of its own and the variable keeps `g`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import yaml

from ..arrays.syntax import Name, Syntax

__all__ = [
    "DEFAULT_COTANGENT",
    "backward_names",
    "name_nodes",
    "names_in",
    "read_cotangent",
    "separate_cotangent",
]

DEFAULT_COTANGENT = "g"
_SPARE_NAMES = ("dy", "gy", "dout", "cotangent")  # for a cotangent nothing refers to


def read_cotangent(builder) -> str:  # noqa: ANN001 - ArrayCaseBuilder
    """The name under `cotangent`, or the default; a bad name is reported (one that
    another name has, by `separate_cotangent`)."""
    node = builder.node("cotangent")
    if node is None:
        return DEFAULT_COTANGENT
    name = builder.reader.name(node, "cotangent")
    if name is None:
        return DEFAULT_COTANGENT
    if not name.isidentifier():
        builder.fail(f"cotangent must be a name, got {name!r}", node)
    builder.check_name(name, node, "the cotangent")
    return name


def separate_cotangent(builder, name: str, trees: Mapping, names: Iterable[str],  # noqa: ANN001
                       wanted: bool) -> str | None:  # fmt: skip
    """`name`, unless a variable has it (declared, or used by the function, directly or
    through intermediates: a claim's names alone may be the cotangent's), or an
    intermediate or a dimension does. Then, where a vjp needs the cotangent or the name
    was given, an error (None); else the other keeps the name and the cotangent takes a
    spare one that no expression and none of `names` (declared arrays, dims,
    intermediates) uses."""
    given = builder.node("cotangent")
    declared = builder.all_declared
    variables = {*declared, *_function_names(trees)}
    taken = _taken_as(name, trees, builder.all_dims, variables)
    if taken is None:
        return name
    if given is not None and name in declared and name not in _function_names(trees):
        # declared for the cotangent's sake, it seems: only the claims use it
        builder.fail(f"the cotangent '{name}' takes the function's shape; do not give it "
                     "under shapes", given)  # fmt: skip
        return None
    if given is not None or wanted:
        builder.fail(
            f"'{name}' is both {taken} and the cotangent's name; name the "
            "cotangent otherwise (cotangent: <name>)",
            given or _vjp_node(builder),
        )
        return None  # the claims cannot be read until it is renamed
    used = {*names, *(n for tree in trees.values() for n in names_in(tree))}
    spare = [n for n in _SPARE_NAMES if n not in used]
    return spare[0] if spare else f"{name}_{len(used)}"


def _taken_as(name: str, trees: Mapping, dims: Mapping, variables: set[str]) -> str | None:
    """What else has the name: an intermediate (wherever it is used: in a claim, it
    would hide the cotangent), a dimension, a variable; or None."""
    if ("where", name) in trees:
        return "an intermediate"
    if name in dims:
        return "a dimension"
    return "a variable" if name in variables else None


def _function_names(trees: Mapping) -> set[str]:
    """The names the function uses, and those of the intermediates it uses, and so on."""
    found: set[str] = set()
    waiting = [trees[("function", "")]]
    while waiting:
        for name in names_in(waiting.pop()):
            if name not in found and ("where", name) in trees:
                waiting.append(trees[("where", name)])
            found.add(name)
    return found


def backward_names(where: Mapping[str, Syntax], cotangent: str) -> set[str]:
    """The `where` intermediates (name -> syntax, in order) that use the cotangent,
    directly or through another: parts of a backward pass (dP = g @ V.T), built after
    the function, for vjp claims only."""
    backward: set[str] = set()
    for name, tree in where.items():
        if {cotangent, *backward}.intersection(names_in(tree)):
            backward.add(name)
    return backward


def names_in(tree: Syntax) -> Iterator[str]:
    """Every name an expression's syntax tree uses."""
    return (node.name for node in name_nodes(tree))


def name_nodes(tree: Syntax) -> Iterator[Name]:
    """Every `Name` node of an expression's syntax tree (with its offset)."""
    stack: list = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, Name):
            yield item
        elif isinstance(item, Syntax):
            stack.extend(getattr(item, f) for f in item.__dataclass_fields__ if f != "offset")
        elif isinstance(item, tuple):
            stack.extend(item)


def _vjp_node(builder) -> yaml.Node | None:  # noqa: ANN001
    """Where a vjp is asked for: its claims' key, or the implementation's vjp."""
    if builder.node("vjp") is not None:
        return builder.reader_key("vjp")
    implementation = builder.node("implementation")
    if isinstance(implementation, yaml.MappingNode):
        for key, value in implementation.value:
            if key.value == "vjp":
                return value
    return None
