"""A job schedule's status: its state, when it runs next, and its most recent jobs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.batch import BatchClient

SHOWN_JOBS = 10


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    id: str
    state: str
    created: str | None = None
    ended: str | None = None
    termination_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ScheduleStatus:
    id: str
    exists: bool
    state: str | None = None
    every: str | None = None
    """Batch's recurrence interval, ISO 8601 (`P1D`), or None for one job."""
    next_run: str | None = None
    until: str | None = None
    jobs: tuple[ScheduledJob, ...] = ()
    """The most recent jobs first, at most SHOWN_JOBS."""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _value(value: object) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


def _time(value: object) -> str | None:
    iso = getattr(value, "isoformat", None)
    return str(iso()) if iso else None


def _interval(value: object) -> str | None:
    seconds = getattr(value, "total_seconds", None)
    if seconds is None:
        return None
    from batchspec.spec.durations import format_duration

    return format_duration(int(seconds()))


def look_schedule(batch: BatchClient, schedule_id: str) -> ScheduleStatus:
    """Read the schedule and its jobs (read requests only)."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        schedule = batch.get_job_schedule(schedule_id)
    except ResourceNotFoundError:
        return ScheduleStatus(schedule_id, False)
    config, info = schedule.schedule, schedule.execution_info
    jobs = [
        ScheduledJob(
            job.id,
            _value(job.state) or "?",
            _time(job.creation_time),
            _time(job.execution_info.end_time) if job.execution_info else None,
            job.execution_info.termination_reason if job.execution_info else None,
        )
        for job in batch.list_jobs_from_schedule(schedule_id)
    ]
    jobs.sort(key=lambda j: j.created or "", reverse=True)
    return ScheduleStatus(
        schedule_id,
        True,
        _value(schedule.state),
        _interval(config.recurrence_interval) if config else None,
        _time(info.next_run_time) if info else None,
        _time(config.do_not_run_after) if config else None,
        tuple(jobs[:SHOWN_JOBS]),
    )


def schedule_lines(doc: dict[str, Any]) -> list[str]:
    """The schedule for people: one line, then one per recent job."""
    if not doc["exists"]:
        return [f"schedule {doc['id']}: does not exist"]
    every = f"every {doc['every']}" if doc["every"] else "one job"
    upcoming = f"next job at {doc['next_run']}" if doc["next_run"] else "no job due"
    until = f", until {doc['until']}" if doc["until"] else ""
    lines = [f"schedule {doc['id']}: {doc['state']}, {every}{until}; {upcoming}"]
    for job in doc["jobs"]:
        why = f", {job['termination_reason']}" if job["termination_reason"] else ""
        when = ", ".join(f"{k} {job[k]}" for k in ("created", "ended") if job[k])
        lines.append(f"  job {job['id']}: {job['state']}{why} ({when})")
    return lines
