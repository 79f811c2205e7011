"""The pool: create it, reuse a matching one, refuse a different one, wait for its nodes.

An existing pool the spec names (`pool: {existing: ID}`) is only looked at, never changed; an
auto pool is the job's (Batch creates it with the job), found from the job once it exists.

Waiting watches every node's state, so a StartTask failure stops the run the moment a node
reports it, with the node's error and the tail of its StartTask stderr, instead of waiting for
a timeout that would tell the user nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from urllib.parse import urlsplit

from azure.batch import BatchClient
from azure.batch import models as bm
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError

from batchspec.apply.azure_pool_models import mount_differences
from batchspec.apply.service_faults import OUTAGE_SECONDS, RESEND_IF_UNANSWERED, OutageWindow
from batchspec.apply.tails import node_file_tail
from batchspec.errors import RunFailed

READY_STATES = (bm.BatchNodeState.IDLE, bm.BatchNodeState.RUNNING)
BROKEN_STATES = (bm.BatchNodeState.UNUSABLE,)
NODE_COUNT_PREFIX = "nodes."


class PoolError(RunFailed):
    """The pool cannot be used; the message says why and what to do."""


class PoolMismatch(PoolError):
    """A pool with the spec's id exists with other settings."""

    def __init__(self, pool_id: str, differences: list[str]) -> None:
        self.differences = differences
        listed = "; ".join(differences)
        super().__init__(
            f"pool {pool_id} exists with different settings ({listed}); change the pool id in "
            f"the spec, or run apply with --recreate-pool to delete and recreate it"
        )


class StartTaskFailed(PoolError):
    """A node's StartTask failed; carries the node's error and its stderr tail."""

    def __init__(self, summary: str, stderr_tail: str) -> None:
        self.summary = summary
        self.stderr_tail = stderr_tail
        super().__init__(summary)


def ensure_pool(
    client: BatchClient,
    wanted: bm.BatchPoolCreateOptions,
    *,
    recreate: bool,
    say: Callable[[str], None],
    confirm: Callable[[str], bool] = lambda _question: True,
) -> bool:
    """Create the pool, or reuse an existing one with the same settings; True if created.

    A pool with other settings is refused unless `recreate` is set and `confirm` agrees.
    """
    existing = _get_pool(client, wanted.id)
    if existing is not None and existing.state == bm.BatchPoolState.DELETING:
        say(f"pool {wanted.id} is being deleted; waiting for that to finish")
        _wait_deleted(client, wanted.id)
        existing = None
    if existing is not None:
        differences = pool_differences(existing, wanted)
        if not differences:
            say(f"pool {wanted.id}: exists with the same settings, reusing it")
            _refresh_start_task(client, wanted)
            return False
        if all(d.startswith(NODE_COUNT_PREFIX) for d in differences):
            # Only its size differs: a spec declares the size, so resize rather than refuse.
            _refresh_start_task(client, wanted)
            _resize(client, existing, wanted, say)
            return False
        listed = "; ".join(differences)
        if not recreate or not confirm(f"Pool {wanted.id} differs ({listed}). Delete it?"):
            raise PoolMismatch(wanted.id, differences)
        say(f"pool {wanted.id}: settings differ ({listed}); recreating it")
        client.begin_delete_pool(wanted.id, polling_interval=1).result()
    try:
        client.create_pool(wanted, **RESEND_IF_UNANSWERED)
    except ResourceExistsError:
        # Created by someone else between our look and our create: judge it like any other.
        return ensure_pool(client, wanted, recreate=False, say=say)
    say(f"pool {wanted.id}: created ({wanted.vm_size}, {_node_text(wanted)})")
    return True


