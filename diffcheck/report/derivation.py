"""Report stage for derivations: `Derivation`s (and a `Relay`) -> text and JSON.

`render_text` and `render_json` give the whole derivation from the lines that `lines`
lays out (the LaTeX writer reads the same lines).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sympy as sp

from ..explain.chain import Derivation, Factor, name_subexpressions
from ..explain.steps import ClosedForm, Step
from ..symbolic.derive import derive_gradient
from ..symbolic.printing import print_expression
from ..symbolic.trees import substitute, symbols_in, tree_size
from ..symbolic.written import parse_as_written, written_forms
from .chain_rows import tidy
from .lines import (
    Derivative,
    Forms,
    Item,
    Line,
    Partial,
    Product,
    Shown,
    adjoint_items,
    chain_items,
    chain_value,
    closed_form_line,
    factor_partial,
    format_number,
    needs_brackets,
    rule_label,
    step_lines,
)

if TYPE_CHECKING:  # annotations only: imported lazily, plain derive never needs it
    from ..explain.relay import Relay

__all__ = ["JSON_VERSION", "MAX_WRITTEN_OUT", "render_json", "render_plain", "render_text"]

JSON_VERSION = 1
# A plain derivative longer than this many nodes written out (a tree, shared parts counted
# at each use) is printed with names for the sub-expressions of the function instead:
# written out, the derivative of f(f(...f(x))) grows with the square of the depth
# (sigmoid at depth 10: 1089 characters, depth 80: 59119), named only linearly.
MAX_WRITTEN_OUT = 400


def _text(item: Item, position: int | None = None) -> str:
    if isinstance(item, Shown):
        text = print_expression(item.expr, item.power_form, item.as_written)
        inside = position is not None and needs_brackets(item.expr, position == 0)
        return f"({text})" if inside else text
    if isinstance(item, Derivative):
        d = "d" if item.expr.free_symbols <= {item.variable} else "∂"
        text = print_expression(item.expr, item.power_form, item.as_written)
        simple = item.expr.is_Atom or item.expr.is_Function or item.expr.is_Pow
        return f"{d}/{d}{item.variable} {text if simple else f'({text})'}"
    if isinstance(item, Partial):
        held = f"|{','.join(str(name) for name in item.held)}" if item.held else ""
        return f"∂{item.of}/∂{item.by}{held}"
    if isinstance(item, Product):
        return " · ".join(_text(factor, i) for i, factor in enumerate(item.factors))
    return " + ".join(_text(term) for term in item.terms)


def _line_text(line: Line) -> str:
    label = line.label
    if line.where:
        label += ", " + ", ".join(f"{u} = {_text(shown)}" for u, shown in line.where)
    text = " = ".join(_text(item) for item in line.items)
    if not line.label and len(line.items) == 1 and isinstance(line.items[0], Shown):
        text = f"= {text}"
    text = f"{label}: {text}" if label else text
    remarks = [rule_label(line.rule)] if line.rule else []
    remarks += [line.note] if line.note else []
    return "  " * line.depth + text + (f"    ({'; '.join(remarks)})" if remarks else "")


def _factor_lines(
    derivation: Derivation,
    factor: Factor,
    steps: bool,
    relay: Relay | None,
    seen: set,
    forms: Forms,
) -> list[str]:
    value = ""
    if relay is not None and not factor.expr.is_number:
        value = f" = {format_number(relay.factors[(factor.of, factor.by)])}"
    name = _text(factor_partial(derivation, factor))
    lines = [f"  {name} = {_text(Shown(factor.expr))}{value}"]
    if (factor.of, factor.by) in seen:  # backpropagation reuses it: derived once
        return [lines[0] + "    (as above)"] if steps or factor.closed_form else lines
    seen.add((factor.of, factor.by))
    if steps:
        lines.extend(_line_text(line) for line in step_lines(factor.steps, 2, forms=forms))
    if factor.closed_form is not None:
        lines.append(_line_text(closed_form_line(factor.closed_form, factor.steps.result, 2)))
    return lines


def _variable_text(
    derivation: Derivation, steps: bool, relay: Relay | None, seen: set, forms: Forms
) -> list[str]:
    whole = Partial(derivation.output, derivation.variable)
    factor = derivation.factors[0] if derivation.factors else None
    if not derivation.names and factor is not None:
        lines = [f"{_text(whole)}, step by step:"] if steps else []
        if steps:
            lines.extend(_line_text(line) for line in step_lines(factor.steps, 1, forms=forms))
        if factor.closed_form is not None:
            lines.append(_line_text(closed_form_line(factor.closed_form, factor.steps.result, 1)))
        return [*lines, f"{_text(whole)} = {_text(Shown(tidy(derivation.result)))}"]
    chain = chain_items(derivation)
    if chain is None:
        lines = [f"{_text(whole)}, through too many paths to list, by the adjoints:"]
        lines += [f"  {_text(lhs)} = {_text(rhs)}" for lhs, rhs in adjoint_items(derivation)]
    else:
        lines = [f"{_text(whole)} = {_text(chain)}"]
    for factor in derivation.factors:
        lines.extend(_factor_lines(derivation, factor, steps, relay, seen, forms))
    if chain is not None and len(derivation.factors) > 1:
        path = [Shown(derivation.factors[i].expr) for i in derivation.paths[0]]
        if len(derivation.paths) == 1:
            lines.append(f"  = {_text(Product(tuple(path)))}")
        if derivation.product != derivation.result:
            lines.append(f"  = {_text(Shown(derivation.product))}")
    if relay is not None:
        lines.append(f"  at the point: {_at_point(derivation, relay)}")
    return [*lines, f"{_text(whole)} = {_text(Shown(tidy(derivation.result)))}"]


def _at_point(derivation: Derivation, relay: Relay) -> str:
    adjoint = format_number(relay.node(derivation.variable).adjoint)
    value = chain_value(derivation, relay)
    if value is None:
        return f"{adjoint} (reverse mode)"
    count = sum(len(path) for path in derivation.paths)
    what = "the chain"
    if len(derivation.paths) == 1:
        what = "the one factor" if count == 1 else f"the product of {count} factors"
    return f"{what} is {format_number(value)} (reverse mode: {adjoint})"


def _relay_text(relay: Relay) -> list[str]:
    point = ", ".join(f"{name}={format_number(value)}" for name, value in relay.point)
    rows = [("node", "value", "adjoint")]
    rows += [(str(n.name), format_number(n.value), format_number(n.adjoint)) for n in relay.nodes]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"at {point}: forward values, and adjoints passed back from the output"]
    lines += [f"  {a:<{widths[0]}}  {b:<{widths[1]}}  {c}".rstrip() for a, b, c in rows]
    return lines


def render_text(
    derivations: Mapping[str, Derivation],
    steps: bool = False,
    relay: Relay | None = None,
    written: Mapping[str, str] | None = None,
) -> str:
    """The function and its intermediates, the relay at a point (if any), then each
    variable's chain of factors (with every factor's steps if `steps`). `written` gives
    the function ("" key) and intermediates as the case file writes them: shown so,
    and so are the expressions the steps differentiate."""
    first = next(iter(derivations.values()))
    written = written or {}
    forms = written_forms(parse_as_written(text) for text in written.values()) if steps else {}
    lines = [f"{first.output} = {written.get('', '') or _text(Shown(first.function))}"]
    if first.names:
        lines.append("where")
        lines.extend(f"  {name} = {written.get(str(name), '') or _text(Shown(expr))}"
                     for name, expr in first.names)  # fmt: skip
    if relay is not None:
        lines.extend(["", *_relay_text(relay)])
    seen: set[tuple[sp.Symbol, sp.Symbol]] = set()
    for derivation in derivations.values():
        lines.extend(["", *_variable_text(derivation, steps, relay, seen, forms)])
    return "\n".join(lines)


def render_plain(expr: sp.Expr, wrt: Sequence[str]) -> str:
    """Each partial of `expr` in closed form, one a line; when one is larger than
    MAX_WRITTEN_OUT written out, every partial is written with names u1, u2, ... for the
    sub-expressions of `expr`, defined after them under "where", innermost first."""
    gradient = derive_gradient(expr, list(wrt))
    if max(tree_size(partial) for partial in gradient.values()) > MAX_WRITTEN_OUT:
        taken = {s.name for s in symbols_in(expr)} | set(wrt)
        _, names, originals = name_subexpressions(expr, taken, force=True)
        if names:
            folding = {node: name for name, node in originals.items()}
            lines = [f"∂/∂{n} = {print_expression(substitute(p, folding))}"
                     for n, p in gradient.items()]  # fmt: skip
            lines.append("where")
            lines.extend(f"  {name} = {print_expression(e)}" for name, e in names)
            return "\n".join(lines)
    return "\n".join(f"∂/∂{n} = {print_expression(tidy(p))}" for n, p in gradient.items())


# ---- JSON -----------------------------------------------------------------------------


def _step_json(step: Step) -> dict[str, Any]:
    power = step.rule == "power" or (step.outer is not None and step.outer.rule == "power")
    entry: dict[str, Any] = {
        "rule": step.rule,
        "expression": print_expression(step.expr),
        "variable": step.variable.name,
        "local": [print_expression(local, power) for local in step.local],
        "result": print_expression(step.result, step.rule == "power"),
    }
    if step.rewrite is not None:
        entry["rewrite"] = print_expression(step.rewrite, power_form=True)
    if step.outer is not None:
        outer = step.outer
        entry["outer"] = {
            "rule": outer.rule,
            "placeholders": [u.name for u in outer.placeholders],
            "expression": print_expression(outer.expr, outer.rule == "power"),
            "derivatives": [print_expression(d, outer.rule == "power") for d in outer.derivatives],
        }
    entry["terms"] = [{"argument": print_expression(term.argument),
                       "local": print_expression(term.local, power),
                       "step": _step_json(term.step)} for term in step.terms]  # fmt: skip
    return entry


def _closed_json(found: ClosedForm | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {
        "expression": print_expression(found.expr),
        "verified": found.verified,
        "recognised": [{"expression": print_expression(written), "as": print_expression(call)}
                       for written, call in found.recognised],
    }  # fmt: skip


def _number(value: float | None) -> float | None:
    return None if value is None or value != value or abs(value) == float("inf") else value


def _variable_json(derivation: Derivation, relay: Relay | None) -> dict[str, Any]:
    factors = [{"of": f.of.name, "by": f.by.name, "expression": print_expression(f.expr),
                "value": None if relay is None else _number(relay.factors[(f.of, f.by)]),
                "steps": _step_json(f.steps), "closed_form": _closed_json(f.closed_form)}
               for f in derivation.factors]  # fmt: skip
    paths = None if derivation.paths is None else [list(path) for path in derivation.paths]
    product = None if derivation.product is None else print_expression(derivation.product)
    return {"derivative": print_expression(derivation.result), "paths": paths,
            "product": product, "factors": factors}  # fmt: skip


def _where_json(derivations: Mapping[str, Derivation]) -> dict[str, str]:
    """The names the derivatives use, and those their definitions use, in order: as a
    case's `where` states them, so that a derivative with this `where` is a claim."""
    first = next(iter(derivations.values()))
    pairs = [*first.names, (first.output, first.function)]
    needed = set().union(*(symbols_in(d.result) for d in derivations.values()))
    for name, definition in reversed(pairs):
        if name in needed:
            needed |= symbols_in(definition)
    return {name.name: print_expression(e) for name, e in pairs if name in needed}


def render_json(
    derivations: Mapping[str, Derivation],
    relay: Relay | None = None,
    source: Sequence[tuple[str, Any]] = (),
) -> str:
    """The derivation as data: every factor with its steps (rule, expression, local
    derivatives, result); `source` adds keys first (the case's file and name)."""
    first = next(iter(derivations.values()))
    document: dict[str, Any] = {"version": JSON_VERSION, **dict(source)}
    document["output"] = first.output.name
    document["function"] = print_expression(first.function)
    document["intermediates"] = [{"name": name.name, "expression": print_expression(expr)}
                                 for name, expr in first.names]  # fmt: skip
    if first.names:
        document["where"] = _where_json(derivations)
    document["point"] = None if relay is None else dict(relay.point)
    document["relay"] = None if relay is None else [
        {"node": n.name.name, "value": _number(n.value), "adjoint": _number(n.adjoint)}
        for n in relay.nodes
    ]  # fmt: skip
    document["variables"] = {name: _variable_json(d, relay) for name, d in derivations.items()}
    return json.dumps(document, indent=2, ensure_ascii=False)
