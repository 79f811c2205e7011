"""Blob containers and uploads: create what the plan names, upload only what changed.

Each upload stores the file's MD5 as the blob's Content-MD5, so a later run compares one
HEAD request against a local hash and skips identical blobs: re-applying an unchanged spec
uploads nothing.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContentSettings

from batchspec.plan.model import Plan, UploadPlan

T = TypeVar("T")
_CHUNK = 1 << 20
_LIST_PAGE = 5000
LIST_THRESHOLD = 16
"""From this many uploads into one container on, existing hashes come from listing it."""

ProgressCallback = Callable[[UploadPlan, bool], None]
"""Called once per file when handled: the upload, and True if sent (False: skipped)."""


@dataclass(frozen=True)
class UploadSummary:
    uploaded: int
    """Files sent."""
    skipped: int
    """Files whose blob already had the same content."""
    bytes_uploaded: int


def file_md5(path: Path) -> bytes:
    """The MD5 digest of a file, read in chunks (Blob Storage's Content-MD5)."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.digest()


def ensure_containers(
    blob_service: BlobServiceClient, plan: Plan, metadata: dict[str, str] | None = None
) -> list[str]:
    """Create the plan's containers; return the names created (existing ones are fine)."""
    return [c.name for c in plan.containers if create_container(blob_service, c.name, metadata)]


def create_container(
    blob_service: BlobServiceClient, name: str, metadata: dict[str, str] | None = None
) -> bool:
    """Create one container carrying `metadata`; False if it already existed (left as it is)."""
    try:
        blob_service.create_container(name, metadata=metadata)
    except ResourceExistsError:
        return False
    return True


def container_metadata(blob_service: BlobServiceClient, name: str) -> dict[str, str] | None:
    """A container's metadata, or None if it does not exist."""
    try:
        properties = blob_service.get_container_client(name).get_container_properties()
    except ResourceNotFoundError:
        return None
    return dict(properties.metadata or {})


class Cancelled(Exception):
    """The transfer was stopped (Ctrl-C or SIGTERM) before it ended."""


class CancellableReader(io.RawIOBase):
    """A file read for an upload that stops at the next read once `cancel` is set.

    The SDK reads a large file a block at a time, so an upload under way ends within one
    block's transfer of Ctrl-C rather than when the whole file has been sent.
    """

    def __init__(self, stream: BinaryIO, cancel: threading.Event) -> None:
        self._stream, self._cancel = stream, cancel

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        # The SDK seeks back to resend a block after a fault.
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()

    def read(self, size: int = -1) -> bytes:
        if self._cancel.is_set():
            raise Cancelled("stopped")
        return self._stream.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def upload_files(
    blob_service: BlobServiceClient,
    plan: Plan,
    concurrency: int = 8,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    on_stall: StallNotice | None = None,
) -> UploadSummary:
    """Upload the plan's files concurrently, skipping blobs whose Content-MD5 matches the file.

    Setting `cancel` (apply does on Ctrl-C) drops the uploads not started and stops those
    under way at their next block.
    """
    lock = threading.Lock()
    totals = {"uploaded": 0, "skipped": 0, "bytes": 0}
    known = _listed_hashes(blob_service, plan)
    stop = cancel or threading.Event()

    def one(upload: UploadPlan) -> None:
        if stop.is_set():
            raise Cancelled("stopped")
        container = plan.container_name(upload.container)
        sent = _upload_if_changed(blob_service, container, upload, known.get(container), stop)
        with lock:
            if sent is None:
                totals["skipped"] += 1
            else:
                totals["uploaded"] += 1
                totals["bytes"] += sent
        if on_progress is not None:
            on_progress(upload, sent is not None)

    if plan.uploads:
        run_all(one, plan.uploads, concurrency, stop, on_stall)
    return UploadSummary(totals["uploaded"], totals["skipped"], totals["bytes"])


STALL_SECONDS = 30.0
"""A transfer step in which no file has finished for this long says so (once per stall)."""

StallNotice = Callable[[float], None]
"""Told how many seconds have passed without a file finishing."""


def run_all(
    work: Callable[[T], None],
    items: Sequence[T],
    concurrency: int,
    cancel: threading.Event,
    on_stall: StallNotice | None = None,
) -> None:
    """`work` on every item, in `concurrency` threads; the first failure is raised here.

    Ctrl-C (or SIGTERM, raised as KeyboardInterrupt) in the calling thread sets `cancel` and
    returns at once: items not started are dropped, transfers under way stop at their next
    block, and the threads are daemons, so a request that hangs cannot hold the process.
    After a failure, the other threads finish their item and start no other.
    """
    pending = iter(items)
    lock = threading.Lock()
    failures: list[BaseException] = []
    finished = [0]
    stop = threading.Event()

    def worker() -> None:
        while not (stop.is_set() or cancel.is_set()):
            with lock:
                item = next(pending, _END)
            if item is _END:
                return
            try:
                work(item)  # type: ignore[arg-type]
            except BaseException as exc:  # handed to the calling thread
                with lock:
                    failures.append(exc)
                stop.set()
                return
            with lock:
                finished[0] += 1

    threads = [
        threading.Thread(target=worker, name="batchspec-transfer", daemon=True)
        for _ in range(max(1, min(concurrency, len(items))))
    ]
    for thread in threads:
        thread.start()
    seen, since, told = 0, time.monotonic(), False
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)  # a bounded join lets Ctrl-C through at once
                if finished[0] != seen:
                    seen, since, told = finished[0], time.monotonic(), False
                elif on_stall is not None and not told and time.monotonic() - since > STALL_SECONDS:
                    told = True
                    on_stall(time.monotonic() - since)
    except BaseException:
        cancel.set()
        raise
    if failures:
        real = [f for f in failures if not isinstance(f, Cancelled)]
        raise (real or failures)[0]


