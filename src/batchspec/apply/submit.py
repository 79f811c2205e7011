"""Adding tasks: `create_tasks` in collections of 100, several collections at once.

Tasks go in waves of `WAVE` (ten collections); after each wave the caller journals how many
tasks are known to be added, so a resumed run starts at the first unjournaled wave. Re-adding
a task that a killed run had already added is answered with TaskExists, which the SDK (and
this module) count as added: resubmission can never create a duplicate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from azure.batch import BatchClient
from azure.batch import models as bm

from batchspec.apply.batch_models import BatchModels
from batchspec.plan.model import TaskPlan
from batchspec.redact import describe_error, redact

COLLECTION = 100
"""Batch's limit on tasks per add-collection request."""
WAVE = 10 * COLLECTION
SHOWN_FAILURES = 5


class SubmitError(Exception):
    """Some tasks could not be added; the message names them and the service's reasons."""


@dataclass(frozen=True)
class SubmitSummary:
    added: int
    """Tasks added by this call."""
    existing: int
    """Tasks that were already in the job (added by an interrupted run)."""


def submit_tasks(
    client: BatchClient,
    job_id: str,
    tasks: Sequence[TaskPlan],
    models: BatchModels,
    *,
    start: int = 0,
    concurrency: int = 4,
    on_wave: Callable[[int], None] | None = None,
) -> SubmitSummary:
    """Add `tasks[start:]` to the job; `on_wave(n)` is called once the first n tasks are in."""
    added = existing = 0
    total = len(tasks)
    for first in range(start, total, WAVE):
        last = min(first + WAVE, total)
        wave = [models.task(tasks[i]) for i in range(first, last)]
        threads = min(concurrency, math.ceil(len(wave) / COLLECTION))
        try:
            result = client.create_tasks(job_id, wave, max_concurrency=threads)
        except bm.CreateTasksError as exc:
            raise SubmitError(describe_create_tasks_error(exc)) from None
        for item in result.result_values or []:
            if item.error is not None and item.error.code == "TaskExists":
                existing += 1
            else:
                added += 1
        if on_wave is not None:
            on_wave(last)
    return SubmitSummary(added=added, existing=existing)


def describe_create_tasks_error(exc: bm.CreateTasksError) -> str:
    """One line naming the tasks the service refused (first few) and any request errors."""
    parts: list[str] = []
    failures = list(exc.failure_tasks or [])
    for item in failures[:SHOWN_FAILURES]:
        parts.append(f"task {item.task_id}: {_reason(item)}")
    if len(failures) > SHOWN_FAILURES:
        parts.append(f"and {len(failures) - SHOWN_FAILURES} more task(s)")
    parts += [describe_error(e) for e in list(exc.errors or [])[:SHOWN_FAILURES]]
    return "could not add tasks: " + "; ".join(parts)


def _reason(item: bm.BatchTaskCreateResult) -> str:
    error = item.error
    if error is None:
        return str(item.status)
    message = error.message.value if error.message is not None else ""
    text = f"{error.code}: {message}"
    details = "; ".join(f"{d.key}={d.value}" for d in error.error_values or [])
    return redact(f"{text} ({details})" if details else text)