def _resize(
    client: BatchClient,
    existing: bm.BatchPool,
    wanted: bm.BatchPoolCreateOptions,
    say: Callable[[str], None],
) -> None:
    """Give a pool the spec's size: its node counts, or its autoscale formula and interval."""
    if wanted.enable_auto_scale:
        # Batch starts a new evaluation schedule with the formula at once; no resize needed.
        say(f"pool {wanted.id}: same settings, setting its autoscale formula")
        client.enable_pool_auto_scale(
            wanted.id,
            bm.BatchPoolEnableAutoScaleOptions(
                auto_scale_formula=wanted.auto_scale_formula,
                auto_scale_evaluation_interval=wanted.auto_scale_evaluation_interval,
            ),
        )
        return
    say(f"pool {wanted.id}: same settings, resizing it to {_node_text(wanted)}")
    if existing.enable_auto_scale:
        # A pool sized by a formula refuses a resize (409 AutoScalingEnabled).
        client.disable_pool_auto_scale(wanted.id)
    if existing.allocation_state != bm.AllocationState.STEADY:
        # Batch refuses a resize while one is under way (409 PoolBeingResized).
        say(f"pool {wanted.id}: waiting for its current resize to finish first")
        _wait_steady(client, wanted.id)
    resize = bm.BatchPoolResizeOptions(
        target_dedicated_nodes=wanted.target_dedicated_nodes,
        target_low_priority_nodes=wanted.target_low_priority_nodes,
    )
    client.begin_resize_pool(wanted.id, resize, polling_interval=1)


def use_existing_pool(client: BatchClient, pool_id: str, say: Callable[[str], None]) -> None:
    """Check that the pool a spec names as existing is there to run on; never change it."""
    pool = _get_pool(client, pool_id)
    if pool is None:
        raise PoolError(
            f"pool {pool_id} does not exist; the spec runs on it as an existing pool and never "
            "creates it: create it first, or give the spec a pool of its own"
        )
    if pool.state == bm.BatchPoolState.DELETING:
        raise PoolError(f"pool {pool_id} is being deleted; the spec cannot run on it")
    say(f"pool {pool_id}: existing, not managed by this spec (used as it is)")


