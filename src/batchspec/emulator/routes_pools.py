"""Pools, nodes and supported images."""

from __future__ import annotations

from collections.abc import Iterator

from starlette.requests import Request
from starlette.responses import Response

from batchspec.emulator.http import (
    accepted,
    check_conditions,
    created,
    entity,
    entity_headers,
    page,
    read_json,
    skiptoken,
)
from batchspec.emulator.images import supported_images
from batchspec.emulator.resources import new_pool, pool_start_task
from batchspec.emulator.scheduler import requeue_on
from batchspec.emulator.state import Live
from batchspec.emulator.wire import (
    BatchError,
    Doc,
    invalid_property,
    iso,
    missing_property,
    new_etag,
    not_found,
)


def _pool(live: Live, pool_id: str) -> Doc:
    doc = live.store.get_pool(pool_id)
    if doc is None:
        raise not_found("Pool", "pool")
    return doc


async def create_pool(request: Request, live: Live) -> Response:
    """POST /pools: 201, or 409 PoolExists; nodes come from the scheduler."""
    body = await read_json(request)
    doc = new_pool(body, live.endpoint)
    if live.store.get_pool(doc["id"]) is not None:
        raise BatchError(409, "PoolExists", "The specified pool already exists.")
    live.store.put_pool(doc)
    live.poke()
    return created(doc, doc["url"])


async def list_pools(request: Request, live: Live) -> Response:
    """GET /pools, paged."""
    after = skiptoken(request)
    rows = ((i, d) for i, d in enumerate(live.store.list_pools(), 1) if i > after)
    return page(request, live, "/pools", "pools", rows)


async def get_pool(request: Request, live: Live) -> Response:
    """GET /pools/{pool}, and HEAD for pool_exists."""
    pool = _pool(live, request.path_params["pool_id"])
    if request.method == "HEAD":
        check_conditions(request, pool)
        return Response(status_code=200, headers=entity_headers(pool))
    return entity(request, pool, "pools", live)


async def delete_pool(request: Request, live: Live) -> Response:
    """DELETE /pools/{pool}: state deleting; the scheduler removes nodes, then the pool."""
    pool = _pool(live, request.path_params["pool_id"])
    check_conditions(request, pool)
    if pool["state"] != "deleting":
        pool.update({"state": "deleting", "stateTransitionTime": iso(), "eTag": new_etag()})
        live.store.put_pool(pool)
        live.poke()
    return accepted()


async def resize_pool(request: Request, live: Live) -> Response:
    """POST /pools/{pool}/resize: new targets, allocation state resizing (202)."""
    pool = _pool(live, request.path_params["pool_id"])
    check_conditions(request, pool)
    body = await read_json(request)
    if pool["state"] == "deleting":
        raise BatchError(
            409,
            "PoolBeingDeleted",
            "The specified pool has been marked for deletion and is being reclaimed.",
        )
    for key in ("targetDedicatedNodes", "targetLowPriorityNodes"):
        value = body.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 1000:
            raise invalid_property(key, value)
        pool[key] = value
    stamp = iso()
    pool.update(
        {
            "allocationState": "resizing",
            "allocationStateTransitionTime": stamp,
            "eTag": new_etag(),
            "lastModified": stamp,
        }
    )
    live.store.put_pool(pool)
    live.poke()
    return accepted(pool)


async def update_pool(request: Request, live: Live) -> Response:
    """PATCH /pools/{pool}: StartTask, metadata, display name; what the body omits stays."""
    pool = _pool(live, request.path_params["pool_id"])
    check_conditions(request, pool)
    body = await read_json(request)
    if body.get("startTask"):
        body["startTask"] = pool_start_task(body["startTask"])
    for key in ("startTask", "metadata", "displayName", "targetNodeCommunicationMode"):
        if key in body:
            pool[key] = body[key]
    stamp = iso()
    pool.update({"eTag": new_etag(), "lastModified": stamp})
    live.store.put_pool(pool)
    return accepted(pool, status=200)


async def replace_pool_properties(request: Request, live: Live) -> Response:
    """POST /pools/{pool}/updateproperties: replace StartTask, metadata and package
    references (204); a StartTask the body omits is removed, as Batch does."""
    pool = _pool(live, request.path_params["pool_id"])
    body = await read_json(request)
    for key in ("metadata", "applicationPackageReferences"):
        if body.get(key) is None:
            raise missing_property(key)
        if not isinstance(body[key], list):
            raise invalid_property(key, body[key])
    if body.get("applicationPackageReferences"):
        raise invalid_property(
            "applicationPackageReferences",
            "set",
            "Application packages are not supported by the local Batch service.",
        )
    start = body.get("startTask")
    if start:
        pool["startTask"] = pool_start_task(start)
    else:
        pool.pop("startTask", None)
    pool["metadata"] = body["metadata"]
    pool["applicationPackageReferences"] = []
    if body.get("targetNodeCommunicationMode"):
        pool["targetNodeCommunicationMode"] = body["targetNodeCommunicationMode"]
    stamp = iso()
    pool.update({"eTag": new_etag(), "lastModified": stamp})
    live.store.put_pool(pool)
    return accepted(pool, status=204)


