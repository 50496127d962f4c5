"""How long jobs report progress, without depending on who draws it."""

from __future__ import annotations

from typing import Protocol


class ProgressSink(Protocol):
    """Where long jobs report progress: ``start`` once with the number of steps, then one call
    per step. The CLI draws a bar on a terminal; library callers may pass nothing."""

    def start(self, total: int, desc: str) -> None: ...

    def __call__(self, advance: int = 1) -> None: ...


Progress = ProgressSink | None
