"""Output downloads: names that could escape are refused, existing files are not clobbered."""

from __future__ import annotations

import _thread
import dataclasses
import os
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from azure.storage.blob import BlobProperties, BlobServiceClient

from batchspec.apply.downloads import download_outputs, local_destination, safe_relative_path
from batchspec.apply.sas import SasIssuer
from batchspec.apply.storage import delete_containers, ensure_containers
from batchspec.plan.model import DownloadPlan, Plan

from .handmade_plans import topn_like_plan
from .test_storage import CountedProgress

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def plan(tmp_path: Path, blobs: BlobServiceClient) -> Iterator[Plan]:
    made = topn_like_plan(tmp_path / "spec", prefix=f"d{uuid.uuid4().hex[:10]}", tasks=1)
    made = dataclasses.replace(made, downloads=(DownloadPlan("output", tmp_path / "out"),))
    ensure_containers(blobs, made)
    try:
        yield made
    finally:
        delete_containers(blobs, made)


def put(blobs: BlobServiceClient, plan: Plan, name: str, data: bytes) -> None:
    blobs.get_blob_client(plan.container_name("output"), name).upload_blob(data, overwrite=True)


def put_raw(azurite: Any, plan: Plan, name: str, data: bytes) -> None:
    """Store a blob under a hostile name, percent-encoded whole as a task's HTTP client could."""
    expires = datetime.now(UTC) + timedelta(hours=1)
    sas = SasIssuer(
        azurite.account_name, azurite.blob_endpoint, expires, account_key=azurite.account_key
    )
    base, token = sas.container_write_url(plan.container_name("output")).split("?", 1)
    url = f"{base}/{quote(name, safe='')}?{token}"
    headers = {"x-ms-blob-type": "BlockBlob"}
    request = urllib.request.Request(url, data=data, method="PUT", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


@pytest.mark.parametrize(
    "name",
    [
        "../../x",
        "a/../../x",
        "..",
        "/etc/passwd",
        "a\\..\\..\\x",
        "C:/Windows/x",
        "c:x",
        "",
        "./",
        "a/\0b",
    ],
)
def test_names_that_could_escape_are_refused(name: str) -> None:
    assert safe_relative_path(name) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.txt", "a.txt"), ("task-0/out.txt", "task-0/out.txt"), ("a//./b", "a/b")],
)
def test_ordinary_names_map_below_the_directory(name: str, expected: str) -> None:
    assert safe_relative_path(name) == Path(expected)


def test_a_symlink_inside_the_directory_cannot_lead_outside(tmp_path: Path) -> None:
    root = tmp_path / "out"
    (tmp_path / "elsewhere").mkdir()
    root.mkdir()
    os.symlink(tmp_path / "elsewhere", root / "link")
    assert local_destination(root, "link/x.txt") is None
    assert local_destination(root, "ok/x.txt") == root.resolve() / "ok" / "x.txt"


def test_malicious_blob_name_cannot_escape_the_download_directory(
    azurite: Any, blobs: BlobServiceClient, plan: Plan, tmp_path: Path
) -> None:
    put_raw(azurite, plan, "../../x", b"escaped")
    listed = [
        b.name for b in blobs.get_container_client(plan.container_name("output")).list_blobs()
    ]
    assert "../../x" in listed
    put(blobs, plan, "task-0/result.txt", b"fine")
    summary = download_outputs(blobs, plan)
    out = tmp_path / "out"
    assert summary.written == [(out / "task-0" / "result.txt").resolve()]
    assert len(summary.refused) == 1
    assert "../../x" in summary.refused[0]
    assert "leaves" in summary.refused[0]
    assert not (tmp_path.parent / "x").exists()
    assert not (tmp_path / "x").exists()
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert [p for p in written if p.parts[0] != "spec"] == [Path("out/task-0/result.txt")]


