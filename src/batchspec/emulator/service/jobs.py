"""Jobs: Batch's rules for creating, changing, terminating and deleting them."""

from __future__ import annotations

import uuid

from batchspec.emulator.service import (
    containers,
    errors,
    job_docs,
    job_manager,
    lifecycle,
    pools,
    shapes,
)
from batchspec.emulator.service.conditions import NONE, Conditions
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.validation import UNLIMITED, new_job, new_pool, new_task
from batchspec.emulator.service.values import Doc, iso, new_etag


def get(live: Live, job_id: str, conditions: Conditions = NONE) -> Doc:
    """The job or 404 JobNotFound, checked against the request's conditions."""
    doc = live.store.get_job(job_id)
    if doc is None:
        raise errors.job_not_found()
    conditions.check(doc)
    return doc


def pool_of(job: Doc) -> str:
    """The id of the pool a job's tasks run on (its auto pool's, for an auto pool job)."""
    info = job.get("executionInfo") or {}
    return str(info.get("poolId") or (job.get("poolInfo") or {}).get("poolId") or "")


def get_open(live: Live, job_id: str) -> Doc:
    """The job, which must still take tasks (409 when completed, deleting or terminating)."""
    job = get(live, job_id)
    if job["state"] == "completed":
        raise errors.job_completed()
    if job["state"] in ("deleting", "terminating"):
        raise errors.job_in_state(job["state"])
    return job


def create(live: Live, body: Doc, schedule_id: str | None = None) -> Doc:
    """A new job (409 JobExists, or JobBeingDeleted while a job of that id is deleting)."""
    doc = new_job(body, live.endpoint, scheduled=schedule_id is not None)
    existing = live.store.get_job(doc["id"])
    if existing is not None:
        if existing["state"] == "deleting":
            raise errors.job_being_deleted()
        raise errors.job_exists()
    if schedule_id is not None:
        doc["_schedule"] = schedule_id.lower()
    auto = doc["poolInfo"].get("autoPoolSpecification")
    if auto is not None:
        doc["executionInfo"]["poolId"] = _create_auto_pool(live, auto, doc["id"])
    live.store.put_job(doc)
    if doc.get("jobManagerTask"):
        # The job's first task: started before any task added later (Batch starts it when
        # the job is created).
        task = new_task(job_manager.as_task_body(doc["jobManagerTask"]), doc, live.endpoint)
        task["_jobManager"] = True
        live.store.insert_tasks(doc["id"], pool_of(doc), [(task, 0, [])])
    lifecycle.note_job_deadline(live, doc)
    live.dirty_jobs.add(doc["id"])
    live.poke()
    return doc


def _create_auto_pool(live: Live, spec: Doc, owner: str) -> str:
    """The pool of an auto pool specification, created now (Batch names it by a GUID, after
    autoPoolIdPrefix when given); it goes when its job does unless keepAlive is set."""
    prefix = spec.get("autoPoolIdPrefix")
    pool_id = str(uuid.uuid4()).upper()
    if prefix:
        pool_id = f"{prefix}_{pool_id}"
    body = {**spec["pool"], "id": pool_id}
    doc = new_pool(body, live.endpoint)
    # As a pool created on its own: a container pool needs an engine here, and a formula
    # sets the first targets at once (then every evaluation interval).
    containers.check_engine(live, doc)
    doc["_autoPoolOf"] = owner.lower()
    pools.start_allocation(live, doc)
    live.store.put_pool(doc)
    return pool_id


def list_all(live: Live) -> list[Doc]:
    """Every job, by id."""
    return live.store.list_jobs()


def disable(live: Live, job_id: str, body: Doc, conditions: Conditions) -> None:
    """disable: requeue, terminate or wait for the running tasks; no new task starts."""
    job = get(live, job_id, conditions)
    option = str(body.get("disableTasks") or "")
    if option not in ("requeue", "terminate", "wait"):
        raise errors.invalid_property("disableTasks", option)
    if job["state"] != "active":
        raise errors.job_not_active(job["state"])
    lifecycle.disable_job(live, job, option)


def enable(live: Live, job_id: str, conditions: Conditions) -> None:
    """enable: a disabled job is active again."""
    job = get(live, job_id, conditions)
    if job["state"] != "disabled":
        raise errors.job_not_active(job["state"])
    lifecycle.enable_job(live, job)


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
        # removed"); poolInfo is required; metadata the body omits is removed.
        if not body.get("poolInfo"):
            raise errors.missing_property("poolInfo")
        body = {**_REPLACE_DEFAULTS, "metadata": [], **body}
    if "constraints" in body:
        body["constraints"] = job_docs.job_constraints(body["constraints"])
    pool_info = body.pop("poolInfo", None)
    if pool_info is not None and not _same_pool(job, pool_info):
        # Batch moves a job to another pool only while it is disabled.
        if job["state"] != "disabled":
            raise errors.job_pool_change()
        job["poolInfo"] = job_docs.pool_info(pool_info)
        job["executionInfo"]["poolId"] = job["poolInfo"].get("poolId", "")
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


def _same_pool(job: Doc, info: object) -> bool:
    """Whether a poolInfo names the job's own pool (or, for an auto pool job, an auto pool)."""
    if not isinstance(info, dict):
        return False
    if info.get("autoPoolSpecification") is not None:
        return job["poolInfo"].get("autoPoolSpecification") is not None
    return str(info.get("poolId", "")).lower() == str(job["poolInfo"].get("poolId", "")).lower()


def terminate(live: Live, job_id: str, reason: str, conditions: Conditions) -> Doc:
    """The job completes now."""
    job = get(live, job_id, conditions)
    if job["state"] == "completed":
        raise errors.job_completed()
    if job["state"] == "deleting":
        raise errors.job_being_deleted()
    if job["state"] == "terminating":
        raise errors.job_in_state("terminating")
    lifecycle.terminate_job(live, job["id"], reason)
    return get(live, job["id"])


def delete(live: Live, job_id: str, conditions: Conditions) -> None:
    """The job is deleting; its tasks are killed now, it and its directories go later."""
    lifecycle.mark_job_deleting(live, get(live, job_id, conditions))


def task_counts(live: Live, job_id: str) -> Doc:
    """Task and slot counts by state, from one aggregate."""
    job = get(live, job_id)
    c = live.store.counts(job["id"])
    keys = ("active", "running", "completed", "succeeded", "failed")
    return {
        "taskCounts": {k: c[k] for k in keys},
        "taskSlotCounts": {k: c["slot_" + k] for k in keys},
    }
