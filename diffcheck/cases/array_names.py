"""The names of an array case: which are variables, what `wrt` and each claim may name.

As for scalar cases, the variables are the names the function and its intermediates use
(besides the declared arrays); a claim may use those, the intermediates, the dimensions
and constants, and a vjp claim the cotangent too. A name that only a claim uses is a
mistake (a typo, most likely), reported where it stands, never made a variable that
some point has no value for.
"""

from __future__ import annotations

import yaml

from ..arrays.build import CONSTANTS
from ..arrays.calls import FUNCTIONS, TABLE
from ..arrays.syntax import NEWAXIS
from ..errors import CaseFileError
from ..symbolic.parse import suggest
from .array_cotangent import name_nodes, names_in
from .array_instances import find_key, find_value
from .array_model import CLAIM_KINDS

__all__ = ["KEYWORD_NAMES", "RESERVED", "NameChecks"]

RESERVED = frozenset({*FUNCTIONS, *TABLE, *CONSTANTS, NEWAXIS, "true", "false"})
KEYWORD_NAMES = frozenset({NEWAXIS, "true", "false"})


class NameChecks:
    """The name-checking half of the array case builder (a mixin: it reads `node`,
    `fail`, `reader` and `locate_key` of the builder it is part of)."""

    def scalar_names(self, trees: dict, declared: dict, dims: dict, where: dict,
                     cotangent: str) -> set[str]:  # fmt: skip
        """The scalar variables: names the function and intermediates use that nothing
        else defines (a claim's names are checked by `check_claim_scope`)."""
        known = {*declared, *dims, *where, *RESERVED, cotangent}
        names = {
            node.name
            for (kind, _), tree in trees.items()
            if kind not in CLAIM_KINDS
            for node in name_nodes(tree)
        }
        return {n for n in names - known if n not in KEYWORD_NAMES}

    def check_claim_scope(self, trees: dict, variables: tuple, dims: dict, where: dict,
                          cotangent: str) -> bool:  # fmt: skip
        """Whether every name of every claim is one it may use; an error at each that
        is not (once per claim, at its first place), as for scalar cases."""
        scope = {*variables, *where}
        allowed = {*scope, *dims, *RESERVED, *KEYWORD_NAMES}
        fine = True
        for (kind, name), tree in trees.items():
            if kind not in CLAIM_KINDS:
                continue
            vjp = kind == "vjp"
            seen: set[str] = set()
            for node in sorted(name_nodes(tree), key=lambda n: n.offset):
                if node.name in allowed or (vjp and node.name == cotangent) or node.name in seen:
                    continue
                seen.add(node.name)
                fine = False
                what = "a variable nor an intermediate"
                if vjp:
                    what = f"a variable, an intermediate nor the cotangent '{cotangent}'"
                candidates = {*scope, cotangent} if vjp else scope
                message = (f"'{node.name}' in the claim for {name} is neither {what}"
                           f"{suggest(node.name, candidates)}")  # fmt: skip
                at = self.locate_key((kind, name))(node.offset)
                self.reader.errors.append(CaseFileError(message, at))
        return fine

    def wrt(self, variables: tuple[str, ...]) -> tuple[str, ...]:
        node = self.node("wrt")
        if node is None:
            return variables
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        wrt = []
        for item in items:
            name = self.reader.name(item, "wrt")
            if name is not None and name not in variables:
                self.fail(f"wrt names '{name}', which is not a variable of the case"
                          f"{suggest(name, set(variables))}", item)  # fmt: skip
            elif name is not None:
                wrt.append(name)
        return tuple(dict.fromkeys(wrt))

    def check_claim_names(self, claims: dict, wrt: tuple, variables: tuple) -> None:
        claimed: dict[str, str] = {}
        for kind, texts in claims.items():
            for name in texts:
                key_node = find_key(self.node(kind), name)
                if name in claimed:
                    self.fail(f"'{name}' is claimed twice, as {claimed[name]} and as {kind}; "
                              "keep one", key_node)  # fmt: skip
                elif name not in wrt:
                    where = "the case's wrt" if name in variables else "a variable of the case"
                    self.fail(f"the {kind} claims '{name}', which is not {where}"
                              f"{suggest(name, set(wrt))}", key_node)  # fmt: skip
                claimed[name] = kind

    def check_where_names(self, trees: dict, declared: dict, dims: dict) -> bool:
        """Whether every intermediate has a name of its own and uses only those defined
        before it; an error for each that does not (as for scalar cases), where a build
        would silently read a variable for it, or report an unknown name."""
        order = [name for kind, name in trees if kind == "where"]
        fine = True
        for position, name in enumerate(order):
            used = set(names_in(trees[("where", name)]))
            value_node = find_value(self.node("where"), name)
            problems = [(message, value_node) for message in _order_problems(
                name, used, order[position + 1 :])]  # fmt: skip
            if name not in used and (name in declared or name in dims):
                what = "an array variable" if name in declared else "a dimension"
                problems.append((f"'{name}' is both {what} and an intermediate; give the "
                                 "intermediate another name",
                                 find_key(self.node("where"), name)))  # fmt: skip
            for message, node in problems:
                self.fail(message, node)
            fine = fine and not problems
        return fine


def _order_problems(name: str, used: set[str], later: list[str]) -> list[str]:
    """As for scalar cases: an intermediate may use only those defined before it."""
    problems = [f"intermediate '{name}' is defined in terms of itself"] if name in used else []
    return problems + [
        f"intermediate '{name}' uses '{other}', which is defined later; intermediates are "
        "defined in order"
        for other in sorted(used.intersection(later))
    ]
