"""Run stage, a case alone in a process of its own: after a worker process died.

When one case kills the process checking it (a segmentation fault in compiled code it
calls, the system's out-of-memory killer), the pool of worker processes breaks and every
case it held fails with it. Those cases are checked again here, each in a process of its
own, so that only the one that died is an error, and it says how it died.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

from ..cases.loader import Case
from ..errors import DiffcheckError
from .check import CaseResult

__all__ = ["check_alone", "died"]


Answer = tuple[bytes | None, float]  # a worker's (pickled result or None, seconds)


def check_alone(context: Any, check: Callable[..., Answer], case: Case,
                arguments: tuple[Any, ...]) -> Answer | CaseResult:  # fmt: skip
    """`check(*arguments)` in a fresh process of `context`: its (payload, seconds), or the
    error result of `case` if the process died before it answered."""
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_answer, args=(sender, check, arguments), daemon=True)
    process.start()
    sender.close()
    try:
        answer = receiver.recv()
    except EOFError:  # the process died without a word
        process.join()
        return died(case, process.exitcode)
    finally:
        receiver.close()
    process.join()
    return answer


def _answer(sender: Any, check: Callable[..., Any], arguments: tuple[Any, ...]) -> None:
    sender.send(check(*arguments))
    sender.close()


def died(case: Case, exitcode: int | None) -> CaseResult:
    """The error result of a case whose process died with `exitcode` (None: unknown)."""
    message = f"internal error: the process checking this case {_how(exitcode)}"
    failure = DiffcheckError(message, case.location)
    return CaseResult(
        case.file, case.name, case.location, "error", case.expect, case=case,
        errors=(failure,), error_kind="crash",  # its traceback died with it
    )  # fmt: skip


def _how(exitcode: int | None) -> str:
    if exitcode is None or exitcode >= 0:
        return f"stopped abruptly (exit status {exitcode}): the case's code may exit the process"
    try:
        name = signal.Signals(-exitcode).name
    except ValueError:
        name = f"signal {-exitcode}"
    if name == "SIGKILL":
        return ("was killed (SIGKILL), most likely by the system for lack of memory; "
                "--jobs 1 checks it in the main process")  # fmt: skip
    if name in ("SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT"):
        return (f"crashed ({name}), most likely in compiled code the case calls (a C "
                "extension, a framework)")  # fmt: skip
    return f"was stopped by {name}"
