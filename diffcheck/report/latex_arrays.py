"""Report stage, LaTeX of array cases: names, shapes and the case's formulas in matrix notation.

`ArrayNotation(case)` knows every name of an array case (variables, intermediates,
dimensions, the cotangent, and δ names of the backward recursion), how many axes each has,
and how each prints: arrays bold (\\mathbf{W}_{1}, \\boldsymbol{\\delta}), scalars not, a
name of several letters upright, and no two names alike. `array_case_latex` writes an
array case for the handout: its function and intermediates, shapes, backpropagation's δ
recursion when its `where` chain is a network (`recursion_latex`), the derivatives in matrix
notation, the claims as written (factor order kept) and the verdict. The pieces of a δ row
(`step_lhs`, `shape_space`, `recursion_head`) are shared with `derive --format markdown`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from sympy.printing.conventions import split_super_sub

from ..arrays import syntax as s
from ..arrays.build import build_array_expression
from ..arrays.grammar import parse_array_syntax
from ..arrays.ir import Node
from ..cases.array_model import ArrayCase, size_combinations
from ..explain.backprop import DeltaChain, DeltaStep
from ..explain.matrix import MatrixDerivative, build_case
from ..symbolic.rules import RULES
from .latex import escape_text
from .latex_layout import Chunk, align_rows
from .latex_matrix import MatrixPrinter
from .latex_names import latex_symbol_name, verbatim_name

__all__ = [
    "DELTA",
    "ArrayNotation",
    "array_case_latex",
    "chain_notation",
    "matrix_symbol",
    "recursion_head",
    "recursion_latex",
    "shape_space",
    "shows_recursion",
    "step_lhs",
    "step_symbol",
    "whole_derivative",
]

_RESERVED = (r"\mathbf{1}", r"\mathbf{0}", r"\mathbf{I}")  # ones, zeros, eye
DELTA = "δ_"  # the backward recursion's names: δ_Z2 is the adjoint of Z2


def _bold(tex: str) -> str:
    if tex.startswith(r"\mathrm{"):
        return r"\mathbf{" + tex[len(r"\mathrm{") :]
    if re.fullmatch(r"[A-Za-z0-9]+", tex):
        return rf"\mathbf{{{tex}}}"
    return rf"\boldsymbol{{{tex}}}"


def matrix_symbol(name: str, array: bool) -> str:
    r"""A name in matrix notation: arrays bold, subscripts natural.

    >>> matrix_symbol("W1", True), matrix_symbol("delta2", True), matrix_symbol("h_10", False)
    ('\\mathbf{W}_{1}', '\\boldsymbol{\\delta}_{2}', 'h_{10}')
    >>> matrix_symbol("xhat", True), matrix_symbol("loss", False)
    ('\\boldsymbol{\\hat{x}}', '\\mathrm{loss}')
    """
    full = latex_symbol_name(name)
    if not array:
        return full
    main = split_super_sub(name)[0]
    head = latex_symbol_name(main) if main else ""
    if not head or not full.startswith(head):
        return _bold(full)
    return _bold(head) + full[len(head) :]


def _calls(tree: s.Syntax) -> Iterable[str]:
    if isinstance(tree, s.Call):
        yield tree.function
    for value in vars(tree).values():
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, s.Syntax):
                yield from _calls(item)


class ArrayNotation:
    """Names, shapes and the printer of one array case (at its first sizes).

    Args:
        case: the array case.
        texts: further expressions that will be printed (derived forms), whose
            function names must not print like a name.
        extra: further names and their shapes (the δ names of a backward recursion).
    """

    def __init__(self, case: ArrayCase, texts: Sequence[str] = (),
                 extra: Mapping[str, tuple[int, ...]] | None = None):  # fmt: skip
        sizes = next(size_combinations(case.dims), {})
        build = build_case(case, sizes)
        self.intermediates: dict[str, Node] = dict(build.intermediates)
        self.shapes = {name: tuple(shape) for name, shape in build.shapes.items()}
        self.shapes.update(extra or {})
        self.scalars = tuple(case.scalars)
        self.dims = dict(sizes)
        self.output = "L" if build.function.shape == () else "f"
        self._trees: dict[str, s.Syntax] = {}
        self._ndims: dict[int, int] = {}
        written = [case.function.text, *(t.text for _, t in case.where), *texts]
        written += [t.text for claims in case.claims.values() for t in claims.values()]
        heads = {RULES[f].latex for text in written for f in _calls(self.tree(text)) if f in RULES}
        self.names = self._names(heads)
        self.printer = MatrixPrinter(self.symbol, self.ndim)

    def tree(self, text: str) -> s.Syntax:
        if text not in self._trees:
            self._trees[text] = parse_array_syntax(text)
        return self._trees[text]

    def axes(self, name: str) -> int:
        if name in self.intermediates:
            return len(self.intermediates[name].shape)
        return len(self.shapes.get(name, ()))

    def _names(self, heads: set[str]) -> dict[str, str]:
        names = [*self.shapes, *self.intermediates, *self.scalars, *self.dims, self.output]
        natural = {name: matrix_symbol(name, self.axes(name) > 0) for name in dict.fromkeys(names)}
        for name in natural:
            if name.startswith(DELTA) and name[len(DELTA) :] in natural:
                of = latex_symbol_name(name[len(DELTA) :])
                natural[name] = rf"\boldsymbol{{\delta}}_{{{of}}}"
        taken: dict[str, int] = {}
        for text in natural.values():
            taken[text] = taken.get(text, 0) + 1
        found = {}
        for name, text in natural.items():
            plain = latex_symbol_name(name)
            if taken[text] > 1 or text in _RESERVED or plain in heads:
                text = verbatim_name(name)
                text = _bold(text) if self.axes(name) > 0 else text
            found[name] = text
        return found

    def symbol(self, name: str) -> str:
        if name in self.names:
            return self.names[name]
        if name == "pi":
            return r"\pi"
        return "e" if name == "E" else matrix_symbol(name, False)

    def ndim(self, tree: s.Syntax) -> int:
        """How many axes the subexpression has, from the builder itself."""
        key = id(tree)
        if key not in self._ndims:
            self._ndims[key] = self._build_ndim(tree)
        return self._ndims[key]

    def _build_ndim(self, tree: s.Syntax) -> int:
        if isinstance(tree, s.Name) and tree.name in self.names:
            return self.axes(tree.name)
        arrays = {name: shape for name, shape in self.shapes.items() if shape}
        try:
            node = build_array_expression(
                tree, shapes=arrays, scalars=self.scalars, dims=self.dims,
                intermediates=self.intermediates,
            )  # fmt: skip
            return len(node.shape)
        except Exception:  # noqa: BLE001 - any failure: the widest part decides
            parts = [v for v in vars(tree).values() if isinstance(v, s.Syntax)]
            parts += [i for v in vars(tree).values() if isinstance(v, tuple) for i in v
                      if isinstance(i, s.Syntax) and not isinstance(i, s.Keyword)]  # fmt: skip
            return max((self.ndim(part) for part in parts), default=0)

    def chunks(self, text: str) -> list[Chunk]:
        return self.printer.chunks(self.tree(text))

    def tex(self, text: str) -> str:
        return self.printer.tex(self.tree(text))

    def output_symbol(self) -> str:
        return "L" if self.output == "L" else r"\mathbf{f}"


def whole_derivative(notation: ArrayNotation, name: str, kind: str) -> str:
    """∂L/∂W for a gradient, the Jacobian ∂f/∂z, or vjp_x(g) for a cotangent."""
    of = notation.output_symbol()
    by = notation.symbol(name)
    if kind == "vjp":
        return rf"\operatorname{{vjp}}_{{{by}}}"
    return rf"\frac{{\partial {of}}}{{\partial {by}}}"


# ---- the δ recursion: the pieces of a row, shared with `derive --format markdown` ---------


def chain_notation(
    case: ArrayCase, texts: Sequence[str], chain: DeltaChain | None
) -> ArrayNotation:
    """The case's notation for `texts` and, with a δ recursion, its steps: the δ name of
    every intermediate, with the intermediate's shape."""
    if chain is None:
        return ArrayNotation(case, texts)
    steps = [step.text for step in chain.steps if step.text is not None]
    extra = {DELTA + name: node.shape for name, node in chain.build.intermediates}
    return ArrayNotation(case, [*texts, *steps], extra)


