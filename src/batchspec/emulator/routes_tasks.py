"""Tasks: create one, create a collection (at most 100, under 1 MiB), list, get, terminate,
reactivate, delete.
"""

from __future__ import annotations

from collections.abc import Iterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from batchspec.emulator.execution import transition
from batchspec.emulator.http import (
    accepted,
    check_conditions,
    created,
    entity,
    page,
    read_json,
    skiptoken,
)
from batchspec.emulator.resources import dependency_ids, new_task
from batchspec.emulator.routes_jobs import get_job_doc
from batchspec.emulator.state import Live
from batchspec.emulator.wire import BatchError, Doc, iso, new_etag, not_found

MAX_TASKS_PER_COLLECTION = 100


def _open_job(live: Live, job_id: str) -> Doc:
    job = get_job_doc(live, job_id)
    if job["state"] == "completed":
        raise BatchError(409, "JobCompleted", "The specified job is already in a completed state.")
    if job["state"] in ("deleting", "terminating"):
        raise BatchError(
            409,
            "JobBeingTerminated" if job["state"] == "terminating" else "JobBeingDeleted",
            f"The specified job is in the {job['state']} state.",
        )
    return job


def _blocked(live: Live, job_id: str, deps: list[str], adding: dict[str, int]) -> int:
    """How many dependencies are not yet satisfied (tasks added in the same call count as not)."""
    if not deps:
        return 0
    existing = [d for d in deps if d not in adding]
    satisfied = 0
    for dep in existing:
        doc = live.store.get_task(job_id, dep)
        if doc is not None and doc.get("_satisfies"):
            satisfied += 1
    return len(deps) - satisfied


def _exists() -> BatchError:
    return BatchError(409, "TaskExists", "The specified task already exists.")


async def create_task(request: Request, live: Live) -> Response:
    """POST /jobs/{job}/tasks: 201, or 409 TaskExists."""
    job = _open_job(live, request.path_params["job_id"])
    doc = new_task(await read_json(request), job, live.endpoint)
    if live.store.existing_task_ids(job["id"], [doc["id"]]):
        raise _exists()
    deps = dependency_ids(doc)
    blocked = _blocked(live, job["id"], deps, {})
    live.store.insert_tasks(job["id"], job["poolInfo"]["poolId"], [(doc, blocked, deps)])
    live.dirty_jobs.add(job["id"])
    live.poke()
    return created(doc, doc["url"])


def _result_error(task_id: str, err: BatchError) -> Doc:
    error: Doc = {"code": err.code, "message": {"lang": "en-US", "value": err.message}}
    if err.values:
        error["values"] = [{"key": k, "value": v} for k, v in err.values]
    return {"status": "clienterror", "taskId": task_id, "error": error}


async def create_task_collection(request: Request, live: Live) -> Response:
    """POST /jobs/{job}/addtaskcollection: per-task results."""
    job = _open_job(live, request.path_params["job_id"])
    body = await read_json(request)
    values = body.get("value") if isinstance(body, dict) else None
    if not isinstance(values, list):
        raise BatchError(
            400,
            "MissingRequiredProperty",
            "A required property was not specified in the request body.",
            [("PropertyName", "value")],
        )
    if len(values) > MAX_TASKS_PER_COLLECTION:
        raise BatchError(
            413,
            "RequestBodyTooLarge",
            "The request body is too large and exceeds the maximum permissible limit.",
            [("MaxTaskCount", str(MAX_TASKS_PER_COLLECTION))],
        )
    ids = [str(v.get("id", "")) for v in values if isinstance(v, dict)]
    existing = {i.lower() for i in live.store.existing_task_ids(job["id"], ids)}
    results: list[Doc] = []
    accepted_docs: list[tuple[Doc, list[str]]] = []
    seen: dict[str, int] = {}
    for raw in values:
        task_id = str(raw.get("id", "")) if isinstance(raw, dict) else ""
        try:
            doc = new_task(raw, job, live.endpoint)
            if doc["id"].lower() in existing or doc["id"].lower() in seen:
                raise _exists()
        except BatchError as err:
            results.append(_result_error(task_id, err))
            continue
        seen[doc["id"].lower()] = 1
        accepted_docs.append((doc, dependency_ids(doc)))
    adding = {d["id"]: 1 for d, _ in accepted_docs}
    rows = [
        (d, _blocked(live, job["id"], deps, adding) if deps else 0, deps)
        for d, deps in accepted_docs
    ]
    live.store.insert_tasks(job["id"], job["poolInfo"]["poolId"], rows)
    for doc, _b, _d in rows:
        results.append(
            {
                "status": "success",
                "taskId": doc["id"],
                "eTag": doc["eTag"],
                "lastModified": doc["lastModified"],
                "location": doc["url"],
            }
        )
    live.dirty_jobs.add(job["id"])
    live.poke()
    return JSONResponse({"value": results})


