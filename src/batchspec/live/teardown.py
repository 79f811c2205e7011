"""destroy: delete what runs of a spec created, and nothing else, listing it first.

What a run of the spec created is known two ways, as clean-up knows it (`apply.cleanup`): the
journal says `created` (or `creating`, for a create a kill may have cut short), or the
resource's ownership mark names this checkout (`apply.ownership`). A container or pool without
such a mark existed before and is kept; so is a pool this spec made while another job still uses
it. Jobs are found by their mark too, so jobs of earlier runs of the spec go as well.

Each deletion is journaled as it ends, so a destroy stopped anywhere continues on the next one,
and once nothing is left the journal is removed: a second destroy finds nothing to do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from azure.batch import BatchClient
from azure.batch import models as bm
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from batchspec.apply import job as jobs
from batchspec.apply import schedule as schedules
from batchspec.apply.journal import Journal, RunState
from batchspec.apply.ownership import Mark, read_batch_mark, read_mark
from batchspec.apply.storage import container_metadata
from batchspec.plan.model import Plan

Kind = Literal["job", "pool", "container", "schedule"]


@dataclass(frozen=True)
class Item:
    """One resource destroy looked at: deleted, or kept and why."""

    kind: Kind
    name: str
    delete: bool
    reason: str

    def __str__(self) -> str:
        verb = "delete" if self.delete else "keep"
        return f"{verb} {self.kind} {self.name} ({self.reason})"


def survey(
    batch: BatchClient,
    blobs: BlobServiceClient,
    plan: Plan,
    state: RunState | None,
    owner: str,
) -> list[Item]:
    """What destroy would delete and keep; read requests only."""

    def journal_says(kind: str, name: str) -> bool:
        return state is not None and state.owned(kind, name) in ("created", "creating")

    # A schedule first: deleting it deletes its jobs, and it would make more on the pool.
    items = _schedules(batch, plan, state, owner, journal_says)
    items += _jobs(batch, plan, state, owner, journal_says)
    items += _pool(batch, plan, state, owner, journal_says, {i.name for i in items if i.delete})
    items += _containers(blobs, plan, state, owner, journal_says)
    return items


def _jobs(
    batch: BatchClient,
    plan: Plan,
    state: RunState | None,
    owner: str,
    journal_says: Callable[[str, str], bool],
) -> list[Item]:
    items: dict[str, Item] = {}
    for job in batch.list_jobs(select=["id", "metadata", "state"]):
        mark = read_batch_mark(job.metadata)
        if mark is not None and mark.owner == owner:
            items[job.id] = Item("job", job.id, True, f"made by {mark.describe()}")
    run_job = state.job_id if state is not None else plan.job.id
    if run_job not in items and journal_says("job", run_job):
        with contextlib.suppress(ResourceNotFoundError):
            batch.get_job(run_job, select=["id"])
            items[run_job] = Item("job", run_job, True, "created by this spec's run")
    return sorted(items.values(), key=lambda i: i.name)


def _schedules(
    batch: BatchClient,
    plan: Plan,
    state: RunState | None,
    owner: str,
    journal_says: Callable[[str, str], bool],
) -> list[Item]:
    items: dict[str, Item] = {}
    for schedule in batch.list_job_schedules(select=["id", "metadata", "state"]):
        mark = read_batch_mark(schedule.metadata)
        if mark is not None and mark.owner == owner:
            items[schedule.id] = Item("schedule", schedule.id, True, f"made by {mark.describe()}")
    if plan.schedule is not None and plan.job.id not in items:
        try:
            found = batch.get_job_schedule(plan.job.id, select=["id", "metadata"])
        except ResourceNotFoundError:
            found = None
        created = state is not None and state.owned("schedule", plan.job.id) == "created"
        # Not `creating`: a create whose answer was lost left our mark, listed above.
        if found is not None and created:
            items[plan.job.id] = Item("schedule", plan.job.id, True, "created by this spec's run")
        elif found is not None:
            why = f"it existed before: {_made_by(read_batch_mark(found.metadata))}"
            items[plan.job.id] = Item("schedule", plan.job.id, False, why)
    return sorted(items.values(), key=lambda i: i.name)


def _pool(
    batch: BatchClient,
    plan: Plan,
    state: RunState | None,
    owner: str,
    journal_says: Callable[[str, str], bool],
    deleted_jobs: set[str],
) -> list[Item]:
    pool_id = state.pool_id if state is not None else plan.pool.id
    if plan.pool.lifetime == "job":
        return []  # the job's auto pool: Batch deletes it with the job
    if plan.pool.existing:
        return [Item("pool", pool_id, False, "an existing pool, not managed by this spec")]
    try:
        pool = batch.get_pool(pool_id, select=["id", "metadata", "state"])
    except ResourceNotFoundError:
        return []
    if pool.state == bm.BatchPoolState.DELETING:
        return [Item("pool", pool_id, False, "already being deleted")]
    mark = read_batch_mark(pool.metadata)
    if not journal_says("pool", pool_id) and (mark is None or mark.owner != owner):
        return [Item("pool", pool_id, False, f"it existed before: {_made_by(mark)}")]
    users = [
        j.id
        for j in batch.list_jobs(filter="state eq 'active'", select=["id", "poolInfo"])
        if j.pool_info is not None and j.pool_info.pool_id == pool_id and j.id not in deleted_jobs
    ]
    if users:
        return [Item("pool", pool_id, False, f"still used by job {', '.join(users[:3])}")]
    why = f"made by {mark.describe()}" if mark else "created by this spec's run"
    return [Item("pool", pool_id, True, why)]


def _containers(
    blobs: BlobServiceClient,
    plan: Plan,
    state: RunState | None,
    owner: str,
    journal_says: Callable[[str, str], bool],
) -> list[Item]:
    names = [c.name for c in plan.containers]
    if state is not None:
        names += [r.name for r in state.resources if r.kind == "container"]
    items = []
    for name in dict.fromkeys(names):
        metadata = container_metadata(blobs, name)
        if metadata is None:
            continue
        mark = read_mark(metadata)
        if journal_says("container", name) or (mark is not None and mark.owner == owner):
            why = f"made by {mark.describe()}" if mark else "created by this spec's run"
            items.append(Item("container", name, True, why))
        else:
            items.append(Item("container", name, False, f"it existed before: {_made_by(mark)}"))
    return items


def delete(
    batch: BatchClient, blobs: BlobServiceClient, item: Item, say: Callable[[str], None]
) -> None:
    """Delete one surveyed item, waiting for a job to go (its tasks hold the pool)."""
    if item.kind == "schedule":
        if schedules.delete_schedule(batch, item.name):
            say(f"deleted job schedule {item.name} and its jobs")
    elif item.kind == "job":
        if jobs.delete_job(batch, item.name):
            say(f"deleted job {item.name}")
    elif item.kind == "pool":
        with contextlib.suppress(ResourceNotFoundError):
            batch.begin_delete_pool(item.name, polling_interval=1)
            say(f"pool {item.name}: deletion started")
    else:
        with contextlib.suppress(ResourceNotFoundError):
            blobs.delete_container(item.name)
            say(f"deleted container {item.name}")


def _made_by(mark: Mark | None) -> str:
    return "not made by batchspec" if mark is None else f"made by {mark.describe()}"


def forget_item(journal: Journal, item: Item) -> None:
    """Journal that `item` is deleted, so a destroy stopped later does not look for it again."""
    state = journal.load()
    if state is not None and state.owned(item.kind, item.name) is not None:
        journal.save(state.without_owned(item.kind, item.name))


def forget(journal: Journal) -> None:
    """Remove the journal: nothing of the run is left, so there is no run to continue."""
    journal.path.unlink(missing_ok=True)
