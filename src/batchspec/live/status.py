"""A run's status as Batch sees it: pool, nodes, job, task counts, failures, and why tasks wait.

One look is a handful of requests: the pool, its nodes, the job, the job's task counts, the
failed tasks (filtered on the service), and, while tasks wait, the waiting ones with their
dependencies (then the job's task states, once) and the task counts of other jobs on the pool
when its nodes are full.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from azure.batch import BatchClient
from azure.batch import models as bm
from azure.core.exceptions import ResourceNotFoundError

from batchspec.live.job_tasks import NodeTaskState, describe, node_task_states
from batchspec.redact import redact

SHOWN_FAILURES = 20
READY = ("idle", "running")


@dataclass(frozen=True)
class PoolStatus:
    id: str
    exists: bool
    state: str | None = None
    allocation_state: str | None = None
    vm_size: str | None = None
    dedicated_nodes: tuple[int, int] = (0, 0)
    """(current, target)."""
    spot_nodes: tuple[int, int] = (0, 0)
    task_slots_per_node: int = 1
    nodes: dict[str, int] = field(default_factory=dict)
    """Node count by state (idle, running, starting, starttaskfailed, …)."""
    resize_errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobStatus:
    id: str
    exists: bool
    state: str | None = None
    created: str | None = None
    started: str | None = None
    ended: str | None = None
    termination_reason: str | None = None
    pool_id: str | None = None
    """The pool the job runs on, as Batch says (an auto pool's id, `<prefix>_<GUID>`)."""
    has_node_tasks: bool = False
    """Whether the job has a preparation (and maybe a release) task."""


@dataclass(frozen=True)
class TaskCounts:
    active: int = 0
    running: int = 0
    completed: int = 0
    succeeded: int = 0
    failed: int = 0


@dataclass(frozen=True)
class FailedTask:
    id: str
    exit_code: int | None
    failure: str | None
    """`code: message` of Batch's failure information, when it has one."""
    retries: int = 0


@dataclass(frozen=True)
class BatchView:
    """What Batch says about a run's pool and job."""

    pool: PoolStatus
    job: JobStatus
    tasks: TaskCounts
    failed_tasks: tuple[FailedTask, ...] = ()
    waiting: tuple[str, ...] = ()
    """Why active tasks are not running, when that is knowable."""
    node_tasks: tuple[NodeTaskState, ...] = ()
    """The job's preparation and release tasks, per node."""

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["pool"]["dedicated_nodes"] = _pair(self.pool.dedicated_nodes)
        data["pool"]["spot_nodes"] = _pair(self.pool.spot_nodes)
        return data


def look(batch: BatchClient, pool_id: str, job_id: str) -> BatchView:
    """Read the pool, nodes, job and tasks of a run (read requests only).

    A job on an auto pool names the pool Batch made for it in its execution info.
    """
    job = _job(batch, job_id)
    pool, nodes = _pool(batch, job.pool_id or pool_id)
    if not job.exists:
        return BatchView(pool, job, TaskCounts())
    raw = batch.get_job_task_counts(job_id).task_counts
    counts = TaskCounts(raw.active, raw.running, raw.completed, raw.succeeded, raw.failed)
    failed = _failed_tasks(batch, job_id) if counts.failed else ()
    node_tasks = tuple(node_task_states(batch, job_id)) if job.has_node_tasks else ()
    waiting = _why_waiting(batch, pool, nodes, job_id) if counts.active else []
    if counts.active and not counts.running:
        waiting += _preparation_failures(node_tasks)
    return BatchView(pool, job, counts, failed, tuple(waiting), node_tasks)


def _preparation_failures(states: Sequence[NodeTaskState]) -> list[str]:
    failed = [s for s in states if s.kind == "preparation" and s.result == "failure"]
    if not failed:
        return []
    nodes = _few([describe(s) for s in failed])
    return [
        f"the job's preparation task failed on {len(failed)} node(s), which run none of "
        f"its tasks: {nodes}"
    ]


def _pool(batch: BatchClient, pool_id: str) -> tuple[PoolStatus, list[bm.BatchNode]]:
    try:
        pool = batch.get_pool(pool_id)
    except ResourceNotFoundError:
        return PoolStatus(pool_id, False), []
    nodes = list(batch.list_nodes(pool_id, select=["id", "state", "runningTaskSlotsCount"]))
    by_state = Counter(_value(n.state) for n in nodes)
    errors = tuple(redact(f"{e.code}: {e.message}") for e in pool.resize_errors or [])
    return (
        PoolStatus(
            pool_id,
            True,
            _value(pool.state),
            _value(pool.allocation_state),
            pool.vm_size,
            (pool.current_dedicated_nodes or 0, pool.target_dedicated_nodes or 0),
            (pool.current_low_priority_nodes or 0, pool.target_low_priority_nodes or 0),
            pool.task_slots_per_node or 1,
            dict(sorted(by_state.items())),
            errors,
        ),
        nodes,
    )


def _job(batch: BatchClient, job_id: str) -> JobStatus:
    try:
        job = batch.get_job(job_id)
    except ResourceNotFoundError:
        return JobStatus(job_id, False)
    info = job.execution_info
    return JobStatus(
        job_id,
        True,
        _value(job.state),
        _time(job.creation_time),
        _time(info.start_time) if info else None,
        _time(info.end_time) if info else None,
        info.termination_reason if info else None,
        info.pool_id if info else None,
        job.job_preparation_task is not None or job.job_release_task is not None,
    )


def _failed_tasks(batch: BatchClient, job_id: str) -> tuple[FailedTask, ...]:
    tasks = batch.list_tasks(
        job_id, filter="executionInfo/result eq 'failure'", select=["id", "executionInfo"]
    )
    out = []
    for task in tasks:
        info = task.execution_info or bm.BatchTaskExecutionInfo(retry_count=0, requeue_count=0)
        failure = info.failure_info
        text = redact(f"{failure.code}: {failure.message}") if failure else None
        out.append(FailedTask(task.id, info.exit_code, text, info.retry_count or 0))
        if len(out) == SHOWN_FAILURES:
            break
    return tuple(out)


def _why_waiting(
    batch: BatchClient, pool: PoolStatus, nodes: Sequence[bm.BatchNode], job_id: str
) -> list[str]:
    """Reasons, most basic first: no pool, no ready node, full nodes, dependencies."""
    if not pool.exists:
        return [f"pool {pool.id} does not exist"]
    reasons = []
    if pool.resize_errors:
        reasons.append(f"pool {pool.id} could not allocate nodes: {'; '.join(pool.resize_errors)}")
    ready = sum(pool.nodes.get(s, 0) for s in READY)
    if pool.allocation_state == "resizing":
        current = pool.dedicated_nodes[0] + pool.spot_nodes[0]
        target = pool.dedicated_nodes[1] + pool.spot_nodes[1]
        reasons.append(f"pool {pool.id} is resizing ({current} of {target} node(s))")
    if not ready:
        shown = ", ".join(f"{k} {v}" for k, v in pool.nodes.items()) or "no nodes"
        reasons.append(f"pool {pool.id} has no idle or running node ({shown})")
    elif all(
        (n.running_task_slots_count or 0) >= pool.task_slots_per_node
        for n in nodes
        if _value(n.state) in READY
    ):
        others = _other_jobs_running(batch, pool.id, job_id)
        if others:
            reasons.append(f"every task slot of pool {pool.id} is busy with other jobs: {others}")
        else:
            reasons.append(f"every task slot of pool {pool.id} is busy with this job's tasks")
    reasons += _dependencies(batch, job_id)
    return reasons


def _other_jobs_running(batch: BatchClient, pool_id: str, job_id: str) -> str:
    parts = []
    for job in batch.list_jobs(filter="state eq 'active'", select=["id", "poolInfo"]):
        if job.id == job_id or job.pool_info is None or job.pool_info.pool_id != pool_id:
            continue
        counts = batch.get_job_task_counts(job.id).task_counts
        if counts.running:
            parts.append(f"job {job.id} ({counts.running} running)")
    return ", ".join(parts)


def _dependencies(batch: BatchClient, job_id: str) -> list[str]:
    """Active tasks held by dependencies: on failed tasks (blocked for good) or unfinished ones."""
    waiting = [
        t
        for t in batch.list_tasks(job_id, filter="state eq 'active'", select=["id", "dependsOn"])
        if t.depends_on is not None and t.depends_on.task_ids
    ]
    if not waiting:
        return []
    states: dict[str, tuple[str, str | None]] = {}
    for task in batch.list_tasks(job_id, select=["id", "state", "executionInfo"]):
        result = task.execution_info.result if task.execution_info else None
        states[task.id] = (_value(task.state), _value(result) if result else None)
    blocked, held = [], []
    for task in waiting:
        needs = (task.depends_on.task_ids if task.depends_on else None) or []
        failed = [d for d in needs if states.get(d, ("", None))[1] == "failure"]
        if failed:
            blocked.append(f"{task.id} (on {', '.join(failed)})")
        else:
            open_ = [d for d in needs if states.get(d, ("", None))[0] != "completed"]
            if open_:
                held.append(f"{task.id} (on {', '.join(open_[:3])})")
    out = []
    if blocked:
        out.append(f"blocked for good, a task they depend on failed: {_few(blocked)}")
    if held:
        out.append(f"waiting for the tasks they depend on: {_few(held)}")
    return out


def _few(items: list[str], shown: int = 5) -> str:
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def _pair(pair: tuple[int, int]) -> dict[str, int]:
    return {"current": pair[0], "target": pair[1]}


def _value(value: object) -> str:
    return str(getattr(value, "value", value))


def _time(value: object) -> str | None:
    iso = getattr(value, "isoformat", None)
    return str(iso()) if iso else None
