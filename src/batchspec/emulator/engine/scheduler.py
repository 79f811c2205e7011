"""The scheduler: pools get their nodes, free slots get the oldest runnable tasks, jobs whose
tasks are all complete terminate. Runs on the event loop; woken when something changes.

A tick's cost follows the number of pools, nodes and free slots, not the number of tasks: the
runnable tasks come from an index (pool, state, blocked, seq).
"""

from __future__ import annotations

import asyncio
import contextlib

from batchspec.emulator.engine import clock
from batchspec.emulator.engine.execution import run_task
from batchspec.emulator.engine.recovery import recover
from batchspec.emulator.engine.runner import new_handle
from batchspec.emulator.service import lifecycle
from batchspec.emulator.service.layout import node_dirs
from batchspec.emulator.service.nodes import new_node
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import Doc, iso, now

_IDLE_POLL = 0.5


class Scheduler:
    """Drives pools, nodes, tasks and job completion."""

    def __init__(self, live: Live) -> None:
        self.live = live

    def recover(self) -> None:
        """After a (re)start every node reboots: running tasks are requeued, StartTasks rerun."""
        recover(self.live)

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
            lifecycle.requeue_on(live, ids)
            return  # finish once the killed tasks have let go of their nodes
        for node_id in ids:
            handle = live.start_tasks.get(node_id)
            if handle is not None:
                handle.kill("delete")
            node_dirs(live.data_dir, node_id).remove()
        live.store.delete_pool(pool["id"])

    def _reconcile(self, pool: Doc) -> None:
        live, store = self.live, self.live.store
        if clock.allocating(live, pool):
            return
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
                live.spawn(clock.boot(live, doc["id"]))
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
                lifecycle.requeue_on(live, leaving)
                for node_id in leaving:
                    handle = live.start_tasks.get(node_id)
                    if handle is not None:
                        handle.kill("delete")
                    store.delete_node(node_id)
                    node_dirs(live.data_dir, node_id).remove()
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
            lifecycle.pool_steady(live, pool, dedicated_now, spot_now)

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
        dirs = node_dirs(live.data_dir, node["id"])
        task_dir = dirs.task_dir(job_id, task["id"])
        base = f"{live.endpoint}/pools/{node['_poolId']}/nodes/{node['id']}"
        node_info = {
            "affinityId": node["affinityId"],
            "nodeUrl": base,
            "poolId": node["_poolId"],
            "nodeId": node["id"],
            "taskRootDirectory": str(task_dir.relative_to(dirs.root)),
            "taskRootDirectoryUrl": f"{base}/files/{task_dir.relative_to(dirs.root)}",
        }
        lifecycle.assign(task, node_info, iso())
        live.store.put_task(job_id, task)
        live.used_slots[node["id"]] = live.used_slots.get(node["id"], 0) + slots
        handle = new_handle(live)
        live.tasks[(job_id, task["id"])] = (handle, node["id"])
        lifecycle.set_node_load(live, node["id"], started=1)
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
                and live.store.all_completed(job_id)
            ):
                lifecycle.complete_job(live, job_id, "AllTasksComplete")
        self._expire_jobs()

    def _expire_jobs(self) -> None:
        """Jobs past their constraints.maxWallClockTime terminate (MaxWallClockTimeExpiry)."""
        live = self.live
        if live.timed_jobs is None:  # first tick: find the jobs that have a limit
            live.timed_jobs = {}
            for job in live.store.jobs_in_state("active"):
                lifecycle.note_job_deadline(live, job)
        stamp = now()
        for job_id, deadline in list(live.timed_jobs.items()):
            if stamp >= deadline:
                del live.timed_jobs[job_id]
                lifecycle.complete_job(live, job_id, "MaxWallClockTimeExpiry")
