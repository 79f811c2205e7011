"""Pools: Batch's rules for creating, changing, resizing and deleting them."""

from __future__ import annotations

from collections.abc import Iterator

from batchspec.emulator.service import autoscale, containers, errors, lifecycle
from batchspec.emulator.service.conditions import NONE, Conditions
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.validation import new_pool, pool_start_task
from batchspec.emulator.service.values import Doc, iso, new_etag


def get(live: Live, pool_id: str, conditions: Conditions = NONE) -> Doc:
    """The pool or 404 PoolNotFound, checked against the request's conditions."""
    doc = live.store.get_pool(pool_id)
    if doc is None:
        raise errors.pool_not_found()
    conditions.check(doc)
    return doc


def create(live: Live, body: Doc) -> Doc:
    """A new pool (409 PoolExists); its nodes come from the scheduler."""
    doc = new_pool(body, live.endpoint)
    containers.check_engine(live, doc)
    existing = live.store.get_pool(doc["id"])
    if existing is not None:
        raise (
            errors.pool_being_deleted() if existing["state"] == "deleting" else errors.pool_exists()
        )
    start_allocation(live, doc)
    live.store.put_pool(doc)
    live.poke()
    return doc


def start_allocation(live: Live, doc: Doc) -> None:
    """A new pool (a job's auto pool too) starts resizing; a formula sets its first targets."""
    doc["_resizeDue"] = live.due("allocation")
    if doc.get("enableAutoScale"):
        env, _text = autoscale.run(live, doc, str(doc["autoScaleFormula"]))
        doc.update(autoscale.targets(env))
        doc["_nextAutoScale"] = autoscale.next_evaluation(doc["autoScaleEvaluationInterval"])


def list_all(live: Live) -> list[Doc]:
    """Every pool, by id."""
    return live.store.list_pools()


def delete(live: Live, pool_id: str, conditions: Conditions) -> None:
    """Mark the pool deleting; the scheduler removes its nodes, then the pool."""
    lifecycle.mark_pool_deleting(live, get(live, pool_id, conditions))


def resize(live: Live, pool_id: str, body: Doc, conditions: Conditions) -> Doc:
    """New node targets (allocation state resizing)."""
    pool = _resizable(live, pool_id, conditions)
    if pool.get("enableAutoScale"):
        raise errors.pool_autoscale_enabled()
    targets: dict[str, int] = {}
    for key in ("targetDedicatedNodes", "targetLowPriorityNodes"):
        value = body.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 1000:
            raise errors.invalid_property(key, value)
        targets[key] = value
    lifecycle.start_resize(live, pool, targets)
    return pool


def _resizable(live: Live, pool_id: str, conditions: Conditions = NONE) -> Doc:
    """The pool, which must be steady to take a new size (409 otherwise, as on Batch)."""
    pool = get(live, pool_id, conditions)
    if pool["state"] == "deleting":
        raise errors.pool_being_deleted()
    if pool.get("allocationState") != "steady":
        raise errors.pool_being_resized()
    return pool


def stop_resizing(live: Live, pool_id: str, conditions: Conditions) -> Doc:
    """stopresize: a resize under way stops (a steady pool stays as it is)."""
    pool = get(live, pool_id, conditions)
    if pool["state"] == "deleting":
        raise errors.pool_being_deleted()
    if pool.get("allocationState") == "resizing":
        lifecycle.stop_resize(live, pool)
    return pool


def remove_nodes(live: Live, pool_id: str, body: Doc, conditions: Conditions) -> Doc:
    """removenodes: the listed nodes leave; the targets drop by as many."""
    pool = _resizable(live, pool_id, conditions)
    ids = body.get("nodeList")
    if not isinstance(ids, list) or not ids or len(ids) > 100:
        raise errors.invalid_property("nodeList", ids)
    wanted = {str(i).lower() for i in ids}
    nodes = [n for n in live.store.list_nodes(pool["id"]) if n["id"].lower() in wanted]
    if len(nodes) != len(wanted):
        raise errors.node_not_found()
    targets = {
        "targetDedicatedNodes": int(pool.get("targetDedicatedNodes") or 0),
        "targetLowPriorityNodes": int(pool.get("targetLowPriorityNodes") or 0),
    }
    for node in nodes:
        key = "targetDedicatedNodes" if node.get("isDedicated") else "targetLowPriorityNodes"
        targets[key] = max(0, targets[key] - 1)
        node["_leaving"] = True
        lifecycle.set_node_state(node, "leavingpool")
        live.store.put_node(pool["id"], node)
    lifecycle.start_resize(live, pool, targets)
    return pool


def enable_autoscale(live: Live, pool_id: str, body: Doc, conditions: Conditions) -> Doc:
    """enableautoscale (200)."""
    pool = get(live, pool_id, conditions)
    if pool["state"] == "deleting":
        raise errors.pool_being_deleted()
    autoscale.enable(live, pool, body)
    return pool


def disable_autoscale(live: Live, pool_id: str) -> Doc:
    """disableautoscale (200)."""
    pool = get(live, pool_id)
    autoscale.disable(live, pool)
    return pool


def evaluate_autoscale(live: Live, pool_id: str, body: Doc) -> Doc:
    """evaluateautoscale: the AutoScaleRun of a formula, changing nothing."""
    pool = get(live, pool_id)
    if not pool.get("enableAutoScale"):
        raise errors.pool_autoscale_disabled()
    formula = body.get("autoScaleFormula")
    if not isinstance(formula, str) or not formula.strip():
        raise errors.missing_property("autoScaleFormula")
    _env, text = autoscale.run(live, pool, formula)
    return {"timestamp": iso(), "results": text}


def update(live: Live, pool_id: str, body: Doc, conditions: Conditions) -> Doc:
    """PATCH: StartTask, metadata, display name; what the body omits stays."""
    pool = get(live, pool_id, conditions)
    if body.get("startTask"):
        body["startTask"] = pool_start_task(body["startTask"])
    for key in ("startTask", "metadata", "displayName", "targetNodeCommunicationMode"):
        if key in body:
            pool[key] = body[key]
    pool.update({"eTag": new_etag(), "lastModified": iso()})
    live.store.put_pool(pool)
    return pool


def replace_properties(live: Live, pool_id: str, body: Doc) -> Doc:
    """updateproperties: replace StartTask, metadata and package references; a StartTask the
    body omits is removed, as Batch does."""
    pool = get(live, pool_id)
    for key in ("metadata", "applicationPackageReferences"):
        if body.get(key) is None:
            raise errors.missing_property(key)
        if not isinstance(body[key], list):
            raise errors.invalid_property(key, body[key])
    if body.get("applicationPackageReferences"):
        raise errors.invalid_property(
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
    pool.update({"eTag": new_etag(), "lastModified": iso()})
    live.store.put_pool(pool)
    return pool


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


def node_counts(live: Live) -> Iterator[Doc]:
    """Nodes per state, dedicated and spot, for every pool."""
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
