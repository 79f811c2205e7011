from pathlib import Path
from typing import Any

import pytest
from azure.batch import models as bm

from batchspec.apply.batch_models import BatchModels
from batchspec.apply.pool import ensure_pool, pool_differences

from .handmade_plans import RecordingSigner, topn_like_plan, wire


def existing_like(wanted: bm.BatchPoolCreateOptions, **changes: Any) -> bm.BatchPool:
    """A pool as the service returns it, made from the create request plus `changes`."""
    body = wire(wanted)
    body["startTask"]["resourceFiles"][0]["storageContainerUrl"] = (
        "https://acct.blob/t-application?sp=rl&se=2020-01-01&sig=OLDTOKEN"
    )
    body.update(changes)
    return bm.BatchPool(body)


def wanted_pool(tmp_path: Path, **kwargs: Any) -> bm.BatchPoolCreateOptions:
    return BatchModels(topn_like_plan(tmp_path, **kwargs), RecordingSigner()).pool()


def test_same_settings_with_a_newer_sas_token_match(tmp_path: Path) -> None:
    wanted = wanted_pool(tmp_path)
    assert pool_differences(existing_like(wanted), wanted) == []
    # Case differences in VM size are not differences (Batch lowercases them).
    assert pool_differences(existing_like(wanted, vmSize="STANDARD_D2S_V3"), wanted) == []


def test_vm_size_and_node_count_differences_are_named(tmp_path: Path) -> None:
    wanted = wanted_pool(tmp_path)
    diffs = pool_differences(
        existing_like(wanted, vmSize="standard_a1_v2", targetDedicatedNodes=3), wanted
    )
    assert diffs == [
        "vm_size: exists as 'standard_a1_v2', spec wants 'standard_d2s_v3'",
        "nodes.dedicated: exists as 3, spec wants 1",
    ]


def test_start_task_differences_are_named(tmp_path: Path) -> None:
    wanted = wanted_pool(tmp_path)
    other = wanted_pool(tmp_path / "b", start_command="/bin/bash -c 'true'")
    assert pool_differences(existing_like(other), wanted) == ["start_task.command_line differs"]
    no_start = existing_like(wanted)
    del no_start["startTask"]
    assert pool_differences(no_start, wanted) == ["start_task: the pool has none, the spec has one"]


class _ResizingService:
    """A Batch client whose pool is still allocating for its first `busy_gets` reads."""

    def __init__(self, pool: bm.BatchPool, busy_gets: int) -> None:
        self.pool = pool
        self.busy_gets = busy_gets
        self.calls: list[str] = []

    def get_pool(self, pool_id: str) -> bm.BatchPool:
        self.calls.append("get")
        resizing = self.busy_gets > 0
        self.busy_gets -= 1
        self.pool.allocation_state = (
            bm.AllocationState.RESIZING if resizing else bm.AllocationState.STEADY
        )
        return self.pool

    def update_pool(self, pool_id: str, options: bm.BatchPoolUpdateOptions) -> None:
        self.calls.append("update")

    def begin_resize_pool(self, pool_id: str, options: bm.BatchPoolResizeOptions, **_: Any) -> None:
        # Batch answers 409 PoolBeingResized to a resize while one is under way.
        assert self.pool.allocation_state == bm.AllocationState.STEADY
        self.calls.append(f"resize to {options.target_dedicated_nodes}")


def test_a_pool_still_resizing_is_resized_only_once_steady(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wanted = wanted_pool(tmp_path)
    service = _ResizingService(existing_like(wanted, targetDedicatedNodes=3), busy_gets=3)
    monkeypatch.setattr("batchspec.apply.pool.time.sleep", lambda _seconds: None)
    said: list[str] = []
    created = ensure_pool(service, wanted, recreate=False, say=said.append)  # type: ignore[arg-type]
    assert created is False
    assert service.calls == ["get", "update", "get", "get", "get", "resize to 1"]
    assert said == [
        f"pool {wanted.id}: same settings, resizing it to 1 dedicated node(s)",
        f"pool {wanted.id}: waiting for its current resize to finish first",
    ]
