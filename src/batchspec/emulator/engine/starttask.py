"""A node joining its pool (or rebooting): directories, then the pool's StartTask.

With waitForSuccess the node stays `waitingforstarttask` (no task is scheduled on it) until the
StartTask succeeds; when it fails after its retries the node becomes `starttaskfailed` with
startTaskInfo.failureInfo. Without waitForSuccess the node is `idle` while the StartTask runs.
"""

from __future__ import annotations

import asyncio
import logging

from batchspec.emulator.engine import clock, environment
from batchspec.emulator.engine.container_tasks import prefetch, run_in_container
from batchspec.emulator.engine.mounts import mount_file_systems
from batchspec.emulator.engine.runner import Handle, new_handle, run_command
from batchspec.emulator.engine.storage_io import TransferError, fetch_resource_files
from batchspec.emulator.service import lifecycle
from batchspec.emulator.service.layout import node_dirs
from batchspec.emulator.service.lifecycle import failure, set_node_state
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import Doc, iso

log = logging.getLogger(__name__)


async def boot_node(live: Live, node_id: str) -> None:
    """Bring a node up: make its directories, run the StartTask, set its state."""
    handle = new_handle(live)
    live.start_tasks[node_id] = handle
    try:
        await _boot(live, node_id, handle)
    except Exception:
        log.exception("node %s failed to boot inside the emulator", node_id)
        node = live.store.get_node(node_id)
        if node is not None:
            set_node_state(node, "unusable")
            live.store.put_node(node["_poolId"], node)
    finally:
        live.start_tasks.pop(node_id, None)
        live.poke()


async def _boot(live: Live, node_id: str, handle: Handle) -> None:
    store = live.store
    node = store.get_node(node_id)
    pool = store.get_pool(node["_poolId"]) if node else None
    if node is None or pool is None:
        return
    dirs = node_dirs(live.data_dir, node_id)
    await asyncio.to_thread(dirs.create)
    node = store.get_node(node_id)
    if node is None:
        return
    lifecycle.finish_boot(live, node)
    start = pool.get("startTask")
    pulled = await prefetch(pool)
    if pulled is not None:  # as on Batch: an image that cannot be pulled makes the node unusable
        node["errors"] = [pulled]
        set_node_state(node, "unusable")
        store.put_node(pool["id"], node)
        return
    # Mounts come before the StartTask, as on Batch; a failed one makes the node unusable.
    mounted = await mount_file_systems(pool, dirs)
    if mounted is not None:
        node["errors"] = [mounted]
        set_node_state(node, "unusable")
        store.put_node(pool["id"], node)
        return
    if not start or not start.get("commandLine"):
        set_node_state(node, "idle")
        store.put_node(pool["id"], node)
        return
    wait = bool(start.get("waitForSuccess", True))
    set_node_state(node, "waitingforstarttask" if wait else "idle")
    info: Doc = {"state": "running", "startTime": iso(), "retryCount": 0}
    node["startTask"], node["startTaskInfo"] = start, info
    store.put_node(pool["id"], node)
    wd = dirs.startup / "wd"
    env = environment.start_task_environment(
        environment.base_environment(live.account, live.endpoint, pool, node, dirs), start, dirs
    )
    max_retries = int(start.get("maxTaskRetryCount") or 0)
    await clock.pause(live, "start_task")
    try:
        await asyncio.to_thread(fetch_resource_files, list(start.get("resourceFiles") or []), wd)
    except TransferError as exc:
        lifecycle.start_task_done(live, node_id, wait, None, failure(exc.code, exc.message))
        return
    while True:
        settings = start.get("containerSettings")
        if settings:
            result = await run_in_container(
                start["commandLine"], settings, pool, dirs, wd, env, dirs.startup, None, handle
            )
        else:
            result = await run_command(start["commandLine"], wd, env, dirs.startup, None, handle)
        if result.killed_reason is not None:
            return  # shutdown or node removal; a restart reboots the node and reruns it
        if result.start_error:
            lifecycle.start_task_done(
                live, node_id, wait, None, failure(result.start_error, result.start_message)
            )
            return
        if result.exit_code == 0:
            lifecycle.start_task_done(live, node_id, wait, 0, None)
            return
        node = store.get_node(node_id)
        if node is None:
            return
        retries = int(node["startTaskInfo"].get("retryCount", 0))
        if max_retries != -1 and retries >= max_retries:
            message = "The task process exited with an unexpected exit code"
            lifecycle.start_task_done(
                live, node_id, wait, result.exit_code, failure("FailureExitCode", message)
            )
            return
        node["startTaskInfo"].update({"retryCount": retries + 1, "lastRetryTime": iso()})
        node["startTaskInfo"]["startTime"] = iso()
        store.put_node(node["_poolId"], node)
