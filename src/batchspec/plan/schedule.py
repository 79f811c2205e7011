"""A schedule instead of a single run: what Batch's job schedule can carry, checked and planned.

A job schedule's job specification has no task list: each job it makes runs its job manager
task (`job.manager`), which may add tasks itself. So a scheduled spec has `job.manager` and no
`job.tasks`; `apply` sets the schedule up and returns, so it has no `downloads`, and what the
schedule's jobs need (pool, containers) outlives the apply: `cleanup` may not delete it
(`batchspec destroy` deletes the schedule, then its pool and containers).
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Any

from batchspec.plan.model import JobManagerPlan, SchedulePlan, TaskPlan
from batchspec.plan.tasklist import TaskSettings, Uploaded, plan_tasks
from batchspec.spec.model import Spec
from batchspec.spec.render import Renderer

MIN_RECURRENCE_SECONDS = 60
"""Batch refuses a recurrenceInterval under one minute."""
_NAMES_RUN = re.compile(r"\{[{%][^}]*\brun\b")


def _utc(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def check_schedule(
    renderer: Renderer, spec: Spec, job_id_source: str, now: datetime.datetime | None = None
) -> None:
    """Report what a scheduled spec cannot hold, and job.manager without a schedule."""
    schedule, job = spec.schedule, spec.job
    if schedule is None:
        if job.manager is not None:
            renderer.report(
                ("job", "manager"),
                "job.manager is what the jobs of a schedule run: add `schedule:` (e.g. "
                "`schedule: {every: 1d}`), or put the work in job.tasks for a single run",
            )
        return
    if job.tasks:
        renderer.report(
            ("job", "tasks"),
            "a scheduled job has no task list (Batch's job schedule carries none): put the "
            "work in job.manager, the task each scheduled job runs (it may add tasks itself)",
        )
    if schedule.every_seconds is not None and schedule.every_seconds < MIN_RECURRENCE_SECONDS:
        renderer.report(
            ("schedule", "every"),
            f"Batch's shortest recurrence is 1m, not {schedule.every_seconds}s",
        )
    now = now or datetime.datetime.now(datetime.UTC)
    if schedule.until is not None:
        until = _utc(schedule.until)
        if schedule.start is not None and until <= _utc(schedule.start):
            renderer.report(("schedule", "until"), "the last run is not after the first (start)")
        elif until <= now:
            renderer.report(
                ("schedule", "until"), f"{schedule.until} has passed: no job would ever run"
            )
    if _NAMES_RUN.search(job_id_source):
        renderer.report(
            ("job", "id"),
            "a scheduled job's id names its schedule, which apply updates in place when the "
            "spec changes: it cannot depend on `run` (use e.g. `{{ spec.name }}`)",
        )
    if spec.downloads:
        renderer.report(
            ("downloads",),
            "apply returns once the schedule is set, before any scheduled job has run, so it "
            "downloads nothing: read the outputs from their container",
        )
    for key, action in (
        ("containers", spec.cleanup.containers),
        ("pool", spec.cleanup.pool),
    ):
        if action == "delete":
            renderer.report(
                ("cleanup", key),
                f"the schedule's jobs need the {key} after apply returns: keep it "
                "(`batchspec destroy` deletes the schedule, then what it used)",
            )


def plan_schedule(spec: Spec) -> SchedulePlan | None:
    """The schedule as Batch receives it (None for a single run)."""
    schedule = spec.schedule
    if schedule is None:
        return None
    return SchedulePlan(
        start=schedule.start,
        every_seconds=schedule.every_seconds,
        until=schedule.until,
        start_window_seconds=schedule.start_window_seconds,
    )


def plan_manager(
    renderer: Renderer,
    spec: Spec,
    base: Mapping[str, Any],
    uploaded: Uploaded,
    settings: TaskSettings,
) -> JobManagerPlan | None:
    """The job manager task, rendered and checked as a task of the job (None if it has none
    or it did not render)."""
    manager = spec.job.manager
    if manager is None:
        return None
    only = dataclasses.replace(spec.job, tasks=(manager.task,))
    tasks: Sequence[TaskPlan] | None = plan_tasks(
        renderer, only, base, uploaded, dataclasses.replace(settings, per_task={})
    )
    if not tasks:
        return None
    return JobManagerPlan(task=tasks[0], kill_job_on_completion=manager.kill_job_on_completion)
