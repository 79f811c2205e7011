"""Run the apply workflow in-process on a hand-built Plan and capture what it prints."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from batchspec.apply.console import Reporter
from batchspec.apply.journal import Journal
from batchspec.apply.workflow import ApplyOptions, Workflow, new_run_state
from batchspec.plan.model import Plan
from batchspec.targets import Target


@dataclass(frozen=True)
class Outcome:
    code: int
    output: str


class InterruptingReporter(Reporter):
    """A Reporter that plays Ctrl-C once, when a chosen line is printed."""

    def __init__(self, console: Console, interrupt_at: str | None) -> None:
        super().__init__(console)
        self.interrupt_at = interrupt_at

    def step(self, message: str) -> None:
        super().step(message)
        if self.interrupt_at is not None and message.startswith(self.interrupt_at):
            self.interrupt_at = None
            raise KeyboardInterrupt


def run_workflow(
    plan: Plan,
    target: Target,
    home: Path,
    *,
    recreate_pool: bool = False,
    confirm: Callable[[str], bool] = lambda _question: True,
    interrupt_at: str | None = None,
) -> Outcome:
    """One apply of `plan` (resuming the journal's run when it is the same run).

    `interrupt_at`: raise KeyboardInterrupt (as Ctrl-C would) when a line starting with it
    is printed.
    """
    buffer = io.StringIO()
    reporter = InterruptingReporter(
        Console(file=buffer, force_terminal=False, width=200), interrupt_at
    )
    journal = Journal(home, plan.spec_path, target.name)
    state = journal.load()
    if state is None or state.run_id != plan.run.id:
        state = new_run_state(plan, target)
    options = ApplyOptions(recreate_pool=recreate_pool, confirm=confirm, poll_seconds=0.2)
    with journal.locked():
        code = Workflow(plan, target, journal, state, reporter, options).run()
    return Outcome(code, buffer.getvalue())
