"""Watching a job: one task-counts request per poll, then a report of the failed tasks only.

The tutorial's client lists every task on every poll, so each poll costs O(tasks) in requests
and memory. Task counts cost one small request whatever the job's size; the full task records
are fetched once, at the end, and only for failed tasks (an OData $filter on the result).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from azure.batch import BatchClient
from azure.batch import models as bm
from azure.core.exceptions import AzureError

from batchspec.apply.console import Reporter
from batchspec.apply.service_faults import OUTAGE_SECONDS, OutageWindow
from batchspec.apply.tails import task_file_tail
from batchspec.errors import RunFailed
from batchspec.plan.model import TaskPlan

FAILED_FILTER = "executionInfo/result eq 'failure'"
MAX_REPORTED_FAILURES = 20
STALL_NOTICE_SECONDS = 10 * 60.0
"""Counts unchanged for this long are said once: the wait goes on, but not silently."""
SHOWN_BLOCKED = 10
# Termination reasons of a job that ended because its work was done.
NORMAL_ENDS = ("AllTasksComplete", "ApplyComplete")
_END_HINTS = {
    "MaxWallClockTimeExpiry": "the job ran longer than the spec's job timeout",
    "TaskFailed": "a task failed and the job was set to end on task failure",
}


class MonitorTimeout(RunFailed):
    """The tasks did not all complete in time."""


class TasksBlocked(RunFailed):
    """Nothing more can run: every task left waits on a task that failed (Batch blocks it)."""

    def __init__(self, counts: Counts, failed: tuple[str, ...], blocked: tuple[str, ...]) -> None:
        self.counts, self.failed, self.blocked = counts, failed, blocked
        super().__init__(
            f"{len(blocked)} task(s) can never run: a task they depend on failed "
            f"({', '.join(failed[:SHOWN_BLOCKED])}{' ...' if len(failed) > SHOWN_BLOCKED else ''})"
        )


StuckCheck = Callable[["Counts"], "TasksBlocked | None"]
"""Given counts with failures and nothing running, whether every waiting task is blocked."""


@dataclass(frozen=True)
class Counts:
    active: int
    running: int
    completed: int
    succeeded: int
    failed: int

    def detail(self) -> str:
        """A short per-state summary for the progress display."""
        return (
            f"{self.active} waiting, {self.running} running, "
            f"{self.succeeded} succeeded, {self.failed} failed"
        )


@dataclass(frozen=True)
class FailedTask:
    id: str
    exit_code: int | None
    failure: str | None
    """The failure info's `code: message`, when Batch gave one (e.g. a resource file error)."""
    stderr_tail: str


def task_counts(client: BatchClient, job_id: str) -> Counts:
    """The job's task counts: one request, whatever the number of tasks."""
    c = client.get_job_task_counts(job_id).task_counts
    return Counts(c.active, c.running, c.completed, c.succeeded, c.failed)


def watch(
    client: BatchClient,
    job_id: str,
    total: int,
    reporter: Reporter,
    *,
    poll: float,
    timeout: float | None,
    outage: float = OUTAGE_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    stuck: StuckCheck | None = None,
    stall_notice: float = STALL_NOTICE_SECONDS,
    on_poll: Callable[[Counts], None] | None = None,
) -> Counts:
    """Poll task counts until `total` tasks have completed; show progress while waiting.

    With `stuck`, a job in which tasks failed and none runs is checked for tasks blocked by
    those failures; when they are all that is left, TasksBlocked is raised at once. Counts that
    stay the same for `stall_notice` seconds are said once (a slow task, or a stuck service),
    so a long wait is never a silent one. `on_poll` is told every answer (apply fetches
    outputs as tasks end).

    Polls the service answers as busy or unreachable are waited out for up to `outage`
    seconds in a row, then service_faults.ServiceOutage is raised.
    """
    deadline = None if timeout is None else clock() + timeout
    checked: Counts | None = None
    last_counts: Counts | None = None
    changed_at = clock()
    noticed: float | None = None  # when the counts last changed, as of the last notice
    window = OutageWindow(
        f"watching job {job_id}",
        outage,
        reporter.step,
        reporter.warn,
        meanwhile="its tasks go on without apply",
        clock=clock,
    )
    with reporter.progress(total, f"job {job_id}") as progress:
        while True:
            try:
                counts = task_counts(client, job_id)
            except AzureError as exc:
                window.failed(exc)
                sleep(poll)
                continue
            window.answered()
            if counts != last_counts:
                last_counts, changed_at = counts, clock()
            elif clock() - changed_at >= stall_notice and changed_at != noticed:
                noticed = changed_at
                reporter.warn(
                    f"job {job_id}: no task has changed state for {clock() - changed_at:.0f}s "
                    f"({counts.detail()}); a task may be slow, or the service stuck (on the "
                    "local target, `batchspec local logs emulator` shows its log)"
                )
            progress.update(counts.completed, counts.detail())
            if on_poll is not None and counts.completed < total:
                on_poll(counts)
            if counts.completed >= total:
                return counts
            if stuck is not None and _may_be_stuck(counts) and counts != checked:
                checked = counts
                blocked = stuck(counts)
                if blocked is not None:
                    raise blocked
            if deadline is not None and clock() > deadline:
                raise MonitorTimeout(
                    f"job {job_id}: {counts.completed} of {total} tasks completed after "
                    f"{timeout:.0f}s ({counts.detail()})"
                )
            sleep(poll)


