"""The scheduler: passing states end, pools get their nodes, free slots get the oldest runnable
tasks, jobs whose tasks are all complete terminate, job schedules make their jobs. Runs on the
event loop; woken when something changes.

A tick's cost follows the number of pools, nodes and free slots, not the number of tasks: the
runnable tasks come from an index (pool, state, blocked, seq).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from batchspec.emulator.engine import job_tasks, multi_instance, timers
from batchspec.emulator.engine.execution import run_task
from batchspec.emulator.engine.recovery import recover
from batchspec.emulator.engine.runner import new_handle
from batchspec.emulator.service import autoscale, lifecycle, schedules
from batchspec.emulator.service.layout import node_dirs
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import Doc, iso, now

# Passing states last `live.delay`: tick often enough to end them close to their time.
_IDLE_POLL = 0.1
log = logging.getLogger(__name__)


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
            try:
                self.retry_pending()
                self.tick()
            except Exception:
                # A tick that cannot write (a full disk) must not stop the scheduler: the next
                # one tries again, and recovers when space returns.
                log.exception("scheduler tick failed; retrying")

    def retry_pending(self) -> None:
        """Commits a full disk refused, in order, until one fails again."""
        live = self.live
        while live.pending:
            live.pending[0]()
            live.pending.pop(0)

    def tick(self) -> None:
        """One pass: passing states that ran their time, dispatch, job completion."""
        live = self.live
        timers.end_job_states(live)
        for pool in live.store.list_pools():
            current = live.store.list_nodes(pool["id"])
            if pool["state"] == "deleting":
                timers.end_pool_deletion(live, pool, current)
                continue
            timers.end_node_states(live, pool, current)
            if pool.get("enableAutoScale"):
                autoscale.evaluate_when_due(live, pool)
            if pool.get("allocationState") in ("resizing", "stopping") and timers.over(
                pool, "_resizeDue"
            ):
                timers.end_resize(live, pool, current)
            self._dispatch(pool)
        self._complete_jobs()
        schedules.run_due(live)

    def _dispatch(self, pool: Doc) -> None:
        live, store = self.live, self.live.store
        per_node = int(pool.get("taskSlotsPerNode") or 1)
        ready = [
            n
            for n in store.list_nodes(pool["id"])
            if n["state"] in ("idle", "running") and n.get("schedulingState") == "enabled"
        ]
        pack = (pool.get("taskSchedulingPolicy") or {}).get("nodeFillType") == "pack"
        waiting: set[tuple[str, str]] = set()  # multi-instance tasks short of free nodes
        nodes = list(ready)
        while ready:
            still = []
            for node in ready:
                free = per_node - live.used_slots.get(node["id"], 0)
                if free <= 0:
                    continue
                want = (free if pack else 1) + len(waiting)
                picked = [
                    (j, t)
                    for j, t in store.runnable(pool["id"], free, want)
                    if (j, t["id"]) not in waiting
                ]
                if not picked:
                    return
                assigned = False
                for job_id, task in picked:
                    if multi_instance.is_multi_instance(task):
                        if multi_instance.start(live, pool, job_id, task, nodes):
                            assigned = True
                        else:
                            waiting.add((job_id, task["id"]))
                        continue
                    slots = int(task.get("requiredSlots") or 1)
                    if slots > per_node - live.used_slots.get(node["id"], 0):
                        break
                    job = store.get_job(job_id)
                    if job is None or job_tasks.blocks(job, node["id"]):
                        continue  # its preparation task failed on this node
                    self._assign(node, job_id, task, slots)
                    assigned = True
                if assigned:
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
                # A job without tasks is not complete: Batch waits for its first task.
                and live.store.counts(job_id)["completed"] > 0
            ):
                lifecycle.terminate_job(live, job_id, "AllTasksComplete")
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
                lifecycle.terminate_job(live, job_id, "MaxWallClockTimeExpiry")
