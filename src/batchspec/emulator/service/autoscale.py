"""Autoscale: a pool's formula sets its node targets, evaluated when enabled, on request and
every evaluation interval, on the local service's own counters (see formula.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from batchspec.emulator.service import errors, lifecycle
from batchspec.emulator.service.formula import FormulaError, evaluate, results
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import Doc, iso, new_etag, normalize_duration, parse_duration

_MIN_INTERVAL = "PT5M"


def _samples(live: Live, pool: Doc) -> dict[str, float]:
    """The service variables a formula reads, from this pool and the jobs that use it."""
    counts = {"active": 0, "running": 0, "succeeded": 0, "failed": 0}
    for job in live.store.list_jobs():
        info = job.get("executionInfo") or {}
        if str(info.get("poolId", "")).lower() != pool["id"].lower():
            continue
        c = live.store.counts(job["id"])
        for key in counts:
            counts[key] += c[key]
    nodes = live.store.list_nodes(pool["id"])
    usable = sum(1 for n in nodes if n.get("state") in ("idle", "running"))
    zero = (
        "CPUPercent",
        "MemoryBytes",
        "DiskBytes",
        "DiskReadBytes",
        "DiskWriteBytes",
        "DiskReadOps",
        "DiskWriteOps",
        "NetworkInBytes",
        "NetworkOutBytes",
        "WallClockSeconds",
    )
    samples = {f"${name}": 0.0 for name in zero}
    samples.update(
        {
            "$ActiveTasks": float(counts["active"]),
            "$RunningTasks": float(counts["running"]),
            "$PendingTasks": float(counts["active"] + counts["running"]),
            "$SucceededTasks": float(counts["succeeded"]),
            "$FailedTasks": float(counts["failed"]),
            "$CurrentDedicatedNodes": float(pool.get("currentDedicatedNodes") or 0),
            "$CurrentLowPriorityNodes": float(pool.get("currentLowPriorityNodes") or 0),
            "$UsableNodeCount": float(usable),
            "$PreemptedNodeCount": 0.0,
            "$TaskSlotsPerNode": float(pool.get("taskSlotsPerNode") or 1),
        }
    )
    return samples


def run(live: Live, pool: Doc, formula: str) -> tuple[dict[str, Any], str]:
    """Evaluate `formula` for `pool`: the variables it leaves and Batch's results text."""
    current = {
        "$TargetDedicatedNodes": float(pool.get("targetDedicatedNodes") or 0),
        "$TargetLowPriorityNodes": float(pool.get("targetLowPriorityNodes") or 0),
        "$NodeDeallocationOption": "requeue",
    }
    try:
        env = evaluate(formula, current, _samples(live, pool))
    except FormulaError as exc:
        raise errors.invalid_autoscale_formula(str(exc)) from None
    return env, results(env)


def targets(env: dict[str, Any]) -> dict[str, int]:
    out = {}
    for name, key in (
        ("$TargetDedicatedNodes", "targetDedicatedNodes"),
        ("$TargetLowPriorityNodes", "targetLowPriorityNodes"),
    ):
        value = env.get(name)
        number = value[0] if isinstance(value, list) and value else value
        out[key] = max(0, min(1000, int(float(number or 0))))
    return out


def apply(live: Live, pool: Doc, formula: str) -> Doc:
    """Evaluate and resize to the targets the formula sets (if they change)."""
    env, text = run(live, pool, formula)
    wanted = targets(env)
    run_doc = {"timestamp": iso(), "results": text}
    if (
        any(int(pool.get(k) or 0) != v for k, v in wanted.items())
        and pool.get("allocationState") == "steady"
    ):
        lifecycle.start_resize(live, pool, wanted)
    return run_doc


def enable(live: Live, pool: Doc, body: Doc) -> None:
    """enableautoscale: the formula (and interval) now set the pool's size."""
    formula = body.get("autoScaleFormula") or pool.get("autoScaleFormula")
    if not isinstance(formula, str) or not formula.strip():
        raise errors.missing_property("autoScaleFormula")
    interval = normalize_duration(
        body.get("autoScaleEvaluationInterval")
        or pool.get("autoScaleEvaluationInterval")
        or "PT15M"
    )
    run(live, pool, formula)  # refuse a formula that does not evaluate, changing nothing
    pool.update(
        {
            "enableAutoScale": True,
            "autoScaleFormula": formula,
            "autoScaleEvaluationInterval": interval,
            "eTag": new_etag(),
            "lastModified": iso(),
        }
    )
    pool["_nextAutoScale"] = next_evaluation(interval)
    live.store.put_pool(pool)
    apply(live, pool, formula)


def disable(live: Live, pool: Doc) -> None:
    """disableautoscale: the targets stay where the formula left them."""
    for key in ("autoScaleFormula", "autoScaleEvaluationInterval", "autoScaleRun"):
        pool.pop(key, None)
    pool.pop("_nextAutoScale", None)
    pool.update({"enableAutoScale": False, "eTag": new_etag(), "lastModified": iso()})
    live.store.put_pool(pool)


def next_evaluation(interval: object) -> str:
    seconds = parse_duration(str(interval)) or parse_duration(_MIN_INTERVAL) or 300.0
    return iso(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds))


def evaluate_when_due(live: Live, pool: Doc) -> None:
    """The scheduler's periodic evaluation, every autoScaleEvaluationInterval."""
    due = pool.get("_nextAutoScale")
    if not isinstance(due, str) or due > iso():
        return
    formula = str(pool.get("autoScaleFormula") or "")
    try:
        run_doc = apply(live, pool, formula)
    except errors.BatchError as err:
        run_doc = {"timestamp": iso(), "error": {"code": err.code, "message": err.message}}
    pool["autoScaleRun"] = run_doc
    pool["_nextAutoScale"] = next_evaluation(pool.get("autoScaleEvaluationInterval"))
    live.store.put_pool(pool)
