"""The lifecycle of a task and of a node's StartTask: resource files, environment, attempts
with retries and the wall clock, output upload, the recorded result, and what follows from it
(dependants unblocked, exit-condition job actions, job completion).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from batchspec.emulator import node as nodes
from batchspec.emulator.runner import KILLED_EXIT_CODE, Handle, Outcome, run_command
from batchspec.emulator.state import Live
from batchspec.emulator.storage_io import TransferError, fetch_resource_files, upload_outputs
from batchspec.emulator.wire import Doc, iso, new_etag, parse_duration, parse_iso

log = logging.getLogger(__name__)


def failure(code: str, message: str, category: str = "usererror") -> Doc:
    """A failureInfo object as Batch reports it."""
    return {
        "category": category,
        "code": code,
        "message": message,
        "details": [{"name": "Message", "value": message}],
    }


def _exit_options(task: Doc, exit_code: int | None, kind: str | None) -> Doc:
    """The ExitOptions that apply to how the task ended (exitConditions), or {}."""
    cond = task.get("exitConditions") or {}
    if kind == "preprocessing":
        return dict(cond.get("preProcessingError") or cond.get("default") or {})
    if kind == "fileupload":
        return dict(cond.get("fileUploadError") or cond.get("default") or {})
    if exit_code is not None:
        for m in cond.get("exitCodes") or []:
            if m.get("code") == exit_code:
                return dict(m.get("exitOptions") or {})
        for r in cond.get("exitCodeRanges") or []:
            if r.get("start", 0) <= exit_code <= r.get("end", -1):
                return dict(r.get("exitOptions") or {})
        if exit_code == 0:
            return {}
    return dict(cond.get("default") or {})


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
        new_state = "running" if used > 0 else "idle"
        if new_state != doc["state"]:
            doc["state"], doc["stateTransitionTime"] = new_state, iso()
    live.store.put_node(doc["_poolId"], doc)


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
    for task in store.tasks_in_states(job_id, ("active",)):
        transition(task, "completed", stamp)
        store.put_task(job_id, task)
    live.kill_tasks("terminate", job_id=job_id)
    job["previousState"], job["previousStateTransitionTime"] = (
        job["state"],
        job["stateTransitionTime"],
    )
    job["state"], job["stateTransitionTime"] = "completed", stamp
    job.setdefault("executionInfo", {}).update({"endTime": stamp, "terminateReason": reason})
    job["eTag"], job["lastModified"] = new_etag(), stamp
    store.put_job(job)


def transition(task: Doc, state: str, stamp: str) -> None:
    """Move a task to `state`, keeping its previous state as Batch reports it."""
    task["previousState"] = task.get("state")
    task["previousStateTransitionTime"] = task.get("stateTransitionTime")
    task["state"], task["stateTransitionTime"] = state, stamp


def _finish(live: Live, job_id: str, task: Doc, outcome: dict[str, Any], options: Doc) -> None:
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
    satisfies = success or options.get("dependencyAction") == "satisfy"
    task["_satisfies"] = satisfies
    task["eTag"], task["lastModified"] = new_etag(), stamp
    store.put_task(job_id, task)
    if satisfies:
        for dependant in store.dependants(job_id, task["id"]):
            store.set_blocked(job_id, dependant, store.unsatisfied(job_id, dependant, set()))
    job = store.get_job(job_id)
    if job is not None and job.get("onTaskFailure") == "performexitoptionsjobaction":
        action = options.get("jobAction") or ("none" if success else "terminate")
        if action == "terminate":
            complete_job(live, job_id, "TaskFailed")
    live.dirty_jobs.add(job_id)


async def run_task(
    live: Live, job_id: str, task_id: str, node_id: str, slots: int, handle: Handle
) -> None:
    """Run an assigned task to completion on its node (slots were reserved by the scheduler)."""
    succeeded = 0
    try:
        succeeded = await _run_task(live, job_id, task_id, node_id, handle)
    except Exception as exc:
        # An emulator fault must not leave the task running forever: record it as Batch
        # records an internal error.
        log.exception("task %s/%s failed inside the emulator", job_id, task_id)
        task = live.store.get_task(job_id, task_id)
        if task is not None and task["state"] != "completed":
            fault = failure(
                "InternalError",
                f"The local Batch service failed: {type(exc).__name__}",
                "servererror",
            )
            _finish(live, job_id, task, {"result": "failure", "failureInfo": fault}, {})
    finally:
        if live.tasks.get((job_id, task_id), (None, ""))[0] is handle:
            live.tasks.pop((job_id, task_id), None)
        live.used_slots[node_id] = max(0, live.used_slots.get(node_id, 0) - slots)
        set_node_load(live, node_id, succeeded=succeeded)
        live.poke()


async def _run_task(live: Live, job_id: str, task_id: str, node_id: str, handle: Handle) -> int:
    store = live.store
    task, job, node = (
        store.get_task(job_id, task_id),
        store.get_job(job_id),
        store.get_node(node_id),
    )
    pool = store.get_pool(node["_poolId"]) if node else None
    if task is None or job is None or node is None or pool is None:
        return 0
    dirs = nodes.node_dirs(live.data_dir, node_id)
    task_dir = dirs.task_dir(job_id, task_id)
    wd = task_dir / "wd"
    wd.mkdir(parents=True, exist_ok=True)
    try:
        if task.get("resourceFiles"):
            await asyncio.to_thread(fetch_resource_files, list(task["resourceFiles"]), wd)
    except TransferError as exc:
        outcome = {"result": "failure", "failureInfo": failure(exc.code, exc.message)}
        _finish(live, job_id, task, outcome, _exit_options(task, None, "preprocessing"))
        return 0
    env = nodes.task_environment(
        nodes.base_environment(live.account, live.endpoint, pool, node, dirs), job, task, dirs
    )
    constraints = task.get("constraints") or {}
    timeout = parse_duration(str(constraints.get("maxWallClockTime") or ""))
    max_retries = int(constraints.get("maxTaskRetryCount") or 0)
    while True:
        task = store.get_task(job_id, task_id)
        if task is None or task["state"] == "completed":
            return 0
        if handle.killed_reason == "terminate":  # ended before its process started
            ended = failure("TaskEnded", "Task Was Ended by User Request")
            _finish(live, job_id, task, {"result": "failure", "failureInfo": ended}, {})
            return 0
        if handle.killed_reason:
            return 0
        stamp = iso()
        info = task.setdefault("executionInfo", {})
        info["startTime"] = stamp
        for key in ("endTime", "exitCode", "result", "failureInfo"):
            info.pop(key, None)
        if task["state"] != "running":
            transition(task, "running", stamp)
        store.put_task(job_id, task)
        result = await run_command(task["commandLine"], wd, env, task_dir, timeout, handle)
        if result.killed_reason in ("shutdown", "delete", "requeue"):
            return 0  # a reboot or a deletion: nothing to record here (see scheduler.recover)
        outcome, kind = _judge(result)
        task = store.get_task(job_id, task_id)
        if task is None:
            return 0
        try:
            if task.get("outputFiles"):
                success = outcome["result"] == "success"
                await asyncio.to_thread(upload_outputs, list(task["outputFiles"]), wd, success)
        except TransferError as exc:
            outcome = {
                **outcome,
                "result": "failure",
                "failureInfo": failure(exc.code, exc.message),
            }
            kind = "fileupload"
        retry = (
            kind == "exit"
            and outcome["result"] == "failure"
            and (max_retries == -1 or int(task["executionInfo"].get("retryCount", 0)) < max_retries)
        )
        if not retry:
            _finish(live, job_id, task, outcome, _exit_options(task, result.exit_code, kind))
            return 1 if outcome["result"] == "success" else 0
        task["executionInfo"]["retryCount"] = int(task["executionInfo"].get("retryCount", 0)) + 1
        task["executionInfo"]["lastRetryTime"] = iso()
        store.put_task(job_id, task)


def _judge(result: Outcome) -> tuple[dict[str, Any], str]:
    """Result, exit code and failureInfo for one attempt, and the kind of ending."""
    if result.start_error:
        return {
            "result": "failure",
            "failureInfo": failure(result.start_error, result.start_message),
        }, "preprocessing"
    if result.killed_reason == "terminate":
        return {
            "result": "failure",
            "exitCode": KILLED_EXIT_CODE,
            "failureInfo": failure("TaskEnded", "Task Was Ended by User Request"),
        }, "terminated"
    if result.timed_out:
        return {
            "result": "failure",
            "exitCode": KILLED_EXIT_CODE,
            "failureInfo": failure(
                "TaskEnded",
                "The task exceeded its maximum wall clock time (maxWallClockTime) and was ended",
            ),
        }, "timeout"
    if result.exit_code == 0:
        return {"result": "success", "exitCode": 0}, "exit"
    return {
        "result": "failure",
        "exitCode": result.exit_code,
        "failureInfo": failure(
            "FailureExitCode", "The task process exited with an unexpected exit code"
        ),
    }, "exit"
