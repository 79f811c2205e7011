"""The plan held against live state, as Terraform shows one: per resource `+` create,
`~` change (with what differs), `=` unchanged or reused, `-` what clean-up will delete.

It models what apply would do with the journal's last run: nothing when that run finished
with the same inputs (whatever clean-up deleted since), the rest of the run when it is
unfinished (tasks already added count as done), a whole new run otherwise. Read requests only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from azure.batch import BatchClient
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from batchspec.apply.ownership import read_batch_mark
from batchspec.live.preflight import unsigned_pool
from batchspec.plan.model import Plan

Action = Literal["+", "~", "=", "-"]
Owned = Callable[[str, str], bool]
"""owned(kind, name): whether a run of this spec created the resource (clean-up may delete it)."""


@dataclass(frozen=True)
class Change:
    """One line of the refreshed plan."""

    action: Action
    kind: Literal["container", "blob", "pool", "job", "tasks", "schedule"]
    name: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.action} {self.kind} {self.name}" + (
            f": {self.detail}" if self.detail else ""
        )


@dataclass(frozen=True)
class Refreshed:
    """The refreshed plan: a headline, the changes in order, and whether apply has work."""

    headline: str
    changes: tuple[Change, ...]

    @property
    def has_changes(self) -> bool:
        return any(c.action != "=" for c in self.changes)

    def summary(self) -> str:
        counts = {a: sum(1 for c in self.changes if c.action == a) for a in "+~-="}
        if not self.has_changes:
            return f"No changes: apply has nothing to do ({counts['=']} unchanged)."
        return (
            f"Plan: {counts['+']} to add, {counts['~']} to change, {counts['-']} to delete, "
            f"{counts['=']} unchanged."
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "headline": self.headline,
            "has_changes": self.has_changes,
            "changes": [asdict(c) for c in self.changes],
            "summary": self.summary(),
        }


def refresh(
    plan: Plan,
    batch: BatchClient,
    blobs: BlobServiceClient,
    *,
    finished: bool,
    headline: str,
    owned: Owned,
) -> Refreshed:
    """Compare `plan` with the target; `finished`: the journal's run of this very plan ended."""
    if finished:
        # apply says "nothing to do" for a finished run, whatever its clean-up removed.
        return Refreshed(headline, ())
    changes = _containers(plan, blobs)
    changes += _blobs(plan, blobs)
    changes += _pool(plan, batch, blobs.url.rstrip("/"))
    if plan.schedule is not None:  # no job of its own, and nothing is cleaned up
        return Refreshed(headline, (*changes, *_schedule(plan, batch)))
    changes += _job(plan, batch)
    changes += _cleanup(plan, owned, changes)
    return Refreshed(headline, tuple(changes))


def _containers(plan: Plan, blobs: BlobServiceClient) -> list[Change]:
    out = []
    for container in plan.containers:
        try:
            blobs.get_container_client(container.name).get_container_properties()
            out.append(Change("=", "container", container.name, "exists"))
        except ResourceNotFoundError:
            out.append(Change("+", "container", container.name))
    return out


def _blobs(plan: Plan, blobs: BlobServiceClient) -> list[Change]:
    from batchspec.apply.storage import file_md5

    out = []
    listed: dict[str, dict[str, tuple[bytes | None, int]]] = {}
    for upload in plan.uploads:
        container = plan.container_name(upload.container)
        if container not in listed:
            listed[container] = _listing(blobs, container, [u.blob for u in plan.uploads])
        name = f"{container}/{upload.blob}"
        have = listed[container].get(upload.blob)
        if have is None:
            out.append(Change("+", "blob", name, f"upload {upload.size} bytes"))
        elif have[0] is not None and have[0] == file_md5(upload.source):
            out.append(Change("=", "blob", name, "same content"))
        else:
            detail = f"content changed ({have[1]} -> {upload.size} bytes)"
            out.append(Change("~", "blob", name, detail))
    return out


def _listing(
    blobs: BlobServiceClient, container: str, names: Sequence[str]
) -> dict[str, tuple[bytes | None, int]]:
    """name -> (Content-MD5, size) of the container's blobs that the uploads name."""
    wanted = set(names)
    found: dict[str, tuple[bytes | None, int]] = {}
    try:
        for blob in blobs.get_container_client(container).list_blobs():
            if blob.name in wanted:
                md5 = blob.content_settings.content_md5
                found[blob.name] = (bytes(md5) if md5 else None, int(blob.size or 0))
    except ResourceNotFoundError:
        return {}
    return found


