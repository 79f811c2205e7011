"""State changes of compute nodes: creating and starting (each a passing state), the boot that
makes the node agent report (lastBootTime, nodeAgentInfo), the StartTask's end, running counts,
and rebooting or reimaging.

As recorded on Batch: a new node is `creating`, then `starting`, then idle (or waiting for its
StartTask); only a node whose agent has started shows lastBootTime and nodeAgentInfo.
"""

from __future__ import annotations

from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import Doc, iso

NODE_AGENT_VERSION = "1.12.39"


def set_node_state(node: Doc, state: str) -> None:
    """Move a node to `state` (its transition time changes only when the state does)."""
    if node.get("state") != state:
        node["state"], node["stateTransitionTime"] = state, iso()


def start_node_phase(live: Live, node: Doc, state: str) -> None:
    """A passing node state (creating, starting, rebooting, reimaging) that the scheduler
    ends after the service's delay."""
    set_node_state(node, state)
    node["_due"] = live.due(state)
    live.store.put_node(node["_poolId"], node)
    live.poke()


def finish_boot(live: Live, node: Doc) -> None:
    """The node agent has started: it reports its boot time and version."""
    stamp = iso()
    node.pop("_due", None)
    node["lastBootTime"] = stamp
    node["nodeAgentInfo"] = {"lastUpdateTime": stamp, "version": NODE_AGENT_VERSION}
    live.store.put_node(node["_poolId"], node)


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
                node.pop("_due", None)
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


def forget_preparations(live: Live, node_id: str, reimaged: bool) -> None:
    """A node reboots or is reimaged: its preparation tasks run again before the job's next
    task there, unless it succeeded, the node only rebooted and the job said
    rerunOnNodeRebootAfterSuccess false (Batch: "The Job Preparation Task is always rerun if a
    Compute Node is reimaged, or if the Job Preparation Task did not complete")."""
    for job in live.store.list_jobs():
        status = job.get("_prepStatus") or {}
        entry = status.get(node_id)
        if not entry:
            continue
        info = entry.get("jobPreparationTaskExecutionInfo") or {}
        rerun = bool((job.get("jobPreparationTask") or {}).get("rerunOnNodeRebootAfterSuccess"))
        succeeded = info.get("state") == "completed" and info.get("result") == "success"
        if reimaged or rerun or not succeeded:
            del status[node_id]
            live.store.put_job(job)
