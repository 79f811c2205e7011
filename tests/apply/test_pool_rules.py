from pathlib import Path
from typing import Any

from azure.batch import models as bm

from batchspec.apply.batch_models import BatchModels
from batchspec.apply.pool import pool_differences

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
