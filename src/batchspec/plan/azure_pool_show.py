"""Mounts, network and identities in a plan: lines for people, Batch's fields for programs.

No secret is ever shown: a key, SAS or password appears as where apply will read it from.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from batchspec.plan.azure_pool import FileSystemMountPlan, NetworkPlan
from batchspec.plan.model import Plan, PoolPlan

TARGET_ACCOUNT = "<the target's storage account>"
ISSUED_SAS = "<redacted: a read+list SAS issued by apply>"
FROM_ENV = "<redacted: read from ${name} by apply>"


def _from(name: str | None) -> str | None:
    return None if name is None else FROM_ENV.replace("{name}", name)


def _identity_ref(resource_id: str | None) -> dict[str, str] | None:
    return None if resource_id is None else {"resource_id": resource_id}


def describe_mount(plan: Plan, mount: FileSystemMountPlan) -> str:
    """One mount on one line."""
    at = f"at $AZ_BATCH_NODE_MOUNTS_DIR/{mount.relative_mount_path}"
    options = f"; options {mount.options}" if mount.options else ""
    if mount.blob is not None:
        blob = mount.blob
        if blob.container is not None:
            how = "identity " + blob.identity_resource_id if blob.identity_resource_id else "SAS"
            source = (
                f"container {blob.container} ({plan.container_name(blob.container)}, "
                f"the target's account, read+list {how} from apply)"
            )
        else:
            if blob.identity_resource_id is not None:
                how = f"identity {blob.identity_resource_id}"
            else:
                variable = blob.sas_env or blob.key_env
                how = f"{'SAS' if blob.sas_env else 'account key'} from ${variable}"
            source = f"{blob.account}/{blob.container_name} ({how})"
        return f"  mount blob {source} {at}{options}"
    if mount.azure_files is not None:
        share = mount.azure_files
        return (
            f"  mount azure_files {share.url} (account {share.account}, key from "
            f"${share.key_env}) {at}{options}"
        )
    if mount.nfs is not None:
        return f"  mount nfs {mount.nfs.source} {at}{options}"
    assert mount.cifs is not None
    cifs = mount.cifs
    return (
        f"  mount cifs {cifs.source} (user {cifs.username}, password from "
        f"${cifs.password_env}) {at}{options}"
    )


def pool_lines(plan: Plan) -> Iterator[str]:
    """The text plan's lines for the pool's mounts, network and identities."""
    pool = plan.pool
    for mount in pool.mounts:
        yield describe_mount(plan, mount)
    network = pool.network
    if network is not None:
        parts = [f"subnet {network.subnet_id}" if network.subnet_id else "no subnet"]
        if network.public_ip is not None:
            ips = network.public_ip
            count = f" ({len(ips.ip_address_ids)} address(es))" if ips.ip_address_ids else ""
            parts.append(f"public IPs {ips.provision}{count}")
        yield "  network: " + "; ".join(parts)
    for identity in pool.identities:
        yield f"  identity (user-assigned, assigned through ARM): {identity}"


def _mount_json(plan: Plan, mount: FileSystemMountPlan) -> dict[str, Any]:
    path = mount.relative_mount_path
    if mount.blob is not None:
        blob = mount.blob
        own = blob.container is not None
        sas = _from(blob.sas_env)
        if own and blob.identity_resource_id is None:
            sas = ISSUED_SAS
        return {
            "azure_blob_file_system_configuration": {
                "account_name": TARGET_ACCOUNT if own else blob.account,
                "container_name": plan.container_name(blob.container)
                if blob.container is not None
                else blob.container_name,
                "account_key": _from(blob.key_env),
                "sas_key": sas,
                "identity_reference": _identity_ref(blob.identity_resource_id),
                "blobfuse_options": mount.options,
                "relative_mount_path": path,
            }
        }
    if mount.azure_files is not None:
        share = mount.azure_files
        return {
            "azure_file_share_configuration": {
                "account_name": share.account,
                "azure_file_url": share.url,
                "account_key": _from(share.key_env),
                "relative_mount_path": path,
                "mount_options": mount.options,
            }
        }
    if mount.nfs is not None:
        return {
            "nfs_mount_configuration": {
                "source": mount.nfs.source,
                "relative_mount_path": path,
                "mount_options": mount.options,
            }
        }
    assert mount.cifs is not None
    return {
        "cifs_mount_configuration": {
            "source": mount.cifs.source,
            "username": mount.cifs.username,
            "password": _from(mount.cifs.password_env),
            "relative_mount_path": path,
            "mount_options": mount.options,
        }
    }


def _network_json(network: NetworkPlan | None) -> dict[str, Any] | None:
    if network is None:
        return None
    public = network.public_ip
    return {
        "subnet_id": network.subnet_id,
        "public_ip_address_configuration": None
        if public is None
        else {
            "ip_address_provisioning_type": public.provision,
            "ip_address_ids": list(public.ip_address_ids) or None,
        },
    }


def pool_json(plan: Plan, pool: PoolPlan) -> dict[str, Any]:
    """The JSON plan's pool fields for mounts, network and identities, named as the SDK names
    them (`identity` is what the pool must already have: apply cannot assign it)."""
    return {
        "mount_configuration": [_mount_json(plan, m) for m in pool.mounts],
        "network_configuration": _network_json(pool.network),
        "identity": None
        if not pool.identities
        else {
            "type": "UserAssigned",
            "user_assigned_identities": [{"resource_id": i} for i in pool.identities],
        },
    }
