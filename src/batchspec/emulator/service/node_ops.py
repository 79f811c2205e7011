"""Operations on one compute node: reboot, reimage, start and deallocate, node users, remote
login settings, extensions and uploading its service logs.

Node users are recorded, not created as accounts of this machine (that would need root and
would outlive the node); remote login settings name the node's SSH endpoint, where no SSH
server listens locally. See docs/emulator.md.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from batchspec.emulator.service import errors, lifecycle, nodes, pools
from batchspec.emulator.service.layout import node_dirs
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import Doc, iso

_READY = ("idle", "running", "starttaskfailed", "unusable", "waitingforstarttask", "offline")


def _node(live: Live, pool_id: str, node_id: str) -> Doc:
    pools.get(live, pool_id)
    return nodes.get(live, pool_id, node_id)


def _stop_tasks(live: Live, node: Doc, option: str) -> None:
    """What happens to the node's running tasks (requeue, terminate; taskcompletion and
    retaineddata let them finish, which a local reboot cannot: they are requeued)."""
    if option == "terminate":
        live.kill_tasks("terminate", node_ids={node["id"]})
    else:
        live.kill_tasks("requeue", node_ids={node["id"]})
        lifecycle.requeue_on(live, {node["id"]})


def reboot(live: Live, pool_id: str, node_id: str, body: Doc, reimage: bool = False) -> None:
    """reboot / reimage: the node goes down (rebooting or reimaging), then boots again."""
    node = _node(live, pool_id, node_id)
    if node["state"] not in _READY:
        raise errors.node_not_ready(node["state"])
    key = "nodeReimageOption" if reimage else "nodeRebootOption"
    option = str(body.get(key) or "requeue").lower()
    if option not in ("requeue", "terminate", "taskcompletion", "retaineddata"):
        raise errors.invalid_property(key, option)
    _stop_tasks(live, node, option)
    handle = live.start_tasks.get(node["id"])
    if handle is not None:
        handle.kill("delete")
    if reimage:
        node_dirs(live.data_dir, node["id"]).remove()
    lifecycle.forget_preparations(live, node["id"], reimaged=reimage)
    lifecycle.start_node_phase(live, node, "reimaging" if reimage else "rebooting")


def deallocate(live: Live, pool_id: str, node_id: str, body: Doc) -> None:
    """deallocate: the node stops (deallocated) until started again."""
    node = _node(live, pool_id, node_id)
    if node["state"] not in _READY:
        raise errors.node_not_ready(node["state"])
    _stop_tasks(live, node, str(body.get("nodeDeallocateOption") or "requeue").lower())
    lifecycle.set_node_state(node, "deallocated")
    node.pop("_due", None)
    live.store.put_node(node["_poolId"], node)


def start(live: Live, pool_id: str, node_id: str) -> None:
    """start: a deallocated node boots again."""
    node = _node(live, pool_id, node_id)
    if node["state"] != "deallocated":
        raise errors.node_not_ready(node["state"])
    lifecycle.start_node_phase(live, node, "starting")


# -- node users ------------------------------------------------------------------------------
def add_user(live: Live, pool_id: str, node_id: str, body: Doc) -> str:
    """A node user (409 NodeUserExists); its password or key is not kept."""
    node = _node(live, pool_id, node_id)
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise errors.missing_property("name")
    users = node.setdefault("_users", {})
    if name.lower() in users:
        raise errors.node_user_exists()
    users[name.lower()] = {"name": name, "isAdmin": bool(body.get("isAdmin", False))}
    live.store.put_node(node["_poolId"], node)
    return f"{live.endpoint}/pools/{pool_id}/nodes/{node['id']}/users/{name}"


def replace_user(live: Live, pool_id: str, node_id: str, name: str, body: Doc) -> None:
    """Change a node user's password, key or expiry (404 NodeUserNotFound)."""
    node = _node(live, pool_id, node_id)
    if name.lower() not in node.get("_users", {}):
        raise errors.node_user_not_found()
    del body  # nothing of it is kept: the secrets are never stored


