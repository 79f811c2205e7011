"""Download output blobs into their target directory, and never anywhere else.

A blob name is untrusted input: tasks choose it. A name that is absolute, climbs with `..`,
uses backslashes or a drive letter, or resolves (through a symlink) outside the directory is
refused. Files are written through a temporary file and renamed, so a reader never sees half a
file, with the permissions the user's umask gives a new file. An existing file with other
content is kept unless the plan says to overwrite, or a run of this spec wrote it and it has
not changed since (the journal knows its digest): then the new run's output replaces it.
When the downloads are interrupted (Ctrl-C), the temporary files of transfers still hanging in
a read are removed before the error goes on: a stuck connection leaves no `.batchspec-*` file.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from azure.storage.blob import BlobProperties, BlobServiceClient

from batchspec.apply.storage import Cancelled, FileProgress, StallNotice, file_md5, run_all
from batchspec.plan.model import DownloadPlan, Plan
from batchspec.redact import describe_error

_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class DownloadSummary:
    written: list[Path]
    skipped: list[Path]
    """Local files that already had the blob's content."""
    refused: list[str]
    """Why a blob was not written: an unsafe name, or a local file with other content."""
    conflicts: list[Path] = field(default_factory=list)
    """Existing local files with other content, kept because the plan does not overwrite."""
    digests: dict[Path, str] = field(default_factory=dict)
    """MD5 (hex) of every file written or found unchanged, for the journal."""


class _Partials:
    """The temporary files downloads are writing now, so an interrupt can remove them."""

    def __init__(self) -> None:
        self._paths: set[Path] = set()
        self._lock = threading.Lock()

    def add(self, path: Path) -> None:
        with self._lock:
            self._paths.add(path)

    def discard(self, path: Path) -> None:
        with self._lock:
            self._paths.discard(path)

    def remove_all(self) -> None:
        """Unlink every file still being written; its hung writer then finds it gone."""
        with self._lock:
            paths, self._paths = self._paths, set()
        for path in paths:
            path.unlink(missing_ok=True)


def safe_relative_path(name: str) -> Path | None:
    """The relative path a blob name maps to, or None when the name could escape its directory."""
    if not name or "\\" in name or "\0" in name or name.startswith("/") or _DRIVE.match(name):
        return None
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return Path(*parts)


def local_destination(root: Path, name: str) -> Path | None:
    """Where blob `name` goes under `root`, or None if it would land outside `root`."""
    relative = safe_relative_path(name)
    if relative is None:
        return None
    base = root.resolve()
    # resolve() follows symlinks already present under root, so a link pointing out is caught.
    destination = (base / relative).resolve()
    if destination == base or not destination.is_relative_to(base):
        return None
    return destination


def download_outputs(
    blob_service: BlobServiceClient,
    plan: Plan,
    concurrency: int = 8,
    *,
    written_before: Mapping[str, str] | None = None,
    cancel: threading.Event | None = None,
    on_stall: StallNotice | None = None,
    progress: FileProgress | None = None,
) -> DownloadSummary:
    """Download every blob the plan's downloads name; see DownloadSummary for what happened.

    `written_before` maps files earlier runs wrote to their MD5 (hex): such a file, unchanged
    since, is replaced. Setting `cancel` stops the downloads at their next chunk.
    """
    summary = DownloadSummary([], [], [], [])
    known = dict(written_before or {})
    stop = cancel or threading.Event()
    lock = threading.Lock()
    partials = _Partials()
    jobs: list[tuple[DownloadPlan, str, BlobProperties, Path]] = []
    for download in plan.downloads:
        container = plan.container_name(download.container)
        client = blob_service.get_container_client(container)
        for blob in client.list_blobs(name_starts_with=download.prefix or None):
            name = blob.name[len(download.prefix) :]
            destination = local_destination(download.to, name)
            if destination is None:
                summary.refused.append(f"{container}/{blob.name}: the name leaves {download.to}")
                continue
            jobs.append((download, container, blob, destination))

    def one(job: tuple[DownloadPlan, str, BlobProperties, Path]) -> None:
        download, container, blob, destination = job
        if stop.is_set():
            raise Cancelled("stopped")
        fetch(download, container, blob, destination)
        if progress is not None:
            progress.advance(blob.size or 0)

    def fetch(
        download: DownloadPlan, container: str, blob: BlobProperties, destination: Path
    ) -> None:
        replace = download.overwrite or _unchanged_since_written(destination, known)
        try:
            outcome, md5 = _download_one(
                blob_service, container, blob, destination, replace, stop, partials
            )
        except OSError as exc:
            # E.g. blobs `a` and `a/b` cannot both be files; the others still download.
            with lock:
                summary.refused.append(f"{container}/{blob.name}: {describe_error(exc)}")
            return
        with lock:
            if md5:
                summary.digests[destination] = md5
            if outcome == "written":
                summary.written.append(destination)
            elif outcome == "skipped":
                summary.skipped.append(destination)
            else:
                summary.conflicts.append(destination)
                summary.refused.append(
                    f"{destination} exists with other content; kept "
                    "(set `overwrite: true` on the download to replace it)"
                )

    if progress is not None:
        progress.start(len(jobs), sum(blob.size or 0 for _, _, blob, _ in jobs))
    if jobs:
        try:
            run_all(one, jobs, concurrency, stop, on_stall)
        except BaseException:
            # Threads stuck in a read never reach their own clean-up; the process may exit first.
            partials.remove_all()
            raise
    summary.written.sort()
    summary.skipped.sort()
    summary.conflicts.sort()
    return summary


def _unchanged_since_written(destination: Path, known: Mapping[str, str]) -> bool:
    """Whether a run of this spec wrote `destination` and nobody changed it since."""
    digest = known.get(str(destination))
    return digest is not None and destination.is_file() and file_md5(destination).hex() == digest


def _download_one(
    blob_service: BlobServiceClient,
    container: str,
    blob: BlobProperties,
    destination: Path,
    overwrite: bool,
    cancel: threading.Event,
    partials: _Partials,
) -> tuple[str, str | None]:
    """Fetch one blob to `destination`: ("written" | "skipped" | "conflict", its MD5 hex)."""
    remote_md5 = blob.content_settings.content_md5
    exists = destination.is_file()
    if exists and remote_md5 and file_md5(destination) == bytes(remote_md5):
        return "skipped", bytes(remote_md5).hex()
    if exists and remote_md5 and not overwrite:
        return "conflict", None
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".batchspec-", dir=destination.parent)
    tmp = Path(tmp_name)
    partials.add(tmp)
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with os.fdopen(fd, "wb") as out:
            stream = blob_service.get_blob_client(container, blob.name).download_blob()
            for chunk in stream.chunks():
                if cancel.is_set():
                    raise Cancelled("stopped")
                digest.update(chunk)
                out.write(chunk)
        if exists:
            if file_md5(destination) == digest.digest():
                return "skipped", digest.hexdigest()
            if not overwrite:
                return "conflict", None
        # mkstemp makes the file 0600; a downloaded file gets what the umask gives any new file.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, destination)
        return "written", digest.hexdigest()
    finally:
        partials.discard(tmp)
        tmp.unlink(missing_ok=True)


_UMASK: list[int] = []
_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process umask, read once (reading it means setting it, so under a lock)."""
    with _UMASK_LOCK:
        if not _UMASK:
            current = os.umask(0o022)
            os.umask(current)
            _UMASK.append(current)
        return _UMASK[0]
