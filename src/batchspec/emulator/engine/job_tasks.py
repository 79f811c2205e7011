"""A job's preparation task (before its first task on each node) and release task (on each
node that ran the preparation, when the job ends), as Batch runs them.

The preparation task runs in `workitems/<job>/job-1/jobpreparation` with the task environment
(AZ_BATCH_TASK_ID `jobpreparation`), retried up to its maxTaskRetryCount; the job's tasks wait
for it. If it fails, no task of the job runs on that node (Batch: "the Batch service does not
run Tasks of this Job on the Compute Node"); the task that was about to run there goes back to
the queue. The release task runs in `jobrelease` when the job is terminated or deleted; the job
stays terminating (or deleting) until it has run. Both are listed by
`jobpreparationandreleasetaskstatus`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from batchspec.emulator.engine import environment
from batchspec.emulator.engine.runner import new_handle, run_command
from batchspec.emulator.engine.storage_io import TransferError, fetch_resource_files
from batchspec.emulator.service.layout import node_dirs
from batchspec.emulator.service.lifecycle import failure
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import Doc, iso, parse_duration

_locks: dict[tuple[str, str], asyncio.Lock] = {}


def _info_key(kind: str) -> str:
    return f"job{kind[0].upper()}{kind[1:]}TaskExecutionInfo"


def _record(live: Live, job_id: str, node: Doc, kind: str, info: Doc) -> None:
    job = live.store.get_job(job_id)
    if job is None:
        return
    status = job.setdefault("_prepStatus", {})
    entry = status.setdefault(
        node["id"],
        {
            "poolId": node["_poolId"],
            "nodeId": node["id"],
            "nodeUrl": f"{live.endpoint}/pools/{node['_poolId']}/nodes/{node['id']}",
        },
    )
    entry[_info_key(kind)] = info
    live.store.put_job(job)


def prepared(job: Doc, node_id: str) -> bool | None:
    """True when the node ran the job's preparation task successfully, False when it failed
    there, None when it has not run (or the job has none: then True)."""
    if not job.get("jobPreparationTask"):
        return True
    info = ((job.get("_prepStatus") or {}).get(node_id) or {}).get(_info_key("preparation"))
    if not info or info.get("state") != "completed":
        return None
    return bool(info.get("result") == "success")


async def _run(live: Live, job: Doc, node: Doc, kind: str, spec: Doc) -> Doc:
    pool = live.store.get_pool(node["_poolId"]) or {"id": node["_poolId"]}
    dirs = node_dirs(live.data_dir, node["id"])
    task_id = "jobpreparation" if kind == "preparation" else "jobrelease"
    task_dir = dirs.task_dir(job["id"], task_id)
    wd = task_dir / "wd"
    wd.mkdir(parents=True, exist_ok=True)
    relative = str(task_dir.relative_to(dirs.root))
    info: Doc = {
        "startTime": iso(),
        "state": "running",
        "taskRootDirectory": relative,
        "taskRootDirectoryUrl": f"{live.endpoint}/pools/{pool['id']}/nodes/{node['id']}/files/"
        f"{relative}",
    }
    if kind == "preparation":
        info["retryCount"] = 0
    _record(live, job["id"], node, kind, info)
    task: dict[str, Any] = {**spec, "id": task_id}
    env = environment.task_environment(
        environment.base_environment(live.account, live.endpoint, pool, node, dirs), job, task, dirs
    )
    limits = spec.get("constraints") or spec
    timeout = parse_duration(str(limits.get("maxWallClockTime") or ""))
    retries = int((spec.get("constraints") or {}).get("maxTaskRetryCount") or 0)
    try:
        await asyncio.to_thread(fetch_resource_files, list(spec.get("resourceFiles") or []), wd)
    except TransferError as exc:
        info.update(
            {"state": "completed", "endTime": iso(), "result": "failure"},
            failureInfo=failure(exc.code, exc.message),
        )
        _record(live, job["id"], node, kind, info)
        return info
    while True:
        result = await run_command(
            spec["commandLine"], wd, env, task_dir, timeout, new_handle(live)
        )
        info["exitCode"] = result.exit_code
        ok = result.exit_code == 0 and not result.start_error and not result.timed_out
        if ok or kind == "release" or info.get("retryCount", 0) >= retries != -1:
            break
        info["retryCount"] = int(info.get("retryCount", 0)) + 1
        info["lastRetryTime"] = iso()
    info.update({"state": "completed", "endTime": iso(), "result": "success" if ok else "failure"})
    if not ok:
        code = result.start_error or ("TaskEnded" if result.timed_out else "FailureExitCode")
        info["failureInfo"] = failure(code, result.start_message or "The task did not succeed")
    if info.get("exitCode") is None:
        info.pop("exitCode")
    _record(live, job["id"], node, kind, info)
    return info


async def prepare(live: Live, job_id: str, node: Doc) -> bool:
    """Run the job's preparation task on the node unless it ran there; whether it succeeded."""
    lock = _locks.setdefault((job_id.lower(), node["id"]), asyncio.Lock())
    async with lock:
        job = live.store.get_job(job_id)
        if job is None:
            return False
        done = prepared(job, node["id"])
        if done is not None:
            return done
        info = await _run(live, job, node, "preparation", job["jobPreparationTask"])
        return bool(info.get("result") == "success")


def waits_for_success(job: Doc) -> bool:
    """Whether the job's tasks wait for its preparation task (Batch's default). Without it,
    "other Tasks of the Job can start executing on the Compute Node while the Job Preparation
    Task is still running; and even if the Job Preparation Task fails, new Tasks will continue
    to be scheduled on the Compute Node" (the REST spec's waitForSuccess)."""
    prep = job.get("jobPreparationTask") or {}
    return bool(prep) and bool(prep.get("waitForSuccess", True))


def blocks(job: Doc, node_id: str) -> bool:
    """Whether no task of the job may run on the node: its preparation failed there."""
    return waits_for_success(job) and prepared(job, node_id) is False


async def gate(live: Live, job_id: str, node: Doc) -> bool:
    """Before a task of the job runs on the node: its preparation task, run or waited for when
    the job asks for that; False when the task may not run there."""
    job = live.store.get_job(job_id)
    if job is None or not job.get("jobPreparationTask"):
        return job is not None
    if waits_for_success(job):
        return await prepare(live, job_id, node)
    if prepared(job, node["id"]) is None:
        live.spawn(prepare(live, job_id, node))  # once: prepare() runs it at most once a node
    return True


def needs_release(job: Doc) -> bool:
    """Whether the job's release task has yet to run where its preparation ran."""
    if not job.get("jobReleaseTask") or job.get("_released"):
        return False
    return bool(job.get("_prepStatus"))


async def release(live: Live, job_id: str) -> None:
    """Run the release task on every node that ran the preparation task, then mark it done."""
    job = live.store.get_job(job_id)
    if job is None:
        return
    for node_id in sorted(job.get("_prepStatus") or {}):
        node = live.store.get_node(node_id)
        if node is not None:
            await _run(live, job, node, "release", job["jobReleaseTask"])
    job = live.store.get_job(job_id)
    if job is not None:
        job["_released"] = True
        job.pop("_releasing", None)
        live.store.put_job(job)
    live.poke()
