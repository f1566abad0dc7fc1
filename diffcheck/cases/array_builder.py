"""One array case's fields -> a validated `ArrayCase`, every problem reported at its node.

A case becomes an array case when it has `shapes` (contract version 2). Shapes may use
dimension names from `dims`, whose lists are checked at every combination of sizes: the
function, its intermediates and every claim are built into the array IR once per
combination, so that a shape error names FILE:LINE:COLUMN of the operator at the sizes
where it fails. Main function: `read_array_case`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType

import yaml

from ..arrays.domains import STRUCTURES, structure_problem, unknown_structure_message
from ..arrays.grammar import parse_array_syntax
from ..arrays.syntax import Syntax
from ..errors import ExpressionError
from ..symbolic.parse import suggest, unused_name
from .array_cotangent import read_cotangent, separate_cotangent
from .array_instances import InstanceBuilder, find_value
from .array_model import (
    ARRAY_IMPLEMENTATION_KEYS,
    CLAIM_KINDS,
    ArrayCase,
    ArrayImplementation,
    ArrayText,
    Structure,
    resolve_shape,
    show_shape,
    size_combinations,
)
from .array_names import RESERVED, NameChecks
from .array_points import read_array_points, size_key
from .model import Interval
from .nodes import NodeReader
from .settings import read_domain

__all__ = ["read_array_case"]

MAX_DIMS_COMBINATIONS = 64  # each combination is a full check of the case
_REFERENCE = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")  # module:attribute, as for scalars


def read_array_case(case_builder, name: str) -> ArrayCase | None:  # noqa: ANN001
    """The array case that `case_builder` (the scalar builder, for the shared settings)
    reads from its fields, or None with every problem reported."""
    return _ArrayCaseBuilder(case_builder).build(name)


class _ArrayCaseBuilder(InstanceBuilder, NameChecks):
    def __init__(self, base) -> None:  # noqa: ANN001 - the scalar `_CaseBuilder`
        self.base = base
        self.reader: NodeReader = base.reader
        self.source = base.reader.source
        self.invalid_dims: set[str] = set()  # dimensions whose size was refused
        self.all_declared: dict = {}  # the array variables, once read

    def node(self, key: str) -> yaml.Node | None:
        return self.base.value_node(key)

    def fail(self, message: str, node: yaml.Node | None) -> None:
        self.reader.fail(message, node if node is not None else self.base.node)

    # ---- the case --------------------------------------------------------------------

    def build(self, name: str) -> ArrayCase | None:
        settings = {key: self.base.setting(key) for key in ("samples", "seed", "expect")}
        tolerance, description = self.base.tolerance(), self.base.description()
        implementation = self.implementation()
        for key in ("hessian",):
            if self.node(key) is not None:
                self.fail(f"'{key}' is for scalar cases; an array case claims gradient, "
                          "jacobian or vjp", self.reader_key(key))  # fmt: skip
        dims = self.dims()
        self.all_dims = dims or {}
        declared = self.shapes(dims)
        cotangent = read_cotangent(self)
        texts = self.texts()
        if texts is None or declared is None or dims is None:
            return None
        function, where, claims = texts
        syntaxes = self.syntaxes(function, where, claims)
        if syntaxes is None:
            return None
        wants_cotangent = bool(claims["vjp"]) or getattr(implementation, "vjp", None) is not None
        self.all_declared = declared
        cotangent = separate_cotangent(self, cotangent, syntaxes, [*declared, *dims, *where],
                                       wants_cotangent)  # fmt: skip
        if cotangent is None:
            return None
        scalars = self.scalar_names(syntaxes, declared, dims, where, cotangent)
        variables = tuple(sorted({*declared, *scalars} - {cotangent}))
        wrt = self.wrt(variables)
        self.check_claim_names(claims, wrt, variables)
        in_scope = self.check_claim_scope(syntaxes, variables, dims, where, cotangent)
        in_scope = self.check_where_names(syntaxes, declared, dims) and in_scope
        domain = self.domain(variables, cotangent, declared, dims, wants_cotangent)
        instances = []
        if in_scope:  # else each unknown name would be an error again, at its operator
            instances = self.instances(syntaxes, declared, dims, scalars, cotangent, claims)
        self.check_code_kinds(implementation, instances)
        self.check_cotangent_structure(domain.get(cotangent), cotangent, instances)
        function_shapes = {size_key(i.dims): i.function.shape for i in instances}
        points = read_array_points(self, variables, cotangent if wants_cotangent else None,
                                   declared, dims, domain, function_shapes)  # fmt: skip
        self.check_nothing_claimed(settings["expect"], claims, name)
        self.check_samples(settings["samples"], points, variables, domain)
        if self.reader.errors or not instances:
            return None
        instances = tuple(self.place_points(instances, points, declared))
        return ArrayCase(
            file=self.source.path, name=name, location=self.reader.at(self.base.node),
            description=description, function=function, where=tuple(where.items()), wrt=wrt,
            claims=MappingProxyType({k: MappingProxyType(v) for k, v in claims.items()}),
            declared=MappingProxyType(declared), dims=MappingProxyType(dims),
            variables=variables, scalars=tuple(sorted(scalars)), cotangent=cotangent,
            domain=MappingProxyType(domain), points=points, samples=settings["samples"],
            seed=settings["seed"], tolerance=tolerance, expect=settings["expect"] or "correct",
            instances=instances, implementation=implementation,
        )  # fmt: skip

    def reader_key(self, key: str) -> yaml.Node:
        return self.base.fields[key][0]

    def implementation(self) -> ArrayImplementation | None:
        """`module:attribute` references to the user's forward, gradient and vjp code."""
        node = self.node("implementation")
        if node is None:
            return None
        references: dict[str, str] = {}
        for key, _, value_node in self.reader.mapping(node, "implementation",
                                                      ARRAY_IMPLEMENTATION_KEYS):  # fmt: skip
            text = self.reader.text(value_node, f"implementation {key}")
            if text is not None and not _REFERENCE.fullmatch(text.strip()):
                self.fail(f"implementation {key} must be 'module:attribute' (as in "
                          f"'mypackage.ops:linear_backward'), got {text!r}",
                          value_node)  # fmt: skip
            elif text is not None:
                references[key] = text.strip()
        if isinstance(node, yaml.MappingNode) and not node.value:
            self.fail("implementation needs 'function', 'gradient' or 'vjp'", node)
        return ArrayImplementation(*(references.get(key) for key in ARRAY_IMPLEMENTATION_KEYS),
                                   self.reader.at(node))  # fmt: skip

    def check_code_kinds(self, implementation: ArrayImplementation | None, instances: list
                         ) -> None:  # fmt: skip
        if implementation is None or implementation.gradient is None or not instances:
            return
        shape = instances[0].function.shape
        if shape != ():
            self.fail(f"implementation gradient needs a scalar function, but the function has "
                      f"shape {show_shape(shape)}: name a vjp (what a backward pass returns)",
                      find_value(self.node("implementation"), "gradient"))  # fmt: skip

    # ---- dims and shapes -------------------------------------------------------------

    def dims(self) -> dict[str, tuple[int, ...]] | None:
        node = self.node("dims")
        dims: dict[str, tuple[int, ...]] = {}
        if node is None:
            return dims
        for key, key_node, value_node in self.reader.mapping(node, "dims"):
            self.check_name(key, key_node, "a dimension")
            items = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            if not items:
                self.fail(f"dims: '{key}' needs at least one size", value_node)
            sizes = [self.size(item, key) for item in items]
            if items and all(sizes):
                dims[key] = tuple(dict.fromkeys(sizes))  # type: ignore[arg-type]
            else:  # reported once here, not again where a shape uses it
                self.invalid_dims.add(key)
        combinations = math.prod(len(sizes) for sizes in dims.values())
        if combinations > MAX_DIMS_COMBINATIONS:
            self.fail(f"dims give {combinations} combinations of sizes; at most "
                      f"{MAX_DIMS_COMBINATIONS} are checked: shorten the lists", node)  # fmt: skip
        return dims

    def size(self, node: yaml.Node, key: str) -> int | None:
        """A size of a dimension: a whole number >= 1 (one message for anything else)."""
        errors = len(self.reader.errors)
        size = self.reader.whole_number(node, f"the size of '{key}'")
        if size is None:
            del self.reader.errors[errors:]
            self.fail(f"the size of '{key}' must be a whole number >= 1, got {node.value!r}",
                      node)  # fmt: skip
        elif size == 0:
            self.fail(f"the size of '{key}' must be at least 1", node)
        return size or None

    def shapes(self, dims: dict | None) -> dict[str, tuple[int | str, ...]] | None:
        node = self.node("shapes")
        declared: dict[str, tuple[int | str, ...]] = {}
        for key, key_node, value_node in self.reader.mapping(node, "shapes"):
            self.check_name(key, key_node, "an array variable")
            if dims is not None and key in dims:
                self.fail(f"'{key}' is both a dimension and an array variable", key_node)
            items = self.reader.sequence(value_node, f"the shape of '{key}'")
            if not isinstance(value_node, yaml.SequenceNode):
                continue
            shape = tuple(self.dimension(item, key, dims or {}) for item in items)
            if None not in shape:
                declared[key] = shape  # type: ignore[assignment]
        return declared if len(declared) == len(list(getattr(node, "value", []))) else None

    def dimension(self, node: yaml.Node, variable: str, dims: Mapping) -> int | str | None:
        """A whole number >= 1, a dimension name, or arithmetic on them (`d + n`)."""
        value = self.reader.scalar(node, f"a dimension of '{variable}'")
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                self.fail(f"a dimension of '{variable}' must be at least 1, got {value}", node)
                return None
            return value
        if not isinstance(value, str):
            self.fail(f"a dimension of '{variable}' must be a whole number or a name from "
                      f"dims, got {node.value!r}", node)  # fmt: skip
            return None
        unknown = [n for n in _names_in_text(value) if n not in dims]
        if unknown and set(unknown) <= self.invalid_dims:
            return None  # its size is wrong, and said so under dims
        if unknown:
            self.fail(f"'{unknown[0]}' in the shape of '{variable}' is not in dims"
                      f"{suggest(unknown[0], set(dims))}; add it under dims", node)  # fmt: skip
            return None
        return value.strip()

    def check_name(self, name: str, node: yaml.Node, what: str) -> None:
        if name in RESERVED:
            self.fail(f"'{name}' is a function or keyword of the array language; give "
                      f"{what} another name", node)  # fmt: skip
        elif not name.isidentifier():
            self.fail(f"{what} must be a plain name, got {name!r}", node)

    # ---- expressions -----------------------------------------------------------------

    def texts(self) -> tuple[ArrayText, dict, dict] | None:
        node = self.node("function")
        if node is None:
            self.fail("a case needs a 'function' to differentiate", self.base.node)
            return None
        function = self.text(node, "function")
        where = {}
        if self.node("where") is not None:
            for key, key_node, value_node in self.reader.mapping(self.node("where"), "where"):
                self.check_name(key, key_node, "an intermediate")
                text = self.text(value_node, f"intermediate '{key}'")
                if text is not None:
                    where[key] = text
                    self.base.where_keys[key] = key_node
        claims: dict[str, dict[str, ArrayText]] = {kind: {} for kind in CLAIM_KINDS}
        for kind in CLAIM_KINDS:
            if self.node(kind) is not None:
                for key, _, value_node in self.reader.mapping(self.node(kind), kind):
                    text = self.text(value_node, f"the {kind} of '{key}'")
                    if text is not None:
                        claims[kind][key] = text
        return (function, where, claims) if function is not None else None

    def text(self, node: yaml.Node, what: str) -> ArrayText | None:
        text = self.reader.text(node, what)
        return ArrayText(text, self.source.at(node)) if text is not None else None

    def syntaxes(self, function: ArrayText, where: dict, claims: dict) -> dict | None:
        """Every expression's syntax tree, keyed by (kind, name); parse errors reported."""
        wanted = {("function", ""): function, **{("where", k): t for k, t in where.items()}}
        for kind, texts in claims.items():
            wanted.update({(kind, name): text for name, text in texts.items()})
        trees: dict[tuple[str, str], Syntax] = {}
        for key, text in wanted.items():
            try:
                trees[key] = parse_array_syntax(text.text, self.locate_key(key))
            except ExpressionError as error:
                self.reader.errors.append(error)
        return trees if len(trees) == len(wanted) else None

    def domain(self, variables, cotangent, declared, dims, wants_cotangent) -> dict:  # noqa: ANN001
        given: dict = {}
        node = self.node("domain")
        used = {*variables, *([cotangent] if wants_cotangent else [])}
        for name, key_node, value_node in self.reader.mapping(node, "domain") if node else ():
            if name not in used:
                self.fail(unused_name("the domain", name, set(variables)), key_node)
                continue
            array = name in declared or name == cotangent  # the cotangent's shape is known later
            value = self.domain_value(name, value_node, declared if name != cotangent else {},
                                      dims, array)  # fmt: skip
            given[name] = (value, key_node)
        merged = {**self.base.defaults.domain, **given}
        domain = {name: merged[name][0] for name in variables if name in merged}
        if wants_cotangent:
            domain[cotangent] = merged[cotangent][0] if cotangent in merged else Interval(-1, 1)
        self.invalid_domains = {name for name, value in domain.items() if value is None}
        return {name: value for name, value in domain.items() if value is not None}

    def domain_value(self, name, node, declared, dims, array):  # noqa: ANN001, ANN201
        value = self.reader.scalar(node, f"the domain of '{name}'") if isinstance(
            node, yaml.ScalarNode) else None  # fmt: skip
        if isinstance(value, str) and value.strip().isidentifier():
            kind = value.strip()
            if kind not in STRUCTURES:
                self.fail(unknown_structure_message(kind), node)
                return None
            if array and name not in declared:
                return Structure(kind)  # the cotangent: checked once the function is built
            if name in declared:
                for shape in _shapes_at(declared[name], dims):
                    problem = structure_problem(kind, shape, name, declared[name])
                    if problem is not None:
                        self.fail(problem, node)
                        return None
            else:
                self.fail(f"'{name}' is a scalar; a structure such as {kind} is for arrays "
                          "(declare its shape under shapes)", node)  # fmt: skip
                return None
            return Structure(kind)
        items = node.value if isinstance(node, yaml.SequenceNode) else []
        if not all(isinstance(item, yaml.ScalarNode) for item in items):
            self.fail(f"the domain of '{name}' must be [low, high] or a number, for every "
                      "entry alike (or a structure such as spd), not a nested list",
                      node)  # fmt: skip
            return None
        into: dict = {}
        holder = yaml.MappingNode("tag:yaml.org,2002:map", [(yaml.ScalarNode(
            "tag:yaml.org,2002:str", name, node.start_mark, node.end_mark), node)])  # fmt: skip
        read_domain(self.reader, holder, into)
        return into[name][0]

    # ---- claims and their consistency ------------------------------------------------

    def check_nothing_claimed(self, expect: object, claims: dict, name: str) -> None:
        anything = any(claims.values()) or self.node("implementation") is not None
        if expect == "incorrect" and not anything:
            self.fail("expect: incorrect, but the case claims nothing that could be incorrect: "
                      "give a gradient, a jacobian, a vjp or an implementation",
                      self.node("expect") or self.base.node)  # fmt: skip

    def check_samples(self, samples: object, points: tuple, variables: tuple, domain: dict
                      ) -> None:  # fmt: skip
        unbounded = [n for n in variables if n not in domain and n not in self.invalid_domains]
        if samples and unbounded:
            self.fail(f"no domain for {', '.join(repr(n) for n in unbounded)}: add "
                      f"'{unbounded[0]}: [low, high]' (or a fixed value) under domain",
                      self.node("domain") or self.base.node)  # fmt: skip
        if samples == 0 and not points and self.node("points") is None:
            self.fail("nothing to check: samples is 0 and there are no points",
                      self.node("samples") or self.base.node)  # fmt: skip


def _names_in_text(text: str) -> list[str]:
    return re.findall(r"[^\W\d]\w*", text)


def _shapes_at(shape: tuple[int | str, ...], dims: Mapping) -> Iterator[tuple[int, ...]]:
    for sizes in size_combinations(dims):
        yield resolve_shape(shape, sizes)
