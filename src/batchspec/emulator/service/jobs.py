"""Jobs: Batch's rules for creating, changing, terminating and deleting them."""

from __future__ import annotations

import asyncio
import shutil

from batchspec.emulator.service import errors, lifecycle, shapes
from batchspec.emulator.service.conditions import NONE, Conditions
from batchspec.emulator.service.layout import node_dirs
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.validation import UNLIMITED, new_job
from batchspec.emulator.service.values import Doc, iso, new_etag


def get(live: Live, job_id: str, conditions: Conditions = NONE) -> Doc:
    """The job or 404 JobNotFound, checked against the request's conditions."""
    doc = live.store.get_job(job_id)
    if doc is None:
        raise errors.job_not_found()
    conditions.check(doc)
    return doc


def get_open(live: Live, job_id: str) -> Doc:
    """The job, which must still take tasks (409 when completed, deleting or terminating)."""
    job = get(live, job_id)
    if job["state"] == "completed":
        raise errors.job_completed()
    if job["state"] in ("deleting", "terminating"):
        raise errors.job_in_state(job["state"])
    return job


def create(live: Live, body: Doc) -> Doc:
    """A new job (409 JobExists)."""
    doc = new_job(body, live.endpoint)
    if live.store.get_job(doc["id"]) is not None:
        raise errors.job_exists()
    live.store.put_job(doc)
    lifecycle.note_job_deadline(live, doc)
    live.dirty_jobs.add(doc["id"])
    live.poke()
    return doc


def list_all(live: Live) -> list[Doc]:
    """Every job, by id."""
    return live.store.list_jobs()


_REPLACE_DEFAULTS: Doc = {
    "priority": 0,
    "maxParallelTasks": -1,
    "allowTaskPreemption": False,
    "onAllTasksComplete": "noaction",
    "constraints": {"maxWallClockTime": UNLIMITED, "maxTaskRetryCount": 0},
}


def update(live: Live, job_id: str, body: Doc, replace: bool, conditions: Conditions) -> Doc:
    """PATCH (update) and PUT (replace) of the mutable job properties."""
    job = get(live, job_id, conditions)
    if job["state"] in ("completed", "deleting", "terminating"):
        raise errors.job_in_state(job["state"])
    shapes.check_job(body)
    if replace:
        # Replace: every updatable property the body omits goes back to its default (Batch:
        # "if constraints is not specified with this request, the existing constraints are
        # removed"); poolInfo is required.
        if not body.get("poolInfo"):
            raise errors.missing_property("poolInfo")
        body = {**_REPLACE_DEFAULTS, "metadata": [], **body}
    pool_info = body.get("poolInfo")
    if pool_info is not None:
        # Batch moves a job to another pool only while it is disabled, which jobs here never
        # are; naming its own pool again is harmless.
        same = (
            isinstance(pool_info, dict)
            and str(pool_info.get("poolId", "")).lower() == str(job["poolInfo"]["poolId"]).lower()
        )
        if not same:
            raise errors.job_pool_change()
    if "onAllTasksComplete" in body:
        if body["onAllTasksComplete"] not in ("noaction", "terminatejob"):
            raise errors.invalid_property("onAllTasksComplete", body["onAllTasksComplete"])
        if (
            job.get("onAllTasksComplete") == "terminatejob"
            and body["onAllTasksComplete"] == "noaction"
        ):
            raise errors.invalid_property(
                "onAllTasksComplete", "noaction", "It cannot be changed back from terminatejob."
            )
    for key in (
        "priority",
        "maxParallelTasks",
        "allowTaskPreemption",
        "onAllTasksComplete",
        "metadata",
        "constraints",
        "displayName",
    ):
        if key in body:
            job[key] = body[key]
    job.update({"eTag": new_etag(), "lastModified": iso()})
    live.store.put_job(job)
    lifecycle.note_job_deadline(live, job)
    live.dirty_jobs.add(job["id"])
    live.poke()
    return job


def terminate(live: Live, job_id: str, reason: str, conditions: Conditions) -> Doc:
    """The job completes now."""
    job = get(live, job_id, conditions)
    if job["state"] == "completed":
        raise errors.job_completed()
    if job["state"] == "deleting":
        raise errors.job_being_deleted()
    lifecycle.complete_job(live, job["id"], reason)
    live.poke()
    return get(live, job["id"])


def delete(live: Live, job_id: str, conditions: Conditions) -> None:
    """Kill the job's tasks, remove it and its task directories."""
    job = get(live, job_id, conditions)
    live.kill_tasks("delete", job_id=job["id"])
    live.store.delete_job(job["id"])
    # Its task directories go from every node, as the service cleans them up.
    dirs = [
        node_dirs(live.data_dir, n["id"]).root / "workitems" / job["id"]
        for p in live.store.list_pools()
        for n in live.store.list_nodes(p["id"])
    ]

    def remove() -> None:
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)

    live.spawn(asyncio.to_thread(remove))
    live.poke()


def task_counts(live: Live, job_id: str) -> Doc:
    """Task and slot counts by state, from one aggregate."""
    job = get(live, job_id)
    c = live.store.counts(job["id"])
    keys = ("active", "running", "completed", "succeeded", "failed")
    return {
        "taskCounts": {k: c[k] for k in keys},
        "taskSlotCounts": {k: c["slot_" + k] for k in keys},
    }