async def list_nodes(request: Request, live: Live) -> Response:
    """GET /pools/{pool}/nodes, paged."""
    pool_id = _pool(live, request.path_params["pool_id"])["id"]
    after = skiptoken(request)
    docs = live.store.list_nodes(pool_id)
    rows = ((i, _node_out(live, pool_id, d)) for i, d in enumerate(docs, 1) if i > after)
    return page(request, live, f"/pools/{pool_id}/nodes", "nodes", rows)


def _node_out(live: Live, pool_id: str, doc: Doc) -> Doc:
    return {**doc, "url": f"{live.endpoint}/pools/{pool_id}/nodes/{doc['id']}"}


async def get_node(request: Request, live: Live) -> Response:
    """GET /pools/{pool}/nodes/{node}."""
    pool = _pool(live, request.path_params["pool_id"])
    node = live.store.get_node(request.path_params["node_id"])
    # Pool ids are case-insensitive: compare with the pool's own spelling.
    if node is None or str(node.get("_poolId", "")).lower() != pool["id"].lower():
        raise not_found("Node", "node")
    return entity(request, _node_out(live, pool["id"], node), "nodes", live)


async def set_node_scheduling(request: Request, live: Live) -> Response:
    """disablescheduling (requeue | terminate | taskcompletion) and enablescheduling."""
    pool_id, node_id = request.path_params["pool_id"], request.path_params["node_id"]
    _pool(live, pool_id)
    node = live.store.get_node(node_id)
    if node is None or str(node.get("_poolId", "")).lower() != pool_id.lower():
        raise not_found("Node", "node")
    enable = request.url.path.endswith("/enablescheduling")
    body = {} if enable else await read_json(request)
    option = str(body.get("nodeDisableSchedulingOption") or "requeue").lower()
    if option not in ("requeue", "terminate", "taskcompletion"):
        raise invalid_property("nodeDisableSchedulingOption", option)
    node["schedulingState"] = "enabled" if enable else "disabled"
    live.store.put_node(node["_poolId"], node)
    if not enable and option == "terminate":
        live.kill_tasks("terminate", node_ids={node["id"]})
    elif not enable and option == "requeue":
        live.kill_tasks("requeue", node_ids={node["id"]})
        requeue_on(live, {node["id"]})
    live.poke()
    url = f"{live.endpoint}/pools/{node['_poolId']}/nodes/{node['id']}"
    return Response(status_code=200, headers={"DataServiceId": url})


async def list_images(request: Request, live: Live) -> Response:
    """GET /supportedimages."""
    rows = enumerate(supported_images(), 1)
    return page(request, live, "/supportedimages", "supportedimages", rows)


_COUNT_KEYS = {
    "starttaskfailed": "startTaskFailed",
    "leavingpool": "leavingPool",
    "waitingforstarttask": "waitingForStartTask",
    "upgradingos": "upgradingOS",
}
_STATES = (
    "creating",
    "idle",
    "offline",
    "preempted",
    "rebooting",
    "reimaging",
    "running",
    "starting",
    "starttaskfailed",
    "leavingpool",
    "unknown",
    "unusable",
    "waitingforstarttask",
    "deallocated",
    "deallocating",
    "upgradingos",
)


async def node_counts(request: Request, live: Live) -> Response:
    """GET /nodecounts: nodes per state, per pool, paged, with `$filter` (`poolId eq '...'`)."""
    after = skiptoken(request)
    rows = ((i, d) for i, d in enumerate(_pool_node_counts(live), 1) if i > after)
    return page(request, live, "/nodecounts", "poolnodecounts", rows)


def _pool_node_counts(live: Live) -> Iterator[Doc]:
    for pool in live.store.list_pools():
        groups = {
            g: {_COUNT_KEYS.get(s, s): 0 for s in _STATES} | {"total": 0}
            for g in ("dedicated", "lowPriority")
        }
        for node in live.store.list_nodes(pool["id"]):
            group = groups["dedicated" if node.get("isDedicated") else "lowPriority"]
            state = str(node["state"])
            key = _COUNT_KEYS.get(state, state)
            group[key] = group.get(key, 0) + 1
            group["total"] += 1
        yield {"poolId": pool["id"], **groups}
