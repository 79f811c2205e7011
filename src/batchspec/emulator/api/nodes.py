"""Compute node routes: list, get, scheduling on and off."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from batchspec.emulator.api.pipeline import read_json
from batchspec.emulator.api.responses import entity, listed
from batchspec.emulator.service import nodes, pools
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