def shows_recursion(chain: DeltaChain | None) -> bool:
    """Whether the recursion passes a δ through an intermediate: without one (no `where`,
    or none on the way to a variable) its steps are only the derivatives again."""
    return chain is not None and any(not step.variable for step in chain.steps)


def step_symbol(n: ArrayNotation, output: str, step: DeltaStep) -> str:
    """A step's name: ∂L/∂W (vjp_W for an array function) for a variable, else δ_u."""
    if step.variable:
        return whole_derivative(n, step.target, "gradient" if output == "L" else "vjp")
    return n.symbol(step.label)


def step_lhs(n: ArrayNotation, output: str, step: DeltaStep) -> str:
    """A step's left side: δ_u = ∂L/∂u where the function alone uses u."""
    lhs = step_symbol(n, output, step)
    if step.direct and not step.variable and output == "L":
        lhs += rf" = \frac{{\partial L}}{{\partial {n.symbol(step.target)}}}"
    return lhs


def shape_space(n: ArrayNotation, shape: str) -> str:
    """A step's shape as a space: [m, k] -> \\mathbb{R}^{m \\times k}; [] -> \\mathbb{R}."""
    sizes = [size for size in shape.strip("[]").split(", ") if size]
    if not sizes:
        return r"\mathbb{R}"
    return r"\mathbb{R}^{" + r" \times ".join(n.tex(size) for size in sizes) + "}"


