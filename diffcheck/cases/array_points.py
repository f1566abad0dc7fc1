"""Points of an array case: explicit ones (nested lists -> NumPy arrays) and random ones.

A point gives each array variable as a nested list (and may give the cotangent), each
scalar as a number; a variable it leaves out takes its fixed domain value. A point is
checked at the sizes its arrays fit; one that fits no combination of `dims` is an error.
Main function: `read_array_points`.
Random points: `draw_point`, then `complete_point` (fixed values spread, cotangent drawn).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import yaml

from ..arrays.domains import draw_interval, draw_structured
from ..symbolic.parse import unused_name
from .array_model import (
    MAX_ARRAY_ENTRIES,
    ArrayCase,
    ArrayInstance,
    Structure,
    resolve_shape,
    show_shape,
    size_combinations,
)
from .model import Interval

__all__ = ["complete_point", "draw_point", "read_array_points", "size_key"]

MAX_POINT_DEPTH = 32  # nested lists deeper than any array a case declares


def read_array_points(builder, variables, cotangent, declared, dims, domain,  # noqa: ANN001
                      function_shapes: Mapping[tuple, tuple[int, ...]]
                      ) -> tuple[Mapping[str, Any], ...]:  # fmt: skip
    """Every explicit point of the case, each problem reported at its node.

    `cotangent` is None where the case needs none (a point may not give it then);
    `function_shapes` maps `size_key(sizes)` to the function's shape at those sizes, for
    the cotangent a point gives (empty when the function could not be built)."""
    node = builder.node("points")
    if node is None:
        return ()
    reader = builder.reader
    points = []
    for index, item in enumerate(reader.sequence(node, "points")):
        point = _point(builder, index, item, variables, cotangent, declared, dims, domain)
        what = f"point {index + 1}"
        if point is not None and not _cotangent_fits(builder, what, item, point, cotangent,
                                                     declared, dims, function_shapes):  # fmt: skip
            point = None
        if point is not None:
            points.append(MappingProxyType(point))
    return tuple(points)


def size_key(sizes: Mapping[str, int]) -> tuple:
    """A hashable key for one combination of dimension sizes."""
    return tuple(sizes.items())


def _point(builder, index, node, variables, cotangent, declared, dims, domain  # noqa: ANN001
           ) -> dict[str, Any] | None:  # fmt: skip
    reader = builder.reader
    what = f"point {index + 1}"
    point: dict[str, Any] = {}
    given = set()
    allowed = {*variables, *([cotangent] if cotangent is not None else [])}
    for key, key_node, value_node in reader.mapping(node, what):
        given.add(key)
        if key not in allowed:
            reader.fail(unused_name(what, key, allowed), key_node)
            continue
        array = key in declared or key == cotangent
        value = _value(reader, value_node, f"'{key}' in {what}", array)
        if value is not None:
            point[key] = value
    if not isinstance(node, yaml.MappingNode) or given - set(point):
        return None
    for name in variables:
        if name not in point and isinstance(domain.get(name), (int, float)):
            point[name] = float(domain[name])
    missing = [name for name in variables if name not in point]
    if missing:
        reader.fail(f"{what} gives no value for {', '.join(repr(n) for n in missing)}"
                    f"{_why(missing[0], domain)}", node)  # fmt: skip
        return None
    if not _fits_some_size(builder, what, node, point, declared, dims):
        return None
    return point


def _why(name: str, domain: Mapping) -> str:
    value = domain.get(name)
    if isinstance(value, Structure):
        return f" (its domain is {value.kind}, which only random points are drawn from)"
    if isinstance(value, Interval):
        return " (its domain is an interval, which only random points are drawn from)"
    return ""


def _value(reader, node: yaml.Node, what: str, array: bool) -> Any:  # noqa: ANN001
    if not array:
        return reader.number(node, what)
    nested = _nested(reader, node, what, 0)
    if nested is None:
        return None
    try:
        value = np.array(nested, dtype=np.float64)
    except ValueError:  # ragged: lists of different lengths at one level
        reader.fail(f"{what} is not a rectangular array: its rows differ in length", node)
        return None
    if value.size > MAX_ARRAY_ENTRIES:
        reader.fail(f"{what} has {value.size:_} entries, above the budget of "
                    f"{MAX_ARRAY_ENTRIES:_} per array", node)  # fmt: skip
        return None
    return value


def _nested(reader, node: yaml.Node, what: str, depth: int) -> Any:  # noqa: ANN001
    if depth > MAX_POINT_DEPTH:
        reader.fail(f"{what} is nested more than {MAX_POINT_DEPTH} lists deep", node)
        return None
    if isinstance(node, yaml.SequenceNode):
        items = [_nested(reader, item, what, depth + 1) for item in node.value]
        return None if any(item is None for item in items) else items
    return reader.number(node, what)


def _fitting_sizes(point: Mapping, declared: Mapping, dims: Mapping) -> list[dict[str, int]]:
    """The combinations of sizes at which every array of the point has its shape."""
    arrays = {name: value for name, value in point.items() if name in declared}
    return [
        sizes for sizes in size_combinations(dims)
        if all(value.shape == resolve_shape(declared[name], sizes)
               for name, value in arrays.items())
    ]  # fmt: skip


def _cotangent_fits(builder, what, node, point, cotangent, declared, dims,  # noqa: ANN001
                    function_shapes) -> bool:  # fmt: skip
    """Whether the cotangent the point gives, if any, has the function's shape at some
    sizes its arrays fit (else an error naming both shapes: never dropped unsaid)."""
    if cotangent not in point or not function_shapes:
        return True
    wanted = [function_shapes[size_key(sizes)] for sizes in _fitting_sizes(point, declared, dims)
              if size_key(sizes) in function_shapes]  # fmt: skip
    shape = np.shape(point[cotangent])
    if not wanted or shape in wanted:
        return True
    at = " at the sizes its arrays fit" if len(wanted) > 1 else ""
    builder.reader.fail(f"{what}: the cotangent '{cotangent}' has shape {show_shape(shape)}, "
                        f"which does not fit the function's shape {show_shape(wanted[0])}{at}",
                        node)  # fmt: skip
    return False


def _fits_some_size(builder, what, node, point, declared, dims) -> bool:  # noqa: ANN001
    arrays = {name: value for name, value in point.items() if name in declared}
    if _fitting_sizes(point, declared, dims):
        return True
    name, value = next(
        ((n, v) for n, v in arrays.items() if v.shape != resolve_shape(declared[n], next(
            size_combinations(dims)))), next(iter(arrays.items()), (None, None))
    )  # fmt: skip
    if name is None:
        return True
    shape = "[" + ", ".join(str(d) for d in declared[name]) + "]"
    builder.reader.fail(f"{what}: '{name}' has shape {show_shape(value.shape)}, which does not fit "
                        f"its declared shape {shape}"
                        f"{' at any size of dims' if dims else ''}", node)  # fmt: skip
    return False


def draw_point(case: ArrayCase, instance: ArrayInstance, rng) -> dict[str, Any]:  # noqa: ANN001
    """One random point: every variable drawn from its domain at this size."""
    values: dict[str, Any] = {}
    for name in case.variables:
        values[name] = _draw_one(case.domain.get(name), instance.shapes.get(name, ()), rng)
    return values


def _draw_one(domain: Any, shape: tuple[int, ...], rng) -> Any:  # noqa: ANN001
    if isinstance(domain, Structure):
        return draw_structured(domain.kind, shape, rng)
    if isinstance(domain, Interval):
        value = draw_interval(domain.low, domain.high, shape, rng)
        return value if shape else float(value)
    return np.full(shape, float(domain)) if shape else float(domain)


def complete_point(case, instance, values, rng) -> dict[str, Any]:  # noqa: ANN001
    """Fixed values spread to their shapes, and the cotangent drawn where a point lacks it."""
    complete = dict(values)
    for name, value in values.items():
        shape = instance.shapes.get(name, ())
        if shape and np.ndim(value) == 0:
            complete[name] = np.full(shape, float(value))
    code = case.implementation
    # a backward pass's vjp is called with a cotangent, even for a scalar function
    needs = instance.function.shape != () or case.claims["vjp"] or (
        code is not None and code.vjp is not None)  # fmt: skip
    if needs and case.cotangent not in complete:
        domain = case.domain.get(case.cotangent, Interval(-1.0, 1.0))
        complete[case.cotangent] = _draw_one(domain, instance.function.shape, rng)
    return complete
