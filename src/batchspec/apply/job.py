"""The job: create it (or find the one a resumed run created) and finish or remove it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from azure.batch import BatchClient
from azure.batch import models as bm
from azure.batch.models._models import BatchJobTerminateOptions  # not re-exported in 15.1.0
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

from batchspec.apply.ownership import Mark, read_batch_mark
from batchspec.apply.service_faults import RESEND_IF_UNANSWERED
from batchspec.errors import RunFailed

_UNUSABLE_STATES = (
    bm.BatchJobState.COMPLETED,
    bm.BatchJobState.TERMINATING,
    bm.BatchJobState.DELETING,
    bm.BatchJobState.DISABLING,
    bm.BatchJobState.DISABLED,
)


class JobError(RunFailed):
    """The job cannot be used; the message says why and what to do."""


def ensure_job(
    client: BatchClient,
    wanted: bm.BatchJobCreateOptions,
    *,
    say: Callable[[str], None],
    mark: Mark | None = None,
    unmarked_is_ours: bool = False,
    ended_ok: bool = False,
) -> bool:
    """Create the job; accept an active job of the same id on the same pool. True if created.

    With `mark`, the job is created carrying it, and an existing job is continued only if its
    mark names the same owner (or it has none and `unmarked_is_ours`, as the journal says for
    a job an older batchspec made): a job another checkout's run owns is never taken over.
    A job of that id still being deleted (a --rerun right after a delete: Batch answers 409
    JobBeingDeleted meanwhile) is waited out, then the job is created.

    `ended_ok`: this run already added every task, so a job that has since completed (ended by
    its all-tasks-complete or task-failure action) is the run's own job, to be watched out.
    """
    if mark is not None:
        wanted.metadata = mark.batch_metadata()
    try:
        client.create_job(wanted, **RESEND_IF_UNANSWERED)
    except ResourceExistsError as exists:
        if exists.error is not None and exists.error.code == "JobBeingDeleted":
            say(f"job {wanted.id} is being deleted; waiting for that to finish")
            _wait_deleted(client, wanted.id)
            return ensure_job(
                client,
                wanted,
                say=say,
                mark=mark,
                unmarked_is_ours=unmarked_is_ours,
                ended_ok=ended_ok,
            )
        existing = client.get_job(wanted.id)
        if mark is not None:
            _check_owner(wanted.id, mark, read_batch_mark(existing.metadata), unmarked_is_ours)
        have, want = _pool_text(existing.pool_info), _pool_text(wanted.pool_info)
        if have != want:
            raise JobError(
                f"job {wanted.id} already exists on {have}, not {want}"
                f"; delete it or start a new run with --rerun"
            ) from None
        if ended_ok and existing.state == bm.BatchJobState.COMPLETED:
            say(f"job {wanted.id}: exists and has ended, continuing with its results")
            return False
        if existing.state in _UNUSABLE_STATES:
            raise JobError(
                f"job {wanted.id} already exists and is {_state(existing.state)}; "
                f"start a new run with --rerun"
            ) from None
        say(f"job {wanted.id}: found (created by this run), continuing it")
        return False
    say(f"job {wanted.id}: created on {_pool_text(wanted.pool_info)}")
    return True


def _pool_text(info: bm.BatchPoolInfo | None) -> str:
    """`pool ID`, or `an auto pool PREFIX_...` for a job whose pool Batch makes with it."""
    if info is not None and info.auto_pool_specification is not None:
        return f"an auto pool {info.auto_pool_specification.auto_pool_id_prefix or ''}_..."
    return f"pool {info.pool_id if info is not None else None}"


def _wait_deleted(client: BatchClient, job_id: str, timeout: float = 900.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.get_job(job_id)
        except ResourceNotFoundError:
            return
        if time.monotonic() > deadline:
            raise JobError(f"job {job_id} is still being deleted after {timeout:.0f}s")
        time.sleep(1.0)


def _state(state: object) -> str:
    """A state enum as Batch writes it (`completed`), not as Python prints it."""
    return str(getattr(state, "value", state))


def set_completion(client: BatchClient, job_id: str, update: bm.BatchJobUpdateOptions) -> bool:
    """Send the all-tasks-complete update once every task is added; False if the job had
    already ended (a failed task may terminate it first: Batch answers 409 JobCompleted)."""
    try:
        # The same PATCH sent twice sets the same value: safe to resend when unanswered.
        client.update_job(job_id, update, retry_on_methods=frozenset({"PATCH"}))
    except ResourceExistsError:
        return False
    return True


def _check_owner(job_id: str, mine: Mark, found: Mark | None, unmarked_is_ours: bool) -> None:
    if found is None and unmarked_is_ours:
        return
    if found is None:
        raise JobError(
            f"job {job_id} already exists and was not created by a run of this spec; "
            "delete it, or start a run with its own job id with --rerun"
        )
    if found.owner != mine.owner:
        raise JobError(
            f"job {job_id} belongs to another apply of the same spec content ({found.describe()}); "
            "it is left alone: wait for that run to finish, or give this one its own job "
            "with --rerun"
        )


def terminate_job(client: BatchClient, job_id: str) -> None:
    """End a kept job once its tasks are done, so it stops counting against the active-job quota.

    This is done explicitly rather than with onAllTasksComplete at creation: tasks are added in
    several calls, and a resumed run may add more to the same job.
    """
    # Options must be given: azure-batch 15.1.0 fails to serialize the request without them.
    options = BatchJobTerminateOptions(termination_reason="ApplyComplete")
    # Already completed or terminating (409) is what we wanted.
    with contextlib.suppress(ResourceExistsError):
        client.begin_terminate_job(job_id, options, polling_interval=1).result()


def delete_job(client: BatchClient, job_id: str, *, wait: bool = True) -> bool:
    """Delete the job (and so its tasks); False if it did not exist."""
    try:
        poller = client.begin_delete_job(job_id, polling_interval=1)
    except ResourceNotFoundError:
        return False
    if wait:
        poller.result()
    return True
