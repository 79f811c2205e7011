"""Tasks: Batch's rules for adding (one, or a collection of at most 100), changing,
terminating, reactivating and deleting them.
"""

from __future__ import annotations

from collections.abc import Iterator

from batchspec.emulator.service import errors, jobs, lifecycle
from batchspec.emulator.service.conditions import NONE, Conditions
from batchspec.emulator.service.errors import BatchError
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.validation import dependency_ids, new_task
from batchspec.emulator.service.values import Doc, iso, new_etag

MAX_TASKS_PER_COLLECTION = 100


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


def add(live: Live, job_id: str, body: Doc) -> Doc:
    """One new task (409 TaskExists)."""
    job = jobs.get_open(live, job_id)
    doc = new_task(body, job, live.endpoint)
    if live.store.existing_task_ids(job["id"], [doc["id"]]):
        raise errors.task_exists()
    deps = dependency_ids(doc)
    blocked = _blocked(live, job["id"], deps, {})
    live.store.insert_tasks(job["id"], job["poolInfo"]["poolId"], [(doc, blocked, deps)])
    live.dirty_jobs.add(job["id"])
    live.poke()
    return doc


def _result_error(task_id: str, err: BatchError) -> Doc:
    error: Doc = {"code": err.code, "message": {"lang": "en-US", "value": err.message}}
    if err.values:
        error["values"] = [{"key": k, "value": v} for k, v in err.values]
    return {"status": "clienterror", "taskId": task_id, "error": error}


def add_collection(live: Live, job_id: str, body: object) -> list[Doc]:
    """A task collection: every valid task is added; a result per task, as Batch answers."""
    job = jobs.get_open(live, job_id)
    values = body.get("value") if isinstance(body, dict) else None
    if not isinstance(values, list):
        raise errors.missing_property("value")
    if len(values) > MAX_TASKS_PER_COLLECTION:
        raise errors.request_body_too_large("MaxTaskCount", MAX_TASKS_PER_COLLECTION)
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
                raise errors.task_exists()
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
    return results


def rows(live: Live, job_id: str, after: int) -> tuple[str, Iterator[tuple[int, Doc]]]:
    """The job's id and its tasks (cursor, doc) in creation order after a paging cursor."""
    job = jobs.get(live, job_id)

    def chunks(after: int) -> Iterator[tuple[int, Doc]]:
        while True:
            chunk = live.store.list_tasks(job["id"], after, 500)
            if not chunk:
                return
            yield from chunk
            after = chunk[-1][0]

    return job["id"], chunks(after)


def get(live: Live, job_id: str, task_id: str, conditions: Conditions = NONE) -> Doc:
    """The task (in an existing job) or 404 TaskNotFound."""
    jobs.get(live, job_id)
    doc = live.store.get_task(job_id, task_id)
    if doc is None:
        raise errors.task_not_found()
    conditions.check(doc)
    return doc


def replace(live: Live, job_id: str, task_id: str, body: Doc, conditions: Conditions) -> Doc:
    """PUT: a task's constraints are the only thing Batch lets you change."""
    job_id = jobs.get(live, job_id)["id"]
    doc = get(live, job_id, task_id, conditions)
    if "constraints" in body:
        doc["constraints"] = {**(doc.get("constraints") or {}), **(body["constraints"] or {})}
    doc["eTag"], doc["lastModified"] = new_etag(), iso()
    live.store.put_task(job_id, doc)
    return doc


def terminate(live: Live, job_id: str, task_id: str, conditions: Conditions) -> Doc:
    """An active task completes, a running one is killed."""
    job_id = jobs.get(live, job_id)["id"]
    doc = get(live, job_id, task_id, conditions)
    lifecycle.terminate_task(live, job_id, doc)
    return live.store.get_task(job_id, doc["id"]) or doc


def reactivate(live: Live, job_id: str, task_id: str, conditions: Conditions) -> Doc:
    """A failed task goes back to active."""
    doc = get(live, job_id, task_id, conditions)
    if doc["state"] != "completed" or (doc.get("executionInfo") or {}).get("result") != "failure":
        raise errors.task_not_reactivatable(doc["state"])
    lifecycle.reactivate_task(live, job_id, doc)
    return doc


def delete(live: Live, job_id: str, task_id: str, conditions: Conditions) -> None:
    """Killed if running, then removed."""
    job_id = jobs.get(live, job_id)["id"]
    doc = get(live, job_id, task_id, conditions)
    lifecycle.delete_task(live, job_id, doc)
