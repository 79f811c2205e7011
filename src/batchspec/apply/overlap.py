"""What apply does while Batch allocates and boots the pool's nodes.

On Azure a pool takes minutes to get nodes that can run tasks; the job and its tasks can be
queued meanwhile (the Batch tutorial adds its tasks right after creating the pool). So apply
uploads first only what the StartTask fetches, creates the pool, then sends the other uploads,
creates the job and adds the tasks while the nodes come up, and fetches outputs as tasks end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from azure.core.exceptions import AzureError
from azure.storage.blob import BlobServiceClient

from batchspec.apply.downloads import DownloadSummary, download_outputs
from batchspec.apply.monitor import Counts
from batchspec.plan.model import Plan, ResourceFilePlan, UploadPlan

# Fetch outputs during the run at most this often: each pass lists the output containers.
DOWNLOAD_INTERVAL_SECONDS = 5.0


def check_sources(plan: Plan) -> None:
    """Raise OSError for an upload whose file is gone, before the pool is created for it."""
    for upload in plan.uploads:
        upload.source.stat()  # FileNotFoundError (or PermissionError) names the path


def start_task_uploads(plan: Plan) -> tuple[UploadPlan, ...]:
    """The uploads a node reads as it boots: those its StartTask fetches, and those into a
    container the pool mounts (a local node copies a mounted container when it starts)."""
    start = plan.pool.start_task
    files = start.resource_files if start is not None else ()
    mounted = {m.blob.container for m in plan.pool.mounts if m.blob is not None}
    return tuple(
        u for u in plan.uploads if u.container in mounted or any(_fetches(rf, u) for rf in files)
    )


def _fetches(rf: ResourceFilePlan, upload: UploadPlan) -> bool:
    if rf.container is None or rf.container != upload.container:
        return False
    if rf.blob is not None:
        return rf.blob == upload.blob
    return upload.blob.startswith(rf.prefix or "")


def with_uploads(plan: Plan, uploads: tuple[UploadPlan, ...]) -> Plan:
    """The plan with only these uploads (to send them in two parts)."""
    return dataclasses.replace(plan, uploads=uploads)


def other_uploads(plan: Plan, first: tuple[UploadPlan, ...]) -> tuple[UploadPlan, ...]:
    """The uploads not sent first."""
    sent = set(first)
    return tuple(u for u in plan.uploads if u not in sent)


@dataclass
class EarlyDownloads:
    """Downloads outputs while tasks run, each time more tasks have completed (rate-limited)."""

    blobs: BlobServiceClient
    plan: Plan
    known: dict[str, str]
    """Files this run (or an earlier one) wrote, by path, with their MD5: may be replaced."""
    on_pass: Callable[[Mapping[str, str]], None]
    """Told the known digests after each pass (the journal keeps them)."""
    cancel: threading.Event
    interval: float = DOWNLOAD_INTERVAL_SECONDS
    clock: Callable[[], float] = time.monotonic
    written: set[Path] = field(default_factory=set)
    _completed: int = 0
    _last: float = float("-inf")

    def __call__(self, counts: Counts) -> None:
        """A poll of the job's task counts: fetch what has arrived, when worth it."""
        if not self.plan.downloads or counts.completed <= self._completed:
            return
        if self.clock() - self._last < self.interval:
            return
        self._completed = counts.completed
        self._last = self.clock()
        # Storage busy or away: the pass after the last task says what is wrong.
        with contextlib.suppress(AzureError):
            self.run_pass()

    def run_pass(self) -> DownloadSummary:
        """One pass over the output containers."""
        got = download_outputs(self.blobs, self.plan, written_before=self.known, cancel=self.cancel)
        self.written.update(got.written)
        self.known.update({str(p): d for p, d in got.digests.items()})
        self.on_pass(self.known)
        return got
