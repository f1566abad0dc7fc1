"""One case's fields -> a validated `Case`, every inconsistency reported with its location.

The reading half of the `cases` stage below the file level, with `settings` reading the
values a case shares with `defaults`. Main function: `read_case`.
"""

from __future__ import annotations

import re
from types import MappingProxyType

import sympy as sp
import yaml

from ..errors import CaseFileError
from ..limits import deep_recursion
from ..symbolic.parse import CONSTANTS, FUNCTION_NAMES, suggest
from ..symbolic.resolution import Resolution
from ..symbolic.tokens import name_offset
from ..symbolic.written import written_names
from .array_model import ArrayCase
from .case_points import PointsReader
from .model import (
    ARRAY_ONLY_KEYS,
    CASE_KEYS,
    DEFAULTS,
    IMPLEMENTATION_KEYS,
    TOLERANCE_KEYS,
    Case,
    Defaults,
    Expression,
    Implementation,
    InvalidCase,
    Tolerance,
)
from .nodes import NodeReader, Source
from .settings import read_setting, read_tolerance

__all__ = ["read_case"]

_RESERVED = FUNCTION_NAMES | set(CONSTANTS)
_REFERENCE = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")  # module:attribute


def read_case(
    source: Source, node: yaml.Node, defaults: Defaults, first_line: dict[str, int]
) -> Case | ArrayCase | InvalidCase:
    reader = NodeReader(source)
    fields = {key: (key_node, value) for key, key_node, value in
              reader.mapping(node, "a case", CASE_KEYS)}  # fmt: skip
    name = _read_name(reader, node, fields, first_line)
    case = None
    try:
        with deep_recursion():  # SymPy's printers and assumptions recurse per level
            case = _build(_CaseBuilder(reader, node, fields, defaults), fields, name)
    except Exception as crash:  # a bug in diffcheck: this case is lost, not the run
        reader.fail(f"internal error reading the case: {type(crash).__name__}: {crash}", node)
    if case is None or reader.errors:
        in_order = sorted(reader.errors, key=lambda e: (e.location.line, e.location.column))
        errors = tuple(in_order) or (CaseFileError("invalid case", source.at(node)),)
        return InvalidCase(source.path, name, source.at(node), errors)
    return case


def _build(builder: _CaseBuilder, fields: dict, name: str | None) -> Case | ArrayCase | None:
    """An array case when the case declares `shapes` (contract version 2), else a scalar one."""
    if name is None:
        return None
    if "shapes" in fields:
        # the array stage takes tens of milliseconds to import: only array cases wait for it
        from .array_builder import read_array_case

        return read_array_case(builder, name)
    for key in ARRAY_ONLY_KEYS:
        if key in fields:
            builder.reader.fail(
                f"'{key}' belongs to array cases: declare the array variables under shapes",
                fields[key][0],
            )
    return builder.build(name)


def _read_name(
    reader: NodeReader, node: yaml.Node, fields: dict, first_line: dict[str, int]
) -> str | None:
    if "name" not in fields:
        if isinstance(node, yaml.MappingNode):
            reader.fail("a case needs a 'name'", node)
        return None
    value_node = fields["name"][1]
    name = reader.text(value_node, "name")
    if name is None:
        return None
    if name in first_line:
        reader.fail(f"duplicate case name '{name}' (first at line {first_line[name]})", value_node)
    else:
        first_line[name] = value_node.start_mark.line + 1
    return name