def auto_pool_id(
    client: BatchClient, job_id: str, timeout: float = 300.0, poll: float = 1.0
) -> str:
    """The id Batch gave the job's auto pool (the job's executionInfo.poolId)."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get_job(job_id, select=["id", "executionInfo", "state"])
        info = job.execution_info
        if info is not None and info.pool_id:
            return info.pool_id
        if info is not None and info.scheduling_error is not None:
            error = info.scheduling_error
            raise PoolError(
                f"job {job_id} could not get its auto pool: {error.code}: {error.message}"
            )
        if time.monotonic() > deadline:
            raise PoolError(f"job {job_id} has no auto pool after {timeout:.0f}s")
        time.sleep(poll)


def pool_differences(existing: bm.BatchPool, wanted: bm.BatchPoolCreateOptions) -> list[str]:
    """Human-readable differences between a pool and the pool a spec asks for."""
    diffs: list[str] = []

    def check(name: str, have: object, want: object) -> None:
        if _norm(have) != _norm(want):
            diffs.append(f"{name}: exists as {have!r}, spec wants {want!r}")

    check("vm_size", existing.vm_size, wanted.vm_size)
    have_vm, want_vm = existing.virtual_machine_configuration, wanted.virtual_machine_configuration
    if have_vm is not None and want_vm is not None:
        for field in ("publisher", "offer", "sku", "version"):
            have_image = getattr(have_vm.image_reference, field)
            check(f"image.{field}", have_image, getattr(want_vm.image_reference, field))
        check("image.node_agent", have_vm.node_agent_sku_id, want_vm.node_agent_sku_id)
    have_scale, want_scale = bool(existing.enable_auto_scale), bool(wanted.enable_auto_scale)
    if have_scale or want_scale:
        # A formula sizes the pool: its node counts are the formula's, not the spec's.
        check(f"{NODE_COUNT_PREFIX}autoscale", have_scale, want_scale)
        if have_scale and want_scale:
            check(
                f"{NODE_COUNT_PREFIX}autoscale.formula",
                (existing.auto_scale_formula or "").strip(),
                (wanted.auto_scale_formula or "").strip(),
            )
            check(
                f"{NODE_COUNT_PREFIX}autoscale.interval",
                existing.auto_scale_evaluation_interval,
                wanted.auto_scale_evaluation_interval,
            )
    if not want_scale:
        have_dedicated = existing.target_dedicated_nodes
        have_spot = existing.target_low_priority_nodes
        check(f"{NODE_COUNT_PREFIX}dedicated", have_dedicated or 0, wanted.target_dedicated_nodes)
        check(f"{NODE_COUNT_PREFIX}spot", have_spot or 0, wanted.target_low_priority_nodes)
    check("task_slots_per_node", existing.task_slots_per_node or 1, wanted.task_slots_per_node)
    # Batch cannot change it on a pool; multi-instance tasks wait for ever without it.
    check(
        "inter_node_communication",
        bool(existing.enable_inter_node_communication),
        bool(wanted.enable_inter_node_communication),
    )
    diffs += _start_task_differences(existing.start_task, wanted.start_task)
    diffs += mount_differences(existing, wanted)
    return diffs


def wait_for_nodes(
    client: BatchClient,
    pool_id: str,
    count: int,
    *,
    timeout: float,
    say: Callable[[str], None],
    warn: Callable[[str], None] | None = None,
    poll: float = 1.0,
    outage: float = OUTAGE_SECONDS,
) -> None:
    """Return once `count` nodes are idle or running; raise at the first StartTask failure.

    Polls the service answers as busy or unreachable are waited out for up to `outage`
    seconds in a row, then service_faults.ServiceOutage is raised.
    """
    deadline = time.monotonic() + timeout
    last_summary = ""
    window = OutageWindow(
        f"waiting for the nodes of pool {pool_id}",
        outage,
        say,
        warn or say,
        meanwhile="the pool is left as it is",
    )
    while True:
        try:
            nodes = list(client.list_nodes(pool_id))
            ready = sum(1 for n in nodes if n.state in READY_STATES)
            pool = client.get_pool(pool_id) if ready < count else None
        except AzureError as exc:
            window.failed(exc)
            time.sleep(poll)
            continue
        window.answered()
        for node in nodes:
            if node.state == bm.BatchNodeState.START_TASK_FAILED:
                raise _start_task_failure(client, pool_id, node)
            if node.state in BROKEN_STATES:
                errors = "; ".join(f"{e.code}: {e.message}" for e in node.errors or [])
                raise PoolError(f"node {node.id} of pool {pool_id} is unusable: {errors or '?'}")
        if pool is None:
            say(f"pool {pool_id}: {ready} node(s) ready")
            return
        if pool.resize_errors and pool.allocation_state == bm.AllocationState.STEADY:
            errors = "; ".join(f"{e.code}: {e.message}" for e in pool.resize_errors)
            raise PoolError(f"pool {pool_id} could not allocate its nodes: {errors}")
        states = Counter(_state_name(n.state) for n in nodes)
        summary = ", ".join(f"{k} {v}" for k, v in sorted(states.items())) or "no nodes yet"
        if summary != last_summary:
            say(f"pool {pool_id}: waiting for {count} node(s): {summary}")
            last_summary = summary
        if time.monotonic() > deadline:
            raise PoolError(
                f"pool {pool_id}: {ready} of {count} node(s) ready after {timeout:.0f}s ({summary})"
            )
        time.sleep(poll)


def _start_task_failure(client: BatchClient, pool_id: str, node: bm.BatchNode) -> StartTaskFailed:
    info = node.start_task_info
    parts = [f"StartTask failed on node {node.id} of pool {pool_id}"]
    if info is not None and info.exit_code is not None:
        parts.append(f"exit code {info.exit_code}")
    if info is not None and info.failure_info is not None:
        failure = info.failure_info
        parts.append(f"{failure.code}: {failure.message}")
    for error in node.errors or []:
        parts.append(f"{error.code}: {error.message}")
    tail = node_file_tail(client, pool_id, node.id, "startup/stderr.txt")
    return StartTaskFailed("; ".join(parts), tail)


def _refresh_start_task(client: BatchClient, wanted: bm.BatchPoolCreateOptions) -> None:
    """Give a reused pool's StartTask this run's SAS URLs.

    The pool keeps the URLs it was created with, whose tokens expire with that run; a node that
    joins or reboots later would fail to fetch its StartTask files without fresh ones.
    """
    if wanted.start_task is not None and wanted.start_task.resource_files:
        client.update_pool(wanted.id, bm.BatchPoolUpdateOptions(start_task=wanted.start_task))


def _get_pool(client: BatchClient, pool_id: str) -> bm.BatchPool | None:
    try:
        return client.get_pool(pool_id)
    except ResourceNotFoundError:
        return None


def _wait_deleted(client: BatchClient, pool_id: str, timeout: float = 900.0) -> None:
    deadline = time.monotonic() + timeout
    while _get_pool(client, pool_id) is not None:
        if time.monotonic() > deadline:
            raise PoolError(f"pool {pool_id} is still being deleted after {timeout:.0f}s")
        time.sleep(1.0)


def _wait_steady(
    client: BatchClient, pool_id: str, timeout: float = 900.0, poll: float = 2.0
) -> None:
    """Wait until the pool's allocation state is steady (Batch's default resize timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        pool = _get_pool(client, pool_id)
        if pool is None:
            raise PoolError(f"pool {pool_id} was deleted while apply waited to resize it")
        if pool.allocation_state == bm.AllocationState.STEADY:
            return
        if time.monotonic() > deadline:
            raise PoolError(
                f"pool {pool_id} is still resizing after {timeout:.0f}s; stop that resize "
                "(az batch pool resize --abort) or wait, then run apply again"
            )
        time.sleep(poll)


