"""Job schedules: jobs made from a job specification at the times a schedule names.

As recorded on Batch (tests/emulator/conformance/recordings/job_schedules.json): a schedule
without doNotRunUntil makes its first job at once (`<schedule>:job-1`), the next one a
recurrenceInterval later, and never two at a time; a terminated schedule completes (its active
job is terminated); a deleted one is deleting, with its jobs, until it is gone. PATCH replaces
`schedule` and `jobSpecification` whole, PUT replaces both and the metadata.
"""

from __future__ import annotations

import datetime as dt

from batchspec.emulator.service import errors, job_docs, jobs, lifecycle
from batchspec.emulator.service.conditions import NONE, Conditions
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.validation import check_id
from batchspec.emulator.service.values import (
    Doc,
    iso,
    new_etag,
    normalize_duration,
    parse_duration,
    parse_iso,
)


def _schedule(given: object) -> Doc:
    if not isinstance(given, dict):
        raise errors.missing_property("schedule")
    out = {k: normalize_duration(v) for k, v in given.items() if v is not None}
    interval = out.get("recurrenceInterval")
    if interval is not None and (parse_duration(str(interval)) or 0) < 60:
        raise errors.invalid_property("schedule.recurrenceInterval", interval)
    return out


def get(live: Live, schedule_id: str, conditions: Conditions = NONE) -> Doc:
    """The job schedule or 404 JobScheduleNotFound."""
    doc = live.store.get_schedule(schedule_id)
    if doc is None:
        raise errors.job_schedule_not_found()
    conditions.check(doc)
    return doc


def _changeable(live: Live, schedule_id: str, conditions: Conditions) -> Doc:
    doc = get(live, schedule_id, conditions)
    if doc["state"] == "deleting":
        raise errors.job_schedule_being_deleted()
    if doc["state"] == "completed":
        raise errors.job_schedule_in_state("completed")
    return doc


def create(live: Live, body: Doc) -> Doc:
    """A new job schedule (409 JobScheduleExists); its first job may start at once."""
    schedule_id = check_id(body)
    existing = live.store.get_schedule(schedule_id)
    if existing is not None:
        if existing["state"] == "deleting":
            raise errors.job_schedule_being_deleted()
        raise errors.job_schedule_exists()
    stamp = iso()
    doc: Doc = {
        "id": schedule_id,
        "url": f"{live.endpoint}/jobschedules/{schedule_id}",
        "eTag": new_etag(),
        "lastModified": stamp,
        "creationTime": stamp,
        "state": "active",
        "stateTransitionTime": stamp,
        "schedule": _schedule(body.get("schedule")),
        "jobSpecification": job_docs.job_specification(body.get("jobSpecification")),
        "executionInfo": {},
        "_runs": 0,
    }
    for key in ("displayName", "metadata"):
        if body.get(key) is not None:
            doc[key] = body[key]
    live.store.put_schedule(doc)
    run_due(live)
    return get(live, schedule_id)


def _move(doc: Doc, state: str) -> None:
    stamp = iso()
    doc["previousState"], doc["previousStateTransitionTime"] = (
        doc["state"],
        doc["stateTransitionTime"],
    )
    doc["state"], doc["stateTransitionTime"] = state, stamp
    doc["eTag"], doc["lastModified"] = new_etag(), stamp


def update(live: Live, schedule_id: str, body: Doc, replace: bool, conditions: Conditions) -> None:
    """PATCH / PUT of a job schedule."""
    doc = _changeable(live, schedule_id, conditions)
    if replace or "schedule" in body:
        doc["schedule"] = _schedule(body.get("schedule") or {})
    if replace or "jobSpecification" in body:
        doc["jobSpecification"] = job_docs.job_specification(body.get("jobSpecification"))
    if replace:
        doc.pop("metadata", None)
    if body.get("metadata") is not None:
        doc["metadata"] = body["metadata"]
    doc["eTag"], doc["lastModified"] = new_etag(), iso()
    _plan_next(doc)
    live.store.put_schedule(doc)


def disable(live: Live, schedule_id: str, conditions: Conditions) -> None:
    """No new job is made while disabled."""
    doc = _changeable(live, schedule_id, conditions)
    if doc["state"] == "active":
        _move(doc, "disabled")
        live.store.put_schedule(doc)


