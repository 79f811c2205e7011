"""State changes of tasks: assignment, attempts, the recorded end with what follows from it,
requeue, terminate, reactivate, delete."""

from __future__ import annotations

from typing import Any

from batchspec.emulator.service import job_manager
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import Doc, iso, new_etag


def failure(code: str, message: str, category: str = "usererror") -> Doc:
    """A failureInfo object as Batch reports it."""
    return {
        "category": category,
        "code": code,
        "message": message,
        "details": [{"name": "Message", "value": message}],
    }


def transition(task: Doc, state: str, stamp: str) -> None:
    """Move a task to `state`, keeping its previous state as Batch reports it."""
    task["previousState"] = task.get("state")
    task["previousStateTransitionTime"] = task.get("stateTransitionTime")
    task["state"], task["stateTransitionTime"] = state, stamp


def _requeue(task: Doc, stamp: str) -> None:
    info = task.setdefault("executionInfo", {})
    info["requeueCount"] = int(info.get("requeueCount", 0)) + 1
    info["lastRequeueTime"] = stamp
    task.pop("nodeInfo", None)
    task.pop("_subtasks", None)  # a multi-instance task gets new ones where it runs next
    task["previousState"], task["state"], task["stateTransitionTime"] = (
        task["state"],
        "active",
        stamp,
    )


def requeue_on(live: Live, node_ids: set[str]) -> None:
    """Put tasks running on these nodes back in the queue (requeue, as Batch does)."""
    store = live.store
    with store.transaction():
        for (job_id, task_id), (_h, node_id) in list(live.tasks.items()):
            task = store.get_task(job_id, task_id)
            if node_id in node_ids and task is not None and task["state"] != "completed":
                _requeue(task, iso())
                store.put_task(job_id, task)


def requeue_task(live: Live, job_id: str, task: Doc) -> None:
    """One task back in the queue (its node could not run it)."""
    _requeue(task, iso())
    live.store.put_task(job_id, task)


def requeue_in_flight(live: Live, stamp: str) -> None:
    """After a restart, every task that was preparing or running goes back to the queue."""
    store = live.store
    with store.transaction():
        for job_id, task in store.tasks_in_flight():
            _requeue(task, stamp)
            store.put_task(job_id, task)


def assign(task: Doc, node_info: Doc, stamp: str) -> None:
    """A task given to a node: preparing, with the node it runs on."""
    task["previousState"], task["previousStateTransitionTime"] = (
        task["state"],
        task["stateTransitionTime"],
    )
    task["state"], task["stateTransitionTime"] = "preparing", stamp
    task["nodeInfo"] = node_info
    task["eTag"] = new_etag()


def start_attempt(task: Doc, stamp: str) -> None:
    """A task's process (first run or a retry) is about to start: running."""
    info = task.setdefault("executionInfo", {})
    info["startTime"] = stamp
    for key in ("endTime", "exitCode", "result", "failureInfo"):
        info.pop(key, None)
    if task["state"] != "running":
        transition(task, "running", stamp)


def note_retry(task: Doc) -> None:
    """A failed attempt that will be retried."""
    task["executionInfo"]["retryCount"] = int(task["executionInfo"].get("retryCount", 0)) + 1
    task["executionInfo"]["lastRetryTime"] = iso()


def finish_task(live: Live, job_id: str, task: Doc, outcome: dict[str, Any], options: Doc) -> None:
    """Record a task's end, release its dependants and apply its job action, as one commit."""
    from batchspec.emulator.service.lifecycle.jobs import terminate_job

    store = live.store
    stamp = iso()
    info = task.setdefault("executionInfo", {})
    info.update({"endTime": stamp, "result": outcome["result"]})
    if outcome.get("exitCode") is not None:
        info["exitCode"] = outcome["exitCode"]
    if outcome.get("failureInfo"):
        info["failureInfo"] = outcome["failureInfo"]
    else:
        info.pop("failureInfo", None)
    transition(task, "completed", stamp)
    success = outcome["result"] == "success"
    # Batch: dependencyAction defaults to satisfy for exit code 0 and to block otherwise.
    satisfies = options.get("dependencyAction", "satisfy" if success else "block") == "satisfy"
    task["_satisfies"] = satisfies
    task["eTag"], task["lastModified"] = new_etag(), stamp
    with store.transaction():
        store.put_task(job_id, task)
        if satisfies:
            release_dependants(live, job_id, task["id"])
        job = store.get_job(job_id)
        if job is not None and job.get("onTaskFailure") == "performexitoptionsjobaction":
            action = options.get("jobAction") or ("none" if success else "terminate")
            if action == "terminate":
                terminate_job(live, job_id, "TaskFailed")
            elif action == "disable":
                from batchspec.emulator.service.lifecycle.jobs import disable_job

                disable_job(live, job, "requeue")
        if job is not None and job_manager.ends_job(job, task):
            terminate_job(live, job_id, "JMComplete")
    live.dirty_jobs.add(job_id)


def release_dependants(live: Live, job_id: str, task_id: str) -> None:
    """Recount what each task depending on `task_id` still waits for."""
    store = live.store
    for dependant in store.dependants(job_id, task_id):
        store.set_blocked(job_id, dependant, store.unsatisfied(job_id, dependant, set()))


def recount_blocked(live: Live) -> None:
    """Recount every waiting task's unsatisfied dependencies (after a restart: a store written
    before dependants were released in the same commit may hold stale counts)."""
    store = live.store
    with store.transaction():
        for job_id, task_id in store.waiting_dependants():
            store.set_blocked(job_id, task_id, store.unsatisfied(job_id, task_id, set()))


def terminate_task(live: Live, job_id: str, task: Doc) -> None:
    """A terminate: an active task completes unrun; a running one is killed (and ends)."""
    if task["state"] == "active":
        transition(task, "completed", iso())
        task["eTag"] = new_etag()
        live.store.put_task(job_id, task)
        live.dirty_jobs.add(job_id)
    entry = live.tasks.get((job_id, task["id"]))
    if entry is not None:
        entry[0].kill("terminate")
    live.poke()


def reactivate_task(live: Live, job_id: str, task: Doc) -> None:
    """A failed task goes back to active with its retry count reset."""
    info = task.setdefault("executionInfo", {})
    info.update({"retryCount": 0})
    for key in ("endTime", "exitCode", "result", "failureInfo"):
        info.pop(key, None)
    transition(task, "active", iso())
    task["eTag"] = new_etag()
    live.store.put_task(job_id, task)
    live.poke()


def delete_task(live: Live, job_id: str, task: Doc) -> None:
    """A task deleted: killed if running, then removed."""
    entry = live.tasks.get((job_id, task["id"]))
    if entry is not None:
        entry[0].kill("delete")
    live.store.delete_task(job_id, task["id"])
    live.dirty_jobs.add(job_id)
    live.poke()