_END = object()


def _listed_hashes(blob_service: BlobServiceClient, plan: Plan) -> dict[str, dict[str, bytes]]:
    """Content-MD5 of existing blobs, by container, for containers that receive many files.

    One listing page covers up to 5,000 blobs, where checking each blob costs a request.
    A container missing here is checked blob by blob.
    """
    by_container: dict[str, list[str]] = {}
    for upload in plan.uploads:
        by_container.setdefault(plan.container_name(upload.container), []).append(upload.blob)
    listed: dict[str, dict[str, bytes]] = {}
    for container, names in by_container.items():
        if len(names) >= LIST_THRESHOLD:
            hashes = _list_hashes(blob_service, container, names)
            if hashes is not None:
                listed[container] = hashes
    return listed


def _list_hashes(
    blob_service: BlobServiceClient, container: str, names: list[str]
) -> dict[str, bytes] | None:
    """Name -> Content-MD5 of those of `names` that exist with a hash; None if listing is costly."""
    wanted = set(names)
    # Beyond this many unrelated blobs, checking each wanted blob is cheaper than listing on.
    budget = 4 * len(names) + _LIST_PAGE
    found: dict[str, bytes] = {}
    client = blob_service.get_container_client(container)
    try:
        for seen, blob in enumerate(client.list_blobs(name_starts_with=_shared_start(names))):
            if seen >= budget:
                return None
            md5 = blob.content_settings.content_md5
            if blob.name in wanted and md5:
                found[blob.name] = bytes(md5)
    except ResourceNotFoundError:
        return {}
    return found


def _shared_start(names: list[str]) -> str | None:
    """The longest string every name starts with (character-wise: blob names are not paths)."""
    low, high = min(names), max(names)
    size = 0
    while size < min(len(low), len(high)) and low[size] == high[size]:
        size += 1
    return low[:size] or None


def _upload_if_changed(
    blob_service: BlobServiceClient,
    container: str,
    upload: UploadPlan,
    listed: dict[str, bytes] | None,
    cancel: threading.Event,
) -> int | None:
    """Upload one file unless its blob has the same MD5; return the bytes sent, None if skipped."""
    local_md5 = file_md5(upload.source)
    # Only made when needed: building a blob client's pipeline costs more than hashing 1 KiB.
    blob = blob_service.get_blob_client(container, upload.blob) if listed is None else None
    remote_md5: bytes | bytearray | None
    if blob is None:
        remote_md5 = listed.get(upload.blob) if listed is not None else None
    else:
        try:
            remote_md5 = blob.get_blob_properties().content_settings.content_md5
        except ResourceNotFoundError:
            remote_md5 = None
    if remote_md5 is not None and bytes(remote_md5) == local_md5:
        return None
    size = upload.source.stat().st_size
    blob = blob or blob_service.get_blob_client(container, upload.blob)
    with upload.source.open("rb") as stream:
        blob.upload_blob(
            CancellableReader(stream, cancel),
            length=size,
            overwrite=True,
            content_settings=ContentSettings(content_md5=bytearray(local_md5)),
            max_concurrency=1,
        )
    return size


def delete_containers(blob_service: BlobServiceClient, plan: Plan) -> list[str]:
    """Delete the plan's containers; return the names deleted (missing ones are fine)."""
    deleted: list[str] = []
    for container in plan.containers:
        try:
            blob_service.delete_container(container.name)
        except ResourceNotFoundError:
            continue
        deleted.append(container.name)
    return deleted
