"""The job schedule: create it, or update the one this spec created, then say when it runs.

A schedule carries the ownership mark (`apply.ownership`) in its metadata, and so does each
job it makes (the job specification's metadata). A schedule of that id with another owner's
mark, or with none, is never taken over. An unchanged spec (its mark names the same run) is
left as it is; a changed one updates the schedule in place: Batch applies the new schedule and
job specification to the jobs it makes from then on, and the running one goes on unchanged.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import Literal

from azure.batch import BatchClient
from azure.batch import models as bm
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

from batchspec.apply.ownership import Mark, read_batch_mark
from batchspec.apply.sas import sas_expiry as sas_expiry_after
from batchspec.apply.service_faults import RESEND_IF_UNANSWERED
from batchspec.errors import RunFailed
from batchspec.plan.model import SchedulePlan

Outcome = Literal["created", "updated", "unchanged"]
DELETE_WAIT_SECONDS = 900.0


class ScheduleError(RunFailed):
    """The schedule cannot be set up; the message says why and what to do."""


def ensure_schedule(
    client: BatchClient,
    wanted: bm.BatchJobScheduleCreateOptions,
    mark: Mark,
    *,
    say: Callable[[str], None],
    unmarked_is_ours: bool = False,
) -> Outcome:
    """Create the schedule, or update this spec's schedule of the same id when it changed."""
    wanted.metadata = mark.batch_metadata()
    wanted.job_specification.metadata = mark.batch_metadata()
    try:
        client.create_job_schedule(wanted, **RESEND_IF_UNANSWERED)
    except ResourceExistsError as exists:
        code = exists.error.code if exists.error is not None else None
        if code == "JobScheduleBeingDeleted":
            say(f"schedule {wanted.id} is being deleted; waiting for that to finish")
            _wait_deleted(client, wanted.id)
            return ensure_schedule(client, wanted, mark, say=say, unmarked_is_ours=unmarked_is_ours)
        return _existing(client, wanted, mark, unmarked_is_ours)
    return "created"


def _existing(
    client: BatchClient, wanted: bm.BatchJobScheduleCreateOptions, mark: Mark, unmarked: bool
) -> Outcome:
    existing = client.get_job_schedule(wanted.id)
    found = read_batch_mark(existing.metadata)
    if found is None and not unmarked:
        raise ScheduleError(
            f"job schedule {wanted.id} already exists and was not created by this spec; it is "
            "left alone: give the spec's job another id"
        )
    if found is not None and found.owner != mark.owner:
        raise ScheduleError(
            f"job schedule {wanted.id} belongs to another apply ({found.describe()}); it is "
            "left alone: give this spec's job another id"
        )
    state = _value(existing.state)
    if state in ("completed", "terminating"):
        raise ScheduleError(
            f"job schedule {wanted.id} has ended ({state}): Batch does not change an ended "
            "schedule; `batchspec destroy` deletes it, then apply creates it again"
        )
    if found is not None and found.run_id == mark.run_id:
        return "unchanged"
    client.update_job_schedule(
        wanted.id,
        bm.BatchJobScheduleUpdateOptions(
            schedule=wanted.schedule,
            job_specification=wanted.job_specification,
            metadata=wanted.metadata,
        ),
        # The same PATCH sent twice sets the same values: safe to resend when unanswered.
        retry_on_methods=frozenset({"PATCH"}),
    )
    return "updated"


SAS_WITHOUT_UNTIL = datetime.timedelta(days=7)
"""How long the SAS URLs of a schedule without `until` last; a later apply renews them."""


def sas_expiry(
    schedule: SchedulePlan, timeout_seconds: int | None, now: datetime.datetime
) -> datetime.datetime:
    """When the SAS URLs in the schedule's job specification expire: after the last job can
    have ended (`until` plus the job timeout plus the margin), or 7 days on without `until`."""
    if schedule.until is None:
        return now + SAS_WITHOUT_UNTIL
    until = datetime.datetime.fromisoformat(schedule.until.replace("Z", "+00:00"))
    return sas_expiry_after(timeout_seconds, max(now, until))


def next_run(client: BatchClient, schedule_id: str) -> str:
    """When the schedule's next job runs, and its most recent job, in words."""
    schedule = client.get_job_schedule(schedule_id)
    info = schedule.execution_info
    parts = []
    upcoming = info.next_run_time if info is not None else None
    if upcoming is not None:
        parts.append(f"next job at {_when(upcoming)}")
    else:
        parts.append("no job is due any more")
    recent = info.recent_job if info is not None else None
    if recent is not None and recent.id:
        parts.append(f"most recent job {recent.id}")
    return "; ".join(parts)


def delete_schedule(client: BatchClient, schedule_id: str, *, wait: bool = True) -> bool:
    """Delete the schedule (and so its jobs); False if it did not exist."""
    try:
        poller = client.begin_delete_job_schedule(schedule_id, polling_interval=1)
    except ResourceNotFoundError:
        return False
    if wait:
        poller.result()
    return True


def _wait_deleted(client: BatchClient, schedule_id: str) -> None:
    deadline = time.monotonic() + DELETE_WAIT_SECONDS
    while True:
        try:
            client.get_job_schedule(schedule_id, select=["id"])
        except ResourceNotFoundError:
            return
        if time.monotonic() > deadline:
            raise ScheduleError(
                f"job schedule {schedule_id} is still being deleted after "
                f"{DELETE_WAIT_SECONDS:.0f}s"
            )
        time.sleep(1.0)


def _when(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _value(value: object) -> str:
    return str(getattr(value, "value", value))