class _CaseBuilder(PointsReader):
    """Turns one case's fields into a `Case`, reporting every inconsistency."""

    def __init__(self, reader: NodeReader, node: yaml.Node, fields: dict, defaults: Defaults):
        self.reader = reader
        self.node = node
        self.fields = fields
        self.defaults = defaults
        self.where_keys: dict[str, yaml.Node] = {}  # intermediate -> its key, for errors
        self.claimable: set[str] = set()  # the names a claim may use: variables, intermediates

    def value_node(self, key: str) -> yaml.Node | None:
        return self.fields[key][1] if key in self.fields else None

    def build(self, name: str) -> Case | None:
        settings = {key: self.setting(key) for key in ("samples", "seed", "expect")}
        tolerance, description = self.tolerance(), self.description()
        errors_before = len(self.reader.errors)
        where, substitutions = self.where()
        function = self.function()
        if function is None or len(self.reader.errors) > errors_before:
            self.domain((), set(), check_use=False)  # still report the domain's own errors
            return None
        # the names as written, through the intermediates' definitions as written: writing
        # the intermediates out costs n² for a chain of n that scale the one before, and a
        # name SymPy cancels (b in (w*x + b) - (w*x + b)/2... ) is still the case's
        free = written_variables(function, where)
        wrt = self.wrt(free, set(dict(where)))
        self.claimable = free | set(dict(where))
        gradient = self.gradient(wrt)
        hessian = self.hessian(wrt)
        implementation = self.implementation()
        claims = [*gradient.values(), *hessian.values()]
        self.check_where_used(where, [function, *claims])
        # a claim that failed to read has its own error: "claims nothing" would be wrong
        written = any(getattr(self.value_node(k), "value", None) for k in ("gradient", "hessian"))
        if settings["expect"] == "incorrect" and not written and implementation is None:
            inherited = self.value_node("expect") is None
            self.reader.fail(
                f"expect: incorrect{f' (from defaults, for case {name!r})' if inherited else ''}"
                ", but the case claims nothing that could be incorrect: give a gradient, a "
                "hessian or an implementation",
                self.setting_node("expect"),
            )
        claimed = [substitutions.symbols(expr.expr) for expr in claims]
        variables = tuple(sorted(free.union(*({s.name for s in c} for c in claimed))))
        domain = self.domain(variables, set(dict(where)))
        points = self.points(variables, domain, settings["samples"])
        if self.reader.errors:
            return None
        return Case(
            file=self.reader.source.path, name=name, location=self.reader.at(self.node),
            description=description, function=function, where=where, wrt=wrt,
            gradient=MappingProxyType(gradient), variables=variables,
            domain=MappingProxyType(domain), points=points, samples=settings["samples"],
            seed=settings["seed"], tolerance=tolerance, expect=settings["expect"] or "correct",
            substitutions=substitutions, hessian=MappingProxyType(hessian),
            implementation=implementation,
        )  # fmt: skip

    def description(self) -> str:
        node = self.value_node("description")
        return (self.reader.text(node, "description") or "") if node else ""

    def function(self) -> Expression | None:
        node = self.value_node("function")
        if node is None:
            self.reader.fail("a case needs a 'function' to differentiate", self.node)
            return None
        return self.reader.expression(node, "function")

    def where(self) -> tuple[tuple[tuple[str, Expression], ...], Resolution]:
        """The intermediates as written, and what they stand for (written out on use)."""
        node = self.value_node("where")
        if node is None:
            return (), Resolution(())
        items = list(self.reader.mapping(node, "where"))
        later = {key for key, _, _ in items}
        entries: list[tuple[str, Expression]] = []
        for key, key_node, value_node in items:
            if key in _RESERVED:
                self.reader.fail(
                    f"'{key}' is a function or constant; give the intermediate another name",
                    key_node,
                )
            expression = self.reader.expression(value_node, f"intermediate '{key}'")
            if expression is not None:
                self.check_order(key, expression, later, value_node)
                entries.append((key, expression))
                self.where_keys[key] = key_node
            later.discard(key)
        return tuple(entries), Resolution((sp.Symbol(k), e.expr) for k, e in entries)

    def check_where_used(
        self, where: tuple[tuple[str, Expression], ...], users: list[Expression]
    ) -> None:
        """An intermediate that nothing reads is most likely a typo in the name that
        should have read it: an error, as an unknown key is."""
        readers = [*users, *(expression for _, expression in where)]
        used = set().union(*(written_names(reader.text) for reader in readers))
        for key, _ in where:
            if key not in used:
                self.reader.fail(
                    f"intermediate '{key}' is not used by the function, another "
                    "intermediate or a claim",
                    self.where_keys[key],
                )

    def check_order(
        self, key: str, expression: Expression, later: set[str], node: yaml.Node
    ) -> None:
        used = written_names(expression.text)
        if key in used:
            self.reader.fail(f"intermediate '{key}' is defined in terms of itself", node)
        for name in sorted(used & later - {key}):
            self.reader.fail(
                f"intermediate '{key}' uses '{name}', which is defined later; "
                "intermediates are defined in order",
                node,
            )

    def wrt(self, free: set[str], intermediates: set[str]) -> tuple[str, ...]:
        node = self.value_node("wrt")
        if node is None:
            if not free:
                self.reader.fail(
                    "the function has no variables to differentiate", self.value_node("function")
                )
            return tuple(sorted(free))
        items = [node] if isinstance(node, yaml.ScalarNode) else self.reader.sequence(node, "wrt")
        names: list[str] = []
        for item in items:
            name = self.reader.name(item, "a wrt entry")
            if name is None:
                continue
            if name in intermediates:
                self.reader.fail(
                    f"wrt names '{name}', an intermediate defined under where; "
                    "differentiate with respect to the variables it is built from",
                    item,
                )
            elif name not in free:
                self.reader.fail(
                    f"wrt names '{name}', which the function does not depend on"
                    f"{suggest(name, free)}",
                    item,
                )
            elif name in names:
                self.reader.fail(f"wrt names '{name}' twice", item)
            else:
                names.append(name)
        if isinstance(node, yaml.SequenceNode) and not items:
            self.reader.fail("wrt is empty: name at least one variable", node)
        return tuple(names)

    def gradient(self, wrt: tuple[str, ...]) -> dict[str, Expression]:
        node = self.value_node("gradient")
        if node is None:
            return {}
        claims: dict[str, Expression] = {}
        for key, key_node, value_node in self.reader.mapping(node, "gradient"):
            if key not in wrt:
                self.reader.fail(
                    f"gradient given for '{key}', which is not in wrt "
                    f"({', '.join(wrt)}){suggest(key, set(wrt))}",
                    key_node,
                )
            expression = self.reader.expression(value_node, f"the claimed derivative for '{key}'")
            known = key in wrt and expression is not None
            if known and self.names_known(expression, value_node, f"the claim for {key}"):
                claims[key] = expression
        return {name: claims[name] for name in wrt if name in claims}

    def names_known(self, claim: Expression, node: yaml.Node, what: str) -> bool:
        """Whether every name in `claim` is a variable or an intermediate; an error at
        each that is not (a misspelling, most likely)."""
        unknown = sorted({s.name for s in claim.expr.free_symbols} - self.claimable)
        for name in unknown:
            at = self.reader.source.locator(node)(name_offset(claim.text, name))
            message = f"'{name}' in {what} is neither a variable nor an intermediate"
            self.reader.errors.append(CaseFileError(message + suggest(name, self.claimable), at))
        return not unknown

    def hessian(self, wrt: tuple[str, ...]) -> dict[tuple[str, str], Expression]:
        """Claimed second derivatives, keyed "x,y" for d/dy of the partial d/dx."""
        node = self.value_node("hessian")
        claims: dict[tuple[str, str], Expression] = {}
        for key, key_node, value_node in self.reader.mapping(node, "hessian") if node else ():
            pair = tuple(part.strip() for part in key.split(","))
            expression = self.reader.expression(
                value_node, f"the claimed ∂²/∂{key.replace(',', '∂')}"
            )
            if len(pair) != 2 or not all(pair):
                self.reader.fail(
                    f"a hessian key names two variables, as 'x,y'; got '{key}'", key_node
                )
            elif unknown := [name for name in pair if name not in wrt]:
                self.reader.fail(
                    f"hessian entry '{key}' names '{unknown[0]}', which is not in wrt "
                    f"({', '.join(wrt)}){suggest(unknown[0], set(wrt))}",
                    key_node,
                )
            elif pair in claims:
                self.reader.fail(f"hessian entry '{key}' repeats '{','.join(pair)}'", key_node)
            elif expression is not None and self.names_known(
                expression, value_node, f"the hessian claim for {key}"
            ):
                claims[pair] = expression
        return claims

    def implementation(self) -> Implementation | None:
        """`module:attribute` references to the user's own function and gradient code."""
        node = self.value_node("implementation")
        if node is None:
            return None
        references: dict[str, str] = {}
        for key, _, value_node in self.reader.mapping(node, "implementation", IMPLEMENTATION_KEYS):
            text = self.reader.text(value_node, f"implementation {key}")
            if text is not None and not _REFERENCE.fullmatch(text.strip()):
                self.reader.fail(
                    f"implementation {key} must be 'module:attribute' (as in "
                    f"'mypackage.ops:sigmoid_backward'), got {text!r}",
                    value_node,
                )
            elif text is not None:
                references[key] = text.strip()
        if isinstance(node, yaml.MappingNode) and not node.value:
            self.reader.fail("implementation needs 'function', 'gradient' or both", node)
        return Implementation(references.get("function"), references.get("gradient"),
                              self.reader.at(node))  # fmt: skip

    def setting(self, key: str) -> object:
        node = self.value_node(key)
        if node is not None:
            return read_setting(self.reader, key, node)
        if key in self.defaults.settings:
            return self.defaults.settings[key][0]
        return DEFAULTS.get(key)

    def setting_node(self, key: str) -> yaml.Node:
        """Where a setting was written: in the case, else under defaults."""
        node = self.value_node(key)
        return node if node is not None else self.defaults.settings[key][1]

    def tolerance(self) -> Tolerance:
        values = {key: DEFAULTS[key] for key in TOLERANCE_KEYS} | self.defaults.tolerance
        node = self.value_node("tolerance")
        if node is not None:
            read_tolerance(self.reader, node, values)
        return Tolerance(rtol=values["rtol"], atol=values["atol"])


def written_variables(function: Expression, where: tuple[tuple[str, Expression], ...]
                      ) -> set[str]:  # fmt: skip
    """The variables `function` uses as written, through the intermediates' definitions
    as written: each definition is read once, however often it is used."""
    definitions = {key: expression.text for key, expression in where}
    variables: set[str] = set()
    pending, seen = [function.text], set()
    while pending:
        for name in written_names(pending.pop()):
            if name not in definitions:
                variables.add(name)
            elif name not in seen:
                seen.add(name)
                pending.append(definitions[name])
    return variables
