"""Mounts, network and identities of a plan -> azure-batch models, secrets from the environment."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from azure.batch import models as bm

from batchspec.apply.azure_pool_models import (
    MissingMountSecret,
    account_of,
    identity_problem,
    missing_mount_secret,
)
from batchspec.apply.batch_models import BatchModels
from batchspec.apply.pool import pool_differences
from batchspec.plan.azure_pool import (
    AzureFilesMountPlan,
    BlobMountPlan,
    CifsMountPlan,
    FileSystemMountPlan,
    NetworkPlan,
    NfsMountPlan,
    PublicIpPlan,
)
from batchspec.plan.model import Plan
from batchspec.redact import redact

from .handmade_plans import RecordingSigner, topn_like_plan, wire

IDENTITY = (
    "/subscriptions/5a5ec7a1-0ca1-4ba7-c4e5-000000000001/resourceGroups/rg/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/reader"
)
SUBNET = (
    "/subscriptions/5a5ec7a1-0ca1-4ba7-c4e5-000000000001/resourceGroups/rg/providers/"
    "Microsoft.Network/virtualNetworks/vnet/subnets/batch"
)
IP = (
    "/subscriptions/5a5ec7a1-0ca1-4ba7-c4e5-000000000001/resourceGroups/rg/providers/"
    "Microsoft.Network/publicIPAddresses/ip1"
)
ENV = {
    "DATA_SAS": "sv=2025&sig=external-sas",
    "FILES_KEY": "files-key==",
    "CIFS_PW": "cifs-password-1",
}


def mounted_plan(root: Path) -> Plan:
    plan = topn_like_plan(root)
    mounts = (
        FileSystemMountPlan("ref", "-o attr_timeout=240", blob=BlobMountPlan(container="input")),
        FileSystemMountPlan(
            "ext", blob=BlobMountPlan(account="other", container_name="data", sas_env="DATA_SAS")
        ),
        FileSystemMountPlan(
            "mi",
            blob=BlobMountPlan(
                account="other", container_name="data", identity_resource_id=IDENTITY
            ),
        ),
        FileSystemMountPlan(
            "S",
            "-o vers=3.0",
            azure_files=AzureFilesMountPlan(
                "files", "https://files.file.core.windows.net/share", "FILES_KEY"
            ),
        ),
        FileSystemMountPlan("nfs", nfs=NfsMountPlan("10.0.0.4:/exports/data")),
        FileSystemMountPlan("smb", cifs=CifsMountPlan("//srv/share", "batch", "CIFS_PW")),
    )
    network = NetworkPlan(SUBNET, PublicIpPlan("usermanaged", (IP,)))
    pool = dataclasses.replace(plan.pool, mounts=mounts, network=network, identities=(IDENTITY,))
    return dataclasses.replace(plan, pool=pool)


def test_the_pool_body_carries_every_mount_kind_and_the_network(tmp_path: Path) -> None:
    plan = mounted_plan(tmp_path)
    body = wire(BatchModels(plan, RecordingSigner(), ENV).pool())
    input_name = plan.container_name("input")
    assert body["mountConfiguration"] == [
        {
            "azureBlobFileSystemConfiguration": {
                "accountName": "acct",
                "containerName": input_name,
                "sasKey": "sp=rl&sig=RL",
                "blobfuseOptions": "-o attr_timeout=240",
                "relativeMountPath": "ref",
            }
        },
        {
            "azureBlobFileSystemConfiguration": {
                "accountName": "other",
                "containerName": "data",
                "sasKey": "sv=2025&sig=external-sas",
                "relativeMountPath": "ext",
            }
        },
        {
            "azureBlobFileSystemConfiguration": {
                "accountName": "other",
                "containerName": "data",
                "identityReference": {"resourceId": IDENTITY},
                "relativeMountPath": "mi",
            }
        },
        {
            "azureFileShareConfiguration": {
                "accountName": "files",
                "azureFileUrl": "https://files.file.core.windows.net/share",
                "accountKey": "files-key==",
                "relativeMountPath": "S",
                "mountOptions": "-o vers=3.0",
            }
        },
        {"nfsMountConfiguration": {"source": "10.0.0.4:/exports/data", "relativeMountPath": "nfs"}},
        {
            "cifsMountConfiguration": {
                "username": "batch",
                "source": "//srv/share",
                "relativeMountPath": "smb",
                "password": "cifs-password-1",
            }
        },
    ]
    assert body["networkConfiguration"] == {
        "subnetId": SUBNET,
        "publicIPAddressConfiguration": {"provision": "usermanaged", "ipAddressIds": [IP]},
    }
    # The data plane cannot assign a pool identity: the body never claims to.
    assert "identity" not in body


def test_secrets_read_for_mounts_are_redacted_afterwards(tmp_path: Path) -> None:
    BatchModels(mounted_plan(tmp_path), RecordingSigner(), ENV).pool()
    for secret in ("files-key==", "cifs-password-1"):
        assert secret not in redact(f"a log line quoting {secret} in a body")


def test_a_missing_secret_variable_is_named_before_anything_is_created(tmp_path: Path) -> None:
    plan = mounted_plan(tmp_path)
    assert missing_mount_secret(plan.pool, ENV) is None
    without = {k: v for k, v in ENV.items() if k != "CIFS_PW"}
    assert missing_mount_secret(plan.pool, without) == (
        "the password for the mount at smb comes from $CIFS_PW, which is not set: "
        "export CIFS_PW=... (nothing was created)"
    )
    with pytest.raises(MissingMountSecret):
        BatchModels(plan, RecordingSigner(), without).pool()


def test_the_account_of_a_container_url() -> None:
    assert account_of("https://acct.blob.core.windows.net/data?sv=1&sig=x") == "acct"
    assert account_of("http://127.0.0.1:10000/devstoreaccount1/data?sig=x") == "devstoreaccount1"


def test_identities_must_be_on_an_existing_pool(tmp_path: Path) -> None:
    plan = mounted_plan(tmp_path)
    assert "Azure Resource Manager" in (identity_problem(plan, None) or "")
    bare = bm.BatchPool(id=plan.pool.id)
    assert "exists without the managed identities" in (identity_problem(plan, bare) or "")
    given = bm.BatchPool(
        id=plan.pool.id,
        identity=bm.BatchPoolIdentity(
            type="UserAssigned",
            user_assigned_identities=[bm.BatchUserAssignedIdentity(resource_id=IDENTITY.upper())],
        ),
    )
    assert identity_problem(plan, given) is None
    assert identity_problem(topn_like_plan(tmp_path / "plain"), None) is None


def test_an_existing_pool_without_the_mounts_or_subnet_differs(tmp_path: Path) -> None:
    wanted = BatchModels(mounted_plan(tmp_path), RecordingSigner(), ENV).pool()
    existing = bm.BatchPool(
        id=wanted.id,
        vm_size=wanted.vm_size,
        virtual_machine_configuration=wanted.virtual_machine_configuration,
        target_dedicated_nodes=wanted.target_dedicated_nodes,
        target_low_priority_nodes=wanted.target_low_priority_nodes,
        task_slots_per_node=wanted.task_slots_per_node,
        start_task=wanted.start_task,
    )
    differences = pool_differences(existing, wanted)
    assert "mounts differ" in differences
    assert "network.subnet_id: exists as 'none'" in differences
    existing.mount_configuration = wanted.mount_configuration
    existing.network_configuration = wanted.network_configuration
    assert pool_differences(existing, wanted) == []


def test_an_auto_pool_cannot_have_managed_identities(tmp_path: Path) -> None:
    plan = mounted_plan(tmp_path)
    auto = dataclasses.replace(plan, pool=dataclasses.replace(plan.pool, lifetime="job"))
    assert "an auto pool (lifetime: job) cannot have" in (identity_problem(auto, None) or "")
