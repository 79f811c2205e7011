"""Clean-up: delete what the spec's policy names, of what a run of this spec created, only.

A resource is deleted when the journal says this run created it, or when its ownership mark
names this checkout (an earlier run of the spec made it). Anything else was there before the
run and is kept, and the output says so. Every step is tried even when one before it failed;
the end lists what is left and why, and the journal forgets only what was really deleted, so
the next apply recreates exactly that.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from azure.batch import BatchClient
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from batchspec.apply import job as jobs
from batchspec.apply.console import Reporter
from batchspec.apply.journal import RunState
from batchspec.apply.ownership import Mark, read_batch_mark, read_mark
from batchspec.apply.storage import container_metadata
from batchspec.plan.model import CleanupActions, Plan
from batchspec.redact import describe_error

Save = Callable[[RunState], RunState]


@dataclass(frozen=True)
class CleanupResult:
    state: RunState
    left: tuple[str, ...]
    """What the policy meant to delete but could not, each with the reason."""


def clean_up(
    batch: BatchClient,
    blobs: BlobServiceClient,
    plan: Plan,
    state: RunState,
    actions: CleanupActions,
    *,
    mark: Mark,
    finished: bool,
    out: Reporter,
    save: Save,
) -> CleanupResult:
    """Apply `actions`; `finished` runs get a kept job terminated (it has no more to do)."""
    left: list[str] = []

    def attempt(what: str, step: Callable[[], RunState | None]) -> None:
        nonlocal state
        try:
            changed = step()
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # go on with the other steps; say at the end what is left
            left.append(f"{what} ({describe_error(exc)})")
            return
        if changed is not None:
            state = save(changed)

    job_id = plan.job.id

    def job_step() -> RunState | None:
        if state.owned("job", job_id) is None and not state.done("job"):
            return None  # the run never got to its job
        if actions.job == "delete":
            if jobs.delete_job(batch, job_id):
                out.step(f"clean-up: job {job_id} deleted")
                out.record.resource("job", job_id, "deleted")
            reset = state.without_steps("job", "tasks", "monitor").without_owned("job", job_id)
            return dataclasses.replace(reset, tasks_submitted=0)
        if finished and state.done("job"):
            jobs.terminate_job(batch, job_id)
            out.step(f"clean-up: job {job_id} kept (terminated)")
        return None

    def pool_step() -> RunState | None:
        pool_id = plan.pool.id
        status = state.owned("pool", pool_id)
        if actions.pool != "delete" or status is None or not plan.pool.managed:
            return None  # an auto pool goes with its job; an existing pool is never deleted
        try:
            found = read_batch_mark(batch.get_pool(pool_id, select=["id", "metadata"]).metadata)
        except ResourceNotFoundError:
            return state.without_owned("pool", pool_id).without_steps("pool")
        if status != "created" and (found is None or found.owner != mark.owner):
            out.step(f"kept: pool {pool_id} existed before this run ({_made_by(found)})")
            return None
        batch.begin_delete_pool(pool_id, polling_interval=1)
        out.step(f"clean-up: pool {pool_id} deletion started")
        out.record.resource("pool", pool_id, "deleted")
        return state.without_owned("pool", pool_id).without_steps("pool")

    def container_step(name: str) -> Callable[[], RunState | None]:
        def step() -> RunState | None:
            status = state.owned("container", name)
            if status is None:
                return None
            metadata = container_metadata(blobs, name)
            if metadata is None:
                return state.without_owned("container", name)
            found = read_mark(metadata)
            if status != "created" and (found is None or found.owner != mark.owner):
                out.step(f"kept: container {name} existed before this run ({_made_by(found)})")
                return None
            with contextlib.suppress(ResourceNotFoundError):
                blobs.delete_container(name)
            out.step(f"clean-up: container {name} deleted")
            out.record.resource("container", name, "deleted")
            return state.without_owned("container", name).without_steps("containers", "uploads")

        return step

    attempt(f"job {job_id}", job_step)
    attempt(f"pool {plan.pool.id}", pool_step)
    if actions.containers == "delete":
        for container in plan.containers:
            attempt(f"container {container.name}", container_step(container.name))
    if left:
        out.warn("clean-up incomplete; left: " + "; ".join(left))
    return CleanupResult(state, tuple(left))


def _made_by(found: Mark | None) -> str:
    if found is None:
        return "not made by batchspec"
    return f"made by {found.describe()}"
