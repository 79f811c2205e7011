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
    known = _listed_hashes(blob_service, plan)

    def one(upload: UploadPlan) -> None:
        container = plan.container_name(upload.container)
        sent = _upload_if_changed(blob_service, container, upload, known.get(container))
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
