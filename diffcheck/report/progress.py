"""A progress bar for long runs on a terminal: `[#####.....]  37/200 cases`.

Main class: `ProgressBar(stream)`; `update(done, total)` as cases finish, `close()` at
the end erases it. Nothing is drawn before `delay` seconds, so a quick run leaves no
trace; the caller decides whether the stream is a terminal at all (`wants_progress`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["ProgressBar", "wants_progress"]

DELAY = 0.5  # seconds: a run shorter than this is "a moment" and shows no bar
INTERVAL = 0.1  # seconds between redraws, so a fast run does not flood the terminal
WIDTH = 30


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def wants_progress(output_format: str, *streams: TextIO) -> bool:
    """A bar only for the text format and only when every stream is a terminal: never
    in piped or captured output, never beside JSON, JUnit or annotations."""
    return output_format == "text" and all(_is_terminal(stream) for stream in streams)


class ProgressBar:
    """Counts finished cases and redraws one line of `stream` with a carriage return."""

    def __init__(
        self,
        stream: TextIO,
        delay: float = DELAY,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.total = 0
        self.done = 0
        self.stream = stream
        self.clock = clock
        self.shown_at = clock() + delay  # the first draw, if the run lasts that long
        self.drawn = False

    def line(self) -> str:
        """
        >>> bar = ProgressBar(None, clock=lambda: 0.0)
        >>> bar.done, bar.total = 1, 4
        >>> bar.line()
        '[#######.......................]  1/4 cases'
        """
        filled = WIDTH * self.done // max(self.total, 1)
        count = f"{self.done:>{len(str(self.total))}}/{self.total}"
        return f"[{'#' * filled}{'.' * (WIDTH - filled)}]  {count} cases"

    def update(self, done: int, total: int) -> None:
        """`done` of `total` cases are finished; redraw if the run has lasted long enough."""
        self.done, self.total = done, total
        now = self.clock()
        if now >= self.shown_at and done < total:
            self.stream.write("\r" + self.line())
            self.stream.flush()
            self.drawn = True
            self.shown_at = now + INTERVAL

    def close(self) -> None:
        """Erase the bar, so that the report starts on a clean line."""
        if self.drawn:
            self.stream.write("\r" + " " * len(self.line()) + "\r")
            self.stream.flush()
            self.drawn = False
