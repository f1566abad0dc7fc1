"""An array case at every combination of its sizes: the function, intermediates and claims
built into the array IR, every claim's shape checked against what its kind requires.

The second half of reading an array case (`array_builder` reads the fields); a shape
error names FILE:LINE:COLUMN of its operator and, in a sweep, the sizes where it fails.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from types import MappingProxyType

import yaml

from ..arrays.build import build_array_expression
from ..arrays.context import shape_text
from ..arrays.domains import structure_problem
from ..arrays.ir import Constant, Node, variables_in
from ..arrays.ops import broadcast_to
from ..arrays.syntax import Syntax
from ..errors import ExpressionError
from .array_cotangent import backward_names, names_in
from .array_model import (
    CLAIM_KINDS,
    MAX_ARRAY_ENTRIES,
    ArrayInstance,
    Structure,
    resolve_shape,
    show_shape,
    size_combinations,
)

__all__ = ["InstanceBuilder", "find_key", "find_value"]


class InstanceBuilder:
    """The instance-building half of the array case builder (a mixin: it reads `node`,
    `fail`, `reader`, `source` and `all_dims` of the builder it is part of)."""

    def instances(self, trees, declared, dims, scalars, cotangent, claims) -> list:  # noqa: ANN001
        instances = []
        for sizes in size_combinations(dims):
            errors = len(self.reader.errors)
            instance = self.instance(trees, declared, sizes, scalars, cotangent, claims)
            if instance is not None and len(self.reader.errors) == errors:
                instances.append(instance)
            if len(self.reader.errors) > errors:
                break  # the same mistake at the next sizes says nothing new
        return instances

    def instance(self, trees, declared, sizes, scalars, cotangent, claims):  # noqa: ANN001, ANN201
        shapes = {name: resolve_shape(shape, sizes) for name, shape in declared.items()}
        for name, shape in shapes.items():
            if math.prod(shape) > MAX_ARRAY_ENTRIES:
                self.fail(_too_large(name, shape, declared[name], sizes),
                          find_key(self.node("shapes"), name))  # fmt: skip
                return None
        built: dict[str, Node] = {}
        context = dict(shapes=shapes, scalars=set(scalars), dims=sizes,
                       dim_names={n: tuple(s) for n, s in declared.items()})  # fmt: skip
        broken: set[str] = set()  # intermediates with an error, reported once
        where = {name: tree for (kind, name), tree in trees.items() if kind == "where"}
        backward = backward_names(where, cotangent) if claims.get("vjp") else set()
        self.build_where(trees, context, built, broken, skip=backward)
        function_tree = trees[("function", "")]  # never uses them: a clash, found before
        function = None
        if not broken.intersection(names_in(function_tree)):
            function = self.build_expression(function_tree, ("function", ""), context, built)
        if function is None or broken:
            return None
        shapes[cotangent] = function.shape
        context["shapes"] = shapes
        context["dim_names"] = {**context["dim_names"], cotangent: function.shape}
        forward = dict(built)  # the function's intermediates; the others feed vjp claims
        self.build_where(trees, context, built, broken, keep=backward)
        if broken:
            return None
        built_claims = {kind: {} for kind in CLAIM_KINDS}
        for kind in CLAIM_KINDS:
            for name in claims[kind]:
                claim = self.build_expression(trees[(kind, name)], (kind, name), context, built)
                if claim is not None and (name in shapes or name in scalars):
                    claim = self.check_claim_shape(kind, name, claim, function, shapes, declared)
                built_claims[kind][name] = claim
        return ArrayInstance(
            dims=MappingProxyType(sizes), shapes=MappingProxyType(shapes), function=function,
            intermediates=tuple(forward.items()),
            claims=MappingProxyType({k: MappingProxyType(v) for k, v in built_claims.items()}),
            points=(),
        )  # fmt: skip

    def build_where(self, trees: dict, context: dict, built: dict, broken: set[str],
                    skip: frozenset = frozenset(), keep: set | None = None) -> None:  # fmt: skip
        """Build the `where` intermediates in order (those of `keep` only, if given; none
        of `skip`) into `built`; one that fails, or uses one that did, goes to `broken`."""
        for (kind, name), tree in trees.items():
            if kind != "where" or name in skip or (keep is not None and name not in keep):
                continue
            node = None
            if not broken.intersection(names_in(tree)):  # else it would only repeat it
                node = self.build_expression(tree, ("where", name), context, built)
            if node is None:
                broken.add(name)
            else:
                built[name] = node

    def build_expression(self, tree: Syntax, key: tuple[str, str], context: dict,
                         built: dict) -> Node | None:  # fmt: skip
        kind, name = key
        try:
            return build_array_expression(tree, intermediates=built,
                                          locate=self.locate_key(key), **context)  # fmt: skip
        except ExpressionError as error:
            sizes = context["dims"]
            if sizes and any(len(v) > 1 for v in self.all_dims.values()):
                error = type(error)(f"{error.message} (at {_label(sizes)})", error.location)
            self.reader.errors.append(error)
            return None

    def locate_key(self, key: tuple[str, str]):  # noqa: ANN202
        kind, name = key
        node = self.node(kind)
        if kind != "function":
            node = find_value(node, name)
        if node is None:
            return lambda offset: None
        return self.source.locator(node)

    def check_claim_shape(self, kind, name, claim, function, shapes, declared):  # noqa: ANN001, ANN201
        """The claim, a constant expression filling its shape; an error (and the claim as
        it is) if its shape is not the one its kind requires."""
        shape = shapes.get(name, ())
        node = find_value(self.node(kind), name)
        if kind == "gradient" and function.shape != ():
            self.fail(f"gradient claims need a scalar function, but the function has shape "
                      f"{show_shape(function.shape)}: use vjp (what a backward pass returns) or "
                      "jacobian", find_key(self.node(kind), name))  # fmt: skip
            return claim
        wanted = shape if kind != "jacobian" else function.shape + shape
        if claim.shape == wanted or (claim.shape == () and isinstance(claim, Constant)):
            return claim
        if claim.shape == () and next(variables_in(claim), None) is None:
            # 1/sqrt(2) or exp(1) is a number as 1/2 is (version 1 reads it as one)
            return broadcast_to(claim, wanted)
        names = declared.get(name)
        if kind == "jacobian":
            what, names = f"the function's shape + {name}'s shape", None
        else:
            what = f"{name}'s shape"
        self.fail(f"the claimed {kind} of '{name}' has shape {show_shape(claim.shape)}, but it "
                  f"must have {what}, {shape_text(wanted, names)}; a claim is never broadcast",
                  node)  # fmt: skip
        return claim

    def check_cotangent_structure(self, domain: object, name: str, instances: list) -> None:
        """A structured domain for the cotangent (onehot, simplex...) must fit the
        function's shape, at every size: else an error at the domain, naming the shape."""
        if not isinstance(domain, Structure):
            return
        for instance in instances:
            shape = instance.function.shape
            problem = structure_problem(domain.kind, shape, f"the cotangent '{name}'")
            if problem is not None:
                at = f" at {instance.label()}" if instance.label() else ""
                self.fail(f"{problem}{at}, the function's shape",
                          find_value(self.node("domain"), name))  # fmt: skip
                return

    def place_points(self, instances: list, points: tuple, declared: dict) -> Iterator:
        for instance in instances:
            fitting = tuple(
                index for index, point in enumerate(points)
                if all(getattr(point.get(name), "shape", ()) == instance.shapes[name]
                       for name in instance.shapes if name in point)
            )  # fmt: skip
            yield ArrayInstance(instance.dims, instance.shapes, instance.function,
                                instance.intermediates, instance.claims, fitting)  # fmt: skip


def find_key(mapping: yaml.Node | None, key: str) -> yaml.Node | None:
    for key_node, _ in getattr(mapping, "value", []):
        if getattr(key_node, "value", None) == key:
            return key_node
    return mapping


def find_value(mapping: yaml.Node | None, key: str) -> yaml.Node | None:
    for key_node, value_node in getattr(mapping, "value", []):
        if getattr(key_node, "value", None) == key:
            return value_node
    return None


def _label(sizes: Mapping[str, int]) -> str:
    return ", ".join(f"{name}={size}" for name, size in sizes.items())


def _too_large(name: str, shape: tuple[int, ...], declared: tuple, sizes: Mapping) -> str:
    at = f" at {_label(sizes)}" if sizes else ""
    return (f"'{name}' has shape {show_shape(shape)}{at}: {math.prod(shape):_} entries, above the "
            f"budget of {MAX_ARRAY_ENTRIES:_} per array")  # fmt: skip
