"""The points of a scalar case: its domain (with what `defaults` gives) and its explicit
points, every value checked and every missing one reported at its node.

Part of the scalar case builder (a mixin: it reads `value_node`, `reader`, `node` and
`defaults` of the builder it is part of).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import yaml

from ..symbolic.parse import unused_name
from .model import Interval
from .settings import read_domain

__all__ = ["PointsReader"]


class PointsReader:
    """Reads `domain` and `points` of one case."""

    def domain(
        self, variables: tuple[str, ...], intermediates: set[str], check_use: bool = True
    ) -> dict[str, Interval | float]:
        given: dict[str, tuple[Interval | float | None, yaml.Node]] = {}
        node = self.value_node("domain")
        if node is not None:
            read_domain(self.reader, node, given)
        for name, (_, key_node) in given.items() if check_use else ():
            if name in intermediates:
                self.reader.fail(
                    f"the domain gives '{name}', an intermediate defined under "
                    "where; its values come from its definition",
                    key_node,
                )
            elif name not in variables:
                self.reader.fail(unused_name("the domain", name, set(variables)), key_node)
        merged = {**self.defaults.domain, **given}
        for name in variables:
            if name in self.defaults.domain and name not in given and merged[name][0] is None:
                self.reader.fail(
                    f"the domain of '{name}' under defaults is invalid (see its "
                    "error); give this case its own",
                    self.value_node("domain") or self.node,
                )
        return {name: merged[name][0] for name in variables if name in merged}

    def points(
        self, variables: tuple[str, ...], domain: dict[str, Interval | float], samples: object
    ) -> tuple[Mapping[str, float], ...]:
        node = self.value_node("points")
        items = self.reader.sequence(node, "points") if node is not None else []
        points = [self.point(index, item, variables, domain) for index, item in enumerate(items)]
        unbounded = [name for name in variables if name not in domain]
        if samples and unbounded:
            self.reader.fail(
                f"no domain for {', '.join(repr(n) for n in unbounded)}: add "
                f"'{unbounded[0]}: [low, high]' (or a fixed value) under domain",
                self.value_node("domain") or self.node,
            )
        if samples == 0 and not items:
            self.reader.fail(
                "nothing to check: samples is 0 and there are no points",
                self.value_node("samples") or self.node,
            )
        return tuple(MappingProxyType(point) for point in points if point is not None)

    def point(
        self,
        index: int,
        node: yaml.Node,
        variables: tuple[str, ...],
        domain: dict[str, Interval | float],
    ) -> dict[str, float] | None:
        what = f"point {index + 1}"
        point: dict[str, float] = {}
        given = set()  # including values that are invalid, whose errors are reported
        for key, key_node, value_node in self.reader.mapping(node, what):
            if key not in variables:
                self.reader.fail(unused_name(what, key, set(variables)), key_node)
            given.add(key)
            value = self.reader.number(value_node, f"'{key}' in {what}")
            if value is not None:
                point[key] = value
        for name in variables:
            if name not in point and not isinstance(domain.get(name, ()), Interval):
                if name in domain:
                    point[name] = domain[name]
        missing = [name for name in variables if name not in point and name not in given]
        if missing and isinstance(node, yaml.MappingNode):
            self.reader.fail(
                f"{what} gives no value for {', '.join(repr(n) for n in missing)}", node
            )
        return None if missing or given - set(point) else point
