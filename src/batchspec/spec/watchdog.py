"""One CPU and memory budget for checking a spec file, so that no spec can make `validate` hang.

The sandbox bounds what a template may reach and allocate in one step, not how long it loops
(two nested `{% for %}` over `range(100000)` spin for hours) nor how much a long run of small
steps adds up to. While a spec is checked, a watchdog thread samples the process's CPU time
and resident memory a few times a second and stops the check when:

- one render has used RENDER_CPU_LIMIT seconds of CPU (that field fails; the others go on),
- the whole check (schema, rendering, factory expansion, dependency and id checks) has used
  SPEC_CPU_LIMIT seconds of CPU, or
- the process has grown by more than MEMORY_LIMIT bytes since the check began.

The thread stops the checking thread by raising an exception in it asynchronously
(`PyThreadState_SetAsyncExc`), which works on every platform CPython runs on and in any
thread, unlike a CPU-time signal (SIGVTALRM: POSIX only, main thread only). Where that call is
missing (another interpreter), the thread still raises the flags that `check()` reads at the
points where the checks loop. Renders pay only a counter increment: no clock is read per render.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from batchspec.spec.document import JsonPath

TICK_SECONDS = 0.1
RENDER_CPU_LIMIT = 5.0
"""Seconds of CPU time one render may use; a real template needs microseconds."""
SPEC_CPU_LIMIT = 45.0
"""Seconds of CPU time checking one spec file may use in all; checking the 1,000,000 tasks
batchspec plans at most takes about 35 s on a slow shared machine."""
MEMORY_LIMIT = 320 * 1024 * 1024
"""Bytes the process may grow by while one spec is checked; the 1,000,000-task plan needs
about 200 MB."""


class TemplateTimeout(BaseException):
    """A render used more CPU time than RENDER_CPU_LIMIT.

    A BaseException, like KeyboardInterrupt, so that the `except Exception` of template code
    or of a library cannot swallow it.
    """


class BudgetExceeded(BaseException):
    """Checking the spec used more CPU time or memory than its budget; `CpuBudget.reason` says."""


def _raiser() -> Callable[[int, type[BaseException] | None], bool] | None:
    """A function raising an exception in another thread, or None on interpreters without one."""
    api = getattr(ctypes, "pythonapi", None)
    set_async = getattr(api, "PyThreadState_SetAsyncExc", None)
    if set_async is None:
        return None
    set_async.argtypes = (ctypes.c_ulong, ctypes.py_object)
    set_async.restype = ctypes.c_int

    def raise_in(thread_id: int, exc: type[BaseException] | None) -> bool:
        # NULL clears an exception that was set and not yet raised.
        value = ctypes.py_object(exc) if exc is not None else ctypes.py_object()
        return bool(set_async(thread_id, value))

    return raise_in


_RAISE_IN = _raiser()


def _memory_reader() -> Callable[[], int]:
    """The process's resident set size in bytes: /proc where there is one (Linux), else psutil
    (Windows, macOS), which is not imported on Linux so that validate starts light."""
    statm = "/proc/self/statm"
    if os.path.exists(statm):
        page = os.sysconf("SC_PAGE_SIZE")

        def from_proc() -> int:
            with open(statm, "rb") as f:
                return int(f.read().split()[1]) * page

        return from_proc
    import psutil

    process = psutil.Process()
    return lambda: int(process.memory_info().rss)


class RenderWatchdog:
    """The budget of one spec file; `armed()` enforces it while the spec is checked."""

    def __init__(
        self,
        limit: float | None = None,
        spec_limit: float | None = None,
        memory_limit: int | None = None,
    ) -> None:
        self.limit = RENDER_CPU_LIMIT if limit is None else limit
        self.spec_limit = SPEC_CPU_LIMIT if spec_limit is None else spec_limit
        self.memory_limit = MEMORY_LIMIT if memory_limit is None else memory_limit
        self.sequence = 0
        """Incremented when a render starts: an unchanged value across ticks is one render."""
        self.rendering = False
        self.where: JsonPath = ()
        """What the check was working on, for the message when the budget runs out."""
        self.reason = ""
        """Why the budget ran out; empty while it has not."""
        self._lock = threading.Lock()
        self._target: int | None = None
        self._render_timed_out = -1

    @property
    def exhausted(self) -> bool:
        return bool(self.reason)

    def exhausted_message(self) -> str:
        """Why checking stopped, naming the limit."""
        return self.reason

    def check(self) -> None:
        """Raise at once if the budget ran out (for interpreters that cannot be interrupted)."""
        if self.reason:
            raise BudgetExceeded(self.reason)
        if self._render_timed_out == self.sequence and self.rendering:
            raise TemplateTimeout(self.render_message())

    def render_message(self) -> str:
        return f"the template ran for more than {self.limit:g} s of CPU time"

    def _fire(self, exc: type[BaseException]) -> None:
        with self._lock:
            if self._target is not None and _RAISE_IN is not None:
                _RAISE_IN(self._target, exc)

    def _watch(self, stop: threading.Event, memory: Callable[[], int]) -> None:
        start = last = time.process_time()
        base = memory()
        seen, render_cpu = -1, 0.0
        while not stop.wait(TICK_SECONDS):
            now = time.process_time()
            grown = memory() - base
            if now - start >= self.spec_limit:
                self.reason = (
                    f"checking the spec used more than {self.spec_limit:g} s of CPU time "
                    "(the limit for one spec file); checking stopped"
                )
            elif grown > self.memory_limit:
                self.reason = (
                    f"checking the spec needed more than {self.memory_limit // 2**20} MiB of "
                    "memory (the limit for one spec file); checking stopped"
                )
            if self.reason:
                self._fire(BudgetExceeded)
                return
            if self.rendering and self.sequence == seen:
                render_cpu += now - last
                if render_cpu >= self.limit:
                    self._render_timed_out = seen
                    self._fire(TemplateTimeout)
                    render_cpu = 0.0
            else:
                seen, render_cpu = self.sequence, 0.0
            last = now

    @contextmanager
    def armed(self) -> Iterator[None]:
        """Enforce the budget inside the block, in the thread that enters it."""
        stop = threading.Event()
        with self._lock:
            self._target = threading.get_ident()
        watcher = threading.Thread(
            target=self._watch, args=(stop, _memory_reader()), name="batchspec-budget", daemon=True
        )
        watcher.start()
        try:
            yield
        finally:
            stop.set()
            with self._lock:
                self._target = None
                if _RAISE_IN is not None:
                    # An exception fired just as the block ended must not land after it.
                    _RAISE_IN(threading.get_ident(), None)
            watcher.join()