def _task_rows(live: Live, job_id: str, after: int) -> Iterator[tuple[int, Doc]]:
    while True:
        chunk = live.store.list_tasks(job_id, after, 500)
        if not chunk:
            return
        yield from chunk
        after = chunk[-1][0]


async def list_tasks(request: Request, live: Live) -> Response:
    """GET /jobs/{job}/tasks, paged in creation order."""
    job = get_job_doc(live, request.path_params["job_id"])
    rows = _task_rows(live, job["id"], skiptoken(request))
    return page(request, live, f"/jobs/{job['id']}/tasks", "tasks", rows)


def get_task_doc(live: Live, job_id: str, task_id: str) -> Doc:
    """The task (in an existing job) or 404 TaskNotFound."""
    get_job_doc(live, job_id)
    doc = live.store.get_task(job_id, task_id)
    if doc is None:
        raise not_found("Task", "task")
    return doc


async def get_task(request: Request, live: Live) -> Response:
    """GET /jobs/{job}/tasks/{task}."""
    doc = get_task_doc(live, request.path_params["job_id"], request.path_params["task_id"])
    return entity(request, doc, "tasks", live)


async def replace_task(request: Request, live: Live) -> Response:
    """PUT: a task's constraints are the only thing Batch lets you change."""
    job_id = get_job_doc(live, request.path_params["job_id"])["id"]
    doc = get_task_doc(live, job_id, request.path_params["task_id"])
    check_conditions(request, doc)
    body = await read_json(request)
    if "constraints" in body:
        doc["constraints"] = {**(doc.get("constraints") or {}), **(body["constraints"] or {})}
    doc["eTag"], doc["lastModified"] = new_etag(), iso()
    live.store.put_task(job_id, doc)
    return accepted(doc, status=200)


async def terminate_task(request: Request, live: Live) -> Response:
    """POST .../terminate: an active task completes, a running one is killed (204)."""
    job_id = get_job_doc(live, request.path_params["job_id"])["id"]
    doc = get_task_doc(live, job_id, request.path_params["task_id"])
    check_conditions(request, doc)
    if doc["state"] == "active":
        transition(doc, "completed", iso())
        doc["eTag"] = new_etag()
        live.store.put_task(job_id, doc)
        live.dirty_jobs.add(job_id)
    entry = live.tasks.get((job_id, doc["id"]))
    if entry is not None:
        entry[0].kill("terminate")
    live.poke()
    return accepted(live.store.get_task(job_id, doc["id"]) or doc, status=204)


async def reactivate_task(request: Request, live: Live) -> Response:
    """POST .../reactivate: a failed task goes back to active (204)."""
    job_id = request.path_params["job_id"]
    doc = get_task_doc(live, job_id, request.path_params["task_id"])
    check_conditions(request, doc)
    if doc["state"] != "completed" or (doc.get("executionInfo") or {}).get("result") != "failure":
        raise BatchError(
            409,
            "TaskNotInFailedState" if doc["state"] == "completed" else "TaskNotCompleted",
            "Only a task that completed with a failure can be reactivated.",
        )
    info = doc.setdefault("executionInfo", {})
    info.update({"retryCount": 0})
    for key in ("endTime", "exitCode", "result", "failureInfo"):
        info.pop(key, None)
    transition(doc, "active", iso())
    doc["eTag"] = new_etag()
    live.store.put_task(job_id, doc)
    live.poke()
    return accepted(doc, status=204)


async def delete_task(request: Request, live: Live) -> Response:
    """DELETE /jobs/{job}/tasks/{task}: killed if running, then removed."""
    job_id = get_job_doc(live, request.path_params["job_id"])["id"]
    doc = get_task_doc(live, job_id, request.path_params["task_id"])
    check_conditions(request, doc)
    entry = live.tasks.get((job_id, doc["id"]))
    if entry is not None:
        entry[0].kill("delete")
    live.store.delete_task(job_id, doc["id"])
    live.dirty_jobs.add(job_id)
    live.poke()
    return accepted(status=200)
