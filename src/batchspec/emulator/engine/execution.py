"""Running a task on its node: resource files, environment, attempts with retries and the
wall clock, output upload, and the result handed to the lifecycle (service/lifecycle.py), which
records it with what follows from it (dependants unblocked, exit-condition job actions).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import sqlite3
from typing import Any

from batchspec.emulator.engine import environment, job_tasks
from batchspec.emulator.engine.container_tasks import run_in_container
from batchspec.emulator.engine.runner import KILLED_EXIT_CODE, Handle, Outcome, run_command
from batchspec.emulator.engine.storage_io import (
    TransferError,
    fetch_resource_files,
    upload_outputs,
)
from batchspec.emulator.service import lifecycle
from batchspec.emulator.service.exit_conditions import exit_options
from batchspec.emulator.service.layout import node_dirs
from batchspec.emulator.service.lifecycle import failure
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import Doc, iso, parse_duration

log = logging.getLogger(__name__)


def _is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    return isinstance(exc, sqlite3.OperationalError) and "full" in str(exc)


def _record(live: Live, job_id: str, task: Doc, outcome: dict[str, Any], options: Doc) -> None:
    """Record a task's end; if the store cannot be written (a full disk), keep it and let the
    scheduler retry until it can, so that the task never stays running for ever."""

    def commit() -> None:
        lifecycle.finish_task(live, job_id, task, outcome, options)

    try:
        commit()
    except (sqlite3.Error, OSError):
        log.exception("cannot record the end of task %s/%s yet; will retry", job_id, task["id"])
        live.pending.append(commit)


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
        try:
            task = live.store.get_task(job_id, task_id)
        except sqlite3.Error:
            task = None
        if task is not None and task["state"] != "completed":
            if _is_disk_full(exc):
                fault = failure("DiskFull", "The compute node disk ran out of space.")
            else:
                fault = failure(
                    "InternalError",
                    f"The local Batch service failed: {type(exc).__name__}",
                    "servererror",
                )
            _record(live, job_id, task, {"result": "failure", "failureInfo": fault}, {})
    finally:
        if live.tasks.get((job_id, task_id), (None, ""))[0] is handle:
            live.tasks.pop((job_id, task_id), None)
        live.used_slots[node_id] = max(0, live.used_slots.get(node_id, 0) - slots)
        try:
            lifecycle.set_node_load(live, node_id, succeeded=succeeded)
        except (sqlite3.Error, OSError):
            log.exception("cannot record the load of node %s", node_id)
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
    dirs = node_dirs(live.data_dir, node_id)
    task_dir = dirs.task_dir(job_id, task_id)
    wd = task_dir / "wd"
    try:
        # In a worker thread: creating directories goes to the disk, the loop serves the others.
        await asyncio.to_thread(wd.mkdir, parents=True, exist_ok=True)
    except OSError as exc:
        code = "DiskFull" if exc.errno == errno.ENOSPC else "ResourceDirectoryCreateFailed"
        failed = {"result": "failure", "failureInfo": failure(code, str(exc), "servererror")}
        _record(live, job_id, task, failed, exit_options(task, None, "preprocessing"))
        return 0
    if not await job_tasks.gate(live, job_id, node):
        # Its preparation failed on this node: no task of the job runs here.
        lifecycle.requeue_task(live, job_id, task)
        return 0
    try:
        if task.get("resourceFiles"):
            await asyncio.to_thread(fetch_resource_files, list(task["resourceFiles"]), wd)
    except TransferError as exc:
        outcome = {"result": "failure", "failureInfo": failure(exc.code, exc.message)}
        _record(live, job_id, task, outcome, exit_options(task, None, "preprocessing"))
        return 0
    env = environment.task_environment(
        environment.base_environment(live.account, live.endpoint, pool, node, dirs), job, task, dirs
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
            _record(live, job_id, task, {"result": "failure", "failureInfo": ended}, {})
            return 0
        if handle.killed_reason:
            return 0
        lifecycle.start_attempt(task, iso())
        store.put_task(job_id, task)
        settings = task.get("containerSettings")
        if settings:
            result = await run_in_container(
                task["commandLine"], settings, pool, dirs, wd, env, task_dir, timeout, handle
            )
        else:
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
            # Batch's node agent logs output-file upload errors in the task directory.
            with contextlib.suppress(OSError), open(task_dir / "fileuploaderr.txt", "a") as log:
                log.write(exc.message + "\n")
        ended_as = end_or_retry(live, job_id, task, outcome, kind, result.exit_code, max_retries)
        if ended_as is not None:
            return ended_as


def end_or_retry(
    live: Live,
    job_id: str,
    task: Doc,
    outcome: dict[str, Any],
    kind: str,
    exit_code: int | None,
    max_retries: int,
) -> int | None:
    """After one attempt: record the task's end (1 if it succeeded, else 0), or, when a failed
    exit still has retries left, note the retry and return None (run it again)."""
    retry = (
        kind == "exit"
        and outcome["result"] == "failure"
        and (max_retries == -1 or int(task["executionInfo"].get("retryCount", 0)) < max_retries)
    )
    if not retry:
        _record(live, job_id, task, outcome, exit_options(task, exit_code, kind))
        return 1 if outcome["result"] == "success" else 0
    lifecycle.note_retry(task)
    live.store.put_task(job_id, task)
    return None


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
