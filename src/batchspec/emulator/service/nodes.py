"""Compute nodes: the document of a new node, lookups, and scheduling on or off."""

from __future__ import annotations

from batchspec.emulator.service import errors, lifecycle, pools
from batchspec.emulator.service.layout import node_id_for
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import Doc, iso


def new_node(pool: Doc, index: int, dedicated: bool) -> Doc:
    """A node document as Batch lists it, in state `starting`."""
    stamp = iso()
    node_id = node_id_for(pool["id"], index, stamp, dedicated)
    vm = pool.get("virtualMachineConfiguration") or {}
    return {
        "id": node_id,
        "_poolId": pool["id"],
        "state": "starting",
        "schedulingState": "enabled",
        "stateTransitionTime": stamp,
        "allocationTime": stamp,
        "lastBootTime": stamp,
        "ipAddress": f"10.0.0.{4 + index % 250}",
        "affinityId": f"TVM:{node_id}",
        "vmSize": pool.get("vmSize", ""),
        "totalTasksRun": 0,
        "runningTasksCount": 0,
        "runningTaskSlotsCount": 0,
        "totalTasksSucceeded": 0,
        "isDedicated": dedicated,
        "nodeAgentInfo": {"version": "1.12.0", "lastUpdateTime": stamp},
        "virtualMachineInfo": {"imageReference": vm.get("imageReference", {})},
        "endpointConfiguration": {"inboundEndpoints": []},
    }


def with_url(live: Live, pool_id: str, doc: Doc) -> Doc:
    """The node document with its URL under the pool."""
    return {**doc, "url": f"{live.endpoint}/pools/{pool_id}/nodes/{doc['id']}"}


def list_in(live: Live, pool_id: str) -> tuple[str, list[Doc]]:
    """A pool's id (as the pool spells it) and its nodes, by id."""
    pool = pools.get(live, pool_id)
    return pool["id"], [with_url(live, pool["id"], d) for d in live.store.list_nodes(pool["id"])]


def get(live: Live, pool_id: str, node_id: str) -> Doc:
    """The node of this pool, or 404 NodeNotFound."""
    node = live.store.get_node(node_id)
    # Pool ids are case-insensitive: compare with the pool's own spelling.
    if node is None or str(node.get("_poolId", "")).lower() != pool_id.lower():
        raise errors.node_not_found()
    return node


def set_scheduling(live: Live, pool_id: str, node_id: str, enable: bool, body: Doc) -> Doc:
    """disablescheduling (requeue | terminate | taskcompletion) and enablescheduling."""
    pools.get(live, pool_id)
    node = get(live, pool_id, node_id)
    option = str(body.get("nodeDisableSchedulingOption") or "requeue").lower()
    if option not in ("requeue", "terminate", "taskcompletion"):
        raise errors.invalid_property("nodeDisableSchedulingOption", option)
    node["schedulingState"] = "enabled" if enable else "disabled"
    live.store.put_node(node["_poolId"], node)
    if not enable and option == "terminate":
        live.kill_tasks("terminate", node_ids={node["id"]})
    elif not enable and option == "requeue":
        live.kill_tasks("requeue", node_ids={node["id"]})
        lifecycle.requeue_on(live, {node["id"]})
    live.poke()
    return with_url(live, node["_poolId"], node)