def test_same_content_is_skipped_and_different_content_is_kept(
    blobs: BlobServiceClient, plan: Plan, tmp_path: Path
) -> None:
    put(blobs, plan, "same.txt", b"same")
    put(blobs, plan, "differs.txt", b"from the task")
    out = tmp_path / "out"
    out.mkdir()
    (out / "same.txt").write_bytes(b"same")
    (out / "differs.txt").write_bytes(b"my own notes")

    summary = download_outputs(blobs, plan)
    assert summary.written == []
    assert summary.skipped == [(out / "same.txt").resolve()]
    assert summary.conflicts == [(out / "differs.txt").resolve()]
    assert "exists with other content" in summary.refused[0]
    assert (out / "differs.txt").read_bytes() == b"my own notes"

    overwriting = dataclasses.replace(
        plan, downloads=(DownloadPlan("output", out, overwrite=True),)
    )
    summary = download_outputs(blobs, overwriting)
    assert summary.written == [(out / "differs.txt").resolve()]
    assert (out / "differs.txt").read_bytes() == b"from the task"
    assert not [p for p in out.iterdir() if p.name.startswith(".batchspec-")]


def test_prefix_selects_blobs_and_is_stripped_locally(
    blobs: BlobServiceClient, plan: Plan, tmp_path: Path
) -> None:
    put(blobs, plan, "run-1/a.txt", b"a")
    put(blobs, plan, "run-2/b.txt", b"b")
    out = tmp_path / "pref"
    prefixed = dataclasses.replace(plan, downloads=(DownloadPlan("output", out, prefix="run-1/"),))
    progress = CountedProgress()
    summary = download_outputs(blobs, prefixed, progress=progress)
    assert progress.started == (1, 1) and progress.sizes == [1]
    assert summary.written == [(out / "a.txt").resolve()]
    assert (out / "a.txt").read_bytes() == b"a"


def test_a_blob_that_collides_with_a_directory_is_reported_not_fatal(
    blobs: BlobServiceClient, plan: Plan, tmp_path: Path
) -> None:
    put(blobs, plan, "a", b"file")
    put(blobs, plan, "a/b", b"nested")
    summary = download_outputs(blobs, plan)
    assert len(summary.written) + len(summary.refused) == 2
    assert len(summary.written) == 1


def test_a_file_an_earlier_run_wrote_is_replaced_and_gets_the_umask(
    blobs: BlobServiceClient, plan: Plan, tmp_path: Path
) -> None:
    put(blobs, plan, "r.txt", b"first")
    first = download_outputs(blobs, plan)
    target = tmp_path / "out" / "r.txt"
    assert first.written == [target]
    old = os.umask(0o027)
    os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o666 & ~old
    put(blobs, plan, "r.txt", b"second")
    # Unknown to the journal: kept and reported, as a user's own file is.
    assert download_outputs(blobs, plan).conflicts == [target]
    known = {str(target): first.digests[target]}
    again = download_outputs(blobs, plan, written_before=known)
    assert again.written == [target] and target.read_bytes() == b"second"
    # Changed by hand since: not batchspec's to replace any more.
    target.write_bytes(b"my notes")
    put(blobs, plan, "r.txt", b"third")
    later = download_outputs(blobs, plan, written_before={str(target): again.digests[target]})
    assert later.conflicts == [target] and target.read_bytes() == b"my notes"


class _HungBlobs:
    """A blob service whose one download sends a chunk, then hangs as a frozen connection does."""

    def __init__(self) -> None:
        self.hanging = threading.Event()
        self.release = threading.Event()

    def get_container_client(self, container: str) -> _HungBlobs:
        return self

    def list_blobs(self, name_starts_with: str | None = None) -> list[BlobProperties]:
        blob = BlobProperties(name="stuck.bin")
        blob.size = 2
        return [blob]

    def get_blob_client(self, container: str, name: str) -> _HungBlobs:
        return self

    def download_blob(self) -> _HungBlobs:
        return self

    def chunks(self) -> Iterator[bytes]:
        yield b"x"
        self.hanging.set()
        self.release.wait(60)
        yield b"y"


def test_an_interrupt_during_a_hung_download_leaves_no_temporary_file(tmp_path: Path) -> None:
    made = topn_like_plan(tmp_path / "spec", tasks=1)
    out = tmp_path / "out"
    made = dataclasses.replace(made, downloads=(DownloadPlan("output", out),))
    hung = _HungBlobs()

    def interrupt_once_hanging() -> None:
        if hung.hanging.wait(30):
            _thread.interrupt_main()

    threading.Thread(target=interrupt_once_hanging, daemon=True).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            download_outputs(hung, made)  # type: ignore[arg-type]
        assert hung.hanging.is_set()
        assert sorted(p.name for p in out.iterdir()) == []
    finally:
        hung.release.set()