def delete_user(live: Live, pool_id: str, node_id: str, name: str) -> None:
    """Remove a node user (404 NodeUserNotFound)."""
    node = _node(live, pool_id, node_id)
    if node.get("_users", {}).pop(name.lower(), None) is None:
        raise errors.node_user_not_found()
    live.store.put_node(node["_poolId"], node)


def remote_login(live: Live, pool_id: str, node_id: str) -> Doc:
    """remoteloginsettings: the node's first endpoint (and its IPv6 twin)."""
    node = _node(live, pool_id, node_id)
    endpoints = (node.get("endpointConfiguration") or {}).get("inboundEndpoints") or []
    out: Doc = {}
    for ep in endpoints:
        prefix = "ipv6RemoteLogin" if "-ipv6." in str(ep.get("name")) else "remoteLogin"
        out.setdefault(f"{prefix}IPAddress", ep.get("publicIPAddress"))
        out.setdefault(f"{prefix}Port", ep.get("frontendPort"))
    return out


# -- extensions ------------------------------------------------------------------------------
_NODE_EXTENSION = {
    "name": "batchNodeExtension",
    "publisher": "Microsoft.Azure.Extensions",
    "type": "CustomScript",
    "typeHandlerVersion": "2.0",
    "autoUpgradeMinorVersion": True,
}


def extensions(live: Live, pool_id: str, node_id: str) -> list[Doc]:
    """The node's VM extensions: the pool's, then Batch's own node extension."""
    node = _node(live, pool_id, node_id)
    pool = pools.get(live, pool_id)
    vm = pool.get("virtualMachineConfiguration") or {}
    booted = node.get("state") not in ("creating", "starting")
    out = []
    for ext in [*(vm.get("extensions") or []), _NODE_EXTENSION]:
        view: Doc = {}
        if booted:
            view = {
                "name": ext.get("name"),
                "statuses": [{"code": "ProvisioningState/succeeded", "level": "Info"}],
            }
        out.append(
            {
                "provisioningState": "Succeeded" if booted else "Creating",
                "instanceView": view,
                "vmExtension": {
                    "enableAutomaticUpgrade": False,
                    **{k: v for k, v in ext.items() if k != "protectedSettings"},
                },
            }
        )
    return out


def extension(live: Live, pool_id: str, node_id: str, name: str) -> Doc:
    """One extension by name (404 NodeExtensionNotFound)."""
    for ext in extensions(live, pool_id, node_id):
        if str(ext["vmExtension"].get("name", "")).lower() == name.lower():
            return ext
    raise errors.not_found("NodeExtension", "extension")


# -- service logs ----------------------------------------------------------------------------
def log_files(
    live: Live, pool_id: str, node_id: str, body: Doc
) -> tuple[str, str, list[tuple[Path, str]]]:
    """uploadbatchservicelogs: the container URL, the virtual directory and the files (the
    node's StartTask output and the agent's record of the node) to upload there."""
    node = _node(live, pool_id, node_id)
    url = body.get("containerUrl")
    if not isinstance(url, str) or not url:
        raise errors.missing_property("containerUrl")
    if not body.get("startTime"):
        raise errors.missing_property("startTime")
    directory = f"{live.account}/{pool_id}/{node['id']}/{uuid.uuid4()}"
    dirs = node_dirs(live.data_dir, node["id"])
    record = dirs.node_dir / "agent-state.txt"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(
        f"node {node['id']} of pool {pool_id}: {node.get('state')} at {iso()}\n"
        f"logs requested from {body.get('startTime')} "
        f"to {body.get('endTime') or dt.datetime.now(dt.UTC).isoformat()}\n"
    )
    files = [(record, f"{directory}/agent-state.txt")]
    for name in ("stdout.txt", "stderr.txt"):
        path = dirs.startup / name
        if path.is_file():
            files.append((path, f"{directory}/startup/{name}"))
    return url, directory, files