def recursion_head(output: str, cotangent: str, title: str = "Backpropagation") -> str:
    """What a δ means, after `title`; `cotangent` (an array function's) as it is to print."""
    if output == "L":
        return rf"{title}, from $L$ back: $\boldsymbol{{\delta}}_u = \partial L / \partial u$"
    return (rf"{title}, from $\mathbf{{f}}$ back: $\boldsymbol{{\delta}}_u$ = the VJP for $u$ "
            f"with cotangent {cotangent}")  # fmt: skip


def _step_rows(n: ArrayNotation, output: str, step: DeltaStep) -> list[str]:
    body = n.chunks(step.text) if step.text is not None else [Chunk("", r"\text{no matrix form}")]
    chunks = [*body, Chunk(r"\in", shape_space(n, step.shape))]
    reason = rf"\text{{{escape_text('; '.join(step.rules))}}}" if step.rules else ""
    return align_rows(step_lhs(n, output, step), [(chunks, reason)])


def recursion_latex(n: ArrayNotation, chain: DeltaChain, cotangent: str) -> list[str]:
    """The δ recursion under its heading as one `align*`, a row a step: its expression and
    shape, its rules at the right margin; a step without matrix form says so, and why."""
    rows, notes = [], []
    for step in chain.steps:
        rows += _step_rows(n, chain.output, step)
        if step.text is None:
            why = escape_text(step.problem or "no matrix form")
            notes.append(f"Note: ${step_symbol(n, chain.output, step)}$: {why}.\\par")
    head = recursion_head(chain.output, f"${n.symbol(cotangent)}$", r"\textbf{Backpropagation}")
    # no \par before the display: the heading never ends a page without its rows
    block = "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"
    return [rf"\par\smallskip {head}:" + "\n" + block, *notes]


def _shape(notation: ArrayNotation, sizes: Sequence[object]) -> str:
    texts = [notation.symbol(str(size)) if isinstance(size, str) else str(size) for size in sizes]
    return r" \times ".join(texts)


def _function_block(case: ArrayCase, n: ArrayNotation) -> str:
    rows = align_rows(n.output_symbol(), [(n.chunks(case.function.text), "")])
    for name, text in case.where:
        rows += align_rows(n.symbol(name), [(n.chunks(text.text), r"\text{where}")])
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"


def _shapes_line(case: ArrayCase, n: ArrayNotation) -> str:
    items = [f"${n.symbol(name)} \\in \\mathbb{{R}}^{{{_shape(n, shape)}}}$"
             for name, shape in case.declared.items()]  # fmt: skip
    items += [f"${n.symbol(name)} \\in \\mathbb{{R}}$" for name in case.scalars]
    return ("Shapes: " + ", ".join(items) + r".\par") if items else ""


Rows = tuple[list[str], list[str]]


def _derivative_rows(case: ArrayCase, n: ArrayNotation,
                     derivatives: Mapping[str, MatrixDerivative]) -> Rows:  # fmt: skip
    rows, notes = [], []
    for name, derivative in derivatives.items():
        lhs = whole_derivative(n, name, derivative.kind)
        if derivative.text is None:
            notes.append(f"${lhs}$: {escape_text(derivative.problem or 'no matrix form')}.")
            continue
        rows += align_rows(lhs, [(n.chunks(derivative.text), r"\text{derived}")])
        notes += [escape_text(note) + "." for note in derivative.notes
                  if escape_text(note) + "." not in notes]  # fmt: skip
    for kind, name in case.claimed:
        lhs = whole_derivative(n, name, "vjp" if kind == "vjp" else "gradient")
        rows += align_rows(lhs, [(n.chunks(case.claims[kind][name].text), r"\text{claimed}")])
    return rows, notes


def array_case_latex(
    case: ArrayCase,
    derivatives: Mapping[str, MatrixDerivative] | None,
    texts: Sequence[str] = (),
    chain: DeltaChain | None = None,
) -> list[str]:
    """The function and intermediates, the shapes, the δ recursion (`chain`, if it passes
    through an intermediate), each derivative in matrix notation and each claim as
    written, in `align*` blocks that break long formulas."""
    derived = derivatives or {}
    shown = [d.text for d in derived.values() if d.text is not None]
    recursion = chain if shows_recursion(chain) else None
    n = chain_notation(case, [*shown, *texts], recursion)
    parts = [_function_block(case, n)]
    line = _shapes_line(case, n)
    if line:
        parts.append(line)
    if recursion is not None:
        parts += recursion_latex(n, recursion, case.cotangent)
    rows, notes = _derivative_rows(case, n, derived)
    if rows:
        parts.append("\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}")
    parts += [f"Note: {note}\\par" for note in notes]
    return parts
