"""Batch features the local service has none of, answered as Batch answers an account that has
none: no applications, no job schedules, no subtasks, no job preparation tasks.
"""

from __future__ import annotations

from typing import NoReturn

from batchspec.emulator.service import errors, jobs, tasks
from batchspec.emulator.service.runtime import Live


def get_application(live: Live, application_id: str) -> NoReturn:
    """404 ApplicationNotFound (there are none)."""
    raise errors.not_found("Application", "application")


def get_job_schedule(live: Live, schedule_id: str) -> NoReturn:
    """404 JobScheduleNotFound (none can be created)."""
    raise errors.not_found("JobSchedule", "job schedule")


def check_subtasks(live: Live, job_id: str, task_id: str) -> None:
    """A task that is not multi-instance has no subtasks (its job and it must exist)."""
    tasks.get(live, job_id, task_id)


def preparation_status(live: Live, job_id: str) -> NoReturn:
    """409 for a job without a job preparation task (every job here)."""
    jobs.get(live, job_id)
    raise errors.job_preparation_not_specified()
