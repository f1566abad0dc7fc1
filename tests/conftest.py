"""Shared test configuration: the Hypothesis profiles and the --update-golden option.

CI runs the deterministic "ci" profile, which is also the default; HYPOTHESIS_PROFILE=dev
draws fresh examples (and keeps a local example database) when hunting for bugs.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=300)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Rewrite the files under tests/golden/ from the current output (never in CI).",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop diffcheck's time-limit alarm before pytest's last garbage collection.

    Known open bug: a proof-budget limit can still be on the stack when the tests have
    finished (seen in about one run in three of tests/test_matrix_derive.py), and its
    alarm then fires inside pytest's own teardown. Stopping it here keeps that from
    killing the test process; the limit itself is reported so that it is not hidden.
    """
    import signal

    from diffcheck import limits

    if limits._active:
        left = ", ".join(limit.message for limit in limits._active)
        print(f"\nwarning: time limits still active after the tests: {left}")
        limits._active.clear()
        if hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0)
