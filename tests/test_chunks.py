"""Chunked work in two threads gives what one thread gives, bit for bit and in order."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from diffcheck.cases.loader import load_case_file
from diffcheck.oracles import chunks
from diffcheck.oracles.chunks import CHUNK, by_chunks, for_chunks
from diffcheck.run.check import Settings, check_case

POINTS = 3 * CHUNK + 123  # a short last chunk


@pytest.fixture
def threaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two worker threads from POINTS on, whatever the machine's load."""
    monkeypatch.setattr(chunks, "PARALLEL_POINTS", POINTS)
    monkeypatch.setattr(chunks, "_spare_core", lambda: True)


def _serial(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chunks, "PARALLEL_POINTS", 10**18)


def test_for_chunks_runs_in_two_threads_and_keeps_chunk_order(threaded: None) -> None:
    names: set[str] = set()

    def body(start: int, stop: int) -> tuple[int, int]:
        names.add(threading.current_thread().name)
        return start, stop

    spans = list(for_chunks(POINTS, body))
    assert spans == [(start, min(start + CHUNK, POINTS)) for start in range(0, POINTS, CHUNK)]
    assert threading.current_thread().name not in names  # the workers did the chunks


def test_for_chunks_keeps_the_callers_error_state_in_the_workers(threaded: None) -> None:
    def body(start: int, stop: int) -> str:
        return np.geterr()["divide"]

    with np.errstate(divide="raise"):
        assert set(for_chunks(POINTS, body)) == {"raise"}


def test_small_counts_stay_in_the_calling_thread(threaded: None) -> None:
    names = set(for_chunks(POINTS - 1, lambda start, stop: threading.current_thread().name))
    assert names == {threading.current_thread().name}


def test_by_chunks_in_threads_equals_one_pass(threaded: None) -> None:
    values = np.random.default_rng(1).normal(size=POINTS)
    (halved, signs) = by_chunks(lambda v: (v / 2, np.sign(v)), values)
    assert halved.tobytes() == (values / 2).tobytes()
    assert signs.tobytes() == np.sign(values).tobytes()


CASES = """\
cases:
  - name: sigmoid
    function: 1/(1 + exp(-x))
    gradient:
      x: sigmoid(x)*(1 - sigmoid(x))
    domain:
      x: [-30, 30]
  - name: wrong-with-kinks
    function: abs(x)*y + tanh(x*y)**2
    gradient:
      x: sign(x)*y + 2*tanh(x*y)*y
      y: abs(x) + 2*tanh(x*y)*(1 - tanh(x*y)**2)*x
    domain:
      x: [-3, 3]
      y: [-25, 25]
    expect: incorrect
  - name: cancellation
    function: log(1 + exp(x)) - x
    gradient:
      x: sigmoid(x) - 1
    domain:
      x: [-40, 40]
"""


def _same(left: Any, right: Any, where: str = "result") -> None:
    """Fail unless `left` and `right` are equal, arrays bit for bit (NaNs and signed zeros
    included)."""
    if isinstance(left, np.ndarray):
        assert isinstance(right, np.ndarray), where
        assert (left.dtype, left.shape) == (right.dtype, right.shape), where
        assert np.ascontiguousarray(left).tobytes() == np.ascontiguousarray(right).tobytes(), where
    elif dataclasses.is_dataclass(left) and not isinstance(left, type):
        for field in dataclasses.fields(left):
            _same(getattr(left, field.name), getattr(right, field.name), f"{where}.{field.name}")
    elif isinstance(left, Mapping):
        assert list(left) == list(right), where
        for key in left:
            _same(left[key], right[key], f"{where}[{key!r}]")
    elif isinstance(left, (tuple, list)):
        assert len(left) == len(right), where
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            _same(a, b, f"{where}[{index}]")
    else:
        assert left == right, where


@pytest.mark.parametrize("index", range(3))
def test_threaded_check_gives_the_serial_check_bit_for_bit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threaded: None, index: int
) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text(CASES, encoding="utf-8")
    case = load_case_file(path).cases[index]
    settings = Settings(samples=POINTS, timeout=None)
    in_threads = check_case(case, settings)
    _serial(monkeypatch)
    alone = check_case(case, settings)
    assert alone.status == "pass", alone.message
    _same(in_threads.comparison, alone.comparison, "comparison")
    _same(in_threads.verdict, alone.verdict, "verdict")


def test_scalar_kernels_run_one_thread_at_a_time() -> None:
    # mpmath kernels may change their context's precision while they run: a second
    # thread must not enter the same context meanwhile
    from diffcheck.symbolic import kernels

    kernel = kernels.float_kernel(lambda value: float(kernels._SCALAR_LOOPS.locked()))
    assert kernel(np.array([1.0, 2.0])).tolist() == [1.0, 1.0]


def test_reverse_mode_compiles_its_templates_before_the_chunks_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from diffcheck.oracles import reverse
    from diffcheck.oracles.problem import Problem
    from diffcheck.symbolic.parse import parse_expression

    mode = reverse.ReverseMode()
    compiled: list[int] = []

    def recording(count: int, body: Any) -> Any:
        compiled.append(len(mode._templates._programs))
        return for_chunks(count, body)

    monkeypatch.setattr(reverse, "for_chunks", recording)
    problem = Problem.derive(parse_expression("sigmoid(x)*tanh(x)**3"), ("x",), ("x",))
    mode.gradient(problem, np.linspace(-2, 2, 10)[np.newaxis])
    assert compiled == [3]  # sigmoid, tanh and the power: none left for the threads
