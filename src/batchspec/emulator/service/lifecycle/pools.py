"""State changes of pools: resizing (and stopping) until their nodes match, deleting until
they are gone. Node changes happen when the passing state ends (engine/timers.py)."""

from __future__ import annotations

from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import Doc, iso, new_etag


def mark_pool_deleting(live: Live, pool: Doc) -> None:
    """A pool deleted: `deleting` until the scheduler has removed its nodes."""
    if pool["state"] != "deleting":
        stamp = iso()
        pool.update({"state": "deleting", "stateTransitionTime": stamp, "eTag": new_etag()})
        pool["lastModified"] = stamp
        pool["_due"] = live.due()
        live.store.put_pool(pool)
        live.poke()


def start_resize(live: Live, pool: Doc, targets: dict[str, int]) -> None:
    """New node targets: `resizing` until they are met (at the end of the passing state)."""
    pool.update(targets)
    stamp = iso()
    pool.update(
        {
            "allocationState": "resizing",
            "allocationStateTransitionTime": stamp,
            "eTag": new_etag(),
            "lastModified": stamp,
        }
    )
    pool.pop("resizeErrors", None)
    pool.pop("_stopping", None)
    pool["_resizeDue"] = live.due("allocation")
    live.store.put_pool(pool)
    live.poke()


def stop_resize(live: Live, pool: Doc) -> None:
    """Stop a resize: `stopping`, then steady with the nodes it has (leaving nodes go, no node
    is added) and a ResizeStopped error for each kind still short of its target."""
    stamp = iso()
    pool.update(
        {
            "allocationState": "stopping",
            "allocationStateTransitionTime": stamp,
            "eTag": new_etag(),
            "lastModified": stamp,
        }
    )
    pool["_stopping"] = True
    pool["_resizeDue"] = live.due("allocation")
    live.store.put_pool(pool)
    live.poke()


def finish_resize(live: Live, pool: Doc, dedicated: int, spot: int) -> None:
    """The resize is over: `steady` with its current node counts (and why it fell short)."""
    stamp = iso()
    errors = []
    if pool.pop("_stopping", False):
        for kind, current, key in (
            ("dedicated", dedicated, "targetDedicatedNodes"),
            ("low priority", spot, "targetLowPriorityNodes"),
        ):
            if current < int(pool.get(key) or 0):
                errors.append(
                    {
                        "code": "ResizeStopped",
                        "message": f"Desired number of {kind} nodes could not be allocated "
                        "due to a stop resize operation",
                    }
                )
    if errors:
        pool["resizeErrors"] = errors
    pool.pop("_resizeDue", None)
    pool.update(
        {
            "currentDedicatedNodes": dedicated,
            "currentLowPriorityNodes": spot,
            "allocationState": "steady",
            "allocationStateTransitionTime": stamp,
        }
    )
    live.store.put_pool(pool)