def _start_task_differences(
    have: bm.BatchStartTask | None, want: bm.BatchStartTask | None
) -> list[str]:
    if have is None and want is None:
        return []
    if have is None or want is None:
        state = "has none" if have is None else "has one"
        return [f"start_task: the pool {state}, the spec {'has one' if want else 'has none'}"]
    diffs = []
    if have.command_line != want.command_line:
        diffs.append("start_task.command_line differs")
    if bool(have.wait_for_success) != bool(want.wait_for_success):
        diffs.append(f"start_task.wait_for_success: exists as {bool(have.wait_for_success)}")
    if _elevation(have) != _elevation(want):
        diffs.append(f"start_task elevation: exists as {_elevation(have)}")
    # SAS tokens change every run: compare where resource files come from, not their signatures.
    if _sources(have) != _sources(want):
        diffs.append("start_task.resource_files differ")
    return diffs


def _elevation(task: bm.BatchStartTask) -> str:
    user = task.user_identity
    level = user.auto_user.elevation_level if user and user.auto_user else None
    return str(level or "nonadmin").lower()


def _sources(task: bm.BatchStartTask) -> list[tuple[str, str, str]]:
    out = []
    for rf in task.resource_files or []:
        url = rf.http_url or rf.storage_container_url or ""
        parts = urlsplit(url)
        out.append((f"{parts.netloc}{parts.path}", rf.blob_prefix or "", rf.file_path or ""))
    return sorted(out)


def _state_name(state: object) -> str:
    return str(getattr(state, "value", state))


def _norm(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _node_text(pool: bm.BatchPoolCreateOptions) -> str:
    if pool.enable_auto_scale:
        return "autoscale"
    text = f"{pool.target_dedicated_nodes or 0} dedicated"
    if pool.target_low_priority_nodes:
        text += f" + {pool.target_low_priority_nodes} spot"
    return text + " node(s)"
