"""Mounts and network of a planned pool -> azure.batch models, with their secrets filled in.

A mount of one of the spec's containers gets the target's storage account and a read+list SAS
(the one resource files use); other secrets come from the environment variables the spec names
and are registered for redaction before they reach a request. The pool's managed identities are
not here: azure-batch 15.x's `BatchPool.identity` is read-only (the data plane cannot assign
one), so apply checks that an existing pool has them instead (`identity_problem`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from azure.batch import models as bm

from batchspec.plan.azure_pool import BlobMountPlan, FileSystemMountPlan, NetworkPlan
from batchspec.plan.model import Plan, PoolPlan
from batchspec.redact import register_secret


class MissingMountSecret(LookupError):
    """An environment variable a mount takes its secret from is not set."""

    def __init__(self, path: str, variable: str, what: str) -> None:
        super().__init__(
            f"the {what} for the mount at {path} comes from ${variable}, which is not set: "
            f"export {variable}=... (nothing was created)"
        )


def missing_mount_secret(pool: PoolPlan, environ: Mapping[str, str]) -> str | None:
    """The first mount secret whose variable is unset, said for people; None if all are set."""
    for mount in pool.mounts:
        for variable, what in _secret_variables(mount):
            if not environ.get(variable):
                return str(MissingMountSecret(mount.relative_mount_path, variable, what))
    return None


def _secret_variables(mount: FileSystemMountPlan) -> list[tuple[str, str]]:
    found: list[tuple[str | None, str]] = []
    if mount.blob is not None:
        found = [(mount.blob.sas_env, "SAS"), (mount.blob.key_env, "account key")]
    elif mount.azure_files is not None:
        found = [(mount.azure_files.key_env, "account key")]
    elif mount.cifs is not None:
        found = [(mount.cifs.password_env, "password")]
    return [(v, what) for v, what in found if v]


def _secret(mount: FileSystemMountPlan, variable: str | None, environ: Mapping[str, str]) -> str:
    for name, what in _secret_variables(mount):
        if name == variable:
            value = environ.get(name)
            if not value:
                raise MissingMountSecret(mount.relative_mount_path, name, what)
            register_secret(value)
            return value
    raise ValueError(f"no secret variable {variable!r} in the mount")


def account_of(container_url: str) -> str:
    """The storage account of a container URL: the host's first label on Azure
    (`acct.blob.core.windows.net`), the first path segment on a loopback emulator (Azurite's
    `http://127.0.0.1:10000/devstoreaccount1/container`)."""
    parts = urlsplit(container_url)
    host = parts.hostname or ""
    if host in ("localhost", "::1") or host.startswith("127."):
        return parts.path.lstrip("/").split("/", 1)[0]
    return host.split(".", 1)[0]


def mount_configurations(
    plan: Plan,
    container_read_url: Callable[[str], str],
    environ: Mapping[str, str],
) -> list[bm.MountConfiguration] | None:
    """The pool's `mount_configuration`, or None without mounts."""
    out = []
    for mount in plan.pool.mounts:
        path, options = mount.relative_mount_path, mount.options
        if mount.blob is not None:
            out.append(
                bm.MountConfiguration(
                    azure_blob_file_system_configuration=_blob(
                        plan, mount, mount.blob, container_read_url, environ
                    )
                )
            )
        elif mount.azure_files is not None:
            share = mount.azure_files
            out.append(
                bm.MountConfiguration(
                    azure_file_share_configuration=bm.AzureFileShareConfiguration(
                        account_name=share.account,
                        azure_file_url=share.url,
                        account_key=_secret(mount, share.key_env, environ),
                        relative_mount_path=path,
                        mount_options=options,
                    )
                )
            )
        elif mount.nfs is not None:
            out.append(
                bm.MountConfiguration(
                    nfs_mount_configuration=bm.NfsMountConfiguration(
                        source=mount.nfs.source, relative_mount_path=path, mount_options=options
                    )
                )
            )
        elif mount.cifs is not None:
            cifs = mount.cifs
            out.append(
                bm.MountConfiguration(
                    cifs_mount_configuration=bm.CifsMountConfiguration(
                        username=cifs.username,
                        source=cifs.source,
                        relative_mount_path=path,
                        mount_options=options,
                        password=_secret(mount, cifs.password_env, environ),
                    )
                )
            )
    return out or None


