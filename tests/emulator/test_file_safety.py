"""Task and node files that lead elsewhere: links listed as links, a DELETE that cannot remove a
task's or a node's root, and outputs from outside the task directory refused at upload time,
with the file left where it was and the refusal in the task's file-upload failure."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
from azure.batch import BatchClient
from azure.batch import models as m
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas
from emulator_helpers import job_options, pool_options, unique, wait_task_done

from batchspec.emulator.api.auth import sign, string_to_sign

pytestmark = pytest.mark.timeout(180)

MAKE_LINKS = (
    "/bin/bash -c '"
    "echo keep > keep.txt && mkdir d && echo a > d/a.txt && "
    "ln -s /etc/passwd passwd_OUTPUT.txt && ln -s .. up && ln -s /etc linkdir && "
    "ln -s keep.txt inside_OUTPUT.txt'"
)


def _signed(service: Any, method: str, path: str, query: str) -> tuple[int, dict[str, Any]]:
    headers = {"ocp-date": formatdate(usegmt=True)}
    if method != "GET":
        headers["content-length"] = "0"
    text = string_to_sign(method, path, query, headers, service.account, "0")
    headers["authorization"] = f"SharedKey {service.account}:{sign(service.key, text)}"
    request = urllib.request.Request(
        f"{service.endpoint}{path}?{query}", method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, {}
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read() or b"{}")


def test_links_are_listed_as_links_and_roots_cannot_be_deleted(
    batch_client: BatchClient, batch_service: Any
) -> None:
    pool_id, job_id = unique("links"), unique("job")
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    batch_client.create_job(job_options(job_id, pool_id))
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="t", command_line=MAKE_LINKS))
    task = wait_task_done(batch_client, job_id, "t")
    assert task.execution_info.exit_code == 0
    listed = {f.name: f for f in batch_client.list_task_files(job_id, "t", recursive=True)}
    for link, target in (
        ("wd/passwd_OUTPUT.txt", "/etc/passwd"),
        ("wd/up", ".."),
        ("wd/linkdir", "/etc"),
    ):
        entry = listed[link]
        assert not entry.is_directory
        assert entry.properties.content_length == len(target)
        assert entry.properties.file_mode.startswith("0o120")  # a symbolic link
    # Nothing is listed through a link to a directory (neither /etc nor the task dir again).
    assert not any(n.startswith(("wd/linkdir/", "wd/up/")) for n in listed)
    assert listed["wd/d"].is_directory and "wd/d/a.txt" in listed

    task_files = f"/jobs/{job_id}/tasks/t/files/"
    for query in ("api-version=2025-06-01&recursive=true", "api-version=2025-06-01"):
        status, body = _signed(batch_service, "DELETE", task_files, query)
        assert (status, body.get("code")) == (400, "InvalidUri")
    node_id = task.node_info.node_id
    node_files = f"/pools/{pool_id}/nodes/{node_id}/files/"
    status, body = _signed(
        batch_service, "DELETE", node_files, "api-version=2025-06-01&recursive=true"
    )
    assert (status, body.get("code")) == (400, "InvalidUri")
    status, _ = _signed(
        batch_service, "DELETE", task_files + "wd/..", "api-version=2025-06-01&recursive=true"
    )
    assert status in (400, 404)
    # Deleting a link removes the link, not what it points to.
    batch_client.delete_task_file(job_id, "t", "wd/up", recursive=True)
    batch_client.delete_task_file(job_id, "t", "wd/inside_OUTPUT.txt")
    names = {f.name for f in batch_client.list_task_files(job_id, "t", recursive=True)}
    assert {"stdout.txt", "stderr.txt", "wd/keep.txt"} <= names
    assert "wd/up" not in names and "wd/inside_OUTPUT.txt" not in names
    assert Path("/etc/passwd").exists()
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def _container_url(azurite: Any, container: str) -> str:
    BlobServiceClient(
        azurite.blob_endpoint,
        credential={"account_name": azurite.account_name, "account_key": azurite.account_key},
    ).create_container(container)
    sas = generate_container_sas(
        azurite.account_name,
        container,
        account_key=azurite.account_key,
        permission=ContainerSasPermissions(create=True, write=True, add=True, list=True, read=True),
        expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    return f"{azurite.blob_endpoint}/{container}?{sas}"


@pytest.mark.parametrize(
    "pattern",
    [
        "*_OUTPUT.txt",  # catches passwd_OUTPUT.txt -> /etc/passwd
        "/etc/hostname",
        "linkdir/host*",
        "../../../../../../../../batch.sqlite3*",
    ],
)
def test_outputs_from_outside_the_task_directory_are_refused(
    batch_client: BatchClient, batch_service: Any, azurite: Any, pattern: str
) -> None:
    pool_id, job_id = unique("outs"), unique("job")
    container = unique("refused").lower().replace("_", "-")[:60]
    url = _container_url(azurite, container)
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    batch_client.create_job(job_options(job_id, pool_id))
    out = m.OutputFile(
        file_pattern=pattern,
        destination=m.OutputFileDestination(
            container=m.OutputFileBlobContainerDestination(container_url=url)
        ),
        upload_options=m.OutputFileUploadConfiguration(upload_condition="taskcompletion"),
    )
    command = MAKE_LINKS.replace("ln -s keep.txt inside_OUTPUT.txt", "true")
    batch_client.create_task(
        job_id, m.BatchTaskCreateOptions(id="t", command_line=command, output_files=[out])
    )
    info = wait_task_done(batch_client, job_id, "t").execution_info
    # Each pattern reaches a real file outside the task directory, so the task fails.
    assert (batch_service.data_dir / "batch.sqlite3").exists()
    assert info.exit_code == 0 and info.result == m.BatchTaskExecutionResult.FAILURE
    assert info.failure_info.code == "FileUploadMiscError"
    assert "outside the task directory" in info.failure_info.message
    errors = b"".join(batch_client.download_task_file(job_id, "t", "fileuploaderr.txt"))
    assert b"outside the task directory" in errors
    listed = BlobServiceClient(
        azurite.blob_endpoint,
        credential={"account_name": azurite.account_name, "account_key": azurite.account_key},
    ).get_container_client(container)
    assert list(listed.list_blobs()) == []
    assert Path("/etc/passwd").exists() and (batch_service.data_dir / "batch.sqlite3").exists()
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_tasks_cannot_read_the_services_state(
    batch_client: BatchClient, batch_service: Any
) -> None:
    # wd is eight levels below the data directory:
    # nodes/<node>/tasks/workitems/<job>/job-1/<task>/wd
    database = batch_service.data_dir / "batch.sqlite3"
    assert database.read_bytes().startswith(b"SQLite format 3")
    pool_id, job_id = unique("confined"), unique("job")
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    batch_client.create_job(job_options(job_id, pool_id))
    climb = "../" * 8 + "batch.sqlite3"
    command = f"/bin/bash -c 'wc -c < {climb}; head -c 15 {climb}; echo; ls {'../' * 8}'"
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="t", command_line=command))
    task = wait_task_done(batch_client, job_id, "t")
    assert task.execution_info.exit_code == 0
    seen = b"".join(batch_client.download_task_file(job_id, "t", "stdout.txt")).decode()
    size, header, *listing = seen.splitlines()
    assert (size.strip(), header) == ("0", "")  # the path exists for the task, and is empty
    assert "batch.sqlite3" in listing and "nodes" in listing
    assert database.read_bytes().startswith(b"SQLite format 3")  # the service's is untouched
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()
