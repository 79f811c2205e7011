"""Every state change of a pool, node, job and task, in one place.

The API (a terminate, a delete), the scheduler (an assignment, a requeue) and the engine (a task
that ended) all move resources through these functions, so that each transition records what
Batch records with it (previousState, transition times, ETags) and the changes that belong
together are committed together.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import Doc, iso, new_etag, parse_duration, parse_iso


def failure(code: str, message: str, category: str = "usererror") -> Doc:
    """A failureInfo object as Batch reports it."""
    return {
        "category": category,
        "code": code,
        "message": message,
        "details": [{"name": "Message", "value": message}],
    }


# -- tasks -------------------------------------------------------------------------------------
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
                complete_job(live, job_id, "TaskFailed")
    live.dirty_jobs.add(job_id)


def release_dependants(live: Live, job_id: str, task_id: str) -> None:
    """Recount what each task depending on `task_id` still waits for."""
    store = live.store
    for dependant in store.dependants(job_id, task_id):
        store.set_blocked(job_id, dependant, store.unsatisfied(job_id, dependant, set()))


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


# -- jobs --------------------------------------------------------------------------------------
def note_job_deadline(live: Live, job: Doc) -> None:
    """Remember when an active job's maxWallClockTime runs out (from its creation time)."""
    limit = parse_duration(str((job.get("constraints") or {}).get("maxWallClockTime") or ""))
    if live.timed_jobs is None or job.get("state") != "active":
        return
    if limit is None:
        live.timed_jobs.pop(job["id"], None)
    else:
        live.timed_jobs[job["id"]] = parse_iso(job["creationTime"]) + dt.timedelta(seconds=limit)


def complete_job(live: Live, job_id: str, reason: str) -> None:
    """Terminate a job: active tasks complete unrun, running ones are killed, job completed."""
    store = live.store
    job = store.get_job(job_id)
    if job is None or job["state"] not in ("active", "disabled", "terminating"):
        return
    stamp = iso()
    with store.transaction():
        for task in store.tasks_in_states(job_id, ("active",)):
            transition(task, "completed", stamp)
            store.put_task(job_id, task)
        job["previousState"], job["previousStateTransitionTime"] = (
            job["state"],
            job["stateTransitionTime"],
        )
        job["state"], job["stateTransitionTime"] = "completed", stamp
        job.setdefault("executionInfo", {}).update({"endTime": stamp, "terminateReason": reason})
        job["eTag"], job["lastModified"] = new_etag(), stamp
        store.put_job(job)
    live.kill_tasks("terminate", job_id=job_id)


# -- pools and nodes ---------------------------------------------------------------------------
def mark_pool_deleting(live: Live, pool: Doc) -> None:
    """A pool deleted: `deleting` until the scheduler has removed its nodes."""
    if pool["state"] != "deleting":
        pool.update({"state": "deleting", "stateTransitionTime": iso(), "eTag": new_etag()})
        live.store.put_pool(pool)
        live.poke()


def start_resize(live: Live, pool: Doc, targets: dict[str, int]) -> None:
    """New node targets: the pool's allocation state is `resizing` until they are met."""
    pool.update(targets)
    stamp = iso()
    pool.update(
        {
            "allocationState": "resizing",
            "allocationStateTransitionTime": stamp,
            "eTag": new_etag(),
            "lastModified": stamp,
        }
    )
    live.store.put_pool(pool)
    live.poke()


def pool_steady(live: Live, pool: Doc, dedicated: int, spot: int) -> None:
    """The pool's nodes match its targets: allocation state `steady`."""
    stamp = iso()
    pool.update(
        {
            "currentDedicatedNodes": dedicated,
            "currentLowPriorityNodes": spot,
            "allocationState": "steady",
            "allocationStateTransitionTime": stamp,
        }
    )
    live.store.put_pool(pool)


def set_node_state(node: Doc, state: str) -> None:
    """Move a node to `state` (its transition time changes only when the state does)."""
    if node.get("state") != state:
        node["state"], node["stateTransitionTime"] = state, iso()


def set_node_load(live: Live, node_id: str, started: int = 0, succeeded: int = 0) -> None:
    """Refresh a node's running counts and idle/running state after a slot change."""
    doc = live.store.get_node(node_id)
    if doc is None:
        return
    used = live.used_slots.get(node_id, 0)
    running = sum(1 for (_h, n) in live.tasks.values() if n == node_id)
    doc["runningTaskSlotsCount"] = used
    doc["runningTasksCount"] = running
    doc["totalTasksRun"] = int(doc.get("totalTasksRun", 0)) + started
    doc["totalTasksSucceeded"] = int(doc.get("totalTasksSucceeded", 0)) + succeeded
    if doc["state"] in ("idle", "running"):
        set_node_state(doc, "running" if used > 0 else "idle")
    live.store.put_node(doc["_poolId"], doc)


def reboot_all(live: Live, stamp: str) -> list[tuple[Doc, Doc]]:
    """After a restart every node reboots; returns (pool, node) for the nodes to boot again."""
    store = live.store
    booting: list[tuple[Doc, Doc]] = []
    with store.transaction():
        for pool in store.list_pools():
            for node in store.list_nodes(pool["id"]):
                node.update(
                    {
                        "state": "rebooting",
                        "stateTransitionTime": stamp,
                        "runningTasksCount": 0,
                        "runningTaskSlotsCount": 0,
                    }
                )
                store.put_node(pool["id"], node)
                booting.append((pool, node))
    return booting


def start_task_done(
    live: Live, node_id: str, wait: bool, exit_code: int | None, fail: Doc | None
) -> None:
    """A StartTask ended: its info completed; the node usable, or `starttaskfailed`."""
    node = live.store.get_node(node_id)
    if node is None:
        return
    info = node["startTaskInfo"]
    info.update({"state": "completed", "endTime": iso()})
    info["result"] = "failure" if fail else "success"
    if exit_code is not None:
        info["exitCode"] = exit_code
    if fail:
        info["failureInfo"] = fail
    if fail and wait:
        set_node_state(node, "starttaskfailed")
    elif node["state"] in ("waitingforstarttask", "starting"):
        set_node_state(node, "idle")
    live.store.put_node(node["_poolId"], node)
