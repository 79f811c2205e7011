"""Batch features the local service has little of, answered as Batch answers an account that
has none (no applications), the subtasks of multi-instance tasks, and the job preparation and
release task status.
"""

from __future__ import annotations

from typing import NoReturn

from batchspec.emulator.service import errors, jobs, multi_instance, tasks
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import Doc


def get_application(live: Live, application_id: str) -> NoReturn:
    """404 ApplicationNotFound (there are none)."""
    raise errors.not_found("Application", "application")


def subtasks(live: Live, job_id: str, task_id: str) -> list[Doc]:
    """A multi-instance task's subtasks (ids 1 .. n-1; the primary is not listed); none for a
    task that is not multi-instance (its job and it must exist)."""
    return multi_instance.subtasks_of(tasks.get(live, job_id, task_id))


def preparation_status(live: Live, job_id: str) -> list[Doc]:
    """Per node, how the job's preparation and release tasks ran (409 for a job without)."""
    job = jobs.get(live, job_id)
    if not job.get("jobPreparationTask") and not job.get("jobReleaseTask"):
        raise errors.job_preparation_not_specified()
    status: dict[str, Doc] = job.get("_prepStatus") or {}
    return [status[k] for k in sorted(status)]


def certificates(live: Live) -> NoReturn:
    """Every certificate operation: 400 CertificateRetired, as Batch answers since 2024."""
    del live
    raise errors.certificate_retired()
