"""Plan records for the Azure-only pool settings: mounts, network, managed identities.

They hold no secret: a mount's key, SAS or password is named by its environment variable (read
by apply), and a mount of one of the spec's containers gets its SAS from apply, for the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

IpProvisioning = Literal["batchmanaged", "usermanaged", "nopublicipaddresses"]
"""Batch's `publicIPAddressConfiguration.provision` values."""


@dataclass(frozen=True, slots=True)
class BlobMountPlan:
    """Batch's `azureBlobFileSystemConfiguration`.

    Either `container` (a spec container key: the target's account, a read+list SAS signed by
    apply) or `account` + `container_name` with one of `sas_env`, `key_env`, `identity`.
    """

    container: str | None = None
    account: str | None = None
    container_name: str | None = None
    sas_env: str | None = None
    key_env: str | None = None
    identity_resource_id: str | None = None


@dataclass(frozen=True, slots=True)
class AzureFilesMountPlan:
    """Batch's `azureFileShareConfiguration`; the key is read from `key_env` by apply."""

    account: str
    url: str
    key_env: str


@dataclass(frozen=True, slots=True)
class NfsMountPlan:
    source: str


@dataclass(frozen=True, slots=True)
class CifsMountPlan:
    """Batch's `cifsMountConfiguration`; the password is read from `password_env` by apply."""

    source: str
    username: str
    password_env: str


@dataclass(frozen=True, slots=True)
class FileSystemMountPlan:
    """One `mountConfiguration` entry: exactly one of the four sources is set."""

    relative_mount_path: str
    options: str | None = None
    """`blobfuseOptions` for a blob container, `mountOptions` for the others."""
    blob: BlobMountPlan | None = None
    azure_files: AzureFilesMountPlan | None = None
    nfs: NfsMountPlan | None = None
    cifs: CifsMountPlan | None = None

    @property
    def kind(self) -> str:
        if self.blob is not None:
            return "blob"
        if self.azure_files is not None:
            return "azure_files"
        return "nfs" if self.nfs is not None else "cifs"


@dataclass(frozen=True, slots=True)
class PublicIpPlan:
    provision: IpProvisioning = "batchmanaged"
    ip_address_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NetworkPlan:
    """Batch's `networkConfiguration`."""

    subnet_id: str | None = None
    public_ip: PublicIpPlan | None = None
