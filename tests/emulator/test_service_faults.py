"""Faults the local service must answer as Batch does rather than with InternalError, and the
promises it keeps through a kill and a full disk."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.batch import BatchClient
from azure.batch import models as m
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas
from emulator_helpers import (
    job_options,
    pool_options,
    stdout_of,
    unique,
    wait_task_done,
    wait_until,
)

from conftest import BatchService, start_batch_service

pytestmark = pytest.mark.timeout(180)


def _client(svc: BatchService) -> BatchClient:
    return BatchClient(svc.endpoint, AzureNamedKeyCredential(svc.account, svc.key))


def test_an_argument_over_the_kernel_limit_is_a_task_failure(batch_client: BatchClient) -> None:
    pool_id, job_id = unique("e2big"), unique("e2big")
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    batch_client.create_job(job_options(job_id, pool_id))
    # One argument over Linux's 128 KiB per-argument limit: exec fails with E2BIG.
    batch_client.create_task(
        job_id, m.BatchTaskCreateOptions(id="big", command_line="echo " + "x" * 200_000)
    )
    info = wait_task_done(batch_client, job_id, "big").execution_info
    assert info.result == m.BatchTaskExecutionResult.FAILURE
    assert (info.failure_info.code, info.failure_info.category) == (
        "CommandLaunchFailed",
        "usererror",
    )
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_a_resource_url_with_a_space_is_fetched_escaped(
    batch_client: BatchClient, azurite: Any
) -> None:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = service.create_container(unique("space"))
    container.upload_blob("a b.txt", b"spaced\n")
    sas = generate_container_sas(
        azurite.account_name,
        container.container_name,
        account_key=azurite.account_key,
        permission=ContainerSasPermissions(read=True),
        expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    pool_id, job_id = unique("space"), unique("space")
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    batch_client.create_job(job_options(job_id, pool_id))
    files = [m.ResourceFile(http_url=f"{container.url}/a b.txt?{sas}", file_path="in.txt")]
    batch_client.create_task(
        job_id, m.BatchTaskCreateOptions(id="cat", command_line="cat in.txt", resource_files=files)
    )
    wait_task_done(batch_client, job_id, "cat")
    assert stdout_of(batch_client, job_id, "cat") == "spaced\n"
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_a_body_nested_100000_deep_is_a_bad_request(batch_client: BatchClient) -> None:
    body = b'{"id": "deep", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    request = HttpRequest(
        "POST",
        "/jobs",
        params={"api-version": "2025-06-01"},
        content=body,
        headers={"Content-Type": "application/json; odata=minimalmetadata"},
    )
    with pytest.raises(HttpResponseError) as info:
        batch_client.send_request(request)
    assert (info.value.status_code, info.value.error.code) == (400, "InvalidRequestBody")


def _dependent_job(client: BatchClient, pool_id: str, job_id: str, first: str) -> None:
    client.create_job(job_options(job_id, pool_id, uses_task_dependencies=True))
    client.create_task(job_id, m.BatchTaskCreateOptions(id="first", command_line=first))
    client.create_task(
        job_id,
        m.BatchTaskCreateOptions(
            id="second",
            command_line="echo released",
            depends_on=m.BatchTaskDependencies(task_ids=["first"]),
        ),
    )


def _stop(svc: BatchService, sig: int) -> None:
    os.kill(svc.pid, sig)
    wait_until(lambda: not Path(f"/proc/{svc.pid}").exists() or _zombie(svc.pid), timeout=30)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_a_kill_between_a_task_and_its_dependant_loses_no_dependant(tmp_path: Path) -> None:
    data = tmp_path / "data"
    pool_id, job_id = unique("kill"), unique("kill")
    with start_batch_service(data) as svc:
        client = _client(svc)
        client.create_pool(pool_options(pool_id, nodes=0))
        _dependent_job(client, pool_id, job_id, "true")
        _stop(svc, signal.SIGKILL)
    # What a kill left when the task's end and its dependant's release were separate commits:
    # the task completed, its dependant still counted as blocked.
    db = sqlite3.connect(data / "batch.sqlite3")
    doc = json.loads(db.execute("SELECT doc FROM tasks WHERE id = 'first'").fetchone()[0])
    doc["state"], doc["_satisfies"] = "completed", True
    doc["executionInfo"] = {"result": "success", "exitCode": 0, "retryCount": 0}
    db.execute(
        "UPDATE tasks SET state = 'completed', result = 'success', doc = ? WHERE id = 'first'",
        (json.dumps(doc),),
    )
    db.commit()
    assert db.execute("SELECT blocked FROM tasks WHERE id = 'second'").fetchone()[0] == 1
    db.close()
    with start_batch_service(data) as svc:
        client = _client(svc)
        wait_until(lambda: client.get_pool(pool_id).allocation_state == "steady")
        client.begin_resize_pool(
            pool_id, m.BatchPoolResizeOptions(target_dedicated_nodes=1), polling_interval=0
        )
        wait_task_done(client, job_id, "second")
        assert stdout_of(client, job_id, "second") == "released\n"
        assert client.get_task(job_id, "first").execution_info.start_time is None  # not rerun


def test_a_task_killed_with_the_service_reruns_and_releases_its_dependant(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    pool_id, job_id = unique("kill"), unique("kill")
    with start_batch_service(data) as svc:
        client = _client(svc)
        client.create_pool(pool_options(pool_id, nodes=1))
        _dependent_job(client, pool_id, job_id, "/bin/sleep 1")
        wait_until(lambda: client.get_task(job_id, "first").state == m.BatchTaskState.RUNNING)
        _stop(svc, signal.SIGKILL)
    with start_batch_service(data) as svc:
        client = _client(svc)
        second = wait_task_done(client, job_id, "second", timeout=60)
        assert second.execution_info.exit_code == 0
        assert client.get_task(job_id, "first").execution_info.requeue_count == 1


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB file system for the service's data (a tmpfs: the tests run as root, as CI)."""
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_fails_the_task_and_the_service_recovers(small_disk: Path) -> None:
    pool_id, job_id = unique("full"), unique("full")
    with start_batch_service(small_disk / "data") as svc:
        client = _client(svc)
        client.create_pool(pool_options(pool_id, nodes=1))
        client.create_job(job_options(job_id, pool_id))
        fill = "/bin/dd if=/dev/zero of=filler bs=1M count=64"
        client.create_task(job_id, m.BatchTaskCreateOptions(id="fill", command_line=fill))
        # The disk is full when the task ends: it must not stay running for ever. Once space
        # returns, its end is recorded.
        wait_until(
            lambda: (
                any((small_disk / "data").rglob("filler"))
                and client.get_task(job_id, "fill").state != m.BatchTaskState.PREPARING
            )
        )
        wait_until(lambda: next((small_disk / "data").rglob("filler")).stat().st_size > 1 << 20)
        for filler in (small_disk / "data").rglob("filler"):
            filler.unlink()
        task = wait_task_done(client, job_id, "fill", timeout=60)
        assert task.execution_info.result == m.BatchTaskExecutionResult.FAILURE
        client.create_task(job_id, m.BatchTaskCreateOptions(id="after", command_line="true"))
        assert wait_task_done(client, job_id, "after").execution_info.exit_code == 0
