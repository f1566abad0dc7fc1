"""Outside references: PyTorch's and JAX's autograd, checked against the math.

The case's function is translated from our own program (never from text) into the
framework's operations, differentiated by the framework's autograd in float64 at every
point, and compared with the reference like any oracle; where it returns NaN or loses
precision, the diagnosis names it. The frameworks are optional: `available` says whether
one is installed, and nothing imports them until they are used.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import numpy as np

from .problem import Estimate, Problem
from .program import Program, apply_rule

__all__ = ["FRAMEWORKS", "INSTALL", "KERNELS", "MISSING", "ExternalAutodiff", "apply_kernel",
           "available", "float64", "framework_namespace"]  # fmt: skip

ROUNDING_ULPS = 64.0  # a framework's float64 autograd is trusted to this many ulps
INSTALL = {
    "torch": "pip install 'diffcheck-grad[torch]'",
    "jax": "pip install 'diffcheck-grad[jax]'",
}


def _torch_gamma(f: Any, x: Any) -> Any:
    # PyTorch has no gamma: exp(lgamma) with Γ's sign, negative on (-1, 0), (-3, -2), ...
    sign = f.t.where((x > 0) | (f.t.floor(x) % 2 == 0), 1.0, -1.0)
    return sign * f.t.exp(f.t.lgamma(x))


def _order(n: Any) -> int:
    """A Bessel order: a whole number, passed as a constant tensor or array."""
    return int(np.asarray(n).reshape(-1)[0])


def _by_order(kernels: dict[int, Callable[..., Any]], name: str) -> Callable[..., Any]:
    """A Bessel function of the orders the framework has (i0 and i1: 0 and 1)."""

    def kernel(f: Any, n: Any, x: Any) -> Any:
        order = _order(n)
        if order not in kernels:
            raise NotImplementedError(
                f"{f.name} has {name} of order {', '.join(map(str, kernels))} only"
            )
        return kernels[order](f, x)

    return kernel


# rule name -> the framework's computation, f being the framework's namespace below;
# where(x > 0, ...) branches clamp the other branch so that its gradient is not inf * 0
_TORCH: dict[str, Callable[..., Any]] = {
    "exp": lambda f, x: f.t.exp(x), "log": lambda f, x: f.t.log(x),
    "sqrt": lambda f, x: f.t.sqrt(x), "abs": lambda f, x: f.t.abs(x),
    "sin": lambda f, x: f.t.sin(x), "cos": lambda f, x: f.t.cos(x),
    "tan": lambda f, x: f.t.tan(x), "asin": lambda f, x: f.t.asin(x),
    "acos": lambda f, x: f.t.acos(x), "atan": lambda f, x: f.t.atan(x),
    "atan2": lambda f, y, x: f.t.atan2(y, x), "sinh": lambda f, x: f.t.sinh(x),
    "cosh": lambda f, x: f.t.cosh(x), "tanh": lambda f, x: f.t.tanh(x),
    "asinh": lambda f, x: f.t.asinh(x), "acosh": lambda f, x: f.t.acosh(x),
    "atanh": lambda f, x: f.t.atanh(x), "erf": lambda f, x: f.t.special.erf(x),
    "erfc": lambda f, x: f.t.special.erfc(x), "erfinv": lambda f, x: f.t.special.erfinv(x),
    "gamma": _torch_gamma, "lgamma": lambda f, x: f.t.lgamma(x),
    "digamma": lambda f, x: f.t.digamma(x),
    "polygamma": lambda f, n, x: f.t.polygamma(int(n.reshape(-1)[0].item()), x),
    "log1p": lambda f, x: f.t.log1p(x), "expm1": lambda f, x: f.t.expm1(x),
    "sign": lambda f, x: f.t.sign(x),
    # torch.heaviside has no derivative: its derivative is 0, and 0 * x keeps x in the graph
    "heaviside": lambda f, x: f.t.where(x > 0, 1.0, f.t.where(x < 0, 0.0, 0.5)) + 0 * x,
    "max": lambda f, x, y: f.t.maximum(x, y), "min": lambda f, x, y: f.t.minimum(x, y),
    "sigmoid": lambda f, x: f.t.sigmoid(x), "softplus": lambda f, x: f.F.softplus(x),
    "relu": lambda f, x: f.t.relu(x),
    "leaky_relu": lambda f, x, a: f.t.where(x > 0, x, a * x),
    "elu": lambda f, x, a: f.t.where(x > 0, x, a * f.t.expm1(f.t.clamp(x, max=0))),
    "gelu": lambda f, x: f.F.gelu(x), "silu": lambda f, x: f.F.silu(x),
    "softsign": lambda f, x: f.F.softsign(x),
    "logsumexp": lambda f, *xs: f.t.logsumexp(f.t.stack(f.t.broadcast_tensors(*xs)), dim=0),
    "heaviside.h0": lambda f, x, h0: f.t.where(x > 0, 1.0, f.t.where(x < 0, 0.0, h0)) + 0 * x,
    "where": lambda f, d, a, b: f.t.where(d > 0, a, b),
    "floor": lambda f, x: f.t.floor(x), "ceil": lambda f, x: f.t.ceil(x),
    "round": lambda f, x: f.t.round(x), "trunc": lambda f, x: f.t.trunc(x),
    "mod": lambda f, a, b: f.t.remainder(a, b),
    "clip": lambda f, x, lo, hi: f.t.minimum(f.t.maximum(x, lo), hi),
    "besseli": _by_order({0: lambda f, x: f.t.special.i0(x),
                          1: lambda f, x: f.t.special.i1(x)}, "besseli"),
    "i0": lambda f, x: f.t.special.i0(x), "i1": lambda f, x: f.t.special.i1(x),
    "gammainc": lambda f, a, x: f.t.special.gammainc(a, x),
    "gammaincc": lambda f, a, x: f.t.special.gammaincc(a, x),
    "logaddexp": lambda f, a, b: f.t.logaddexp(a, b),
    "xlogy": lambda f, x, y: f.t.special.xlogy(x, y), "sinc": lambda f, x: f.t.sinc(x),
}  # fmt: skip

_JAX: dict[str, Callable[..., Any]] = {
    "exp": lambda f, x: f.np.exp(x), "log": lambda f, x: f.np.log(x),
    "sqrt": lambda f, x: f.np.sqrt(x), "abs": lambda f, x: f.np.abs(x),
    "sin": lambda f, x: f.np.sin(x), "cos": lambda f, x: f.np.cos(x),
    "tan": lambda f, x: f.np.tan(x), "asin": lambda f, x: f.np.arcsin(x),
    "acos": lambda f, x: f.np.arccos(x), "atan": lambda f, x: f.np.arctan(x),
    "atan2": lambda f, y, x: f.np.arctan2(y, x), "sinh": lambda f, x: f.np.sinh(x),
    "cosh": lambda f, x: f.np.cosh(x), "tanh": lambda f, x: f.np.tanh(x),
    "asinh": lambda f, x: f.np.arcsinh(x), "acosh": lambda f, x: f.np.arccosh(x),
    "atanh": lambda f, x: f.np.arctanh(x), "erf": lambda f, x: f.special.erf(x),
    "erfc": lambda f, x: f.special.erfc(x), "erfinv": lambda f, x: f.lax.erf_inv(x),
    "gamma": lambda f, x: f.special.gamma(x), "lgamma": lambda f, x: f.special.gammaln(x),
    "digamma": lambda f, x: f.special.digamma(x),
    "polygamma": lambda f, n, x: f.special.polygamma(f.np.asarray(n, dtype=int), x),
    "log1p": lambda f, x: f.np.log1p(x), "expm1": lambda f, x: f.np.expm1(x),
    "sign": lambda f, x: f.np.sign(x), "heaviside": lambda f, x: f.np.heaviside(x, 0.5),
    "max": lambda f, x, y: f.np.maximum(x, y), "min": lambda f, x, y: f.np.minimum(x, y),
    "sigmoid": lambda f, x: f.nn.sigmoid(x), "softplus": lambda f, x: f.nn.softplus(x),
    "relu": lambda f, x: f.nn.relu(x),
    "leaky_relu": lambda f, x, a: f.np.where(x > 0, x, a * x),
    "elu": lambda f, x, a: f.np.where(x > 0, x, a * f.np.expm1(f.np.minimum(x, 0))),
    "gelu": lambda f, x: f.nn.gelu(x, approximate=False), "silu": lambda f, x: f.nn.silu(x),
    "softsign": lambda f, x: f.nn.soft_sign(x),
    "logsumexp": lambda f, *xs: f.special.logsumexp(f.np.stack(f.np.broadcast_arrays(*xs)),
                                                    axis=0),
    "heaviside.h0": lambda f, x, h0: f.np.heaviside(x, h0),
    "where": lambda f, d, a, b: f.np.where(d > 0, a, b),
    "floor": lambda f, x: f.np.floor(x), "ceil": lambda f, x: f.np.ceil(x),
    "round": lambda f, x: f.np.round(x), "trunc": lambda f, x: f.np.trunc(x),
    "mod": lambda f, a, b: f.np.mod(a, b),
    "clip": lambda f, x, lo, hi: f.np.minimum(f.np.maximum(x, lo), hi),
    "besselj": lambda f, n, x: f.special.bessel_jn(x, v=_order(n))[_order(n)],
    "besseli": _by_order({0: lambda f, x: f.special.i0(x),
                          1: lambda f, x: f.special.i1(x)}, "besseli"),
    "i0": lambda f, x: f.special.i0(x), "i1": lambda f, x: f.special.i1(x),
    "gammainc": lambda f, a, x: f.special.gammainc(a, x),
    "gammaincc": lambda f, a, x: f.special.gammaincc(a, x),
    "betainc": lambda f, a, b, x: f.special.betainc(a, b, x),
    "logaddexp": lambda f, a, b: f.np.logaddexp(a, b),
    "xlogy": lambda f, x, y: f.special.xlogy(x, y), "sinc": lambda f, x: f.np.sinc(x),
}  # fmt: skip

# rules a framework has no differentiable counterpart for: a case using one gets no
# answer from it (torch.special.bessel_j0 and its kin exist, but have no derivative)
MISSING = {"torch": frozenset({"besselj", "besselk", "bessely", "betainc"}),
           "jax": frozenset({"besselk", "bessely"})}  # fmt: skip

# sec, csc, cot, their hyperbolic kin and inverses, logarithms to a base: neither
# framework has them; each is written with the framework's own entries of the table
# above, and its autograd differentiates that (sec' = sin/cos², not the table's sec·tan)
_COMPOSED: dict[str, tuple[str, Callable[..., Any]]] = {
    "sec": ("cos", lambda cos, x: 1 / cos(x)), "csc": ("sin", lambda sin, x: 1 / sin(x)),
    "cot": ("tan", lambda tan, x: 1 / tan(x)), "sech": ("cosh", lambda cosh, x: 1 / cosh(x)),
    "csch": ("sinh", lambda sinh, x: 1 / sinh(x)), "coth": ("tanh", lambda tanh, x: 1 / tanh(x)),
    "asec": ("acos", lambda acos, x: acos(1 / x)), "acsc": ("asin", lambda asin, x: asin(1 / x)),
    "acot": ("atan", lambda atan, x: atan(1 / x)),
    "log.base": ("log", lambda log, x, b: log(x) / log(b)),
    "log2": ("log", lambda log, x: log(x) / math.log(2)),
    "log10": ("log", lambda log, x: log(x) / math.log(10)),
}  # fmt: skip


def _composed(table: dict[str, Callable[..., Any]], inner: str, outer: Callable) -> Callable:
    return lambda f, *args: outer(lambda *xs: table[inner](f, *xs), *args)


for _table in (_TORCH, _JAX):
    _table.update({name: _composed(_table, inner, outer)
                   for name, (inner, outer) in _COMPOSED.items()})  # fmt: skip

KERNELS = {"torch": _TORCH, "jax": _JAX}
FRAMEWORKS = tuple(KERNELS)


def available(framework: str) -> bool:
    """Whether the framework is installed (without importing it)."""
    return importlib.util.find_spec(framework) is not None


def framework_namespace(framework: str) -> SimpleNamespace:
    """The framework's modules, imported on first use: `t`/`F` (torch) or `np`/`nn`/
    `special`/`lax`/`jax` (jax), and its `name`."""
    if framework == "torch":
        import torch  # noqa: PLC0415 - optional: imported only when asked for

        return SimpleNamespace(t=torch, F=torch.nn.functional, name="torch")
    import jax  # noqa: PLC0415
    import jax.numpy as jnp  # noqa: PLC0415
    import jax.scipy.special  # noqa: PLC0415

    return SimpleNamespace(np=jnp, nn=jax.nn, special=jax.scipy.special, lax=jax.lax,
                           jax=jax, name="jax")  # fmt: skip


def _run(program: Program, f: SimpleNamespace, inputs: list[Any], constant: Callable) -> Any:
    """The program's output with the framework's operations; `inputs` by variable row."""
    values: list[Any] = []
    for step in program.steps:
        if step.row is not None:
            values.append(inputs[step.row])
        elif step.rule is None:
            values.append(constant(step.value))
        else:
            args = [values[a] for a in step.args]
            values.append(apply_kernel(step.rule, args, f))
    return values[program.outputs[0]]


def apply_kernel(rule: Any, args: list[Any], f: SimpleNamespace) -> Any:
    """One rule of the table on the framework's tensors: `apply_rule`'s dispatch, with
    the framework's kernel for each table function.

    Raises:
        NotImplementedError: the framework has no differentiable counterpart.
    """
    kernels = KERNELS[f.name]

    def call(table_rule: Any, *xs: Any) -> Any:
        if table_rule.name not in kernels:
            raise NotImplementedError(f"{f.name} has no differentiable {table_rule.name}")
        return kernels[table_rule.name](f, *xs)

    return apply_rule(rule, args, lambda base, exponent: base**exponent, call)


@contextmanager
def float64(f: SimpleNamespace) -> Iterator[None]:
    """JAX computes in float32 unless told otherwise: float64 inside the block, and back
    as it was after; torch takes its dtype per tensor and needs nothing."""
    if f.name != "jax":
        yield
        return
    previous = f.jax.config.jax_enable_x64
    f.jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        f.jax.config.update("jax_enable_x64", previous)


class ExternalAutodiff:
    """A framework's autograd as an oracle: "torch" or "jax"."""

    def __init__(self, framework: str):
        if framework not in KERNELS:
            raise ValueError(f"unknown framework {framework!r}; known: {', '.join(FRAMEWORKS)}")
        self.name = framework
        self._f: SimpleNamespace | None = None

    def gradient(self, problem: Problem, points: np.ndarray) -> Estimate:
        if self._f is None:
            self._f = framework_namespace(self.name)
        compute = self._torch if self.name == "torch" else self._jax
        method = "autograd in float64"
        try:
            with np.errstate(all="ignore"):
                values = compute(problem, points)
        except Exception as error:  # the framework could not do it: a finding, not a crash
            values = {name: np.full(points.shape[1], np.nan) for name in problem.wrt}
            method = f"failed: {type(error).__name__}: {str(error).splitlines()[0]}"
        errors = {n: ROUNDING_ULPS * np.finfo(float).eps * np.abs(v) for n, v in values.items()}
        return Estimate(self.name, {n: method for n in problem.wrt}, values, errors)

    def _torch(self, problem: Problem, points: np.ndarray) -> dict[str, np.ndarray]:
        t = self._f.t
        rows = {problem.row(name) for name in problem.wrt}
        inputs = [t.tensor(points[row], dtype=t.float64, requires_grad=row in rows)
                  for row in range(points.shape[0])]  # fmt: skip
        output = _run(problem.function_program, self._f, inputs,
                      lambda value: t.tensor(value, dtype=t.float64))  # fmt: skip
        output = output * t.ones(points.shape[1], dtype=t.float64)  # a constant function too
        grads = t.autograd.grad(output.sum(), [inputs[problem.row(n)] for n in problem.wrt],
                                allow_unused=True)  # fmt: skip
        return {name: np.zeros(points.shape[1]) if grad is None else grad.detach().numpy()
                for name, grad in zip(problem.wrt, grads, strict=True)}  # fmt: skip

    def _jax(self, problem: Problem, points: np.ndarray) -> dict[str, np.ndarray]:
        jax, jnp = self._f.jax, self._f.np
        with float64(self._f):
            arrays = [jnp.asarray(row, dtype=jnp.float64) for row in points]

            def total(*inputs: Any) -> Any:
                output = _run(problem.function_program, self._f, list(inputs),
                              lambda value: jnp.asarray(value, dtype=jnp.float64))  # fmt: skip
                return jnp.sum(output * jnp.ones(points.shape[1]))

            argnums = tuple(problem.row(name) for name in problem.wrt)
            grads = jax.grad(total, argnums=argnums)(*arrays)
            return {name: np.asarray(grad, dtype=float)
                    for name, grad in zip(problem.wrt, grads, strict=True)}  # fmt: skip
