"""Mounts, network and managed identities: Batch's rules checked offline, then the plan records.

Batch's rules (Microsoft's "Mount a virtual file system on a Batch pool" and the REST spec's
`MountConfiguration`, `NetworkConfiguration`, `PublicIpAddressConfiguration`): a mount has one
source kind; its path is relative to `AZ_BATCH_NODE_MOUNTS_DIR`; blob, NFS and CIFS mounts are
Linux only; a blob container is reached with exactly one of an account key, a SAS or an
identity of the pool; user-managed public IPs need a subnet, and each address serves at most
100 dedicated and 100 spot nodes.
"""

from __future__ import annotations

import difflib
from pathlib import PurePosixPath

from batchspec.plan.azure_pool import (
    AzureFilesMountPlan,
    BlobMountPlan,
    CifsMountPlan,
    FileSystemMountPlan,
    IpProvisioning,
    NetworkPlan,
    NfsMountPlan,
    PublicIpPlan,
)
from batchspec.spec.azure_pool import MOUNT_KINDS, PoolMountSpec
from batchspec.spec.model import PoolSpec
from batchspec.spec.render import Renderer

NODES_PER_PUBLIC_IP = 100
_PROVISION: dict[str, IpProvisioning] = {
    "batch_managed": "batchmanaged",
    "user_managed": "usermanaged",
    "none": "nopublicipaddresses",
}
_BLOB_CREDENTIALS = ("sas_env", "key_env", "identity")


def plan_mounts(
    renderer: Renderer, pool: PoolSpec, container_keys: frozenset[str], windows: bool
) -> tuple[FileSystemMountPlan, ...]:
    """The pool's `mountConfiguration`; every problem is reported at its mount."""
    out = []
    seen: dict[PurePosixPath, int] = {}
    identities = frozenset(i.lower() for i in pool.identity.user_assigned) if pool.identity else ()
    for mount in pool.mounts:
        path = _check_path(renderer, mount, seen)
        if mount.kind is None:
            given = ", ".join(mount.kinds) or "none"
            renderer.report(
                mount.where,
                f"a mount needs exactly one of {', '.join(MOUNT_KINDS)} (given: {given})",
            )
            continue
        if windows and mount.kind != "azure_files":
            renderer.report(
                (*mount.where, mount.kind),
                f"Batch mounts {mount.kind} file systems on Linux nodes only; a Windows pool can "
                "mount an Azure Files share (azure_files)",
            )
        plan = _mount_plan(renderer, mount, path, container_keys, identities)
        if plan is not None:
            out.append(plan)
    return tuple(out)


def _check_path(renderer: Renderer, mount: PoolMountSpec, seen: dict[PurePosixPath, int]) -> str:
    where = (*mount.where, "path")
    path = PurePosixPath(mount.path)
    if ".." in path.parts or "\0" in mount.path or path.is_absolute() or str(path) == ".":
        renderer.report(
            where,
            f"{mount.path!r} must be a path below $AZ_BATCH_NODE_MOUNTS_DIR, without '..' "
            "(Batch's relativeMountPath), e.g. ref",
        )
        return mount.path
    for other, index in seen.items():
        if other == path:
            renderer.report(where, f"mounts {index} and {mount.where[-1]} both mount at {path}")
        elif other in path.parents or path in other.parents:
            renderer.report(
                where, f"{path} and the path of mount {index} ({other}) are inside one another"
            )
    seen.setdefault(path, int(mount.where[-1]))
    return str(path)


def _mount_plan(
    renderer: Renderer,
    mount: PoolMountSpec,
    path: str,
    container_keys: frozenset[str],
    identities: frozenset[str] | tuple[()],
) -> FileSystemMountPlan | None:
    get = mount.get
    if mount.kind == "azure_files":
        share = AzureFilesMountPlan(get("account") or "", get("url") or "", get("key_env") or "")
        return FileSystemMountPlan(path, mount.options, azure_files=share)
    if mount.kind == "nfs":
        return FileSystemMountPlan(path, mount.options, nfs=NfsMountPlan(get("source") or ""))
    if mount.kind == "cifs":
        cifs = CifsMountPlan(get("source") or "", get("username") or "", get("password_env") or "")
        return FileSystemMountPlan(path, mount.options, cifs=cifs)
    where = (*mount.where, "blob")
    credentials = [c for c in _BLOB_CREDENTIALS if get(c) is not None]
    key, account, name = get("container"), get("account"), get("container_name")
    ok = True
    if key is not None:
        if account is not None or name is not None or {"sas_env", "key_env"} & set(credentials):
            renderer.report(
                where,
                "a mount of one of this spec's containers takes only `container` (the account "
                "is the target's and apply issues its SAS) and, instead of the SAS, `identity`",
            )
            ok = False
        elif key not in container_keys:
            hint = difflib.get_close_matches(key, container_keys, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            known = ", ".join(sorted(container_keys))
            renderer.report(
                (*where, "container"),
                f"unknown container {key!r} (containers: {known})" + suggestion,
            )
            ok = False
    elif account is None or name is None:
        renderer.report(
            where,
            "a blob mount needs `container` (one of this spec's containers) or both `account` "
            "and `container_name`",
        )
        ok = False
    elif len(credentials) != 1:
        renderer.report(
            where,
            "a blob mount of another account needs exactly one of sas_env, key_env or "
            f"identity (given: {', '.join(credentials) or 'none'})",
        )
        ok = False
    identity = get("identity")
    if identity is not None and identity.lower() not in identities:
        renderer.report(
            (*where, "identity"),
            "the identity is not one of the pool's (pool.identity.user_assigned): Batch can "
            "only sign in with an identity assigned to the pool",
        )
        ok = False
    if not ok:
        return None
    blob = BlobMountPlan(
        container=key,
        account=account,
        container_name=name,
        sas_env=get("sas_env"),
        key_env=get("key_env"),
        identity_resource_id=identity,
    )
    return FileSystemMountPlan(path, mount.options, blob=blob)


def plan_network(renderer: Renderer, pool: PoolSpec) -> NetworkPlan | None:
    """The pool's `networkConfiguration`, or None without one."""
    network = pool.network
    if network is None:
        return None
    public = network.public_ip
    if public is None:
        return NetworkPlan(subnet_id=network.subnet_id)
    ids = public.ip_address_ids
    if public.mode == "user_managed":
        if not ids:
            renderer.report(
                public.where, "user_managed public IPs need ip_address_ids (the addresses to use)"
            )
        if network.subnet_id is None:
            renderer.report(
                public.where,
                "user_managed public IPs need network.subnet_id: Batch places the nodes in that "
                "subnet, with the addresses in its subscription and region",
            )
        nodes = max(pool.dedicated, pool.spot)
        if ids and nodes > NODES_PER_PUBLIC_IP * len(ids):
            renderer.report(
                (*public.where, "ip_address_ids"),
                f"{len(ids)} public IP address(es) serve at most "
                f"{NODES_PER_PUBLIC_IP * len(ids)} dedicated and as many spot nodes; the pool "
                f"asks for {nodes}: add addresses (one per {NODES_PER_PUBLIC_IP} nodes)",
            )
    elif ids:
        renderer.report(
            (*public.where, "ip_address_ids"),
            f"ip_address_ids are used only with mode user_managed (this is {public.mode})",
        )
    return NetworkPlan(network.subnet_id, PublicIpPlan(_PROVISION[public.mode], ids))


def plan_identities(pool: PoolSpec) -> tuple[str, ...]:
    """The pool's user-assigned identities (resource ids), in spec order."""
    return () if pool.identity is None else pool.identity.user_assigned
