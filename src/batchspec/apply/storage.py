"""Blob containers and uploads: create what the plan names, upload only what changed.

Each upload stores the file's MD5 as the blob's Content-MD5, so a later run compares one
HEAD request against a local hash and skips identical blobs: re-applying an unchanged spec
uploads nothing.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContentSettings

from batchspec.plan.model import Plan, UploadPlan

_CHUNK = 1 << 20

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


def ensure_containers(blob_service: BlobServiceClient, plan: Plan) -> list[str]:
    """Create the plan's containers; return the names created (existing ones are fine)."""
    created: list[str] = []
    for container in plan.containers:
        try:
            blob_service.create_container(container.name)
        except ResourceExistsError:
            continue
        created.append(container.name)
    return created


def upload_files(
    blob_service: BlobServiceClient,
    plan: Plan,
    concurrency: int = 8,
    on_progress: ProgressCallback | None = None,
) -> UploadSummary:
    """Upload the plan's files concurrently, skipping blobs whose Content-MD5 matches the file."""
    lock = threading.Lock()
    totals = {"uploaded": 0, "skipped": 0, "bytes": 0}

    def one(upload: UploadPlan) -> None:
        sent = _upload_if_changed(blob_service, plan.container_name(upload.container), upload)
        with lock:
            if sent is None:
                totals["skipped"] += 1
            else:
                totals["uploaded"] += 1
                totals["bytes"] += sent
        if on_progress is not None:
            on_progress(upload, sent is not None)

    if plan.uploads:
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            # list() re-raises the first failure here, after the others have finished.
            list(pool.map(one, plan.uploads))
    return UploadSummary(totals["uploaded"], totals["skipped"], totals["bytes"])


def _upload_if_changed(
    blob_service: BlobServiceClient, container: str, upload: UploadPlan
) -> int | None:
    """Upload one file unless its blob has the same MD5; return the bytes sent, None if skipped."""
    local_md5 = file_md5(upload.source)
    blob = blob_service.get_blob_client(container, upload.blob)
    try:
        remote_md5 = blob.get_blob_properties().content_settings.content_md5
    except ResourceNotFoundError:
        remote_md5 = None
    if remote_md5 is not None and bytes(remote_md5) == local_md5:
        return None
    size = upload.source.stat().st_size
    with upload.source.open("rb") as stream:
        blob.upload_blob(
            stream,
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
