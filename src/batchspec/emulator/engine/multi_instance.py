"""Running a multi-instance (MPI) task as Batch does, on `numberOfInstances` local nodes.

The scheduler gives the task whole nodes (`claim`); then, on every node at once, the common
resource files go to the task directory (AZ_BATCH_TASK_SHARED_DIR) and the coordination command
runs; once it has succeeded on all of them, the application command (the task's command line)
runs on the primary only. The task ends when the primary ends: the subtasks, which held their
nodes meanwhile, complete then, and whatever their coordination commands left running is
stopped. A coordination command that fails fails the whole task (retried up to its limit).
How the nodes name and reach each other on one machine is engine/node_network.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchspec.emulator.engine import environment, job_tasks, node_network
from batchspec.emulator.engine.execution import _judge, _record, end_or_retry
from batchspec.emulator.engine.runner import Handle, Outcome, new_handle, run_command
from batchspec.emulator.engine.storage_io import TransferError, fetch_resource_files, upload_outputs
from batchspec.emulator.service import lifecycle, multi_instance
from batchspec.emulator.service.layout import node_dirs
from batchspec.emulator.service.lifecycle import failure
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import Doc, iso, parse_duration

log = logging.getLogger(__name__)


@dataclass
class GroupHandle:
    """The processes of every instance of one task, killed together (terminate, delete...)."""

    handles: list[Handle] = field(default_factory=list)
    groups: set[int] = field(default_factory=set)
    killed_reason: str | None = None

    def kill(self, reason: str) -> None:
        if self.killed_reason is None:
            self.killed_reason = reason
        for handle in self.handles:
            handle.kill(reason)
        self.stop_groups()

    def stop_groups(self) -> None:
        """Kill what the coordination commands left running (their process groups)."""
        for pgid in list(self.groups):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)


def is_multi_instance(task: Doc) -> bool:
    """Whether the scheduler must give this task whole nodes (multiInstanceSettings)."""
    return multi_instance.instances(task) > 0


def claim(live: Live, pool: Doc, job_id: str, task: Doc, ready: list[Doc]) -> list[Doc] | None:
    """The nodes (primary first) a multi-instance task can start on now, or None to wait."""
    count = multi_instance.instances(task)
    if not multi_instance.pool_can_run(pool):
        return None  # never scheduled, as on Batch: it stays active
    job = live.store.get_job(job_id)
    if job is None:
        return None
    free = [
        n
        for n in ready
        if live.used_slots.get(n["id"], 0) == 0 and job_tasks.prepared(job, n["id"]) is not False
    ]
    return free[:count] if len(free) >= count else None


def start(live: Live, pool: Doc, job_id: str, task: Doc, ready: list[Doc]) -> bool:
    """Give a multi-instance task its nodes and start it; False when it must wait."""
    nodes = claim(live, pool, job_id, task, ready)
    if nodes is None:
        return False
    dirs = node_dirs(live.data_dir, nodes[0]["id"])
    task_dir = dirs.task_dir(job_id, task["id"])
    lifecycle.assign(task, _node_info(live, nodes[0], task_dir), iso())
    live.store.put_task(job_id, task)
    group = GroupHandle()
    live.tasks[(job_id, task["id"])] = (group, nodes[0]["id"])
    for node in nodes:
        live.used_slots[node["id"]] = int(pool.get("taskSlotsPerNode") or 1)
        lifecycle.set_node_load(live, node["id"], started=1)
    live.spawn(run_multi_instance(live, job_id, task["id"], nodes, group))
    return True


@dataclass
class _Instance:
    node: Doc
    task_dir: Path
    env: dict[str, str]
    handle: Handle


def _coordination_dir(task_dir: Path, primary: bool) -> Path:
    # A subtask's stdout.txt/stderr.txt hold its coordination command's output; the primary's
    # hold the application's, so its coordination output goes one level down.
    return task_dir / "coordination" if primary else task_dir


async def run_multi_instance(
    live: Live, job_id: str, task_id: str, nodes: list[Doc], group: GroupHandle
) -> None:
    """Run a claimed multi-instance task to its end, then free its nodes."""
    succeeded = 0
    try:
        succeeded = await _run(live, job_id, task_id, nodes, group)
    except Exception as exc:
        # An emulator fault must not leave the task running for ever (as in execution.py).
        log.exception("multi-instance task %s/%s failed inside the emulator", job_id, task_id)
        task = live.store.get_task(job_id, task_id)
        if task is not None and task["state"] != "completed":
            message = f"The local Batch service failed: {type(exc).__name__}"
            fault = failure("InternalError", message, "servererror")
            _record(live, job_id, task, {"result": "failure", "failureInfo": fault}, {})
    finally:
        table = node_network.table_path(live, job_id, task_id)
        with contextlib.suppress(OSError):
            table.unlink(missing_ok=True)
            table.parent.rmdir()  # when no other task of the job is running
        group.stop_groups()
        for pgid in list(group.groups):
            live.store.remove_proc(pgid)
        if live.tasks.get((job_id, task_id), (None, ""))[0] is group:
            live.tasks.pop((job_id, task_id), None)
        for i, node in enumerate(nodes):
            live.used_slots[node["id"]] = 0
            lifecycle.set_node_load(live, node["id"], succeeded=succeeded if i == 0 else 0)
        live.poke()


def _spawned(live: Live, group: GroupHandle) -> Handle:
    handle = new_handle(live)

    def on_spawn(pgid: int) -> None:
        group.groups.add(pgid)
        live.store.add_proc(pgid)

    handle.on_spawn = on_spawn
    group.handles.append(handle)
    return handle


async def _run(live: Live, job_id: str, task_id: str, nodes: list[Doc], group: GroupHandle) -> int:
    store = live.store
    task, job = store.get_task(job_id, task_id), store.get_job(job_id)
    pool = store.get_pool(nodes[0]["_poolId"])
    if task is None or job is None or pool is None:
        return 0
    addresses = [node_network.node_address(n) for n in nodes]
    agent = await asyncio.to_thread(node_network.install_agent, live.data_dir)
    table = node_network.table_path(live, job_id, task_id)
    instances: list[_Instance] = []
    for i, node in enumerate(nodes):
        dirs = node_dirs(live.data_dir, node["id"])
        task_dir = dirs.task_dir(job_id, task_id)
        base = environment.base_environment(live.account, live.endpoint, pool, node, dirs)
        env = node_network.instance_environment(
            environment.task_environment(base, job, task, dirs),
            addresses,
            i,
            task_dir,
            agent,
            table,
        )
        instances.append(_Instance(node, task_dir, env, _spawned(live, group)))
    hosts = {
        a: {"env": inst.env, "cwd": str(inst.task_dir / "wd")}
        for a, inst in zip(addresses, instances, strict=True)
    }
    await asyncio.to_thread(node_network.write_table, table, hosts)
    if job.get("jobPreparationTask"):
        for node in nodes:  # the job's preparation runs on every node of the task first
            if not await job_tasks.prepare(live, job_id, node):
                current = store.get_task(job_id, task_id)
                if current is not None:
                    lifecycle.requeue_task(live, job_id, current)
                return 0
    settings = task[multi_instance.SETTINGS]
    constraints = task.get("constraints") or {}
    timeout = parse_duration(str(constraints.get("maxWallClockTime") or ""))
    max_retries = int(constraints.get("maxTaskRetryCount") or 0)
    while True:
        task = store.get_task(job_id, task_id)
        if task is None or task["state"] == "completed" or group.killed_reason:
            return 0
        group.stop_groups()  # a retry starts afresh
        stamp = iso()
        lifecycle.start_attempt(task, stamp)
        task[multi_instance.SUBTASKS] = multi_instance.new_subtasks(
            [_node_info(live, inst.node, inst.task_dir) for inst in instances], stamp
        )
        for sub in task[multi_instance.SUBTASKS]:
            sub["startTime"] = stamp
        store.put_task(job_id, task)
        ended = await _attempt(live, job_id, task_id, instances, settings, timeout)
        if ended is None:
            return 0  # killed for a reboot, a deletion or a shutdown
        outcome, kind, result = ended
        task = store.get_task(job_id, task_id)
        if task is None:
            return 0
        ended_as = end_or_retry(live, job_id, task, outcome, kind, result.exit_code, max_retries)
        if ended_as is not None:
            return ended_as


def _node_info(live: Live, node: Doc, task_dir: Path) -> Doc:
    """Where an instance runs, as Batch describes it (the task's and each subtask's nodeInfo)."""
    rel = task_dir.relative_to(node_dirs(live.data_dir, node["id"]).root)
    base = f"{live.endpoint}/pools/{node['_poolId']}/nodes/{node['id']}"
    return {
        "affinityId": node["affinityId"],
        "nodeUrl": base,
        "poolId": node["_poolId"],
        "nodeId": node["id"],
        "taskRootDirectory": str(rel),
        "taskRootDirectoryUrl": f"{base}/files/{rel}",
    }


async def _attempt(
    live: Live,
    job_id: str,
    task_id: str,
    instances: list[_Instance],
    settings: Doc,
    timeout: float | None,
) -> tuple[dict[str, Any], str, Outcome] | None:
    """One run of every instance: coordination everywhere, then the primary's application."""
    store = live.store
    task = store.get_task(job_id, task_id)
    if task is None:
        return None
    common = list(settings.get("commonResourceFiles") or [])
    try:
        for i, inst in enumerate(instances):
            await asyncio.to_thread((inst.task_dir / "wd").mkdir, parents=True, exist_ok=True)
            await asyncio.to_thread(
                _coordination_dir(inst.task_dir, i == 0).mkdir, parents=True, exist_ok=True
            )
            if common:
                await asyncio.to_thread(fetch_resource_files, common, inst.task_dir)
        if task.get("resourceFiles"):  # the task's own files: the primary only
            wd = instances[0].task_dir / "wd"
            await asyncio.to_thread(fetch_resource_files, list(task["resourceFiles"]), wd)
    except TransferError as exc:
        outcome: dict[str, Any] = {
            "result": "failure",
            "failureInfo": failure(exc.code, exc.message),
        }
        _end_subtasks(live, job_id, task_id, {}, outcome["failureInfo"])
        return outcome, "preprocessing", Outcome(None)
    command = str(settings["coordinationCommandLine"])
    runs = [
        run_command(
            command,
            inst.task_dir / "wd",
            inst.env,
            _coordination_dir(inst.task_dir, i == 0),
            timeout,
            inst.handle,
            keep_group=True,
        )
        for i, inst in enumerate(instances)
    ]
    results = await asyncio.gather(*runs)
    if any(r.killed_reason in ("shutdown", "delete", "requeue") for r in results):
        return None
    bad = next(
        (i for i, r in enumerate(results) if r.start_error or r.timed_out or r.exit_code), None
    )
    if bad is not None or any(r.killed_reason for r in results):
        index = bad if bad is not None else 0
        outcome, kind = _judge(results[index])
        where = "the primary" if index == 0 else f"subtask {index}"
        outcome["failureInfo"] = failure(
            outcome["failureInfo"]["code"],
            f"The coordination command failed on {where} (node "
            f"{instances[index].node['id']}): {outcome['failureInfo']['message']}",
        )
        codes = {i: r.exit_code for i, r in enumerate(results)}
        _end_subtasks(live, job_id, task_id, codes, None, failed=index)
        return outcome, kind, results[index]
    primary = instances[0]
    result = await run_command(
        str(task["commandLine"]),
        primary.task_dir / "wd",
        primary.env,
        primary.task_dir,
        timeout,
        primary.handle,
    )
    if result.killed_reason in ("shutdown", "delete", "requeue"):
        return None
    outcome, kind = _judge(result)
    # The primary's end ends the task: the subtasks (and what they started) are stopped.
    for inst in instances[1:]:
        inst.handle.kill("primary-ended")
    _end_subtasks(live, job_id, task_id, {i: r.exit_code for i, r in enumerate(results)}, None)
    try:
        if task.get("outputFiles"):
            success = outcome["result"] == "success"
            wd = primary.task_dir / "wd"
            await asyncio.to_thread(upload_outputs, list(task["outputFiles"]), wd, success)
    except TransferError as exc:
        outcome = {**outcome, "result": "failure", "failureInfo": failure(exc.code, exc.message)}
        kind = "fileupload"
    return outcome, kind, result


def _end_subtasks(
    live: Live,
    job_id: str,
    task_id: str,
    codes: dict[int, int | None],
    fault: Doc | None,
    failed: int | None = None,
) -> None:
    task = live.store.get_task(job_id, task_id)
    if task is None:
        return
    stamp = iso()
    for sub in task.get(multi_instance.SUBTASKS) or []:
        own = fault
        if failed is not None and sub["id"] == failed:
            own = failure(
                "FailureExitCode", "The coordination command exited with an unexpected exit code"
            )
        multi_instance.end_subtask(sub, stamp, codes.get(sub["id"]), own)
    live.store.put_task(job_id, task)
