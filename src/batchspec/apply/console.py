"""Everything `apply` prints goes through a Reporter, which redacts it first.

Messages are printed without rich markup (a task id or an error text containing `[x]` must print
as itself). Progress is a live rich bar on a terminal, and a plain line whenever the counts change
(at most every few seconds) when output goes to a file or a CI log. Tasks, uploads and downloads
share that display; in a narrow terminal it drops the bar and the labels before the counts.

Verbosity: `quiet` keeps errors, warnings and the final result; `verbose` adds the details of each
step (each file sent or fetched). With `--format json` the human output moves to stderr so that
stdout holds only the summary document.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Literal

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column

from batchspec.apply.record import RunRecord
from batchspec.redact import redact
from batchspec.sizes import human_size

PLAIN_PROGRESS_INTERVAL = 5.0
WIDE_PROGRESS = 80
"""From this many columns on, the progress line has its bar and elapsed time."""
MEDIUM_PROGRESS = 50
"""From this many columns on, the progress line keeps its label; below, only the counts."""

Verbosity = Literal["quiet", "normal", "verbose"]


class Reporter:
    """Redacting output for one apply run."""

    def __init__(
        self,
        console: Console | None = None,
        errors: Console | None = None,
        verbosity: Verbosity = "normal",
    ) -> None:
        self.console = console or Console(highlight=False)
        # Errors go to stderr; a reporter given one console (tests, a log) gets them there too.
        self.errors = errors or (
            Console(highlight=False, stderr=True) if console is None else console
        )
        self.verbosity: Verbosity = verbosity
        self.record = RunRecord()
        """What the run did, for `apply --format json`."""

    @property
    def interactive(self) -> bool:
        """Whether output goes to a terminal (live display; prompts allowed)."""
        return self.console.is_terminal

    def step(self, message: str) -> None:
        """One line about a step of the workflow (not shown with --quiet)."""
        if self.verbosity != "quiet":
            self._say(message)

    def result(self, message: str) -> None:
        """A line of the run's final result: shown even with --quiet."""
        self._say(message)

    def detail(self, message: str) -> None:
        """A line shown only with --verbose, such as each file sent."""
        if self.verbosity == "verbose":
            self._say(message)

    def _say(self, message: str) -> None:
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
        """An indented block, such as the tail of a stderr file (shown even with --quiet)."""
        for line in redact(text).splitlines() or [""]:
            self.console.print(indent + line, markup=False, highlight=False, soft_wrap=True)

    def progress(self, total: int, description: str, noun: str = "completed") -> TaskProgress:
        """A progress display for `total` items; use it as a context manager.

        `noun` ends the plain line's count: "tasks: 3/10 completed (...)".
        """
        return TaskProgress(self, total, description, noun)


def progress_columns(width: int) -> tuple[ProgressColumn, ...]:
    """The progress line's columns for a terminal `width` columns wide.

    The counts come first in what is kept: a narrow terminal loses the bar and the elapsed time,
    then the label; the detail is cut with an ellipsis rather than wrapped.
    """
    if width >= WIDE_PROGRESS:
        return (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
        )
    # One column that starts with the counts: when the line is too long, the end is cut.
    counts = TextColumn(
        "{task.completed:.0f}/{task.total:.0f} {task.fields[detail]}",
        table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1),
    )
    if width >= MEDIUM_PROGRESS:
        label = TextColumn(
            "{task.description}", table_column=Column(no_wrap=True, overflow="ellipsis")
        )
        return (label, counts)
    return (counts,)


class TaskProgress:
    """Progress of tasks or transfers: a live line on a terminal, throttled plain lines elsewhere.

    With --quiet it shows nothing.
    """

    def __init__(
        self, reporter: Reporter, total: int, description: str, noun: str = "completed"
    ) -> None:
        self._reporter = reporter
        self._total = total
        self._description = description
        self._noun = noun
        self._last_line = ""
        self._last_time = 0.0
        self._progress: Progress | None = None
        self._task_id: TaskID | None = None

    def __enter__(self) -> TaskProgress:
        if self._reporter.interactive and self._reporter.verbosity != "quiet":
            console = self._reporter.console
            self._progress = Progress(*progress_columns(console.width), console=console)
            self._progress.start()
            self._task_id = self._progress.add_task(self._description, total=self._total, detail="")
        return self

    def update(self, completed: int, detail: str) -> None:
        """Show `completed` of the total, with a short detail such as per-state counts."""
        if self._progress is not None and self._task_id is not None:
            self._progress.update(self._task_id, completed=completed, detail=detail)
            return
        if self._reporter.verbosity == "quiet":
            return
        line = f"{self._description}: {completed}/{self._total} {self._noun} ({detail})"
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


class TransferProgress:
    """Upload or download progress on the task display: files done of all, and bytes, in human
    sizes. Workers call `advance` from their threads, so the counts are kept under a lock."""

    def __init__(self, reporter: Reporter, description: str) -> None:
        self._reporter, self._description = reporter, description
        self._lock = threading.Lock()
        self._files = self._bytes = self._total_bytes = 0
        self._shown: TaskProgress | None = None

    def start(self, files: int, size: int) -> None:
        """Begin the display for `files` files of `size` bytes in all."""
        self._total_bytes = size
        self._shown = self._reporter.progress(files, self._description, noun="files").__enter__()
        self._shown.update(0, self._detail())

    def advance(self, size: int) -> None:
        """One more file handled (sent, fetched or found unchanged), of `size` bytes."""
        with self._lock:
            self._files += 1
            self._bytes += size
            if self._shown is not None:
                self._shown.update(self._files, self._detail())

    def stop(self) -> None:
        if self._shown is not None:
            self._shown.__exit__(None, None, None)
            self._shown = None

    def _detail(self) -> str:
        return f"{human_size(self._bytes)} of {human_size(self._total_bytes)}"
