"""The examples in the package's docstrings run and print what they say: an example
that has drifted from the code misleads whoever reads it."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import diffcheck

MODULES = sorted(info.name for info in pkgutil.walk_packages(diffcheck.__path__, "diffcheck."))


def test_every_module_is_found() -> None:
    assert "diffcheck.symbolic.printing" in MODULES and "diffcheck.report.latex_arrays" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    module = importlib.import_module(name)
    failed, _ = doctest.testmod(module, verbose=False, report=True)
    assert failed == 0, f"{failed} docstring example(s) of {name} fail (see the output above)"