def enable(live: Live, schedule_id: str, conditions: Conditions) -> None:
    """A disabled schedule makes jobs again."""
    doc = _changeable(live, schedule_id, conditions)
    if doc["state"] == "disabled":
        _move(doc, "active")
        live.store.put_schedule(doc)


def _active_jobs(live: Live, doc: Doc) -> list[Doc]:
    return [
        j
        for j in live.store.list_jobs()
        if j.get("_schedule") == doc["id"].lower() and j["state"] not in ("completed", "deleting")
    ]


def terminate(live: Live, schedule_id: str, conditions: Conditions) -> None:
    """The schedule completes; its active job is terminated."""
    doc = _changeable(live, schedule_id, conditions)
    for job in _active_jobs(live, doc):
        # Batch: "TerminateJobSchedule - the Job ran as part of a schedule, and the schedule
        # terminated" (JobExecutionInformation.terminateReason).
        lifecycle.terminate_job(live, job["id"], "TerminateJobSchedule")
    _complete(doc)
    live.store.put_schedule(doc)


def _complete(doc: Doc) -> None:
    _move(doc, "completed")
    info = doc.setdefault("executionInfo", {})
    info.pop("nextRunTime", None)
    info["endTime"] = doc["stateTransitionTime"]


def _time(value: object) -> dt.datetime | None:
    """A timestamp as a client or this service wrote it (`Z`, 0-7 fractional digits)."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def delete(live: Live, schedule_id: str, conditions: Conditions) -> None:
    """The schedule and its jobs are deleting; they go when the passing state ends."""
    doc = get(live, schedule_id, conditions)
    if doc["state"] == "deleting":
        return
    for job in live.store.list_jobs():
        if job.get("_schedule") == doc["id"].lower():
            lifecycle.mark_job_deleting(live, job)
    _move(doc, "deleting")
    doc["_due"] = live.due()
    live.store.put_schedule(doc)
    live.poke()


def list_jobs(live: Live, schedule_id: str) -> list[Doc]:
    """The jobs a schedule made."""
    doc = get(live, schedule_id)
    return [j for j in live.store.list_jobs() if j.get("_schedule") == doc["id"].lower()]


def _plan_next(doc: Doc) -> None:
    schedule = doc.get("schedule") or {}
    info = doc.setdefault("executionInfo", {})
    interval = parse_duration(str(schedule.get("recurrenceInterval") or ""))
    if doc.get("_runs", 0) == 0:
        info["nextRunTime"] = schedule.get("doNotRunUntil") or doc["creationTime"]
    elif interval is not None and doc.get("_lastRun"):
        info["nextRunTime"] = iso(parse_iso(doc["_lastRun"]) + dt.timedelta(seconds=interval))
    else:
        info.pop("nextRunTime", None)


def _make_job(live: Live, doc: Doc) -> None:
    runs = int(doc.get("_runs", 0)) + 1
    job_id = f"{doc['id']}:job-{runs}"
    body = {**doc["jobSpecification"], "id": job_id}
    job = jobs.create(live, body, schedule_id=doc["id"])
    doc["_runs"], doc["_lastRun"] = runs, iso()
    doc["executionInfo"]["recentJob"] = {"url": job["url"], "id": job_id}
    _plan_next(doc)


def run_due(live: Live) -> None:
    """Make the jobs that are due; complete schedules past their doNotRunAfter; remove
    deleting schedules whose time is up."""
    now = iso()
    moment = parse_iso(now)
    for doc in live.store.list_schedules():
        if doc["state"] == "deleting":
            if str(doc.get("_due", "")) <= now:
                live.store.delete_schedule(doc["id"])
            continue
        if doc["state"] != "active":
            continue
        after = _time((doc.get("schedule") or {}).get("doNotRunAfter"))
        if after is not None and moment >= after:
            # "The schedule will move to the completed state as soon as this deadline is past
            # and there is no active Job under this Job Schedule" (the REST spec's doNotRunAfter).
            if not _active_jobs(live, doc):
                _complete(doc)
                live.store.put_schedule(doc)
            continue
        _plan_next(doc)
        due = _time(doc["executionInfo"].get("nextRunTime"))
        if due is None or due > moment or _active_jobs(live, doc):
            if due is None or due > moment:
                live.store.put_schedule(doc)
            continue
        _make_job(live, doc)
        live.store.put_schedule(doc)
