"""Values a case and `defaults` share: settings (samples, seed, expect), tolerance, domain.

Part of the `cases` stage: YAML nodes -> checked values, each problem reported at its
node through the `NodeReader`. Main functions: `read_setting`, `read_tolerance`,
`read_domain`.
"""

from __future__ import annotations

import math

import yaml

from ..symbolic.parse import suggest
from .model import EXPECTATIONS, TOLERANCE_KEYS, TOLERANCE_PRESETS, Interval
from .nodes import NodeReader

__all__ = ["MAX_SAMPLES", "read_domain", "read_setting", "read_tolerance"]

MAX_SAMPLES = 100_000_000  # 8 bytes each per variable and oracle: already gigabytes


def read_setting(reader: NodeReader, key: str, node: yaml.Node) -> object:
    if key == "expect":
        value = reader.text(node, "expect")
        if value is not None and value not in EXPECTATIONS:
            reader.fail(
                f"expect must be one of: {', '.join(EXPECTATIONS)}; got {value!r}"
                f"{suggest(value, set(EXPECTATIONS))}",
                node,
            )
            return None
        return value
    value = reader.whole_number(node, key)
    if key == "samples" and value is not None and value > MAX_SAMPLES:
        reader.fail(f"samples must be at most {MAX_SAMPLES:_}, got {value:_}", node)
        return None
    return value


def read_tolerance(reader: NodeReader, node: yaml.Node, into: dict[str, float]) -> None:
    """Read `{rtol, atol}` (either may be left out) or a preset's name (`float32`)."""
    if isinstance(node, yaml.ScalarNode):
        name = reader.text(node, "tolerance")
        if name in TOLERANCE_PRESETS:
            into.update(TOLERANCE_PRESETS[name])
        elif name is not None:
            reader.fail(
                f"tolerance must be a mapping {{rtol: ..., atol: ...}} or one of: "
                f"{', '.join(TOLERANCE_PRESETS)}; got {name!r}"
                f"{suggest(name, set(TOLERANCE_PRESETS))}",
                node,
            )
        return
    for key, _, value_node in reader.mapping(node, "tolerance", TOLERANCE_KEYS):
        value = reader.number(value_node, f"tolerance {key}")
        if value is not None and value < 0:
            reader.fail(f"tolerance {key} must be >= 0, got {value_node.value}", value_node)
        elif value is not None:
            into[key] = value


def read_domain(
    reader: NodeReader,
    node: yaml.Node,
    into: dict[str, tuple[Interval | float | None, yaml.Node]],
) -> None:
    """Read `name: [low, high]` or `name: value` entries; an invalid one is recorded as
    None (its error reported), so that it is not also reported as missing."""
    for name, key_node, value_node in reader.mapping(node, "domain"):
        into[name] = (_domain_value(reader, name, value_node), key_node)


def _domain_value(reader: NodeReader, name: str, node: yaml.Node) -> Interval | float | None:
    what = f"the domain of '{name}'"
    if not isinstance(node, yaml.SequenceNode):
        return reader.number(node, what)
    if any(not isinstance(item, yaml.ScalarNode) for item in node.value):
        reader.fail(f"{what} must be [low, high] or one number, not a nested list", node)
        return None
    bounds = [reader.number(item, what) for item in node.value]
    if len(bounds) != 2:
        reader.fail(f"{what} must be [low, high] or one number, got a list of {len(bounds)}", node)
    elif None not in bounds and bounds[0] > bounds[1]:
        reader.fail(f"{what} is empty: low {bounds[0]:g} is above high {bounds[1]:g}", node)
    elif None not in bounds and not math.isfinite(bounds[1] - bounds[0]):
        reader.fail(f"{what} is too wide for float64: high - low overflows", node)
    elif None not in bounds:
        return Interval(bounds[0], bounds[1])
    return None
