"""A case's `where` written out only where it must be: `Resolution`.

A `where` chain names each intermediate and writes its definition with earlier names.
Written out, SymPy spreads a number over a sum (0.5*(a + b) is 0.5*a + 0.5*b), so a chain
of n intermediates that each scale the one before holds n² nodes: 4 s to build at
n = 400, where the definitions as written hold 5 nodes each. Reading a case, drawing its
graph and deriving it through its names need the definitions only; the checker, which
derives the written-out function, writes it out. Main class: `Resolution`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import sympy as sp

from ..limits import deep_recursion
from .trees import more_nodes_than, substitute, symbols_in

__all__ = ["Resolution"]


class Resolution(Mapping[sp.Symbol, sp.Expr]):
    """Named definitions (a case's `where`), each written with earlier names, as the
    mapping name -> what the name stands for written out, built on first use (with the
    names it uses, no others) and kept. `symbols` and `larger_than` answer from the
    definitions as written, writing out no more than they must.

    Args:
        definitions: (name, definition) pairs in order; a definition's names that are
            not defined before it (an error its reader reports) stay symbols.
        known: names already written out (the originals of named sub-expressions).
    """

    def __init__(
        self,
        definitions: Iterable[tuple[sp.Symbol, sp.Expr]],
        known: Mapping[sp.Symbol, sp.Expr] | None = None,
    ):
        self.definitions = dict(definitions)
        self._known = dict(known or {})
        self._uses: dict[sp.Symbol, tuple[sp.Symbol, ...]] = {}  # earlier names used
        self._symbols: dict[sp.Symbol, frozenset[sp.Symbol]] = {}
        self._larger: dict[tuple[sp.Basic, int], bool] = {}
        self._listed = tuple(self.definitions)  # the order of iteration
        order = {name: i for i, name in enumerate(self.definitions)}
        for name, definition in self.definitions.items():
            used = (s for s in symbols_in(definition) if order.get(s, order[name]) < order[name])
            self._uses[name] = tuple(sorted(used, key=order.__getitem__))

    def __getitem__(self, name: sp.Basic) -> sp.Expr:
        if name not in self.definitions:
            raise KeyError(name)
        if name not in self._known:
            with deep_recursion():  # as when reading wrote them out: SymPy recurses per level
                for needed in self._needed([name]):
                    uses = {used: self._known[used] for used in self._uses[needed]}
                    self._known[needed] = substitute(self.definitions[needed], uses)
        return self._known[name]

    def __contains__(self, name: object) -> bool:
        return name in self.definitions  # Mapping's own would write the name out

    def __iter__(self) -> Iterator[sp.Symbol]:
        return iter(self._listed)

    def __len__(self) -> int:
        return len(self.definitions)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Resolution):  # the same definitions stand for the same
            return self.definitions == other.definitions
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]  # a mapping, as dict

    def __repr__(self) -> str:
        return f"Resolution({list(self.definitions.items())!r})"

    def _needed(self, names: Iterable[sp.Basic], known: bool = False) -> list[sp.Symbol]:
        """The names that `names` are built from, and themselves, in definition order;
        those written out already only when `known`."""
        found: set[sp.Symbol] = set()
        stack = [name for name in names if name in self.definitions]
        while stack:
            name = stack.pop()
            if name not in found and (known or name not in self._known):
                found.add(name)
                stack.extend(self._uses[name])
        return [name for name in self.definitions if name in found]

    def resolve(self, expr: sp.Basic) -> sp.Basic:
        """`expr` with every name written out."""
        return substitute(expr, self)

    def symbols(self, expr: sp.Basic) -> set[sp.Symbol]:
        """The symbols of `expr` written out, as the definitions tell: a name's are those
        its definition's names stand for (a symbol that SymPy would cancel across
        definitions, y in u - y with u = x + y, is kept: it is written in the case)."""
        names = [s for s in symbols_in(expr) if s in self.definitions]
        for name in self._needed(names, known=True):
            if name not in self._symbols:
                mine = symbols_in(self.definitions[name]) - set(self._uses[name])
                self._symbols[name] = frozenset(mine.union(*map(self._symbols.get,
                                                                self._uses[name])))  # fmt: skip
        return {s for s in symbols_in(expr) if s not in self.definitions}.union(
            *(self._symbols[name] for name in names)
        )

    def larger_than(self, expr: sp.Basic, limit: int) -> bool:
        """Whether `expr` written out, or a name it is built from written out, has more
        than `limit` distinct sub-expressions (`more_nodes_than`).

        The names are written out in order up to the first that is too large: a long
        chain costs its first `limit` nodes or so, not the n² of the whole.
        """
        key = (expr, limit)
        if key not in self._larger:
            names = self._needed([s for s in symbols_in(expr) if s in self], known=True)
            self._larger[key] = any(more_nodes_than(self[name], limit) for name in names) or (
                more_nodes_than(self.resolve(expr), limit))  # fmt: skip
        return self._larger[key]

    def extended(
        self, name: sp.Symbol, definition: sp.Expr, resolved: sp.Expr | None = None
    ) -> Resolution:
        """These definitions and one more defined after them (a function's output), with
        what is written out so far and, if known, `resolved` for the new one.

        The new name is listed first, so that a name defined as the output (f = u3)
        stands for it where a derivative is written with the names (`fold_intermediates`:
        the last listed of two that stand for the same wins).
        """
        known = {**self._known, **({name: resolved} if resolved is not None else {})}
        extended = Resolution([*self.definitions.items(), (name, definition)], known)
        extended._listed = (name, *self._listed)  # iteration only: it is defined last
        return extended