def _blob(
    plan: Plan,
    mount: FileSystemMountPlan,
    blob: BlobMountPlan,
    container_read_url: Callable[[str], str],
    environ: Mapping[str, str],
) -> bm.AzureBlobFileSystemConfiguration:
    identity = (
        None
        if blob.identity_resource_id is None
        else bm.BatchNodeIdentityReference(resource_id=blob.identity_resource_id)
    )
    if blob.container is not None:
        name = plan.container_name(blob.container)
        url = container_read_url(name)
        sas = None if identity is not None else urlsplit(url).query or None
        return bm.AzureBlobFileSystemConfiguration(
            account_name=account_of(url),
            container_name=name,
            sas_key=sas,
            identity_reference=identity,
            blobfuse_options=mount.options,
            relative_mount_path=mount.relative_mount_path,
        )
    return bm.AzureBlobFileSystemConfiguration(
        account_name=blob.account or "",
        container_name=blob.container_name or "",
        sas_key=None if blob.sas_env is None else _secret(mount, blob.sas_env, environ),
        account_key=None if blob.key_env is None else _secret(mount, blob.key_env, environ),
        identity_reference=identity,
        blobfuse_options=mount.options,
        relative_mount_path=mount.relative_mount_path,
    )


def network_configuration(network: NetworkPlan | None) -> bm.NetworkConfiguration | None:
    """The pool's `network_configuration`, or None without one."""
    if network is None:
        return None
    public = network.public_ip
    return bm.NetworkConfiguration(
        subnet_id=network.subnet_id,
        public_ip_address_configuration=None
        if public is None
        else bm.BatchPublicIpAddressConfiguration(
            ip_address_provisioning_type=bm.IpAddressProvisioningType(public.provision),
            ip_address_ids=list(public.ip_address_ids) or None,
        ),
    )


def identity_problem(plan: Plan, existing: bm.BatchPool | None) -> str | None:
    """Why apply cannot give the plan's pool its managed identities; None when it need not.

    Batch's data-plane API has no way to assign them (azure-batch 15.x: `BatchPool.identity` is
    read-only), so the pool must exist with them, made through Azure Resource Manager.
    """
    wanted = {i.lower() for i in plan.pool.identities}
    if not wanted:
        return None
    if plan.pool.lifetime == "job":
        return (
            "an auto pool (lifetime: job) cannot have the managed identities in pool.identity: "
            "Batch's data-plane API cannot assign them; use a pool created through Azure "
            "Resource Manager with them instead"
        )
    if existing is None:
        return (
            f"pool {plan.pool.id} needs the managed identities in pool.identity, which Batch's "
            "data-plane API cannot assign: create the pool with them through Azure Resource "
            "Manager (Bicep/ARM, or azure-mgmt-batch's pool.create), then apply reuses it"
        )
    have = {
        (u.resource_id or "").lower()
        for u in (existing.identity.user_assigned_identities or [] if existing.identity else [])
    }
    missing = sorted(wanted - have)
    if missing:
        return (
            f"pool {plan.pool.id} exists without the managed identities "
            f"{', '.join(missing)}: add them to it through Azure Resource Manager"
        )
    return None


def mount_differences(have: bm.BatchPool, want: bm.BatchPoolCreateOptions) -> list[str]:
    """How an existing pool's mounts and network differ from the spec's (never secrets)."""

    def mounts(items: list[bm.MountConfiguration] | None) -> list[tuple[str, str, str]]:
        out = []
        for m in items or []:
            blob, share = m.azure_blob_file_system_configuration, m.azure_file_share_configuration
            nfs, cifs = m.nfs_mount_configuration, m.cifs_mount_configuration
            if blob is not None:
                out.append((blob.relative_mount_path, "blob", blob.container_name))
            elif share is not None:
                out.append((share.relative_mount_path, "azure_files", share.azure_file_url))
            elif nfs is not None:
                out.append((nfs.relative_mount_path, "nfs", nfs.source))
            elif cifs is not None:
                out.append((cifs.relative_mount_path, "cifs", cifs.source))
        return sorted(out)

    diffs = []
    if mounts(have.mount_configuration) != mounts(want.mount_configuration):
        diffs.append("mounts differ")
    have_net, want_net = have.network_configuration, want.network_configuration
    have_subnet = (have_net.subnet_id or "") if have_net else ""
    want_subnet = (want_net.subnet_id or "") if want_net else ""
    if have_subnet.lower() != want_subnet.lower():
        diffs.append(f"network.subnet_id: exists as {have_subnet or 'none'!r}")
    return diffs