def _may_be_stuck(counts: Counts) -> bool:
    return counts.failed > 0 and counts.running == 0 and counts.active > 0


def dependants(tasks: Iterable[TaskPlan]) -> dict[str, list[str]]:
    """Task id -> the ids of the tasks that depend on it directly."""
    out: dict[str, list[str]] = {}
    for task in tasks:
        for needed in task.depends_on:
            out.setdefault(needed, []).append(task.id)
    return out


def blocked_check(
    client: BatchClient, job_id: str, needed_by: Mapping[str, Sequence[str]]
) -> StuckCheck:
    """A StuckCheck for a job: its failed tasks (one filtered listing) and their dependants."""

    def check(counts: Counts) -> TasksBlocked | None:
        pages = client.list_tasks(job_id, filter=FAILED_FILTER, select=["id"])
        failed = tuple(sorted(task.id for task in pages))
        blocked: dict[str, None] = {}
        queue = [d for f in failed for d in needed_by.get(f, ())]
        while queue:
            task_id = queue.pop()
            if task_id not in blocked:
                blocked[task_id] = None
                queue.extend(needed_by.get(task_id, ()))
        # A blocked task never runs, so it is among the waiting ones: if there are as many
        # blocked tasks as waiting ones, nothing else is waiting and nothing will run again.
        if blocked and len(blocked) >= counts.active:
            return TasksBlocked(counts, failed, tuple(sorted(blocked)))
        return None

    return check


def report_blocked(reporter: Reporter, blocked: Sequence[str]) -> None:
    """The blocked tasks by id: the first few and how many in all."""
    shown = ", ".join(blocked[:SHOWN_BLOCKED])
    more = f" and {len(blocked) - SHOWN_BLOCKED} more" if len(blocked) > SHOWN_BLOCKED else ""
    reporter.step(
        f"blocked: {len(blocked)} task(s) will never run, because a task they depend on "
        f"failed: {shown}{more}"
    )


def failed_tasks(
    client: BatchClient, job_id: str, limit: int = MAX_REPORTED_FAILURES
) -> list[FailedTask]:
    """The first `limit` failed tasks, with exit code, failure info and the tail of stderr."""
    found: list[FailedTask] = []
    pages = client.list_tasks(job_id, filter=FAILED_FILTER, select=["id", "executionInfo"])
    for task in pages:
        info = task.execution_info
        failure = None
        if info is not None and info.failure_info is not None:
            failure = f"{info.failure_info.code}: {info.failure_info.message}"
        found.append(
            FailedTask(
                id=task.id,
                exit_code=info.exit_code if info is not None else None,
                failure=failure,
                stderr_tail=task_file_tail(client, job_id, task.id, "stderr.txt"),
            )
        )
        if len(found) >= limit:
            break
    return found


def early_end(client: BatchClient, job_id: str) -> str | None:
    """Why the job ended on its own (e.g. MaxWallClockTimeExpiry), or None if it did not."""
    job = client.get_job(job_id, select=["id", "state", "executionInfo"])
    reason = job.execution_info.termination_reason if job.execution_info else None
    # Batch shows the reason while the job is still terminating, before it is completed.
    ended = (bm.BatchJobState.COMPLETED, bm.BatchJobState.TERMINATING)
    if job.state not in ended or reason in (None, *NORMAL_ENDS):
        return None
    hint = _END_HINTS.get(reason)
    return f"{reason} ({hint})" if hint else reason


def report_failures(reporter: Reporter, failures: list[FailedTask], failed_count: int) -> None:
    """Print each failed task's exit code, failure info and stderr tail."""
    for task in failures:
        exit_text = "no exit code" if task.exit_code is None else f"exit code {task.exit_code}"
        line = f"task {task.id} failed: {exit_text}"
        if task.failure:
            line += f"; {task.failure}"
        reporter.step(line)
        reporter.step("  stderr (last lines):")
        reporter.block(task.stderr_tail)
    more = failed_count - len(failures)
    if more > 0 and len(failures) == MAX_REPORTED_FAILURES:
        reporter.step(f"... and {more} more failed task(s)")
    elif more > 0:
        reporter.step(f"{more} more task(s) failed without an exit code (ended before they ran)")
