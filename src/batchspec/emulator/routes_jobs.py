"""Jobs: create, list, get, update, terminate, delete, task counts."""

from __future__ import annotations

import asyncio
import shutil

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from batchspec.emulator import shapes
from batchspec.emulator.execution import complete_job, note_job_deadline
from batchspec.emulator.http import (
    accepted,
    check_conditions,
    created,
    entity,
    page,
    read_json,
    skiptoken,
)
from batchspec.emulator.node import node_dirs
from batchspec.emulator.resources import UNLIMITED, new_job
from batchspec.emulator.state import Live
from batchspec.emulator.wire import (
    BatchError,
    Doc,
    invalid_property,
    iso,
    missing_property,
    new_etag,
    not_found,
)


def get_job_doc(live: Live, job_id: str) -> Doc:
    """The job or 404 JobNotFound."""
    doc = live.store.get_job(job_id)
    if doc is None:
        raise not_found("Job", "job")
    return doc


async def create_job(request: Request, live: Live) -> Response:
    """POST /jobs: 201, or 409 JobExists."""
    body = await read_json(request)
    doc = new_job(body, live.endpoint)
    if live.store.get_job(doc["id"]) is not None:
        raise BatchError(409, "JobExists", "The specified job already exists.")
    live.store.put_job(doc)
    note_job_deadline(live, doc)
    live.dirty_jobs.add(doc["id"])
    live.poke()
    return created(doc, doc["url"])


async def list_jobs(request: Request, live: Live) -> Response:
    """GET /jobs, paged."""
    after = skiptoken(request)
    rows = ((i, d) for i, d in enumerate(live.store.list_jobs(), 1) if i > after)
    return page(request, live, "/jobs", "jobs", rows)


async def get_job(request: Request, live: Live) -> Response:
    """GET /jobs/{job}."""
    return entity(request, get_job_doc(live, request.path_params["job_id"]), "jobs", live)


_REPLACE_DEFAULTS: Doc = {
    "priority": 0,
    "maxParallelTasks": -1,
    "allowTaskPreemption": False,
    "onAllTasksComplete": "noaction",
    "constraints": {"maxWallClockTime": UNLIMITED, "maxTaskRetryCount": 0},
}


async def update_job(request: Request, live: Live) -> Response:
    """PATCH (update) and PUT (replace) of the mutable job properties."""
    job = get_job_doc(live, request.path_params["job_id"])
    check_conditions(request, job)
    body = await read_json(request)
    if job["state"] in ("completed", "deleting", "terminating"):
        raise BatchError(
            409,
            "JobCompleted" if job["state"] == "completed" else "JobBeingDeleted",
            f"The specified job is in the {job['state']} state.",
        )
    shapes.check_job(body)
    if request.method == "PUT":
        # Replace: every updatable property the body omits goes back to its default (Batch:
        # "if constraints is not specified with this request, the existing constraints are
        # removed"); poolInfo is required.
        if not body.get("poolInfo"):
            raise missing_property("poolInfo")
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
            raise BatchError(
                409,
                "OperationInvalidForCurrentState",
                "The pool of a job can only be changed while the job is disabled.",
                [("PropertyName", "poolInfo")],
            )
    if "onAllTasksComplete" in body:
        if body["onAllTasksComplete"] not in ("noaction", "terminatejob"):
            raise invalid_property("onAllTasksComplete", body["onAllTasksComplete"])
        if (
            job.get("onAllTasksComplete") == "terminatejob"
            and body["onAllTasksComplete"] == "noaction"
        ):
            raise invalid_property(
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
    stamp = iso()
    job.update({"eTag": new_etag(), "lastModified": stamp})
    live.store.put_job(job)
    note_job_deadline(live, job)
    live.dirty_jobs.add(job["id"])
    live.poke()
    return accepted(job, status=200)


async def terminate_job(request: Request, live: Live) -> Response:
    """POST /jobs/{job}/terminate: the job completes now (202)."""
    job = get_job_doc(live, request.path_params["job_id"])
    check_conditions(request, job)
    body = await read_json(request)
    if job["state"] == "completed":
        raise BatchError(409, "JobCompleted", "The specified job is already in a completed state.")
    if job["state"] == "deleting":
        raise BatchError(
            409,
            "JobBeingDeleted",
            "The specified job has been marked for deletion and is being garbage collected.",
        )
    complete_job(live, job["id"], str(body.get("terminateReason") or "UserTerminate"))
    live.poke()
    return accepted(live.store.get_job(job["id"]))


async def delete_job(request: Request, live: Live) -> Response:
    """DELETE /jobs/{job}: kill its tasks, remove it and its task directories (202)."""
    job = get_job_doc(live, request.path_params["job_id"])
    check_conditions(request, job)
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
    return accepted()


async def task_counts(request: Request, live: Live) -> Response:
    """GET /jobs/{job}/taskcounts: task and slot counts from one aggregate."""
    job = get_job_doc(live, request.path_params["job_id"])
    c = live.store.counts(job["id"])
    keys = ("active", "running", "completed", "succeeded", "failed")
    return JSONResponse(
        {
            "taskCounts": {k: c[k] for k in keys},
            "taskSlotCounts": {k: c["slot_" + k] for k in keys},
        }
    )
