"""Compute node routes: list, get, scheduling, reboot/reimage/start/deallocate, users, remote
login settings, service logs, extensions."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from batchspec.emulator.api.pipeline import read_json
from batchspec.emulator.api.responses import entity, listed, typed_json
from batchspec.emulator.service import errors, node_ops, nodes, pools
from batchspec.emulator.service.runtime import Live


async def list_nodes(request: Request, live: Live) -> Response:
    """GET /pools/{pool}/nodes, paged."""
    pool_id, docs = nodes.list_in(live, request.path_params["pool_id"])
    return listed(request, live, f"/pools/{pool_id}/nodes", "nodes", docs)


async def get_node(request: Request, live: Live) -> Response:
    """GET /pools/{pool}/nodes/{node}."""
    pool = pools.get(live, request.path_params["pool_id"])
    node = nodes.get(live, pool["id"], request.path_params["node_id"])
    return entity(request, nodes.with_url(live, pool["id"], node), "nodes", live)


async def set_node_scheduling(request: Request, live: Live) -> Response:
    """POST .../disablescheduling and .../enablescheduling: 200."""
    enable = request.url.path.endswith("/enablescheduling")
    body = {} if enable else await read_json(request)
    node = nodes.set_scheduling(
        live, request.path_params["pool_id"], request.path_params["node_id"], enable, body
    )
    return Response(status_code=200, headers={"DataServiceId": node["url"]})


def _ids(request: Request) -> tuple[str, str]:
    return request.path_params["pool_id"], request.path_params["node_id"]


def _done(status: int, url: str) -> Response:
    return Response(status_code=status, headers={"DataServiceId": url})


async def reboot_node(request: Request, live: Live) -> Response:
    """POST .../reboot: 202."""
    node_ops.reboot(live, *_ids(request), await read_json(request))
    return _done(202, str(request.url.path))


async def reimage_node(request: Request, live: Live) -> Response:
    """POST .../reimage: 202."""
    node_ops.reboot(live, *_ids(request), await read_json(request), reimage=True)
    return _done(202, str(request.url.path))


async def deallocate_node(request: Request, live: Live) -> Response:
    """POST .../deallocate: 202."""
    node_ops.deallocate(live, *_ids(request), await read_json(request))
    return _done(202, str(request.url.path))


async def start_node(request: Request, live: Live) -> Response:
    """POST .../start: 202."""
    node_ops.start(live, *_ids(request))
    return _done(202, str(request.url.path))


async def add_user(request: Request, live: Live) -> Response:
    """POST .../users: 201."""
    url = node_ops.add_user(live, *_ids(request), await read_json(request))
    return Response(status_code=201, headers={"DataServiceId": url, "Location": url})


async def node_user(request: Request, live: Live) -> Response:
    """PUT (replace) or DELETE .../users/{user}: 200."""
    name = request.path_params["user"]
    if request.method == "DELETE":
        node_ops.delete_user(live, *_ids(request), name)
    else:
        node_ops.replace_user(live, *_ids(request), name, await read_json(request))
    return _done(200, str(request.url.path))


async def remote_login(request: Request, live: Live) -> Response:
    """GET .../remoteloginsettings."""
    settings = node_ops.remote_login(live, *_ids(request))
    kind = "Microsoft.Azure.Batch.Protocol.Entities.RemoteLoginSettings"
    return typed_json(live, kind, settings)


async def upload_logs(request: Request, live: Live) -> Response:
    """POST .../uploadbatchservicelogs: the files go to the container URL (a SAS URL)."""
    url, directory, files = node_ops.log_files(live, *_ids(request), await read_json(request))
    if live.upload_files is None:  # pragma: no cover - the server always sets it
        raise errors.internal_error()
    count = await asyncio.to_thread(live.upload_files, url, files)
    kind = "Microsoft.Azure.Batch.Protocol.Entities.UploadBatchServiceLogsResult"
    return typed_json(
        live, kind, {"virtualDirectoryName": directory, "numberOfFilesUploaded": count}
    )


async def list_extensions(request: Request, live: Live) -> Response:
    """GET .../extensions."""
    pool_id, node_id = _ids(request)
    docs = node_ops.extensions(live, pool_id, node_id)
    return listed(request, live, f"/pools/{pool_id}/nodes/{node_id}/extensions", "extensions", docs)


async def get_extension(request: Request, live: Live) -> Response:
    """GET .../extensions/{name}."""
    doc = node_ops.extension(live, *_ids(request), request.path_params["name"])
    return entity(request, doc, "extensions", live)
