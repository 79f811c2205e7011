"""Containers, hash-skipping uploads and least-privilege SAS, against a real Azurite."""

from __future__ import annotations

import dataclasses
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobClient, BlobServiceClient, ContentSettings

from batchspec.apply.sas import SasIssuer
from batchspec.apply.storage import (
    LIST_THRESHOLD,
    delete_containers,
    ensure_containers,
    upload_files,
)
from batchspec.plan.model import Plan, UploadPlan
from batchspec.redact import describe_error, redact
from batchspec.targets import BLOB_CLIENT_OPTIONS

from .handmade_plans import topn_like_plan

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def plan(tmp_path: Path, blobs: BlobServiceClient) -> Iterator[Plan]:
    made = topn_like_plan(tmp_path, prefix=f"s{uuid.uuid4().hex[:10]}", tasks=3)
    try:
        yield made
    finally:
        delete_containers(blobs, made)


def issuer(azurite: Any, hours: float = 1.0) -> SasIssuer:
    expires = datetime.now(UTC) + timedelta(hours=hours)
    return SasIssuer(
        azurite.account_name, azurite.blob_endpoint, expires, account_key=azurite.account_key
    )


def http(method: str, url: str, body: bytes | None = None) -> tuple[int, bytes]:
    headers = {"x-ms-blob-type": "BlockBlob"} if method == "PUT" else {}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_containers_are_created_once_and_existing_ones_are_fine(
    blobs: BlobServiceClient, plan: Plan
) -> None:
    names = [c.name for c in plan.containers]
    assert ensure_containers(blobs, plan) == names
    assert ensure_containers(blobs, plan) == []
    assert delete_containers(blobs, plan) == names
    assert delete_containers(blobs, plan) == []


class CountedProgress:
    """A FileProgress that remembers what it was told."""

    def __init__(self) -> None:
        self.started: tuple[int, int] | None = None
        self.sizes: list[int] = []

    def start(self, files: int, size: int) -> None:
        self.started = (files, size)

    def advance(self, size: int) -> None:
        self.sizes.append(size)


def test_second_upload_of_unchanged_files_sends_nothing(
    blobs: BlobServiceClient, plan: Plan
) -> None:
    ensure_containers(blobs, plan)
    seen: list[tuple[str, bool]] = []
    first = upload_files(blobs, plan, on_progress=lambda up, sent: seen.append((up.blob, sent)))
    total = sum(up.size for up in plan.uploads)
    assert (first.uploaded, first.skipped, first.bytes_uploaded) == (4, 0, total)
    assert sorted(seen) == sorted((up.blob, True) for up in plan.uploads)

    progress = CountedProgress()
    again = upload_files(blobs, plan, progress=progress)
    assert (again.uploaded, again.skipped, again.bytes_uploaded) == (0, 4, 0)
    # Files found unchanged count as handled: the display reaches all of them, and all bytes.
    assert progress.started == (4, total) and sorted(progress.sizes) == sorted(
        up.size for up in plan.uploads
    )

    changed = plan.uploads[1]
    changed.source.write_text("a different content\n")
    third = upload_files(blobs, plan, concurrency=2)
    assert (third.uploaded, third.skipped) == (1, 3)
    assert third.bytes_uploaded == changed.source.stat().st_size
    container = plan.container_name(changed.container)
    data = blobs.get_blob_client(container, changed.blob).download_blob().readall()
    assert data == b"a different content\n"


def test_an_upload_failure_is_raised_and_describes_itself_without_secrets(
    blobs: BlobServiceClient, plan: Plan, tmp_path: Path
) -> None:
    # No ensure_containers: the container is missing, so the upload fails at the service.
    with pytest.raises(HttpResponseError) as caught:
        upload_files(blobs, plan)
    line = describe_error(caught.value)
    assert line.startswith("ContainerNotFound: The specified container does not exist.")
    assert "\n" not in line


def test_blob_sas_reads_one_blob_and_nothing_else(
    azurite: Any, blobs: BlobServiceClient, plan: Plan
) -> None:
    ensure_containers(blobs, plan)
    upload_files(blobs, plan)
    container = plan.container_name("input")
    sas = issuer(azurite)
    url = sas.blob_url(container, "in0.txt")
    assert "sp=r&" in url
    status, body = http("GET", url)
    assert status == 200
    assert body == plan.uploads[1].source.read_bytes()
    assert http("PUT", url, b"overwrite")[0] == 403
    assert http("DELETE", url)[0] == 403
    # The token is for that one blob: the same signature does not open its neighbour.
    assert http("GET", url.replace("in0.txt", "in1.txt"))[0] == 403


def test_container_read_url_lists_and_reads_but_cannot_write(
    azurite: Any, blobs: BlobServiceClient, plan: Plan
) -> None:
    ensure_containers(blobs, plan)
    upload_files(blobs, plan)
    container = plan.container_name("input")
    url = issuer(azurite).container_read_url(container)
    base, token = url.split("?", 1)
    status, listing = http("GET", f"{base}?restype=container&comp=list&{token}")
    assert status == 200
    assert b"<Name>in2.txt</Name>" in listing
    assert http("GET", f"{base}/in2.txt?{token}")[0] == 200
    assert http("PUT", f"{base}/new.txt?{token}", b"x")[0] == 403


