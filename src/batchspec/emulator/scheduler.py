"""The scheduler: pools get their nodes, free slots get the oldest runnable tasks, jobs whose
tasks are all complete terminate. Runs on the event loop; woken when something changes.

A tick's cost follows the number of pools, nodes and free slots, not the number of tasks: the
runnable tasks come from an index (pool, state, blocked, seq).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

from batchspec.emulator import node as nodes
from batchspec.emulator.execution import (
    complete_job,
    note_job_deadline,
    run_task,
    set_node_load,
)
from batchspec.emulator.starttask import boot_node
from batchspec.emulator.state import Live
from batchspec.emulator.wire import Doc, iso, new_etag, now

_IDLE_POLL = 0.5


def new_node(pool: Doc, index: int, dedicated: bool) -> Doc:
    """A node document as Batch lists it, in state `starting`."""
    stamp = iso()
    node_id = nodes.node_id_for(pool["id"], index, stamp, dedicated)
    vm = pool.get("virtualMachineConfiguration") or {}
    return {
        "id": node_id,
        "_poolId": pool["id"],
        "state": "starting",
        "schedulingState": "enabled",
        "stateTransitionTime": stamp,
        "allocationTime": stamp,
        "lastBootTime": stamp,
        "ipAddress": f"10.0.0.{4 + index % 250}",
        "affinityId": f"TVM:{node_id}",
        "vmSize": pool.get("vmSize", ""),
        "totalTasksRun": 0,
        "runningTasksCount": 0,
        "runningTaskSlotsCount": 0,
        "totalTasksSucceeded": 0,
        "isDedicated": dedicated,
        "nodeAgentInfo": {"version": "1.12.0", "lastUpdateTime": stamp},
        "virtualMachineInfo": {"imageReference": vm.get("imageReference", {})},
        "endpointConfiguration": {"inboundEndpoints": []},
    }


def kill_leftovers(data_dir: Path, pids: list[int]) -> None:
    """Kill task process groups a crashed emulator left behind (a reboot stops everything).

    Only processes whose environment names a node of this data dir: a pid recorded before a
    crash may since belong to someone else.
    """
    marker = f"AZ_BATCH_NODE_ROOT_DIR={data_dir / 'nodes'}/".encode()
    for pid in pids:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if marker in environ:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


def requeue_on(live: Live, node_ids: set[str]) -> None:
    """Put tasks running on these nodes back in the queue (requeue, as Batch does)."""
    store = live.store
    for (job_id, task_id), (_h, node_id) in list(live.tasks.items()):
        task = store.get_task(job_id, task_id)
        if node_id in node_ids and task is not None and task["state"] != "completed":
            info = task.setdefault("executionInfo", {})
            info["requeueCount"] = int(info.get("requeueCount", 0)) + 1
            info["lastRequeueTime"] = iso()
            task.pop("nodeInfo", None)
            task["previousState"], task["state"] = task["state"], "active"
            task["stateTransitionTime"] = iso()
            store.put_task(job_id, task)


class Scheduler:
    """Drives pools, nodes, tasks and job completion."""

    def __init__(self, live: Live) -> None:
        self.live = live

    def recover(self) -> None:
        """After a (re)start every node reboots: running tasks are requeued, StartTasks rerun."""
        store = self.live.store
        stamp = iso()
        kill_leftovers(self.live.data_dir, store.take_procs())
        for job_id, task in store.tasks_in_flight():
            info = task.setdefault("executionInfo", {})
            info["requeueCount"] = int(info.get("requeueCount", 0)) + 1
            info["lastRequeueTime"] = stamp
            task.pop("nodeInfo", None)
            task["previousState"], task["state"], task["stateTransitionTime"] = (
                task["state"],
                "active",
                stamp,
            )
            store.put_task(job_id, task)
        for job in store.list_jobs():
            if job["state"] == "terminating":
                complete_job(
                    self.live,
                    job["id"],
                    job.get("executionInfo", {}).get("terminateReason", "UserTerminate"),
                )
            self.live.dirty_jobs.add(job["id"])
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
                if pool["state"] == "active":
                    self.live.spawn(boot_node(self.live, node["id"]))

    async def run(self) -> None:
        """Tick whenever poked (or every half second) until cancelled."""
        self.recover()
        live = self.live
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(live.wake.wait(), _IDLE_POLL)
            live.wake.clear()
            self.tick()

    def tick(self) -> None:
        """One pass: pools and nodes, dispatch, job completion."""
        for pool in self.live.store.list_pools():
            if pool["state"] == "deleting":
                self._delete_pool(pool)
                continue
            self._reconcile(pool)
            self._dispatch(pool)
        self._complete_jobs()

    def _delete_pool(self, pool: Doc) -> None:
        live = self.live
        node_docs = live.store.list_nodes(pool["id"])
        ids = {n["id"] for n in node_docs}
        if any(node_id in ids for (_h, node_id) in live.tasks.values()):
            live.kill_tasks("requeue", node_ids=ids)
            requeue_on(self.live, ids)
            return  # finish once the killed tasks have let go of their nodes
        for node_id in ids:
            handle = live.start_tasks.get(node_id)
            if handle is not None:
                handle.kill("delete")
            nodes.node_dirs(live.data_dir, node_id).remove()
        live.store.delete_pool(pool["id"])

    def _reconcile(self, pool: Doc) -> None:
        live, store = self.live, self.live.store
        current = store.list_nodes(pool["id"])
        changed = False
        for dedicated, key in ((True, "targetDedicatedNodes"), (False, "targetLowPriorityNodes")):
            mine = [n for n in current if bool(n.get("isDedicated")) == dedicated]
            target = int(pool.get(key) or 0)
            index = len(current)
            while len(mine) < target:
                doc = new_node(pool, index, dedicated)
                index += 1
                store.put_node(pool["id"], doc)
                mine.append(doc)
                current.append(doc)
                live.spawn(boot_node(live, doc["id"]))
                changed = True
            if len(mine) > target:
                # Idle or failed nodes leave first; busy ones have their tasks requeued.
                mine.sort(
                    key=lambda n: (
                        n["state"] in ("idle", "running"),
                        live.used_slots.get(n["id"], 0),
                    ),
                    reverse=True,  # healthy, busy nodes first: they are the ones kept
                )
                leaving = {n["id"] for n in mine[target:]}
                live.kill_tasks("requeue", node_ids=leaving)
                requeue_on(self.live, leaving)
                for node_id in leaving:
                    handle = live.start_tasks.get(node_id)
                    if handle is not None:
                        handle.kill("delete")
                    store.delete_node(node_id)
                    nodes.node_dirs(live.data_dir, node_id).remove()
                current = [n for n in current if n["id"] not in leaving]
                changed = True
        dedicated_now = sum(1 for n in current if n.get("isDedicated"))
        spot_now = len(current) - dedicated_now
        if (
            changed
            or pool.get("allocationState") != "steady"
            or (pool.get("currentDedicatedNodes"), pool.get("currentLowPriorityNodes"))
            != (dedicated_now, spot_now)
        ):
            stamp = iso()
            pool.update(
                {
                    "currentDedicatedNodes": dedicated_now,
                    "currentLowPriorityNodes": spot_now,
                    "allocationState": "steady",
                    "allocationStateTransitionTime": stamp,
                }
            )
            store.put_pool(pool)

    def _dispatch(self, pool: Doc) -> None:
        live, store = self.live, self.live.store
        per_node = int(pool.get("taskSlotsPerNode") or 1)
        ready = [
            n
            for n in store.list_nodes(pool["id"])
            if n["state"] in ("idle", "running") and n.get("schedulingState") == "enabled"
        ]
        pack = (pool.get("taskSchedulingPolicy") or {}).get("nodeFillType") == "pack"
        while ready:
            still = []
            for node in ready:
                free = per_node - live.used_slots.get(node["id"], 0)
                if free <= 0:
                    continue
                picked = store.runnable(pool["id"], free, free if pack else 1)
                if not picked:
                    return
                for job_id, task in picked:
                    slots = int(task.get("requiredSlots") or 1)
                    if slots > per_node - live.used_slots.get(node["id"], 0):
                        break
                    self._assign(node, job_id, task, slots)
                still.append(node)
            ready = still

    def _assign(self, node: Doc, job_id: str, task: Doc, slots: int) -> None:
        live = self.live
        stamp = iso()
        dirs = nodes.node_dirs(live.data_dir, node["id"])
        task["previousState"], task["previousStateTransitionTime"] = (
            task["state"],
            task["stateTransitionTime"],
        )
        task["state"], task["stateTransitionTime"] = "preparing", stamp
        task_dir = dirs.task_dir(job_id, task["id"])
        base = f"{live.endpoint}/pools/{node['_poolId']}/nodes/{node['id']}"
        task["nodeInfo"] = {
            "affinityId": node["affinityId"],
            "nodeUrl": base,
            "poolId": node["_poolId"],
            "nodeId": node["id"],
            "taskRootDirectory": str(task_dir.relative_to(dirs.root)),
            "taskRootDirectoryUrl": f"{base}/files/{task_dir.relative_to(dirs.root)}",
        }
        task["eTag"] = new_etag()
        live.store.put_task(job_id, task)
        live.used_slots[node["id"]] = live.used_slots.get(node["id"], 0) + slots
        handle = live.new_handle()
        live.tasks[(job_id, task["id"])] = (handle, node["id"])
        set_node_load(live, node["id"], started=1)
        live.spawn(run_task(live, job_id, task["id"], node["id"], slots, handle))

    def _complete_jobs(self) -> None:
        live = self.live
        dirty, live.dirty_jobs = live.dirty_jobs, set()
        for job_id in dirty:
            job = live.store.get_job(job_id)
            if (
                job is not None
                and job["state"] == "active"
                and job.get("onAllTasksComplete") == "terminatejob"
                and live.store.unfinished(job_id) == 0
            ):
                complete_job(live, job_id, "AllTasksComplete")
        self._expire_jobs()

    def _expire_jobs(self) -> None:
        """Jobs past their constraints.maxWallClockTime terminate (MaxWallClockTimeExpiry)."""
        live = self.live
        if live.timed_jobs is None:  # first tick: find the jobs that have a limit
            live.timed_jobs = {}
            for job in live.store.jobs_in_state("active"):
                note_job_deadline(live, job)
        stamp = now()
        for job_id, deadline in list(live.timed_jobs.items()):
            if stamp >= deadline:
                del live.timed_jobs[job_id]
                complete_job(live, job_id, "MaxWallClockTimeExpiry")
