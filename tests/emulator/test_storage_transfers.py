"""Resource files and output files against a real Azurite: prefixes and directories, failures
recorded as Batch records them, and no SAS signature in anything the service reports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from azure.batch import BatchClient
from azure.batch import models as m
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas
from emulator_helpers import (
    job_options,
    pool_options,
    stdout_of,
    unique,
    wait_task_done,
    wait_until,
)

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def pool(batch_client: BatchClient) -> Iterator[str]:
    pool_id = unique("storage")
    batch_client.create_pool(pool_options(pool_id, nodes=1, task_slots_per_node=2))
    yield pool_id
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def _sas_url(azurite: Any, container: str, perms: ContainerSasPermissions) -> str:
    sas = generate_container_sas(
        azurite.account_name,
        container,
        account_key=azurite.account_key,
        permission=perms,
        expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    return f"{azurite.blob_endpoint}/{container}?{sas}"


def test_container_prefix_into_a_directory_and_failures_without_secrets(
    azurite: Any, batch_client: BatchClient, pool: str
) -> None:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    name = unique("data")
    service.create_container(name)
    for blob in ("in/a.txt", "in/sub/b.txt", "other/c.txt"):
        service.get_blob_client(name, blob).upload_blob(blob.encode())
    read = _sas_url(azurite, name, ContainerSasPermissions(read=True, list=True))
    job_id = unique("job")
    batch_client.create_job(job_options(job_id, pool))

    fetch = m.ResourceFile(storage_container_url=read, blob_prefix="in/", file_path="inputs")
    batch_client.create_task(
        job_id,
        m.BatchTaskCreateOptions(
            id="prefix", command_line="/usr/bin/find inputs -type f", resource_files=[fetch]
        ),
    )
    wait_task_done(batch_client, job_id, "prefix")
    listed = sorted(stdout_of(batch_client, job_id, "prefix").split())
    assert listed == ["inputs/in/a.txt", "inputs/in/sub/b.txt"]

    base, _, query = read.partition("?")
    missing = m.ResourceFile(http_url=f"{base}/in/nope.txt?{query}", file_path="nope.txt")
    batch_client.create_task(
        job_id,
        m.BatchTaskCreateOptions(id="missing", command_line="/bin/true", resource_files=[missing]),
    )
    info = wait_task_done(batch_client, job_id, "missing").execution_info
    assert info.result == m.BatchTaskExecutionResult.FAILURE
    assert info.failure_info.code == "BlobNotFound"
    assert "sig=" not in str(info.failure_info)

    out = m.OutputFile(
        file_pattern="../stdout.txt",
        destination=m.OutputFileDestination(
            container=m.OutputFileBlobContainerDestination(container_url=read, path="log.txt")
        ),
        upload_options=m.OutputFileUploadConfiguration(upload_condition="taskcompletion"),
    )
    batch_client.create_task(
        job_id,
        m.BatchTaskCreateOptions(id="readonly", command_line="/bin/echo hi", output_files=[out]),
    )
    info = wait_task_done(batch_client, job_id, "readonly").execution_info
    assert info.exit_code == 0 and info.result == m.BatchTaskExecutionResult.FAILURE
    assert info.failure_info.code == "FileUploadMiscError"
    assert "sig=" not in str(info.failure_info)
    wait_until(lambda: batch_client.get_job_task_counts(job_id).task_counts.failed == 2)
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
