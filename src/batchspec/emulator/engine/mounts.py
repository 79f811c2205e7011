"""A pool's mounts on a local node: a blob container is copied, the other kinds are not mounted.

On Batch a node mounts its pool's file systems when it joins the pool, restarts or is reimaged,
before its StartTask, under `AZ_BATCH_NODE_MOUNTS_DIR/<relativeMountPath>`, and writes one log
per mount there (`<type>-<path>.log`); a mount that fails makes the node `unusable` (Microsoft's
"Mount a virtual file system on a Batch pool"). Here a blob container mount is a COPY of the
container's blobs taken at that moment (later changes to the container are not seen, and files
written into it stay on the node); Azure Files, NFS and CIFS mounts are logged as not simulated
and their directory is not made. A container reached with an identity reference cannot be read:
the local service has no managed identities, so the node becomes unusable and says so.

Where a storage account's blobs are: `BATCHSPEC_EMULATOR_BLOB_ENDPOINT` (a URL with `{account}`
in it, e.g. `http://127.0.0.1:10000/{account}` for Azurite), else the Azurite of the local target
(`BATCHSPEC_EMULATOR_LOCAL_SERVICES`, the path of its services.json, set by `batchspec local`),
else Azure's `https://{account}.blob.core.windows.net`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

from batchspec.emulator.engine.storage_io import TransferError, redact, scrub
from batchspec.emulator.service.layout import NodeDirs
from batchspec.emulator.service.values import Doc

ENDPOINT_VARIABLE = "BATCHSPEC_EMULATOR_BLOB_ENDPOINT"
LOCAL_SERVICES_VARIABLE = "BATCHSPEC_EMULATOR_LOCAL_SERVICES"
MOUNT_FAILED = "MountConfigurationError"
_LOG_TYPES = {
    "azureBlobFileSystemConfiguration": "bfuse",
    "azureFileShareConfiguration": "fshare",
    "nfsMountConfiguration": "nfs",
    "cifsMountConfiguration": "cifs",
}


def mounts_dir(dirs: NodeDirs) -> Path:
    """The node's AZ_BATCH_NODE_MOUNTS_DIR."""
    return dirs.root / "fsmounts"


async def mount_file_systems(pool: Doc, dirs: NodeDirs) -> Doc | None:
    """Make the pool's mounts on a starting node; the node error when one fails, else None."""
    for mount in pool.get("mountConfiguration") or []:
        kind = next((k for k in _LOG_TYPES if mount.get(k)), None)
        if kind is None:
            continue
        config = mount[kind]
        path = str(config.get("relativeMountPath") or "")
        log = mounts_dir(dirs) / f"{_LOG_TYPES[kind]}-{path.replace('/', '_')}.log"
        if kind != "azureBlobFileSystemConfiguration":
            _write(log, f"{kind} at {path}: not mounted (the local Batch service mounts no {kind})")
            continue
        try:
            count = await asyncio.to_thread(_copy_container, config, mounts_dir(dirs) / path)
        except TransferError as exc:
            _write(log, f"{path}: {exc.message}")
            return {
                "code": MOUNT_FAILED,
                "message": f"An error was encountered while configuring mount {path}: "
                + exc.message,
                "errorDetails": [{"name": "MountConfigurationPath", "value": path}],
            }
        _write(
            log,
            f"{path}: copied {count} blob(s) of {config['containerName']} when the node started",
        )
    return None


def _write(log: Path, text: str) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(scrub(text) + "\n", encoding="utf-8")


def account_url(account: str) -> str:
    """The blob endpoint of a storage account, as this service is configured to reach it."""
    template = os.environ.get(ENDPOINT_VARIABLE, "").strip()
    if template:
        return template.replace("{account}", account).rstrip("/")
    services = os.environ.get(LOCAL_SERVICES_VARIABLE, "").strip()
    if services:
        try:
            endpoint = str(json.loads(Path(services).read_text())["azurite"]["endpoint"])
        except (OSError, ValueError, KeyError, TypeError):
            endpoint = ""
        if endpoint.rstrip("/").rsplit("/", 1)[-1] == account:
            return endpoint.rstrip("/")
    return f"https://{account}.blob.core.windows.net"


def _copy_container(config: Doc, dest: Path) -> int:
    """Copy every blob of the mount's container into `dest` (replacing an earlier copy)."""
    from azure.core.exceptions import AzureError, HttpResponseError
    from azure.storage.blob import ContainerClient

    if config.get("identityReference"):
        raise TransferError(
            MOUNT_FAILED,
            "the container is reached with a managed identity, which the local Batch service "
            "does not have; give the mount a sasKey or accountKey to run it locally",
        )
    account, name = str(config["accountName"]), str(config["containerName"])
    base = account_url(account)
    if config.get("sasKey"):
        client = ContainerClient.from_container_url(
            f"{base}/{name}?{str(config['sasKey']).lstrip('?')}"
        )
    else:
        key = {"account_name": account, "account_key": str(config.get("accountKey"))}
        client = ContainerClient(base, name, credential=key)
    shutil.rmtree(dest, ignore_errors=True)  # a reboot or reimage mounts the container again
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    count = 0
    try:
        with client:
            for blob in client.list_blobs():
                target = (root / blob.name).resolve()
                if root not in target.parents:
                    continue  # a blob name with `..` cannot leave the mount
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "wb") as out:
                    client.download_blob(blob.name).readinto(out)
                count += 1
    except HttpResponseError as exc:
        raise TransferError(
            MOUNT_FAILED, f"listing {redact(client.url)} answered {exc.status_code}"
        ) from None
    except (AzureError, OSError, ValueError) as exc:
        raise TransferError(
            MOUNT_FAILED, f"reading {redact(client.url)} failed: {scrub(str(exc))}"
        ) from None
    return count
