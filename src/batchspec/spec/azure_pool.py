"""Azure-only pool settings as typed records: file system mounts, the network, managed identities.

Built from schema-valid data (`pool.mounts`, `pool.network`, `pool.identity`); none of these
values is a template. Secrets are only ever named by their environment variable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from batchspec.spec.document import JsonPath

MountKind = Literal["blob", "azure_files", "nfs", "cifs"]
MOUNT_KINDS: tuple[MountKind, ...] = ("blob", "azure_files", "nfs", "cifs")
PublicIpMode = Literal["batch_managed", "user_managed", "none"]


@dataclass(frozen=True, slots=True)
class PoolMountSpec:
    """One `pool.mounts` entry; `kinds` lists the source keys given (the schema allows several,
    validation wants exactly one), `source` holds the chosen kind's mapping."""

    path: str
    options: str | None
    kinds: tuple[MountKind, ...]
    source: tuple[tuple[str, str], ...]
    where: JsonPath

    @property
    def kind(self) -> MountKind | None:
        return self.kinds[0] if len(self.kinds) == 1 else None

    def get(self, key: str) -> str | None:
        """A value of the source mapping (e.g. `container`, `sas_env`)."""
        return dict(self.source).get(key)


@dataclass(frozen=True, slots=True)
class PublicIpSpec:
    mode: PublicIpMode
    ip_address_ids: tuple[str, ...]
    where: JsonPath


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    subnet_id: str | None
    public_ip: PublicIpSpec | None
    where: JsonPath


@dataclass(frozen=True, slots=True)
class IdentitySpec:
    user_assigned: tuple[str, ...]
    where: JsonPath


def mounts_from_data(items: Sequence[Mapping[str, Any]] | None) -> tuple[PoolMountSpec, ...]:
    """`pool.mounts` as records."""
    out = []
    for i, item in enumerate(items or []):
        kinds = tuple(k for k in MOUNT_KINDS if k in item)
        source: Mapping[str, Any] = item[kinds[0]] if len(kinds) == 1 else {}
        out.append(
            PoolMountSpec(
                path=str(item["path"]),
                options=item.get("options"),
                kinds=kinds,
                source=tuple((str(k), str(v)) for k, v in source.items()),
                where=("pool", "mounts", i),
            )
        )
    return tuple(out)


def network_from_data(data: Mapping[str, Any] | None) -> NetworkSpec | None:
    """`pool.network` as a record, or None without one."""
    if data is None:
        return None
    where: JsonPath = ("pool", "network")
    public = data.get("public_ip")
    return NetworkSpec(
        subnet_id=data.get("subnet_id"),
        public_ip=None
        if public is None
        else PublicIpSpec(
            mode=public["mode"],
            ip_address_ids=tuple(public.get("ip_address_ids", [])),
            where=(*where, "public_ip"),
        ),
        where=where,
    )


def identity_from_data(data: Mapping[str, Any] | None) -> IdentitySpec | None:
    """`pool.identity` as a record, or None without one."""
    if data is None:
        return None
    return IdentitySpec(tuple(data["user_assigned"]), ("pool", "identity"))