def test_container_write_url_writes_but_cannot_read_or_list(
    azurite: Any, blobs: BlobServiceClient, plan: Plan
) -> None:
    ensure_containers(blobs, plan)
    container = plan.container_name("output")
    url = issuer(azurite).container_write_url(container)
    base, token = url.split("?", 1)
    assert http("PUT", f"{base}/task-0/out.txt?{token}", b"result")[0] == 201
    assert blobs.get_blob_client(container, "task-0/out.txt").download_blob().readall() == (
        b"result"
    )
    assert http("GET", f"{base}/task-0/out.txt?{token}")[0] == 403
    assert http("GET", f"{base}?restype=container&comp=list&{token}")[0] == 403
    assert http("DELETE", f"{base}/task-0/out.txt?{token}")[0] == 403


def test_expired_sas_is_refused(azurite: Any, blobs: BlobServiceClient, plan: Plan) -> None:
    ensure_containers(blobs, plan)
    upload_files(blobs, plan)
    url = issuer(azurite, hours=-1).blob_url(plan.container_name("input"), "in0.txt")
    assert http("GET", url)[0] == 403


def test_sas_expiry_is_the_time_given(azurite: Any) -> None:
    expires = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    sas = SasIssuer("acct", "https://acct.blob.core.windows.net", expires, account_key="a2V5")
    url = sas.container_write_url("out")
    assert "se=2031-01-02T03%3A04%3A05Z" in url
    assert "sr=c" in url
    assert "spr=https" in url


def test_a_blob_with_the_same_bytes_but_no_stored_hash_is_uploaded_again(
    blobs: BlobServiceClient, plan: Plan
) -> None:
    ensure_containers(blobs, plan)
    first: UploadPlan = plan.uploads[0]
    container = plan.container_name(first.container)
    # A blob put there by another tool, with the same bytes but no stored hash (Azurite
    # computes one for single-shot uploads, so it is cleared explicitly).
    blob = blobs.get_blob_client(container, first.blob)
    blob.upload_blob(first.source.read_bytes(), overwrite=True)
    blob.set_http_headers(ContentSettings(content_md5=None))
    summary = upload_files(blobs, plan)
    assert summary.uploaded == 4


def test_sdk_errors_on_a_sas_url_are_described_without_the_signature(
    azurite: Any, blobs: BlobServiceClient, plan: Plan
) -> None:
    ensure_containers(blobs, plan)
    upload_files(blobs, plan)
    url = issuer(azurite).blob_url(plan.container_name("input"), "in0.txt")
    signature = parse_qs(urlsplit(url).query)["sig"][0]
    # A write through a read-only token: the service refuses it.
    client = BlobClient.from_blob_url(url)
    try:
        with pytest.raises(HttpResponseError) as caught:
            client.upload_blob(b"x", overwrite=True)
    finally:
        client.close()
    line = describe_error(caught.value)
    assert line.startswith("AuthorizationPermissionMismatch: "), line
    for text in (line, redact(str(caught.value)), redact(repr(caught.value))):
        assert signature not in text
        assert quote(signature, safe="") not in text


def test_many_files_into_one_container_are_checked_by_listing_not_one_by_one(
    azurite: Any, plan: Plan, tmp_path: Path
) -> None:
    extra = []
    for i in range(LIST_THRESHOLD + 4):
        path = tmp_path / f"many-{i}.txt"
        path.write_text(f"file {i}\n")
        extra.append(UploadPlan(path, "input", f"many/{i}.txt", path.stat().st_size))
    many = dataclasses.replace(plan, uploads=(*plan.uploads, *extra))
    requests: list[str] = []
    client = BlobServiceClient.from_connection_string(
        azurite.connection_string,
        raw_request_hook=lambda r: requests.append(r.http_request.method),
    )
    try:
        ensure_containers(client, many)
        first = upload_files(client, many)
        assert (first.uploaded, first.skipped) == (len(many.uploads), 0)
        requests.clear()
        again = upload_files(client, many)
        assert (again.uploaded, again.skipped, again.bytes_uploaded) == (0, len(many.uploads), 0)
        # The application container's single file is checked by itself (HEAD); the input
        # container's 23 files by one listing (GET).
        assert sorted(requests) == ["GET", "HEAD"]
    finally:
        client.close()


def test_a_file_sent_in_blocks_keeps_its_hash_and_is_skipped_next_time(
    azurite: Any, plan: Plan, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(BLOB_CLIENT_OPTIONS["max_single_put_size"] * 2 + 123))
    one = dataclasses.replace(plan, uploads=(UploadPlan(big, "input", "big.bin", 0),))
    requests: list[str] = []
    client = BlobServiceClient.from_connection_string(
        azurite.connection_string,
        raw_request_hook=lambda r: requests.append(r.http_request.method),
        **BLOB_CLIENT_OPTIONS,
    )
    try:
        ensure_containers(client, one)
        requests.clear()
        assert upload_files(client, one).bytes_uploaded == big.stat().st_size
        assert requests.count("PUT") == 4  # three blocks and the block list
        again = upload_files(client, one)
        assert (again.uploaded, again.skipped) == (0, 1)
        data = client.get_blob_client(plan.container_name("input"), "big.bin").download_blob()
        assert data.readall() == big.read_bytes()
    finally:
        client.close()
