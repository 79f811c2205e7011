"""Everything `apply` prints goes through a Reporter, which redacts it first.

Messages are printed without rich markup (a task id or an error text containing `[x]` must print
as itself). Progress is a live rich bar on a terminal, and a plain line whenever the counts change
(at most every few seconds) when output goes to a file or a CI log.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from batchspec.redact import redact

PLAIN_PROGRESS_INTERVAL = 5.0


class Reporter:
    """Redacting output for one apply run."""

    def __init__(self, console: Console | None = None, errors: Console | None = None) -> None:
        self.console = console or Console(highlight=False)
        # Errors go to stderr; a reporter given one console (tests, a log) gets them there too.
        self.errors = errors or (
            Console(highlight=False, stderr=True) if console is None else console
        )

    @property
    def interactive(self) -> bool:
        """Whether output goes to a terminal (live display; prompts allowed)."""
        return self.console.is_terminal

    def step(self, message: str) -> None:
        """One line about a step of the workflow."""
        self.console.print(redact(message), markup=False, highlight=False, soft_wrap=True)

    def warn(self, message: str) -> None:
        """A line the user should notice but that does not stop the run."""
        self.errors.print(
            "warning: " + redact(message), markup=False, style="yellow", soft_wrap=True
        )

    def error(self, message: str) -> None:
        """A line saying why the run stopped."""
        self.errors.print(
            "error: " + redact(message), markup=False, style="bold red", soft_wrap=True
        )

    def block(self, text: str, indent: str = "    ") -> None:
        """An indented block, such as the tail of a stderr file."""
        for line in redact(text).splitlines() or [""]:
            self.console.print(indent + line, markup=False, highlight=False, soft_wrap=True)

    def progress(self, total: int, description: str) -> TaskProgress:
        """A progress display for `total` tasks; use it as a context manager."""
        return TaskProgress(self, total, description)


class TaskProgress:
    """Task progress: a live bar on a terminal, throttled plain lines elsewhere."""

    def __init__(self, reporter: Reporter, total: int, description: str) -> None:
        self._reporter = reporter
        self._total = total
        self._description = description
        self._last_line = ""
        self._last_time = 0.0
        self._progress: Progress | None = None
        self._task_id: TaskID | None = None

    def __enter__(self) -> TaskProgress:
        if self._reporter.interactive:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                console=self._reporter.console,
            )
            self._progress.start()
            self._task_id = self._progress.add_task(self._description, total=self._total, detail="")
        return self

    def update(self, completed: int, detail: str) -> None:
        """Show `completed` of the total, with a short detail such as per-state counts."""
        if self._progress is not None and self._task_id is not None:
            self._progress.update(self._task_id, completed=completed, detail=detail)
            return
        line = f"{self._description}: {completed}/{self._total} completed ({detail})"
        now = time.monotonic()
        finished = completed >= self._total
        if line != self._last_line and (
            finished or now - self._last_time >= PLAIN_PROGRESS_INTERVAL or not self._last_line
        ):
            self._reporter.step(line)
            self._last_line, self._last_time = line, now

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
