"""State changes of jobs: terminating then completed, deleting then gone, disabled and
enabled again, and the wall-clock deadline.

As recorded on Batch (tests/emulator/conformance/recordings/jobs.json): a terminated job is
`terminating` (previousState the state it left) and then `completed` with its endTime, the
previousState unchanged; a deleted job is `deleting` until it is gone.
"""

from __future__ import annotations

import datetime as dt

from batchspec.emulator.service.lifecycle.pools import mark_pool_deleting
from batchspec.emulator.service.lifecycle.tasks import transition
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import Doc, iso, new_etag, parse_duration, parse_iso


def note_job_deadline(live: Live, job: Doc) -> None:
    """Remember when an active job's maxWallClockTime runs out (from its creation time)."""
    limit = parse_duration(str((job.get("constraints") or {}).get("maxWallClockTime") or ""))
    if live.timed_jobs is None or job.get("state") != "active":
        return
    if limit is None:
        live.timed_jobs.pop(job["id"], None)
    else:
        live.timed_jobs[job["id"]] = parse_iso(job["creationTime"]) + dt.timedelta(seconds=limit)


def _move(job: Doc, state: str, stamp: str) -> None:
    job["previousState"], job["previousStateTransitionTime"] = (
        job["state"],
        job["stateTransitionTime"],
    )
    job["state"], job["stateTransitionTime"] = state, stamp
    job["eTag"], job["lastModified"] = new_etag(), stamp


def terminate_job(live: Live, job_id: str, reason: str) -> None:
    """Begin terminating a job: active tasks complete unrun, running ones are killed; the job
    is `terminating` until the scheduler completes it."""
    store = live.store
    job = store.get_job(job_id)
    if job is None or job["state"] not in ("active", "disabled", "disabling", "enabling"):
        return
    stamp = iso()
    with store.transaction():
        for task in store.tasks_in_states(job_id, ("active",)):
            transition(task, "completed", stamp)
            store.put_task(job_id, task)
        _move(job, "terminating", stamp)
        job.setdefault("executionInfo", {})["terminateReason"] = reason
        job["_due"] = live.due()
        store.put_job(job)
    if live.timed_jobs is not None:
        live.timed_jobs.pop(job_id, None)
    live.kill_tasks("terminate", job_id=job_id)
    live.poke()


def finish_termination(live: Live, job: Doc) -> None:
    """A terminating job completes (its previous state stays the one it was terminated in)."""
    stamp = iso()
    job["state"], job["stateTransitionTime"] = "completed", stamp
    job.setdefault("executionInfo", {})["endTime"] = stamp
    job.pop("_due", None)
    live.store.put_job(job)
    _end_auto_pool(live, job)


def mark_job_deleting(live: Live, job: Doc) -> None:
    """A job deleted: its tasks are killed; it is `deleting` until the scheduler removes it."""
    if job["state"] == "deleting":
        return
    _move(job, "deleting", iso())
    job["_due"] = live.due()
    live.store.put_job(job)
    if live.timed_jobs is not None:
        live.timed_jobs.pop(job["id"], None)
    live.kill_tasks("delete", job_id=job["id"])
    live.poke()


def finish_job_deletion(live: Live, job: Doc) -> None:
    """A deleting job is removed with its tasks (its directories go with it, see engine)."""
    live.store.delete_job(job["id"])
    _end_auto_pool(live, job)


def _end_auto_pool(live: Live, job: Doc) -> None:
    spec = (job.get("poolInfo") or {}).get("autoPoolSpecification") or {}
    if spec.get("poolLifetimeOption") != "job" or spec.get("keepAlive"):
        return
    pool = live.store.get_pool(str((job.get("executionInfo") or {}).get("poolId", "")))
    if pool is not None and pool.get("_autoPoolOf") == job["id"].lower():
        mark_pool_deleting(live, pool)


def disable_job(live: Live, job: Doc, option: str) -> None:
    """disableTasks: requeue (running tasks go back to the queue), terminate (they end) or
    wait (they finish); no new task starts while the job is disabled."""
    if option in ("requeue", "terminate"):
        live.kill_tasks(option, job_id=job["id"])
        if option == "requeue":
            from batchspec.emulator.service.lifecycle.tasks import requeue_on

            nodes = {n for (jid, _t), (_h, n) in live.tasks.items() if jid == job["id"]}
            requeue_on(live, nodes)
    _move(job, "disabled", iso())
    live.store.put_job(job)
    live.poke()


def enable_job(live: Live, job: Doc) -> None:
    """A disabled job is active again."""
    _move(job, "active", iso())
    live.store.put_job(job)
    note_job_deadline(live, job)
    live.dirty_jobs.add(job["id"])
    live.poke()
