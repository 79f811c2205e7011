"""A run's outcome: waiting for its tasks, reporting the failed and blocked ones, fetching the
outputs. Split from the workflow so that the order of steps reads on one page there."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from azure.batch import BatchClient
from azure.core.exceptions import AzureError
from azure.storage.blob import BlobServiceClient

from batchspec.apply import monitor, service_faults
from batchspec.apply.console import Reporter, TransferProgress
from batchspec.apply.downloads import DownloadSummary, download_outputs
from batchspec.apply.preparation import preparation_check
from batchspec.apply.storage import StallNotice, UploadSummary, upload_files
from batchspec.errors import RunFailed
from batchspec.plan.model import Plan
from batchspec.redact import describe_error
from batchspec.sizes import human_size


def send(
    blobs: BlobServiceClient,
    plan: Plan,
    out: Reporter,
    cancel: threading.Event,
    label: str = "uploads",
    before: UploadSummary | None = None,
) -> UploadSummary:
    """Upload the plan's files with a progress display, and say what was sent (with `before`,
    what an earlier part of the same step sent)."""
    shown = TransferProgress(out, label)
    try:
        sent = upload_files(
            blobs,
            plan,
            cancel=cancel,
            on_stall=stall_notice(label, out),
            on_progress=lambda upload, new: out.detail(
                f"  {'sent' if new else 'unchanged'}: {upload.source}"
            ),
            progress=shown,
        )
    finally:
        shown.stop()
    if before is not None:
        sent = UploadSummary(
            sent.uploaded + before.uploaded,
            sent.skipped + before.skipped,
            sent.bytes_uploaded + before.bytes_uploaded,
        )
    out.step(
        f"{label}: {sent.uploaded} file(s) sent ({human_size(sent.bytes_uploaded)}), "
        f"{sent.skipped} unchanged"
    )
    out.record.uploads = {
        "sent": sent.uploaded,
        "unchanged": sent.skipped,
        "bytes_sent": sent.bytes_uploaded,
    }
    return sent


def watch(
    batch: BatchClient,
    plan: Plan,
    out: Reporter,
    *,
    poll: float,
    margin: float,
    on_poll: Callable[[monitor.Counts], None] | None = None,
) -> tuple[monitor.Counts, tuple[str, ...]]:
    """Wait for the tasks; stop at once when what is left is blocked by failed tasks.

    Returns the final counts and the ids of the blocked tasks (none when all completed).
    """
    timeout = plan.job.timeout_seconds
    prep = plan.job.preparation
    if prep is not None and prep.wait_for_success:
        on_poll = _also(preparation_check(batch, plan.job.id, plan.pool.id), on_poll)
    needed_by = monitor.dependants(plan.tasks) if plan.job.uses_task_dependencies else {}
    try:
        counts = monitor.watch(
            batch,
            plan.job.id,
            len(plan.tasks),
            out,
            poll=poll,
            timeout=None if timeout is None else timeout + margin,
            outage=service_faults.OUTAGE_SECONDS,
            stuck=monitor.blocked_check(batch, plan.job.id, needed_by) if needed_by else None,
            on_poll=on_poll,
        )
    except monitor.TasksBlocked as stuck:
        out.error(str(stuck))
        counts, blocked = stuck.counts, stuck.blocked
    else:
        blocked = ()
    out.record.tasks = {
        "planned": len(plan.tasks),
        "succeeded": counts.succeeded,
        "failed": counts.failed,
        "blocked": len(blocked),
    }
    out.record.blocked_tasks = list(blocked)
    return counts, blocked


def _also(
    first: Callable[[monitor.Counts], None], then: Callable[[monitor.Counts], None] | None
) -> Callable[[monitor.Counts], None]:
    def both(counts: monitor.Counts) -> None:
        first(counts)
        if then is not None:
            then(counts)

    return both


def report_tasks(
    batch: BatchClient,
    plan: Plan,
    out: Reporter,
    counts: monitor.Counts,
    blocked: tuple[str, ...],
) -> None:
    """The counts, then the failed tasks (exit code, failure, stderr), then the blocked ones."""
    out.result(f"tasks: {counts.succeeded} succeeded, {counts.failed} failed")
    if counts.failed:
        ended = monitor.early_end(batch, plan.job.id)
        if ended:
            out.error(f"job {plan.job.id} ended early: {ended}")
        failures = monitor.failed_tasks(batch, plan.job.id)
        out.record.failed_tasks = [task.id for task in failures]
        monitor.report_failures(out, failures, counts.failed)
    if blocked:
        monitor.report_blocked(out, blocked)


def fetch(
    blobs: BlobServiceClient,
    plan: Plan,
    out: Reporter,
    written_before: tuple[tuple[str, str], ...],
    cancel: threading.Event,
    fetched: frozenset[Path] = frozenset(),
) -> DownloadSummary:
    """Download the outputs and say what happened; a storage fault stops the run (resumable).

    `fetched`: files this run already wrote while its tasks ran, counted as written.
    """
    shown = TransferProgress(out, "downloads")
    try:
        got = download_outputs(
            blobs,
            plan,
            written_before=dict(written_before),
            cancel=cancel,
            on_stall=stall_notice("downloads", out),
            progress=shown,
        )
    except AzureError as exc:
        raise RunFailed(
            f"downloads stopped: {describe_error(exc)}; the outputs stay in their "
            "container: run apply again to fetch them"
        ) from None
    finally:
        shown.stop()
    refused = f", {len(got.refused)} refused" if got.refused else ""
    written = sorted(set(got.written) | fetched)
    out.record.downloaded = written
    unchanged = len(set(got.skipped) - fetched)
    out.result(f"downloads: {len(written)} file(s) written, {unchanged} unchanged{refused}")
    for path in written:
        out.result(f"  {path}")
    for reason in got.refused:
        out.warn(f"not downloaded: {reason}")
    return got


def stall_notice(step: str, out: Reporter) -> StallNotice:
    """What a transfer step says when no file has finished for a while."""

    def notice(seconds: float) -> None:
        out.warn(
            f"{step}: no file finished in the last {seconds:.0f}s (a large file, or storage not "
            "answering; a request without an answer is given up after 30 s, and retried 3 times)"
        )

    return notice
