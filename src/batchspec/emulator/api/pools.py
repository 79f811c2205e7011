"""Pool routes: create, list, get, update, resize, delete, and supported images."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from batchspec.emulator.api.pipeline import read_json
from batchspec.emulator.api.responses import (
    accepted,
    conditions,
    created,
    entity,
    entity_headers,
    listed,
)
from batchspec.emulator.service import pools
from batchspec.emulator.service.images import supported_images
from batchspec.emulator.service.runtime import Live


async def create_pool(request: Request, live: Live) -> Response:
    """POST /pools: 201, or 409 PoolExists."""
    doc = pools.create(live, await read_json(request))
    return created(doc, doc["url"])


async def list_pools(request: Request, live: Live) -> Response:
    """GET /pools, paged."""
    return listed(request, live, "/pools", "pools", pools.list_all(live))


async def get_pool(request: Request, live: Live) -> Response:
    """GET /pools/{pool}, and HEAD for pool_exists."""
    pool = pools.get(live, request.path_params["pool_id"])
    if request.method == "HEAD":
        conditions(request).check(pool)
        return Response(status_code=200, headers=entity_headers(pool))
    return entity(request, pool, "pools", live)


async def delete_pool(request: Request, live: Live) -> Response:
    """DELETE /pools/{pool}: 202; the pool is deleting until its nodes are gone."""
    pools.delete(live, request.path_params["pool_id"], conditions(request))
    return accepted()


async def resize_pool(request: Request, live: Live) -> Response:
    """POST /pools/{pool}/resize: 202."""
    body = await read_json(request)
    pool = pools.resize(live, request.path_params["pool_id"], body, conditions(request))
    return accepted(pool)


async def update_pool(request: Request, live: Live) -> Response:
    """PATCH /pools/{pool}: 200."""
    body = await read_json(request)
    pool = pools.update(live, request.path_params["pool_id"], body, conditions(request))
    return accepted(pool, status=200)


async def replace_pool_properties(request: Request, live: Live) -> Response:
    """POST /pools/{pool}/updateproperties: 204."""
    body = await read_json(request)
    pool = pools.replace_properties(live, request.path_params["pool_id"], body)
    return accepted(pool, status=204)


async def list_images(request: Request, live: Live) -> Response:
    """GET /supportedimages."""
    return listed(
        request,
        live,
        "/supportedimages",
        "supportedimages",
        supported_images(containers=live.container_problem() is None),
    )


async def node_counts(request: Request, live: Live) -> Response:
    """GET /nodecounts: nodes per state, per pool, paged, with `$filter` (`poolId eq '...'`)."""
    return listed(request, live, "/nodecounts", "poolnodecounts", pools.node_counts(live))
