"""A pool's `mountConfiguration`, checked as Batch's models define it.

The REST spec (`MountConfiguration` in specification/batch/Azure.Batch/models.tsp) gives each
entry exactly one of four file systems and their required properties; Microsoft's "Mount a
virtual file system on a Batch pool" adds that a blob container takes exactly one of an account
key, a SAS key or an identity reference, and that a pool has at most 10 mounts. The keys, SAS
keys and passwords are stored for the node (engine/mounts.py) and never answered
(service/secrets.py), as Batch's recorded GET of a pool with a blobfuse mount shows.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from batchspec.emulator.service import errors

MAX_MOUNTS = 10
REQUIRED = {
    "azureBlobFileSystemConfiguration": ("accountName", "containerName", "relativeMountPath"),
    "azureFileShareConfiguration": (
        "accountName",
        "azureFileUrl",
        "accountKey",
        "relativeMountPath",
    ),
    "nfsMountConfiguration": ("source", "relativeMountPath"),
    "cifsMountConfiguration": ("username", "source", "password", "relativeMountPath"),
}
_BLOB_CREDENTIALS = ("accountKey", "sasKey", "identityReference")


def check_mounts(mounts: Any, prefix: str = "mountConfiguration") -> None:
    """Raise Batch's error for the first invalid mount entry; None or [] is no mount."""
    if mounts is None:
        return
    if not isinstance(mounts, list):
        raise errors.invalid_property(prefix, mounts)
    if len(mounts) > MAX_MOUNTS:
        raise errors.invalid_property(
            prefix, len(mounts), f"A pool can have at most {MAX_MOUNTS} mount configurations."
        )
    paths: set[PurePosixPath] = set()
    for i, mount in enumerate(mounts):
        at = f"{prefix}[{i}]"
        if not isinstance(mount, dict):
            raise errors.invalid_property(at, mount)
        kinds = [k for k in REQUIRED if mount.get(k) is not None]
        if len(kinds) != 1:
            raise errors.invalid_property(
                at, ", ".join(kinds) or "none", "Set exactly one of " + ", ".join(REQUIRED) + "."
            )
        kind = kinds[0]
        config = mount[kind]
        if not isinstance(config, dict):
            raise errors.invalid_property(f"{at}.{kind}", config)
        for name in REQUIRED[kind]:
            if not isinstance(config.get(name), str) or not config[name]:
                if config.get(name) is None:
                    raise errors.missing_property(f"{at}.{kind}.{name}")
                raise errors.invalid_property(f"{at}.{kind}.{name}", config[name])
        if kind == "azureBlobFileSystemConfiguration":
            given = [c for c in _BLOB_CREDENTIALS if config.get(c) is not None]
            if len(given) != 1:
                raise errors.invalid_property(
                    f"{at}.{kind}",
                    ", ".join(given) or "none",
                    "Set exactly one of accountKey, sasKey or identityReference.",
                )
        path = PurePosixPath(config["relativeMountPath"])
        if path.is_absolute() or ".." in path.parts or str(path) == ".":
            # A node's mounts live under its AZ_BATCH_NODE_MOUNTS_DIR; here that directory is
            # inside the service's data directory, so a path leaving it is refused.
            raise errors.local_limit(
                f"{at}.{kind}.relativeMountPath",
                config["relativeMountPath"],
                "The mount path must stay inside AZ_BATCH_NODE_MOUNTS_DIR.",
            )
        if path in paths:
            raise errors.invalid_property(
                f"{at}.{kind}.relativeMountPath", str(path), "Another mount uses this path."
            )
        paths.add(path)
