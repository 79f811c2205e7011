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


def run_workflow(
    plan: Plan,
    target: Target,
    home: Path,
    *,
    recreate_pool: bool = False,
    confirm: Callable[[str], bool] = lambda _question: True,
) -> Outcome:
    """One apply of `plan` (resuming the journal's run when it is the same run)."""
    buffer = io.StringIO()
    reporter = Reporter(Console(file=buffer, force_terminal=False, width=200))
    journal = Journal(home, plan.spec_path, target.name)
    state = journal.load()
    if state is None or state.run_id != plan.run.id:
        state = new_run_state(plan, target)
    options = ApplyOptions(recreate_pool=recreate_pool, confirm=confirm, poll_seconds=0.2)
    with journal.locked():
        code = Workflow(plan, target, journal, state, reporter, options).run()
    return Outcome(code, buffer.getvalue())
