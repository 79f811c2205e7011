"""Pools with mounts on the local service: a blob container is copied onto each node when it
starts, other kinds are stored and logged as not mounted, and no key, SAS or password is ever
in an answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.batch import BatchClient
from azure.batch import models as m
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas
from emulator_helpers import (
    job_options,
    pool_options,
    stdout_of,
    unique,
    wait_task_done,
    wait_until,
)

from batchspec.emulator.engine.mounts import ENDPOINT_VARIABLE, MOUNT_FAILED
from conftest import AzuriteService, start_batch_service

pytestmark = pytest.mark.timeout(180)

CIFS_PASSWORD = "cifs-password-never-answered"
IDENTITY = (
    "/subscriptions/5a5ec7a1-0ca1-4ba7-c4e5-000000000001/resourceGroups/rg/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/reader"
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, azurite: AzuriteService) -> Iterator[Any]:
    """A local service told where Azurite's accounts are, and a client for it."""
    template = azurite.blob_endpoint.rstrip("/").rsplit("/", 1)[0] + "/{account}"
    data = tmp_path_factory.mktemp("mounts") / "data"
    with start_batch_service(data, env={ENDPOINT_VARIABLE: template}) as service:
        batch = BatchClient(service.endpoint, AzureNamedKeyCredential(service.account, service.key))
        try:
            yield batch
        finally:
            batch.close()


@pytest.fixture(scope="module")
def reference(azurite: AzuriteService) -> tuple[str, str]:
    """A container with two blobs, and a read+list SAS for it."""
    name = unique("ref")
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    try:
        container = blobs.create_container(name)
        container.upload_blob("tables/a.txt", b"alpha\n")
        container.upload_blob("b.txt", b"beta\n")
    finally:
        blobs.close()
    sas = generate_container_sas(
        azurite.account_name,
        name,
        account_key=azurite.account_key,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    return name, sas


def _blob(name: str, path: str, **credential: Any) -> m.MountConfiguration:
    return m.MountConfiguration(
        azure_blob_file_system_configuration=m.AzureBlobFileSystemConfiguration(
            account_name="devstoreaccount1",
            container_name=name,
            relative_mount_path=path,
            **credential,
        )
    )


def test_a_blob_mount_is_a_copy_and_secrets_are_never_answered(
    client: BatchClient, reference: tuple[str, str], azurite: AzuriteService
) -> None:
    name, sas = reference
    pool_id, job_id = unique("mounted"), unique("job")
    mounts = [
        _blob(name, "data", sas_key=sas),
        _blob(name, "keyed", account_key=azurite.account_key),
        m.MountConfiguration(
            nfs_mount_configuration=m.NfsMountConfiguration(
                source="10.0.0.4:/exports", relative_mount_path="nfs"
            )
        ),
        m.MountConfiguration(
            cifs_mount_configuration=m.CifsMountConfiguration(
                username="batch",
                source="//srv/share",
                relative_mount_path="smb",
                password=CIFS_PASSWORD,
            )
        ),
    ]
    client.create_pool(pool_options(pool_id, mount_configuration=mounts))
    client.create_job(job_options(job_id, pool_id))
    script = (
        'cat "$AZ_BATCH_NODE_MOUNTS_DIR/data/tables/a.txt" "$AZ_BATCH_NODE_MOUNTS_DIR/keyed/b.txt"'
        ' && ls "$AZ_BATCH_NODE_MOUNTS_DIR" && cat "$AZ_BATCH_NODE_MOUNTS_DIR/nfs-nfs.log"'
    )
    client.create_task(
        job_id, m.BatchTaskCreateOptions(id="read", command_line=f"/bin/bash -c '{script}'")
    )
    task = wait_task_done(client, job_id, "read")
    assert task.execution_info.exit_code == 0, stdout_of(client, job_id, "read", "stderr.txt")
    lines = stdout_of(client, job_id, "read").splitlines()
    assert lines[:2] == ["alpha", "beta"]
    # Both copies and one log per mount; the NFS and CIFS mounts made no directory.
    assert sorted(lines[2:-1]) == sorted(
        ["bfuse-data.log", "bfuse-keyed.log", "cifs-smb.log", "data", "keyed", "nfs-nfs.log"]
    )
    assert "not mounted" in lines[-1]

    answer = json.dumps(client.get_pool(pool_id).as_dict())
    for secret in (sas.split("sig=")[1], azurite.account_key, CIFS_PASSWORD):
        assert secret not in answer
    stored = client.get_pool(pool_id).mount_configuration or []
    assert [c.azure_blob_file_system_configuration.relative_mount_path for c in stored[:2]] == [
        "data",
        "keyed",
    ]
    assert stored[2].nfs_mount_configuration.source == "10.0.0.4:/exports"
    client.begin_delete_job(job_id, polling_interval=0)
    client.begin_delete_pool(pool_id, polling_interval=0)


def test_a_mount_with_an_identity_makes_the_node_unusable(
    client: BatchClient, reference: tuple[str, str]
) -> None:
    name, _sas = reference
    pool_id = unique("identity")
    identity = m.BatchNodeIdentityReference(resource_id=IDENTITY)
    client.create_pool(
        pool_options(
            pool_id, mount_configuration=[_blob(name, "data", identity_reference=identity)]
        )
    )

    def unusable() -> Any:
        nodes = [n for n in client.list_nodes(pool_id) if n.state == m.BatchNodeState.UNUSABLE]
        return nodes[0] if nodes else None

    node = wait_until(unusable)
    (error,) = node.errors
    assert error.code == MOUNT_FAILED
    assert "managed identity" in error.message
    assert [(d.name, d.value) for d in error.error_details] == [("MountConfigurationPath", "data")]
    client.begin_delete_pool(pool_id, polling_interval=0)


@pytest.mark.parametrize(
    ("mount", "code"),
    [
        (  # two file systems in one entry
            {
                "nfsMountConfiguration": {"source": "a:/b", "relativeMountPath": "x"},
                "cifsMountConfiguration": {
                    "source": "//a/b",
                    "username": "u",
                    "password": "p",
                    "relativeMountPath": "y",
                },
            },
            "InvalidPropertyValue",
        ),
        (  # a blob container without any credential
            {
                "azureBlobFileSystemConfiguration": {
                    "accountName": "a",
                    "containerName": "c",
                    "relativeMountPath": "x",
                }
            },
            "InvalidPropertyValue",
        ),
        ({"nfsMountConfiguration": {"relativeMountPath": "x"}}, "MissingRequiredProperty"),
        (
            {"nfsMountConfiguration": {"source": "a:/b", "relativeMountPath": "../x"}},
            "NotSupportedByLocalService",
        ),
    ],
)
def test_mounts_batch_refuses(client: BatchClient, mount: dict[str, Any], code: str) -> None:
    body = pool_options(unique("bad"))
    body["mountConfiguration"] = [mount]
    with pytest.raises(HttpResponseError) as raised:
        client.create_pool(body)
    assert raised.value.status_code == 400
    assert raised.value.error is not None and raised.value.error.code == code


def test_mount_paths_must_differ(client: BatchClient) -> None:
    nfs = {"nfsMountConfiguration": {"source": "a:/b", "relativeMountPath": "same"}}
    body = pool_options(unique("twice"))
    body["mountConfiguration"] = [nfs, nfs]
    with pytest.raises(HttpResponseError) as raised:
        client.create_pool(body)
    assert raised.value.error is not None and raised.value.error.code == "InvalidPropertyValue"
