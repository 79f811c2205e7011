"""CPU-time limits on template renders, so that no spec can make `validate` run forever.

The sandbox bounds what a template may reach and allocate, not how long it loops: two nested
`{% for %}` over `range(100000)` would spin for hours. While armed, a CPU-time timer ticks a few
times a second; if the same render is still running after `limit` seconds of CPU, the tick
raises TemplateTimeout inside it. A second limit bounds all the renders of one spec together:
a loop that stays under the first limit, in a template rendered for each of 1,000,000 tasks,
would otherwise run for weeks. Renders pay only a counter increment: no clock is read per
render. The timer is process CPU time (SIGVTALRM), which pytest-timeout and others leave alone,
and it is only armed in the main thread, where signal handlers run.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

TICK_SECONDS = 0.25
RENDER_CPU_LIMIT = 5.0
"""Seconds of CPU time one render may use; a real template needs microseconds."""
SPEC_CPU_LIMIT = 300.0
"""Seconds of CPU time all the renders of one spec may use together; rendering the 1,000,000
tasks batchspec plans at most takes well under a minute."""


_HAS_CPU_TIMER = hasattr(signal, "setitimer") and hasattr(signal, "SIGVTALRM")


class TemplateTimeout(Exception):
    """A render used more CPU time than the watchdog allows."""


class RenderWatchdog:
    """Tracks the render in progress; `armed()` enforces the limit while a spec is planned."""

    def __init__(self, limit: float | None = None, spec_limit: float | None = None) -> None:
        self.limit = RENDER_CPU_LIMIT if limit is None else limit
        self.spec_limit = SPEC_CPU_LIMIT if spec_limit is None else spec_limit
        self.sequence = 0
        """Incremented when a render starts: an unchanged value across ticks is one render."""
        self.rendering = False
        self.exhausted = False
        """Set once the renders of the spec have used `spec_limit`: no render may start."""
        self._seen = -1
        self._ticks = 0
        self._spec_ticks = 0

    def _on_tick(self, signum: int, frame: FrameType | None) -> None:
        if not self.rendering:
            return
        # Ticks come every TICK_SECONDS of CPU; those that land in a render measure them all.
        self._spec_ticks += 1
        if self._spec_ticks * TICK_SECONDS >= self.spec_limit:
            self.exhausted = True
            raise TemplateTimeout(self.exhausted_message())
        if self.sequence != self._seen:
            self._seen, self._ticks = self.sequence, 0
            return
        self._ticks += 1
        if self._ticks * TICK_SECONDS >= self.limit:
            self._ticks = 0
            raise TemplateTimeout(f"the template ran for more than {self.limit:g} s of CPU time")

    def exhausted_message(self) -> str:
        """Why a render is refused once the spec's renders have used their limit."""
        return (
            f"the spec's templates ran for more than {self.spec_limit:g} s of CPU time in all; "
            "rendering stopped"
        )

    @contextmanager
    def armed(self) -> Iterator[None]:
        """Enforce the limit inside the block (a no-op outside the main thread, and where
        there is no CPU-time timer: Windows has no SIGVTALRM or setitimer)."""
        if threading.current_thread() is not threading.main_thread() or not _HAS_CPU_TIMER:
            yield
            return
        previous = signal.signal(signal.SIGVTALRM, self._on_tick)
        signal.setitimer(signal.ITIMER_VIRTUAL, TICK_SECONDS, TICK_SECONDS)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
            signal.signal(signal.SIGVTALRM, previous)
