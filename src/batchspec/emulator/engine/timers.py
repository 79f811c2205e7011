"""Ending Batch's passing states when their time is up: a job terminating or deleting, a pool
resizing, stopping or deleting, a node creating, starting, rebooting or reimaging.

Each such state carries its end time (`_due`, `_resizeDue`) in the stored document, so a
restart resumes it rather than losing it.
"""

from __future__ import annotations

import asyncio
import shutil

from batchspec.emulator.engine import job_tasks
from batchspec.emulator.engine.starttask import boot_node
from batchspec.emulator.service import lifecycle
from batchspec.emulator.service.layout import node_dirs
from batchspec.emulator.service.nodes import new_node
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import Doc, iso


def _over(doc: Doc, key: str = "_due") -> bool:
    due = doc.get(key)
    return isinstance(due, str) and due <= iso()


def end_job_states(live: Live) -> None:
    """Terminating jobs whose time is up complete; deleting ones are removed."""
    store = live.store
    for job in store.jobs_in_state("terminating"):
        if _over(job) and not any(jid == job["id"] for (jid, _t) in live.tasks):
            if not _released(live, job):
                continue
            lifecycle.finish_termination(live, job)
    for job in store.jobs_in_state("deleting"):
        if _over(job) and not any(jid == job["id"] for (jid, _t) in live.tasks):
            if not _released(live, job):
                continue
            dirs = [
                node_dirs(live.data_dir, n["id"]).root / "workitems" / job["id"]
                for p in store.list_pools()
                for n in store.list_nodes(p["id"])
            ]
            lifecycle.finish_job_deletion(live, job)
            live.spawn(asyncio.to_thread(_remove_all, dirs))


def _released(live: Live, job: Doc) -> bool:
    """Whether the job's release tasks have run (starting them if not yet)."""
    if not job_tasks.needs_release(job):
        return True
    if not job.get("_releasing"):
        job["_releasing"] = True
        live.store.put_job(job)
        live.spawn(job_tasks.release(live, job["id"]))
    return False


def _remove_all(dirs: list[object]) -> None:
    for d in dirs:
        shutil.rmtree(str(d), ignore_errors=True)


def end_node_states(live: Live, pool: Doc, nodes: list[Doc]) -> None:
    """Nodes in a passing state move on when its time is up."""
    for node in nodes:
        if not _over(node):
            continue
        state = node.get("state")
        if state in ("creating", "rebooting", "reimaging"):
            lifecycle.start_node_phase(live, node, "starting")
        elif state == "starting":
            node.pop("_due", None)
            live.store.put_node(pool["id"], node)
            live.spawn(boot_node(live, node["id"]))


def remove_nodes(live: Live, node_ids: set[str]) -> None:
    """Nodes leave their pool: their tasks are requeued, their StartTasks and files go."""
    live.kill_tasks("requeue", node_ids=node_ids)
    lifecycle.requeue_on(live, node_ids)
    for node_id in node_ids:
        handle = live.start_tasks.get(node_id)
        if handle is not None:
            handle.kill("delete")
        live.store.delete_node(node_id)
        node_dirs(live.data_dir, node_id).remove()


def end_resize(live: Live, pool: Doc, current: list[Doc]) -> None:
    """A resize whose time is up: nodes are added (unless it was stopped) and removed."""
    stopping = bool(pool.get("_stopping"))
    leaving = {n["id"] for n in current if n.get("_leaving")}
    remove_nodes(live, leaving)
    current = [n for n in current if n["id"] not in leaving]
    index = max([int(n.get("_index", i)) for i, n in enumerate(current)] + [-1]) + 1
    for dedicated, key in ((True, "targetDedicatedNodes"), (False, "targetLowPriorityNodes")):
        mine = [n for n in current if bool(n.get("isDedicated")) == dedicated]
        target = int(pool.get(key) or 0)
        while len(mine) < target and not stopping:
            doc = new_node(pool, index, dedicated)
            doc["_index"] = index
            doc["_due"] = live.due("creating")
            index += 1
            live.store.put_node(pool["id"], doc)
            mine.append(doc)
            current.append(doc)
        if len(mine) > target:
            # Idle or failed nodes leave first; busy ones have their tasks requeued.
            mine.sort(
                key=lambda n: (n["state"] in ("idle", "running"), live.used_slots.get(n["id"], 0)),
                reverse=True,  # healthy, busy nodes first: they are the ones kept
            )
            surplus = {n["id"] for n in mine[target:]}
            remove_nodes(live, surplus)
            current = [n for n in current if n["id"] not in surplus]
    dedicated_now = sum(1 for n in current if n.get("isDedicated"))
    lifecycle.finish_resize(live, pool, dedicated_now, len(current) - dedicated_now)
    live.poke()


def end_pool_deletion(live: Live, pool: Doc, current: list[Doc]) -> None:
    """A deleting pool: its tasks are requeued at once; it goes when its time is up."""
    ids = {n["id"] for n in current}
    if any(node_id in ids for (_h, node_id) in live.tasks.values()):
        live.kill_tasks("requeue", node_ids=ids)
        lifecycle.requeue_on(live, ids)
        return  # finish once the killed tasks have let go of their nodes
    if not _over(pool):
        return
    for node_id in ids:
        handle = live.start_tasks.get(node_id)
        if handle is not None:
            handle.kill("delete")
        node_dirs(live.data_dir, node_id).remove()
    live.store.delete_pool(pool["id"])


def over(doc: Doc, key: str) -> bool:
    """Whether the passing state timed by `key` has run its time."""
    return _over(doc, key)