def _pool(plan: Plan, batch: BatchClient, blob_endpoint: str) -> list[Change]:
    from batchspec.apply.pool import NODE_COUNT_PREFIX, pool_differences

    pool_id = plan.pool.id
    if plan.pool.lifetime == "job":
        return [Change("+", "pool", f"{pool_id}_<GUID>", "auto pool, created with the job")]
    try:
        existing = batch.get_pool(pool_id)
    except ResourceNotFoundError:
        if plan.pool.existing:
            return [Change("~", "pool", pool_id, "existing pool not found: apply would stop")]
        nodes = (
            "autoscale"
            if plan.pool.autoscale
            else (f"{plan.pool.dedicated_nodes + plan.pool.spot_nodes} node(s)")
        )
        return [Change("+", "pool", pool_id, f"{plan.pool.vm_size}, {nodes}")]
    if plan.pool.existing:
        return [Change("=", "pool", pool_id, "existing, not managed by this spec")]
    differences = pool_differences(existing, unsigned_pool(plan, blob_endpoint))
    if not differences:
        return [Change("=", "pool", pool_id, "exists with the same settings (reused)")]
    if all(d.startswith(NODE_COUNT_PREFIX) for d in differences):
        return [Change("~", "pool", pool_id, "resize: " + "; ".join(differences))]
    detail = "; ".join(differences) + " (apply needs --recreate-pool to replace it)"
    return [Change("~", "pool", pool_id, detail)]


def _job(plan: Plan, batch: BatchClient) -> list[Change]:
    job_id, planned = plan.job.id, len(plan.tasks)
    try:
        batch.get_job(job_id, select=["id", "state"])
    except ResourceNotFoundError:
        return [
            Change("+", "job", job_id),
            Change("+", "tasks", job_id, f"{planned} to add"),
        ]
    counts = batch.get_job_task_counts(job_id).task_counts
    added = counts.active + counts.running + counts.completed
    done = f"{counts.completed} completed ({counts.succeeded} succeeded, {counts.failed} failed)"
    out = [Change("=", "job", job_id, "exists (the run apply continues)")]
    if added < planned:
        out.append(Change("+", "tasks", job_id, f"{planned - added} to add; {added} added, {done}"))
    elif counts.completed < planned:
        waits = f"all {planned} added, {done}; apply waits for the rest"
        out.append(Change("~", "tasks", job_id, waits))
    else:
        out.append(Change("=", "tasks", job_id, f"all {planned} added; {done}"))
    return out


def _schedule(plan: Plan, batch: BatchClient) -> list[Change]:
    schedule_id = plan.job.id
    try:
        found = batch.get_job_schedule(schedule_id, select=["id", "state", "metadata"])
    except ResourceNotFoundError:
        return [Change("+", "schedule", schedule_id, "created; its first job runs as scheduled")]
    mark = read_batch_mark(found.metadata)
    if mark is not None and mark.run_id == plan.run.id:
        return [Change("=", "schedule", schedule_id, "exists as this spec says (unchanged)")]
    state = getattr(found.state, "value", found.state)
    return [Change("~", "schedule", schedule_id, f"exists ({state}): apply updates it")]


def _cleanup(plan: Plan, owned: Owned, changes: Sequence[Change]) -> list[Change]:
    """What clean-up deletes after a successful run: of what this spec's runs create, only."""
    actions = plan.cleanup.actions(True)
    creating = {(c.kind, c.name) for c in changes if c.action == "+"}

    def mine(kind: str, name: str) -> bool:
        return (kind, name) in creating or owned(kind, name)

    out = []
    after = "after a successful run"
    if actions.job == "delete":
        out.append(Change("-", "job", plan.job.id, f"clean-up {after}"))
    if actions.pool == "delete" and mine("pool", plan.pool.id):
        out.append(Change("-", "pool", plan.pool.id, f"clean-up {after}"))
    if actions.containers == "delete":
        out += [
            Change("-", "container", c.name, f"clean-up {after}")
            for c in plan.containers
            if mine("container", c.name)
        ]
    return out
